"""The scheduler runs what is due, by the application clock, and survives failures."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from kernel import clock
from parkgate.scheduler import Job, Scheduler


def test_interval_daily_and_failing_jobs():
    clock.pin(datetime(2026, 11, 21, 21, 0, tzinfo=UTC))  # 05:00 in the park
    ran: list[str] = []

    def boom() -> None:
        raise RuntimeError("broken job")

    scheduler = Scheduler([
        Job("tick", lambda: ran.append("tick"), every=timedelta(seconds=30)),
        Job("daily", lambda: ran.append("daily"), daily_at=time(6, 0)),
        Job("start", lambda: ran.append("start"), every=timedelta(hours=1), run_at_start=True),
        Job("boom", boom, every=timedelta(seconds=30)),
    ])
    assert scheduler.run_due() == ["start"]
    clock.advance(timedelta(seconds=30))
    assert scheduler.run_due() == ["tick"]  # boom failed, tick still ran
    clock.advance(timedelta(minutes=59, seconds=30))  # 06:00 in the park
    assert set(scheduler.run_due()) == {"tick", "daily", "start"}
    clock.advance(timedelta(hours=1))
    assert "daily" not in scheduler.run_due()
