"""The hazmat lot through its API and services: check-in to a compatible bay, release
in order when docks free, propose mode, the L07 re-check, deadlines, the dispatcher's
hand, trucks waiting at the entrance — and, on PostgreSQL, a storm of parallel dock
and dispatcher events that never releases a trip twice nor overfills a plant."""

from __future__ import annotations

import random
import threading
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, update

from booking.service import CargoIn
from dispatch import service
from kernel import clock
from kernel.messages import record
from kernel.uow import Actor, unit_of_work
from models import Alarm, AuditEvent, Dock, Lot, Plant, QueueEntry, Release, Trip, Vehicle
from tests.conftest import PG_PARAM
from tests.factories import auth, book, login, make_world
from trips.events import TripMoved

ACTOR = Actor.system("tests")


def set_docks(session_factory, world, *, busy: bool, count: int | None = None):  # type: ignore[no-untyped-def]
    with session_factory() as s:
        plant_id = world.plants["E1"].id
        docks = list(s.scalars(select(Dock).where(Dock.plant_id == plant_id)))
        for i in range(len(docks), count or 0):
            s.add(Dock(plant_id=plant_id, code=f"D{i + 1}", busy=busy))
        for d in docks:
            d.busy = busy
        s.commit()
        return [d.id for d in s.scalars(select(Dock).where(Dock.plant_id == plant_id)
                                        .order_by(Dock.code))]


def arrive(session_factory, world, n: int, **kw):  # type: ignore[no-untyped-def]
    """n booked petrol trips, checked in to the lot one minute apart."""
    trips = []
    for i in range(n):
        trip = book(session_factory, world, state="ARRIVED", **kw.get("each", lambda i: {})(i))
        with unit_of_work(session_factory) as uow:
            t = uow.session.get(Trip, trip.id)
            service.check_in(uow, t, ACTOR, clock.now())
            uow.commit()
        clock.advance(timedelta(minutes=1))
        trips.append(trip.id)
    return trips


def states(session_factory, ids):  # type: ignore[no-untyped-def]
    with session_factory() as s:
        return [s.get(Trip, i).state for i in ids]


def free(client, world, dock_id, who="receiver"):  # type: ignore[no-untyped-def]
    return client.post(f"/api/v1/docks/{dock_id}/free", headers=auth(world.tokens[who]))


def move(client, world, trip_id, action):  # type: ignore[no-untyped-def]
    r = client.post(f"/api/v1/trips/{trip_id}/transitions", json={"action": action},
                    headers=auth(world.tokens["receiver"]))
    assert r.status_code == 200, r.json


def test_trucks_wait_in_a_compatible_bay_and_leave_in_order(client, session_factory):  # type: ignore[no-untyped-def]
    world = make_world(session_factory)
    (dock,) = set_docks(session_factory, world, busy=True)
    late, early, urgent = arrive(session_factory, world, 3, each=lambda i: [
        {"start": clock.now() + timedelta(hours=2)}, {}, {"priority": 5}][i])
    assert states(session_factory, [late, early, urgent]) == ["IN_LOT"] * 3
    board = client.get("/api/v1/lot", headers=auth(world.tokens["dispatcher"])).json
    zone_a = next(z for z in board["zones"] if z["code"] == "A")
    assert zone_a["used"] == 3  # petrol (3) stands in the zone that accepts 3
    queue = next(p for p in board["plants"] if p["id"] == world.plants["E1"].id)["queue"]
    assert [q["trip_id"] for q in queue] == [urgent, early, late]  # L06
    # Each freed dock calls the next truck, in that order.
    for expected in (urgent, early, late):
        r = free(client, world, dock)
        assert r.status_code == 200 and r.json["released_trip_id"] == expected
        with session_factory() as s:
            release = s.scalar(select(Release).where(Release.trip_id == expected))
            assert release.deadline == clock.now() + timedelta(minutes=30)
            s.get(Trip, expected).state = "CLOSED"
            s.commit()
    assert free(client, world, dock).json["released_trip_id"] is None  # nobody waits
    with session_factory() as s:
        actions = s.scalars(select(AuditEvent.action).where(AuditEvent.trip_id == urgent)
                            .order_by(AuditEvent.seq)).all()
    assert actions == ["trip.book", "trip.check_in_lot", "trip.release"]


