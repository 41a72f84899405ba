"""Bookings through the API: checked, booked, refused with every reason, approved or
rejected by the park, amended, cancelled — each step audited — and never visible to
another enterprise."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from sqlalchemy import select

from kernel import clock
from models import AuditEvent, Park, Trip
from tests.factories import allow_petrol_and_corrosives, auth, book, make_world


@pytest.fixture
def world(session_factory):  # type: ignore[no-untyped-def]
    return allow_petrol_and_corrosives(session_factory, make_world(session_factory))


_waybills = itertools.count(1)


def body(world, enterprise: str = "E1", hours_ahead: int = 2, **kw):  # type: ignore[no-untyped-def]
    """A clean booking; each with a waybill of its own (G14: one waybill, one trip)."""
    start = clock.now() + timedelta(hours=hours_ahead)
    out = {"plant_id": world.plants[enterprise].id, "vehicle_id": world.vehicles["tractor"].id,
           "trailer_id": world.vehicles["trailer"].id, "driver_id": world.persons["driver"].id,
           "escort_id": world.persons["escort"].id, "window_start": start.isoformat(),
           "window_end": (start + timedelta(hours=4)).isoformat(),
           "waybill_no": f"WB-{next(_waybills)}",
           "waybill_consignee": world.enterprises[enterprise].name,
           "cargo": [{"un_number": "1203", "quantity": 20, "unit": "t"}]}
    out.update(kw)
    return out


def post(client, world, who="logistics_E1", path="", **kw):  # type: ignore[no-untyped-def]
    return client.post(f"/api/v1/bookings{path}", json=kw.pop("json", None) or body(world, **kw),
                       headers=auth(world.tokens[who]))


def audit_actions(session_factory, trip_id):  # type: ignore[no-untyped-def]
    with session_factory() as s:
        return [e.action for e in s.scalars(select(AuditEvent).where(
            AuditEvent.trip_id == trip_id).order_by(AuditEvent.seq))]


def test_a_clean_booking_is_booked_with_its_cargo_filled_in(client, world, session_factory):  # type: ignore[no-untyped-def]
    r = post(client, world)
    assert r.status_code == 201, r.json
    assert r.json["state"] == "BOOKED" and len(r.json["code"]) == 8
    assert r.json["cargo"] == [{"un_number": "UN1203", "name_zh": "汽油", "hazard_class": "3",
                                "quantity": 20.0, "unit": "t", "quantity_kg": 20000.0}]
    assert r.json["findings"]["failures"] == []
    assert audit_actions(session_factory, r.json["id"]) == ["trip.book"]


def test_a_failing_booking_lists_every_failure_and_saves_nothing(client, world, session_factory):  # type: ignore[no-untyped-def]
    r = post(client, world, escort_id=None, waybill_no=None,
             cargo=[{"un_number": "UN1203", "quantity": 35, "unit": "t"}])
    assert r.status_code == 422 and r.json["code"] == "BOOKING_CHECKS_FAILED"
    failures = {(f["code"], f["rule"]) for f in r.json["failures"]}
    assert failures == {("ESCORT_MISSING", "G13"), ("WAYBILL_MISSING", "G14"),
                        ("ENTERPRISE_CAP", "B02"), ("OVERLOADED", "G15")}
    assert all(f["message_zh"] and f["message_en"] for f in r.json["failures"])
    with session_factory() as s:
        assert s.scalars(select(Trip)).first() is None
    # The same draft through /check: the findings, nothing saved.
    r = post(client, world, path="/check", escort_id=None)
    assert r.status_code == 200 and [f["code"] for f in r.json["failures"]] == ["ESCORT_MISSING"]


def test_submitted_anyway_it_waits_for_the_park_which_approves_or_rejects(client, world,  # type: ignore[no-untyped-def]
                                                                          session_factory, bus):
    notices = bus.subscribe([f"enterprise:{world.enterprises['E1'].id}"])
    r = post(client, world, escort_id=None, submit_anyway=True)
    assert r.status_code == 201 and r.json["state"] == "PENDING_APPROVAL"
    trip_id = r.json["id"]
    # Enterprise staff cannot approve their own booking.
    r = client.post(f"/api/v1/bookings/{trip_id}/approve", json={},
                    headers=auth(world.tokens["logistics_E1"]))
    assert r.status_code == 403
    r = client.post(f"/api/v1/bookings/{trip_id}/reject", json={},
                    headers=auth(world.tokens["admin"]))
    assert r.status_code == 409 and r.json["reason"] == "REASON_REQUIRED"
    r = client.post(f"/api/v1/bookings/{trip_id}/reject", json={"reason": "押运员未登记"},
                    headers=auth(world.tokens["admin"]))
    assert r.status_code == 200 and r.json["state"] == "REJECTED"
    assert r.json["state_reason"] == "押运员未登记"
    assert audit_actions(session_factory, trip_id) == ["trip.book", "trip.reject"]
    types = []
    while (event := notices.get(timeout=0)) is not None:
        types.append(event.type)
    assert types == ["trip.booked", "booking.rejected"]

    r = post(client, world, submit_anyway=True, hours_ahead=8)
    assert r.json["state"] == "BOOKED"  # clean: straight through


def test_park_policy_can_require_approval_of_every_hazmat_booking(client, world, session_factory):  # type: ignore[no-untyped-def]
    with session_factory() as s:
        park = s.get(Park, world.park.id)
        park.policy = {**park.policy, "require_park_approval_hazmat": True}
        s.commit()
    r = post(client, world)
    assert r.status_code == 201 and r.json["state"] == "PENDING_APPROVAL"
    r = client.post(f"/api/v1/bookings/{r.json['id']}/approve", json={"reason": "ok"},
                    headers=auth(world.tokens["admin"]))
    assert r.status_code == 200 and r.json["state"] == "BOOKED"
    assert audit_actions(session_factory, r.json["id"]) == ["trip.book", "trip.approve"]


def test_no_overlapping_trip_for_the_same_vehicle_or_crew(client, world):  # type: ignore[no-untyped-def]
    first = post(client, world)
    assert first.status_code == 201
    r = post(client, world, hours_ahead=4)  # overlaps the first window by two hours
    assert r.status_code == 422
    overlaps = [f for f in r.json["failures"] if f["code"] == "TRIP_OVERLAP"]
    assert {f["params"]["who"] for f in overlaps} == {"苏E12345", "苏E1234挂", "王师傅", "李押运"}
    assert all(f["params"]["code"] == first.json["code"] for f in overlaps)
    assert post(client, world, hours_ahead=7).status_code == 201  # after it: fine


def test_bad_input_is_a_field_error_not_a_finding(client, world):  # type: ignore[no-untyped-def]
    r = post(client, world, cargo=[{"un_number": "UN9999", "quantity": 1}], vehicle_id=999999)
    assert r.status_code == 422 and r.json["code"] == "BOOKING_INVALID"
    assert set(r.json["errors"]) == {"cargo.0.un_number", "vehicle_id"}
    start = clock.now() - timedelta(hours=6)
    r = post(client, world, window_start=start.isoformat(),
             window_end=(start + timedelta(hours=1)).isoformat())
    assert r.status_code == 422 and "window_end" in r.json["errors"]
    r = post(client, world, trailer_id=world.vehicles["tractor"].id)
    assert r.status_code == 422 and "trailer_id" in r.json["errors"]
    r = client.post("/api/v1/bookings", json={"plant_id": "x"},
                    headers=auth(world.tokens["logistics_E1"]))
    assert r.status_code == 422


def test_enterprises_never_see_each_others_bookings(client, world):  # type: ignore[no-untyped-def]
    mine = post(client, world).json
    theirs = post(client, world, who="logistics_E2", enterprise="E2", hours_ahead=30).json
    e1 = auth(world.tokens["logistics_E1"])
    listed = client.get("/api/v1/bookings", headers=e1).json
    assert [b["id"] for b in listed["items"]] == [mine["id"]] and listed["total"] == 1
    # Their booking's id and code answer exactly like ones that do not exist.
    for url in (f"/api/v1/bookings/{theirs['id']}", f"/api/v1/bookings/by-code/{theirs['code']}",
                f"/api/v1/bookings/{theirs['id'] + 1000}", "/api/v1/bookings/by-code/ZZZZZZZZ"):
        r = client.get(url, headers=e1)
        assert r.status_code == 404, url
    r = client.post(f"/api/v1/bookings/{theirs['id']}/cancel", json={"reason": "x"}, headers=e1)
    assert r.status_code == 404
    r = client.put(f"/api/v1/bookings/{theirs['id']}", json=body(world), headers=e1)
    assert r.status_code == 404
    # Booking for another enterprise, or into its plant, is refused.
    r = post(client, world, enterprise_id=world.enterprises["E2"].id)
    assert r.status_code == 403
    r = post(client, world, plant_id=world.plants["E2"].id, hours_ahead=40)
    assert r.status_code == 422
    assert [f["code"] for f in r.json["failures"]] == ["PLANT_NOT_OF_ENTERPRISE"]
    # The gate finds either by the code on the pass.
    r = client.get(f"/api/v1/bookings/by-code/{theirs['code'].lower()}",
                   headers=auth(world.tokens["gate_operator"]))
    assert r.status_code == 200 and r.json["id"] == theirs["id"]


def test_amend_checks_again_and_cancel_needs_a_reason(client, world, session_factory):  # type: ignore[no-untyped-def]
    trip = post(client, world).json
    e1 = auth(world.tokens["logistics_E1"])
    r = client.put(f"/api/v1/bookings/{trip['id']}", headers=e1,
                   json=body(world, cargo=[{"un_number": "UN1830", "quantity": 5000}]))
    assert r.status_code == 200, r.json
    assert r.json["state"] == "BOOKED" and r.json["cargo"][0]["name_zh"] == "硫酸"
    assert audit_actions(session_factory, trip["id"]) == ["trip.book", "trip.amend", "trip.approve"]
    r = client.put(f"/api/v1/bookings/{trip['id']}", headers=e1, json=body(world, escort_id=None))
    assert r.status_code == 422  # still BOOKED as it was
    assert client.get(f"/api/v1/bookings/{trip['id']}", headers=e1).json["cargo"][0][
        "un_number"] == "UN1830"
    r = client.post(f"/api/v1/bookings/{trip['id']}/cancel", json={"reason": ""}, headers=e1)
    assert r.status_code == 422
    r = client.post(f"/api/v1/bookings/{trip['id']}/cancel", json={"reason": "客户改期"},
                    headers=e1)
    assert r.status_code == 200 and r.json["state"] == "CANCELLED"
    r = client.put(f"/api/v1/bookings/{trip['id']}", headers=e1, json=body(world))
    assert r.status_code == 409


def test_a_trip_under_way_cannot_be_amended(client, world, session_factory):  # type: ignore[no-untyped-def]
    trip = book(session_factory, world, state="IN_LOT")
    r = client.put(f"/api/v1/bookings/{trip.id}", json=body(world),
                   headers=auth(world.tokens["logistics_E1"]))
    assert r.status_code == 409


def test_a_retried_booking_with_its_idempotency_key_books_once(client, world, session_factory):  # type: ignore[no-untyped-def]
    headers = {**auth(world.tokens["logistics_E1"]), "Idempotency-Key": "erp-4711"}
    first = client.post("/api/v1/bookings", json=body(world), headers=headers)
    again = client.post("/api/v1/bookings", json=body(world), headers=headers)
    assert first.status_code == 201 and again.status_code == 200
    assert again.json["id"] == first.json["id"] and again.json["code"] == first.json["code"]
    with session_factory() as s:
        assert len(s.scalars(select(Trip)).all()) == 1
    assert audit_actions(session_factory, first.json["id"]).count("trip.book") == 1
    # The same key from another enterprise is its own booking.
    other = client.post("/api/v1/bookings", json=body(world, "E2", hours_ahead=30),
                        headers={**auth(world.tokens["logistics_E2"]), "Idempotency-Key":
                                 "erp-4711"})
    assert other.status_code == 201 and other.json["id"] != first.json["id"]
    bad = client.post("/api/v1/bookings", json=body(world, hours_ahead=30),
                      headers={**auth(world.tokens["logistics_E1"]), "Idempotency-Key": "x" * 65})
    assert bad.status_code == 400 and bad.json["code"] == "IDEMPOTENCY_KEY"
