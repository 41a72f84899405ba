"""The gate service end to end through the API: a hazmat trip from the perimeter to
its plant and out again, idempotency, folding, overrides, crops, people on foot."""

from __future__ import annotations

import base64
import itertools
import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from audit.service import verify_chain
from kernel import clock
from models import Alarm, AuditEvent, Dock, Passage, PassageRead, Presence, Release, Trip
from tests.factories import auth, book, make_world, national_id

_ids = itertools.count(1)
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 100 + b"\xff\xd9"


def read(client, world, lane, plate="苏E12345", token="gate_operator", **extra):  # type: ignore[no-untyped-def]
    """A camera read at `lane`. The hazmat rig's crew show their ID cards at the reader
    of every hazmat lane (G13 on the way in, G24 on the way out) unless `crew_ids` says
    otherwise."""
    if extra.pop("later", False):
        clock.advance(timedelta(minutes=5))  # the truck drives on to the next gate
    if plate == "苏E12345":
        extra.setdefault("crew_ids", crew(world))
    body = {"read_id": extra.pop("read_id", f"r{next(_ids)}"), "plate": plate,
            "plate_colour": "yellow", "confidence": 0.97,
            "seen_at": clock.now().isoformat(), "trailer_plate": "苏E1234挂",
            "trailer_confidence": 0.96, **extra}
    return client.post(f"/api/v1/lanes/{lane}/reads", json=body, headers=auth(world.tokens[token]))


def crew(world) -> list[str]:  # type: ignore[no-untyped-def]
    return [national_id(1), national_id(2)]


def state(session_factory, trip_id):  # type: ignore[no-untyped-def]
    with session_factory() as s:
        return s.get(Trip, trip_id).state


def inside(session_factory, area):  # type: ignore[no-untyped-def]
    with session_factory() as s:
        return sorted(s.scalars(select(Presence.subject_key).where(Presence.area == area)))


def release(session_factory, trip_id, plant_id, minutes=30):  # type: ignore[no-untyped-def]
    """What dispatch does when a dock frees (tested with the lot)."""
    with session_factory() as s:
        trip = s.get(Trip, trip_id)
        trip.state = "RELEASED"
        trip.release_deadline = clock.now() + timedelta(minutes=minutes)
        s.add(Release(trip_id=trip_id, plant_id=plant_id, token=f"T{trip_id}",
                      released_at=clock.now(), deadline=trip.release_deadline,
                      released_by="tests"))
        s.commit()


def occupy_docks(session_factory, world, busy=True):  # type: ignore[no-untyped-def]
    """The plant is busy: trucks that reach the lot wait there."""
    with session_factory() as s:
        for dock in s.scalars(select(Dock)):
            dock.busy = busy
        s.commit()


def test_a_hazmat_trip_from_the_perimeter_to_its_plant_and_out(client, app, session_factory,
                                                               database):
    world = make_world(session_factory)
    trip = book(session_factory, world)
    occupy_docks(session_factory, world)
    controller = app.extensions["parkgate.controllers"].simulated

    r = read(client, world, "P1-IN")
    assert r.status_code == 201, r.json
    assert r.json["action"] == "DIVERT_TO_LOT" and r.json["barrier"] == "shut"
    assert r.json["reasons"][0]["code"] == "MUST_WAIT_IN_LOT"
    assert r.json["reasons"][0]["rule"] == "G22"
    assert "危化品停车场" in r.json["message_zh"] and r.json["led"] == "前往危化品停车场"
    assert state(session_factory, trip.id) == "ARRIVED"
    assert inside(session_factory, "park") == []  # diverted: not an entry (DOMAIN §9)
    assert controller.last("P1-IN").lift is False

    r = read(client, world, "L1-IN", crew_ids=crew(world), later=True)
    assert r.json["action"] == "OPEN", r.json["reasons"]
    assert state(session_factory, trip.id) == "IN_LOT"
    lot_area = r.json["area"]
    assert inside(session_factory, lot_area) == sorted(
        [f"v:{world.vehicles['tractor'].id}", f"p:{world.persons['driver'].id}",
         f"p:{world.persons['escort'].id}"])
    assert controller.last("L1-IN").lift is True

    early = read(client, world, "E1-IN", later=True)
    assert early.json["action"] == "DENY" and early.json["reasons"][0]["code"] == "NOT_RELEASED"

    # The plant frees its dock: the lot releases the truck (DESIGN §5).
    with session_factory() as s:
        dock_id = s.scalar(select(Dock.id).where(Dock.plant_id == world.plants["E1"].id))
    r = client.post(f"/api/v1/docks/{dock_id}/free", headers=auth(world.tokens["receiver"]))
    assert r.status_code == 200, r.json
    assert state(session_factory, trip.id) == "RELEASED"
    assert read(client, world, "L1-OUT", later=True).json["action"] == "OPEN"
    assert inside(session_factory, lot_area) == []
    assert read(client, world, "P1-IN", later=True).json["action"] == "OPEN"
    assert f"v:{world.vehicles['tractor'].id}" in inside(session_factory, "park")
    r = read(client, world, "E1-IN", later=True)
    assert r.json["action"] == "OPEN", r.json["reasons"]
    assert state(session_factory, trip.id) == "AT_PLANT"
    with session_factory() as s:
        assert s.scalar(select(Release.status).where(Release.trip_id == trip.id)) == "used"
    assert read(client, world, "E1-OUT", later=True).json["action"] == "OPEN"
    assert state(session_factory, trip.id) == "LEAVING"
    assert read(client, world, "P1-OUT", later=True).json["action"] == "OPEN"
    assert state(session_factory, trip.id) == "CLOSED"
    assert inside(session_factory, "park") == []
    assert verify_chain(database.engine).ok

    with session_factory() as s:
        decisions = s.scalars(select(AuditEvent).where(AuditEvent.action == "gate.decision")
                              .order_by(AuditEvent.seq)).all()
        moves = s.scalars(select(AuditEvent.action).where(AuditEvent.trip_id == trip.id)
                          .where(AuditEvent.action.like("trip.%")).order_by(AuditEvent.seq)).all()
    assert json.loads(decisions[0].payload)["reasons"] == [{"code": "MUST_WAIT_IN_LOT",
                                                           "rule": "G22"}]
    assert moves == ["trip.book", "trip.arrive", "trip.check_in_lot", "trip.release",
                     "trip.enter_plant", "trip.leave_plant", "trip.exit_park"]
    with session_factory() as s:  # leaving the plant freed its dock again
        assert s.scalar(select(Dock.busy).where(Dock.id == dock_id)) is False