def test_a_receiver_marking_trucks_in_and_out_moves_the_lot(client, session_factory):  # type: ignore[no-untyped-def]
    """A plant without cameras: the receiver's clicks use the release and free the dock,
    as the plant gate's reads do."""
    world = make_world(session_factory)
    (dock,) = set_docks(session_factory, world, busy=True)
    first, second = arrive(session_factory, world, 2)
    assert free(client, world, dock).json["released_trip_id"] == first

    move(client, world, first, "enter_plant")
    with session_factory() as s:
        assert s.scalar(select(Release.status).where(Release.trip_id == first)) == "used"
    assert states(session_factory, [second]) == ["IN_LOT"]  # the dock is still taken
    move(client, world, first, "leave_plant")
    assert states(session_factory, [first, second]) == ["LEAVING", "RELEASED"]
    with session_factory() as s:
        assert s.get(Dock, dock).trip_id == second
        assert s.scalar(select(QueueEntry.status).where(QueueEntry.trip_id == first)) == "left"


def test_the_lot_follows_a_trip_event_without_its_mover_calling_the_lot(  # type: ignore[no-untyped-def]
        client, session_factory):
    """Whoever moves a trip (here the state machine alone, as a plant gate's camera
    or a bench would) records the move; the lot's handler frees the dock and calls the
    next truck in the same transaction, and a move rolled back changes nothing."""
    from trips import state_machine as sm

    world = make_world(session_factory)
    (dock,) = set_docks(session_factory, world, busy=True)
    first, second = arrive(session_factory, world, 2)
    assert free(client, world, dock).json["released_trip_id"] == first
    with unit_of_work(session_factory) as uow:
        trip = uow.session.get(Trip, first)
        sm.apply(uow, trip, "enter_plant", ACTOR, sm.Context(now=clock.now()))
        sm.apply(uow, trip, "leave_plant", ACTOR, sm.Context(now=clock.now()))
        uow.rollback()
    assert states(session_factory, [first, second]) == ["RELEASED", "IN_LOT"]
    with unit_of_work(session_factory) as uow:
        trip = uow.session.get(Trip, first)
        sm.apply(uow, trip, "enter_plant", ACTOR, sm.Context(now=clock.now()))
        sm.apply(uow, trip, "leave_plant", ACTOR, sm.Context(now=clock.now()))
        uow.commit()
    assert states(session_factory, [first, second]) == ["LEAVING", "RELEASED"]
    with session_factory() as s:
        assert s.get(Dock, dock).trip_id == second
        assert s.scalar(select(Release.status).where(Release.trip_id == first)) == "used"


def test_the_sql_queue_order_is_the_l06_rule_dispatch_ordering_states(client, session_factory):  # type: ignore[no-untyped-def]
    """Production releases in the database's order (lot.QUEUE_ORDER); the rule itself is
    written once in plain Python (dispatch.ordering). Both order the same queue alike,
    ranks, priorities, windows and arrival ties included."""
    from dispatch import ordering
    from dispatch.lot import QUEUE_ORDER

    world = make_world(session_factory)
    set_docks(session_factory, world, busy=True)
    rng = random.Random(6)
    ids = arrive(session_factory, world, 9, each=lambda i: {
        "priority": rng.choice([0, 0, 5]),
        "start": clock.now() + timedelta(hours=rng.choice([0, 1, 1, 2]))})
    with session_factory() as s:
        entries = list(s.scalars(select(QueueEntry).where(QueueEntry.trip_id.in_(ids))))
        for entry in rng.sample(entries, 3):
            entry.manual_rank = rng.randint(1, 3)
        for entry in rng.sample(entries, 3):
            entry.arrived_at = entries[0].arrived_at  # ties on arrival
        s.commit()
        in_sql = list(s.scalars(select(QueueEntry.trip_id).where(QueueEntry.trip_id.in_(ids))
                                .order_by(*QUEUE_ORDER)))
        rule = [w.trip_id for w in ordering.queue_order([
            ordering.Waiting(e.trip_id, e.priority, e.window_start, e.arrived_at, e.manual_rank)
            for e in s.scalars(select(QueueEntry).where(QueueEntry.trip_id.in_(ids)))])]
    assert in_sql == rule


