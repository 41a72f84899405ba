"""Scheduled jobs of the lot: deadlines and dwell limits every minute, call-forward
releases every half minute."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from kernel import clock
from parkgate.scheduler import Job

from .commands import call_forward
from .release import due_plants
from .watch import watch


def jobs(new_uow: Callable[[], Any]) -> list[Job]:
    def lot_watch() -> dict[str, int]:
        with new_uow() as uow:
            return watch(uow, clock.now())

    def lot_call_forward() -> int:
        # One transaction per plant: a release is a decision of its own, and one plant's
        # failed re-check or lock wait holds up no other.
        with new_uow() as uow:
            plants = due_plants(uow.session, clock.now())
        released = 0
        for plant_id in plants:
            with new_uow() as uow:
                released += call_forward(uow, clock.now(), plant_id=plant_id)
        return released

    # Call-forward times are minutes apart; half a minute late is well inside a margin.
    return [Job("lot.watch", lot_watch, every=timedelta(minutes=1), run_at_start=True),
            Job("lot.call_forward", lot_call_forward, every=timedelta(seconds=30),
                run_at_start=True)]
