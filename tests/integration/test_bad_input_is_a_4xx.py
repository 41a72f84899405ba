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
