"""Periodic jobs (the daily expiry watch, lot deadlines, no-shows).

In production one `parkgate scheduler` process runs them; the embedded demo runs the
same scheduler in a thread. A job is a plain function of a unit-of-work factory, so
tests call it directly with a pinned clock.
"""

from __future__ import annotations

import logging
import threading
import time as _time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from kernel import clock

log = logging.getLogger(__name__)


@dataclass
class Job:
    name: str
    run: Callable[[], object]
    every: timedelta | None = None  # run at this interval…
    daily_at: time | None = None  # …or once a day at this park-local time
    run_at_start: bool = False
    next_due: datetime | None = field(default=None, init=False)

    def schedule(self, now: datetime, *, first: bool = False) -> None:
        if first and self.run_at_start:
            self.next_due = now
        elif self.every is not None:
            self.next_due = now + self.every
        else:
            from rules.documents import PARK_TZ

            local = now.astimezone(PARK_TZ)
            due = local.replace(hour=self.daily_at.hour, minute=self.daily_at.minute,  # type: ignore[union-attr]
                                second=0, microsecond=0)
            if due <= local:
                due += timedelta(days=1)
            self.next_due = due


class Scheduler(threading.Thread):
    def __init__(self, jobs: list[Job], *, tick_s: float = 1.0) -> None:
        super().__init__(name="parkgate-scheduler", daemon=True)
        self.jobs = jobs
        self.tick_s = tick_s
        self._stop_event = threading.Event()
        now = clock.now()
        for job in jobs:
            job.schedule(now, first=True)

    def run_due(self) -> list[str]:
        now = clock.now()
        ran = []
        for job in self.jobs:
            if job.next_due is not None and job.next_due <= now:
                started = _time.monotonic()
                try:
                    job.run()
                    ran.append(job.name)
                except Exception:  # a failing job must not stop the others
                    log.exception("scheduled job %s failed", job.name)
                log.info("job %s took %.2fs", job.name, _time.monotonic() - started)
                job.schedule(clock.now())
        return ran

    def run(self) -> None:
        while not self._stop_event.is_set():
            self.run_due()
            self._stop_event.wait(self.tick_s)

    def stop(self) -> None:
        self._stop_event.set()
