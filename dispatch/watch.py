"""The minute watch (L08, L09, plant dwell, G23 park dwell): deadlines missed and
waits too long raise alarms, once each."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from kernel.errors import N_
from kernel.uow import Actor, UnitOfWork
from models import (
    Lot,
    Plant,
    QueueEntry,
    Release,
    Trip,
)
from registry.read_model import (
    park_policy,
)
from trips import state_machine as sm

from .alarms import raise_alarm
from .lot import ENTRANCE, HELD, WAITING, lock_lot, open_alarm
from .release import admit_from_entrance


def watch(uow: UnitOfWork, now: datetime) -> dict[str, int]:
    """L08 deadlines missed, L09 lot waits too long, plant dwell and G23 park dwell too
    long: one alarm each (a missed deadline also marks the trip OVERDUE for the
    dispatcher)."""
    session = uow.session
    actor = Actor.system("lot-watch")
    counts = {"overdue": 0, "lot_wait": 0, "plant_dwell": 0, "park_dwell": 0}
    lot_ids = list(session.scalars(select(Lot.id).where(Lot.retired_at.is_(None))))
    for lot_id in lot_ids:
        lock_lot(session, lot_id)
    for lot_id in lot_ids:  # a bay freed while its own admission failed or was cut off
        admit_from_entrance(uow, lot_id, now, zone_id=None)
    for release in session.scalars(select(Release).where(
            Release.status == "active", Release.deadline < now).with_for_update(
            skip_locked=True)):
        trip = session.get(Trip, release.trip_id)
        if trip is None or trip.state != "RELEASED":
            continue
        release.status = "overdue"
        sm.apply(uow, trip, "mark_overdue", actor, sm.Context(now=now))
        raise_alarm(uow, "RELEASE_DEADLINE_MISSED",
                    N_("%(trip)s did not reach its plant by %(deadline_at)s."),
                    args={"trip": trip.code, "deadline_at": release.deadline},
                    actor=actor, trip_id=trip.id, vehicle_id=trip.vehicle_id)
        counts["overdue"] += 1
    lots = {lot.id: lot for lot in session.scalars(select(Lot))}
    for entry in session.scalars(select(QueueEntry).where(
            QueueEntry.status.in_((WAITING, HELD, ENTRANCE)))):
        lot = lots.get(entry.lot_id)
        limit = timedelta(minutes=lot.max_wait_min if lot else 480)
        if now - entry.arrived_at > limit and \
                open_alarm(session, entry.trip_id, "LOT_WAIT_EXCEEDED") is None:
            raise_alarm(uow, "LOT_WAIT_EXCEEDED",
                        N_("Waiting in the lot for %(minutes)s min."),
                        args={"minutes": int((now - entry.arrived_at).total_seconds() // 60)},
                        actor=actor, trip_id=entry.trip_id)
            counts["lot_wait"] += 1
    plants = {p.id: p for p in session.scalars(select(Plant))}
    for trip in session.scalars(select(Trip).where(Trip.state == "AT_PLANT",
                                                   Trip.plant_in_at.is_not(None))):
        plant = plants.get(trip.plant_id)
        limit = timedelta(minutes=plant.max_dwell_min if plant else 240)
        if trip.plant_in_at and now - trip.plant_in_at > limit and \
                open_alarm(session, trip.id, "PLANT_DWELL_EXCEEDED") is None:
            raise_alarm(uow, "PLANT_DWELL_EXCEEDED",
                        N_("%(trip)s has been in %(plant)s for %(minutes)s min."),
                        args={"trip": trip.code,
                              "plant": plant.name if plant else str(trip.plant_id),
                              "minutes": int((now - trip.plant_in_at).total_seconds() // 60)},
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
                open_alarm(session, trip.id, "PARK_DWELL_EXCEEDED") is None:
            minutes = int((now - trip.entered_park_at).total_seconds() // 60)
            raise_alarm(uow, "PARK_DWELL_EXCEEDED",
                        N_("G23: %(trip)s has been inside the park for %(minutes)s min "
                           "(limit %(limit)s min)."),
                        args={"trip": trip.code, "minutes": minutes,
                              "limit": int(limit.total_seconds() // 60)},
                        actor=actor, trip_id=trip.id, vehicle_id=trip.vehicle_id)
            raised += 1
    return raised
