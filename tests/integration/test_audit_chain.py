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


@pytest.mark.parametrize("bad", [None, 5, 16, 30])
def test_a_chain_read_in_slices_verifies_across_their_edges(pg_database, monkeypatch, bad):
    """PostgreSQL reads the chain in slices by two readers at once: an edit in any
    slice (the first, one at an edge, the last) is named, and a whole chain passes."""
    from audit import chain_reader

    monkeypatch.setattr(chain_reader, "SLICE", 5)
    append(pg_database, 31)
    if bad is not None:
        with as_superuser(pg_database) as conn:
            conn.execute(text("UPDATE audit_events SET plate = '苏E99999' WHERE seq = :s"),
                         {"s": bad})
    result = verify_chain(pg_database.engine)
    assert result.ok is (bad is None)
    assert result.checked == (31 if bad is None else bad - 1)
    assert result.first_bad_seq == bad
    # The readers stopped with the verification (a stuck one would hold a connection).
    assert not [t for t in threading.enumerate() if t.name.startswith("audit-verify")]


def test_a_slow_reader_holds_up_nobody_and_nobody_reads_far_ahead(pg_database, monkeypatch):
    """The readers may only run a few slices ahead of the hashing, and the slice the
    hashing waits for can always be read: a reader that starts late neither hangs the
    verification nor lets the other fill memory with the rest of the chain."""
    from audit import chain_reader

    monkeypatch.setattr(chain_reader, "SLICE", 3)
    monkeypatch.setattr(chain_reader, "AHEAD", 2)
    append(pg_database, 40)
    read, wait_turn = chain_reader._Readers._read, chain_reader._Readers._wait_turn
    ahead: list[int] = []
    second_reader_waits = threading.Event()

    def late_first_reader(self, k):  # type: ignore[no-untyped-def]
        if k == 0:  # starts only once the other reader waits for its second slice
            second_reader_waits.wait(10)
        read(self, k)

    def counted_turn(self, i):  # type: ignore[no-untyped-def]
        if i == 3:
            second_reader_waits.set()
        allowed = wait_turn(self, i)
        ahead.append(i - self.taken)  # slices not yet hashed when this one starts
        return allowed

    monkeypatch.setattr(chain_reader._Readers, "_read", late_first_reader)
    monkeypatch.setattr(chain_reader._Readers, "_wait_turn", counted_turn)
    outcome: list = []
    worker = threading.Thread(target=lambda: outcome.append(verify_chain(pg_database.engine)))
    worker.start()
    worker.join(30)
    assert outcome and outcome[0].ok and outcome[0].checked == 40
    assert len(ahead) == 14 and max(ahead) < 2


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
