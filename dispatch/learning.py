"""What call-forward has learned (dispatch_estimates), kept up to date one sample at a
time, and rebuilt from the unloading history on demand."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from models import DispatchEstimate, Unloading

from . import forecast
from .forecast import Estimate, Key


def estimates_of(session: Session, plant_id: int) -> dict[Key, Estimate]:
    return {key: Estimate(row.samples, row.mean_min)
            for key, row in _rows_of(session, plant_id).items()}


def _rows_of(session: Session, plant_id: int) -> dict[Key, DispatchEstimate]:
    # A plant has a few dozen cells at most: one read, kept for the rest of the
    # transaction (an unloading's end writes them, the next one's start reads them).
    transaction = session.get_transaction()
    kept = session.info.get("estimates")
    if kept is None or kept[0] is not transaction:
        kept = session.info["estimates"] = (transaction, {})
    cache: dict[int, dict[Key, DispatchEstimate]] = kept[1]
    if plant_id not in cache:
        cache[plant_id] = {(r.kind, r.hazard_class, r.band): r for r in session.scalars(
            select(DispatchEstimate).where(DispatchEstimate.plant_id == plant_id))}
    return cache[plant_id]


def remember(session: Session, plant_id: int, keys: Iterable[Key], minutes: float) -> None:
    """One more observed unloading or drive, in every cell it belongs to."""
    if minutes < 0:
        return  # clocks out of step: nothing to learn
    rows = _rows_of(session, plant_id)
    for key in keys:
        row = rows.get(key)
        learned = forecast.learn(Estimate(row.samples, row.mean_min) if row else None, minutes)
        if row is None:
            row = rows[key] = DispatchEstimate(plant_id=plant_id, kind=key[0],
                                               hazard_class=key[1], band=key[2])
            session.add(row)
        row.samples, row.mean_min = learned.samples, learned.mean_min


def forget_cached(session: Session) -> None:
    session.info.pop("estimates", None)


def relearn(session: Session, plant_ids: Iterable[int] | None = None) -> int:
    """Rebuild the estimates from the unloading history, oldest first (as they would
    have been learned live); how many unloadings were read."""
    history = select(Unloading).where(Unloading.ended_at.is_not(None)).order_by(
        Unloading.ended_at, Unloading.id)
    wanted = None if plant_ids is None else list(plant_ids)
    if wanted is not None:
        history = history.where(Unloading.plant_id.in_(wanted))
        session.execute(delete(DispatchEstimate).where(DispatchEstimate.plant_id.in_(wanted)))
    else:
        session.execute(delete(DispatchEstimate))
    forget_cached(session)
    samples: dict[tuple[int, Key], list[float]] = defaultdict(list)
    read = 0
    for u in session.scalars(history):
        read += 1
        if u.started_at is not None and u.ended_at is not None:
            minutes = forecast.minutes_between(u.started_at, u.ended_at)
            for key in forecast.unload_keys(u.hazard_class, u.quantity_kg):
                samples[(u.plant_id, key)].append(minutes)
        if u.released_at is not None and u.arrived_at is not None:
            samples[(u.plant_id, forecast.DRIVE_KEY)].append(
                forecast.minutes_between(u.released_at, u.arrived_at))
    for (plant_id, key), values in samples.items():
        learned = forecast.learn_all(v for v in values if v >= 0)
        if learned is not None:
            session.add(DispatchEstimate(plant_id=plant_id, kind=key[0], hazard_class=key[1],
                                         band=key[2], samples=learned.samples,
                                         mean_min=learned.mean_min))
    session.flush()
    return read
