"""Statements sent to PostgreSQL together, answered in one round trip.

A gate read starts with BEGIN, its lane's lock and its snapshot, and ends with its
writes, the audit append and COMMIT. Run one by one, each waits for its answer before
the next is sent; the audit append also holds the chain head's lock from its answer
until the COMMIT's, and in a busy worker the thread may wait for the interpreter in
between while every other writer in the park waits for that lock. psycopg's pipeline
mode sends each group at once and the server runs them in order: a read is two round
trips, and the chain head is locked only for the server's own work.

SQLAlchemy reads a result as soon as it has executed a statement, which pipeline mode
does not allow, so these statements go to the session's driver connection directly.
They are compiled and their values converted exactly as SQLAlchemy does for the same
statement (its bind processors: instants to UTC, JSON and so on); errors come back as
SQLAlchemy's, so callers handle them as any other.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from psycopg import pq
from psycopg._preparing import Prepare
from psycopg._queries import PostgresQuery
from psycopg.adapt import Transformer
from psycopg.generators import fetch_many, pipeline_communicate
from sqlalchemy import event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.sql import ClauseElement

from models.db import may_write

Step = tuple[ClauseElement, Mapping[str, Any]]

# Statements are built once (module constants, cached shapes), so their compiled form
# is too; a bound keeps a stream of one-off statements from growing it without end.
_COMPILED: dict[ClauseElement, Any] = {}
_CONVERTERS: dict[ClauseElement, list[Any] | None] = {}
_PLANS: dict[tuple[Any, frozenset[str]], _Plan | None] = {}
_UNPLANNED = object()
_MAX_COMPILED = 512


def _compiled(statement: ClauseElement, dialect: Any) -> Any:
    compiled = _COMPILED.get(statement)
    if compiled is None:
        if len(_COMPILED) >= _MAX_COMPILED:
            _COMPILED.clear()
            _CONVERTERS.clear()
            _PLANS.clear()
        compiled = statement.compile(dialect=dialect)
        if compiled.escaped_bind_names:
            # Names SQLAlchemy renames when it sends them; none of ours need that.
            raise ValueError("statement needs SQLAlchemy's own execution")
        _COMPILED[statement] = compiled
    return compiled


def _converted(compiled: Any, state: Any) -> dict[str, Any]:
    """The expanded state's values, each through its type's bind processor (the
    statement's own, and those of the values an IN list was spelled out into)."""
    values = dict(state.parameters)
    for processors in (compiled._bind_processors, state.processors):
        for name, process in processors.items():
            if name in values:
                values[name] = process(values[name])
    return values


@dataclass(frozen=True)
class _Plan:
    """How a statement goes out when the caller gives it only plain values: its text
    (with IN lists of its own constants spelled out) and those constants, converted,
    worked out once; the given values are converted on each run. Spelling out and
    converting a snapshot's every time cost more than the database's answer."""
    text: str
    fixed: dict[str, Any]
    given: tuple[tuple[str, Any], ...]  # (name, its bind processor or None)


def _plan(compiled: Any, params: Mapping[str, Any]) -> _Plan | None:
    """None when a given value changes the text (an IN list of the caller's) or a value
    is computed on each run."""
    given = []
    for name, bind in compiled.binds.items():
        if bind.key in params:
            process = compiled._bind_processors.get(name)
            if bind.expanding or bind.literal_execute or name != bind.key \
                    or not (process is None or callable(process)):
                return None
            given.append((name, process))
        elif bind.callable is not None:
            return None
    state = compiled.construct_expanded_state(dict(params))
    values = _converted(compiled, state)
    names = {name for name, _ in given}
    return _Plan(state.statement, {k: v for k, v in values.items() if k not in names},
                 tuple(given))


def _as_sent(compiled: Any, params: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """The statement's text and values as SQLAlchemy would send them: IN lists spelled
    out, each value through its type's bind processor."""
    key = (compiled, frozenset(params))
    plan = _PLANS.get(key, _UNPLANNED)
    if plan is _UNPLANNED:
        plan = _PLANS[key] = _plan(compiled, params)
    if plan is None:
        return (state := compiled.construct_expanded_state(dict(params))).statement, \
            _converted(compiled, state)
    values = dict(plan.fixed)
    for name, process in plan.given:
        value = params[name]
        values[name] = value if process is None else process(value)
    return plan.text, values


def _converters(statement: ClauseElement, dialect: Any, result: pq.abc.PGresult
                ) -> list[Any] | None:
    """Each returned column's result processor (instants to UTC and so on), as
    SQLAlchemy would apply them; None when no column needs one."""
    if statement in _CONVERTERS:
        return _CONVERTERS[statement]
    # What an INSERT returns, its own RETURNING or the key SQLAlchemy asks back;
    # else what a SELECT does.
    columns = _compiled(statement, dialect).effective_returning
    if columns is None:
        columns = getattr(statement, "exported_columns", None)
    converters = None
    if columns is not None:
        found = [column.type.dialect_impl(dialect).result_processor(dialect, result.ftype(i))
                 for i, column in enumerate(columns)]
        if len(found) != result.nfields:
            raise ValueError("the statement's columns are not what the server returned")
        converters = found if any(found) else None
    _CONVERTERS[statement] = converters
    return converters


def _rows(statement: ClauseElement, dialect: Any, tx: Transformer, result: pq.abc.PGresult
          ) -> list[tuple[Any, ...]]:
    if not result.nfields or not result.ntuples:
        return []
    tx.set_pgresult(result)
    rows = tx.load_rows(0, result.ntuples, tuple)
    converters = _converters(statement, dialect, result)
    if converters is None:
        return rows
    return [tuple(value if convert is None or value is None else convert(value)
                  for convert, value in zip(converters, row, strict=True)) for row in rows]


def run_pipelined(session: Session, steps: Sequence[Step], *, commit: bool = False
                  ) -> list[list[tuple[Any, ...]]]:
    """Run `steps` (statements with their values, in order) in one round trip, with
    BEGIN if the transaction has not started on the server yet and with COMMIT if
    `commit`; the rows each statement returned, their values converted as SQLAlchemy
    converts them. PostgreSQL only. After a commit, the session's commit() that
    follows finds nothing left to do on the server."""
    connection = session.connection()
    raw = connection.connection.dbapi_connection
    dialect = connection.dialect
    sent = [_as_sent(_compiled(statement, dialect), params) for statement, params in steps]
    if any(may_write(text) for text, _ in sent):
        connection.info["wrote"] = True  # as models.db notes every statement it runs
    try:
        tx, results = _exchange(raw, sent, commit=commit)
        return [_rows(statement, dialect, tx, result)
                for (statement, _), result in zip(steps, results, strict=True)]
    except psycopg.Error as error:
        # Pipelined, a failure surfaces when the answers are read: name them all.
        statements = ";\n".join(text for text, _ in sent) + (";\nCOMMIT" if commit else "")
        raise _as_sqlalchemy_error(connection, error, statements) from error


# What each answer of a round trip is: None for a command of ours (BEGIN, a PREPARE,
# COMMIT), else its statement's prepare bookkeeping (cache key or None, how, name).
_Answer = tuple[Any, Prepare, bytes] | None


def _exchange(raw: psycopg.Connection[Any], sent: list[tuple[str, dict[str, Any]]], *,
              commit: bool) -> tuple[Transformer, list[pq.abc.PGresult]]:
    """Send the statements (with BEGIN first if no transaction is open, and COMMIT
    last if `commit`) in pipeline mode and read every answer: each statement's result.

    psycopg's own pipeline (a cursor per statement) sends and polls once per statement
    and processes each answer through its cursor; this sends the lot in one go and
    reads the answers once, at a third of the CPU (bench: 3 statements and COMMIT,
    110-130 us against 290-350 us). Statements are prepared through the connection's
    own prepare manager, exactly as its cursors would prepare them: after their
    fifth run, forgotten with everything else when psycopg rolls back."""
    tx = Transformer(raw)
    with raw.lock:
        commands, answers = _queued(raw, tx, sent, commit=commit)
        received = _received(raw, commands, len(answers) + 1)
        return tx, _results(raw, answers, received)


def _queued(raw: psycopg.Connection[Any], tx: Transformer,
            sent: list[tuple[str, dict[str, Any]]], *, commit: bool
            ) -> tuple[deque[Callable[[], Any]], list[_Answer]]:
    """The round trip's commands, in order, and what each of their answers is."""
    pgconn, prepared = raw.pgconn, raw._prepared
    commands: deque[Callable[[], Any]] = deque()
    answers: list[_Answer] = []
    if pgconn.transaction_status == pq.TransactionStatus.IDLE:
        commands.append(partial(pgconn.send_query_params, b"BEGIN", None))
        answers.append(None)
    for text, values in sent:
        query = PostgresQuery(tx)
        query.convert(text, values)
        how, name = prepared.get(query)
        if how is Prepare.NO:
            commands.append(partial(pgconn.send_query_params, query.query, query.params,
                                    param_formats=query.formats, param_types=query.types))
        else:
            if how is Prepare.SHOULD:
                commands.append(partial(pgconn.send_prepare, name, query.query,
                                        param_types=query.types))
                answers.append(None)
            commands.append(partial(pgconn.send_query_prepared, name, query.params,
                                    param_formats=query.formats))
        answers.append((prepared.maybe_add_to_cache(query, how, name), how, name))
    if commit:
        commands.append(partial(pgconn.send_query_params, b"COMMIT", None))
        answers.append(None)
    commands.append(pgconn.pipeline_sync)
    return commands, answers


def _results(raw: psycopg.Connection[Any], answers: list[_Answer],
             received: list[list[pq.abc.PGresult]]) -> list[pq.abc.PGresult]:
    """Each statement's result; the prepare manager told which statements ran (it
    keeps only those as prepared, psycopg's own check). The first error is raised."""
    results, error = [], None
    for what, got in zip(answers, received, strict=False):
        if what is not None:
            key, how, name = what
            if key is not None:
                raw._prepared.validate(key, how, name, got)
            results.append(got[-1])
        failed = next((r for r in got if r.status == pq.ExecStatus.FATAL_ERROR), None)
        if failed is not None and error is None:
            error = pg_errors.error_from_result(failed, encoding=raw.pgconn._encoding)
    if error is not None:
        raise error
    return results


def _received(raw: psycopg.Connection[Any], commands: deque[Callable[[], Any]], expected: int
              ) -> list[list[pq.abc.PGresult]]:
    """Send `commands` in pipeline mode and read `expected` answers (the last, the
    sync's). A failed statement's followers answer PIPELINE_ABORTED up to the sync."""
    pgconn = raw.pgconn
    pgconn.enter_pipeline_mode()
    try:
        received = raw.wait(pipeline_communicate(pgconn, commands))
        while len(received) < expected:
            received.append(raw.wait(fetch_many(pgconn)))
    except BaseException:
        if pgconn.status != pq.ConnStatus.BAD:
            # Leave the connection usable: a rollback follows and must be heard.
            raw.wait(_drain(pgconn))
        raise
    pgconn.exit_pipeline_mode()
    return received


def _drain(pgconn: pq.abc.PGconn) -> Any:
    while True:
        got = yield from fetch_many(pgconn)
        if not got or got[0].status == pq.ExecStatus.PIPELINE_SYNC:
            break
    pgconn.exit_pipeline_mode()


def _as_sqlalchemy_error(connection: Any, error: psycopg.Error, statement: str) -> Exception:
    """The error as SQLAlchemy would have raised it (IntegrityError for a duplicate and
    so on). A lost server invalidates the connection and the pool, as SQLAlchemy does:
    the request answers 503 and the next one reconnects."""
    lost = connection.dialect.is_disconnect(error, connection.connection, None)
    if lost:
        connection.invalidate(error)
        connection.engine.dispose(close=False)  # the other pooled connections are gone too
    return DBAPIError.instance(statement, None, error, psycopg.Error,
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
