"""The hash chain over audit_events (DESIGN §6).

Canonical encoding. An event's *body* is its fields in a fixed order — seq, the
instant as integer microseconds since the Unix epoch, then BODY_COLUMNS — joined by
U+001F (unit separator), with NULL written as U+001E. Writers scrub control
characters from text fields (JSON payloads escape them anyway), so a separator can
only ever be a separator and the encoding is unambiguous. It is simple enough that
Python, PostgreSQL and SQLite render the same text from the same row. The event's
hash is SHA-256 over `prev_hash || body` (UTF-8), so each event commits to all
before it.

Appending serialises on the chain head, one row in `audit_head`:
- PostgreSQL: one statement per event. `UPDATE audit_head … RETURNING` takes the
  row lock and, after waiting for it, re-reads the committed head (READ COMMITTED
  re-evaluates the updated row), computes the new hash in SQL and feeds the INSERT.
  The lock is held until COMMIT, so two writers can never link to the same event.
  A unit of work sends the append and COMMIT in one round trip (append_and_commit),
  so the lock is held for the server's work only, not while a busy worker thread
  waits its turn to send COMMIT.
- SQLite: every transaction already holds the database write lock (BEGIN
  IMMEDIATE, models.db); the head is read, linked in Python and written back.

Verification has the database render each `prev_hash || body` from the stored
columns and hashes it in Python, so every column is covered and the loop does no
per-field work of its own. (PostgreSQL 14 or newer: `extract(epoch …)` is exact.)
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import TextClause, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

GENESIS_HASH = "0" * 64
SEP = "\x1f"
NULL = "\x1e"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

# Order of the hashed fields after seq and the instant; the same order everywhere below.
BODY_COLUMNS = (
    "actor_kind", "actor_id", "actor_name", "action", "subject_kind", "subject_id",
    "trip_id", "vehicle_id", "person_id", "enterprise_id", "lane_id", "plate", "payload",
)


def micros(at: datetime) -> int:
    return (at - EPOCH) // _MICRO


def clean(value: str | None) -> str | None:
    """Text as it will be stored and hashed: no control characters (see encoding)."""
    if value is None:
        return None
    return _CONTROL.sub("\ufffd", value)


def canonical_payload(payload: dict[str, Any]) -> str:
    import json

    return json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                      default=str)


def _text(value: object) -> str:
    return NULL if value is None else str(value)


def body(seq: int, at: datetime, values: Iterable[object]) -> str:
    """Canonical body: seq, the instant, then the BODY_COLUMNS values."""
    return SEP.join((str(seq), str(micros(at)), *(_text(v) for v in values)))


def link(prev_hash: str, event_body: str) -> str:
    return hashlib.sha256((prev_hash + event_body).encode("utf-8")).hexdigest()


# --- the same encoding rendered by the database ------------------------------------------

def sql_linked_body(dialect: str) -> str:
    """SQL for `prev_hash || body` of each stored row."""
    if dialect == "postgresql":
        instant = "(extract(epoch FROM at) * 1000000)::bigint"
        fields = [f"COALESCE({c}::text, E'\\x1e')" for c in BODY_COLUMNS]
        return f"prev_hash || concat_ws(E'\\x1f', seq, {instant}, {', '.join(fields)})"
    # SQLAlchemy stores SQLite datetimes as 'YYYY-MM-DD HH:MM:SS.ffffff' (UTC here).
    # strftime() sees only the whole seconds: given the fraction it rounds to
    # milliseconds, and .9996 s would become the next second.
    instant = ("(CAST(strftime('%s', substr(at, 1, 19)) AS INTEGER) * 1000000 "
               "+ CAST(substr(at, 21, 6) AS INTEGER))")
    parts = ["CAST(seq AS TEXT)", f"CAST({instant} AS TEXT)"]
    parts += [f"COALESCE(CAST({c} AS TEXT), char(30))" for c in BODY_COLUMNS]
    return "prev_hash || " + " || char(31) || ".join(parts)


# --- append -----------------------------------------------------------------------------

def _row(p: Any) -> dict[str, Any]:
    actor = p.actor
    return {
        "at": p.at,
        "actor_kind": clean(actor.kind),
        "actor_id": None if actor.id is None else clean(str(actor.id)),
        "actor_name": clean(actor.name),
        "action": clean(p.action),
        "subject_kind": clean(p.subject_kind),
        "subject_id": None if p.subject_id is None else clean(str(p.subject_id)),
        "trip_id": p.trip_id,
        "vehicle_id": p.vehicle_id,
        "person_id": p.person_id,
        "enterprise_id": p.enterprise_id,
        "lane_id": p.lane_id,
        "plate": clean(p.plate),
        "payload": canonical_payload(p.payload),
    }


def _rest(row: dict[str, Any]) -> str:
    """The body after its seq field (seq is only known under the head lock)."""
    return SEP.join((str(micros(row["at"])), *(_text(row[c]) for c in BODY_COLUMNS)))


# Casts for the values of one event: in a UNION a NULL has no type of its own, and
# none is narrowed (CAST to varchar(8) would silently cut; the column refuses).
_PG_CASTS = {"at": "TIMESTAMPTZ", "trip_id": "BIGINT", "vehicle_id": "BIGINT",
             "person_id": "BIGINT", "enterprise_id": "BIGINT", "lane_id": "BIGINT"}
_PG_CHUNK = 32  # events per statement


@functools.lru_cache(maxsize=_PG_CHUNK)
def _pg_append(n: int) -> TextClause:
    """One statement that appends n events: lock the head, link e1…en in SQL (each
    hash over the previous one, as verify() recomputes), insert them, move the head.

    The head is locked with FOR UPDATE; under READ COMMITTED a writer that waited for
    it reads the head as the other writer committed it, so two transactions can
    never link to the same event. The lock is held until COMMIT.
    """
    link = ("e{i} AS (SELECT seq + 1 AS seq, hash AS prev_hash, encode(sha256(convert_to("
            "hash || CAST(seq + 1 AS TEXT) || E'\\x1f' || CAST(:rest_{i} AS TEXT), 'UTF8')), "
            "'hex') AS hash FROM {before})")
    links = ["h0 AS (SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE)"]
    links += [link.format(i=i, before="h0" if i == 1 else f"e{i - 1}") for i in range(1, n + 1)]
    last = f"e{n}"
    links.append(f"moved AS (UPDATE audit_head SET seq = {last}.seq, "  # noqa: S608  # nosec B608
                 f"prev_hash = {last}.prev_hash, hash = {last}.hash FROM {last} "
                 "WHERE audit_head.id = 1)")
    columns = ("at", *BODY_COLUMNS)
    values = ", ".join(f"CAST(:{c}_{{i}} AS {_PG_CASTS.get(c, 'TEXT')})" for c in columns)
    row = "SELECT e{i}.seq, " + values + ", e{i}.prev_hash, e{i}.hash FROM e{i}"  # noqa: S608  # nosec B608
    rows = [row.format(i=i) for i in range(1, n + 1)]
    return text(  # built only from this module's constants; values travel as parameters
        "WITH " + ",\n".join(links)
        + f"\nINSERT INTO audit_events (seq, {', '.join(columns)}, prev_hash, hash)\n"
        + "\nUNION ALL\n".join(rows) + "\nRETURNING seq, hash")


_ENSURE_HEAD = {dialect: text(f"{verb} INTO audit_head (id, seq, prev_hash, hash) "
                              f"VALUES (1, 0, :g, :g){tail}")
                for dialect, verb, tail in (("postgresql", "INSERT", " ON CONFLICT (id) DO NOTHING"),
                                            ("sqlite", "INSERT OR IGNORE", ""))}


def _ensure_head(session: Session) -> None:
    session.execute(_ENSURE_HEAD[session.get_bind().dialect.name], {"g": GENESIS_HASH})


def append_events(session: Session, pending: Iterable[Any]) -> list[dict[str, Any]]:
    """Link and insert buffered events (parkgate.uow.PendingAudit) in this transaction."""
    rows = [_row(p) for p in pending]
    if not rows:
        return rows
    if session.get_bind().dialect.name == "postgresql":
        return _append_postgres(session, rows)
    return _append_sqlite(session, rows)


def _chunks(rows: list[dict[str, Any]]) -> Iterable[tuple[list[dict[str, Any]], Any, dict[str, Any]]]:
    """The PostgreSQL append statements for `rows`: each chunk, its statement, its values."""
    for first in range(0, len(rows), _PG_CHUNK):
        chunk = rows[first:first + _PG_CHUNK]
        params = {f"{key}_{i}": value for i, row in enumerate(chunk, 1)
                  for key, value in (*row.items(), ("rest", _rest(row)))}
        yield chunk, _pg_append(len(chunk)), params


def _linked(chunk: list[dict[str, Any]], linked: Iterable[tuple[int, str]]) -> None:
    for row, (seq, hash_) in zip(chunk, sorted(linked), strict=True):
        row["seq"], row["hash"] = seq, hash_


def _append_postgres(session: Session, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for chunk, statement, params in _chunks(rows):
        linked = session.execute(statement, params).all()
        if not linked:  # no head row (a database truncated by hand)
            _ensure_head(session)
            linked = session.execute(statement, params).all()
        _linked(chunk, linked)
    return rows


def append_and_commit(session: Session, pending: Iterable[Any], before: Sequence[Any] = ()
                      ) -> tuple[list[dict[str, Any]], list[list[Any]]]:
    """PostgreSQL: the `before` statements (each with its values), the events' append
    and COMMIT in one round trip (models.pipeline), so the chain head is locked only
    for the server's own work. The appended events, and the rows of each `before`."""
    from models.pipeline import run_pipelined

    rows = [_row(p) for p in pending]
    chunks = list(_chunks(rows))
    # The head row must be there before the append links to it: there is no second
    # try once the pipeline has committed (a database truncated by hand has none).
    steps = [*before, (_ENSURE_HEAD["postgresql"], {"g": GENESIS_HASH})]
    steps += [(statement, params) for _, statement, params in chunks]
    results = run_pipelined(session, steps, commit=True)
    for (chunk, _, _), linked in zip(chunks, results[len(before) + 1:], strict=True):
        _linked(chunk, linked)
    return rows, results[:len(before)]


