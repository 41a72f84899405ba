"""A per-process cache for what changes a few times a year but is read on every
request (a park's lanes, gates, which lot serves a plant): each entry lives a fixed
time, so an edit is seen everywhere within that time, with no invalidation traffic
between workers."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")


class TtlCache:
    def __init__(self, ttl_s: float) -> None:
        self.ttl_s = ttl_s
        self._entries: dict[Hashable, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable, load: Callable[[], T]) -> T:
        now = time.monotonic()
        with self._lock:
            hit = self._entries.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]  # type: ignore[no-any-return]
        value = load()  # outside the lock: a slow load must not stall other keys
        self.put(key, value, now)
        return value

    def put(self, key: Hashable, value: Any, now: float | None = None) -> None:
        """Keep `value` for `key` from `now` (the time its load started) on."""
        expires = (time.monotonic() if now is None else now) + self.ttl_s
        with self._lock:
            self._entries[key] = (expires, value)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
