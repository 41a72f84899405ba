"""Input found by fuzzing the API that used to end in a 500: each is a 4xx with a
machine-readable code now, and nothing was written."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from models import AuditEvent
from tests.factories import auth, make_world
from tests.integration.test_bookings_api import body


def events(session_factory):  # type: ignore[no-untyped-def]
    with session_factory() as s:
        return s.scalar(select(func.count()).select_from(AuditEvent))


def refused(response):  # type: ignore[no-untyped-def]
    assert 400 <= response.status_code < 500, response.get_data(as_text=True)[:300]
    assert response.json.get("code"), response.json
    return response.json


@pytest.mark.parametrize("path, field, value", [
    ("plants", "arrival_deadline_min", None),  # a column that holds no NULL
    ("plants", "name", None),  # a required field
    ("lanes", "antipassback", None),
    ("enterprises", "code", None),
])
def test_an_edit_cannot_empty_a_field_the_record_needs(client, session_factory, path, field,  # type: ignore[no-untyped-def]
                                                      value):
    world = make_world(session_factory)
    admin = auth(world.tokens["admin"])
    record_id = client.get(f"/api/v1/{path}", headers=admin).json["items"][0]["id"]
    before = events(session_factory)
    problem = refused(client.patch(f"/api/v1/{path}/{record_id}", json={field: value},
                                   headers=admin))
    assert field in str(problem)
    assert events(session_factory) == before


def test_nested_values_of_the_wrong_type_are_field_errors(client, session_factory):  # type: ignore[no-untyped-def]
    world = make_world(session_factory)
    admin = auth(world.tokens["admin"])
    enterprise = world.enterprises["E1"].id
    refused(client.post("/api/v1/plants", json={
        "enterprise_id": enterprise, "code": "X1", "name": "新装置",
        "receiving_hours": {"fri": None}}, headers=admin))
    for line in ({"direction": "receive", "hazard_class": -1},
                 {"direction": "receive", "un_number": 1203},
                 {"direction": ["receive"], "hazard_class": "3"}):
        refused(client.post("/api/v1/enterprises", json={
            "code": "E9", "name": "新企业", "material_scope": [line]}, headers=admin))


@pytest.mark.parametrize("url", [
    "/api/v1/bookings?day=0001-01-01",
    "/api/v1/lot/kpis?day=0001-01-01",
    "/api/v1/audit/events?since=0001-01-01",
    "/api/v1/audit/passages?until=9999-12-31T23:59:59",
])
def test_a_date_out_of_any_parks_range_is_refused(client, session_factory, url):  # type: ignore[no-untyped-def]
    world = make_world(session_factory)
    who = "logistics_E1" if "bookings" in url else "auditor" if "audit" in url else "dispatcher"
    refused(client.get(url, headers=auth(world.tokens[who])))


def test_a_booking_window_at_the_end_of_time_is_refused(client, session_factory):  # type: ignore[no-untyped-def]
    world = make_world(session_factory)
    headers = auth(world.tokens["logistics_E1"])
    for path in ("", "/check"):
        refused(client.post(f"/api/v1/bookings{path}", headers=headers, json=body(
            world, window_end="9999-12-31T23:59:59.999999+00:00")))


def test_a_signed_in_metrics_scrape_answers_at_once(client, session_factory):  # type: ignore[no-untyped-def]
    """With a token, the request's own session held SQLite's write lock, and the lot
    figures' session waited the whole busy timeout (30 s) for it, then failed; every
    gate read meanwhile waited too."""
    world = make_world(session_factory)
    r = client.get("/metrics", headers=auth(world.tokens["admin"]))
    assert r.status_code == 200 and "parkgate_lot_queue_length" in r.get_data(as_text=True)


@pytest.mark.parametrize("picture", [
    {"Plate": {"PlateNumber": "苏A12345", "PlateColor": "²"},
     "SnapInfo": {"DeviceID": "X", "SnapTime": "2026-12-07 10:00:00"}},
    {"Plate": {"PlateNumber": "苏A12345", "PlateColor": "Blue"},
     "SnapInfo": {"DeviceID": "X", "SnapTime": "2026-12-07 10:00:00", "TimeZone": "+99:00"}},
])
def test_a_camera_payload_with_impossible_values_is_refused(client, session_factory,  # type: ignore[no-untyped-def]
                                                            picture):
    import json

    world = make_world(session_factory)
    r = client.post("/api/v1/lanes/P1-IN/anpr/dahua",
                    data=json.dumps({"Picture": picture}).encode(),
                    headers={"Content-Type": "application/json", **auth(world.tokens["device"])})
    refused(r)


def test_a_search_for_a_unicode_digit_is_a_search(client, session_factory):  # type: ignore[no-untyped-def]
    world = make_world(session_factory)
    r = client.get("/api/v1/vehicles", query_string={"q": "²"},
                   headers=auth(world.tokens["admin"]))
    assert r.status_code == 200 and r.json["total"] == 0


def test_a_form_number_past_64_bits_is_a_4xx(client, session_factory):  # type: ignore[no-untyped-def]
    from tests.factories import login

    make_world(session_factory)
    login(client, "admin")
    r = client.get("/records/expiring", query_string={"carrier_id": "9" * 20})
    assert r.status_code == 422, r.status_code


def test_a_checkpoint_nested_two_thousand_deep_is_refused(client, session_factory):  # type: ignore[no-untyped-def]
    world = make_world(session_factory)
    refused(client.post("/api/v1/audit/consistency", json={"checkpoint": "[" * 1999 + "]" * 1999},
                        headers=auth(world.tokens["auditor"])))


def test_a_database_another_writer_holds_is_a_retryable_503(app):  # type: ignore[no-untyped-def]
    """SQLite's busy timeout run out (another writer held the file): the same answer as
    a PostgreSQL that went away, worth a retry, not a 500."""
    import sqlite3

    from sqlalchemy.exc import OperationalError

    from parkgate.problems import handle_database_unavailable

    locked = OperationalError("BEGIN IMMEDIATE", {}, sqlite3.OperationalError(
        "database is locked"))
    with app.test_request_context("/api/v1/lanes/P1-IN/reads", method="POST"):
        response = handle_database_unavailable(locked)
    response = app.make_response(response)
    assert response.status_code == 503 and response.headers["Retry-After"] == "1"
    assert response.json["code"] == "DATABASE_UNAVAILABLE"
