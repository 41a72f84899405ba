"""The order trips leave the lot for their plant (DOMAIN L06): pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Waiting:
    trip_id: int
    priority: int  # higher first
    window_start: datetime
    arrived_at: datetime
    manual_rank: int | None = None  # a dispatcher's re-order: ranked trips first
    held: bool = False


def sort_key(w: Waiting) -> tuple[object, ...]:
    """Dispatcher's rank, then priority (higher first), booked window start, lot arrival,
    and the booking id so that ties break the same way every time."""
    return (w.manual_rank is None, w.manual_rank or 0, -w.priority, w.window_start,
            w.arrived_at, w.trip_id)


def queue_order(entries: list[Waiting]) -> list[Waiting]:
    return sorted(entries, key=sort_key)


def next_to_release(entries: list[Waiting]) -> Waiting | None:
    for entry in queue_order(entries):
        if not entry.held:
            return entry
    return None