def _append_sqlite(session: Session, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    head = session.execute(text("SELECT seq, hash FROM audit_head WHERE id = 1")).first()
    if head is None:
        _ensure_head(session)
        head = (0, GENESIS_HASH)
    seq, prev = head
    for row in rows:
        seq += 1
        row["seq"] = seq
        row["prev_hash"] = prev
        row["hash"] = prev = link(prev, str(seq) + SEP + _rest(row))
    from models import AuditEvent

    session.execute(AuditEvent.__table__.insert(), rows)
    session.execute(text("UPDATE audit_head SET seq = :s, prev_hash = :p, hash = :h WHERE id = 1"),
                    {"s": seq, "p": rows[-1]["prev_hash"], "h": prev})
    return rows


# --- verify -----------------------------------------------------------------------------

@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    head_seq: int
    head_hash: str
    first_bad_seq: int | None = None
    problem: str | None = None
    # The first signed checkpoint the recomputed chain no longer matches, and the
    # events it covers (after the checkpoint before it, up to its own).
    checkpoint_id: int | None = None
    checkpoint_range: tuple[int, int] | None = None
    checkpoints_checked: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok, "checked": self.checked, "head_seq": self.head_seq,
            "head_hash": self.head_hash, "first_bad_seq": self.first_bad_seq,
            "problem": self.problem, "checkpoint_id": self.checkpoint_id,
            "checkpoint_range": list(self.checkpoint_range) if self.checkpoint_range else None,
            "checkpoints_checked": self.checkpoints_checked,
        }


