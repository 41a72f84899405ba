"""Call-forward release (L06) through the lot's services and API under a pinned clock:
a truck is released so that it reaches its dock as the dock is expected to free, in
L06 order; a dock that runs late delays the next call instead of piling trucks at
its plant gate; what the plant gates and docks report is learned; plants that confirm
releases get the proposal at the call time; and a release costs the same number of
statements whatever the backlog."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from sqlalchemy import event, select

from dispatch import learning, service
from dispatch.forecast import DRIVE_KEY, Estimate, unload_keys
from kernel import clock
from kernel.uow import Actor, unit_of_work
from models import (
    AuditEvent,
    Bay,
    DispatchEstimate,
    Dock,
    Lot,
    Plant,
    QueueEntry,
    Release,
    Trip,
    Unloading,
)
from tests.factories import auth, make_world
from tests.integration.test_lot import arrive, move, set_docks, states

ACTOR = Actor.system("tests")
# The park's defaults until a plant has history (rules.policy): 45 min to unload,
# 10 min to drive; the plant's margin: arrive 1 min after the dock should free.
UNLOAD, DRIVE, MARGIN = 45, 10, 1


def call_forward_plant(session_factory: Any, world: Any, *, docks: int = 1,
                       mode: str = "auto") -> list[int]:
    """E1's plant on call-forward, with `docks` docks, and room in the lot for 40 more."""
    with session_factory() as s:
        s.add_all([Bay(zone_id=world.zones["A"].id, code=f"X{i}") for i in range(40)])
        plant = s.get(Plant, world.plants["E1"].id)
        plant.release_timing, plant.call_margin_min, plant.release_mode = \
            "call_forward", MARGIN, mode
        s.commit()
    return set_docks(session_factory, world, busy=True, count=docks)


def tick(session_factory: Any) -> int:
    """The scheduler's call-forward job at the pinned time."""
    with unit_of_work(session_factory) as uow:
        return service.call_forward(uow, clock.now())


def dock_row(session_factory: Any, dock_id: int) -> Dock:
    with session_factory() as s:
        dock = s.get(Dock, dock_id)
        s.expunge(dock)
        return dock


def unloading_of(session_factory: Any, trip_id: int) -> Unloading:
    with session_factory() as s:
        record = s.scalar(select(Unloading).where(Unloading.trip_id == trip_id))
        s.expunge(record)
        return record


def free(client: Any, world: Any, dock_id: int) -> Any:
    return client.post(f"/api/v1/docks/{dock_id}/free", headers=auth(world.tokens["receiver"]))