def test_of_a_trucks_two_bookings_the_one_around_now_moves(client, session_factory):  # type: ignore[no-untyped-def]
    world = make_world(session_factory)
    trip = book(session_factory, world)
    later = book(session_factory, world, start=clock.now() + timedelta(hours=20))
    r = read(client, world, "P1-IN")
    assert r.status_code == 201 and r.json["action"] == "DIVERT_TO_LOT", r.json
    assert state(session_factory, trip.id) == "ARRIVED"
    assert state(session_factory, later.id) == "BOOKED"
    with session_factory() as s:
        moved = s.scalars(select(AuditEvent).where(AuditEvent.subject_kind == "trip",
                                                   AuditEvent.subject_id == str(trip.id))
                          .order_by(AuditEvent.seq)).all()
        assert moved and json.loads(moved[-1].payload)["to"] == "ARRIVED", moved[-1].payload


def test_a_retried_read_gets_its_first_answer_and_records_nothing_twice(client, session_factory):
    world = make_world(session_factory)
    book(session_factory, world)
    first = read(client, world, "P1-IN", read_id="cam1-0001")
    again = read(client, world, "P1-IN", read_id="cam1-0001", confidence=0.1)
    assert first.status_code == 201 and again.status_code == 200
    assert again.json["id"] == first.json["id"] and again.json["replayed"] is True
    assert again.json["action"] == first.json["action"]
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(Passage)) == 1
        assert s.scalar(select(func.count()).select_from(AuditEvent)
                        .where(AuditEvent.action == "gate.decision")) == 1


def test_a_retry_that_missed_the_first_answer_still_gets_it(client, session_factory,  # type: ignore[no-untyped-def]
                                                            monkeypatch):
    # A camera that times out sends the read again while the first still waits for
    # the lane's lock. The retry asks for its read id before it waits (on PostgreSQL
    # the statement's snapshot is taken then), so it misses the first answer and
    # decides too; the read id is unique, and the first answer must stand.
    from gateway import repository

    world = make_world(session_factory)
    book(session_factory, world)
    first = read(client, world, "P1-IN", read_id="cam1-0042")
    locked = repository.lock_lane
    monkeypatch.setattr(repository, "lock_lane",  # its look-up, made before the first committed
                        lambda session, lane_id, read_id, *then: locked(session, lane_id, "missed",
                                                                          *then))
    # Late enough not to be folded into the first as a repeat of its plate.
    again = read(client, world, "P1-IN", read_id="cam1-0042", later=True)
    assert first.status_code == 201 and again.status_code == 200, again.json
    assert again.json["id"] == first.json["id"] and again.json["replayed"] is True
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(Passage)) == 1
        assert s.scalar(select(func.count()).select_from(AuditEvent)
                        .where(AuditEvent.action == "gate.decision")) == 1


def test_repeated_reads_of_a_plate_fold_into_one_passage(client, session_factory):
    world = make_world(session_factory)
    book(session_factory, world)
    first = read(client, world, "P1-IN", read_id="a1")
    second = read(client, world, "P1-IN", read_id="a2")
    retry = read(client, world, "P1-IN", read_id="a2")
    assert second.json["folded"] is True and second.json["id"] == first.json["id"]
    assert retry.json["replayed"] is True
    with session_factory() as s:
        passage = s.get(Passage, first.json["id"])
        assert passage.read_count == 2
        assert s.scalar(select(func.count()).select_from(PassageRead)) == 2
    clock.advance(timedelta(seconds=31))
    later = read(client, world, "P1-IN", read_id="a3")
    assert later.json["id"] != first.json["id"]  # outside the window: a new passage