@dataclass(frozen=True)
class Anchor:
    """A signed checkpoint as verify() checks it: the hash the park signed at `seq`."""
    id: int
    seq: int
    hash: str
    covers_from: int  # the first event after the checkpoint before it


def _rows(conn: Connection, start: int, end: int | None, batch: int) -> Iterable[list[Any]]:
    """(seq, hash, prev_hash || body) in chain order, in batches."""
    dialect = conn.dialect.name
    mark = "%(start)s" if dialect == "postgresql" else ":start"
    where = f"seq >= {mark}"
    params: dict[str, Any] = {"start": start}
    if end is not None:
        where += " AND seq <= " + ("%(end)s" if dialect == "postgresql" else ":end")
        params["end"] = end
    # Built only from constants of this module; values travel as parameters.
    sql = (f"SELECT seq, hash, {sql_linked_body(dialect)} FROM audit_events "  # noqa: S608  # nosec B608
           f"WHERE {where} ORDER BY seq")
    if dialect == "postgresql":
        # A named (server-side) cursor on the driver connection: constant memory, and
        # plain tuples rather than Row objects in the hot loop.
        raw = conn.connection.driver_connection
        with raw.cursor(name="parkgate_audit_verify", binary=True) as cur:
            cur.itersize = batch
            cur.execute(sql, params)
            while chunk := cur.fetchmany(batch):
                yield chunk
        return
    result = conn.exec_driver_sql(sql, params)
    while chunk := result.fetchmany(batch):
        yield chunk


