"""Scheduled jobs of the park records."""

from __future__ import annotations

from collections.abc import Callable
from datetime import time
from typing import Any

from kernel import clock
from kernel.uow import UnitOfWork
from parkgate.scheduler import Job
from rules.documents import park_date

from .expiry import run_watch
from .read_model import installation_policy


def jobs(new_uow: Callable[[], Any]) -> list[Job]:
    def expiry_watch() -> dict[str, Any]:
        with new_uow() as uow:
            assert isinstance(uow, UnitOfWork)
            days = installation_policy(uow.session).expiry_warning_days
            return run_watch(uow, park_date(clock.now()), days)

    return [Job("records.expiry_watch", expiry_watch, daily_at=time(6, 0), run_at_start=True)]
