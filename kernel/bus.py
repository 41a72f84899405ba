"""Event bus: who published what, for live pages and notifications.

Two implementations behind one interface: an in-process bus for the embedded
default, and Redis pub/sub for several processes. In both, each process keeps one
listener and fans events out to per-subscriber queues (CTFd's pattern), so a
thousand open pages cost one Redis connection, not a thousand.

The database is the source of truth; the bus only notifies. A page that missed an
event (reconnect, Redis restart) reloads what it shows from the database.
"""

from __future__ import annotations

import fnmatch
import json
import logging
import queue
import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BusEvent:
    channel: str
    type: str
    data: dict[str, Any]
    id: str = field(default_factory=lambda: uuid.uuid4().hex)

    def to_json(self) -> str:
        return json.dumps(
            {"channel": self.channel, "type": self.type, "data": self.data, "id": self.id},
            ensure_ascii=False,
            default=str,
        )

    @classmethod
    def from_json(cls, raw: str | bytes) -> BusEvent:
        obj = json.loads(raw)
        return cls(channel=obj["channel"], type=obj["type"], data=obj["data"], id=obj["id"])


class Subscription:
    """A bounded queue of events on the channels (glob patterns) asked for.

    When a subscriber falls behind by `maxsize` events the oldest are dropped and
    `missed` counts them, so a stuck browser tab cannot grow the server's memory.
    """

    def __init__(self, bus: EventBus, patterns: Iterable[str], maxsize: int = 1000) -> None:
        self._bus = bus
        self.patterns = tuple(patterns)
        self._queue: queue.Queue[BusEvent] = queue.Queue(maxsize=maxsize)
        self.missed = 0
        self.closed = False

    def matches(self, channel: str) -> bool:
        return any(fnmatch.fnmatchcase(channel, p) for p in self.patterns)

    def deliver(self, event: BusEvent) -> None:
        while True:
            try:
                self._queue.put_nowait(event)
                return
            except queue.Full:
                try:
                    self._queue.get_nowait()
                    self.missed += 1
                except queue.Empty:
                    pass

    def get(self, timeout: float | None = None) -> BusEvent | None:
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._bus._remove(self)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class EventBus:
    def __init__(self) -> None:
        self._subs: list[Subscription] = []
        self._lock = threading.Lock()

    def publish(self, channel: str, type: str, data: dict[str, Any]) -> BusEvent:
        event = BusEvent(channel=channel, type=type, data=data)
        self._send(event)
        return event

    def subscribe(self, patterns: Iterable[str], maxsize: int = 1000) -> Subscription:
        sub = Subscription(self, patterns, maxsize)
        with self._lock:
            self._subs.append(sub)
        self._on_subscribe()
        return sub

    def close(self) -> None:
        with self._lock:
            self._subs.clear()

    @property
    def subscriber_count(self) -> int:
        with self._lock:
            return len(self._subs)

    def _fan_out(self, event: BusEvent) -> None:
        with self._lock:
            subs = [s for s in self._subs if s.matches(event.channel)]
        for s in subs:
            s.deliver(event)

    def _remove(self, sub: Subscription) -> None:
        with self._lock:
            if sub in self._subs:
                self._subs.remove(sub)

    def _send(self, event: BusEvent) -> None:
        raise NotImplementedError

    def _on_subscribe(self) -> None:
        """Hook for buses that start a listener lazily."""


class InProcessBus(EventBus):
    """Events reach subscribers in this process only (embedded default)."""

    def _send(self, event: BusEvent) -> None:
        self._fan_out(event)


class RedisBus(EventBus):
    """Events travel through Redis pub/sub to every process sharing the prefix."""

    def __init__(self, url: str, prefix: str = "parkgate") -> None:
        super().__init__()
        import redis

        self._redis = redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=5)
        self._url = url
        self.prefix = prefix
        self._listener: threading.Thread | None = None
        self._stop = threading.Event()
        self._ready = threading.Event()
        self.reconnects = 0

    @property
    def listener_name(self) -> str:
        return f"{self.prefix}-bus-listener"

    def _key(self, channel: str) -> str:
        return f"{self.prefix}:bus:{channel}"

    def _send(self, event: BusEvent) -> None:
        try:
            self._redis.publish(self._key(event.channel), event.to_json())
        except Exception:
            log.warning("event bus publish failed; live pages will catch up on reconnect",
                        exc_info=True)

    def _on_subscribe(self) -> None:
        with self._lock:
            if self._listener is None or not self._listener.is_alive():
                self._ready.clear()
                self._listener = threading.Thread(
                    target=self._listen, name="parkgate-bus-listener", daemon=True
                )
                self._listener.start()
        # A subscriber expects events published after subscribe() returns.
        self._ready.wait(timeout=5)

    def _listen(self) -> None:
        import redis

        backoff = 0.2
        pattern = self._key("*")
        strip = len(self._key(""))
        while not self._stop.is_set():
            # Named, so an operator's CLIENT LIST shows whose subscription a connection is.
            client = redis.Redis.from_url(self._url, socket_connect_timeout=5,
                                          client_name=self.listener_name)
            pubsub = client.pubsub()
            try:
                pubsub.psubscribe(pattern)
                # Wait for Redis to confirm the subscription before declaring ready, so
                # an event published right after subscribe() returns is not missed.
                while not self._stop.is_set():
                    msg = pubsub.get_message(timeout=1.0)
                    if msg and msg.get("type") == "psubscribe":
                        break
                self._ready.set()
                backoff = 0.2
                while not self._stop.is_set():
                    msg = pubsub.get_message(timeout=1.0)
                    if msg is None or msg.get("type") != "pmessage":
                        continue
                    try:
                        event = BusEvent.from_json(msg["data"])
                    except (ValueError, KeyError):
                        log.warning("dropping malformed bus message on %s", msg.get("channel"))
                        continue
                    if msg["channel"].decode()[strip:] == event.channel:
                        self._fan_out(event)
            except redis.RedisError:
                self.reconnects += 1
                log.warning("event bus lost Redis; reconnecting in %.1fs", backoff)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 5.0)
            finally:
                try:
                    pubsub.close()
                    client.close()
                except Exception:  # noqa: BLE001, S110 - closing a dead connection
                    pass

    def close(self) -> None:
        self._stop.set()
        if self._listener is not None:
            self._listener.join(timeout=3)
        super().close()
        self._redis.close()


def make_bus(redis_url: str | None, prefix: str = "parkgate") -> EventBus:
    return RedisBus(redis_url, prefix) if redis_url else InProcessBus()