def test_a_plant_that_proposes_waits_for_the_dispatcher(client, session_factory):  # type: ignore[no-untyped-def]
    world = make_world(session_factory)
    with session_factory() as s:
        s.get(Plant, world.plants["E1"].id).release_mode = "propose"
        s.commit()
    (first,) = arrive(session_factory, world, 1)
    assert states(session_factory, [first]) == ["IN_LOT"]  # dock free, but not released
    r = client.post(f"/api/v1/lot/trips/{first}/release", json={"reason": "装置确认就绪"},
                    headers=auth(world.tokens["dispatcher"]))
    assert r.status_code == 200 and states(session_factory, [first]) == ["RELEASED"]
    (second,) = arrive(session_factory, world, 1)
    r = client.post(f"/api/v1/lot/trips/{second}/release", json={"reason": "x"},
                    headers=auth(world.tokens["dispatcher"]))
    assert r.status_code == 409 and r.json["code"] == "NO_FREE_DOCK"


def test_papers_expired_while_waiting_hold_the_truck_and_the_next_goes(client, session_factory):  # type: ignore[no-untyped-def]
    world = make_world(session_factory)
    (dock,) = set_docks(session_factory, world, busy=True)
    first, second = arrive(session_factory, world, 2, each=lambda i: [
        {"trailer_id": None}, {}][i])
    with session_factory() as s:
        s.get(Vehicle, world.vehicles["tractor"].id).insurance_expires_on = \
            clock.now().date() - timedelta(days=1)
        s.commit()
    r = free(client, world, dock)
    # Both trips use the tractor: both fail L07 and are held; nothing is released.
    assert r.json["released_trip_id"] is None
    with session_factory() as s:
        entries = {e.trip_id: e for e in s.scalars(select(QueueEntry))}
        kinds = s.scalars(select(Alarm.kind)).all()
    assert entries[first].status == entries[second].status == "held"
    assert kinds.count("RELEASE_RECHECK_FAILED") == 2
    # What failed, in words a dispatcher reads out to the carrier, not as codes.
    plate = world.vehicles["tractor"].plate
    assert "INSURANCE_EXPIRED" not in entries[first].note
    assert entries[first].note == f"L07: {plate} 的承运人责任险已于 2026-11-21 到期。"
    board = client.get("/api/v1/lot", headers=auth(world.tokens["dispatcher"])).json
    alarm = next(a for a in board["alarms"] if a["kind"] == "RELEASE_RECHECK_FAILED")
    assert "INSURANCE_EXPIRED" not in alarm["message_zh"] + alarm["message_en"]
    assert f"The carrier liability insurance of {plate} expired" in alarm["message_en"]
    assert f"{plate} 的承运人责任险已于 2026-11-21 到期" in alarm["message_zh"]


def _ban_the_trailer(session_factory, world):  # type: ignore[no-untyped-def]
    from tests.integration.test_gate import ban

    ban(session_factory, world, "trailer", reason="挂车违规")


def _withdraw_the_escorts_papers(session_factory, world):  # type: ignore[no-untyped-def]
    from models import Qualification

    with session_factory() as s:  # the certificate is withdrawn, kept as history
        for qual in s.scalars(select(Qualification).where(
                Qualification.person_id == world.persons["escort"].id)):
            qual.retired_at = clock.now()
        s.commit()


@pytest.mark.parametrize(("change", "says"), [
    (_ban_the_trailer, "苏E1234挂 已列入黑名单：挂车违规"),
    (_withdraw_the_escorts_papers, "李押运 没有第 3 类的有效押运资格"),
], ids=["a ban on the trailer", "the escort's papers withdrawn"])
def test_what_changes_while_the_truck_waits_holds_it_at_release(  # type: ignore[no-untyped-def]
        client, session_factory, change, says):
    world = make_world(session_factory)
    (dock,) = set_docks(session_factory, world, busy=True)
    (first,) = arrive(session_factory, world, 1)
    change(session_factory, world)
    assert free(client, world, dock).json["released_trip_id"] is None
    with session_factory() as s:
        entry = s.scalar(select(QueueEntry).where(QueueEntry.trip_id == first))
    assert entry.status == "held" and says in entry.note