def test_device_tokens_are_bound_to_their_lane(client, session_factory):
    world = make_world(session_factory)
    ok = read(client, world, "P1-IN", token="device")
    assert ok.status_code == 201
    other = read(client, world, "L1-IN", token="device")
    assert other.status_code == 403 and other.json["code"] == "LANE_NOT_BOUND"
    assert read(client, world, "P1-IN", token="dispatcher").status_code == 403
    assert read(client, world, "NOPE-IN").status_code == 404


def test_unknown_plates_are_denied_and_recorded(client, session_factory):
    world = make_world(session_factory)
    r = read(client, world, "P1-IN", plate="京A00001")
    assert r.json["action"] == "DENY", r.json["reasons"]
    assert r.json["reasons"] == [{"code": "VEHICLE_UNKNOWN", "rule": "G02", "severity": "deny",
                                  "message_zh": "车牌 京A00001 未在园区登记。",
                                  "message_en": "Plate 京A00001 is not registered in the park.",
                                  "params": {"plate": "京A00001"}}]
    with session_factory() as s:
        passage = s.get(Passage, r.json["id"])
        assert passage.trip_id is None and passage.vehicle_id is None


def test_override_opens_with_a_reason_and_keeps_what_the_engine_said(client, app,
                                                                    session_factory):
    world = make_world(session_factory)
    trip = book(session_factory, world, state="IN_LOT")
    with session_factory() as s:
        s.get(Trip, trip.id).crew_confirmed_at = clock.now()
        s.commit()
    held = read(client, world, "E1-IN")
    assert held.json["action"] == "DENY"
    no_reason = client.post(f"/api/v1/passages/{held.json['id']}/override",
                            json={"action": "OPEN", "reason": ""},
                            headers=auth(world.tokens["gate_operator"]))
    assert no_reason.status_code == 422
    denied = client.post(f"/api/v1/passages/{held.json['id']}/override",
                         json={"action": "OPEN", "reason": "调度电话确认"},
                         headers=auth(world.tokens["dispatcher"]))
    assert denied.status_code == 403
    opened = client.post(f"/api/v1/passages/{held.json['id']}/override",
                         json={"action": "OPEN", "reason": "调度电话确认"},
                         headers=auth(world.tokens["gate_operator"]))
    assert opened.status_code == 200, opened.json
    assert opened.json["barrier"] == "lift"
    assert opened.json["override"]["by"] == "gate_operator"
    assert app.extensions["parkgate.controllers"].simulated.last("E1-IN").lift is True
    # The booth shows the sign's new text, not the engine's refusal.
    assert app.extensions["parkgate.controllers"].simulated.last("E1-IN").led == "人工放行"
    assert opened.json["led"] == "人工放行" != held.json["led"]
    with session_factory() as s:
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "gate.override")).one()
    payload = json.loads(event.payload)
    assert payload["engine"] == {"action": "DENY", "reasons": ["NOT_RELEASED"]}
    assert payload["reason"] == "调度电话确认" and event.actor_name == "gate_operator"
    twice = client.post(f"/api/v1/passages/{held.json['id']}/override",
                        json={"action": "DENY", "reason": "x"},
                        headers=auth(world.tokens["gate_operator"]))
    # A second operator acting on it is told who already did, and nothing changes.
    assert twice.status_code == 409 and twice.json["code"] == "PASSAGE_RESOLVED"
    assert "gate_operator" in twice.json["detail"] or "闸口" in twice.json["detail"]


def test_an_override_moves_the_barrier_only_for_the_vehicle_it_still_serves(client, app,
                                                                          session_factory):
    world = make_world(session_factory)
    controllers = app.extensions["parkgate.controllers"].simulated
    stranger = read(client, world, "P1-IN", plate="京Z00001", plate_colour="blue",
                    trailer_plate=None, trailer_confidence=None)
    assert stranger.json["action"] == "DENY"
    # The next vehicle at the lane: the refused one has driven off.
    nxt = read(client, world, "P1-IN", plate="京Z00002", plate_colour="blue",
               trailer_plate=None, trailer_confidence=None, later=True)
    sign = controllers.last("P1-IN")
    late = client.post(f"/api/v1/passages/{stranger.json['id']}/override",
                       json={"action": "OPEN", "reason": "误判"},
                       headers=auth(world.tokens["gate_operator"]))
    assert late.status_code == 409 and late.json["code"] == "PASSAGE_SUPERSEDED"
    assert late.json["passage_id"] == nxt.json["id"] and "京Z00002" in late.json["detail"]
    assert controllers.last("P1-IN") == sign  # the barrier was not touched
    with session_factory() as s:
        assert s.get(Passage, stranger.json["id"]).override_action is None
    # A vehicle that already went through cannot be "denied" afterwards.
    book(session_factory, world)
    assert read(client, world, "P1-IN", later=True).json["action"] == "DIVERT_TO_LOT"
    through = read(client, world, "L1-IN", later=True)
    assert through.json["action"] == "OPEN", through.json["reasons"]
    undo = client.post(f"/api/v1/passages/{through.json['id']}/override",
                       json={"action": "DENY", "reason": "改判"},
                       headers=auth(world.tokens["gate_operator"]))
    assert undo.status_code == 409 and undo.json["code"] == "PASSAGE_CROSSED"