def test_the_next_truck_is_called_to_arrive_as_the_dock_frees_in_l06_order(  # type: ignore[no-untyped-def]
        client, session_factory):
    world = make_world(session_factory)
    (dock,) = call_forward_plant(session_factory, world)
    first, second, urgent = arrive(session_factory, world, 3, each=lambda i: [
        {}, {}, {"priority": 5}][i])
    assert free(client, world, dock).json["released_trip_id"] == urgent  # L06: priority
    clock.advance(timedelta(minutes=DRIVE))
    move(client, world, urgent, "enter_plant")  # the plant gate reads it: it unloads
    started = clock.now()
    row = dock_row(session_factory, dock)
    assert row.expected_free_at == started + timedelta(minutes=UNLOAD)
    call_at = started + timedelta(minutes=UNLOAD - DRIVE + MARGIN)
    assert row.call_at == call_at

    clock.pin(call_at - timedelta(minutes=1))
    assert tick(session_factory) == 0 and states(session_factory, [first]) == ["IN_LOT"]
    clock.pin(call_at)
    assert tick(session_factory) == 1
    assert states(session_factory, [first, second]) == ["RELEASED", "IN_LOT"]  # then arrival
    with session_factory() as s:
        release = s.scalar(select(Release).where(Release.trip_id == first))
        assert release.dock_id == dock and release.deadline == call_at + timedelta(minutes=30)
        payload = s.scalar(select(AuditEvent.payload).where(
            AuditEvent.trip_id == first, AuditEvent.action == "trip.release"))
        assert json.loads(payload)["called_forward"] is True
    row = dock_row(session_factory, dock)
    assert (row.trip_id, row.next_trip_id, row.call_at) == (urgent, first, None)
    board = client.get("/api/v1/lot", headers=auth(world.tokens["dispatcher"])).json
    card = next(p for p in board["plants"] if p["id"] == world.plants["E1"].id)
    assert card["release_timing"] == "call_forward"
    assert card["docks"][0]["next_trip_id"] == first and card["docks"][0]["trip_state"] == \
        "AT_PLANT"

    # One truck called per dock: the next tick calls nobody else.
    clock.advance(timedelta(minutes=1))
    assert tick(session_factory) == 0 and states(session_factory, [second]) == ["IN_LOT"]
    # It arrives as planned, 1 min after the dock should free; the dock is done 1 min
    # later than that, so it waits 1 min at the plant gate and then takes the dock.
    clock.pin(call_at + timedelta(minutes=DRIVE))
    move(client, world, first, "enter_plant")
    assert unloading_of(session_factory, first).started_at is None
    board = client.get("/api/v1/lot", headers=auth(world.tokens["dispatcher"])).json
    card = next(p for p in board["plants"] if p["id"] == world.plants["E1"].id)
    assert card["docks"][0]["next_state"] == "AT_PLANT"
    clock.advance(timedelta(minutes=1))
    move(client, world, urgent, "leave_plant")
    record = unloading_of(session_factory, first)
    assert record.started_at == clock.now()
    assert record.started_at - record.arrived_at == timedelta(minutes=1)  # its plant-gate wait
    row = dock_row(session_factory, dock)
    assert (row.trip_id, row.next_trip_id) == (first, None)
    assert row.call_at == clock.now() + timedelta(minutes=UNLOAD - DRIVE + MARGIN)


def first_of_three_unloading(client: Any, session_factory: Any) -> tuple[Any, int, list[int]]:
    """A call-forward plant with one dock, three trucks in its line, the first released
    and unloading since now: (world, dock, trips)."""
    world = make_world(session_factory)
    (dock,) = call_forward_plant(session_factory, world)
    trips = arrive(session_factory, world, 3)
    assert free(client, world, dock).json["released_trip_id"] == trips[0]
    move(client, world, trips[0], "enter_plant")
    return world, dock, trips


def test_a_dock_that_runs_late_delays_the_next_call_and_piles_nobody_up(  # type: ignore[no-untyped-def]
        client, session_factory):
    world, _dock, (first, second, third) = first_of_three_unloading(client, session_factory)
    planned = clock.now() + timedelta(minutes=UNLOAD - DRIVE + MARGIN)
    clock.pin(planned)
    assert tick(session_factory) == 1  # second is called forward
    clock.advance(timedelta(minutes=DRIVE))
    move(client, world, second, "enter_plant")  # and waits: first runs late
    # Had first finished on time, third would be called at planned + UNLOAD; first is
    # still unloading an hour later, and every tick meanwhile calls nobody.
    for minutes in (UNLOAD, UNLOAD + 20, UNLOAD + 60):
        clock.pin(planned + timedelta(minutes=minutes))
        assert tick(session_factory) == 0
        assert states(session_factory, [second, third]) == ["AT_PLANT", "IN_LOT"]
    with session_factory() as s:  # one truck at most waits at the plant gate
        waiting = s.scalars(select(Unloading.trip_id).where(
            Unloading.arrived_at.is_not(None), Unloading.started_at.is_(None))).all()
        assert waiting == [second]
    move(client, world, first, "leave_plant")
    done = clock.now()
    # The call for third follows from second's real start, not from the old plan.
    clock.pin(done + timedelta(minutes=UNLOAD - DRIVE + MARGIN - 1))
    assert tick(session_factory) == 0 and states(session_factory, [third]) == ["IN_LOT"]
    clock.advance(timedelta(minutes=1))
    assert tick(session_factory) == 1 and states(session_factory, [third]) == ["RELEASED"]


