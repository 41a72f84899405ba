"""The dispatcher's hand and the plants' word: hold, release now, reorder, send away,
requeue, check a trip in by hand, a dock free or busy, a plant's readiness,
acknowledging an alarm. Each is a use case (kernel.uow.use_case): it commits its
unit of work, or rolls it back when it refuses."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kernel import clock
from kernel.errors import N_, NotFound
from kernel.uow import Actor, UnitOfWork, use_case
from models import (
    Alarm,
    Bay,
    Dock,
    Lot,
    Plant,
    QueueEntry,
    Release,
    Trip,
)
from trips import state_machine as sm

from . import unloading, zoning
from .check_in import CheckIn, check_in
from .lot import (
    ENTRANCE,
    HELD,
    QUEUE_ORDER,
    SENT_AWAY,
    WAITING,
    LotError,
    lock_lot,
    lock_lot_of_trip,
    resolve_alarm,
    zone_views,
)
from .release import admit_after_commit, call_forward_due, release_next, report_unloading, set_dock

# --- the dispatcher's hand ---------------------------------------------------------------------

def _entry_for(session: Session, trip_id: int, *statuses: str) -> QueueEntry:
    lock_lot_of_trip(session, trip_id)
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


@use_case
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


@use_case
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


@use_case
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


@use_case
def send_away(uow: UnitOfWork, actor: Actor, trip_id: int, reason: str | None) -> Trip:
    session = uow.session
    why = _reason(reason)
    entry = _entry_for(session, trip_id, WAITING, HELD, ENTRANCE)
    trip = session.get(Trip, trip_id, with_for_update=True)
    assert trip is not None
    sm.apply(uow, trip, "send_away", actor, sm.Context(now=clock.now(), reason=why))
    unloading.forget(session, trip_id)  # sent away while called forward to a dock
    entry.status = SENT_AWAY
    if _free_bay(session, entry, trip_id):
        admit_after_commit(uow, entry.lot_id, clock.now(), zone_id=entry.zone_id)
    uow.publish("lot", "queue", {"plant_id": entry.plant_id})
    return trip


@use_case
def requeue(uow: UnitOfWork, actor: Actor, trip_id: int, reason: str | None) -> Trip:
    """A released trip that missed its deadline goes back to wait (its dock freed)."""
    session = uow.session
    why = _reason(reason)
    lock_lot_of_trip(session, trip_id)
    trip = session.get(Trip, trip_id, with_for_update=True)
    if trip is None:
        raise NotFound(N_("No such trip."))
    now = clock.now()
    sm.apply(uow, trip, "requeue", actor, sm.Context(now=now, reason=why))
    unloading.forget(session, trip_id)  # its next release is a new one
    for release in session.scalars(select(Release).where(
            Release.trip_id == trip_id, Release.status.in_(("active", "overdue")))):
        release.status = "cancelled"
    entry = _entry_for(session, trip_id)
    entry.status, entry.arrived_at, entry.zone_id, entry.bay_id = WAITING, now, None, None
    lot = session.get(Lot, entry.lot_id)
    assert lot is not None
    lock_lot(session, lot.id)
    outcome = zoning.place(list(trip.cargo), zone_views(session, lot.id))
    if isinstance(outcome, zoning.Placement):
        bay = session.get(Bay, outcome.bay_id)
        assert bay is not None
        bay.trip_id = trip.id
        entry.zone_id, entry.bay_id = outcome.zone_id, outcome.bay_id
    dock = session.scalar(select(Dock).where(Dock.trip_id == trip_id).with_for_update())
    session.flush()
    resolve_alarm(session, trip_id, "RELEASE_DEADLINE_MISSED", now)
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



@use_case
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


@use_case
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


@use_case
def check_in_by_hand(uow: UnitOfWork, principal: Any, *, code: str | None = None,
                     trip_id: int | None = None) -> tuple[Trip, CheckIn]:
    """A dispatcher checks a trip in by its booking code or id (the lot lane does it on
    a read)."""
    from booking.service import trip_by_code
    from trips.service import get_trip

    if code:
        trip = trip_by_code(uow.session, principal, code)
    elif trip_id:
        trip = get_trip(uow.session, principal, trip_id, for_update=True)
    else:
        raise NotFound(N_("Give the booking code or the trip id."), code="TRIP_REQUIRED")
    result = check_in(uow, trip, principal.actor, clock.now())
    return trip, result


@use_case
def mark_dock(uow: UnitOfWork, actor: Actor, dock_id: int, *, busy: bool) -> Release | None:
    """A plant says a dock is free (its next truck is released, or proposed) or busy."""
    release = set_dock(uow, actor, dock_id, busy=busy, now=clock.now())
    return release


@use_case
def report_dock_unloading(uow: UnitOfWork, actor: Actor, dock_id: int, *, event: str
                          ) -> Release | None:
    """A plant receiver says unloading at a dock started or ended (an end frees the
    dock: the truck called forward to it takes it, or the plant's next is called)."""
    return report_unloading(uow, actor, dock_id, event=event, now=clock.now())


@use_case
def call_forward(uow: UnitOfWork, now: datetime, *, plant_id: int | None = None) -> int:
    """Release every truck (of `plant_id`, or of every plant) whose call-forward time
    has come."""
    return call_forward_due(uow, now, plant_id=plant_id)
