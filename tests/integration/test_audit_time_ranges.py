"""A time range as a range of keys: an old day costs what today's does, and nothing
stamped or seen in it is ever left out — an event stamped before events linked ahead
of it (audit.time_blocks), a passage an offline agent replays days later."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, select, text

from audit import query, sequencer, time_blocks
from audit.query import AuditFilter, events_page, events_statement, passages_page
from kernel import clock
from kernel.uow import Actor, unit_of_work
from models import AuditEvent, AuditTimeBlock, Passage
from tests.factories import make_world

ACTOR = Actor(kind="user", id="7", name="时间块测试")
T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def small_blocks(monkeypatch):
    """Blocks of three events, so a handful of events spans several."""
    monkeypatch.setattr(time_blocks, "SIZE", 3)


@pytest.fixture(params=["linked after each commit", "linked in one pass"])
def trail(request, database, small_blocks, monkeypatch):  # type: ignore[no-untyped-def]
    """Twenty events an hour apart, and one change that stamps its event first and
    commits last: it is linked after events stamped hours later (a long import).
    Linked as each commits, or all in one sequencer pass (after an outage)."""
    if request.param == "linked in one pass":
        monkeypatch.setattr("audit.sequencer.committed", lambda engine: None)
    try:
        clock.pin(T0 - timedelta(minutes=30))
        with unit_of_work(database.session_factory) as late:
            late.audit("test.late", ACTOR, subject_kind="import", subject_id="late",
                       payload={})
            for hour in range(20):
                clock.pin(T0 + timedelta(hours=hour))
                with unit_of_work(database.session_factory) as uow:
                    uow.audit("test.hourly", ACTOR, subject_kind="hour",
                              subject_id=str(hour), payload={"hour": hour})
                    uow.commit()
                if hour == 11:
                    late.commit()
    finally:
        clock.unpin()
    sequencer.link_all(database.engine)
    return database


def stamped(database, since: datetime | None, until: datetime | None) -> list[int]:
    """Every event stamped in [since, until), newest first: what a page must show."""
    with database.session_factory() as s:
        rows = s.execute(select(AuditEvent.seq, AuditEvent.at)).all()
    return sorted((seq for seq, at in rows
                   if (since is None or at >= since) and (until is None or at < until)),
                  reverse=True)


def page(database, since: datetime | None, until: datetime | None) -> list[int]:
    with database.session_factory() as s:
        events, _ = events_page(s, AuditFilter(since=since, until=until), limit=500)
        return [e.seq for e in events]


def test_the_late_event_is_linked_among_later_ones(trail):
    with trail.session_factory() as s:
        late = s.scalar(select(AuditEvent.seq).where(AuditEvent.action == "test.late"))
        before = s.scalar(select(AuditEvent.at).where(AuditEvent.seq == late - 1))
    assert late == 13 and before == T0 + timedelta(hours=11)  # stamped 11.5 h earlier


def test_every_time_range_finds_exactly_the_events_stamped_in_it(trail):
    rng = random.Random(7)
    instants = [T0 + timedelta(minutes=m) for m in range(-90, 21 * 60, 15)]
    for _ in range(60):
        since, until = sorted(rng.sample(instants, 2))
        choice = rng.random()
        if choice < 0.2:
            since = None
        elif choice < 0.4:
            until = None
        assert page(trail, since, until) == stamped(trail, since, until), (since, until)
    # The late event alone: its neighbours in the chain were stamped hours later.
    alone = (T0 - timedelta(minutes=45), T0 - timedelta(minutes=15))
    assert len(page(trail, *alone)) == 1
    assert page(trail, T0 + timedelta(days=1), None) == []


def test_a_time_range_reaches_the_trail_as_a_range_of_seq(trail):
    with trail.session_factory() as s:
        bounded = events_statement(s, AuditFilter(since=T0 + timedelta(hours=15)))
        first, last = time_blocks.span(s, T0 + timedelta(hours=15), None)
    assert "BETWEEN" in str(bounded)
    # Hours 15–19 are seq 17–21, in blocks 5 (seq 16–18) and 6 (19–21).
    assert (first, last) == (16, 21)


def hourly(database, hours: range) -> None:
    try:
        for hour in hours:
            clock.pin(T0 + timedelta(hours=hour))
            with unit_of_work(database.session_factory) as uow:
                uow.audit("test.hourly", ACTOR, payload={"hour": hour})
                uow.commit()
    finally:
        clock.unpin()
    sequencer.link_all(database.engine)


def test_events_linked_without_the_blocks_unbound_ranges_until_a_pass_catches_up(
        trail, monkeypatch):
    """An older process still linking during an upgrade keeps no blocks: the chain
    runs past blocks_through, and no range is bounded (nor any event missed) until
    the next pass of a current sequencer covers what it linked."""
    with monkeypatch.context() as old_code:
        old_code.setattr(time_blocks, "widen", lambda session, events: None)
        hourly(trail, range(20, 25))  # seq 22–26: block 7 opened, block 8 begun
    with trail.session_factory() as s:
        assert time_blocks.span(s, T0, None) is None
        assert "BETWEEN" not in str(events_statement(s, AuditFilter(since=T0)))
    late = (T0 + timedelta(hours=19, minutes=30), None)
    assert page(trail, *late) == stamped(trail, *late) != []
    hourly(trail, range(25, 26))  # a current sequencer's pass
    with trail.session_factory() as s:
        assert time_blocks.span(s, *late) == (22, 27)  # blocks 7 and 8
    for since in range(-1, 27):
        window = (T0 + timedelta(hours=since, minutes=30), None)
        assert page(trail, *window) == stamped(trail, *window), since


def test_a_chain_written_without_blocks_gets_the_ones_the_sequencer_keeps(trail):
    with trail.session_factory() as s:
        kept = s.execute(select(AuditTimeBlock).order_by(AuditTimeBlock.block)).scalars()
        kept = [(b.block, b.first_at, b.last_at) for b in kept]
        s.execute(delete(AuditTimeBlock))
        s.execute(time_blocks.rebuild())
        rebuilt = [(b.block, b.first_at, b.last_at) for b in s.execute(
            select(AuditTimeBlock).order_by(AuditTimeBlock.block)).scalars()]
    assert len(kept) == 7 and rebuilt == kept


def test_the_migration_covers_a_chain_linked_before_it(database, monkeypatch):
    """The revision that adds the blocks fills them for the chain already linked."""
    monkeypatch.setattr(time_blocks, "widen", lambda session, events: None)
    for i in range(5):
        with unit_of_work(database.session_factory) as uow:
            uow.audit("test.before", ACTOR, payload={"i": i})
            uow.commit()
    with database.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_time_blocks"))
        conn.execute(text("UPDATE alembic_version SET version_num = '0014'"))
        conn.execute(text("DROP TABLE audit_time_blocks"))
        conn.execute(text("DROP INDEX ix_passages_seen"))
        conn.execute(text("ALTER TABLE audit_head DROP COLUMN blocks_through"))
    from parkgate.migrate import upgrade

    upgrade(database.url)
    with database.session_factory() as s:
        blocks = s.execute(select(AuditTimeBlock)).scalars().all()
        ats = s.scalars(select(AuditEvent.at)).all()
    assert [(b.block, b.first_at, b.last_at) for b in blocks] == [(0, min(ats), max(ats))]
    with database.session_factory() as s:
        assert time_blocks.span(s, min(ats), None) == (1, time_blocks.SIZE)


@pytest.fixture
def passages(session_factory):  # type: ignore[no-untyped-def]
    """Forty passages six hours apart at one lane, then two an offline agent replays
    ten days later: the newest ids, seen days before most of the rest."""
    world = make_world(session_factory)
    lane = world.lanes["P1-IN"]
    seen = [T0 + timedelta(hours=6 * i) for i in range(40)]
    seen += [T0 + timedelta(days=3, minutes=5), T0 - timedelta(days=1)]
    with session_factory() as s:
        for i, at in enumerate(seen):
            s.add(Passage(read_id=f"r{i}", lane_id=lane.id, area="park", direction="in",
                          subject_kind="vehicle", plate="苏E12345", seen_at=at,
                          decided_at=at, action="OPEN", offline=i >= 40))
        s.commit()
    return session_factory


def passages_seen(s, since: datetime, until: datetime) -> list[int]:
    rows = s.execute(select(Passage.id, Passage.seen_at)).all()
    return sorted((i for i, at in rows if since <= at < until), reverse=True)


def test_a_window_of_passages_finds_every_one_seen_in_it_replays_included(passages):
    rng = random.Random(11)
    instants = [T0 + timedelta(hours=h) for h in range(-30, 250, 5)]
    with passages() as s:
        for _ in range(40):
            since, until = sorted(rng.sample(instants, 2))
            found = [p.id for p in passages_page(s, AuditFilter(since=since, until=until),
                                                limit=500)[0]]
            assert found == passages_seen(s, since, until), (since, until)
        replay = passages_page(s, AuditFilter(since=T0 + timedelta(days=3, minutes=1),
                                              until=T0 + timedelta(days=3, hours=1)))[0]
        assert [p.offline for p in replay] == [True]
        assert passages_page(s, AuditFilter(since=T0 - timedelta(days=9),
                                            until=T0 - timedelta(days=8)))[0] == []


def test_a_window_of_passages_reaches_the_table_as_a_range_of_ids(passages):
    with passages() as s:
        day = query.passages_statement(s, AuditFilter(since=T0, until=T0 + timedelta(days=1)))
        assert "BETWEEN" in str(day)
        # A long window is left to the walk from the newest passage.
        long = query.passages_statement(s, AuditFilter(
            since=T0, until=T0 + query.MAX_BOUNDED_SPAN + timedelta(seconds=1)))
        assert "BETWEEN" not in str(long)
