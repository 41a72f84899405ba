"""The demo's gate camera: real plate photos, read by the real reader and voter,
handed to a real gate agent that talks to the demo's own API over HTTP — the same
path a camera at a park gate takes, with only the camera itself simulated."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

log = logging.getLogger(__name__)


class SimulatedLane:
    def __init__(self, centre_url: str, token: str, lane: str, state_dir: Path, *,
                 interval_s: float = 8.0, source: str = "simulator") -> None:
        self.centre_url = centre_url
        self.token = token
        self.lane = lane
        self.state_dir = state_dir
        self.interval_s = interval_s
        self.source = source
        self.handled = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._agent = None

    def start(self) -> SimulatedLane:
        self._thread = threading.Thread(target=self._run, name=f"demo-camera-{self.lane}",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        from camera_adapters.models import ModelsMissing
        from camera_adapters.sources import reads_from
        from gateway.agent.client import CentreClient
        from gateway.agent.runner import Agent

        self.state_dir.mkdir(parents=True, exist_ok=True)
        agent = Agent(CentreClient(self.centre_url, self.token), self.lane, self.state_dir)
        agent.start()
        try:
            for read in reads_from(self.source, self.lane, interval_s=self.interval_s,
                                   stop=self._stop):
                outcome = agent.handle(read)
                self.handled += 1
                log.info("camera %s: %s (%.2f) → %s %s", self.lane, read.plate, read.confidence,
                         outcome.action, ",".join(outcome.reasons))
        except ModelsMissing as exc:
            log.error("demo camera off: %s", exc)
        except Exception:
            log.exception("demo camera stopped")
        finally:
            agent.stop()
