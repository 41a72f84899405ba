"""Lot and dock figures per day and plant: pure over the timestamps of trips and of
their unloadings."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise


def percentile(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    rank = q * (len(ordered) - 1)
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def mean(values: Sequence[float]) -> float | None:
    return statistics.fmean(values) if values else None


@dataclass(frozen=True)
class TripTimes:
    plant_id: int
    checked_in: datetime | None
    released: datetime | None
    at_plant: datetime | None
    left_plant: datetime | None
    no_show: bool = False
    # From the trip's unloading record (None where it has none).
    dock_id: int | None = None
    unload_started: datetime | None = None
    unload_ended: datetime | None = None
    predicted_unload_min: float | None = None


@dataclass(frozen=True)
class PlantDay:
    plant_id: int
    trips: int
    mean_wait_min: float | None
    p90_wait_min: float | None
    mean_release_to_arrival_min: float | None
    dock_utilisation: float | None
    no_shows: int
    # Call-forward's figures: how long trucks waited at the plant gate for their dock,
    # how long a dock stood idle between a truck and the next one already called to
    # it, how far unloading times were from their prediction (mean absolute), and the
    # share of dock time spent actually unloading (reservation for the drive excluded).
    plant_gate_wait_mean_min: float | None = None
    dock_idle_mean_min: float | None = None
    unload_error_mean_min: float | None = None
    unload_utilisation: float | None = None


def _minutes(a: datetime | None, b: datetime | None) -> float | None:
    return (b - a).total_seconds() / 60 if a and b else None


def utilisation(busy: Sequence[tuple[datetime, datetime]], docks: int, start: datetime,
                end: datetime) -> float | None:
    """Share of dock time [start, end) spent reserved or occupied (release → leaving)."""
    span = (end - start).total_seconds() * docks
    if span <= 0:
        return None
    used = sum(max(0.0, (min(b, end) - max(a, start)).total_seconds()) for a, b in busy)
    return min(1.0, used / span)


def dock_idle(trips: Sequence[TripTimes]) -> list[float]:
    """Minutes each dock stood idle between a truck's end and the next one's start,
    where that next truck had been released by then: idle time the dispatching caused
    (the drive from the lot), not a lack of trucks."""
    by_dock: dict[int, list[TripTimes]] = {}
    for t in trips:
        if t.dock_id is not None and t.unload_started is not None:
            by_dock.setdefault(t.dock_id, []).append(t)
    gaps = []
    for unloads in by_dock.values():
        unloads.sort(key=lambda t: t.unload_started)  # type: ignore[arg-type,return-value]
        for before, after in pairwise(unloads):
            if before.unload_ended and after.released and after.released <= before.unload_ended:
                gaps.append(max(0.0, _minutes(before.unload_ended, after.unload_started) or 0.0))
    return gaps


def plant_day(plant_id: int, trips: Sequence[TripTimes], docks: int, start: datetime,
              end: datetime) -> PlantDay:
    waits = [w for t in trips if (w := _minutes(t.checked_in, t.released)) is not None]
    arrivals = [w for t in trips if (w := _minutes(t.released, t.at_plant)) is not None]
    busy = [(t.released, t.left_plant or end) for t in trips if t.released is not None]
    gate = [w for t in trips if (w := _minutes(t.at_plant, t.unload_started)) is not None]
    errors = [abs(took - t.predicted_unload_min) for t in trips
              if t.predicted_unload_min is not None
              and (took := _minutes(t.unload_started, t.unload_ended)) is not None]
    unloading = [(t.unload_started, t.unload_ended or end) for t in trips
                 if t.unload_started is not None]
    return PlantDay(
        plant_id=plant_id, trips=sum(not t.no_show for t in trips),
        mean_wait_min=_round(mean(waits)), p90_wait_min=_round(percentile(waits, 0.9)),
        mean_release_to_arrival_min=_round(mean(arrivals)),
        dock_utilisation=_round(utilisation(busy, docks, start, end), 3),
        no_shows=sum(t.no_show for t in trips),
        plant_gate_wait_mean_min=_round(mean(gate)),
        dock_idle_mean_min=_round(mean(dock_idle(trips))),
        unload_error_mean_min=_round(mean(errors)),
        unload_utilisation=_round(utilisation(unloading, docks, start, end), 3))


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)
