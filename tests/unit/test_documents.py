"""Document validity (DOMAIN §9 Dates): valid through the end of its expiry day, park time."""

from __future__ import annotations

from datetime import UTC, date, datetime

from rules import documents
from rules.documents import DocStatus

EXPIRES = date(2026, 11, 22)


def test_valid_through_the_last_minute_of_the_day_in_park_time():
    last_minute = datetime(2026, 11, 22, 15, 59, tzinfo=UTC)  # 23:59 in Shanghai
    next_day = datetime(2026, 11, 22, 16, 0, tzinfo=UTC)  # 00:00 on the 23rd
    assert documents.valid_at(EXPIRES, last_minute)
    assert not documents.valid_at(EXPIRES, next_day)


def test_status_bands():
    today = date(2026, 11, 22)
    assert documents.status(None, today, 7) is DocStatus.MISSING
    assert documents.status(date(2026, 11, 21), today, 7) is DocStatus.EXPIRED
    assert documents.status(today, today, 7) is DocStatus.EXPIRING
    assert documents.status(date(2026, 11, 29), today, 7) is DocStatus.EXPIRING
    assert documents.status(date(2026, 11, 30), today, 7) is DocStatus.VALID


def test_valid_through_a_window():
    start = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
    end = datetime(2026, 11, 22, 17, 0, tzinfo=UTC)  # 01:00 on the 23rd in Shanghai
    assert not documents.valid_through(EXPIRES, start, end)
    assert documents.valid_through(date(2026, 11, 23), start, end)