def test_crew_confirmed_at_the_booth_then_decided_again(client, session_factory):
    world = make_world(session_factory)
    trip = book(session_factory, world, state="ARRIVED")
    occupy_docks(session_factory, world)
    held = read(client, world, "L1-IN", crew_ids=[])
    assert held.json["action"] == "HOLD_FOR_OPERATOR"
    assert [r["code"] for r in held.json["reasons"]] == ["CREW_NOT_CONFIRMED"]
    again = client.post(f"/api/v1/passages/{held.json['id']}/confirm-crew",
                        headers=auth(world.tokens["gate_operator"]))
    assert again.status_code == 201, again.json
    assert again.json["action"] == "OPEN"
    assert state(session_factory, trip.id) == "IN_LOT"


def test_crops_are_kept_apart_and_served(client, session_factory):
    world = make_world(session_factory)
    r = read(client, world, "P1-IN", crop_jpeg_b64=base64.b64encode(JPEG).decode())
    assert r.json["crop"] is True
    image = client.get(f"/api/v1/passages/{r.json['id']}/crop.jpg",
                       headers=auth(world.tokens["gate_operator"]))
    assert image.status_code == 200 and image.mimetype == "image/jpeg" and image.data == JPEG
    bad = read(client, world, "P1-IN", crop_jpeg_b64=base64.b64encode(b"GIF89a").decode())
    assert bad.status_code == 422 and bad.json["code"] == "CROP_NOT_JPEG"
    garbage = read(client, world, "P1-IN", crop_jpeg_b64="%%%not base64")
    assert garbage.status_code == 422


def test_a_reads_scene_is_kept_shown_at_the_booth_and_stays_with_the_operators_check(
        client, session_factory):  # type: ignore[no-untyped-def]
    from tests.factories import login

    world = make_world(session_factory)
    held = read(client, world, "E1-IN", confidence=0.5,
                scene_jpeg_b64=base64.b64encode(JPEG).decode())
    assert held.json["action"] == "HOLD_FOR_OPERATOR" and held.json["scene"] is True
    staff = auth(world.tokens["gate_operator"])
    image = client.get(f"/api/v1/passages/{held.json['id']}/scene.jpg", headers=staff)
    assert image.status_code == 200 and image.mimetype == "image/jpeg" and image.data == JPEG
    login(client, "gate_operator")
    page = client.get(f"/booth/E1-IN/current?passage={held.json['id']}").get_data(as_text=True)
    assert f'/api/v1/passages/{held.json["id"]}/scene.jpg' in page
    # The operator confirms the plate looking at that picture: the new passage keeps it.
    confirmed = client.post(f"/api/v1/passages/{held.json['id']}/plate",
                            json={"plate": "苏E12345"}, headers=staff)
    assert confirmed.json["scene"] is True
    assert client.get(f"/api/v1/passages/{confirmed.json['id']}/scene.jpg",
                      headers=staff).data == JPEG
    without = read(client, world, "P1-IN")
    assert without.json["scene"] is False
    assert client.get(f"/api/v1/passages/{without.json['id']}/scene.jpg",
                      headers=staff).status_code == 404
    bad = read(client, world, "P1-IN", scene_jpeg_b64=base64.b64encode(b"GIF89a").decode())
    assert bad.status_code == 422 and bad.json["code"] == "SCENE_NOT_JPEG"
    assert "scene_jpeg_b64" in bad.json["detail"]


@pytest.mark.parametrize(("changes", "field"), [
    ({"confidence": 1.5}, "confidence"),
    ({"seen_at": "2026-11-22T09:00:00"}, "seen_at"),  # naive: which time zone?
    ({"read_id": "a b/c"}, "read_id"),
    ({"plate_colour": "purple"}, "plate_colour"),
    ({"plate": "苏A" + "1" * 30}, "plate"),
    ({"surprise": 1}, "surprise"),
])
def test_malformed_reads_are_422_with_the_field(client, session_factory, changes, field):
    world = make_world(session_factory)
    r = read(client, world, "P1-IN", **changes)
    assert r.status_code == 422 and field in r.json["errors"], r.json
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(Passage)) == 0


