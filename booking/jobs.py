"""Scheduled jobs of bookings: warn an enterprise when a booked trip's papers will
have expired by the time its window ends (DOMAIN B05), while there is time to renew."""

from __future__ import annotations

from collections.abc import Callable
from datetime import time
from typing import Any

from sqlalchemy import select

from auth.principal import system_principal
from kernel import clock
from kernel.errors import DomainError
from kernel.uow import UnitOfWork
from models import Trip
from parkgate.scheduler import Job

from . import service


def expiring_papers(uow: UnitOfWork, limit: int = 5000) -> dict[str, Any]:
    """Re-run the checks of every upcoming booking; publish those that now fail."""
    principal = system_principal("booking-watch")
    now = clock.now()
    trips = list(uow.session.scalars(select(Trip).where(
        Trip.state.in_(("BOOKED", "PENDING_APPROVAL")), Trip.window_end > now)
        .order_by(Trip.window_start).limit(limit)))
    flagged = 0
    for trip in trips:
        try:
            findings = service.current_findings(uow.session, principal, trip)
        except DomainError:
            continue
        if findings is None or not findings.failures:
            continue
        flagged += 1
        uow.publish(f"enterprise:{trip.enterprise_id}", "booking.documents_expiring", {
            "trip_id": trip.id, "code": trip.code,
            "failures": [r.code for r in findings.failures]})
    uow.commit()
    return {"checked": len(trips), "flagged": flagged}


def jobs(new_uow: Callable[[], Any]) -> list[Job]:
    def watch() -> dict[str, Any]:
        with new_uow() as uow:
            return expiring_papers(uow)

    return [Job("booking.expiring_papers", watch, daily_at=time(6, 15), run_at_start=False)]
