"""Call-forward's arithmetic (L06): how long an unloading and the drive from the lot
are expected to take, learned from the park's own history, and when to call the next
truck so it reaches its dock as the dock frees. Pure functions over plain data."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

# Unloading time grows with the load; bands keep enough history in each cell.
QUANTITY_BANDS_KG = (5000.0, 15000.0, 25000.0)  # ≤5 t, ≤15 t, ≤25 t, more
ANY_CLASS = "*"
ANY_BAND = -1
UNLOAD = "unload"
DRIVE = "drive"
# Fewer samples than this at a plant (or of drives to it) and the park's default is used.
MIN_SAMPLES = 3
# The mean forgets beyond about the last WINDOW samples: a plant's crew, pumps and
# roads change, and last year's unloadings say little about today's.
WINDOW = 30

Key = tuple[str, str, int]  # (kind, hazard class or ANY_CLASS, band or ANY_BAND)


@dataclass(frozen=True)
class Estimate:
    samples: int
    mean_min: float


def quantity_band(quantity_kg: float) -> int:
    return sum(quantity_kg > edge for edge in QUANTITY_BANDS_KG)


def learn(estimate: Estimate | None, minutes: float) -> Estimate:
    """One more sample: an exact mean for the first WINDOW, then a moving one."""
    if estimate is None:
        return Estimate(1, minutes)
    samples = min(estimate.samples + 1, WINDOW)
    return Estimate(samples, estimate.mean_min + (minutes - estimate.mean_min) / samples)


def learn_all(samples: Iterable[float], estimate: Estimate | None = None) -> Estimate | None:
    for minutes in samples:
        estimate = learn(estimate, minutes)
    return estimate


def unload_keys(hazard_class: str, quantity_kg: float) -> tuple[Key, Key, Key]:
    """Finest first: this class and load, this class, anything at this plant."""
    return ((UNLOAD, hazard_class, quantity_band(quantity_kg)), (UNLOAD, hazard_class, ANY_BAND),
            (UNLOAD, ANY_CLASS, ANY_BAND))


DRIVE_KEY: Key = (DRIVE, ANY_CLASS, ANY_BAND)


# How many samples' worth of weight the coarser estimate keeps in a finer one: a cell
# with few unloadings leans on its class's (or plant's) mean, a cell with many on its own.
PRIOR_WEIGHT = 3.0


def _blend(found: Estimate | None, prior: float) -> float:
    if found is None or found.samples <= 0:
        return prior
    return (found.samples * found.mean_min + PRIOR_WEIGHT * prior) / (found.samples + PRIOR_WEIGHT)


def predict_unload(estimates: Mapping[Key, Estimate], hazard_class: str, quantity_kg: float,
                   default_min: float) -> float:
    """The plant's mean (the park's default until it has MIN_SAMPLES), refined by the
    class's mean, refined by the class-and-load cell's, each weighted by its samples
    against PRIOR_WEIGHT for the coarser one."""
    cell, cls, plant = unload_keys(hazard_class, quantity_kg)
    overall = estimates.get(plant)
    if overall is None or overall.samples < MIN_SAMPLES:
        return float(default_min)  # too little history to say anything of this plant
    return _blend(estimates.get(cell), _blend(estimates.get(cls), overall.mean_min))


def predict_drive(estimates: Mapping[Key, Estimate], default_min: float) -> float:
    found = estimates.get(DRIVE_KEY)
    return found.mean_min if found is not None and found.samples >= MIN_SAMPLES \
        else float(default_min)


def call_time(expected_free_at: datetime, drive_min: float, margin_min: float) -> datetime:
    """When to release the next truck: it arrives `margin_min` after the dock is expected
    to free (a margin > 0 trades a little dock idle time for fewer early arrivals)."""
    return expected_free_at - timedelta(minutes=drive_min - margin_min)


def minutes_between(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / 60