def test_people_on_foot_check_in_and_out_with_anti_passback(client, session_factory):
    world = make_world(session_factory)
    headers = auth(world.tokens["gate_operator"])
    body = {"credential": national_id(1)}
    first = client.post("/api/v1/lanes/P2-IN/persons", json=body, headers=headers)
    assert first.status_code == 201 and first.json["action"] == "OPEN"
    second = client.post("/api/v1/lanes/P2-IN/persons", json=body, headers=headers)
    assert second.json["action"] == "DENY" and second.json["reasons"][0]["rule"] == "G07"
    out = client.post("/api/v1/lanes/P2-OUT/persons", json={"credential": "CERT000001"},
                      headers=headers)
    assert out.json["action"] == "OPEN"
    assert inside(session_factory, "park") == []
    stranger = client.post("/api/v1/lanes/P2-IN/persons", json={"credential": national_id(999)},
                           headers=headers)
    assert stranger.json["action"] == "HOLD_FOR_OPERATOR"
    # Two strangers are told apart in the booth's queue by what they showed, masked.
    other = client.post("/api/v1/lanes/P2-IN/persons", json={"credential": "ZJ-2024-000123"},
                        headers=headers)
    assert other.json["action"] == "HOLD_FOR_OPERATOR"
    queue = client.get("/booth/P2-IN/pending", headers=headers).get_data(as_text=True)
    assert national_id(999)[:6] + "********" + national_id(999)[-4:] in queue
    assert "ZJ-202****0123" in queue and national_id(999) not in queue
    junk = client.post("/api/v1/lanes/P2-IN/persons", json={"credential": "<img src=x>"},
                       headers=headers)
    assert junk.status_code == 422 and junk.json["code"] == "CREDENTIAL_MALFORMED"


def test_crew_leaving_apart_from_their_vehicle_raises_an_alarm(client, session_factory):
    world = make_world(session_factory)
    book(session_factory, world, state="RELEASED")
    with session_factory() as s:
        trip = s.scalars(select(Trip)).one()
        trip.crew_confirmed_at = clock.now()
        s.commit()
    assert read(client, world, "P1-IN").json["action"] == "OPEN"  # vehicle and crew in
    out = client.post("/api/v1/lanes/P2-OUT/persons", json={"credential": national_id(2)},
                      headers=auth(world.tokens["gate_operator"]))
    assert out.json["action"] == "OPEN"  # never refused (DOMAIN §9 G24)
    assert "CREW_APART" in [r["code"] for r in out.json["reasons"]]
    with session_factory() as s:
        alarm = s.scalars(select(Alarm)).one()
    assert alarm.kind == "CREW_APART" and alarm.person_id == world.persons["escort"].id


def test_a_trip_of_an_enterprise_newer_than_the_cached_names_is_named(session_factory):  # type: ignore[no-untyped-def]
    # The gate and the lot keep a copy of the names; a waybill check against a name
    # missing from the copy would hold a good truck, so such a trip is named from the
    # database.
    from registry.read_model import park_names, trip_view

    world = make_world(session_factory)
    with session_factory() as s:
        stale = park_names(s)
    trip = book(session_factory, world)
    stale["enterprise"].pop(trip.enterprise_id)
    with session_factory() as s:
        view = trip_view(s, s.get(Trip, trip.id), stale)
    assert view.enterprise_name == world.enterprises["E1"].name
    assert view.plant_name


def test_a_plate_two_vehicles_share_is_held_and_one_truck_with_two_bookings_is_known(  # type: ignore[no-untyped-def]
        client, session_factory):
    from models import Vehicle

    world = make_world(session_factory)
    now_trip = book(session_factory, world)
    book(session_factory, world, start=clock.now() + timedelta(hours=6))
    # Two bookings near now are one truck, not two: it is decided on the nearer trip.
    r = read(client, world, "P1-IN", plate_colour=None, later=True)  # not folded into the first
    assert "PLATE_AMBIGUOUS" not in [x["code"] for x in r.json["reasons"]]
    assert r.json["trip"]["id"] == now_trip.id
    with session_factory() as s:
        s.add(Vehicle(plate="苏E12345", plate_colour="blue", kind="car", category="small",
                      created_at=clock.now()))
        s.commit()
    r = read(client, world, "P1-IN", plate_colour=None, later=True)
    assert r.json["action"] == "HOLD_FOR_OPERATOR"
    assert [x["code"] for x in r.json["reasons"]] == ["PLATE_AMBIGUOUS"]
    # With its colour read, the plate is the truck's again.
    r = read(client, world, "P1-IN", later=True)
    assert "PLATE_AMBIGUOUS" not in [x["code"] for x in r.json["reasons"]]


