"""Hostile input at every door: injection text, control characters, oversized and
malformed bodies and images, wrong content types, look-alike characters in plates.
Each gets a clear 4xx problem with a code (or, for free text, is kept as inert text
and escaped wherever it is shown) and nothing half-stored; never a 500."""

from __future__ import annotations

import base64

import pytest
from markupsafe import escape
from sqlalchemy import func, select

from models import AuditEvent, Passage, PassageImage, Vehicle
from tests.factories import auth, make_world, uscc

INJECTIONS = ["'; DROP TABLE vehicles;--", "\" OR 1=1 --", "<script>alert(1)</script>",
              "<img src=x onerror=alert(1)>", "{{7*7}}", "../../etc/passwd"]


@pytest.fixture
def world(session_factory):  # type: ignore[no-untyped-def]
    return make_world(session_factory)


def counts(session_factory):  # type: ignore[no-untyped-def]
    with session_factory() as s:
        return {m.__name__: s.scalar(select(func.count()).select_from(m))
                for m in (Vehicle, Passage, PassageImage, AuditEvent)}


def read_body(**kw):  # type: ignore[no-untyped-def]
    body = {"read_id": "h1", "plate": "苏A88888", "plate_colour": "blue", "confidence": 0.97,
            "seen_at": "2026-11-22T09:00:00+08:00"}
    body.update(kw)
    return body


@pytest.mark.parametrize("payload", INJECTIONS)
def test_injection_in_formatted_fields_is_refused_and_nothing_stored(client, world,
                                                                     session_factory, payload):
    before = counts(session_factory)
    admin = auth(world.tokens["admin"])
    attempts = [
        client.post("/api/v1/vehicles", json={"plate": payload, "plate_colour": "yellow",
                                              "kind": "tractor", "category": "hazmat"},
                    headers=admin),
        client.post("/api/v1/persons", json={"name": "张三", "national_id": payload,
                                             "kinds": ["driver"]}, headers=admin),
        client.post("/api/v1/lanes/P1-IN/reads", json=read_body(plate=payload),
                    headers=auth(world.tokens["gate_operator"])),
        client.get("/api/v1/audit/events", query_string={"reason": payload},
                   headers=auth(world.tokens["auditor"])),
    ]
    for response in attempts:
        assert 400 <= response.status_code < 500, (payload, response.status_code)
        assert response.json["code"], response.json
    assert counts(session_factory) == before


@pytest.mark.parametrize("payload", INJECTIONS)
def test_injection_in_free_text_is_inert_text_escaped_on_every_page(client, world,
                                                                    session_factory, payload):
    admin = auth(world.tokens["admin"])
    r = client.post("/api/v1/enterprises", json={"code": "E9", "name": payload,
                                                 "credit_code": uscc(9)}, headers=admin)
    assert r.status_code == 201 and r.json["name"] == payload  # kept as typed
    with session_factory() as s:  # the tables are all still there, the text verbatim
        assert s.scalar(select(func.count()).select_from(Vehicle)) == 3
    from tests.factories import login

    login(client, "admin")
    html = client.get("/records/enterprises").get_data(as_text=True)
    assert str(escape(payload)) in html  # shown, as text
    assert "<script>alert(1)</script>" not in html and "<img src=x" not in html
    assert "49" not in html.split("{{7*7}}")[0][-20:]  # no template evaluation


@pytest.mark.parametrize("text", ["苏A\x0088888", "name\x1b[31m", "\ud800"])
def test_control_characters_and_lone_surrogates_are_refused(client, world, session_factory,
                                                            text):
    before = counts(session_factory)
    raw = '{"code": "E9", "name": "%s", "credit_code": "x"}' % text.encode(  # noqa: UP031
        "unicode_escape").decode().replace("\\x", "\\u00")
    r = client.post("/api/v1/enterprises", data=raw, content_type="application/json",
                    headers=auth(world.tokens["admin"]))
    assert r.status_code == 400 and r.json["code"] == "CONTROL_CHARACTERS"
    if "\ud800" not in text:  # a lone surrogate cannot even be put in a URL
        q = client.get("/api/v1/audit/events", query_string={"plate": text},
                       headers=auth(world.tokens["auditor"]))
        assert q.status_code == 400 and q.json["code"] == "CONTROL_CHARACTERS"
    assert counts(session_factory) == before


def test_oversized_malformed_and_mistyped_bodies(client, world, session_factory):
    before = counts(session_factory)
    operator = auth(world.tokens["gate_operator"])
    huge = client.post("/api/v1/lanes/P1-IN/reads",
                       data=b'{"plate": "' + b"A" * (9 * 1024 * 1024) + b'"}',
                       content_type="application/json", headers=operator)
    assert huge.status_code == 413 and huge.json["code"]
    broken = client.post("/api/v1/lanes/P1-IN/reads", data='{"plate": "苏A'.encode(),
                         content_type="application/json", headers=operator)
    assert 400 <= broken.status_code < 500 and broken.json["code"]
    as_text = client.post("/api/v1/lanes/P1-IN/reads", data=b"plate=ABC",
                          content_type="text/plain", headers=operator)
    assert 400 <= as_text.status_code < 500 and as_text.json["code"]
    wrong_types = client.post("/api/v1/lanes/P1-IN/reads",
                              json=read_body(confidence="high", seen_at=12),
                              headers=operator)
    assert wrong_types.status_code == 422 and wrong_types.json["code"]
    nested = client.post("/api/v1/lanes/P1-IN/reads", json=read_body(plate={"$ne": ""}),
                         headers=operator)
    assert nested.status_code == 422
    assert counts(session_factory) == before


@pytest.mark.parametrize("crop", [
    "not base64 at all!!",
    base64.b64encode(b"GIF89a" + b"\x00" * 64).decode(),  # an image, but not a JPEG
    base64.b64encode(b"\xff\xd8\xff" + b"\x00" * (3 * 1024 * 1024)).decode(),  # too big
])
def test_malformed_or_oversized_crops_are_refused(client, world, session_factory, crop):
    before = counts(session_factory)
    r = client.post("/api/v1/lanes/P1-IN/reads", json=read_body(crop_jpeg_b64=crop),
                    headers=auth(world.tokens["gate_operator"]))
    assert 400 <= r.status_code < 500 and r.json["code"], r.json
    assert counts(session_factory) == before


def test_look_alike_characters_in_plates(client, world, session_factory):
    operator = auth(world.tokens["gate_operator"])
    # Full-width letters and digits are the same plate (NFKC): the car is recognised.
    full_width = client.post("/api/v1/lanes/P2-IN/reads",
                             json=read_body(plate="苏Ａ８８８８８", read_id="fw"),
                             headers=operator)
    assert full_width.status_code == 201 and full_width.json["plate"] == "苏A88888"
    assert full_width.json["vehicle_id"] == world.vehicles["car"].id
    # A Cyrillic А or a Greek Α looks the same to a person but is not a plate.
    before = counts(session_factory)
    for fake in ("苏\u0410" + "88888", "苏\u0391" + "88888"):
        r = client.post("/api/v1/lanes/P2-IN/reads", json=read_body(plate=fake, read_id=fake),
                        headers=operator)
        assert r.status_code == 422 and r.json["code"], r.json
        reg = client.post("/api/v1/vehicles", json={"plate": fake, "plate_colour": "blue",
                                                    "kind": "car", "category": "small"},
                          headers=auth(world.tokens["admin"]))
        assert reg.status_code == 422
    assert counts(session_factory) == before
