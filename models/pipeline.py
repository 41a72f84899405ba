"""Statements sent to PostgreSQL together, answered in one round trip.

A gate read starts with BEGIN and its lane's lock and ends with its writes, the audit
append and COMMIT. Run one by one, each waits for its answer before the next is sent;
the audit append also holds the chain head's lock from its answer until the COMMIT's,
and in a busy worker the thread may wait for the interpreter in between while every
other writer in the park waits for that lock. psycopg's pipeline mode sends them all
at once and the server runs them in order; the lock is then held only for the
server's own work.

SQLAlchemy reads a result as soon as it has executed a statement, which pipeline mode
does not allow, so these statements go to the session's driver connection directly.
They are compiled and their values converted exactly as SQLAlchemy does for the same
statement (its bind processors: instants to UTC, JSON and so on); errors come back as
SQLAlchemy's, so callers handle them as any other.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.sql import ClauseElement

Step = tuple[ClauseElement, Mapping[str, Any]]

# Statements are built once (module constants, cached shapes), so their compiled form
# is too; a bound keeps a stream of one-off statements from growing it without end.
_COMPILED: dict[ClauseElement, Any] = {}
_MAX_COMPILED = 512


def _compiled(statement: ClauseElement, dialect: Any) -> Any:
    compiled = _COMPILED.get(statement)
    if compiled is None:
        compiled = statement.compile(dialect=dialect)
        if compiled.escaped_bind_names or compiled.post_compile_params:
            # Both rename or expand parameters at execution; none of ours need them.
            raise ValueError("statement needs SQLAlchemy's own execution")
        if len(_COMPILED) >= _MAX_COMPILED:
            _COMPILED.clear()
        _COMPILED[statement] = compiled
    return compiled


def _values(compiled: Any, params: Mapping[str, Any]) -> dict[str, Any]:
    values = compiled.construct_params(dict(params), escape_names=False)
    for name, process in compiled._bind_processors.items():
        if name in values:
            values[name] = process(values[name])
    return values


def run_pipelined(session: Session, steps: Sequence[Step], *, commit: bool = False
                  ) -> list[list[tuple[Any, ...]]]:
    """Run `steps` (statements with their values, in order) in one round trip, with
    BEGIN if the transaction has not started on the server yet and with COMMIT if
    `commit`; the rows each statement returned (plain values: for statements whose
    columns SQLAlchemy would not convert). PostgreSQL only. After a commit, the
    session's commit() that follows finds nothing left to do on the server."""
    connection = session.connection()
    raw = connection.connection.dbapi_connection
    sql = [(_compiled(statement, connection.dialect), params) for statement, params in steps]
    if any(not compiled.string.lstrip().upper().startswith("SELECT") for compiled, _ in sql):
        connection.info["wrote"] = True  # as models.db notes every statement it runs
    cursors = []
    try:
        with raw.pipeline():
            for compiled, params in sql:
                cursor = raw.cursor()
                cursor.execute(compiled.string, _values(compiled, params))
                cursors.append(cursor)
            if commit:
                raw.commit()
        # (Not cursor.description: psycopg builds it anew on each look.)
        return [cursor.fetchall() if cursor.pgresult and cursor.pgresult.nfields else []
                for cursor in cursors]
    except Exception as error:
        # Pipelined, a failure surfaces when the answers are read: name them all.
        statements = ";\n".join(compiled.string for compiled, _ in sql) + \
            (";\nCOMMIT" if commit else "")
        raise _as_sqlalchemy_error(session, connection, error, statements, None) from error


def _as_sqlalchemy_error(session: Session, connection: Any, error: Exception, statement: str,
                         params: Any) -> Exception:
    """The error as SQLAlchemy would have raised it (IntegrityError for a duplicate and
    so on). A lost server invalidates the connection and the pool, as SQLAlchemy does:
    the request answers 503 and the next one reconnects."""
    import psycopg

    if not isinstance(error, psycopg.Error):
        return error
    lost = connection.dialect.is_disconnect(error, connection.connection, None)
    if lost:
        connection.invalidate(error)
        session.get_bind().dispose(close=False)  # the other pooled connections are gone too
    return DBAPIError.instance(statement, params, error, psycopg.Error,
                               connection_invalidated=lost, dialect=connection.dialect)


# --- writes that wait for the last round trip ----------------------------------------------

_QUEUE = "pipeline.write_at_commit"


def write_at_commit(session: Session, statement: ClauseElement, params: Mapping[str, Any]
                    ) -> None:
    """Write this with the transaction's last round trip (parkgate.uow.UnitOfWork.commit)
    rather than now: for a row nothing in the transaction reads back (a gate passage,
    whose key was taken beforehand). A flush before then sends it first, so rows the
    ORM writes may refer to it; a rollback forgets it."""
    session.connection()  # the write belongs to a transaction: its end sends or forgets it
    session.info.setdefault(_QUEUE, []).append((statement, params))


def writes_at_commit(session: Session) -> list[Step]:
    """The queued writes, in order, taken off the queue (for the caller to send)."""
    return session.info.pop(_QUEUE, [])


def _send_queued(session: Session, *_: Any) -> None:
    for statement, params in writes_at_commit(session):
        session.execute(statement, params)


def _forget_queued(session: Session, transaction: Any) -> None:
    # After a commit the queue is empty; after a rollback its writes are void. A
    # savepoint's end leaves the transaction's own writes queued.
    if transaction.parent is None:
        session.info.pop(_QUEUE, None)


event.listen(Session, "before_flush", _send_queued)
event.listen(Session, "before_commit", _send_queued)  # a commit outside a unit of work
event.listen(Session, "after_transaction_end", _forget_queued)
