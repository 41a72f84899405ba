"""Vendor cameras pushing plate events to a lane: the read is decided like any
other; heartbeats are acknowledged; bad bodies get 4xx problems, never a 500."""

from __future__ import annotations

from sqlalchemy import select

from models import Passage
from tests.factories import auth, make_world
from tests.vendor_payloads import dahua_picture, hik_heartbeat, hik_multipart, hik_xml

XML = {"Content-Type": "application/xml"}


def test_a_hikvision_push_is_decided_at_its_lane(client, session_factory):  # type: ignore[no-untyped-def]
    world = make_world(session_factory)
    body, content_type = hik_multipart(hik_xml(plate="苏A88888", colour="blue"))
    r = client.post(f"/api/v1/lanes/P1-IN/anpr/hikvision?token={world.tokens['device']}",
                    data=body, headers={"Content-Type": content_type})
    assert r.status_code == 201, r.json
    assert r.json["plate"] == "苏A88888" and r.json["lane"] == "P1-IN"
    assert r.json["crop"] is True  # the camera's plate picture is kept
    # The camera retries a push it thinks failed: same event, same answer, one passage.
    again = client.post(f"/api/v1/lanes/P1-IN/anpr/hikvision?token={world.tokens['device']}",
                        data=body, headers={"Content-Type": content_type})
    assert again.status_code == 200 and again.json["id"] == r.json["id"]
    with session_factory() as s:
        passages = s.scalars(select(Passage)).all()
    assert len(passages) == 1 and passages[0].source == "vendor"


def test_a_dahua_push_with_a_bearer_token(client, session_factory):  # type: ignore[no-untyped-def]
    world = make_world(session_factory)
    r = client.post("/api/v1/lanes/P1-IN/anpr/dahua", data=dahua_picture(plate="苏A88888",
                                                                          colour="Blue"),
                    headers={"Content-Type": "application/json", **auth(world.tokens["device"])})
    assert r.status_code == 201, r.json
    assert r.json["plate"] == "苏A88888" and r.json["plate_colour"] == "blue"
    # The camera's panorama (NormalPic) is the scene the booth shows beside the crop.
    assert r.json["crop"] is True and r.json["scene"] is True
    scene = client.get(f"/api/v1/passages/{r.json['id']}/scene.jpg",
                       headers=auth(world.tokens["gate_operator"]))
    assert scene.status_code == 200 and scene.data.startswith(b"\xff\xd8")


def test_heartbeats_are_acknowledged_without_a_passage(client, session_factory):  # type: ignore[no-untyped-def]
    world = make_world(session_factory)
    r = client.post(f"/api/v1/lanes/P1-IN/anpr/hikvision?token={world.tokens['device']}",
                    data=hik_heartbeat(), headers=XML)
    assert r.status_code == 200 and r.json == {"ignored": "event videoloss"}
    with session_factory() as s:
        assert s.scalars(select(Passage)).first() is None


def test_bad_bodies_are_clear_4xx_problems(client, session_factory):  # type: ignore[no-untyped-def]
    world = make_world(session_factory)
    url = f"/api/v1/lanes/P1-IN/anpr/hikvision?token={world.tokens['device']}"
    r = client.post(url, data=b"<EventNotificationAlert>", headers=XML)
    assert r.status_code == 400 and r.json["code"] == "VENDOR_BAD_XML"
    assert r.headers["Content-Type"].startswith("application/problem+json")
    assert r.json["detail"]
    r = client.post(url, data=b"<" + b"a" * (5 * 1024 * 1024), headers=XML)
    assert r.status_code == 413 and r.json["code"] == "PAYLOAD_TOO_LARGE"
    r = client.post(f"/api/v1/lanes/P1-IN/anpr/axis?token={world.tokens['device']}",
                    data=b"{}", headers={"Content-Type": "application/json"})
    assert r.status_code == 404 and r.json["code"] == "VENDOR_UNKNOWN"
    with session_factory() as s:
        assert s.scalars(select(Passage)).first() is None


def test_a_push_needs_a_device_token_for_that_lane(client, session_factory):  # type: ignore[no-untyped-def]
    world = make_world(session_factory)
    r = client.post("/api/v1/lanes/P1-IN/anpr/hikvision", data=hik_xml(), headers=XML)
    assert r.status_code == 401
    r = client.post("/api/v1/lanes/P1-IN/anpr/hikvision?token=pg_wrong", data=hik_xml(),
                    headers=XML)
    assert r.status_code == 401
    # The device token is bound to P1-IN: it cannot push for another lane.
    r = client.post(f"/api/v1/lanes/P1-OUT/anpr/hikvision?token={world.tokens['device']}",
                    data=hik_xml(), headers=XML)
    assert r.status_code == 403
    # Elsewhere the query token is not accepted at all.
    r = client.get(f"/api/v1/lanes/P1-IN/passages?token={world.tokens['device']}")
    assert r.status_code == 401
