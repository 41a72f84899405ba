"""Scheduled jobs of the gate: silent cameras (every minute) and refused camera events
past their retention (daily)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import time, timedelta
from typing import Any

from kernel import clock
from parkgate.scheduler import Job

from . import cameras


def jobs(new_uow: Callable[[], Any]) -> list[Job]:
    def camera_watch() -> dict[str, int]:
        with new_uow() as uow:
            return cameras.watch(uow, clock.now())

    def purge_rejections() -> dict[str, int]:
        with new_uow() as uow:
            gone = cameras.purge_rejections(uow.session, clock.now())
            uow.commit()
            return {"purged": gone}

    return [Job("gate.camera_watch", camera_watch, every=timedelta(minutes=1), run_at_start=True),
            Job("gate.purge_camera_rejections", purge_rejections, daily_at=time(3, 30))]
