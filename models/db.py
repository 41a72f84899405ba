"""Engine and session set-up for both engines (SQLite embedded, PostgreSQL production)."""

from __future__ import annotations

import contextlib
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker


def normalise_url(url: str) -> str:
    # One driver for PostgreSQL everywhere: psycopg 3.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def make_engine(url: str, **kwargs: Any) -> Engine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs
        )
        _configure_sqlite(engine)
        return engine
    # No pre-ping round trip on every checkout: a connection the server dropped raises a
    # disconnect error once, SQLAlchemy then invalidates the whole pool, and the API
    # answers 503 (retryable) for that one request; clients retry idempotently.
    kwargs.setdefault("pool_pre_ping", False)
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    # Placeholders in PostgreSQL's own form ($1, $2, …), sent as they are (psycopg's raw
    # cursors, below). With %(name)s psycopg rewrites each statement in Python and
    # remembers only those under 4 kB: a booking import's batched INSERTs, thousands of
    # placeholders each, spent a third of the import there, and the gate's snapshot
    # query a few per cent of every decision. Both switches are documented: SQLAlchemy's
    # `paramstyle` and psycopg's cursor factories.
    kwargs.setdefault("paramstyle", "numeric_dollar")
    engine = create_engine(url, **kwargs)
    _configure_psycopg(engine)
    return engine


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take transaction control from the driver so we can BEGIN IMMEDIATE below.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # A deferred SQLite transaction that reads and then writes fails at once
        # (SQLITE_BUSY) when another connection wrote in between; taking the write
        # lock up front makes embedded writers queue instead. This also serialises
        # the audit chain head on SQLite. Connections marked read-only take no lock:
        # in WAL mode readers neither wait for nor block the writer.
        if conn.get_execution_options().get("readonly"):
            conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")


PREPARED_MAX = 1000  # statements prepared per connection (psycopg's default: 100)


def _configure_psycopg(engine: Engine) -> None:
    import psycopg

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Raw cursors take $n placeholders and pass the query through untouched; so
        # does a named (server-side) cursor, should SQLAlchemy open one.
        dbapi_conn.cursor_factory = psycopg.RawCursor
        dbapi_conn.server_cursor_factory = psycopg.RawServerCursor
        # psycopg prepares a statement on the server after its fifth run on a
        # connection and keeps 100 by default, evicting the least recently used: the
        # lot's day alone runs about 110 distinct statements on one connection (IN
        # lists of each length are statements of their own). `prepared_max` is
        # psycopg's public setting; a prepared plan costs the server a few kB.
        dbapi_conn.prepared_max = PREPARED_MAX


def read_only(engine: Engine) -> Engine:
    """The same pool, for work that only reads (verification, exports, reports)."""
    return engine.execution_options(readonly=True)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


_COMPILED: dict[tuple[str, Any], Any] = {}


def compiled_for(connection: Any, statement: Any) -> Any:
    """A module-level statement compiled once per dialect (SQLAlchemy's public Compiled
    API), for work sent on the driver connection directly (psycopg's pipeline mode)."""
    key = (connection.dialect.name, statement)
    compiled = _COMPILED.get(key)
    if compiled is None:
        compiled = _COMPILED[key] = statement.compile(dialect=connection.dialect)
    return compiled


def driver_errors(connection: Any, statement: str) -> Any:
    """A context for work done on the driver connection directly (psycopg's pipeline
    mode): its errors come out as SQLAlchemy's (IntegrityError for a duplicate and so
    on), and a lost server invalidates the connection as SQLAlchemy would."""
    import psycopg
    from sqlalchemy.exc import DBAPIError

    @contextlib.contextmanager
    def guard() -> Any:
        try:
            yield
        except psycopg.Error as error:
            lost = connection.dialect.is_disconnect(error, connection.connection, None)
            if lost:
                connection.invalidate(error)
            raise DBAPIError.instance(statement, None, error, psycopg.Error,
                                      connection_invalidated=lost,
                                      dialect=connection.dialect) from error

    return guard()
