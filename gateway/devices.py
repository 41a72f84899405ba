"""Barriers and LED boards, behind one interface.

The gate service commands a lane only after the passage is committed, and only an
OPEN decision lifts a barrier (DOMAIN G05). A controller that does not answer in
time leaves the barrier shut; the failure is recorded for the booth.
"""

from __future__ import annotations

import json
import logging
import threading
import urllib.request
from collections import defaultdict, deque
from dataclasses import dataclass
from typing import Any, Protocol

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Command:
    lane: str
    action: str  # OPEN | DENY | DIVERT_TO_LOT | HOLD_FOR_OPERATOR
    lift: bool  # whether the barrier goes up
    led: str
    passage_id: int | None


class LaneController(Protocol):
    def send(self, command: Command) -> bool: ...


class SimulatedController:
    """Remembers what each lane was told (demo, tests, the agent without hardware)."""

    def __init__(self, keep: int = 200) -> None:
        self._lock = threading.Lock()
        self._log: dict[str, deque[Command]] = defaultdict(lambda: deque(maxlen=keep))

    def send(self, command: Command) -> bool:
        with self._lock:
            self._log[command.lane].append(command)
        return True

    def commands(self, lane: str) -> list[Command]:
        with self._lock:
            return list(self._log[lane])

    def last(self, lane: str) -> Command | None:
        with self._lock:
            return self._log[lane][-1] if self._log[lane] else None


class HttpRelayController:
    """A relay board (or vendor controller) taking JSON over HTTP: {lift, led, action}."""

    def __init__(self, url: str, timeout_s: float = 1.0, token: str | None = None) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"a barrier relay is an http(s) URL, not {url!r}")
        self.url = url
        self.timeout_s = timeout_s
        self.token = token

    def send(self, command: Command) -> bool:
        body = json.dumps({"lane": command.lane, "lift": command.lift, "led": command.led,
                           "action": command.action, "passage": command.passage_id},
                          ensure_ascii=False).encode()
        request = urllib.request.Request(self.url, data=body, method="POST",  # noqa: S310  # nosec B310
                                         headers={"Content-Type": "application/json"})
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:  # noqa: S310  # nosec B310
                return 200 <= response.status < 300
        except OSError:
            log.warning("lane %s controller %s did not answer", command.lane, self.url)
            return False


class AgentDrivenController:
    """The lane's gate agent drives the barrier itself from the centre's answer."""

    def send(self, command: Command) -> bool:
        return True


class Controllers:
    """One controller per lane, as each lane's `devices` setting says."""

    def __init__(self, simulated: SimulatedController | None = None) -> None:
        self.simulated = simulated or SimulatedController()
        self._http: dict[str, HttpRelayController] = {}

    def for_lane(self, code: str, settings: dict[str, Any] | None) -> LaneController:
        settings = settings or {}
        if settings.get("barrier") == "agent":
            return AgentDrivenController()
        if settings.get("barrier") == "http" and settings.get("url"):
            if code not in self._http:
                self._http[code] = HttpRelayController(settings["url"],
                                                       float(settings.get("timeout_s", 1.0)),
                                                       settings.get("token"))
            return self._http[code]
        return self.simulated
