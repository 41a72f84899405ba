"""Scheduled jobs of the lot: deadlines and dwell limits, every minute."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from kernel import clock
from parkgate.scheduler import Job

from .watch import watch


def jobs(new_uow: Callable[[], Any]) -> list[Job]:
    def lot_watch() -> dict[str, int]:
        with new_uow() as uow:
            return watch(uow, clock.now())

    return [Job("lot.watch", lot_watch, every=timedelta(minutes=1), run_at_start=True)]