def test_the_park_learns_unloading_and_drive_times_and_calls_from_them(  # type: ignore[no-untyped-def]
        app, client, session_factory):
    world = make_world(session_factory)
    (dock,) = call_forward_plant(session_factory, world)
    trips = arrive(session_factory, world, 5)
    assert free(client, world, dock).json["released_trip_id"] == trips[0]
    # Three trucks: 6 min from the lot, 20 min to unload (the defaults say 10 and 45).
    for i in range(3):
        clock.advance(timedelta(minutes=6))
        move(client, world, trips[i], "enter_plant")
        clock.advance(timedelta(minutes=20))
        move(client, world, trips[i], "leave_plant")  # frees the dock: the next is released
        assert states(session_factory, [trips[i + 1]]) == ["RELEASED"]
    with session_factory() as s:
        learned = learning.estimates_of(s, world.plants["E1"].id)
    assert learned[DRIVE_KEY] == Estimate(3, 6.0)
    for key in unload_keys("3", 20000.0):  # petrol, 20 t: its cell, its class, the plant
        assert learned[key] == Estimate(3, 20.0)
    clock.advance(timedelta(minutes=6))
    move(client, world, trips[3], "enter_plant")
    assert unloading_of(session_factory, trips[3]).predicted_min == 20.0
    assert dock_row(session_factory, dock).call_at == clock.now() + timedelta(
        minutes=20 - 6 + MARGIN)
    with session_factory() as s:  # its drive is learned on arrival
        assert s.scalar(select(DispatchEstimate.samples).where(
            DispatchEstimate.kind == "drive")) == 4
    # Rebuilt from the records of the unloadings done, it is what was learned live.
    with unit_of_work(session_factory) as uow:
        assert learning.relearn(uow.session) == 3
        uow.commit()
    with session_factory() as s:
        assert learning.estimates_of(s, world.plants["E1"].id) == learned
    from parkgate.cli import main
    result = app.test_cli_runner().invoke(main, ["lot", "relearn", "--plant",
                                                 world.plants["E1"].code])
    assert result.exit_code == 0 and "learned from 3 unloadings" in result.output
    assert "unloading 20.0 min (3), drive 6.0 min (3)" in result.output
    bad = app.test_cli_runner().invoke(main, ["lot", "relearn", "--plant", "NOPE"])
    assert bad.exit_code != 0 and "no such plant: NOPE" in bad.output


def test_a_plant_that_confirms_releases_gets_the_proposal_at_the_call_time(  # type: ignore[no-untyped-def]
        client, session_factory, bus):
    world = make_world(session_factory)
    (dock,) = call_forward_plant(session_factory, world, mode="propose")
    first, second = arrive(session_factory, world, 2)
    assert free(client, world, dock).json["released_trip_id"] is None  # proposed only
    r = client.post(f"/api/v1/lot/trips/{first}/release", json={"reason": "装置确认就绪"},
                    headers=auth(world.tokens["dispatcher"]))
    assert r.status_code == 200  # the dispatcher confirmed the first
    move(client, world, first, "enter_plant")
    call_at = dock_row(session_factory, dock).call_at
    lot = bus.subscribe(["lot"])

    def proposed() -> bool:
        events = []
        while (e := lot.get(timeout=0)) is not None:
            events.append(e.type)
        return "release_proposed" in events

    clock.pin(call_at - timedelta(minutes=1))
    with unit_of_work(session_factory, bus) as uow:
        service.call_forward(uow, clock.now())
    assert not proposed()
    clock.pin(call_at)
    with unit_of_work(session_factory, bus) as uow:
        assert service.call_forward(uow, clock.now()) == 0
    assert proposed() and states(session_factory, [second]) == ["IN_LOT"]
    r = client.post(f"/api/v1/lot/trips/{second}/release", json={"reason": "确认"},
                    headers=auth(world.tokens["dispatcher"]))
    assert r.status_code == 200
    assert dock_row(session_factory, dock).next_trip_id == second


