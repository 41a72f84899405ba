"""The audit chain: appended in the change's transaction, append-only in the database,
and every kind of tampering named by verify()."""

from __future__ import annotations

import itertools
import threading
from contextlib import contextmanager

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from audit.chain import GENESIS_HASH
from audit.service import verify_chain
from kernel.uow import Actor, unit_of_work
from models import Park

ACTOR = Actor(kind="user", id="7", name="审计测试")


def append(database, n: int, *, start: int = 0) -> None:
    with unit_of_work(database.session_factory) as uow:
        for i in range(start, start + n):
            uow.audit("test.event", ACTOR, subject_kind="thing", subject_id=str(i),
                      plate="苏E12345", payload={"i": i, "note": "出入记录"})
        uow.commit()


@contextmanager
def as_superuser(database):
    """Tampering needs someone who can get past the append-only triggers: a DBA."""
    with database.engine.begin() as conn:
        if database.dialect == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        else:
            conn.execute(text("DROP TRIGGER audit_events_no_update"))
            conn.execute(text("DROP TRIGGER audit_events_no_delete"))
        yield conn


def test_empty_chain_verifies(database):
    result = verify_chain(database.engine)
    assert result.ok and result.checked == 0 and result.head_hash == GENESIS_HASH


def test_appended_events_link_and_verify(database):
    append(database, 5)
    append(database, 3, start=5)
    result = verify_chain(database.engine)
    assert result.ok, result
    assert result.checked == 8 and result.head_seq == 8
    with database.engine.connect() as conn:
        rows = conn.execute(text("SELECT seq, prev_hash, hash FROM audit_events ORDER BY seq")).all()
    assert rows[0].prev_hash == GENESIS_HASH
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(rows))


def test_event_and_change_commit_together(database):
    with unit_of_work(database.session_factory) as uow:
        uow.session.add(Park(code="X", name="x", policy={}))
        uow.audit("park.create", ACTOR, subject_kind="park", subject_id="X")
        # No commit: leaving the unit of work discards both.
    with database.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM parks")).scalar_one() == 0
        assert conn.execute(text("SELECT count(*) FROM audit_events")).scalar_one() == 0


def test_failed_change_writes_no_event(database):
    with pytest.raises(DBAPIError), unit_of_work(database.session_factory) as uow:
        uow.session.add(Park(code="DUP", name="a", policy={}))
        uow.session.add(Park(code="DUP", name="b", policy={}))
        uow.audit("park.create", ACTOR, subject_kind="park", subject_id="DUP")
        uow.commit()
    with database.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM audit_events")).scalar_one() == 0


@pytest.mark.parametrize("statement", [
    "UPDATE audit_events SET action = 'forged' WHERE seq = 2",
    "DELETE FROM audit_events WHERE seq = 2",
])
def test_database_refuses_update_and_delete(database, statement):
    append(database, 3)
    with pytest.raises(DBAPIError), database.engine.begin() as conn:
        conn.execute(text(statement))
    assert verify_chain(database.engine).ok


def test_edited_event_is_named(database):
    append(database, 6)
    with as_superuser(database) as conn:
        conn.execute(text("UPDATE audit_events SET payload = :p WHERE seq = 4"), {"p": '{"i":99}'})
    result = verify_chain(database.engine)
    assert not result.ok
    assert result.first_bad_seq == 4
    assert "edited" in result.problem


@pytest.fixture
def small_slices(monkeypatch):
    """PostgreSQL checks the chain in slices of five (a park's are thousands)."""
    from audit import chain_check

    monkeypatch.setattr(chain_check, "SLICE_MIN", 5)
    monkeypatch.setattr(chain_check, "SLICE_MAX", 5)


def _exact_only(monkeypatch):
    """Verification as SQLite does it: every event hashed in Python."""
    from audit import chain_check

    monkeypatch.setattr(chain_check, "check_intact", lambda *a, **k: None)


