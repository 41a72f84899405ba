"""Every package's scheduled jobs, bound to one app's database and bus."""

from __future__ import annotations

from functools import partial
from typing import Any

from kernel.uow import unit_of_work

from .scheduler import Job


def all_jobs(app: Any) -> list[Job]:
    from audit import jobs as audit_jobs
    from booking import jobs as booking_jobs
    from dispatch import jobs as lot_jobs
    from gateway import jobs as gate_jobs
    from registry import jobs as registry_jobs

    database = app.extensions["parkgate.db"]
    bus = app.extensions["kernel.bus"]
    new_uow = partial(unit_of_work, database.session_factory, bus)
    return [*registry_jobs.jobs(new_uow), *booking_jobs.jobs(new_uow), *lot_jobs.jobs(new_uow),
            *gate_jobs.jobs(new_uow),
            *audit_jobs.jobs(new_uow, app.extensions["parkgate.snapshot_key"])]