def test_the_snapshot_holds_each_cargo_line_and_paper_once_in_booked_order(  # type: ignore[no-untyped-def]
        app, session_factory):
    # The snapshot is one statement, a row per cargo line, crew member and paper:
    # a line or a certificate seen twice would be weighed or checked twice.
    from booking.service import CargoIn
    from gateway.repository import build_snapshot, lock_lane
    from models import Qualification

    world = make_world(session_factory)
    trip = book(session_factory, world, cargo=[
        CargoIn(un_number="UN1203", name_zh="汽油", hazard_class="3", quantity=12000),
        CargoIn(un_number="UN1170", name_zh="乙醇", hazard_class="3", quantity=8000)])
    book(session_factory, world, start=clock.now() + timedelta(hours=20))  # a later booking
    with session_factory() as s:
        s.add(Qualification(person_id=world.persons["driver"].id, kind="driver",
                            cert_no="CERT-SECOND", classes=["3"],
                            expires_on=clock.now().date() + timedelta(days=90)))
        s.add(Qualification(person_id=world.persons["escort"].id, kind="escort",
                            cert_no="CERT-OLD", classes=["3"], retired_at=clock.now(),
                            expires_on=clock.now().date() + timedelta(days=90)))
        s.commit()
    runtime = app.extensions["parkgate.gate"]
    with session_factory() as s:
        lane, now = runtime.lane(s, "P1-IN"), clock.now()
        snap = build_snapshot(s, lane, "苏E12345", "yellow", now, runtime.names(s))
        # Read again under the lane's lock: the same snapshot.
        assert lock_lane(s, lane.id, "r1") is None
        assert build_snapshot(s, lane, "苏E12345", "yellow", now, runtime.names(s)) == snap
    assert snap.trip is not None and snap.trip.id == trip.id
    assert [(c.un_number, c.quantity_kg) for c in snap.trip.cargo] == [
        ("UN1203", 12000), ("UN1170", 8000)]
    assert snap.trailer is not None and snap.trip.trailer_plate == "苏E1234挂"
    assert snap.driver is not None and snap.escort is not None
    assert sorted(q.cert_no for q in snap.driver.qualifications) == [
        "CERT-SECOND", f"CERT{1:06d}"]
    assert [q.cert_no for q in snap.escort.qualifications] == [f"CERT{2:06d}"]  # retired left out
    assert snap.vehicle is not None and snap.vehicle.inside is False and snap.plate_matches == 1


def ban(session_factory, world, who, **kw):  # type: ignore[no-untyped-def]
    from models import BlacklistEntry

    kind = "vehicle" if who in ("tractor", "trailer") else "person"
    subject = {"vehicle_id": world.vehicles[who].id} if kind == "vehicle" else \
        {"person_id": world.persons[who].id}
    with session_factory() as s:
        s.add(BlacklistEntry(subject_kind=kind, reason=kw.pop("reason", "违规运输"),
                             created_at=clock.now(), **subject, **kw))
        s.commit()


@pytest.mark.parametrize("who", ["tractor", "trailer", "driver", "escort"])
def test_a_ban_on_the_truck_its_trailer_or_its_crew_shuts_the_gate(client, session_factory,  # type: ignore[no-untyped-def]
                                                                   who):
    world = make_world(session_factory)
    book(session_factory, world)
    ban(session_factory, world, who, reason="旧案", lifted_at=clock.now())  # lifted
    ban(session_factory, world, who, reason="过期", until_on=clock.now().date() - timedelta(days=1))
    r = read(client, world, "P1-IN")
    assert "BLACKLISTED" not in [x["code"] for x in r.json["reasons"]]
    ban(session_factory, world, who, until_on=clock.now().date() + timedelta(days=30))
    r = read(client, world, "P1-IN", plate_colour=None, later=True)  # not folded into the first
    assert r.json["action"] == "DENY", r.json["reasons"]
    (banned,) = [x for x in r.json["reasons"] if x["code"] == "BLACKLISTED"]
    assert banned["rule"] == "G04" and "违规运输" in r.json["message_zh"]


def test_confirming_an_unsure_plate_runs_every_check_and_is_no_override(client, session_factory):
    """G08: the operator who confirms a low-confidence read gets the verdict a sure read
    of that plate gets (here: no booking, refused), not a lifted barrier."""
    world = make_world(session_factory)
    sure = read(client, world, "E1-IN")
    assert sure.json["action"] == "DENY", sure.json
    verdict = [r["code"] for r in sure.json["reasons"]]
    held = read(client, world, "E1-IN", confidence=0.5, later=True)
    assert held.json["action"] == "HOLD_FOR_OPERATOR"
    assert [r["code"] for r in held.json["reasons"]] == ["LOW_CONFIDENCE_READ"]
    confirmed = client.post(f"/api/v1/passages/{held.json['id']}/plate",
                            json={"plate": "苏E12345"}, headers=auth(world.tokens["gate_operator"]))
    assert confirmed.status_code == 201, confirmed.json
    assert confirmed.json["action"] == "DENY"
    assert [r["code"] for r in confirmed.json["reasons"]] == verdict
    with session_factory() as s:
        hold = s.get(Passage, held.json["id"])
        assert hold.resolved_at is not None and hold.resolution == "completed"
    # A camera misread the operator corrects is found under either plate: the
    # correction under the misread, the decision under the true plate.
    misread = read(client, world, "E1-IN", plate="苏E12845", confidence=0.6, later=True)
    assert misread.json["action"] == "HOLD_FOR_OPERATOR"
    for _ in range(2):  # a double click records one correction
        corrected = client.post(f"/api/v1/passages/{misread.json['id']}/plate",
                                json={"plate": "苏E12345"},
                                headers=auth(world.tokens["gate_operator"]))
    assert corrected.json["plate"] == "苏E12345"
    found = client.get("/api/v1/audit/events", query_string={"plate": "苏E12845"},
                       headers=auth(world.tokens["auditor"])).json["items"]
    (fix,) = [e for e in found if e["action"] == "gate.plate_corrected"]
    assert fix["payload"]["from"] == "苏E12845" and fix["payload"]["to"] == "苏E12345"
    assert fix["actor_name"] == "gate_operator"
    # A plate the camera read surely is not "confirmed": that would be an override.
    again = client.post(f"/api/v1/passages/{sure.json['id']}/plate", json={"plate": "苏E12345"},
                        headers=auth(world.tokens["gate_operator"]))
    assert again.status_code == 409 and again.json["code"] == "PASSAGE_HAS_PLATE"


