"""Opening and receiving hours (DOMAIN B04): `{"mon": [["07:00", "19:00"]], …}` in park
local time. An empty mapping means always open; a weekday missing from a non-empty
mapping means closed that day. "24:00" ends a span at midnight."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from .documents import PARK_TZ

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

Hours = dict[str, Any]


def _minutes(text: str) -> int:
    hh, mm = text.strip().split(":")
    return int(hh) * 60 + int(mm)


def spans_of(hours: Hours, weekday: int) -> list[tuple[int, int]]:
    """Open spans of a weekday in minutes after midnight."""
    out = []
    for span in hours.get(WEEKDAYS[weekday]) or []:
        start, end = _minutes(span[0]), _minutes(span[1])
        if end > start:
            out.append((start, end))
    return out


def window_within(hours: Hours | None, start: datetime, end: datetime,
                  tz: ZoneInfo = PARK_TZ) -> bool:
    """Every minute of [start, end] falls inside an open span."""
    if not hours:
        return True
    local, stop = start.astimezone(tz), end.astimezone(tz)
    while local < stop:
        midnight = datetime.combine(local.date() + timedelta(days=1), time(0), tz)
        piece_end = min(stop, midnight)
        a = local.hour * 60 + local.minute
        b = a + int((piece_end - local).total_seconds() // 60)
        if not any(s <= a and b <= e for s, e in spans_of(hours, local.weekday())):
            return False
        local = piece_end
    return True


def describe(hours: Hours | None) -> str:
    if not hours:
        return "00:00–24:00"
    parts = []
    for day in WEEKDAYS:
        spans = hours.get(day) or []
        if spans:
            parts.append(f"{day} " + ",".join(f"{s[0]}–{s[1]}" for s in spans))
    return "; ".join(parts) or "—"
