"""Releases (L06–L08): a free dock calls its plant's next truck, re-checked at release
(L07), with a deadline; the bay it leaves goes to a truck at the entrance, in a
transaction of its own right after; docks free and busy; what a trip's move to and
from its plant means for the lot."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, func, or_, select, tuple_, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, aliased, contains_eager, joinedload

from gateway.messages import reason_message, reason_text
from kernel.errors import N_, NotFound
from kernel.uow import Actor, UnitOfWork
from models import (
    Bay,
    BlacklistEntry,
    CargoLine,
    Dock,
    Gate,
    Lane,
    Lot,
    Plant,
    QueueEntry,
    Release,
    Trip,
    Vehicle,
)
from parkgate.templated import MSGID
from registry.read_model import (
    ban_id,
    ban_views,
    park_names,
    park_policy,
    people_with_papers,
    trip_view,
    view_of_person,
    view_of_vehicle,
)
from rules import checks, documents
from rules.hazard import CLASS_NAMES_EN
from rules.reasons import Reason
from trips import state_machine as sm

from . import unloading, zoning
from .alarms import raise_alarm
from .lot import (
    ENTRANCE,
    HELD,
    LEFT,
    QUEUE_ORDER,
    RELEASED,
    STRUCTURE,
    WAITING,
    LotError,
    lock_lot,
    lock_lot_of_plant,
    lot_of_plant,
    resolve_alarm,
    room_left,
    zone_views,
)

log = logging.getLogger(__name__)

# --- releases ----------------------------------------------------------------------------------

def _deadline_min(session: Session, plant: Plant, park_id: int) -> int:
    # The park's policy is read only for a plant without a deadline of its own.
    return plant.arrival_deadline_min or park_policy(session, park_id).release_deadline_min


def _recheck(session: Session, found: _Next, now: datetime) -> list[Reason]:
    """L07: the papers again (they can expire while the truck waits), of the trip as
    read with its queue entry (its vehicles, and the ids of bans on them)."""
    trip, vehicles = found.trip, found.vehicles
    names = STRUCTURE.get((session.get_bind().engine.url, "names"), lambda: park_names(session))
    view = trip_view(session, trip, names)  # its trailer is in the session now
    crew_ids = [i for i in (trip.driver_id, trip.escort_id) if i]
    persons, quals, ban_ids = people_with_papers(session, crew_ids, now)
    banned = ban_views(session, {**ban_ids, **found.ban_ids})

    def v(i: int | None) -> Any:
        return view_of_vehicle(vehicles[i], banned.get(("v", i)), None, ()) \
            if i in vehicles else None

    def p(i: int | None) -> Any:
        return view_of_person(persons[i], quals.get(i, []), banned.get(("p", i)), None) \
            if i in persons else None

    vehicle = v(trip.vehicle_id)
    if vehicle is None:
        return [Reason("VEHICLE_UNKNOWN", {"plate": trip.waybill_vehicle or f"#{trip.vehicle_id}"})]
    reasons = checks.document_checks(view, vehicle, v(trip.trailer_id), p(trip.driver_id),
                                     p(trip.escort_id), now)
    reasons += checks.blacklist_checks(vehicle, v(trip.trailer_id), p(trip.driver_id),
                                       p(trip.escort_id))
    return reasons


_FREE_DOCK = select(Dock).where(
    Dock.plant_id == bindparam("plant_id"), Dock.busy.is_(False), Dock.trip_id.is_(None),
    Dock.retired_at.is_(None)).order_by(Dock.code).limit(1)
# Call-forward: a free dock first, else a dock still unloading whose next truck is due
# (none called yet), the earliest due first; in one statement.
_OPEN_DOCK = select(Dock).where(
    Dock.plant_id == bindparam("plant_id"), Dock.retired_at.is_(None),
    or_(and_(Dock.busy.is_(False), Dock.trip_id.is_(None)),
        and_(Dock.call_at <= bindparam("now"), Dock.next_trip_id.is_(None),
             Dock.trip_id.is_not(None)))
).order_by(Dock.trip_id.is_not(None), Dock.call_at, Dock.code).limit(1)


def _open_dock(session: Session, plant: Plant, now: datetime, *, lock: bool = True
               ) -> Dock | None:
    """A dock that can take a truck released now: a free one, or (call-forward) one
    expected to free by the time a truck released now arrives."""
    query = _OPEN_DOCK if plant.release_timing == unloading.CALL_FORWARD else _FREE_DOCK
    return session.scalar(query.with_for_update(skip_locked=True) if lock else query,
                          {"plant_id": plant.id, "now": now})


@dataclass(frozen=True)
class _Next:
    entry: QueueEntry
    trip: Trip
    vehicles: dict[int, Vehicle]  # the truck and its trailer
    ban_ids: dict[tuple[str, int], int | None]  # bans on them (gateway.repository.ban_id)

    @property
    def plate(self) -> str:
        return self.vehicles[self.trip.vehicle_id].plate


# The release path's statements are built once: building one costs about as much as
# the database takes to answer it, and a release is timed. The trip's trailer comes
# beside its truck in the same statement.
TRAILER = aliased(Vehicle, name="trailer")
_WAITING_FOR_PLANT = (
    select(QueueEntry, Trip, Vehicle, TRAILER, ban_id(BlacklistEntry.vehicle_id, Vehicle.id),
           ban_id(BlacklistEntry.vehicle_id, TRAILER.id))
    .join(Trip, Trip.id == QueueEntry.trip_id).join(Vehicle, Vehicle.id == Trip.vehicle_id)
    .outerjoin(TRAILER, TRAILER.id == Trip.trailer_id)
    # A truck at the entrance (no bay yet) is in its plant's line too: when its turn
    # comes it goes straight on instead of waiting outside a full lot while its plant's
    # dock stands idle.
    .where(QueueEntry.plant_id == bindparam("plant_id"),
           QueueEntry.status.in_((WAITING, ENTRANCE)))
    .options(joinedload(Trip.cargo)))  # the re-check reads it
_THIS_IN_QUEUE = _WAITING_FOR_PLANT.where(QueueEntry.trip_id == bindparam("trip_id")) \
    .limit(1).with_for_update(skip_locked=True, of=(QueueEntry.__table__, Trip.__table__))
# The line is put in order on the queue's own narrow rows (trucks at a full lot's
# entrance are in it too, hundreds on a bad day); only the first is then read whole,
# with its trip, vehicles and bans: the cost stays flat however long the line.
_FIRST_IN_LINE = select(QueueEntry.trip_id).where(
    QueueEntry.plant_id == bindparam("plant_id"), QueueEntry.status.in_((WAITING, ENTRANCE))
).order_by(*QUEUE_ORDER).limit(1).with_for_update(skip_locked=True)
_FIRST_IN_LINE_BUT = _FIRST_IN_LINE.where(QueueEntry.trip_id.not_in(
    bindparam("passed", expanding=True)))


def _next_in_queue(session: Session, plant_id: int, trip_id: int | None, now: datetime
                   ) -> _Next | None:
    """The first waiting trip for the plant (or `trip_id`), its entry and trip locked,
    with its vehicles (the re-check reads their papers, the driver's call the plate)."""
    params = {"plant_id": plant_id, "today": documents.park_date(now)}
    if trip_id is not None:
        return _whole(session.execute(_THIS_IN_QUEUE, {**params, "trip_id": trip_id}))
    passed: list[int] = []
    while True:
        first = session.scalar(_FIRST_IN_LINE_BUT if passed else _FIRST_IN_LINE,
                               {"plant_id": plant_id, "passed": passed})
        if first is None:
            return None
        found = _whole(session.execute(_THIS_IN_QUEUE, {**params, "trip_id": first}))
        if found is not None:
            return found
        passed.append(first)  # its trip is locked by another change: the next one


def _whole(result: Any) -> _Next | None:
    row = result.unique().first()
    if row is None:
        return None
    entry, trip, vehicle, trailer, vehicle_ban, trailer_ban = row
    vehicles = {v.id: v for v in (vehicle, trailer) if v is not None}
    bans = {("v", vehicle.id): vehicle_ban} | ({("v", trailer.id): trailer_ban} if trailer else {})
    return _Next(entry, trip, vehicles, bans)


def release_next(uow: UnitOfWork, plant_id: int, actor: Actor, now: datetime, *,
                 trip_id: int | None = None, reason: str | None = None,
                 force: bool = False, freed: Dock | None = None) -> Release | None:
    """Release the next waiting trip for this plant into a free dock — or `trip_id`,
    out of order (a dispatcher's early release). Plants set to propose do not release
    on their own; `force` is the dispatcher confirming. None when no dock is free or
    nobody waits. `freed` is a dock this transaction has just freed (and locked)."""
    if freed is None:
        return _release_next(uow, plant_id, actor, now, trip_id, reason, force, None)
    # Nothing below asks the database about the freed dock, so it is written once
    # (taken again) rather than twice (freed, then taken): a release is timed.
    with uow.session.no_autoflush:
        return _release_next(uow, plant_id, actor, now, trip_id, reason, force, freed)


def _release_next(uow: UnitOfWork, plant_id: int, actor: Actor, now: datetime,
                  trip_id: int | None, reason: str | None, force: bool, freed: Dock | None
                  ) -> Release | None:
    session = uow.session
    plant = session.get(Plant, plant_id)
    if plant is None:
        raise NotFound(N_("No such plant."))
    if not plant.ready and trip_id is None:
        return None  # L06: a plant that is not ready receives nothing, free docks or not
    lock_lot_of_plant(session, plant_id)
    if plant.release_mode == "propose" and not force:
        session.flush()  # the freed dock counts as free
        if _open_dock(session, plant, now, lock=False) is not None and \
                _next_in_queue(session, plant_id, None, now):
            uow.publish("lot", "release_proposed", {"plant_id": plant_id})
        return None
    dock = freed if freed is not None else _open_dock(session, plant, now)
    if dock is None:
        return None
    while True:
        found = _next_in_queue(session, plant_id, trip_id, now)
        if found is None:
            return None
        entry, trip = found.entry, found.trip
        failed = _recheck(session, found, now)
        if failed:
            entry.status = HELD
            # Said as the booth says them, not as codes: the dispatcher calls the
            # carrier about what lapsed.
            entry.note = "L07: " + "；".join(reason_text(r, "zh_Hans_CN") for r in failed)
            raise_alarm(uow, "RELEASE_RECHECK_FAILED",
                        N_("L07: %(trip)s is held, its papers failed the check before "
                           "release: %(failed)s."),
                        args={"trip": trip.code, "failed": [
                            {MSGID: reason_message(r), "params": r.params} for r in failed]},
                        actor=actor, trip_id=trip.id, vehicle_id=trip.vehicle_id)
            uow.audit("lot.hold", actor, subject_kind="trip", subject_id=str(trip.id),
                      trip_id=trip.id, vehicle_id=trip.vehicle_id,
                      payload={"reason": "L07", "failed": [r.code for r in failed]})
            session.flush()
            if trip_id is not None:
                return None
            continue
        return _release(uow, plant, dock, found, actor, now, reason)


# The bay's row is not read: it is freed only if this trip still holds it.
_VACATE_BAY = update(Bay).where(Bay.id == bindparam("bay"), Bay.trip_id == bindparam("of_trip")
                                ).values(trip_id=None)


def _release(uow: UnitOfWork, plant: Plant, dock: Dock, found: _Next, actor: Actor,
             now: datetime, reason: str | None) -> Release:
    session = uow.session
    entry, trip, plate = found.entry, found.trip, found.plate
    deadline = now + timedelta(minutes=_deadline_min(session, plant, trip.park_id))
    release = Release(trip_id=trip.id, plant_id=plant.id, dock_id=dock.id,
                      token=secrets.token_hex(8), released_at=now, deadline=deadline,
                      released_by=actor.name or actor.kind, status="active")
    session.add(release)
    called_forward = dock.trip_id is not None
    if called_forward:  # the dock is still unloading: this truck is its next
        dock.next_trip_id, dock.call_at = trip.id, None
    else:
        dock.trip_id = trip.id
        dock.busy = True
    unloading.opened(session, trip, plant.id, dock.id, now, called_forward=called_forward)
    if entry.status == ENTRANCE:  # from the entrance: it no longer waits for a bay
        resolve_alarm(session, trip.id, "LOT_NO_BAY", now)
    entry.status = RELEASED
    vacate = []
    if entry.bay_id is not None:  # the truck drives off: its bay is free for the next
        vacate.append((_VACATE_BAY, {"bay": entry.bay_id, "of_trip": trip.id}))
        admit_after_commit(uow, entry.lot_id, now, zone_id=entry.zone_id)
    trip.release_deadline = deadline
    sm.apply(uow, trip, "release", actor, sm.Context(now=now, reason=reason),
             payload={"plant_id": plant.id, "dock": dock.code, "deadline": deadline.isoformat(),
                      "waited_min": round((now - entry.arrived_at).total_seconds() / 60, 1),
                      **({"called_forward": True, "dock_expected_free":
                          dock.expected_free_at.isoformat()}
                         if called_forward and dock.expected_free_at else {})})
    session.flush()
    for statement, values in vacate:
        session.execute(statement, values)
    call = {"trip_id": trip.id, "code": trip.code, "plate": plate, "plant": plant.name,
            "dock": dock.code, "deadline": deadline.isoformat()}
    uow.publish("lot", "released", {"plant_id": plant.id})
    uow.publish("drivers", "driver.call", call)  # SMS / voice integrations listen here
    for lane_code in _lot_exit_lanes(session, entry.lot_id):
        uow.publish(f"lane:{lane_code}", "call", {**call, "led": f"请{plate}前往{plant.name}"})
    return release


def _lot_exit_lanes(session: Session, lot_id: int) -> list[str]:
    return STRUCTURE.get((session.get_bind().engine.url, "lot_exit_lanes", lot_id), lambda: list(
        session.scalars(select(Lane.code).join(Gate, Gate.id == Lane.gate_id).where(
            Gate.lot_id == lot_id, Lane.direction == "out", Lane.retired_at.is_(None)))))


def admit_after_commit(uow: UnitOfWork, lot_id: int, now: datetime, *,
                        zone_id: int | None) -> None:
    """A bay in `zone_id` was freed: once this transaction has committed, give it to a
    truck at the entrance, in a transaction of its own.

    The release that freed the bay is a decision of its own and must not wait for it
    (a driver is being called; the lot lock is held): admission reads the entrance
    queue and the zone and is most of a release's work on a busy day. Should it fail
    or the process stop in between, the bay stays free and the minute watch admits.
    """
    session, bus = uow.session, uow.bus

    def admit() -> None:
        try:
            with UnitOfWork(session, bus) as follow:
                lock_lot(session, lot_id)
                admit_from_entrance(follow, lot_id, now, zone_id=zone_id)
                follow.commit()
        except SQLAlchemyError:
            log.exception("admission from the entrance of lot %s failed; the watch retries",
                          lot_id)

    uow.after_commit(admit)


def admit_from_entrance(uow: UnitOfWork, lot_id: int, now: datetime, *,
                         zone_id: int | None) -> None:
    """A bay freed in `zone_id`: keep it for the first truck at the entrance it suits.

    Every truck at the entrance was refused by every zone when it last looked, and only
    this zone has changed since, so only this zone is asked (None: all of them, after a
    change to the lot's layout). Trucks carrying a class the zone does not take are
    passed over in the database; a load refused once stays refused for everyone
    carrying the same (filling the zone only adds neighbours and takes bays). So a long
    entrance queue costs one zoning judgement per kind of load, not one per truck.
    """
    session = uow.session
    if session.scalar(_ANYONE_AT_ENTRANCE, {"lot_id": lot_id}) is None:
        return  # the usual case: nobody at the entrance, no need to look at the zones
    views = zone_views(session, lot_id, zone_id=zone_id)
    lot = session.get(Lot, lot_id)
    room = room_left(session, lot) if lot is not None else None
    # Classes no zone asked can take: trucks carrying one are passed over in the
    # database. Judged over every class there is, not over the loads at the entrance,
    # which would read the whole entrance queue (the zoning below has the last word).
    unfit = [c for c in ALL_CLASSES if not any(zoning.accepts(v.accepted, c) for v in views)]
    refused: set[tuple[tuple[str, str, tuple[str, ...]], ...]] = set()
    for entry, lines in _entrance_waiters(session, lot_id, unfit):
        if not any(v.free_bays for v in views) or (room is not None and room <= 0):
            return
        load = tuple(sorted((c.un_number, c.hazard_class, tuple(c.subsidiary_risks or ()))
                            for c in lines))
        if load in refused:
            continue
        outcome = zoning.place(lines, views)
        if not isinstance(outcome, zoning.Placement):
            refused.add(load)
            continue
        bay = session.get(Bay, outcome.bay_id)
        assert bay is not None
        bay.trip_id = entry.trip_id
        entry.zone_id, entry.bay_id = outcome.zone_id, outcome.bay_id
        room = None if room is None else room - 1
        views = [replace(v, free_bays=tuple(b for b in v.free_bays if b[0] != outcome.bay_id),
                         occupants=(*v.occupants, tuple(lines)))
                 if v.id == outcome.zone_id else v for v in views]
        session.flush()
        uow.publish("lot", "bay_reserved", {"plant_id": entry.plant_id})


_AT_ENTRANCE = (QueueEntry.status == ENTRANCE, QueueEntry.bay_id.is_(None))
_ANYONE_AT_ENTRANCE = select(QueueEntry.id).where(
    *_AT_ENTRANCE, QueueEntry.lot_id == bindparam("lot_id")).limit(1)
ALL_CLASSES = (*CLASS_NAMES_EN, "1.1", "1.2", "1.3", "1.4", "1.5", "1.6")
_WAITER_PAGE = 50


def _entrance_waiters(session: Session, lot_id: int, unfit: list[str]
                      ) -> Iterator[tuple[QueueEntry, list[Any]]]:
    """Trucks at the entrance without a bay and carrying none of the `unfit` classes,
    first come first, with their cargo; a page at a time, as most admissions stop at
    the first few."""
    base = select(QueueEntry).where(*_AT_ENTRANCE, QueueEntry.lot_id == lot_id)
    if unfit:
        base = base.where(~select(CargoLine.id).where(
            CargoLine.trip_id == QueueEntry.trip_id, CargoLine.hazard_class.in_(unfit)).exists())
    after: tuple[datetime, int] | None = None
    while True:
        stmt = base if after is None else base.where(
            tuple_(QueueEntry.arrived_at, QueueEntry.id) > after)
        page = list(session.scalars(stmt.order_by(QueueEntry.arrived_at, QueueEntry.id)
                                    .limit(_WAITER_PAGE)))
        if not page:
            return
        cargo: dict[int, list[Any]] = {}
        for line in session.execute(select(CargoLine.trip_id, CargoLine.un_number,
                                           CargoLine.hazard_class, CargoLine.subsidiary_risks)
                                    .where(CargoLine.trip_id.in_([e.trip_id for e in page]))):
            cargo.setdefault(line.trip_id, []).append(line)
        for entry in page:
            yield entry, cargo.get(entry.trip_id, [])
        if len(page) < _WAITER_PAGE:
            return
        after = (page[-1].arrived_at, page[-1].id)


# --- docks -------------------------------------------------------------------------------------

def set_dock(uow: UnitOfWork, actor: Actor, dock_id: int, *, busy: bool, now: datetime,
             plant_id: int | None = None) -> Release | None:
    """A plant marks a dock busy (out of use) or free; a free dock releases the next."""
    return _set_dock(uow, actor, _lock_dock(uow.session, dock_id, plant_id), busy=busy, now=now)


def _lock_dock(session: Session, dock_id: int, plant_id: int | None = None) -> Dock:
    """The dock in use, locked after its lot (the order every change to the lot takes)."""
    if plant_id is None:
        plant_id = session.scalar(select(Dock.plant_id).where(Dock.id == dock_id))
    if plant_id is None:
        raise NotFound(N_("No such dock."), code="DOCK_UNKNOWN")
    lock_lot_of_plant(session, plant_id)
    dock = session.get(Dock, dock_id, with_for_update=True)
    if dock is None or dock.retired_at is not None:
        raise NotFound(N_("No such dock."), code="DOCK_UNKNOWN")
    return dock


def _set_dock(uow: UnitOfWork, actor: Actor, dock: Dock, *, busy: bool, now: datetime
              ) -> Release | None:
    """set_dock on a dock this transaction holds locked."""
    session = uow.session
    if not busy and dock.next_trip_id is not None:
        # Freed while a truck is called forward to it: that truck takes it.
        uow.audit("dock.free", actor, subject_kind="dock", subject_id=str(dock.id),
                  payload={"plant_id": dock.plant_id, "before": {
                      "busy": dock.busy, "trip_id": dock.trip_id,
                      "next_trip_id": dock.next_trip_id}})
        record = unloading.of_trip(session, dock.trip_id) if dock.trip_id else None
        if record is not None:
            unloading.ended(session, record, now)
        return dock_done(uow, dock, actor, now, park_id=dock.plant.enterprise.park_id)
    before = {"busy": dock.busy, "trip_id": dock.trip_id}
    if not busy and dock.trip_id is not None:
        holder = session.get(Trip, dock.trip_id)
        if holder is not None and holder.state in ("RELEASED", "OVERDUE"):
            # A truck is on its way to this dock: freeing it would call a second one.
            raise LotError(N_("The dock is kept for %(code)s, which is on its way; requeue "
                              "or send that trip away first."), code="DOCK_RESERVED",
                           params={"code": holder.code})
    dock.busy = busy
    if not busy:
        dock.trip_id = None
        dock.expected_free_at = dock.call_at = None
    uow.audit("dock.busy" if busy else "dock.free", actor, subject_kind="dock",
              subject_id=str(dock.id), payload={"plant_id": dock.plant_id, "before": before})
    uow.publish("lot", "dock", {"dock_id": dock.id, "plant_id": dock.plant_id, "busy": busy})
    if busy:
        session.flush()
        return None
    # The release that follows is ParkGate's own doing, not the person's who freed the dock.
    return release_next(uow, dock.plant_id, Actor.system("dispatch"), now, freed=dock)


# The lot and the leaving truck's dock are locked by one statement, lot first (rows are
# locked in the order FOR UPDATE OF names them), and the dock comes with its plant,
# which the release after it reads: held by the dock, as the session's identity map
# holds only weakly what nobody changed, and a plant read beside it would be gone.
_DOCK_OF_TRIP = select(Dock).join(Dock.plant).options(contains_eager(Dock.plant)).where(
    Dock.trip_id == bindparam("trip_id")).with_for_update(of=Dock.__table__)
_LOT_AND_DOCK_OF_TRIP = select(Dock).select_from(Lot).join(
    Dock, Dock.trip_id == bindparam("trip_id")).join(Dock.plant).options(
    contains_eager(Dock.plant)).where(Lot.id == bindparam("lot_id")).with_for_update(
    of=(Lot.__table__, Dock.__table__))
_LEFT_LOT = update(QueueEntry).where(QueueEntry.trip_id == bindparam("of_trip")).values(
    status=LEFT)
_RELEASE_USED = update(Release).where(
    Release.trip_id == bindparam("of_trip"), Release.status.in_(("active", "overdue"))
).values(status="used", used_at=func.coalesce(Release.used_at, bindparam("now")))
# Written without reading them first: nothing here needs more of the rows than their
# key, and nothing before loaded them to keep in step.
_PLAIN = {"synchronize_session": False}


def after_transition(uow: UnitOfWork, trip: Trip, action: str, actor: Actor, now: datetime
                     ) -> None:
    """What a trip's move means for the lot, whoever moved it (a plant gate's camera, a
    plant receiver's click): entering its plant uses its release and starts its
    unloading (or its wait at the plant gate); leaving frees its dock, and the next
    truck is called."""
    if action == "enter_plant":
        uow.session.execute(_RELEASE_USED, {"of_trip": trip.id, "now": now},
                            execution_options=_PLAIN)
        trip_at_plant(uow, trip, now)
    elif action == "leave_plant":
        trip_left_plant(uow, trip, actor, now)


_DOCK_FOR_TRIP = select(Dock).join(Dock.plant).options(contains_eager(Dock.plant)).where(
    (Dock.trip_id == bindparam("trip_id")) | (Dock.next_trip_id == bindparam("trip_id"))
).with_for_update(of=Dock.__table__)


def trip_at_plant(uow: UnitOfWork, trip: Trip, now: datetime) -> None:
    """The plant gate read a released truck: it unloads now if its dock is free of the
    truck before it, or waits at the plant gate until that one is done."""
    session = uow.session
    record = unloading.of_trip(session, trip.id)
    if record is None or record.arrived_at is not None:
        return  # not released through the lot, or read twice
    lock_lot_of_plant(session, trip.plant_id)
    dock = session.scalar(_DOCK_FOR_TRIP, {"trip_id": trip.id})
    plant = dock.plant if dock is not None else session.get(Plant, trip.plant_id)
    assert plant is not None
    unloading.arrived(session, record, plant, dock, now, trip.park_id)
    if dock is not None and dock.next_trip_id == trip.id:
        uow.publish("lot", "plant_gate_wait", {"plant_id": plant.id})


def trip_left_plant(uow: UnitOfWork, trip: Trip, actor: Actor, now: datetime) -> None:
    """The truck left its plant: its unloading is done and the dock it held is free."""
    session = uow.session
    # The trip's own move is written with the release it leads to (lot first, then
    # the trip, the order every change to the lot takes), not ahead of the lot's lock.
    with session.no_autoflush:
        dock = _lock_lot_and_dock(session, trip)
        session.execute(_LEFT_LOT, {"of_trip": trip.id}, execution_options=_PLAIN)
        record = unloading.of_trip(session, trip.id)
        if record is not None:
            unloading.ended(session, record, now)
        if dock is not None:
            dock_done(uow, dock, actor, now, park_id=trip.park_id)


def dock_done(uow: UnitOfWork, dock: Dock, actor: Actor, now: datetime, *, park_id: int
              ) -> Release | None:
    """The truck at `dock` (locked, with the lot) is done: the truck called forward to it
    takes it, or it is free and the plant's next truck is called."""
    session = uow.session
    if dock.retired_at is not None:
        dock.trip_id = dock.next_trip_id  # retired under the truck: nobody new is called
        dock.next_trip_id = None
        return None
    if dock.next_trip_id is None:
        return _set_dock(uow, actor, dock, busy=False, now=now)
    unloading.hand_over(session, dock, dock.plant, now, park_id)
    uow.publish("lot", "dock", {"dock_id": dock.id, "plant_id": dock.plant_id, "busy": True})
    if dock.call_at is not None and dock.call_at <= now:  # a short unloading: call at once
        return release_next(uow, dock.plant_id, Actor.system("dispatch"), now)
    return None


def _lock_lot_and_dock(session: Session, trip: Trip) -> Dock | None:
    """lock_lot_of_plant, then the trip's dock locked; in one round trip when both are
    there (a release is timed)."""
    lot_id = lot_of_plant(session, trip.plant_id)
    if lot_id is not None:
        row = session.execute(_LOT_AND_DOCK_OF_TRIP, {"lot_id": lot_id, "trip_id": trip.id}
                              ).first()
        if row is not None:
            return row[0]
        lock_lot(session, lot_id)  # no dock (or it changed while we waited for the lot)
    row = session.execute(_DOCK_OF_TRIP, {"trip_id": trip.id}).first()
    return row[0] if row else None


# --- call-forward ------------------------------------------------------------------------------

# Due docks of plants with a truck waiting: a due dock whose plant has nobody in the
# queue stays due, and the next check-in for that plant is released at once.
# The plants themselves are read (not their ids): the release that follows finds its
# plant in the session instead of asking again.
_DUE_WHERE = (
    Dock.call_at <= bindparam("now"), Dock.next_trip_id.is_(None), Dock.trip_id.is_not(None),
    Dock.retired_at.is_(None), Plant.release_timing == unloading.CALL_FORWARD,
    Plant.ready.is_(True), Plant.retired_at.is_(None),
    select(QueueEntry.id).where(QueueEntry.plant_id == Dock.plant_id,
                                QueueEntry.status.in_((WAITING, ENTRANCE))).exists())
_DUE_PLANTS = select(Plant).join(Dock, Plant.id == Dock.plant_id).where(*_DUE_WHERE) \
    .order_by(Dock.call_at, Dock.id)


def due_plants(session: Session, now: datetime) -> list[int]:
    """Plants with a dock whose next truck is due by now and a truck waiting, earliest
    due first, each once."""
    return list(dict.fromkeys(session.scalars(select(Plant.id).join(
        Dock, Plant.id == Dock.plant_id).where(*_DUE_WHERE).order_by(Dock.call_at, Dock.id),
        {"now": now})))


def call_forward_due(uow: UnitOfWork, now: datetime, *, plant_id: int | None = None) -> int:
    """L06 call-forward: every dock (of `plant_id`, or of every plant) whose next truck
    is due by now calls it (or, at a plant that confirms releases, proposes it); how
    many were released."""
    query = _DUE_PLANTS if plant_id is None else _DUE_PLANTS.where(Plant.id == plant_id)
    released = 0
    for plant in list(uow.session.scalars(query, {"now": now})):
        if release_next(uow, plant.id, Actor.system("dispatch"), now) is not None:
            released += 1
    return released


def next_call_at(session: Session, after: datetime) -> datetime | None:
    """The next moment a dock's next truck falls due (for a scheduler that sleeps)."""
    return session.scalar(select(func.min(Dock.call_at)).join(Plant, Plant.id == Dock.plant_id)
                          .where(Dock.call_at > after, Dock.next_trip_id.is_(None),
                                 Dock.retired_at.is_(None),
                                 Plant.release_timing == unloading.CALL_FORWARD))


def report_unloading(uow: UnitOfWork, actor: Actor, dock_id: int, *, event: str,
                     now: datetime) -> Release | None:
    """A plant receiver (page or API) says unloading at a dock started or ended; an end
    frees the dock for the truck called forward to it, or for the plant's next."""
    session = uow.session
    dock = _lock_dock(session, dock_id)
    record = unloading.of_trip(session, dock.trip_id) if dock.trip_id else None
    holder = session.get(Trip, dock.trip_id) if dock.trip_id else None
    if record is None or holder is None or (record.arrived_at is None
                                            and holder.state != "AT_PLANT"):
        raise LotError(N_("No truck is at this dock."), code="DOCK_NO_TRUCK")
    uow.audit(f"dock.unloading_{'started' if event == 'start' else 'ended'}", actor,
              subject_kind="dock", subject_id=str(dock.id), trip_id=holder.id,
              vehicle_id=holder.vehicle_id, payload={"plant_id": dock.plant_id})
    if event == "start":
        unloading.started(session, record, dock.plant, dock, now, holder.park_id)
        uow.publish("lot", "dock", {"dock_id": dock.id, "plant_id": dock.plant_id,
                                    "busy": True})
        session.flush()
        return None
    unloading.ended(session, record, now)
    return dock_done(uow, dock, actor, now, park_id=holder.park_id)
