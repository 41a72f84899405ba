"""DOMAIN.md's rules through the API: emergency plates (G03), holds a divert must not
hide and the operator's checks that complete them (G13, G18), unbooked trailers (G18),
exits without the crew (G24), in-park dwell (G23), waybills (G14), unreadable plates
(G06), 剧毒 passes (G19), non-hazmat bookings (G02), lot zoning and capacity (L03,
L05) and plant readiness (L06)."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select

from dispatch import service
from dispatch.alarms import alarm_text
from kernel import clock
from kernel.uow import Actor, unit_of_work
from models import (
    Alarm,
    AuditEvent,
    Dock,
    EnterpriseMaterialScope,
    Lot,
    Passage,
    Plant,
    Presence,
    Trip,
    Vehicle,
)
from tests.factories import allow_petrol_and_corrosives, auth, book, make_world
from tests.integration.test_bookings_api import body as booking_body
from tests.integration.test_gate import crew, inside, occupy_docks, read, release, state

ACTOR = Actor.system("tests")


def codes(response) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {r["code"]: r["rule"] for r in response.json["reasons"]}


# --- G03 ----------------------------------------------------------------------------------------

def test_an_unregistered_police_car_is_held_and_only_the_operator_opens(client, session_factory):
    world = make_world(session_factory)
    r = read(client, world, "P2-IN", plate="苏A1234警", plate_colour="white",
             trailer_plate=None, trailer_confidence=None)
    assert r.status_code == 201 and r.json["action"] == "HOLD_FOR_OPERATOR"
    assert codes(r) == {"EMERGENCY_VEHICLE": "G03"} and r.json["barrier"] == "shut"
    no_reason = client.post(f"/api/v1/passages/{r.json['id']}/override",
                            json={"action": "OPEN", "reason": " "},
                            headers=auth(world.tokens["gate_operator"]))
    assert no_reason.status_code == 422
    opened = client.post(f"/api/v1/passages/{r.json['id']}/override",
                         json={"action": "OPEN", "reason": "110 出警"},
                         headers=auth(world.tokens["gate_operator"]))
    assert opened.status_code == 200 and opened.json["barrier"] == "lift"
    with session_factory() as s:
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "gate.override")).one()
    payload = json.loads(event.payload)
    assert payload["reason"] == "110 出警" and payload["engine"]["action"] == "HOLD_FOR_OPERATOR"
    assert event.plate == "苏A1234警" and event.actor_name == "gate_operator"


# --- G13 / G18: holds at the perimeter, completed by the operator -----------------------------------

def test_crew_and_trailer_holds_at_the_perimeter_then_the_divert(client, session_factory):
    world = make_world(session_factory)
    trip = book(session_factory, world)
    held = read(client, world, "P1-IN", crew_ids=[], trailer_plate=None, trailer_confidence=None)
    assert held.json["action"] == "HOLD_FOR_OPERATOR"
    assert codes(held) == {"CREW_NOT_CONFIRMED": "G13", "TRAILER_NOT_READ": "G18",
                           "MUST_WAIT_IN_LOT": "G22"}
    crew_checked = client.post(f"/api/v1/passages/{held.json['id']}/confirm-crew",
                               headers=auth(world.tokens["gate_operator"]))
    assert crew_checked.json["action"] == "HOLD_FOR_OPERATOR"
    assert set(codes(crew_checked)) == {"TRAILER_NOT_READ", "MUST_WAIT_IN_LOT"}
    # The operator types the trailer's plate: decided, not folded into the camera read.
    typed = client.post(f"/api/v1/passages/{crew_checked.json['id']}/trailer",
                        json={"trailer_plate": "苏E1234挂"},
                        headers=auth(world.tokens["gate_operator"]))
    assert typed.status_code == 201, typed.json
    assert typed.json["action"] == "DIVERT_TO_LOT" and typed.json["folded"] is False
    assert typed.json["id"] not in (held.json["id"], crew_checked.json["id"])
    assert typed.json["trailer_plate"] == "苏E1234挂"
    assert state(session_factory, trip.id) == "ARRIVED"
    bad = client.post(f"/api/v1/passages/{held.json['id']}/trailer",
                      json={"trailer_plate": "not a plate"},
                      headers=auth(world.tokens["gate_operator"]))
    assert bad.status_code == 422 and bad.json["code"] == "PLATE_INVALID"
    with session_factory() as s:
        completed = s.get(Passage, typed.json["id"])
        assert completed.details["completes"] == crew_checked.json["id"]


def test_a_trailer_the_booking_does_not_name_is_refused(client, session_factory):
    world = make_world(session_factory)
    book(session_factory, world, trailer_id=None)
    r = read(client, world, "P1-IN")  # the camera reads a trailer behind the tractor
    assert r.json["action"] == "DENY" and codes(r)["TRAILER_NOT_BOOKED"] == "G18"


# --- G24 ------------------------------------------------------------------------------------------

def test_crew_not_confirmed_at_the_exit_stay_inside_with_an_alarm(client, session_factory):
    world = make_world(session_factory)
    trip = book(session_factory, world, state="LEAVING")
    with session_factory() as s:  # the rig and its crew are inside the park
        for key in (f"v:{world.vehicles['tractor'].id}", f"p:{world.persons['driver'].id}",
                    f"p:{world.persons['escort'].id}"):
            s.add(Presence(area="park", subject_key=key, entered_at=clock.now(),
                           vehicle_id=world.vehicles["tractor"].id if key[0] == "v" else None,
                           person_id=int(key[2:]) if key[0] == "p" else None))
        s.commit()
    out = read(client, world, "P1-OUT", crew_ids=[crew(world)[0]])  # only the driver shows
    assert out.json["action"] == "OPEN"  # the exit is never refused for it (§9)
    assert codes(out) == {"CREW_NOT_CONFIRMED_AT_EXIT": "G24"}
    assert state(session_factory, trip.id) == "CLOSED"
    assert inside(session_factory, "park") == [f"p:{world.persons['escort'].id}"]
    with session_factory() as s:
        (alarm,) = s.scalars(select(Alarm).where(Alarm.kind == "CREW_LEFT_INSIDE")).all()
    assert alarm.person_id == world.persons["escort"].id and alarm.trip_id == trip.id
    assert alarm_text(alarm, "zh_Hans_CN") == \
        f"李押运（{trip.code}）未随车辆从 P1-OUT 离开，仍记录在园区内。"
    assert "李押运" in alarm_text(alarm, "en") and trip.code in alarm_text(alarm, "en")
    confirmed = client.post(f"/api/v1/passages/{out.json['id']}/confirm-crew",
                            headers=auth(world.tokens["gate_operator"]))
    assert confirmed.status_code == 201, confirmed.json
    assert inside(session_factory, "park") == []
    with session_factory() as s:
        assert s.get(Alarm, alarm.id).resolved_at is not None


def test_a_crew_member_left_behind_is_one_alarm_however_many_exits_the_rig_passes(  # type: ignore[no-untyped-def]
        session_factory):
    from types import SimpleNamespace

    from gateway.service import _crew_left_inside

    world = make_world(session_factory)
    trip = book(session_factory, world, state="LEAVING")
    escort = world.persons["escort"].id
    actor = Actor.system("tests")

    def left_at(*lanes: str) -> None:
        with unit_of_work(session_factory) as uow:
            for code in lanes:  # the lot's exit, the plant's, the park's
                lane = SimpleNamespace(id=world.lanes[code].id, code=code)
                _crew_left_inside(uow, actor, lane, uow.session.get(Trip, trip.id), escort)  # type: ignore[arg-type]
            uow.commit()

    def alarms() -> list[Alarm]:
        with session_factory() as s:
            return list(s.scalars(select(Alarm).where(Alarm.kind == "CREW_LEFT_INSIDE")))

    left_at("L1-OUT", "E1-OUT", "P1-OUT")
    (first,) = alarms()
    assert "L1-OUT" in alarm_text(first, "en")
    with session_factory() as s:  # the booth confirms the escort left after all
        s.get(Alarm, first.id).resolved_at = clock.now()
        s.commit()
    left_at("P1-OUT")  # a later trip's crossing without them is news again
    assert len(alarms()) == 2


# --- G23 --------------------------------------------------------------------------------------------

def test_a_hazmat_vehicle_inside_past_the_dwell_limit_alarms_once(client, session_factory):
    world = make_world(session_factory)
    trip = book(session_factory, world, state="IN_LOT")
    release(session_factory, trip.id, world.plants["E1"].id)
    assert read(client, world, "P1-IN", later=True).json["action"] == "OPEN"
    with session_factory() as s:
        assert s.get(Trip, trip.id).entered_park_at is not None  # the clock starts here
    clock.advance(timedelta(minutes=350))
    with unit_of_work(session_factory) as uow:
        assert service.watch(uow, clock.now())["park_dwell"] == 0
    clock.advance(timedelta(minutes=20))  # 6 h 10 min after the perimeter, limit 6 h
    with unit_of_work(session_factory) as uow:
        assert service.watch(uow, clock.now())["park_dwell"] == 1
    with unit_of_work(session_factory) as uow:
        assert service.watch(uow, clock.now())["park_dwell"] == 0  # once
    with session_factory() as s:
        (alarm,) = s.scalars(select(Alarm).where(Alarm.kind == "PARK_DWELL_EXCEEDED")).all()
    assert alarm.trip_id == trip.id
    assert alarm_text(alarm, "zh_Hans_CN") == f"G23：{trip.code} 已在园区内停留 370 分钟（限 360 分钟）。"


# --- G14 --------------------------------------------------------------------------------------------

def test_one_waybill_one_vehicle_one_trip_at_booking_and_at_the_gate(client, session_factory):
    world = allow_petrol_and_corrosives(session_factory, make_world(session_factory))
    e1 = auth(world.tokens["logistics_E1"])
    first = client.post("/api/v1/bookings", json=booking_body(world, waybill_no="YD-0001"),
                        headers=e1)
    assert first.status_code == 201, first.json
    again = client.post("/api/v1/bookings/check", json=booking_body(
        world, hours_ahead=30, waybill_no="YD-0001"), headers=e1)
    assert {f["code"]: f["rule"] for f in again.json["failures"]}["WAYBILL_USED"] == "G14"
    other = client.post("/api/v1/bookings/check", json=booking_body(
        world, hours_ahead=30, waybill_vehicle="苏E54321"), headers=e1)
    assert "WAYBILL_OTHER_VEHICLE" in {f["code"] for f in other.json["failures"]}
    # A cancelled trip gives its waybill back.
    client.post(f"/api/v1/bookings/{first.json['id']}/cancel", json={"reason": "改期"},
                headers=e1)
    reused = client.post("/api/v1/bookings/check", json=booking_body(
        world, hours_ahead=30, waybill_no="YD-0001"), headers=e1)
    assert "WAYBILL_USED" not in {f["code"] for f in reused.json["failures"]}
    # At the gate: a second trip on the same waybill is refused.
    book(session_factory, world, waybill_no="YD-0002", start=clock.now() + timedelta(hours=20))
    book(session_factory, world, waybill_no="YD-0002", vehicle_id=world.vehicles["car"].id,
         trailer_id=None)
    r = read(client, world, "P1-IN")
    assert r.json["action"] == "DENY" and codes(r).get("WAYBILL_USED") == "G14"


# --- G06 --------------------------------------------------------------------------------------------

def test_an_unreadable_plate_is_held_never_folded_and_lifted_with_a_reason(client,
                                                                           session_factory):
    world = make_world(session_factory)
    first = read(client, world, "P2-IN", plate="", plate_colour=None, confidence=0.0,
                 trailer_plate=None, trailer_confidence=None)
    second = read(client, world, "P2-IN", plate="", plate_colour=None, confidence=0.0,
                  trailer_plate=None, trailer_confidence=None)
    assert first.status_code == second.status_code == 201
    assert codes(first) == {"PLATE_UNREADABLE": "G06"} and first.json["plate"] is None
    assert second.json["id"] != first.json["id"] and second.json["folded"] is False
    lifted = client.post(f"/api/v1/passages/{first.json['id']}/override",
                         json={"action": "OPEN", "reason": "车牌污损，人工核对行驶证"},
                         headers=auth(world.tokens["gate_operator"]))
    assert lifted.status_code == 200
    with session_factory() as s:
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "gate.override")).one()
    payload = json.loads(event.payload)
    assert payload["plate"] == "unreadable" and payload["reason"] and payload["engine"]


def test_a_cameras_no_plate_marker_is_an_unreadable_hold(client, session_factory):
    from tests.vendor_payloads import hik_xml

    world = make_world(session_factory)
    for marker, uuid in (("noPlate", "a1"), ("NOPLATE", "a2"), ("无车牌", "a3")):
        r = client.post(f"/api/v1/lanes/P1-IN/anpr/hikvision?token={world.tokens['device']}",
                        data=hik_xml(plate=marker, uuid=f"{uuid}-3f2504e0-4f89-11d3-9a0c"),
                        headers={"Content-Type": "application/xml"})
        assert r.status_code == 201, r.json
        assert codes(r) == {"PLATE_UNREADABLE": "G06"} and r.json["plate"] is None
    with session_factory() as s:
        assert s.scalar(select(Passage.plate).where(Passage.plate.in_(
            ("NOPLATE", "UNLICENSED")))) is None


# --- G19 --------------------------------------------------------------------------------------------

def test_a_toxic_pass_expired_or_for_another_vehicle_fails_at_booking_and_gate(
        client, session_factory):
    world = allow_petrol_and_corrosives(session_factory, make_world(session_factory))
    with session_factory() as s:
        s.add(EnterpriseMaterialScope(enterprise_id=world.enterprises["E1"].id,
                                      direction="receive", un_number="UN1689",
                                      max_qty_kg=30000.0))
        s.commit()
    cyanide = [{"un_number": "UN1689", "quantity": 5, "unit": "t"}]
    e1 = auth(world.tokens["logistics_E1"])
    today = clock.now().date()
    expired = client.post("/api/v1/bookings/check", json=booking_body(
        world, cargo=cyanide, toxic_pass_no="公危通1234567",
        toxic_pass_valid_from=str(today - timedelta(days=30)),
        toxic_pass_valid_until=str(today - timedelta(days=1)), toxic_pass_vehicle="苏E12345"),
        headers=e1)
    failures = {f["code"]: f["rule"] for f in expired.json["failures"]}
    assert failures.get("TOXIC_PASS_EXPIRED") == "G19"
    other = client.post("/api/v1/bookings/check", json=booking_body(
        world, cargo=cyanide, toxic_pass_no="公危通1234567", toxic_pass_vehicle="苏E54321"),
        headers=e1)
    assert {f["code"]: f["rule"] for f in other.json["failures"]}.get(
        "TOXIC_PASS_OTHER_VEHICLE") == "G19"
    from booking.service import CargoIn

    book(session_factory, world, toxic_pass_no="公危通7654321",
         toxic_pass_valid_until=today - timedelta(days=1),
         cargo=[CargoIn(un_number="UN1689", name_zh="氰化钠", hazard_class="6.1",
                        quantity=5000, highly_toxic=True)])
    r = read(client, world, "P1-IN")
    assert r.json["action"] == "DENY" and codes(r).get("TOXIC_PASS_EXPIRED") == "G19"


# --- G02, L03, L05, L06 ------------------------------------------------------------------------------

def test_a_goods_trucks_unapproved_booking_is_a_g02_refusal(client, session_factory):
    world = make_world(session_factory)
    book(session_factory, world, category="goods", state="PENDING_APPROVAL",
         vehicle_id=world.vehicles["car"].id, trailer_id=None, escort_id=None, cargo=[])
    r = read(client, world, "P2-IN", plate="苏A88888", plate_colour="blue",
             trailer_plate=None, trailer_confidence=None)
    assert r.json["action"] == "DENY" and codes(r) == {"GOODS_BOOKING_NOT_APPROVED": "G02"}


def _second_rig(session_factory, world) -> int:  # type: ignore[no-untyped-def]
    """Another tractor of the world's carrier, its papers in order."""
    with session_factory() as s:
        tractor = s.get(Vehicle, world.vehicles["tractor"].id)
        twin = Vehicle(**{c.key: getattr(tractor, c.key) for c in Vehicle.__table__.columns
                          if c.key not in ("id", "plate")}, plate="苏E22222")
        s.add(twin)
        s.commit()
        return twin.id


