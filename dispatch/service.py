"""The hazmat lot at work (DESIGN §5): check-in to a compatible bay, the queue per
plant, releases when docks free, the dispatcher's hand, deadlines and dwell alarms.

The database is the source of truth and the lock. Every change to the lot first
locks the lot's row, so bays, queue and docks change in one order (lot → dock → queue
entry → trip) and no two changes deadlock; inside, a release takes a free dock and
the first waiting trip with `FOR UPDATE SKIP LOCKED`, a dock holds one trip (unique),
and a partial unique index allows one active release per trip — the last guards hold
even against code that forgets the first. On SQLite a write transaction holds the
whole database, which serialises the same steps. Every change is audited in its
transaction; the bus only tells the board and the lanes. A bay freed by a release
goes to a truck at the entrance in a transaction of its own, right after the
release commits (the minute watch catches one that did not happen).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, case, func, select, tuple_, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, aliased, contains_eager, joinedload

from gateway import checks
from gateway.repository import (
    ban_id,
    ban_views,
    park_names,
    park_policy,
    people_with_papers,
    trip_view,
    view_of_person,
    view_of_vehicle,
)
from models import (
    Alarm,
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
    Zone,
)
from parkgate import clock
from parkgate.cache import TtlCache
from parkgate.errors import N_, Conflict, NotFound
from parkgate.uow import Actor, UnitOfWork
from rules import documents
from trips import state_machine as sm

from . import zoning
from .alarms import raise_alarm

WAITING, HELD, ENTRANCE, RELEASED, SENT_AWAY, LEFT = (
    "waiting", "held", "entrance", "released", "sent_away", "left")
OPEN_ENTRY = (WAITING, HELD, ENTRANCE)

# The SQL twin of ordering.sort_key (tests hold the two to the same order).
QUEUE_ORDER = (case((QueueEntry.manual_rank.is_(None), 1), else_=0), QueueEntry.manual_rank,
               QueueEntry.priority.desc(), QueueEntry.window_start, QueueEntry.arrived_at,
               QueueEntry.trip_id)


log = logging.getLogger(__name__)


class LotError(Conflict):
    code = "LOT_CONFLICT"


# --- reading the lot ---------------------------------------------------------------------------

def lot_of_park(session: Session, park_id: int) -> Lot:
    lot = session.scalar(select(Lot).where(Lot.park_id == park_id, Lot.retired_at.is_(None))
                         .order_by(Lot.id).limit(1))
    if lot is None:
        raise NotFound(N_("This park has no hazmat lot."), code="LOT_UNKNOWN")
    return lot


def zone_views(session: Session, lot_id: int, *, zone_id: int | None = None
               ) -> list[zoning.ZoneView]:
    """The lot's zones as zoning sees them (or just one of them)."""
    stmt = select(Zone, Bay).outerjoin(Bay, Bay.zone_id == Zone.id).where(
        Zone.lot_id == lot_id, Zone.retired_at.is_(None))
    if zone_id is not None:
        stmt = stmt.where(Zone.id == zone_id)
    rows = session.execute(stmt.order_by(Zone.code, Bay.code)).all()
    zones = list({z.id: z for z, _ in rows}.values())
    bays = [b for _, b in rows if b is not None]
    occupied = {b.trip_id: b.zone_id for b in bays if b.trip_id is not None}
    cargo: dict[int, list[CargoLine]] = {}
    if occupied:
        for line in session.scalars(select(CargoLine).where(
                CargoLine.trip_id.in_(list(occupied)))):
            cargo.setdefault(line.trip_id, []).append(line)
    out = []
    for z in zones:
        mine = [b for b in bays if b.zone_id == z.id]
        out.append(zoning.ZoneView(
            id=z.id, code=z.code, accepted=frozenset(c.strip().upper()
                                                     for c in z.accepted_classes or ()),
            free_bays=tuple((b.id, b.code) for b in mine
                            if b.trip_id is None and not b.out_of_service),
            bays=sum(not b.out_of_service for b in mine),
            occupants=tuple(tuple(cargo.get(tid, ())) for tid, zid in occupied.items()
                            if zid == z.id)))
    return out