def test_receivers_report_unloading_start_and_end(client, session_factory):  # type: ignore[no-untyped-def]
    world = make_world(session_factory)
    (dock,) = call_forward_plant(session_factory, world)
    first, second = arrive(session_factory, world, 2)
    headers = auth(world.tokens["receiver"])
    r = client.post(f"/api/v1/docks/{dock}/unloading", json={"event": "end"}, headers=headers)
    assert r.status_code == 409 and r.json["code"] == "DOCK_NO_TRUCK"  # nobody there
    assert free(client, world, dock).json["released_trip_id"] == first
    move(client, world, first, "enter_plant")
    clock.advance(timedelta(minutes=5))  # the hoses are on only now
    r = client.post(f"/api/v1/docks/{dock}/unloading", json={"event": "start"}, headers=headers)
    assert r.status_code == 200
    assert unloading_of(session_factory, first).started_at == clock.now()
    clock.advance(timedelta(minutes=30))
    r = client.post(f"/api/v1/docks/{dock}/unloading", json={"event": "end"}, headers=headers)
    # Done: the dock is free before the truck has left the plant, and the next is called.
    assert r.status_code == 200 and r.json["released_trip_id"] == second
    record = unloading_of(session_factory, first)
    assert record.ended_at == clock.now() and record.started_at == clock.now() - timedelta(
        minutes=30)
    move(client, world, first, "leave_plant")  # leaving later changes nothing at the dock
    assert dock_row(session_factory, dock).trip_id == second
    with session_factory() as s:
        actions = s.scalars(select(AuditEvent.action).where(
            AuditEvent.subject_kind == "dock").order_by(AuditEvent.seq)).all()
    assert "dock.unloading_started" in actions and "dock.unloading_ended" in actions
    for body, code in (({"event": "paused"}, 422), ({}, 422)):
        assert client.post(f"/api/v1/docks/{dock}/unloading", json=body,
                           headers=headers).status_code == code
    assert client.post("/api/v1/docks/99999/unloading", json={"event": "end"},
                       headers=headers).status_code == 404


def lot_capacity(session_factory: Any, capacity: int | None) -> None:
    with session_factory() as s:
        s.scalar(select(Lot)).capacity = capacity
        s.commit()


def bay_kept_for(session_factory: Any, trip_id: int) -> bool:
    """A truck at the entrance has been given a bay (it is called to drive in)."""
    with session_factory() as s:
        return s.scalar(select(QueueEntry.bay_id).where(QueueEntry.trip_id == trip_id)) \
            is not None


