"""The PostgreSQL engine: statements of every shape run with PostgreSQL's own
placeholders, more statements stay prepared than psycopg keeps by default, a
transaction that wrote rolls back, and a session whose connection was lost still
closes."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, literal_column, select, text
from sqlalchemy.orm import Session

from models import Park
from models.db import make_engine

pytestmark = pytest.mark.postgres

_PREPARED = text("SELECT count(*) FROM pg_prepared_statements")


def _one_connection(url: str) -> Engine:
    """An engine of one connection, so every session in a test uses the same one."""
    return make_engine(url, pool_size=1, max_overflow=0)


@pytest.mark.parametrize("write", [
    "INSERT INTO parks (code, name, timezone, policy) VALUES ('X', 'x', 'UTC', '{}')",
    "WITH p AS (INSERT INTO parks (code, name, timezone, policy) "
    "VALUES ('X', 'x', 'UTC', '{}') RETURNING id) SELECT id FROM p",
])
def test_a_session_that_wrote_and_did_not_commit_leaves_nothing(pg_database, write):  # type: ignore[no-untyped-def]
    engine = _one_connection(pg_database.engine.url.render_as_string(hide_password=False))
    try:
        with Session(engine) as session:
            session.execute(select(Park.id)).all()
            session.execute(text(write))
            session.execute(select(Park.id)).all()
        with Session(engine) as session:
            assert session.scalars(select(Park.code)).all() == []
    finally:
        engine.dispose()


def test_a_read_session_whose_server_connection_died_closes_cleanly(pg_database):  # type: ignore[no-untyped-def]
    from sqlalchemy.exc import OperationalError

    engine = _one_connection(pg_database.engine.url.render_as_string(hide_password=False))
    try:
        session = Session(engine)
        pid = session.scalar(text("SELECT pg_backend_pid()"))
        with pg_database.engine.connect() as admin:
            admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        with pytest.raises(OperationalError):
            session.execute(select(Park.id)).all()
        session.close()  # a request's teardown: must not raise on the lost connection
        with Session(engine) as fresh:
            assert fresh.execute(select(Park.id)).all() == []
    finally:
        engine.dispose()


def test_more_statements_stay_prepared_than_psycopg_keeps_by_default(pg_database):  # type: ignore[no-untyped-def]
    engine = _one_connection(pg_database.engine.url.render_as_string(hide_password=False))
    distinct = 150  # psycopg alone would keep the last 100
    try:
        with Session(engine) as session:
            for _ in range(6):  # prepared on the fifth run
                for n in range(distinct):
                    session.execute(select(Park.id, literal_column(str(n)))).all()  # n-th text
            assert session.scalar(_PREPARED) >= distinct
    finally:
        engine.dispose()


def test_statements_of_every_shape_run_with_postgresql_placeholders(pg_database):  # type: ignore[no-untyped-def]
    """The engine sends $1-style placeholders through psycopg's raw cursors (models.db):
    a literal per cent sign stays one, an IN list of thousands, a batched INSERT that
    returns its keys and a server-side cursor all keep working."""
    from sqlalchemy import insert

    engine = pg_database.engine
    with engine.connect() as conn:
        assert conn.execute(text("SELECT :a || '%' || :b"), {"a": "x", "b": "y"}).scalar() == "x%y"
        assert conn.execute(text("SELECT 'a%b' LIKE :p"), {"p": "a%"}).scalar() is True
        many = list(range(5000))
        assert conn.execute(select(literal_column("1")).where(
            literal_column("3").in_(many))).scalar() == 1
        ids = conn.execute(insert(Park).returning(Park.id), [
            {"code": f"P{i}", "name": f"园区{i}", "timezone": "Asia/Shanghai", "policy": {}}
            for i in range(2500)]).scalars().all()
        assert len(set(ids)) == 2500
        streamed = conn.execution_options(stream_results=True, max_row_buffer=100).execute(
            select(Park.code).where(Park.code.like("P1%")))
        assert len(streamed.all()) == 1 + 10 + 100 + 1000
        conn.rollback()
