"""Sign-in throttling without lock-outs: failures are counted per (user name,
address) pair and per address, and each counter imposes a growing delay once past
its allowance. A guesser slows only itself; the account's owner signing in from
another address is never delayed, and nobody can lock anybody out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session

from models import LoginThrottle


@dataclass(frozen=True)
class Allowance:
    free: int  # failures before any delay
    first: timedelta  # the first delay, doubling with each later failure
    most: timedelta


PAIR = Allowance(free=5, first=timedelta(seconds=30), most=timedelta(minutes=15))
# An address trying many names (a spray) or shared by a whole control room.
ADDRESS = Allowance(free=30, first=timedelta(seconds=30), most=timedelta(minutes=15))


def keys(username: str, remote: str | None) -> tuple[str, str]:
    address = (remote or "-")[:64]
    return f"pair:{username.lower()[:64]}|{address}", f"addr:{address}"


def delay(failures: int, allowance: Allowance) -> timedelta:
    """The wait a counter imposes after `failures` failed attempts."""
    over = failures - allowance.free
    if over < 0:
        return timedelta(0)
    return min(allowance.first * (2 ** min(over, 20)), allowance.most)


def blocked_until(session: Session, username: str, remote: str | None, now: datetime
                  ) -> datetime | None:
    """When this pair may try again, if it must wait."""
    latest = None
    for key in keys(username, remote):
        row = session.get(LoginThrottle, key)
        if row is not None and row.blocked_until is not None and row.blocked_until > now:
            latest = max(latest or row.blocked_until, row.blocked_until)
    return latest


def failed(session: Session, username: str, remote: str | None, now: datetime) -> None:
    for key, allowance in zip(keys(username, remote), (PAIR, ADDRESS), strict=True):
        row = session.get(LoginThrottle, key)
        if row is None:
            row = LoginThrottle(key=key, failures=0, last_failed_at=now)
            session.add(row)
        elif row.last_failed_at < now - allowance.most * 4:
            row.failures = 0  # an old run of failures is forgotten
        row.failures += 1
        row.last_failed_at = now
        wait = delay(row.failures, allowance)
        row.blocked_until = now + wait if wait else None


def succeeded(session: Session, username: str, remote: str | None) -> None:
    """A right password clears its pair's count (the address's count stays: one right
    guess in a spray does not excuse the rest)."""
    session.execute(delete(LoginThrottle).where(LoginThrottle.key == keys(username, remote)[0]))
