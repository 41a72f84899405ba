"""The lot as the other modules of dispatch read and lock it: its zones and room, the
queue's order and statuses, the lot's lock (every change to the lot takes it first:
lot → dock → queue entry → trip), and the alarms of a trip."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import bindparam, case, func, select
from sqlalchemy.orm import Session

from kernel.cache import TtlCache
from kernel.errors import N_, Conflict, NotFound
from models import (
    Alarm,
    Bay,
    CargoLine,
    Lot,
    Plant,
    QueueEntry,
    Trip,
    Zone,
)

from . import zoning

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


def lock_lot(session: Session, lot_id: int) -> None:
    """Changes to one lot are serialised: a zone's mix must be judged with every truck
    standing in it, and a lot sees a few hundred changes an hour, not a thousand a
    second. Taken first by every public function (taking a row lock again in the same
    transaction costs one short statement)."""
    session.execute(_LOCK_LOT, {"id": lot_id})


_LOCK_LOT = select(Lot.id).where(Lot.id == bindparam("id")).with_for_update()




# Which lot serves a plant, which lanes leave a lot, the names of enterprises and
# plants (the L07 waybill check): asked on every release, changed once in years, so
# kept for a minute per process (per database), as the gate keeps them.
STRUCTURE = TtlCache(60.0)


def lot_of_plant(session: Session, plant_id: int) -> int | None:
    from models import Enterprise

    return STRUCTURE.get((session.get_bind().engine.url, "lot_of_plant", plant_id), lambda: session.scalar(
        select(Lot.id).join(Enterprise, Enterprise.park_id == Lot.park_id)
        .join(Plant, Plant.enterprise_id == Enterprise.id)
        .where(Plant.id == plant_id, Lot.retired_at.is_(None)).order_by(Lot.id).limit(1)))


def lock_lot_of_plant(session: Session, plant_id: int) -> None:
    lot = lot_of_plant(session, plant_id)
    if lot is not None:
        lock_lot(session, lot)


def lock_lot_of_trip(session: Session, trip_id: int) -> None:
    plant_id = session.scalar(select(Trip.plant_id).where(Trip.id == trip_id))
    if plant_id is None:
        raise NotFound(N_("No such trip."))
    lock_lot_of_plant(session, plant_id)


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
    lock_lot(session, lot.id)
    return zoning.place(list(trip.cargo), zone_views(session, lot.id),
                        room_left=room_left(session, lot))



# --- deadlines and dwell -----------------------------------------------------------------------

def open_alarm(session: Session, trip_id: int, kind: str) -> Alarm | None:
    return session.scalar(select(Alarm).where(Alarm.trip_id == trip_id, Alarm.kind == kind,
                                              Alarm.resolved_at.is_(None)).limit(1))


def resolve_alarm(session: Session, trip_id: int, kind: str, now: datetime) -> None:
    alarm = open_alarm(session, trip_id, kind)
    if alarm is not None:
        alarm.resolved_at = now


def queue_positions(session: Session, plant_id: int) -> list[QueueEntry]:
    return list(session.scalars(select(QueueEntry).where(
        QueueEntry.plant_id == plant_id, QueueEntry.status.in_((WAITING, HELD)))
        .order_by(*QUEUE_ORDER)))


def counts_by_status(session: Session, lot_id: int) -> dict[str, int]:
    return dict(session.execute(select(QueueEntry.status, func.count()).where(
        QueueEntry.lot_id == lot_id).group_by(QueueEntry.status)).all())