def _lock_lot(session: Session, lot_id: int) -> None:
    """Changes to one lot are serialised: a zone's mix must be judged with every truck
    standing in it, and a lot sees a few hundred changes an hour, not a thousand a
    second. Taken first by every public function (taking a row lock again in the same
    transaction costs one short statement)."""
    session.execute(_LOCK_LOT, {"id": lot_id})


_LOCK_LOT = select(Lot.id).where(Lot.id == bindparam("id")).with_for_update()




# Which lot serves a plant, which lanes leave a lot, the names of enterprises and
# plants (the L07 waybill check): asked on every release, changed once in years, so
# kept for a minute per process (per database), as the gate keeps them.
_STRUCTURE = TtlCache(60.0)


def _lot_of_plant(session: Session, plant_id: int) -> int | None:
    from models import Enterprise

    return _STRUCTURE.get((session.get_bind().url, "lot_of_plant", plant_id), lambda: session.scalar(
        select(Lot.id).join(Enterprise, Enterprise.park_id == Lot.park_id)
        .join(Plant, Plant.enterprise_id == Enterprise.id)
        .where(Plant.id == plant_id, Lot.retired_at.is_(None)).order_by(Lot.id).limit(1)))


def _lock_lot_of_plant(session: Session, plant_id: int) -> None:
    lot = _lot_of_plant(session, plant_id)
    if lot is not None:
        _lock_lot(session, lot)


def _lock_lot_of_trip(session: Session, trip_id: int) -> None:
    plant_id = session.scalar(select(Trip.plant_id).where(Trip.id == trip_id))
    if plant_id is None:
        raise NotFound(N_("No such trip."))
    _lock_lot_of_plant(session, plant_id)


def room_left(session: Session, lot: Lot) -> int | None:
    """How many more vehicles the park lets the lot hold (L05), or None when only its
    bays limit it. Trucks kept a bay at the entrance count: the bay is theirs."""
    if lot.capacity is None:
        return None
    held = session.scalar(select(func.count()).select_from(Bay).join(Zone, Zone.id == Bay.zone_id)
                          .where(Zone.lot_id == lot.id, Bay.trip_id.is_not(None))) or 0
    return lot.capacity - held


def room_for(session: Session, trip: Trip) -> zoning.Placement | zoning.Refusal:
    lot = lot_of_park(session, trip.park_id)
    reserved = session.scalar(select(QueueEntry).where(QueueEntry.trip_id == trip.id,
                                                       QueueEntry.bay_id.is_not(None)))
    if reserved is not None and reserved.status in OPEN_ENTRY:
        bay = session.get(Bay, reserved.bay_id)
        zone = session.get(Zone, reserved.zone_id)
        return zoning.Placement(zone.id, bay.id, zone.code, bay.code)  # type: ignore[union-attr]
    _lock_lot(session, lot.id)
    return zoning.place(list(trip.cargo), zone_views(session, lot.id),
                        room_left=room_left(session, lot))


# --- check-in ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class CheckIn:
    entry: QueueEntry
    placement: zoning.Placement | None


def _entry(session: Session, trip: Trip, lot: Lot, now: datetime) -> QueueEntry:
    entry = session.scalar(select(QueueEntry).where(QueueEntry.trip_id == trip.id))
    if entry is None:
        entry = QueueEntry(trip_id=trip.id, lot_id=lot.id, plant_id=trip.plant_id,
                           priority=trip.priority, window_start=trip.window_start,
                           arrived_at=now, status=ENTRANCE)
        session.add(entry)
    return entry


