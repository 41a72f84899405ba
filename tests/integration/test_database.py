"""The PostgreSQL engine: more statements stay prepared than psycopg keeps by default,
a transaction that wrote rolls back, and a session whose connection was lost still
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
