"""Queue, then integrate: a change's audit events are inserted in its own transaction
without taking any lock, and the sequencer links them into the chain after the
commit, in commit order, gap-free; a crash between the two loses nothing; verification
says how many wait; writers never wait on each other for the chain."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import func, select

from audit import sequencer
from audit.chain import link_pending
from audit.service import verify_chain
from kernel.uow import Actor, unit_of_work
from models import AuditEvent, AuditPending, Park

ACTOR = Actor(kind="user", id="7", name="序列测试")


def counts(database) -> tuple[int, int]:
    with database.session_factory() as s:
        return (s.scalar(select(func.count()).select_from(AuditEvent)) or 0,
                s.scalar(select(func.count()).select_from(AuditPending)) or 0)


@pytest.fixture
def unlinked(database, monkeypatch):
    """The process that committed dies before it links: nothing links after commit."""
    monkeypatch.setattr("audit.sequencer.committed", lambda engine: None)
    return database


def change(database, n: int, code: str) -> None:
    with unit_of_work(database.session_factory) as uow:
        uow.session.add(Park(code=code, name=f"园区{code}", policy={}))
        for i in range(n):
            uow.audit("test.queued", ACTOR, subject_kind="park", subject_id=code,
                      payload={"i": i})
        uow.commit()


def test_events_are_queued_with_their_change_and_linked_after(unlinked):
    change(unlinked, 3, "A")
    assert counts(unlinked) == (0, 3)  # committed with the change, not yet in the chain
    result = verify_chain(unlinked.engine)
    assert result.ok and result.checked == 0 and result.waiting == 3
    linked = sequencer.link_all(unlinked.engine)  # the next sequencer pass (crash recovery)
    assert linked == 3 and counts(unlinked) == (3, 0)
    result = verify_chain(unlinked.engine)
    assert result.ok and result.checked == 3 and result.waiting == 0
    with unlinked.session_factory() as s:
        seqs = s.scalars(select(AuditEvent.seq).order_by(AuditEvent.seq)).all()
        payloads = s.scalars(select(AuditEvent.payload).order_by(AuditEvent.seq)).all()
    assert seqs == [1, 2, 3] and [p for p in payloads] == ['{"i":0}', '{"i":1}', '{"i":2}']


def test_a_rolled_back_change_queues_nothing(unlinked):
    with unit_of_work(unlinked.session_factory) as uow:
        uow.audit("test.queued", ACTOR, payload={})
        uow.session.add(Park(code="B", name="乙", policy={}))
        uow.rollback()
    assert counts(unlinked) == (0, 0)


def test_batches_link_in_order_and_the_chain_continues(unlinked):
    for code in "CDE":
        change(unlinked, 2, code)
    with unlinked.session_factory() as s:
        assert link_pending(s, limit=3).count == 3  # a pass of three
        s.commit()
    assert counts(unlinked) == (3, 3)
    change(unlinked, 1, "F")
    sequencer.link_all(unlinked.engine)
    assert counts(unlinked) == (7, 0)
    with unlinked.session_factory() as s:
        subjects = s.scalars(select(AuditEvent.subject_id).order_by(AuditEvent.seq)).all()
    assert subjects == ["C", "C", "D", "D", "E", "E", "F"]  # the order they committed
    assert verify_chain(unlinked.engine).ok


def test_a_background_sequencer_links_what_any_process_left(database):
    """The web app's way: a thread of its own links after each commit and sweeps."""
    sequencer.configure(database.engine, "background")
    try:
        change(database, 2, "G")
        deadline = time.monotonic() + 60  # a condition waited for, not a timing asserted
        while counts(database)[1] and time.monotonic() < deadline:
            time.sleep(0.05)
        assert counts(database) == (2, 0)
        assert verify_chain(database.engine).ok
        assert sequencer.STATS.longest_wait_s >= 0
    finally:
        sequencer.configure(database.engine, "inline")
        sequencer.shutdown()


@pytest.mark.postgres
@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
def test_writers_do_not_wait_for_each_other_to_append(unlinked):
    """A writer holding its transaction open does not stop another from appending and
    committing: appending takes no park-wide lock."""
    started, release = threading.Event(), threading.Event()

    def slow_writer() -> None:
        from audit.chain import queue_events
        from kernel import clock
        from kernel.uow import PendingAudit

        with unlinked.session_factory() as session:
            # Its event is written and its transaction stays open meanwhile.
            queue_events(session, [PendingAudit("test.slow", ACTOR, clock.now())])
            started.set()
            release.wait(60)
            session.commit()

    worker = threading.Thread(target=slow_writer)
    worker.start()
    started.wait(60)
    try:
        change(unlinked, 1, "H")  # would block behind the slow writer with a head lock
        assert counts(unlinked) == (0, 1)
    finally:
        release.set()
        worker.join(60)
    assert counts(unlinked) == (0, 2)
    sequencer.link_all(unlinked.engine)
    assert verify_chain(unlinked.engine).ok