def test_a_missed_deadline_alarms_and_the_dispatcher_requeues(client, session_factory):  # type: ignore[no-untyped-def]
    world = make_world(session_factory)
    (trip,) = arrive(session_factory, world, 1)
    assert states(session_factory, [trip]) == ["RELEASED"]
    clock.advance(timedelta(minutes=31))
    with unit_of_work(session_factory) as uow:
        counts = service.watch(uow, clock.now())
    assert counts["overdue"] == 1
    assert states(session_factory, [trip]) == ["OVERDUE"]
    board = client.get("/api/v1/lot", headers=auth(world.tokens["dispatcher"])).json
    assert [a["kind"] for a in board["alarms"]] == ["RELEASE_DEADLINE_MISSED"]
    # In the reader's language, the deadline on the park's clock (Beijing time).
    with session_factory() as s:
        code = s.get(Trip, trip).code
        deadline = s.scalar(select(Release.deadline).where(Release.trip_id == trip))
    local = deadline.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%H:%M")
    (alarm,) = board["alarms"]
    assert alarm["message"] == alarm["message_zh"] == f"{code} 未在 {local} 前到达工厂。"
    assert alarm["message_en"] == f"{code} did not reach its plant by {local}."
    english = client.get("/api/v1/lot?lang=en", headers=auth(world.tokens["dispatcher"])).json
    assert english["alarms"][0]["message"] == alarm["message_en"]
    with unit_of_work(session_factory) as uow:  # the watch does not alarm twice
        assert service.watch(uow, clock.now())["overdue"] == 0
    r = client.post(f"/api/v1/lot/trips/{trip}/requeue", json={"reason": "司机未接电话"},
                    headers=auth(world.tokens["dispatcher"]))
    assert r.status_code == 200
    # Its dock freed and nobody else waits: it is called again at once.
    assert states(session_factory, [trip]) == ["RELEASED"]
    with session_factory() as s:
        statuses = sorted(s.scalars(select(Release.status).where(Release.trip_id == trip)))
    assert statuses == ["active", "cancelled"]


def test_a_long_wait_in_the_lot_and_a_long_stay_in_the_plant_each_alarm_once(  # type: ignore[no-untyped-def]
        client, session_factory):
    world = make_world(session_factory)
    (dock,) = set_docks(session_factory, world, busy=True)
    inside, waiting = arrive(session_factory, world, 2)
    with session_factory() as s:
        s.get(Plant, world.plants["E1"].id).max_dwell_min = 30
        s.execute(update(Lot).values(max_wait_min=60))
        s.commit()
    free(client, world, dock)
    move(client, world, inside, "enter_plant")
    with unit_of_work(session_factory) as uow:  # nothing is late yet
        assert service.watch(uow, clock.now()) == {"overdue": 0, "lot_wait": 0,
                                                   "plant_dwell": 0, "park_dwell": 0}
    clock.advance(timedelta(minutes=61))
    with unit_of_work(session_factory) as uow:
        assert service.watch(uow, clock.now()) == {"overdue": 0, "lot_wait": 1,
                                                   "plant_dwell": 1, "park_dwell": 0}
    with unit_of_work(session_factory) as uow:  # still late, but already told
        assert service.watch(uow, clock.now())["lot_wait"] == 0
    board = client.get("/api/v1/lot", headers=auth(world.tokens["dispatcher"])).json
    assert sorted((a["kind"], a["trip_id"]) for a in board["alarms"]) == [
        ("LOT_WAIT_EXCEEDED", waiting), ("PLANT_DWELL_EXCEEDED", inside)]
    # The dispatcher's page words them in Chinese, and in English for an English reader.
    login(client, "dispatcher")
    page = client.get("/lot").get_data(as_text=True)
    assert "已在停车场等待 62 分钟。" in page and "停留 61 分钟。" in page  # arrived a minute apart
    english = client.get("/lot?lang=en").get_data(as_text=True)
    assert "Waiting in the lot for 62 min." in english and "for 61 min." in english
    # The auditor reads the same alarms in the log in their language too.
    login(client, "auditor")
    log = client.get("/audit?action=alarm.raise&lang=zh_Hans_CN").get_data(as_text=True)
    assert "已在停车场等待 62 分钟。" in log and "Waiting in the lot" not in log
    with session_factory() as s:
        audited = s.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "alarm.raise"))
    assert audited == 2