def test_the_booth_offers_to_confirm_an_unsure_plate_with_its_reading_filled_in(
        client, session_factory):  # type: ignore[no-untyped-def]
    from tests.factories import csrf_token, login

    world = make_world(session_factory)
    held = read(client, world, "E1-IN", confidence=0.5)
    login(client, "gate_operator")
    path = f"/booth/E1-IN?passage={held.json['id']}"
    page = client.get(f"/booth/E1-IN/current?passage={held.json['id']}").get_data(as_text=True)
    assert 'id="confirm-plate"' in page and 'value="苏E12345"' in page
    assert 'value="苏E1234挂"' in page  # the trailer's reading too
    done = client.post(f"/booth/E1-IN/passages/{held.json['id']}/plate",
                       data={"plate": "苏E12345", "trailer_plate": "苏E1234挂",
                             "csrf_token": csrf_token(client, path)})
    assert done.status_code == 302
    with session_factory() as s:
        assert s.get(Passage, held.json["id"]).resolution == "completed"
        latest = s.scalars(select(Passage).order_by(Passage.id.desc()).limit(1)).one()
    assert latest.action == "DENY" and latest.source == "recheck"


def test_the_operators_own_checks_stay_on_screen(client, session_factory):  # type: ignore[no-untyped-def]
    from tests.factories import csrf_token, login

    make_world(session_factory)
    login(client, "gate_operator")
    token = csrf_token(client, "/booth/E1-IN")
    typed = client.post("/booth/E1-IN/manual", data={"plate": "苏hxn335", "csrf_token": token})
    person = client.post("/booth/E1-IN/person", data={"credential": national_id(99),
                                                      "csrf_token": token})
    with session_factory() as s:
        plate_check, person_check = s.scalars(
            select(Passage).order_by(Passage.id.desc()).limit(2)).all()[::-1]
    assert plate_check.source == "manual" and plate_check.plate == "苏HXN335"
    assert typed.headers["Location"].endswith(f"/booth/E1-IN?passage={plate_check.id}")
    assert person.headers["Location"].endswith(f"/booth/E1-IN?passage={person_check.id}")


def test_a_plate_typed_at_the_booth_must_be_a_plate(client, session_factory):  # type: ignore[no-untyped-def]
    from tests.factories import csrf_token, login

    make_world(session_factory)
    login(client, "gate_operator")
    token = csrf_token(client, "/booth/E1-IN")
    with session_factory() as s:
        before = s.scalar(select(func.count()).select_from(Passage))
    for typo in ("ABC123", "苏A1234", "<script>alert(1)</script>"):
        r = client.post("/booth/E1-IN/manual", data={"plate": typo, "csrf_token": token},
                        follow_redirects=True)
        assert "不是有效的车牌。" in r.get_data(as_text=True)
    r = client.post("/booth/E1-IN/manual", data={"plate": "苏HXN335", "trailer_plate": "苏E12",
                                                 "plate_colour": "yellow", "csrf_token": token})
    page = r.get_data(as_text=True)
    assert r.status_code == 422 and "不是有效的车牌。" in page
    # The form is as the operator left it: one character to fix, not the whole form.
    assert 'id="m-plate" name="plate" required maxlength="20" value="苏HXN335"' in page
    assert 'name="trailer_plate" maxlength="20" value="苏E12"' in page
    assert '<option value="yellow" selected>' in page
    assert r.headers["Cache-Control"] == "no-store"  # what was typed stays out of caches
    # Answered at the form's address: the page puts the booth's back, and the form's
    # address itself leads there (a reload, a language switch).
    assert 'data-page="/booth/E1-IN"' in page
    back = client.get("/booth/E1-IN/manual?lang=en")
    assert back.status_code == 302 and back.headers["Location"].endswith("/booth/E1-IN?lang=en")
    with session_factory() as s:  # nothing recorded for a typo
        assert s.scalar(select(func.count()).select_from(Passage)) == before
    client.post("/booth/E1-IN/manual", data={"plate": " 苏a 12345 ", "csrf_token": token})
    with session_factory() as s:  # spaces and case are the operator's, not the plate's
        latest = s.scalars(select(Passage).order_by(Passage.id.desc()).limit(1)).one()
    assert latest.plate == "苏A12345"


