"""The unit of work hands recorded domain events to their handlers before it commits,
including events the handlers record, and drops them on rollback."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from kernel import messages
from kernel.uow import UnitOfWork


@dataclass(frozen=True)
class Rang:
    n: int


class Thing:
    pass


class FakeSession:
    def __init__(self, *things: object) -> None:
        self.identity_map = {id(t): t for t in things}
        self.new: list[object] = []
        self.commits = 0

    def commit(self) -> None:
        self.commits += 1

    def rollback(self) -> None:
        pass


def test_handlers_run_before_commit_and_may_record_more(monkeypatch):
    monkeypatch.setattr(messages, "_HANDLERS", {})
    seen: list[tuple[int, int]] = []
    thing = Thing()
    session = FakeSession(thing)

    def echo(uow, event):  # type: ignore[no-untyped-def]
        seen.append((event.n, session.commits))
        if event.n < 3:
            messages.record(thing, Rang(event.n + 1))

    messages.subscribe(Rang, echo)
    messages.subscribe(Rang, echo)  # once only
    messages.record(thing, Rang(1))
    UnitOfWork(session).commit()  # type: ignore[arg-type]
    assert seen == [(1, 0), (2, 0), (3, 0)] and session.commits == 1
    UnitOfWork(session).commit()  # type: ignore[arg-type]
    assert len(seen) == 3  # handled once


def test_a_rollback_drops_recorded_events_and_a_loop_is_refused(monkeypatch):
    monkeypatch.setattr(messages, "_HANDLERS", {})
    thing = Thing()
    session = FakeSession(thing)
    calls: list[int] = []
    messages.subscribe(Rang, lambda uow, e: calls.append(e.n))
    messages.record(thing, Rang(1))
    UnitOfWork(session).rollback()  # type: ignore[arg-type]
    UnitOfWork(session).commit()  # type: ignore[arg-type]
    assert calls == []
    messages.subscribe(Rang, lambda uow, e: messages.record(thing, Rang(e.n)))
    messages.record(thing, Rang(1))
    with pytest.raises(RuntimeError, match="loop"):
        UnitOfWork(session).commit()  # type: ignore[arg-type]