def test_the_days_figures_per_plant_come_from_the_api(client, session_factory):  # type: ignore[no-untyped-def]
    world = make_world(session_factory)
    (dock,) = set_docks(session_factory, world, busy=True)
    first, _ = arrive(session_factory, world, 2)  # checked in a minute apart
    free(client, world, dock)  # first waited 2 min, second still waits
    clock.advance(timedelta(minutes=10))
    move(client, world, first, "enter_plant")
    headers = auth(world.tokens["dispatcher"])
    r = client.get("/api/v1/lot/kpis", headers=headers)
    assert r.status_code == 200
    (plant,) = r.json["plants"]
    assert plant["name"] == world.plants["E1"].name
    assert (plant["trips"], plant["mean_wait_min"], plant["mean_release_to_arrival_min"],
            plant["no_shows"]) == (2, 2.0, 10.0, 0)
    assert 0 < plant["dock_utilisation"] <= 1
    r = client.get("/api/v1/lot/kpis?day=tomorrow", headers=headers)
    assert r.status_code in (400, 422) and r.json["code"]
    other_day = (clock.now() + timedelta(days=3)).date().isoformat()
    assert client.get(f"/api/v1/lot/kpis?day={other_day}", headers=headers
                      ).json["plants"] == []


def test_hold_reorder_and_send_away_need_reasons_and_are_audited(client, session_factory):  # type: ignore[no-untyped-def]
    world = make_world(session_factory)
    (dock,) = set_docks(session_factory, world, busy=True)
    a, b, c = arrive(session_factory, world, 3)
    d = auth(world.tokens["dispatcher"])
    assert client.post(f"/api/v1/lot/trips/{a}/hold", json={"reason": ""},
                       headers=d).status_code == 422
    assert client.post(f"/api/v1/lot/trips/{a}/hold", json={"reason": "罐体渗漏检查"},
                       headers=d).json["status"] == "held"
    r = client.post(f"/api/v1/lot/trips/{c}/reorder", json={"reason": "急需", "position": 1},
                    headers=d)
    assert r.json["order"] == [c, a, b]
    r = client.post(f"/api/v1/lot/trips/{b}/send-away", json={"reason": "运单不符"}, headers=d)
    assert r.json["state"] == "SENT_AWAY"
    assert free(client, world, dock).json["released_trip_id"] == c  # a is held
    r = client.post(f"/api/v1/lot/trips/{a}/hold", json={"reason": "x"},
                    headers=auth(world.tokens["gate_operator"]))
    assert r.status_code == 403
    with session_factory() as s:
        actions = set(s.scalars(select(AuditEvent.action).where(
            AuditEvent.action.like("lot.%"))))
        bays = s.scalar(select(func.count()).select_from(QueueEntry).where(
            QueueEntry.trip_id == b, QueueEntry.status == "sent_away"))
    assert actions == {"lot.hold", "lot.reorder"} and bays == 1


def test_no_compatible_bay_keeps_the_truck_at_the_entrance(client, session_factory):  # type: ignore[no-untyped-def]
    world = make_world(session_factory)
    set_docks(session_factory, world, busy=True)
    arrive(session_factory, world, 3)  # zone A (3 bays) is full of petrol
    # Another petrol truck: zone B does not accept class 3.
    trip = book(session_factory, world, state="ARRIVED")
    r = client.post("/api/v1/lot/check-ins", json={"trip_id": trip.id},
                    headers=auth(world.tokens["dispatcher"]))
    assert r.status_code == 202 and r.json["status"] == "entrance"
    assert states(session_factory, [trip.id]) == ["ARRIVED"]
    with session_factory() as s:
        assert s.scalar(select(Alarm.kind).where(Alarm.trip_id == trip.id)) == "LOT_NO_BAY"
    # At the lot gate the truck is held, with the reason.
    r = client.post("/api/v1/lanes/L1-IN/reads", headers=auth(world.tokens["gate_operator"]),
                    json={"read_id": "lot-1", "plate": "苏E12345", "plate_colour": "yellow",
                          "confidence": 0.97, "seen_at": clock.now().isoformat(),
                          "trailer_plate": "苏E1234挂", "crew_ids": []})
    assert r.json["action"] == "HOLD_FOR_OPERATOR"


LPG = [CargoIn(un_number="UN1075", name_zh="液化石油气", hazard_class="2.1", quantity=10000)]