def test_a_credential_typed_at_the_booth_must_be_an_id_or_certificate_number(
        client, session_factory):  # type: ignore[no-untyped-def]
    from tests.factories import csrf_token, login

    world = make_world(session_factory)
    login(client, "gate_operator")
    token = csrf_token(client, "/booth/P2-IN")
    with session_factory() as s:
        before = s.scalar(select(func.count()).select_from(Passage))
    typo = national_id(1)[:-1] + ("1" if national_id(1)[-1] != "1" else "2")
    for text, says in (("123", "太短"), (typo, "校验位")):
        r = client.post("/booth/P2-IN/person", data={"credential": text, "csrf_token": token})
        page = r.get_data(as_text=True)
        assert r.status_code == 422 and says in page
        # The cursor is back in the box to fix, not in the plate form above it.
        assert f'name="credential" autocomplete="off" required value="{text}" autofocus' in page
        assert 'name="plate" required maxlength="20" value="" autofocus' not in page
    api = client.post("/api/v1/lanes/P2-IN/persons", json={"credential": typo},
                      headers=auth(world.tokens["gate_operator"]))
    assert api.status_code == 422 and api.json["code"] == "ID_CHECKSUM"
    with session_factory() as s:  # nothing recorded for a typo
        assert s.scalar(select(func.count()).select_from(Passage)) == before


def test_a_passage_held_on_screen_says_when_a_newer_vehicle_came(client, session_factory):  # type: ignore[no-untyped-def]
    from tests.factories import csrf_token, login

    make_world(session_factory)
    login(client, "gate_operator")
    token = csrf_token(client, "/booth/E1-IN")
    client.post("/booth/E1-IN/manual", data={"plate": "苏HXN335", "csrf_token": token})
    with session_factory() as s:
        mine = s.scalars(select(Passage).order_by(Passage.id.desc()).limit(1)).one().id
    page = client.get(f"/booth/E1-IN/current?passage={mine}").get_data(as_text=True)
    assert 'id="newer-read"' not in page  # still the newest
    client.post("/booth/E1-IN/manual", data={"plate": "苏A12345", "csrf_token": token})
    page = client.get(f"/booth/E1-IN/current?passage={mine}").get_data(as_text=True)
    assert 'id="newer-read"' in page and "苏A12345" in page.split('id="newer-read"')[1]
    assert "苏HXN335" in page  # and the operator's own check is still there
    # Typed by a person: no "confidence 1.00" as if a camera had been sure.
    assert "值班员录入" in page and "置信度" not in page


def test_a_pass_looked_up_at_the_booth_shows_what_the_lane_would_answer(client,
                                                                       session_factory):
    world = make_world(session_factory)
    trip = book(session_factory, world)
    operator = auth(world.tokens["gate_operator"])

    def lookup() -> str:
        return client.get(f"/booth/P1-IN/booking?code={trip.code}", headers=operator
                          ).get_data(as_text=True)

    now = lookup()
    # In its window: the operator's one task is the crew's papers (G13).
    assert 'id="booking-verdict" class="card" data-action="HOLD_FOR_OPERATOR"' in now
    assert 'data-code="CREW_NOT_CONFIRMED"' in now and "OUTSIDE_WINDOW" not in now
    # Hours later the window is over: the booth says so before the barrier does.
    clock.advance(timedelta(hours=6))
    page = lookup()
    assert 'data-action="DENY"' in page and 'data-code="OUTSIDE_WINDOW"' in page
    with session_factory() as s:
        assert s.scalars(select(Passage)).all() == []  # a look-up records nothing


def test_the_booth_says_which_box_is_wrong_and_never_cuts_a_reason(client, session_factory):
    from tests.factories import csrf_token, login

    world = make_world(session_factory)
    held = read(client, world, "P1-IN", plate="苏A88888", plate_colour="blue",
                trailer_plate=None, trailer_confidence=None, confidence=0.4)
    assert held.json["action"] == "HOLD_FOR_OPERATOR"
    login(client, "gate_operator")
    token = csrf_token(client, "/booth/P1-IN")
    url = f"/booth/P1-IN/passages/{held.json['id']}/override"
    blank = client.post(url, data={"action": "OPEN", "reason": "   ", "csrf_token": token},
                        follow_redirects=True)
    text = blank.get_data(as_text=True)
    assert "人工干预须填写原因" in text and "原因: 必填。" in text
    long = client.post(url, data={"action": "OPEN", "reason": "很" * 700, "csrf_token": token},
                       follow_redirects=True).get_data(as_text=True)
    assert "500" in long and "原因: " in long
    with session_factory() as s:
        assert s.get(Passage, held.json["id"]).override_action is None  # nothing recorded


def test_a_mistyped_crew_id_at_the_booth_is_said_not_dropped(client, session_factory):
    from tests.factories import csrf_token, login

    make_world(session_factory)
    login(client, "gate_operator")
    token = csrf_token(client, "/booth/P1-IN")
    r = client.post("/booth/P1-IN/manual", follow_redirects=True, data={
        "plate": "苏E12345", "plate_colour": "yellow", "crew_ids": f"{national_id(1)} 123",
        "csrf_token": token})
    text = r.get_data(as_text=True)
    assert "驾押人员身份证号" in text and "123 — 太短" in text
    assert f'name="crew_ids" autocomplete="off" value="{national_id(1)} 123"' in text
    with session_factory() as s:
        assert s.scalars(select(Passage)).all() == []  # fixed first, then recorded