def test_an_intact_chain_is_checked_inside_postgres_in_slices(pg_database, small_slices,
                                                               monkeypatch):
    """An intact chain is vouched for by the database's own hashing, a slice at a time,
    without Python reading a single event; the answer is the exact reader's."""
    from audit import chain

    append(pg_database, 31)
    with pg_database.engine.connect() as conn:
        signed = conn.execute(text("SELECT hash FROM audit_events WHERE seq = 20")).scalar_one()
    anchors = [chain.Anchor(id=1, seq=20, hash=signed, covers_from=1)]
    _read = chain._read_chain
    monkeypatch.setattr(chain, "_read_chain", lambda *a: pytest.fail("read in Python"))
    seen: list[int] = []
    fast = verify_chain(pg_database.engine, progress=seen.append, anchors=anchors)
    assert fast.ok and fast.checked == 31 and fast.checkpoints_checked == 1
    assert seen == [5, 10, 15, 20, 25, 30, 31]
    assert not [t for t in threading.enumerate() if t.name.startswith("audit-verify")]

    monkeypatch.setattr(chain, "_read_chain", _read)
    _exact_only(monkeypatch)
    exact = verify_chain(pg_database.engine, anchors=anchors)
    assert (exact.ok, exact.checked, exact.head_seq, exact.head_hash,
            exact.checkpoints_checked) == (True, 31, fast.head_seq, fast.head_hash, 1)


def test_a_checkpoint_the_chain_no_longer_matches_is_named(pg_database, small_slices):
    from audit import chain

    append(pg_database, 12)
    forged = [chain.Anchor(id=7, seq=8, hash="a" * 64, covers_from=1)]
    result = verify_chain(pg_database.engine, anchors=forged)
    assert not result.ok and result.checkpoint_id == 7 and result.checkpoint_range == (1, 8)
    beyond = [chain.Anchor(id=8, seq=40, hash="a" * 64, covers_from=13)]
    result = verify_chain(pg_database.engine, anchors=beyond)
    assert not result.ok and "no longer holds" in result.problem


@pytest.mark.parametrize("bad", [1, 5, 6, 16, 31])
def test_an_edit_in_any_slice_is_named(pg_database, small_slices, bad):
    """An edit in the first slice, at either edge of one, or in the last: the database's
    check does not vouch for the chain, and the event is named."""
    from audit.chain_check import check_intact

    append(pg_database, 31)
    with as_superuser(pg_database) as conn:
        conn.execute(text("UPDATE audit_events SET plate = '苏E99999' WHERE seq = :s"),
                     {"s": bad})
    with pg_database.engine.connect() as conn:
        assert check_intact(conn, start=1, end=None, expected_prev=GENESIS_HASH,
                            anchors=()) is None
    result = verify_chain(pg_database.engine)
    assert not result.ok and result.checked == bad - 1 and result.first_bad_seq == bad
    assert "edited" in result.problem


@pytest.mark.parametrize("gone", [5, 6])
def test_an_event_deleted_at_a_slice_edge_is_named(pg_database, small_slices, gone):
    append(pg_database, 12)
    with as_superuser(pg_database) as conn:
        conn.execute(text("DELETE FROM audit_events WHERE seq = :s"), {"s": gone})
    result = verify_chain(pg_database.engine)
    assert not result.ok and result.first_bad_seq == gone and result.checked == gone - 1


def test_two_checkpoints_naming_one_event_are_both_held_to_it(pg_database, small_slices,
                                                             monkeypatch):
    """Two signed checkpoints can name the same event (an idle park signs its head
    twice): both count, and a forged one beside a true one is not hidden by it."""
    from audit import chain

    append(pg_database, 12)
    with pg_database.engine.connect() as conn:
        signed = conn.execute(text("SELECT hash FROM audit_events WHERE seq = 8")).scalar_one()
    both = [chain.Anchor(id=1, seq=8, hash=signed, covers_from=1),
            chain.Anchor(id=2, seq=8, hash=signed, covers_from=9)]
    forged = [both[0], chain.Anchor(id=3, seq=8, hash="b" * 64, covers_from=1)]
    fast = verify_chain(pg_database.engine, anchors=both)
    fast_forged = verify_chain(pg_database.engine, anchors=forged)
    _exact_only(monkeypatch)
    exact = verify_chain(pg_database.engine, anchors=both)
    exact_forged = verify_chain(pg_database.engine, anchors=forged)
    assert fast.ok and exact.ok and fast.checkpoints_checked == exact.checkpoints_checked == 2
    for result in (fast_forged, exact_forged):
        assert not result.ok and result.checkpoint_id == 3


