"""Document validity: one rule for the records pages, the expiry watch, booking and
the gate (DOMAIN §9 Dates): an expiry date is a calendar date in park local time and
the document is valid through the end of that day."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

PARK_TZ = ZoneInfo("Asia/Shanghai")


class DocStatus(StrEnum):
    VALID = "valid"
    EXPIRING = "expiring"  # valid, but within the warning period
    EXPIRED = "expired"
    MISSING = "missing"


def park_date(instant: datetime, tz: ZoneInfo = PARK_TZ) -> date:
    """The park-local calendar date of an instant."""
    return instant.astimezone(tz).date()


def valid_on(expires_on: date | None, day: date) -> bool:
    return expires_on is not None and expires_on >= day


def valid_at(expires_on: date | None, instant: datetime, tz: ZoneInfo = PARK_TZ) -> bool:
    """Valid at an instant: through the end of its expiry day, park local time."""
    return valid_on(expires_on, park_date(instant, tz))


def status(expires_on: date | None, today: date, warn_days: int) -> DocStatus:
    if expires_on is None:
        return DocStatus.MISSING
    if expires_on < today:
        return DocStatus.EXPIRED
    if expires_on <= today + timedelta(days=warn_days):
        return DocStatus.EXPIRING
    return DocStatus.VALID


def valid_through(expires_on: date | None, start: datetime, end: datetime,
                  tz: ZoneInfo = PARK_TZ) -> bool:
    """Valid for a whole window [start, end] (booking rule B05)."""
    return valid_at(expires_on, start, tz) and valid_at(expires_on, end, tz)