def at_entrance(session_factory, world, **kw):  # type: ignore[no-untyped-def]
    trip = book(session_factory, world, state="ARRIVED", **kw)
    with unit_of_work(session_factory) as uow:
        result = service.check_in(uow, uow.session.get(Trip, trip.id), ACTOR, clock.now())
        uow.commit()
    assert result.placement is None
    clock.advance(timedelta(minutes=1))
    return trip.id


def kept_bays(session_factory, ids):  # type: ignore[no-untyped-def]
    with session_factory() as s:
        return [s.scalar(select(QueueEntry.bay_id).where(QueueEntry.trip_id == i)) for i in ids]


def test_a_freed_bay_goes_to_the_first_truck_at_the_entrance_it_suits(client, session_factory,  # type: ignore[no-untyped-def]
                                                                     monkeypatch):
    from dispatch import release

    monkeypatch.setattr(release, "_WAITER_PAGE", 1)  # the waiters come a page at a time
    world = make_world(session_factory)
    (dock,) = set_docks(session_factory, world, busy=True)
    first, _, _ = arrive(session_factory, world, 3)  # zone A: three petrol, full
    arrive(session_factory, world, 2, each=lambda i: {"cargo": LPG})  # zone B: full of LPG
    gas = at_entrance(session_factory, world, cargo=LPG)  # waits for zone B
    petrol_1 = at_entrance(session_factory, world)
    petrol_2 = at_entrance(session_factory, world)
    assert free(client, world, dock).json["released_trip_id"] == first  # a bay in A frees
    # The LPG truck came first but cannot stand in A; the first petrol truck can.
    assert kept_bays(session_factory, [gas, petrol_1, petrol_2])[0] is None
    assert kept_bays(session_factory, [petrol_1])[0] is not None
    assert kept_bays(session_factory, [petrol_2])[0] is None


def test_sending_a_truck_away_gives_its_bay_to_the_entrance(client, session_factory):  # type: ignore[no-untyped-def]
    world = make_world(session_factory)
    set_docks(session_factory, world, busy=True)
    a, _, _ = arrive(session_factory, world, 3)
    waiting = at_entrance(session_factory, world)
    r = client.post(f"/api/v1/lot/trips/{a}/send-away", json={"reason": "运单不符"},
                    headers=auth(world.tokens["dispatcher"]))
    assert r.status_code == 200
    (kept,) = kept_bays(session_factory, [waiting])
    with session_factory() as s:
        from models import Bay
        assert s.get(Bay, kept).trip_id == waiting


