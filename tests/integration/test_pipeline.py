"""A unit of work's last writes, its audit append and COMMIT in one round trip on
PostgreSQL (models.pipeline): what lands, what a failure leaves, and errors as the
rest of the app knows them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import bindparam, insert, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from audit.service import verify_chain
from models import AuditEvent, Enterprise, Park, PassageImage
from models.pipeline import run_pipelined, write_at_commit
from parkgate.uow import Actor, UnitOfWork
from tests.factories import make_park

SHANGHAI = timezone(timedelta(hours=8))


def _park(database) -> int:  # type: ignore[no-untyped-def]
    return make_park(database.session_factory)


def test_the_changes_and_their_audit_events_land_together(database):  # type: ignore[no-untyped-def]
    park_id = _park(database)
    with database.session_factory() as session:
        uow = UnitOfWork(session)
        park = session.get(Park, park_id)
        assert park is not None
        park.name = "化工园区"
        enterprise = Enterprise(park_id=park_id, code="E1", name="一厂")
        session.add_all([enterprise, Park(code="Q", name="乙", policy={"arrival_grace_min": 30})])
        uow.audit("park.renamed", Actor.system("test"), subject_kind="park",
                  subject_id=str(park_id), payload={"name": "化工园区"})
        uow.audit("enterprise.added", Actor.system("test"), subject_kind="enterprise")
        uow.commit()
        # The new row is persistent with its key; nothing is left to write.
        assert enterprise.id is not None and session.get(Enterprise, enterprise.id) is enterprise
        assert not session.new and not session.dirty
        assert [e["seq"] for e in uow.appended] == [1, 2]
    with database.session_factory() as session:
        assert session.get(Park, park_id).name == "化工园区"  # type: ignore[union-attr]
        assert session.scalar(select(Enterprise.code)) == "E1"
        assert session.scalar(select(Park.policy).where(Park.code == "Q")) == {
            "arrival_grace_min": 30}
        events = list(session.scalars(select(AuditEvent).order_by(AuditEvent.seq)))
        assert [e.action for e in events] == ["park.renamed", "enterprise.added"]
    assert verify_chain(database.engine).ok


def test_a_failed_commit_leaves_nothing_and_the_session_carries_on(database):  # type: ignore[no-untyped-def]
    _park(database)
    with database.session_factory() as session:
        uow = UnitOfWork(session)
        session.add(Park(code="P", name="重复", policy={}))  # the code is taken
        uow.audit("park.added", Actor.system("test"))
        with pytest.raises(IntegrityError):
            uow.commit()
        uow.rollback()
        uow.audit("park.added", Actor.system("test"))
        session.add(Park(code="Q", name="新园区", policy={}))
        uow.commit()
    with database.session_factory() as session:
        assert sorted(session.scalars(select(Park.code))) == ["P", "Q"]
        assert session.scalar(select(AuditEvent.seq)) == 1  # only the second one
    assert verify_chain(database.engine).ok


@pytest.mark.postgres
def test_values_are_converted_as_sqlalchemy_converts_them(pg_database):  # type: ignore[no-untyped-def]
    taken = datetime(2026, 11, 23, 9, 30, tzinfo=SHANGHAI)
    with pg_database.session_factory() as session:
        # The server answers in the connection's zone; the app works in UTC.
        session.execute(text("SET TIME ZONE 'Asia/Shanghai'"))
        (rows,) = run_pipelined(session, [(
            insert(PassageImage).returning(PassageImage.created_at),
            {"sha256": "a" * 64, "jpeg": b"\xff\xd8jpeg", "created_at": taken})], commit=True)
        assert rows == [(taken,)] and rows[0][0].tzinfo == UTC
        session.commit()
    with pg_database.session_factory() as session:
        image = session.get(PassageImage, "a" * 64)
        assert image is not None and image.jpeg == b"\xff\xd8jpeg"
        assert image.created_at == taken and image.created_at.tzinfo == UTC


@pytest.mark.postgres
def test_a_lost_server_is_an_invalidated_connection_and_the_next_one_works(pg_database):  # type: ignore[no-untyped-def]
    park_id = _park(pg_database)
    with pg_database.session_factory() as session:
        uow = UnitOfWork(session)
        pid = session.execute(text("SELECT pg_backend_pid()")).scalar_one()
        with pg_database.engine.connect() as other:
            other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        uow.audit("park.touched", Actor.system("test"), subject_id=str(park_id))
        with pytest.raises(OperationalError) as caught:
            uow.commit()
        assert caught.value.connection_invalidated  # what the API answers 503 for
        uow.rollback()
    with pg_database.session_factory() as session:
        assert session.get(Park, park_id) is not None
        assert session.scalar(select(AuditEvent.seq)) is None


_OF_NAME = select(Park.code).where(Park.code.in_(("A", "B", "C")),
                                   Park.name == bindparam("name")).order_by(Park.code)
_OF_CODES = select(Park.code).where(Park.code.in_(bindparam("codes", expanding=True))
                                    ).order_by(Park.code)


@pytest.mark.postgres
def test_a_statement_run_again_is_sent_with_that_runs_values(pg_database):  # type: ignore[no-untyped-def]
    # A statement's own IN list is spelled out once and kept; the values given are
    # each run's, and an IN list the caller gives is spelled out on each run.
    with pg_database.session_factory() as session:
        session.add_all(Park(code=code, name=name, policy={})
                        for code, name in (("A", "甲"), ("B", "乙"), ("C", "甲"), ("D", "甲")))
        session.commit()
        for name, codes in (("甲", ["A", "C"]), ("乙", ["B"]), ("丙", [])):
            (rows,) = run_pipelined(session, [(_OF_NAME, {"name": name})])
            assert [code for code, in rows] == codes
        for codes in (["A"], ["B", "C", "D"], ["D", "A"]):
            (rows,) = run_pipelined(session, [(_OF_CODES, {"codes": codes})])
            assert [code for code, in rows] == sorted(codes)


_NAME_OF = select(Park.name).where(Park.id == bindparam("id"))
_PREPARED = text("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE :s")


@pytest.mark.postgres
def test_a_statement_run_often_is_prepared_and_runs_on_after_a_rollback(pg_database):  # type: ignore[no-untyped-def]
    # Prepared through psycopg's own bookkeeping, a statement is planned once per
    # connection, and psycopg's DEALLOCATE ALL on a rollback forgets it for both.
    park_id = _park(pg_database)
    pattern = {"s": "SELECT parks.name %"}
    with pg_database.session_factory() as session:
        for _ in range(2):
            for _ in range(7):
                assert run_pipelined(session, [(_NAME_OF, {"id": park_id})]) == [[("园区",)]]
            assert session.execute(_PREPARED, pattern).scalar_one() == 1
            session.execute(text("UPDATE parks SET name = name"))
            session.rollback()  # a write rolled back: psycopg deallocates
            assert session.execute(_PREPARED, pattern).scalar_one() == 0


@pytest.mark.postgres
def test_a_failing_statement_fails_its_round_trip_and_the_next_one_works(pg_database):  # type: ignore[no-untyped-def]
    park_id = _park(pg_database)
    broken = select(Park.name).where(Park.id == text("1 / (:id - :id)").bindparams(
        bindparam("id")))
    with pg_database.session_factory() as session:
        with pytest.raises(DBAPIError, match="division by zero"):
            run_pipelined(session, [(_NAME_OF, {"id": park_id}), (broken, {"id": park_id}),
                                    (_NAME_OF, {"id": park_id})], commit=True)
        session.rollback()
        assert run_pipelined(session, [(_NAME_OF, {"id": park_id})], commit=True) == [
            [("园区",)]]


@pytest.mark.postgres
def test_a_round_trip_without_commit_belongs_to_the_sessions_transaction(pg_database):  # type: ignore[no-untyped-def]
    # It opens the transaction on the server when none is open, so the session's
    # rollback takes its writes back with everything else.
    with pg_database.session_factory() as session:
        run_pipelined(session, [(_PARK_OF_POLICY, {"code": "T1", "policy": {}})])
        session.rollback()
        assert session.scalar(select(Park.code).where(Park.code == "T1")) is None


_PARK_OF_POLICY = insert(Park).values(
    code=bindparam("code"), name="空", timezone="Asia/Shanghai",
    policy=bindparam("policy", type_=Park.__table__.c.policy.type))


@pytest.mark.postgres
def test_a_value_of_none_is_sent_as_its_type_sends_it(pg_database):  # type: ignore[no-untyped-def]
    # A JSON column's None is JSON's null (SQLAlchemy's default), not SQL's NULL,
    # which the column refuses: each value goes through its type, None too.
    with pg_database.session_factory() as session:
        for code in ("N1", "N2"):
            run_pipelined(session, [(_PARK_OF_POLICY, {"code": code, "policy": None})],
                          commit=True)
            session.commit()
        assert session.execute(text("SELECT jsonb_typeof(policy) FROM parks ORDER BY code")
                               ).scalars().all() == ["null", "null"]


_NEW_PARK = insert(Park).values(id=bindparam("id"), code=bindparam("code"), name="后写",
                                timezone="Asia/Shanghai", policy={})


def test_a_write_queued_for_the_commit_lands_with_it(database):  # type: ignore[no-untyped-def]
    with database.session_factory() as session:
        uow = UnitOfWork(session)
        write_at_commit(session, _NEW_PARK, {"id": 7, "code": "LATER"})
        uow.audit("park.added", Actor.system("test"), subject_id="7")
        uow.commit()
    with database.session_factory() as session:
        assert session.get(Park, 7).code == "LATER"  # type: ignore[union-attr]
    assert verify_chain(database.engine).ok


def test_a_flush_before_the_commit_sends_the_queued_write_first(database):  # type: ignore[no-untyped-def]
    # A row the ORM writes may refer to the queued one (a gate crossing's presence
    # refers to its passage).
    with database.session_factory() as session:
        uow = UnitOfWork(session)
        write_at_commit(session, _NEW_PARK, {"id": 7, "code": "LATER"})
        session.add(Enterprise(park_id=7, code="E1", name="一厂"))
        assert session.scalar(select(Enterprise.park_id)) == 7  # the query flushed
        uow.audit("enterprise.added", Actor.system("test"))
        uow.commit()
    with database.session_factory() as session:
        assert session.get(Park, 7) is not None and session.scalar(select(Enterprise.code)) == "E1"


def test_a_rollback_forgets_the_queued_write(database):  # type: ignore[no-untyped-def]
    with database.session_factory() as session:
        uow = UnitOfWork(session)
        write_at_commit(session, _NEW_PARK, {"id": 7, "code": "VOID"})
        uow.rollback()
        session.add(Park(code="KEPT", name="园区", policy={}))
        session.commit()  # a commit outside a unit of work sends what is queued, if any
    with database.session_factory() as session:
        assert list(session.scalars(select(Park.code))) == ["KEPT"]


def test_a_commit_outside_a_unit_of_work_sends_the_queued_write(database):  # type: ignore[no-untyped-def]
    with database.session_factory() as session:
        write_at_commit(session, _NEW_PARK, {"id": 7, "code": "LATER"})
        session.commit()
    with database.session_factory() as session:
        assert session.get(Park, 7) is not None
