"""Scheduled jobs of the park records."""

from __future__ import annotations

from collections.abc import Callable
from datetime import time
from typing import Any

from sqlalchemy import select

from kernel import clock
from kernel.uow import UnitOfWork
from models import Park
from parkgate.scheduler import Job
from rules.documents import park_date
from rules.policy import ParkPolicy

from .expiry import run_watch


def jobs(new_uow: Callable[[], Any]) -> list[Job]:
    def expiry_watch() -> dict[str, Any]:
        with new_uow() as uow:
            assert isinstance(uow, UnitOfWork)
            park = uow.session.scalar(select(Park).order_by(Park.id).limit(1))
            days = ParkPolicy.from_mapping(park.policy if park else None).expiry_warning_days
            return run_watch(uow, park_date(clock.now()), days)

    return [Job("records.expiry_watch", expiry_watch, daily_at=time(6, 0), run_at_start=True)]