def test_the_lot_refuses_for_its_capacity_l05_apart_from_zoning_l03(client, session_factory):
    world = make_world(session_factory)
    occupy_docks(session_factory, world)
    with session_factory() as s:
        s.get(Lot, world.lot.id).capacity = 1  # fire safety: one truck, whatever the bays
        s.commit()
    book(session_factory, world, state="ARRIVED")
    assert read(client, world, "L1-IN").json["action"] == "OPEN"
    twin = _second_rig(session_factory, world)
    book(session_factory, world, state="ARRIVED", vehicle_id=twin)
    full = read(client, world, "L1-IN", plate="苏E22222", crew_ids=crew(world))
    assert full.json["action"] == "HOLD_FOR_OPERATOR"
    # Bays are free: the park's number is reached.
    assert codes(full).get("LOT_FULL") == "L05", full.json["reasons"]
    # With room, a cargo no zone's table takes (class 6.2 here) is a zoning matter: L03.
    with session_factory() as s:
        s.get(Lot, world.lot.id).capacity = None
        s.commit()
    from booking.service import CargoIn

    waste = book(session_factory, world, state="ARRIVED", vehicle_id=twin, cargo=[
        CargoIn(un_number="UN3291", name_zh="医院临床废物", hazard_class="6.2", quantity=500)],
        start=clock.now() + timedelta(hours=30))
    with unit_of_work(session_factory) as uow:
        outcome = service.room_for(uow.session, uow.session.get(Trip, waste.id))
    assert outcome.rule == "L03" and outcome.lot_full is False