def check_in(uow: UnitOfWork, trip: Trip, actor: Actor, now: datetime, *, lane: Any = None
             ) -> CheckIn:
    """The trip enters the lot: a bay in a compatible zone, its place in its plant's
    queue, and the trip IN_LOT. With no compatible bay it waits at the entrance (the
    dispatcher is told) and stays ARRIVED."""
    session = uow.session
    lot = lot_of_park(session, trip.park_id)
    _lock_lot(session, lot.id)
    blocked = zoning.excluded(lot.excluded_classes or (), list(trip.cargo))
    if blocked:
        raise LotError(N_("This lot does not admit class %(cls)s."), code="LOT_EXCLUDES_CLASS",
                       params={"cls": ", ".join(blocked)})
    outcome = room_for(session, trip)
    entry = _entry(session, trip, lot, now)
    if isinstance(outcome, zoning.Refusal):
        wait_at_entrance(uow, trip, actor, outcome, now)
        return CheckIn(entry, None)
    bay = session.get(Bay, outcome.bay_id)
    assert bay is not None
    bay.trip_id = trip.id
    entry.zone_id, entry.bay_id, entry.status = outcome.zone_id, outcome.bay_id, WAITING
    entry.arrived_at = now
    policy = park_policy(session, trip.park_id)
    sm.apply(uow, trip, "check_in_lot", actor, sm.Context(now=now, grace=policy.arrival_grace),
             payload={"lane": getattr(lane, "code", None), "zone": outcome.zone_code,
                      "bay": outcome.bay_code})
    _resolve(session, trip.id, "LOT_NO_BAY", now)
    # The lot channel says only which plant's queue changed: plant receivers listen to
    # it, and another enterprise's truck is none of their business.
    uow.publish("lot", "checked_in", {"plant_id": trip.plant_id})
    session.flush()
    release_next(uow, trip.plant_id, Actor.system("dispatch"), now)  # a dock may be free
    return CheckIn(entry, outcome)


def wait_at_entrance(uow: UnitOfWork, trip: Trip, actor: Actor, refusal: zoning.Refusal,
                     now: datetime) -> None:
    session = uow.session
    lot = lot_of_park(session, trip.park_id)
    entry = _entry(session, trip, lot, now)
    entry.status = ENTRANCE
    session.flush()
    if _open_alarm(session, trip.id, "LOT_NO_BAY") is None:
        if refusal.lot_full:
            detail = "the lot holds as many vehicles as its capacity allows"
        else:
            detail = "; ".join(f"{z}: {why}" for z, why in sorted(refusal.reasons.items()))
        raise_alarm(uow, "LOT_NO_BAY", f"{refusal.rule}: no bay for {trip.code} ({detail})"[:500],
                    actor=actor, trip_id=trip.id, vehicle_id=trip.vehicle_id)
    uow.publish("lot", "entrance", {"plant_id": trip.plant_id})


# --- releases ----------------------------------------------------------------------------------

def _deadline_min(session: Session, plant: Plant, park_id: int) -> int:
    # The park's policy is read only for a plant without a deadline of its own.
    return plant.arrival_deadline_min or park_policy(session, park_id).release_deadline_min


def _recheck(session: Session, found: _Next, now: datetime) -> list[str]:
    """L07: the papers again (they can expire while the truck waits), of the trip as
    read with its queue entry (its vehicles, and the ids of bans on them)."""
    trip, vehicles = found.trip, found.vehicles
    names = _STRUCTURE.get((session.get_bind().url, "names"), lambda: park_names(session))
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
        return ["VEHICLE_UNKNOWN"]
    reasons = checks.document_checks(view, vehicle, v(trip.trailer_id), p(trip.driver_id),
                                     p(trip.escort_id), now)
    reasons += checks.blacklist_checks(vehicle, v(trip.trailer_id), p(trip.driver_id),
                                       p(trip.escort_id))
    return [r.code for r in reasons]


def _free_dock(session: Session, plant_id: int) -> Dock | None:
    return session.scalar(select(Dock).where(
        Dock.plant_id == plant_id, Dock.busy.is_(False), Dock.trip_id.is_(None),
        Dock.retired_at.is_(None)).order_by(Dock.code).limit(1)
        .with_for_update(skip_locked=True))


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
    .where(QueueEntry.plant_id == bindparam("plant_id"), QueueEntry.status == WAITING)
    .options(joinedload(Trip.cargo)))  # the re-check reads it