def test_progress_never_goes_back_when_the_database_check_gives_way(pg_database,
                                                                   small_slices):
    append(pg_database, 12)
    with as_superuser(pg_database) as conn:
        conn.execute(text("UPDATE audit_events SET plate = '苏E99999' WHERE seq = 12"))
    seen: list[int] = []
    result = verify_chain(pg_database.engine, progress=seen.append)
    assert not result.ok and result.first_bad_seq == 12
    assert seen == sorted(seen) and len(seen) == len(set(seen)) and seen[0] == 5


def test_a_slice_that_does_not_link_to_the_one_before_is_named(pg_database, small_slices):
    """Event 6 (a slice's first) rewritten to hang off a forged predecessor and hashed
    again: consistent in itself, so only the link between slices shows it."""
    from audit.chain import sql_linked_body

    append(pg_database, 6)
    with as_superuser(pg_database) as conn:
        conn.execute(text("UPDATE audit_events SET prev_hash = :f WHERE seq = 6"),
                     {"f": "f" * 64})
        conn.execute(text(
            f"UPDATE audit_events SET hash = encode(sha256(convert_to("
            f"{sql_linked_body('postgresql')}, 'UTF8')), 'hex') WHERE seq = 6"))
    result = verify_chain(pg_database.engine)
    assert not result.ok and result.first_bad_seq == 6 and "link" in result.problem


def test_a_range_checked_inside_postgres_links_to_the_event_before_it(pg_database,
                                                                      small_slices):
    from audit.chain_check import check_intact

    append(pg_database, 12)
    with pg_database.engine.connect() as conn:
        before = conn.execute(text("SELECT hash FROM audit_events WHERE seq = 3")).scalar_one()
        intact = check_intact(conn, start=4, end=9, expected_prev=before, anchors=())
        assert intact is not None and (intact.head_seq, intact.checkpoints_checked) == (9, 0)
        assert check_intact(conn, start=4, end=9, expected_prev=GENESIS_HASH,
                            anchors=()) is None
    result = verify_chain(pg_database.engine, start_seq=4, end_seq=9)
    assert result.ok and result.checked == 6 and result.head_hash == intact.head_hash


def test_deleted_event_is_named(database):
    append(database, 6)
    with as_superuser(database) as conn:
        conn.execute(text("DELETE FROM audit_events WHERE seq = 3"))
    result = verify_chain(database.engine)
    assert not result.ok
    assert result.first_bad_seq == 3


def test_deleted_last_event_is_caught_by_a_checkpoint_not_the_chain(database):
    # Dropping the tail leaves a valid shorter chain; the head count recorded earlier
    # (a checkpoint, audit issue) is what catches it.
    append(database, 4)
    head_before = verify_chain(database.engine)
    with as_superuser(database) as conn:
        conn.execute(text("DELETE FROM audit_events WHERE seq = 4"))
    after = verify_chain(database.engine)
    assert after.ok and after.head_seq == head_before.head_seq - 1


def test_inserted_event_is_named(database):
    append(database, 5)
    with as_superuser(database) as conn:
        # Make room at seq 3 and insert a forged event whose hash is self-consistent.
        conn.execute(text("UPDATE audit_events SET seq = seq + 1000 WHERE seq >= 3"))
        conn.execute(text("UPDATE audit_events SET seq = seq - 999 WHERE seq >= 1000"))
        conn.execute(text(
            "INSERT INTO audit_events (seq, at, actor_kind, action, payload, prev_hash, hash) "
            "SELECT 3, at, 'user', 'forged', '{}', hash, :h FROM audit_events WHERE seq = 2"),
            {"h": "f" * 64})
    result = verify_chain(database.engine)
    assert not result.ok
    assert result.first_bad_seq == 3


def test_reordered_events_are_named(database):
    append(database, 6)
    with as_superuser(database) as conn:
        conn.execute(text("UPDATE audit_events SET seq = -1 WHERE seq = 3"))
        conn.execute(text("UPDATE audit_events SET seq = 3 WHERE seq = 4"))
        conn.execute(text("UPDATE audit_events SET seq = 4 WHERE seq = -1"))
    result = verify_chain(database.engine)
    assert not result.ok
    assert result.first_bad_seq == 3
    assert "link" in result.problem


