"""Unit of work: one database transaction per use case, the audit events it records
and the bus events it announces.

Audit events are buffered and written with the change, in its transaction, so an
event exists if and only if the change it records does; they are queued, not linked
(no lock in the request), and the audit package links them into the chain after the
commit (it registers how: register_audit). Bus events go out only after a successful
commit: a page never shows what the database does not hold.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from . import clock
from .actor import Actor
from .bus import EventBus


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


# How audit events are written with their transaction's commit, and what follows
# once it has committed: registered by the audit package (audit/__init__.py), so this
# kernel imports none of it.
_commit_with_audit: Callable[[Session, list[PendingAudit]], list[dict[str, Any]]] | None = None
_audit_committed: Callable[[Engine], None] | None = None


def register_audit(commit_with: Callable[[Session, list[PendingAudit]], list[dict[str, Any]]],
                   committed: Callable[[Engine], None]) -> None:
    global _commit_with_audit, _audit_committed
    _commit_with_audit, _audit_committed = commit_with, committed


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

    def handle_events(self) -> int:
        """Hand every domain event the session's records have recorded to its
        handlers, in this transaction, until none is left; how many were handled."""
        from . import messages

        handled = 0
        for _ in range(messages.MAX_ROUNDS):
            events = list(messages.collect(self._entities()))
            if not events:
                return handled
            for event in events:
                for handler in messages.handlers_for(event):
                    handler(self, event)
                handled += 1
        raise RuntimeError("domain events kept recording events: a handler loop")

    def _entities(self) -> list[object]:
        return [*self.session.identity_map.values(), *self.session.new]

    def commit(self) -> None:
        self.handle_events()
        queued = bool(self._audit)
        if queued:
            if _commit_with_audit is None or _audit_committed is None:
                raise RuntimeError("audit events recorded but no audit writer registered "
                                   "(import the audit package)")
            pending, self._audit = self._audit, []
            self.appended = _commit_with_audit(self.session, pending)
        else:
            self.session.commit()
        self.committed = True
        if queued:
            _audit_committed(self.session.get_bind().engine)  # type: ignore[misc]
        events, self._events = self._events, []
        if self.bus is not None:
            for channel, type_, data in events:
                self.bus.publish(channel, type_, data)
        callbacks, self._after_commit = self._after_commit, []
        for fn in callbacks:
            fn()

    def rollback(self) -> None:
        from . import messages

        messages.discard(self._entities())
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


def use_case(fn: Callable[..., Any]) -> Callable[..., Any]:
    """A service function that is a whole transaction: it commits its unit of work
    (given first) when it returns, and rolls it back when it raises, so the views and
    API handlers that call it translate HTTP and nothing else."""
    from functools import wraps

    @wraps(fn)
    def run(uow: UnitOfWork, *args: Any, **kwargs: Any) -> Any:
        try:
            result = fn(uow, *args, **kwargs)
        except BaseException:
            uow.rollback()
            raise
        uow.commit()
        return result

    return run


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
