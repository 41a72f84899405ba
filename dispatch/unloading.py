"""A truck at its dock (L06 call-forward): released, at the plant gate, unloading, done.
Each step is written to the trip's unloading record, what it shows is learned, and the
dock's expected free time and next call follow from it."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.orm import Session

from models import Dock, Plant, Unloading
from registry.read_model import park_policy

from . import forecast, learning

FREE_DOCK = "free_dock"
CALL_FORWARD = "call_forward"
TIMINGS = (FREE_DOCK, CALL_FORWARD)


def load_of(cargo: Iterable[Any]) -> tuple[str, float]:
    """The class that sets the pace (the heaviest line's) and the whole load in kg."""
    lines = list(cargo)
    if not lines:
        return forecast.ANY_CLASS, 0.0
    heaviest = max(lines, key=lambda c: c.quantity_kg or 0.0)
    return heaviest.hazard_class, sum(c.quantity_kg or 0.0 for c in lines)


def opened(session: Session, trip: Any, plant_id: int, dock_id: int, now: datetime, *,
           called_forward: bool) -> None:
    """The trip is released to `dock_id`."""
    hazard_class, quantity = load_of(trip.cargo)
    session.add(Unloading(trip_id=trip.id, plant_id=plant_id, dock_id=dock_id,
                          hazard_class=hazard_class, quantity_kg=quantity, released_at=now,
                          called_forward=called_forward))


_OF_TRIP = select(Unloading).where(Unloading.trip_id == bindparam("trip_id"))


def of_trip(session: Session, trip_id: int) -> Unloading | None:
    return session.scalar(_OF_TRIP, {"trip_id": trip_id})


def forget(session: Session, trip_id: int) -> None:
    """The trip's release is withdrawn (requeued, sent away): no record of an unloading
    that never started, and no dock keeps it as its next truck."""
    session.execute(delete(Unloading).where(Unloading.trip_id == trip_id,
                                            Unloading.started_at.is_(None)),
                    execution_options={"synchronize_session": False})
    # The dock calls another truck, late by now: as it is expected to free.
    session.execute(update(Dock).where(Dock.next_trip_id == trip_id).values(
        next_trip_id=None, call_at=Dock.expected_free_at),
        execution_options={"synchronize_session": False})


def arrived(session: Session, record: Unloading, plant: Plant, dock: Dock | None,
            now: datetime, park_id: int) -> None:
    """The plant gate read the truck: the drive is learned; it unloads now if its dock
    is its own, or waits at the plant gate for the truck before it."""
    if record.arrived_at is not None:
        return
    record.arrived_at = now
    if record.released_at is not None:
        learning.remember(session, plant.id, (forecast.DRIVE_KEY,),
                          forecast.minutes_between(record.released_at, now))
    if dock is not None and dock.trip_id == record.trip_id:
        started(session, record, plant, dock, now, park_id)


def started(session: Session, record: Unloading, plant: Plant, dock: Dock, now: datetime,
            park_id: int) -> None:
    """Unloading starts: when the dock should free, and when to call its next truck."""
    if record.arrived_at is None:
        record.arrived_at = now
    record.started_at = now
    policy = park_policy(session, park_id)
    estimates = learning.estimates_of(session, plant.id)
    record.predicted_min = forecast.predict_unload(
        estimates, record.hazard_class, record.quantity_kg, policy.unload_default_min)
    dock.expected_free_at = now + timedelta(minutes=record.predicted_min)
    dock.call_at = forecast.call_time(
        dock.expected_free_at, forecast.predict_drive(estimates, policy.drive_default_min),
        plant.call_margin_min) if plant.release_timing == CALL_FORWARD else None


def ended(session: Session, record: Unloading, now: datetime) -> None:
    """Unloading is done (the receiver says so, or the truck leaves the plant)."""
    if record.ended_at is not None:
        return
    if record.started_at is None:  # nobody said it started: it started on arrival
        record.started_at = record.arrived_at or now
    record.ended_at = now
    learning.remember(session, record.plant_id,
                      forecast.unload_keys(record.hazard_class, record.quantity_kg),
                      forecast.minutes_between(record.started_at, now))


def hand_over(session: Session, dock: Dock, plant: Plant, now: datetime, park_id: int) -> None:
    """The dock's truck is done: the truck called forward to it takes it (and unloads at
    once if it is already at the plant gate)."""
    next_trip = dock.next_trip_id
    dock.trip_id, dock.next_trip_id = next_trip, None
    dock.expected_free_at = dock.call_at = None
    record = of_trip(session, next_trip) if next_trip is not None else None
    if record is not None and record.arrived_at is not None:
        started(session, record, plant, dock, now, park_id)
