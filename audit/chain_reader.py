"""The stored chain read back for verification: (seq, hash, `prev_hash || body` as
UTF-8 bytes) in chain order, in batches.

On PostgreSQL the database renders each body (audit.chain.sql_linked_body) and that
rendering costs about as much as the hashing. So two readers, each on a connection
of its own, fetch alternate slices of the chain while the caller hashes: the server
renders on one core while Python hashes on the other. Each slice waits in a short
queue, so memory stays bounded whatever the chain's length; the events are
append-only, so slices read in different transactions still hold exactly what was
linked when the verification began (its range is fixed first).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection

SLICE = 5000
READERS = 2
AHEAD = 4 * READERS  # slices read but not yet hashed, at most
_DONE = object()


def read_chain(conn: Connection, start: int, end: int | None, batch: int,
               linked_sql: str) -> Iterator[list[Any]]:
    if conn.dialect.name != "postgresql":
        yield from _read_one(conn, start, end, batch, linked_sql)
        return
    if end is None:
        end = conn.execute(text("SELECT max(seq) FROM audit_events")).scalar() or 0
    if end < start:
        return
    yield from _Readers(conn, start, end, batch, linked_sql)


def _read_one(conn: Connection, start: int, end: int | None, batch: int,
              linked_sql: str) -> Iterator[list[Any]]:
    where = "seq >= :start" + ("" if end is None else " AND seq <= :end")
    # Built only from constants of audit.chain; values travel as parameters.
    sql = (f"SELECT seq, hash, {linked_sql} FROM audit_events "  # noqa: S608  # nosec B608
           f"WHERE {where} ORDER BY seq")
    result = conn.execute(text(sql), {"start": start, "end": end})
    while chunk := result.fetchmany(batch):
        yield [(seq, stored, linked.encode()) for seq, stored, linked in chunk]


class _Readers:
    """Slices [start, end] read by READERS threads, handed out in chain order."""

    def __init__(self, conn: Connection, start: int, end: int, batch: int,
                 linked_sql: str) -> None:
        self.engine = conn.engine
        self.batch = batch
        # Built only from constants of audit.chain; values travel as parameters, in
        # PostgreSQL's own placeholders (the engine's connections use raw cursors).
        self.sql = (f"SELECT seq, hash, convert_to({linked_sql}, 'UTF8') "  # noqa: S608  # nosec B608
                    "FROM audit_events WHERE seq BETWEEN $1 AND $2 ORDER BY seq")
        self.slices = [(lo, min(end, lo + SLICE - 1)) for lo in range(start, end + 1, SLICE)]
        self.queues: list[queue.Queue[Any]] = [queue.Queue() for _ in self.slices]
        # A reader starts slice i only once the caller has taken every slice before
        # i - AHEAD: memory holds a few slices, not the chain, however fast the
        # database renders; and the slice the caller waits for may always be read.
        self.taken = 0
        self.turn = threading.Condition()
        self.stop = threading.Event()

    def __iter__(self) -> Iterator[list[Any]]:
        threads = [threading.Thread(target=self._read, args=(k,), daemon=True,
                                    name=f"audit-verify-{k}") for k in range(READERS)]
        for thread in threads:
            thread.start()
        try:
            for slot in self.queues:
                while (item := slot.get()) is not _DONE:
                    if isinstance(item, BaseException):
                        raise item
                    yield item
                with self.turn:
                    self.taken += 1
                    self.turn.notify_all()
        finally:
            # The caller may stop at the first bad event: the readers stop too.
            self.stop.set()
            for thread in threads:
                thread.join()

    def _read(self, k: int) -> None:
        i = k
        try:
            with self.engine.connect() as conn:
                raw = conn.connection.driver_connection
                assert raw is not None  # a live connection
                for i in range(k, len(self.slices), READERS):
                    if not self._wait_turn(i):
                        return
                    with raw.cursor(binary=True) as cursor:
                        cursor.execute(self.sql, self.slices[i])
                        while chunk := cursor.fetchmany(self.batch):
                            self.queues[i].put(chunk)
                    self.queues[i].put(_DONE)
                conn.rollback()
        except BaseException as error:  # noqa: BLE001 - raised again in the caller's thread
            # Whatever ends a reader reaches the caller, which would otherwise wait for
            # this slice for ever.
            self.queues[i].put(error)

    def _wait_turn(self, i: int) -> bool:
        """Until slice i may be read (False: the caller has stopped)."""
        with self.turn:
            while i >= self.taken + AHEAD:
                if self.stop.is_set():
                    return False
                self.turn.wait(0.1)
        return not self.stop.is_set()