def verify(
    conn: Connection,
    *,
    start_seq: int = 1,
    end_seq: int | None = None,
    expected_prev: str | None = None,
    progress: Callable[[int], None] | None = None,
    batch: int = 20_000,
    anchors: Sequence[Anchor] = (),
) -> VerifyResult:
    """Recompute the chain from `start_seq` and name the first event that does not fit.

    Detects an edited event (hash mismatch), a deleted or inserted one (gap in seq or
    broken link) and re-ordering (broken link). Starting mid-chain, the link to the
    previous event is taken from the database unless `expected_prev` (e.g. from a
    signed checkpoint) is given. Each of `anchors` in range must match the recomputed
    hash at its position: a chain re-hashed after an edit is consistent in itself,
    and only what the park signed before shows it.
    """
    if expected_prev is None:
        if start_seq <= 1:
            expected_prev = GENESIS_HASH
        else:
            row = conn.execute(text("SELECT hash FROM audit_events WHERE seq = :s"),
                               {"s": start_seq - 1}).first()
            expected_prev = row[0] if row else GENESIS_HASH
    expect = start_seq
    prev = expected_prev
    sha256 = hashlib.sha256
    pinned = {a.seq: a for a in anchors if a.seq >= start_seq
              and (end_seq is None or a.seq <= end_seq)}
    anchored = 0
    for chunk in _rows(conn, start_seq, end_seq, batch):
        for seq, stored, linked in chunk:
            if seq != expect:
                if seq > expect:
                    return VerifyResult(False, expect - start_seq, expect - 1, prev, expect,
                                        "missing event(s) before this one")
                return VerifyResult(False, expect - start_seq, expect - 1, prev, seq,
                                    "duplicate seq")
            if not linked.startswith(prev):
                return VerifyResult(False, expect - start_seq, expect - 1, prev, seq,
                                    "does not link to the previous event (deleted, inserted "
                                    "or re-ordered)")
            digest = sha256(linked.encode()).hexdigest()
            if digest != stored:
                return VerifyResult(False, expect - start_seq, expect - 1, prev, seq,
                                    "content does not match its hash (edited)")
            anchor = pinned.get(seq)
            if anchor is not None:
                if digest != anchor.hash:
                    return VerifyResult(
                        False, expect - start_seq, expect - 1, prev, anchor.covers_from,
                        f"signed checkpoint {anchor.id} (event #{seq}) no longer matches: "
                        f"events #{anchor.covers_from}–#{seq} were rewritten",
                        checkpoint_id=anchor.id, checkpoint_range=(anchor.covers_from, seq),
                        checkpoints_checked=anchored)
                anchored += 1
            prev = digest
            expect += 1
        if progress is not None:
            progress(expect - start_seq)
    missing = [a for seq, a in sorted(pinned.items()) if seq >= expect]
    if missing:
        first = missing[0]
        return VerifyResult(False, expect - start_seq, expect - 1, prev, expect,
                            f"signed checkpoint {first.id} names event #{first.seq}, which "
                            "the chain no longer holds (events deleted)",
                            checkpoint_id=first.id,
                            checkpoint_range=(first.covers_from, first.seq),
                            checkpoints_checked=anchored)
    return VerifyResult(True, expect - start_seq, expect - 1, prev,
                        checkpoints_checked=anchored)


def head(conn: Connection) -> tuple[int, str]:
    row = conn.execute(text("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1")).first()
    return (row[0], row[1]) if row else (0, GENESIS_HASH)