def statements_of_a_release(session_factory: Any, database: Any, trips: list[int]) -> int:
    """Statements run by one release decision: trips[0] (at its dock) leaves its plant,
    the dock frees, trips[1] is released, and the bay it leaves goes to the first truck
    at the lot's entrance (its own transaction, after)."""
    from dispatch.lot import STRUCTURE
    from trips import state_machine as sm

    # What the lot caches for a minute is read again in every measurement: on a slow
    # run the minute could end between two of them.
    STRUCTURE.clear()
    statements: list[str] = []

    def counted(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(database.engine, "before_cursor_execute", counted)
    try:
        with unit_of_work(session_factory) as uow:
            trip = uow.session.get(Trip, trips[0])
            sm.apply(uow, trip, "leave_plant", ACTOR, sm.Context(now=clock.now()))
            uow.commit()
    finally:
        event.remove(database.engine, "before_cursor_execute", counted)
    assert states(session_factory, trips[:2]) == ["LEAVING", "RELEASED"]
    return len(statements)


def test_a_release_costs_the_same_statements_whatever_the_backlog(  # type: ignore[no-untyped-def]
        client, session_factory, database):
    world = make_world(session_factory)
    (dock,) = call_forward_plant(session_factory, world)
    lot_capacity(session_factory, 3)
    short = arrive(session_factory, world, 7)  # 3 in the lot, 4 at the entrance
    assert free(client, world, dock).json["released_trip_id"] == short[0]
    move(client, world, short[0], "enter_plant")
    move(client, world, short[0], "leave_plant")  # the first: what it learns is new rows
    move(client, world, short[1], "enter_plant")
    small = statements_of_a_release(session_factory, database, short[1:3])
    assert bay_kept_for(session_factory, short[5])  # the bay short[2] left

    lot_capacity(session_factory, None)
    # A queue of 30 in the lot, first in L06 order (a priority), so the release below
    # is of a truck in the lot, as the one measured above was.
    longer = arrive(session_factory, world, 30, each=lambda i: {"priority": 1})
    lot_capacity(session_factory, 33)
    entrance = arrive(session_factory, world, 30)  # and 31 at the entrance
    assert set(states(session_factory, entrance)) == {"ARRIVED"}
    move(client, world, short[2], "enter_plant")
    large = statements_of_a_release(session_factory, database, [short[2], longer[0]])
    assert bay_kept_for(session_factory, short[6])
    assert large == small


def test_a_truck_at_a_full_lots_entrance_goes_straight_on_when_its_turn_comes(  # type: ignore[no-untyped-def]
        client, session_factory):
    """L06 across the lot's gate: a truck waiting at the entrance for a bay is in its
    plant's line; when it is first and its plant can take it, it is released from
    there instead of waiting outside a full lot while the plant's dock stands idle."""
    from models import Alarm

    world = make_world(session_factory)
    lot_capacity(session_factory, 0)  # full: every truck waits at the entrance
    first, second = arrive(session_factory, world, 2)
    assert states(session_factory, [first, second]) == ["RELEASED", "ARRIVED"]
    with session_factory() as s:
        alarms = {a.trip_id: a.resolved_at is not None for a in s.scalars(
            select(Alarm).where(Alarm.kind == "LOT_NO_BAY"))}
        assert alarms == {first: True, second: False}
        release = s.scalar(select(Release).where(Release.trip_id == first))
        assert release.status == "active"
    move(client, world, first, "enter_plant")
    move(client, world, first, "leave_plant")  # the dock frees: the next in line goes
    assert states(session_factory, [second]) == ["RELEASED"]


def test_the_scheduler_job_calls_every_due_plant_each_in_its_own_transaction(  # type: ignore[no-untyped-def]
        client, session_factory):
    from dispatch.jobs import jobs

    world = make_world(session_factory)
    docks = {}
    for code in ("E1", "E2"):
        with session_factory() as s:
            plant = s.get(Plant, world.plants[code].id)
            plant.release_timing, plant.call_margin_min = "call_forward", MARGIN
            dock = s.scalar(select(Dock).where(Dock.plant_id == plant.id))
            dock.busy = True
            s.add_all([Bay(zone_id=world.zones["A"].id, code=f"{code}X{i}") for i in range(4)])
            s.commit()
            docks[code] = dock.id
    ours = arrive(session_factory, world, 2)
    theirs = arrive(session_factory, world, 2, each=lambda i: {"enterprise": "E2"})
    for code, (first, _) in (("E1", ours), ("E2", theirs)):
        r = client.post(f"/api/v1/docks/{docks[code]}/free",
                        headers=auth(world.tokens["dispatcher"]))
        assert r.json["released_trip_id"] == first
        r = client.post(f"/api/v1/trips/{first}/transitions", json={"action": "enter_plant"},
                        headers=auth(world.tokens["gate_operator"]))
        assert r.status_code == 200
    (job,) = [j for j in jobs(lambda: unit_of_work(session_factory)) if j.name ==
              "lot.call_forward"]
    assert job.run() == 0  # not due yet
    clock.advance(timedelta(minutes=UNLOAD - DRIVE + MARGIN))
    assert job.run() == 2
    assert states(session_factory, [ours[1], theirs[1]]) == ["RELEASED", "RELEASED"]


def test_a_truck_called_forward_and_sent_back_frees_the_docks_next_call(  # type: ignore[no-untyped-def]
        client, session_factory):
    world, dock, (_first, second, third) = first_of_three_unloading(client, session_factory)
    clock.pin(dock_row(session_factory, dock).call_at)
    assert tick(session_factory) == 1  # second is called forward...
    clock.advance(timedelta(minutes=40))  # ...and misses its deadline
    r = client.post(f"/api/v1/lot/trips/{second}/requeue", json={"reason": "司机未到"},
                    headers=auth(world.tokens["dispatcher"]))
    assert r.status_code == 200
    row = dock_row(session_factory, dock)
    assert row.next_trip_id is None and row.call_at == row.expected_free_at
    # The next in line is called at once (the dock is due), not when first leaves.
    assert tick(session_factory) == 1
    assert dock_row(session_factory, dock).next_trip_id in (second, third)
