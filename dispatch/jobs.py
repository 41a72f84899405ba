"""Scheduled jobs of the lot: deadlines and dwell limits every minute, call-forward
releases every half minute."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from kernel import clock
from parkgate.scheduler import Job

from .commands import call_forward
from .watch import watch


def jobs(new_uow: Callable[[], Any]) -> list[Job]:
    def lot_watch() -> dict[str, int]:
        with new_uow() as uow:
            return watch(uow, clock.now())

    def lot_call_forward() -> int:
        with new_uow() as uow:
            return call_forward(uow, clock.now())

    # Call-forward times are minutes apart; half a minute late is well inside a margin.
    return [Job("lot.watch", lot_watch, every=timedelta(minutes=1), run_at_start=True),
            Job("lot.call_forward", lot_call_forward, every=timedelta(seconds=30),
                run_at_start=True)]
