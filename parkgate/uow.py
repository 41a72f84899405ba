"""Unit of work: one database transaction per use case, the audit events it records
and the bus events it announces.

Audit events are buffered and appended to the chain just before COMMIT, so the lock
on the chain head is held only for the insert and the commit, and an event exists
if and only if the change it records does. Bus events go out only after a
successful commit: a page never shows what the database does not hold.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from . import clock
from .bus import EventBus


@dataclass(frozen=True)
class Actor:
    kind: str  # user | device | system
    id: str | None = None
    name: str | None = None

    @classmethod
    def system(cls, name: str = "system") -> Actor:
        return cls(kind="system", id=None, name=name)


@dataclass
class PendingAudit:
    action: str
    actor: Actor
    at: datetime
    subject_kind: str | None = None
    subject_id: str | None = None
    trip_id: int | None = None
    vehicle_id: int | None = None
    person_id: int | None = None
    enterprise_id: int | None = None
    lane_id: int | None = None
    plate: str | None = None
    payload: dict[str, Any] = field(default_factory=dict)


class UnitOfWork:
    def __init__(self, session: Session, bus: EventBus | None = None) -> None:
        self.session = session
        self.bus = bus
        self._audit: list[PendingAudit] = []
        self._events: list[tuple[str, str, dict[str, Any]]] = []
        self._after_commit: list[Callable[[], None]] = []
        self.committed = False
        self.appended: list[Any] = []

    def audit(self, action: str, actor: Actor, **refs: Any) -> PendingAudit:
        payload = refs.pop("payload", None) or {}
        pending = PendingAudit(action=action, actor=actor, at=clock.now(), payload=payload, **refs)
        self._audit.append(pending)
        return pending

    def publish(self, channel: str, type: str, data: dict[str, Any]) -> None:
        self._events.append((channel, type, data))

    def after_commit(self, fn: Callable[[], None]) -> None:
        self._after_commit.append(fn)

    def commit(self) -> None:
        if self._audit:
            self._write_with_audit()
        self.session.commit()
        self.committed = True
        events, self._events = self._events, []
        if self.bus is not None:
            for channel, type_, data in events:
                self.bus.publish(channel, type_, data)
        callbacks, self._after_commit = self._after_commit, []
        for fn in callbacks:
            fn()

    def _write_with_audit(self) -> None:
        """A decision's few rows in one statement (a gate crossing: the trip and who is
        inside), then the audit append; on PostgreSQL with the writes queued for this
        moment (models.pipeline.write_at_commit) and COMMIT in one round trip, so the
        chain head is locked only while the server works."""
        from audit.chain import append_and_commit, append_events  # the chain's own package
        from models.flush_as_one import flush_as_one, one_statement
        from models.pipeline import writes_at_commit

        session = self.session
        if session.get_bind().dialect.name != "postgresql":
            flush_as_one(session)
            self.appended = append_events(session, self._audit)
        else:
            one = one_statement(session)  # (a flush instead sends the queued writes first)
            # Queued writes first: the rows the ORM writes may refer to them.
            before = [*writes_at_commit(session)]
            if one is not None:
                before.append((one.statement, one.params))
            self.appended, results = append_and_commit(session, self._audit, before)
            if one is not None:
                one.written(results[-1][0])
        self._audit = []

    def rollback(self) -> None:
        self._audit.clear()
        self._events.clear()
        self._after_commit.clear()
        self.session.rollback()

    def __enter__(self) -> UnitOfWork:
        return self

    def __exit__(self, exc_type: object, *_: object) -> None:
        if exc_type is not None or self._audit or self._events:
            # Anything recorded but not committed is discarded with its change.
            self.rollback()


@contextmanager
def unit_of_work(session_factory: Callable[[], Session], bus: EventBus | None = None
                 ) -> Iterator[UnitOfWork]:
    """A unit of work with its own session, for CLIs, workers, the agent and benchmarks."""
    session = session_factory()
    try:
        with UnitOfWork(session, bus) as uow:
            yield uow
    finally:
        session.close()
