"""Lot and dock figures per day and plant: pure over the timestamps of trips."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime


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


@dataclass(frozen=True)
class PlantDay:
    plant_id: int
    trips: int
    mean_wait_min: float | None
    p90_wait_min: float | None
    mean_release_to_arrival_min: float | None
    dock_utilisation: float | None
    no_shows: int


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


def plant_day(plant_id: int, trips: Sequence[TripTimes], docks: int, start: datetime,
              end: datetime) -> PlantDay:
    waits = [w for t in trips if (w := _minutes(t.checked_in, t.released)) is not None]
    arrivals = [w for t in trips if (w := _minutes(t.released, t.at_plant)) is not None]
    busy = [(t.released, t.left_plant or end) for t in trips if t.released is not None]
    return PlantDay(
        plant_id=plant_id, trips=sum(not t.no_show for t in trips),
        mean_wait_min=_round(mean(waits)), p90_wait_min=_round(percentile(waits, 0.9)),
        mean_release_to_arrival_min=_round(mean(arrivals)),
        dock_utilisation=_round(utilisation(busy, docks, start, end), 3),
        no_shows=sum(t.no_show for t in trips))


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)