_NEXT_IN_QUEUE = _WAITING_FOR_PLANT.order_by(*QUEUE_ORDER).limit(1).with_for_update(
    skip_locked=True, of=(QueueEntry.__table__, Trip.__table__))
_THIS_IN_QUEUE = _WAITING_FOR_PLANT.where(QueueEntry.trip_id == bindparam("trip_id")) \
    .limit(1).with_for_update(skip_locked=True, of=(QueueEntry.__table__, Trip.__table__))


def _next_in_queue(session: Session, plant_id: int, trip_id: int | None, now: datetime
                   ) -> _Next | None:
    """The first waiting trip for the plant (or `trip_id`), its entry and trip locked,
    with its vehicles (the re-check reads their papers, the driver's call the plate)."""
    params = {"plant_id": plant_id, "today": documents.park_date(now)}
    if trip_id is None:
        row = session.execute(_NEXT_IN_QUEUE, params).unique().first()
    else:
        row = session.execute(_THIS_IN_QUEUE, {**params, "trip_id": trip_id}).unique().first()
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
    _lock_lot_of_plant(session, plant_id)
    if plant.release_mode == "propose" and not force:
        session.flush()  # the freed dock counts as free
        if _free_dock_exists(session, plant_id) and _next_in_queue(session, plant_id, None, now):
            uow.publish("lot", "release_proposed", {"plant_id": plant_id})
        return None
    dock = freed if freed is not None else _free_dock(session, plant_id)
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
            entry.note = "L07: " + ", ".join(failed)
            raise_alarm(uow, "RELEASE_RECHECK_FAILED",
                        f"{trip.code}: {', '.join(failed)}", actor=actor, trip_id=trip.id,
                        vehicle_id=trip.vehicle_id)
            uow.audit("lot.hold", actor, subject_kind="trip", subject_id=str(trip.id),
                      trip_id=trip.id, vehicle_id=trip.vehicle_id,
                      payload={"reason": "L07", "failed": failed})
            session.flush()
            if trip_id is not None:
                return None
            continue
        return _release(uow, plant, dock, found, actor, now, reason)


def _free_dock_exists(session: Session, plant_id: int) -> bool:
    return session.scalar(select(Dock.id).where(
        Dock.plant_id == plant_id, Dock.busy.is_(False), Dock.trip_id.is_(None),
        Dock.retired_at.is_(None)).limit(1)) is not None


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
    dock.trip_id = trip.id
    dock.busy = True
    entry.status = RELEASED
    vacate = []
    if entry.bay_id is not None:  # the truck drives off: its bay is free for the next
        vacate.append((_VACATE_BAY, {"bay": entry.bay_id, "of_trip": trip.id}))
        _admit_after_commit(uow, entry.lot_id, now, zone_id=entry.zone_id)
    trip.release_deadline = deadline
    sm.apply(uow, trip, "release", actor, sm.Context(now=now, reason=reason),
             payload={"plant_id": plant.id, "dock": dock.code, "deadline": deadline.isoformat(),
                      "waited_min": round((now - entry.arrived_at).total_seconds() / 60, 1)})
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
    return _STRUCTURE.get((session.get_bind().url, "lot_exit_lanes", lot_id), lambda: list(
        session.scalars(select(Lane.code).join(Gate, Gate.id == Lane.gate_id).where(
            Gate.lot_id == lot_id, Lane.direction == "out", Lane.retired_at.is_(None)))))


