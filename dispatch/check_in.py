"""Check-in (DESIGN §5): an arriving truck gets a bay in a compatible zone and its
place in its plant's queue, or waits at the entrance (L03/L05) and the dispatcher is
told."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kernel.errors import N_
from kernel.uow import Actor, UnitOfWork
from models import (
    Bay,
    Lot,
    QueueEntry,
    Trip,
)
from registry.read_model import (
    park_policy,
)
from trips import state_machine as sm

from . import zoning
from .alarms import raise_alarm
from .lot import ENTRANCE, WAITING, LotError, lock_lot, lot_of_park, open_alarm, resolve_alarm, room_for
from .release import release_next

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
    lock_lot(session, lot.id)
    blocked = zoning.excluded(lot.excluded_classes or (), list(trip.cargo))
    if blocked:
        raise LotError(N_("This lot does not admit class %(cls)s."), code="LOT_EXCLUDES_CLASS",
                       params={"cls": ", ".join(blocked)})
    outcome = room_for(session, trip)
    entry = _entry(session, trip, lot, now)
    if isinstance(outcome, zoning.Refusal):
        wait_at_entrance(uow, trip, actor, outcome, now)
        # No bay, but its plant may take it now (nobody ahead of it in the line).
        release_next(uow, trip.plant_id, Actor.system("dispatch"), now)
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
    resolve_alarm(session, trip.id, "LOT_NO_BAY", now)
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
    if open_alarm(session, trip.id, "LOT_NO_BAY") is None:
        detail: Any = N_("the lot holds as many vehicles as its capacity allows") \
            if refusal.lot_full else dict(sorted(refusal.reasons.items()))
        raise_alarm(uow, "LOT_NO_BAY", N_("%(rule)s: no bay for %(trip)s (%(detail)s)."),
                    args={"rule": refusal.rule, "trip": trip.code, "detail": detail},
                    actor=actor, trip_id=trip.id, vehicle_id=trip.vehicle_id)
    uow.publish("lot", "entrance", {"plant_id": trip.plant_id})