def test_a_plant_that_is_not_ready_receives_nothing_until_it_is(client, session_factory):
    world = make_world(session_factory)
    occupy_docks(session_factory, world)
    trip = book(session_factory, world, state="ARRIVED")
    assert read(client, world, "L1-IN").json["action"] == "OPEN"
    plant_id = world.plants["E1"].id
    receiver = auth(world.tokens["receiver"])
    r = client.post(f"/api/v1/plants/{plant_id}/readiness",
                    json={"ready": False, "note": "质检暂停"}, headers=receiver)
    assert r.status_code == 200 and r.json["ready"] is False
    with session_factory() as s:
        dock_id = s.scalar(select(Dock.id).where(Dock.plant_id == plant_id))
    client.post(f"/api/v1/docks/{dock_id}/free", headers=receiver)
    assert state(session_factory, trip.id) == "IN_LOT"  # a free dock, but not ready
    board = client.get("/api/v1/lot", headers=receiver).json
    (card,) = board["plants"]
    assert card["ready"] is False and card["ready_note"] == "质检暂停"
    other = client.post(f"/api/v1/plants/{world.plants['E2'].id}/readiness",
                        json={"ready": False}, headers=receiver)
    assert other.status_code == 404  # another plant's
    ready = client.post(f"/api/v1/plants/{plant_id}/readiness", json={"ready": True},
                        headers=receiver)
    assert ready.json["ready"] is True
    assert state(session_factory, trip.id) == "RELEASED"
    with session_factory() as s:
        audited = [json.loads(e.payload)["ready"] for e in s.scalars(
            select(AuditEvent).where(AuditEvent.action == "plant.readiness")
            .order_by(AuditEvent.seq))]
        assert audited == [False, True] and s.get(Plant, plant_id).ready is True

