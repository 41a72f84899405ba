"""The chain checked inside PostgreSQL, in slices on two connections at once: the fast
path of audit.chain.verify for a chain that is intact.

Each slice's query renders every event's `prev_hash || body` from the stored columns
(audit.chain.sql_linked_body), hashes it with the server's sha256(), compares it with
the stored hash, and compares each event's prev_hash with the stored hash of the event
before it; one summary row per slice comes back, not the events. Python then checks
that every slice is whole (as many rows as its width: seq is the primary key) and
links to the slice before, and that each signed checkpoint in range names the stored
hash at its seq.

This path only ever says "intact". Anything short of a clean pass returns None and
verify() runs the exact reader, which names the first event that does not fit and
why; a tampered chain is rare, and naming it need not be fast.

Trust is unchanged by hashing in the database: the server-side check already relied
on the database to render each body from its columns, and a server that could lie
about sha256() could lie about that rendering too. What relies on no database is an
export checked offline against a signed checkpoint (audit.offline).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

import psycopg
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

if TYPE_CHECKING:
    from .chain import Anchor

WORKERS = 2  # the server renders and hashes on one core per connection
SLICE_MIN = 2_000  # below this a slice's round trip costs more than its work
SLICE_MAX = 100_000  # a failed slice is found before the whole chain is read


@dataclass(frozen=True)
class Intact:
    head_seq: int
    head_hash: str
    checkpoints_checked: int


@dataclass(frozen=True)
class _Slice:
    lo: int
    hi: int
    rows: int
    first_prev: str | None
    last_hash: str | None
    bad: int


def _slice_sql(linked_sql: str) -> str:
    # Built only from constants of audit.chain; values travel as parameters, in
    # PostgreSQL's own placeholders (the engine's connections use raw cursors).
    # Each event is hashed in an inner query ordered by seq (the primary key's order,
    # no sort), so the window that pairs it with the event before carries four small
    # columns, not the whole row.
    return ("SELECT count(*), min(prev_hash) FILTER (WHERE seq = $1), "  # noqa: S608  # nosec B608
            "min(hash) FILTER (WHERE seq = $2), "
            "count(*) FILTER (WHERE NOT intact OR (seq > $1 AND prev_hash IS DISTINCT FROM before)) "
            "FROM (SELECT seq, prev_hash, hash, intact, lag(hash) OVER (ORDER BY seq) AS before "
            "FROM (SELECT seq, prev_hash, hash, "
            f"encode(sha256(convert_to({linked_sql}, 'UTF8')), 'hex') IS NOT DISTINCT FROM hash "
            "AS intact FROM audit_events WHERE seq BETWEEN $1 AND $2 ORDER BY seq) AS h) AS s")


def _check_slice(engine: Engine, sql: str, lo: int, hi: int) -> _Slice:
    with engine.connect() as conn:
        raw = conn.connection.driver_connection
        assert raw is not None  # a live connection
        with raw.cursor() as cursor:
            cursor.execute(sql, (lo, hi))
            rows, first_prev, last_hash, bad = cursor.fetchone()
        conn.rollback()
    return _Slice(lo, hi, rows, first_prev, last_hash, bad)


def slices(start: int, end: int) -> list[tuple[int, int]]:
    """[start, end] cut into slices, at least two per connection so both stay busy."""
    count = end - start + 1
    size = max(SLICE_MIN, min(SLICE_MAX, math.ceil(count / (2 * WORKERS))))
    return [(lo, min(end, lo + size - 1)) for lo in range(start, end + 1, size)]


def check_intact(conn: Connection, *, start: int, end: int | None, expected_prev: str,
                 anchors: Sequence[Anchor],
                 progress: Callable[[int], None] | None = None) -> Intact | None:
    """The head of [start, end] if every event in it is intact and links to
    `expected_prev`, and every anchor in range matches; otherwise None."""
    from .chain import anchors_in, sql_linked_body

    last = conn.execute(text("SELECT max(seq) FROM audit_events")).scalar() or 0
    stop = last if end is None else min(end, last)
    pinned = anchors_in(anchors, start, end)
    if any(a.seq > stop for a in pinned):
        return None  # a checkpoint names an event the chain no longer holds
    if stop < start:
        return Intact(start - 1, expected_prev, 0)
    sql = _slice_sql(sql_linked_body("postgresql"))
    prev = expected_prev
    with ThreadPoolExecutor(WORKERS, thread_name_prefix="audit-verify") as pool:
        futures: list[Future[_Slice]] = [pool.submit(_check_slice, conn.engine, sql, lo, hi)
                                         for lo, hi in slices(start, stop)]
        try:
            for future in futures:
                try:
                    part = future.result()
                except (SQLAlchemyError, psycopg.Error):
                    # No connection to spare, a statement cancelled: the exact reader,
                    # on the caller's connection, still answers.
                    return None
                if (part.bad or part.rows != part.hi - part.lo + 1
                        or part.first_prev != prev or part.last_hash is None):
                    return None
                prev = part.last_hash
                if progress is not None:
                    progress(part.hi - start + 1)
        finally:
            # Stopping at the first bad slice: the slices not yet started never start.
            for future in futures:
                future.cancel()
    if pinned:
        stored = {seq: hash_ for seq, hash_ in conn.execute(
            text("SELECT seq, hash FROM audit_events WHERE seq = ANY(:seqs)"),
            {"seqs": [a.seq for a in pinned]})}
        if any(stored.get(a.seq) != a.hash for a in pinned):
            return None
    return Intact(stop, prev, len(pinned))