def test_verify_a_range(database):
    append(database, 10)
    result = verify_chain(database.engine, start_seq=4, end_seq=7)
    assert result.ok and result.checked == 4 and result.head_seq == 7


def _concurrent_writers(database, writers: int, events_each: int, per_commit: int = 1
                        ) -> list[BaseException]:
    errors: list[BaseException] = []
    barrier = threading.Barrier(writers)

    def work(w: int) -> None:
        try:
            barrier.wait()
            for i in range(events_each):
                with unit_of_work(database.session_factory) as uow:
                    for k in range(per_commit):
                        uow.audit("test.concurrent", ACTOR, subject_kind="writer",
                                  subject_id=str(w), trip_id=k or None,
                                  payload={"i": i, "k": k})
                    uow.commit()
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def test_eight_concurrent_writers_leave_one_valid_chain_on_postgres(pg_database):
    errors = _concurrent_writers(pg_database, writers=8, events_each=40)
    assert errors == []
    result = verify_chain(pg_database.engine)
    assert result.ok, result
    assert result.checked == 8 * 40


def test_writers_of_several_events_each_leave_one_valid_chain_on_postgres(pg_database):
    # 3 events per transaction in one statement; 40 more than a statement takes.
    errors = _concurrent_writers(pg_database, writers=6, events_each=10, per_commit=3)
    errors += _concurrent_writers(pg_database, writers=2, events_each=2, per_commit=40)
    assert errors == []
    result = verify_chain(pg_database.engine)
    assert result.ok, result
    assert result.checked == 6 * 10 * 3 + 2 * 2 * 40


def test_concurrent_writers_on_sqlite(sqlite_database):
    errors = _concurrent_writers(sqlite_database, writers=8, events_each=10)
    assert errors == []
    result = verify_chain(sqlite_database.engine)
    assert result.ok and result.checked == 80


def test_database_renders_the_same_canonical_body_as_python(database):
    """The chain is only as good as the agreement between the writer's encoding and
    the database's rendering of the stored row (used by verify)."""
    from datetime import UTC, datetime

    from audit.chain import SEP, body, clean, link, sql_linked_body
    from kernel import clock

    clock.pin(datetime(2026, 11, 22, 8, 30, 0, 1, tzinfo=UTC))
    tricky = Actor(kind="user", id="0", name="名字\x1f带\n控制符 😀 ' \" \\")
    with unit_of_work(database.session_factory) as uow:
        uow.audit("test.tricky", tricky, subject_kind=None, subject_id="", plate="粤Z1234港",
                  trip_id=2**40, payload={"text": "a\x1fb\x1ec", "n": 1.5, "none": None})
        uow.commit()
    with database.session_factory() as s:
        from models import AuditEvent

        event = s.scalars(select(AuditEvent)).one()  # linked by the sequencer
        row = {c.key: getattr(event, c.key) for c in AuditEvent.__table__.columns}
    assert "\x1f" not in row["actor_name"] and clean("a\x1fb") == "a\ufffdb"
    expected = "0" * 64 + body(1, row["at"], [row[c] for c in (
        "actor_kind", "actor_id", "actor_name", "action", "subject_kind", "subject_id",
        "trip_id", "vehicle_id", "person_id", "enterprise_id", "lane_id", "plate", "payload")])
    with database.engine.connect() as conn:
        rendered = conn.exec_driver_sql(
            f"SELECT {sql_linked_body(database.dialect)} FROM audit_events").scalar_one()
    assert rendered == expected
    assert rendered.count(SEP) == 14
    assert link("0" * 64, expected[64:]) == row["hash"]


@pytest.mark.parametrize("micro", [0, 1, 999_499, 999_999])
def test_instants_near_a_second_boundary_render_exactly(database, micro):
    from datetime import UTC, datetime

    from kernel import clock

    clock.pin(datetime(2026, 11, 22, 0, 39, 20, micro, tzinfo=UTC))
    append(database, 1)
    assert verify_chain(database.engine).ok
