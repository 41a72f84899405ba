"""The one clock the whole application reads.

Tests and the demo pin it to an instant (frozen, or ticking on from there);
production refuses a pinned clock (see parkgate.config).
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

_lock = threading.Lock()
_pinned_at: datetime | None = None
_pinned_monotonic: float | None = None  # set when the pinned clock keeps ticking
_rate = 1.0  # simulated seconds per real second (the demo's fast-forward)


def now() -> datetime:
    """The current instant, timezone-aware UTC."""
    with _lock:
        pinned, started, rate = _pinned_at, _pinned_monotonic, _rate
    if pinned is None:
        return datetime.now(UTC)
    if started is None:
        return pinned
    return pinned + timedelta(seconds=(time.monotonic() - started) * rate)


def pin(instant: datetime, *, ticking: bool = False, rate: float = 1.0) -> None:
    """Pin the clock at `instant`; `ticking`, it runs on from there, `rate` times as
    fast as the wall clock (the demo's fast-forward: an hour of a park in minutes)."""
    if instant.tzinfo is None:
        raise ValueError("pin the clock to an aware instant")
    if rate <= 0:
        raise ValueError("the clock runs forward")
    global _pinned_at, _pinned_monotonic, _rate
    with _lock:
        _pinned_at = instant.astimezone(UTC)
        _pinned_monotonic = time.monotonic() if ticking else None
        _rate = rate


def advance(delta: timedelta) -> None:
    """Move a pinned clock forward (tests of deadlines and windows)."""
    global _pinned_at
    with _lock:
        if _pinned_at is None:
            raise RuntimeError("the clock is not pinned")
        _pinned_at += delta


def unpin() -> None:
    global _pinned_at, _pinned_monotonic, _rate
    with _lock:
        _pinned_at = None
        _pinned_monotonic = None
        _rate = 1.0


def is_pinned() -> bool:
    return _pinned_at is not None