def test_a_release_stands_when_admission_fails_and_the_watch_admits(client, session_factory,  # type: ignore[no-untyped-def]
                                                                     monkeypatch, caplog):
    from sqlalchemy.exc import OperationalError

    world = make_world(session_factory)
    (dock,) = set_docks(session_factory, world, busy=True)
    first, _, _ = arrive(session_factory, world, 3)
    waiting = at_entrance(session_factory, world)
    from dispatch import release

    real = release.admit_from_entrance

    def cut_off(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise OperationalError("SELECT …", {}, Exception("server closed the connection"))

    monkeypatch.setattr(release, "admit_from_entrance", cut_off)
    r = free(client, world, dock)
    # The driver was called: the release does not depend on the admission after it.
    assert r.status_code == 200 and r.json["released_trip_id"] == first
    assert states(session_factory, [first]) == ["RELEASED"]
    assert kept_bays(session_factory, [waiting]) == [None]
    assert "admission from the entrance" in caplog.text
    monkeypatch.setattr(release, "admit_from_entrance", real)
    with unit_of_work(session_factory) as uow:
        service.watch(uow, clock.now())
    (kept,) = kept_bays(session_factory, [waiting])
    assert kept is not None


@pytest.mark.parametrize("database", [PG_PARAM], indirect=True)
def test_parallel_dock_and_dispatcher_events_release_each_trip_once(session_factory, database):  # type: ignore[no-untyped-def]
    world = make_world(session_factory)
    docks = set_docks(session_factory, world, busy=True, count=3)
    with session_factory() as s:  # room for a long queue
        zone = world.zones["A"]
        from models import Bay
        for i in range(4, 40):
            s.add(Bay(zone_id=zone.id, code=f"A{i}"))
        s.commit()
    trips = arrive(session_factory, world, 24)
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        barrier.wait()
        for _ in range(15):
            try:
                with unit_of_work(session_factory) as uow:
                    roll = rng.random()
                    if roll < 0.35:  # the plant says a dock is free
                        service.set_dock(uow, ACTOR, rng.choice(docks), busy=False,
                                         now=clock.now())
                    elif roll < 0.7:  # a dispatcher clicks "release now"
                        service.release_now(uow, ACTOR, rng.choice(trips), "并发测试")
                    else:  # a released truck unloads and leaves its plant
                        trip = uow.session.scalar(select(Trip).where(
                            Trip.state == "RELEASED").limit(1))
                        if trip is not None:
                            for action, state in (("enter_plant", "AT_PLANT"),
                                                  ("leave_plant", "LEAVING")):
                                before, trip.state = trip.state, state
                                record(trip, TripMoved(trip, action, before, state, ACTOR,
                                                       clock.now()))
                    uow.commit()
            except service.LotError:
                pass  # no free dock / not waiting any more: the right answer
            except Exception as exc:  # noqa: BLE001
                errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    with session_factory() as s:
        per_trip = dict(s.execute(select(Release.trip_id, func.count()).group_by(
            Release.trip_id)).all())
        active = s.scalar(select(func.count()).select_from(Release).where(
            Release.status == "active"))
        holding = s.scalars(select(Dock.trip_id).where(Dock.trip_id.is_not(None))).all()
        released = s.scalar(select(func.count()).select_from(Trip).where(
            Trip.state == "RELEASED"))
    assert len(per_trip) > 3 and max(per_trip.values()) == 1  # never twice
    assert active <= 3 and len(holding) == len(set(holding)) <= 3  # never over capacity
    assert released == active == len(holding)


@pytest.mark.parametrize("database", [PG_PARAM], indirect=True)
def test_a_truck_leaving_its_plant_waits_for_the_lot_before_taking_its_dock(  # type: ignore[no-untyped-def]
        session_factory, database):
    """Lot first, then dock, as every change to the lot takes them: a leaving truck that
    waits for the lot must not sit on its dock meanwhile, or two changes deadlock."""
    from sqlalchemy import text

    from models import Lot

    world = make_world(session_factory)
    (dock,) = set_docks(session_factory, world, busy=True)
    (trip_id,) = arrive(session_factory, world, 1)
    with session_factory() as s:
        s.get(Dock, dock).trip_id = trip_id
        s.get(Trip, trip_id).state = "LEAVING"
        s.commit()
    dispatcher = session_factory()
    dispatcher.execute(select(Lot.id).with_for_update())  # a change to the lot under way
    leaving: list[object] = []

    def leave() -> None:
        with unit_of_work(session_factory) as uow:
            uow.session.execute(text("SET application_name = 'leaving-truck'"))
            service.trip_left_plant(uow, uow.session.get(Trip, trip_id), ACTOR, clock.now())
            uow.commit()
            leaving.append("done")

    thread = threading.Thread(target=leave)
    thread.start()
    try:
        with session_factory() as watcher:
            while not watcher.scalar(text(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                    "'leaving-truck' AND wait_event_type = 'Lock'")):
                watcher.rollback()  # a fresh snapshot of the activity view
        # The dispatcher's change goes on to the dock: it is not held by the waiting truck.
        dispatcher.execute(text("SET LOCAL lock_timeout = '5s'"))
        assert dispatcher.scalar(select(Dock.id).where(Dock.id == dock).with_for_update(
            nowait=True)) == dock
    finally:
        dispatcher.rollback()
        dispatcher.close()
        thread.join()
    assert leaving == ["done"]
    with session_factory() as s:
        assert s.get(Dock, dock).trip_id is None


@pytest.mark.parametrize("who, channels", [("auditor", "lot"), ("dispatcher", "lot,alarms"),
                                           ("gate_operator", "lot,alarms")])
def test_the_lot_page_listens_only_to_what_its_reader_may_hear(client, session_factory, who,  # type: ignore[no-untyped-def]
                                                               channels):
    import re
    from urllib.parse import unquote

    make_world(session_factory)
    login(client, who)
    page = client.get("/lot").get_data(as_text=True)
    connect = unquote(re.search(r'sse-connect="([^"]+)"', page).group(1)).replace("&amp;", "&")
    assert connect.endswith(f"channels={channels}")
    # A stream refused would keep the page's "live updates interrupted" banner up for good.
    with client.get(connect, buffered=False) as stream:
        assert stream.status_code == 200