def _admit_after_commit(uow: UnitOfWork, lot_id: int, now: datetime, *,
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
                _lock_lot(session, lot_id)
                _admit_from_entrance(follow, lot_id, now, zone_id=zone_id)
                follow.commit()
        except SQLAlchemyError:
            log.exception("admission from the entrance of lot %s failed; the watch retries",
                          lot_id)

    uow.after_commit(admit)


def _admit_from_entrance(uow: UnitOfWork, lot_id: int, now: datetime, *,
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
    classes = set(session.scalars(
        select(CargoLine.hazard_class).select_from(QueueEntry)
        .outerjoin(CargoLine, CargoLine.trip_id == QueueEntry.trip_id)
        .where(*_AT_ENTRANCE, QueueEntry.lot_id == lot_id).distinct()))
    if not classes:
        return  # the usual case: nobody at the entrance, no need to look at the zones
    views = zone_views(session, lot_id, zone_id=zone_id)
    lot = session.get(Lot, lot_id)
    room = room_left(session, lot) if lot is not None else None
    unfit = [c for c in classes if c is not None and not any(
        zoning.accepts(v.accepted, c.strip().upper()) for v in views)]
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
    session = uow.session
    if plant_id is None:
        plant_id = session.scalar(select(Dock.plant_id).where(Dock.id == dock_id))
    if plant_id is None:
        raise NotFound(N_("No such dock."), code="DOCK_UNKNOWN")
    _lock_lot_of_plant(session, plant_id)
    dock = session.get(Dock, dock_id, with_for_update=True)
    if dock is None or dock.retired_at is not None:
        raise NotFound(N_("No such dock."), code="DOCK_UNKNOWN")
    return _set_dock(uow, actor, dock, busy=busy, now=now)


def _set_dock(uow: UnitOfWork, actor: Actor, dock: Dock, *, busy: bool, now: datetime
              ) -> Release | None:
    """set_dock on a dock this transaction holds locked."""
    session = uow.session
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
    plant receiver's click): entering its plant uses its release; leaving frees its
    dock, and the next truck is called."""
    if action == "enter_plant":
        uow.session.execute(_RELEASE_USED, {"of_trip": trip.id, "now": now},
                            execution_options=_PLAIN)
    elif action == "leave_plant":
        trip_left_plant(uow, trip, actor, now)


def trip_left_plant(uow: UnitOfWork, trip: Trip, actor: Actor, now: datetime) -> None:
    """The truck left its plant: the dock it held is free, and the next one is called."""
    session = uow.session
    # The trip's own move is written with the release it leads to (lot first, then
    # the trip, the order every change to the lot takes), not ahead of the lot's lock.
    with session.no_autoflush:
        dock = _lock_lot_and_dock(session, trip)
        session.execute(_LEFT_LOT, {"of_trip": trip.id}, execution_options=_PLAIN)
        if dock is not None and dock.retired_at is None:
            _set_dock(uow, actor, dock, busy=False, now=now)
        elif dock is not None:
            dock.trip_id = None  # retired while the truck stood at it: nobody is called


def _lock_lot_and_dock(session: Session, trip: Trip) -> Dock | None:
    """_lock_lot_of_plant, then the trip's dock locked; in one round trip when both are
    there (a release is timed)."""
    lot_id = _lot_of_plant(session, trip.plant_id)
    if lot_id is not None:
        row = session.execute(_LOT_AND_DOCK_OF_TRIP, {"lot_id": lot_id, "trip_id": trip.id}
                              ).first()
        if row is not None:
            return row[0]
        _lock_lot(session, lot_id)  # no dock (or it changed while we waited for the lot)
    row = session.execute(_DOCK_OF_TRIP, {"trip_id": trip.id}).first()
    return row[0] if row else None


# --- the dispatcher's hand ---------------------------------------------------------------------

def _entry_for(session: Session, trip_id: int, *statuses: str) -> QueueEntry:
    _lock_lot_of_trip(session, trip_id)
    entry = session.scalar(select(QueueEntry).where(QueueEntry.trip_id == trip_id)
                           .with_for_update())
    if entry is None:
        raise NotFound(N_("This trip is not in the lot."), code="NOT_IN_LOT")
    if statuses and entry.status not in statuses:
        raise LotError(N_("The trip is %(status)s in the lot; this cannot be done now."),
                       code="LOT_STATE", params={"status": entry.status})
    return entry


def _reason(reason: str | None) -> str:
    text = (reason or "").strip()
    if not text:
        raise sm.PreconditionFailed(N_("This action needs a reason."),
                                    extra={"reason": "REASON_REQUIRED"})
    return text[:500]


def hold(uow: UnitOfWork, actor: Actor, trip_id: int, reason: str | None, *, held: bool
         ) -> QueueEntry:
    session = uow.session
    why = _reason(reason)
    entry = _entry_for(session, trip_id, *((WAITING,) if held else (HELD,)))
    entry.status = HELD if held else WAITING
    entry.note = why
    uow.audit("lot.hold" if held else "lot.unhold", actor, subject_kind="trip",
              subject_id=str(trip_id), trip_id=trip_id, payload={"reason": why})
    uow.publish("lot", "queue", {"plant_id": entry.plant_id})
    session.flush()
    if not held:
        release_next(uow, entry.plant_id, Actor.system("dispatch"), clock.now())
    return entry


def release_now(uow: UnitOfWork, actor: Actor, trip_id: int, reason: str | None
                ) -> Release:
    """Release this trip ahead of its turn (it still needs a free dock)."""
    why = _reason(reason)
    entry = _entry_for(uow.session, trip_id, WAITING, HELD)
    if entry.status == HELD:
        entry.status = WAITING
    released = release_next(uow, entry.plant_id, actor, clock.now(), trip_id=trip_id,
                            reason=why, force=True)
    if released is None:
        raise LotError(N_("No dock of this plant is free."), code="NO_FREE_DOCK")
    return released


def reorder(uow: UnitOfWork, actor: Actor, trip_id: int, position: int, reason: str | None
            ) -> list[int]:
    """Put a trip at `position` (1 = next) of its plant's queue; the ones the dispatcher
    has placed keep their ranks, the rest follow in the rule order."""
    session = uow.session
    why = _reason(reason)
    entry = _entry_for(session, trip_id, WAITING, HELD)
    queue = list(session.scalars(select(QueueEntry).where(
        QueueEntry.plant_id == entry.plant_id, QueueEntry.status.in_((WAITING, HELD)))
        .order_by(*QUEUE_ORDER).with_for_update()))
    others = [e for e in queue if e.trip_id != trip_id]
    at = max(0, min(position - 1, len(others)))
    ordered = [*others[:at], entry, *others[at:]]
    for rank, e in enumerate(ordered, start=1):
        e.manual_rank = rank
    uow.audit("lot.reorder", actor, subject_kind="trip", subject_id=str(trip_id),
              trip_id=trip_id, payload={"position": at + 1, "reason": why,
                                        "order": [e.trip_id for e in ordered]})
    uow.publish("lot", "queue", {"plant_id": entry.plant_id})
    return [e.trip_id for e in ordered]


def send_away(uow: UnitOfWork, actor: Actor, trip_id: int, reason: str | None) -> Trip:
    session = uow.session
    why = _reason(reason)
    entry = _entry_for(session, trip_id, WAITING, HELD, ENTRANCE)
    trip = session.get(Trip, trip_id, with_for_update=True)
    assert trip is not None
    sm.apply(uow, trip, "send_away", actor, sm.Context(now=clock.now(), reason=why))
    entry.status = SENT_AWAY
    if _free_bay(session, entry, trip_id):
        _admit_after_commit(uow, entry.lot_id, clock.now(), zone_id=entry.zone_id)
    uow.publish("lot", "queue", {"plant_id": entry.plant_id})
    return trip


def requeue(uow: UnitOfWork, actor: Actor, trip_id: int, reason: str | None) -> Trip:
    """A released trip that missed its deadline goes back to wait (its dock freed)."""
    session = uow.session
    why = _reason(reason)
    _lock_lot_of_trip(session, trip_id)
    trip = session.get(Trip, trip_id, with_for_update=True)
    if trip is None:
        raise NotFound(N_("No such trip."))
    now = clock.now()
    sm.apply(uow, trip, "requeue", actor, sm.Context(now=now, reason=why))
    for release in session.scalars(select(Release).where(
            Release.trip_id == trip_id, Release.status.in_(("active", "overdue")))):
        release.status = "cancelled"
    entry = _entry_for(session, trip_id)
    entry.status, entry.arrived_at, entry.zone_id, entry.bay_id = WAITING, now, None, None
    lot = session.get(Lot, entry.lot_id)
    assert lot is not None
    _lock_lot(session, lot.id)
    outcome = zoning.place(list(trip.cargo), zone_views(session, lot.id))
    if isinstance(outcome, zoning.Placement):
        bay = session.get(Bay, outcome.bay_id)
        assert bay is not None
        bay.trip_id = trip.id
        entry.zone_id, entry.bay_id = outcome.zone_id, outcome.bay_id
    dock = session.scalar(select(Dock).where(Dock.trip_id == trip_id).with_for_update())
    session.flush()
    _resolve(session, trip_id, "RELEASE_DEADLINE_MISSED", now)
    if dock is not None:
        set_dock(uow, actor, dock.id, busy=False, now=now)
    return trip


def _free_bay(session: Session, entry: QueueEntry, trip_id: int) -> bool:
    """Give up the bay the trip holds; whether there was one."""
    if entry.bay_id is not None:
        bay = session.get(Bay, entry.bay_id)
        if bay is not None and bay.trip_id == trip_id:
            bay.trip_id = None
            return True
    return False


# --- deadlines and dwell -----------------------------------------------------------------------

def _open_alarm(session: Session, trip_id: int, kind: str) -> Alarm | None:
    return session.scalar(select(Alarm).where(Alarm.trip_id == trip_id, Alarm.kind == kind,
                                              Alarm.resolved_at.is_(None)).limit(1))


def _resolve(session: Session, trip_id: int, kind: str, now: datetime) -> None:
    alarm = _open_alarm(session, trip_id, kind)
    if alarm is not None:
        alarm.resolved_at = now


def watch(uow: UnitOfWork, now: datetime) -> dict[str, int]:
    """L08 deadlines missed, L09 lot waits too long, plant dwell and G23 park dwell too
    long: one alarm each (a missed deadline also marks the trip OVERDUE for the
    dispatcher)."""
    session = uow.session
    actor = Actor.system("lot-watch")
    counts = {"overdue": 0, "lot_wait": 0, "plant_dwell": 0, "park_dwell": 0}
    lot_ids = list(session.scalars(select(Lot.id).where(Lot.retired_at.is_(None))))
    for lot_id in lot_ids:
        _lock_lot(session, lot_id)
    for lot_id in lot_ids:  # a bay freed while its own admission failed or was cut off
        _admit_from_entrance(uow, lot_id, now, zone_id=None)
    for release in session.scalars(select(Release).where(
            Release.status == "active", Release.deadline < now).with_for_update(
            skip_locked=True)):
        trip = session.get(Trip, release.trip_id)
        if trip is None or trip.state != "RELEASED":
            continue
        release.status = "overdue"
        sm.apply(uow, trip, "mark_overdue", actor, sm.Context(now=now))
        raise_alarm(uow, "RELEASE_DEADLINE_MISSED",
                    f"{trip.code} did not reach its plant by {release.deadline:%H:%M} UTC",
                    actor=actor, trip_id=trip.id, vehicle_id=trip.vehicle_id)
        counts["overdue"] += 1
    lots = {lot.id: lot for lot in session.scalars(select(Lot))}
    for entry in session.scalars(select(QueueEntry).where(
            QueueEntry.status.in_((WAITING, HELD, ENTRANCE)))):
        lot = lots.get(entry.lot_id)
        limit = timedelta(minutes=lot.max_wait_min if lot else 480)
        if now - entry.arrived_at > limit and \
                _open_alarm(session, entry.trip_id, "LOT_WAIT_EXCEEDED") is None:
            raise_alarm(uow, "LOT_WAIT_EXCEEDED",
                        f"waiting {int((now - entry.arrived_at).total_seconds() // 60)} min",
                        actor=actor, trip_id=entry.trip_id)
            counts["lot_wait"] += 1
    plants = {p.id: p for p in session.scalars(select(Plant))}
    for trip in session.scalars(select(Trip).where(Trip.state == "AT_PLANT",
                                                   Trip.plant_in_at.is_not(None))):
        plant = plants.get(trip.plant_id)
        limit = timedelta(minutes=plant.max_dwell_min if plant else 240)
        if trip.plant_in_at and now - trip.plant_in_at > limit and \
                _open_alarm(session, trip.id, "PLANT_DWELL_EXCEEDED") is None:
            raise_alarm(uow, "PLANT_DWELL_EXCEEDED",
                        f"{trip.code} in {plant.name if plant else trip.plant_id} for "
                        f"{int((now - trip.plant_in_at).total_seconds() // 60)} min",
                        actor=actor, trip_id=trip.id, vehicle_id=trip.vehicle_id)
            counts["plant_dwell"] += 1
    counts["park_dwell"] = _park_dwell(uow, now, actor)
    uow.commit()
    return counts


def _park_dwell(uow: UnitOfWork, now: datetime, actor: Actor) -> int:
    """G23: a hazmat or hazardous-waste vehicle inside the perimeter longer than the
    park's dwell limit (from perimeter entry to perimeter exit): one alarm each."""
    session = uow.session
    raised = 0
    inside = select(Trip).where(Trip.entered_park_at.is_not(None),
                                Trip.category.in_(("hazmat", "hazwaste")),
                                Trip.state.in_(sm.OPEN_STATES))
    for trip in session.scalars(inside):
        limit = timedelta(minutes=park_policy(session, trip.park_id).dwell_limit_min)
        if trip.entered_park_at and now - trip.entered_park_at > limit and \
                _open_alarm(session, trip.id, "PARK_DWELL_EXCEEDED") is None:
            minutes = int((now - trip.entered_park_at).total_seconds() // 60)
            raise_alarm(uow, "PARK_DWELL_EXCEEDED",
                        f"G23: {trip.code} inside the park for {minutes} min "
                        f"(limit {int(limit.total_seconds() // 60)})",
                        actor=actor, trip_id=trip.id, vehicle_id=trip.vehicle_id)
            raised += 1
    return raised


def set_readiness(uow: UnitOfWork, actor: Actor, plant_id: int, *, ready: bool,
                  note: str | None, now: datetime) -> Plant:
    """L06: a plant says whether it can receive (a quality hold makes it not ready while
    its docks are free). Ready again, its next truck is released if a dock is free."""
    session = uow.session
    plant = session.get(Plant, plant_id, with_for_update=True)
    if plant is None or plant.retired_at is not None:
        raise NotFound(N_("No such plant."))
    note = (note or "").strip()[:200] or None
    if plant.ready == ready and plant.ready_note == note:
        return plant
    plant.ready, plant.ready_note, plant.ready_changed_at = ready, note, now
    uow.audit("plant.readiness", actor, subject_kind="plant", subject_id=str(plant.id),
              enterprise_id=plant.enterprise_id, payload={"ready": ready, "note": note})
    uow.publish("lot", "readiness", {"plant_id": plant.id})
    session.flush()
    if ready:
        release_next(uow, plant.id, Actor.system("dispatch"), now)
    return plant


def acknowledge(uow: UnitOfWork, actor: Actor, alarm_id: int, user_id: int | None) -> Alarm:
    alarm = uow.session.get(Alarm, alarm_id)
    if alarm is None:
        raise NotFound(N_("No such alarm."), code="ALARM_UNKNOWN")
    if alarm.acknowledged_at is None:
        alarm.acknowledged_at = clock.now()
        alarm.acknowledged_by_id = user_id
        uow.audit("alarm.acknowledge", actor, subject_kind="alarm", subject_id=str(alarm.id),
                  trip_id=alarm.trip_id, payload={"kind": alarm.kind})
        uow.publish("alarms", "acknowledged", {"id": alarm.id})
    return alarm


def queue_positions(session: Session, plant_id: int) -> list[QueueEntry]:
    return list(session.scalars(select(QueueEntry).where(
        QueueEntry.plant_id == plant_id, QueueEntry.status.in_((WAITING, HELD)))
        .order_by(*QUEUE_ORDER)))


def counts_by_status(session: Session, lot_id: int) -> dict[str, int]:
    return dict(session.execute(select(QueueEntry.status, func.count()).where(
        QueueEntry.lot_id == lot_id).group_by(QueueEntry.status)).all())
