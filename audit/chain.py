"""The hash chain over audit_events (DESIGN §6).

Canonical encoding. An event's *body* is its fields in a fixed order — seq, the
instant as integer microseconds since the Unix epoch, then BODY_COLUMNS — joined by
U+001F (unit separator), with NULL written as U+001E. Writers scrub control
characters from text fields (JSON payloads escape them anyway), so a separator can
only ever be a separator and the encoding is unambiguous. It is simple enough that
Python, PostgreSQL and SQLite render the same text from the same row. The event's
hash is SHA-256 over `prev_hash || body` (UTF-8), so each event commits to all
before it.

Appending takes no lock in the request (queue, then integrate, as transparency logs
do): a change's events are inserted into `audit_pending` in the change's own
transaction (queue_events); after the commit the sequencer (audit.sequencer) links
them in the order they became visible, the same as commit order: under one lock
(PostgreSQL: an advisory lock, whichever process holds it; SQLite: the database's
write lock), it reads the head, hashes each event over the one before in Python,
inserts them into `audit_events` (append-only, never updated) and deletes them from
the queue in one transaction (link_pending). A crash between a commit and its
linking loses nothing: the queue is linked on the sequencer's next pass.

Verification has the database render each `prev_hash || body` from the stored
columns, so every column is covered and no loop does per-field work of its own. On
PostgreSQL the server also hashes and compares, in slices on two connections, and only
a summary per slice comes back (audit.chain_check); when that finds anything amiss, or
on SQLite, Python hashes each rendered body and names the first event that does not
fit. (PostgreSQL 14 or newer: `extract(epoch …)` is exact.)
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, text
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


def body(seq: int, at: datetime, values: Iterable[object], trip_prev: int | None = None) -> str:
    """Canonical body: seq, the instant, the BODY_COLUMNS values, then the trip's
    back-link when there is one (events linked before back-links existed have none, so
    their bodies and hashes are unchanged; a field count never depends on content,
    since a separator never appears inside a field)."""
    text = SEP.join((str(seq), str(micros(at)), *(_text(v) for v in values)))
    return text if trip_prev is None else f"{text}{SEP}{trip_prev}"


def link(prev_hash: str, event_body: str) -> str:
    return hashlib.sha256((prev_hash + event_body).encode("utf-8")).hexdigest()


# --- the same encoding rendered by the database ------------------------------------------

def sql_instant(dialect: str) -> str:
    """SQL for an event's instant in whole microseconds since the epoch (micros())."""
    if dialect == "postgresql":
        return "(extract(epoch FROM at) * 1000000)::bigint"
    # SQLAlchemy stores SQLite datetimes as 'YYYY-MM-DD HH:MM:SS.ffffff' (UTC here).
    # strftime() sees only the whole seconds: given the fraction it rounds to
    # milliseconds, and .9996 s would become the next second.
    return ("(CAST(strftime('%s', substr(at, 1, 19)) AS INTEGER) * 1000000 "
            "+ CAST(substr(at, 21, 6) AS INTEGER))")


def sql_linked_body(dialect: str) -> str:
    """SQL for `prev_hash || body` of each stored row."""
    instant = sql_instant(dialect)
    if dialect == "postgresql":
        fields = [f"COALESCE({c}::text, E'\\x1e')" for c in BODY_COLUMNS]
        # concat_ws skips a NULL: no back-link, no field (see body()).
        return (f"prev_hash || concat_ws(E'\\x1f', seq, {instant}, {', '.join(fields)}, "
                "trip_prev_leaf)")
    parts = ["CAST(seq AS TEXT)", f"CAST({instant} AS TEXT)"]
    parts += [f"COALESCE(CAST({c} AS TEXT), char(30))" for c in BODY_COLUMNS]
    return ("prev_hash || " + " || char(31) || ".join(parts)
            + " || COALESCE(char(31) || trip_prev_leaf, '')")


# --- append: queue in the change's transaction, link after commit -------------------------

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


def _queue_statement() -> Any:
    from sqlalchemy import bindparam

    from models import AuditPending
    from models.base import table

    columns = [c for c in AuditPending.__table__.columns if c.key != "id"]
    return table(AuditPending).insert().values(
        {c.key: bindparam(c.key, type_=c.type) for c in columns})


_QUEUE = _queue_statement()


def queue_and_commit(session: Session, pending: Iterable[Any]) -> list[dict[str, Any]]:
    """Queue the events and commit the transaction: the same statements on every
    database. (A PostgreSQL-only variant sent the INSERT and the COMMIT in one round
    trip through psycopg's pipeline mode; on this project's 2-core machine its Python
    cost outweighed the round trip it saved, alone and under eight writers, so it went:
    bench/audit_chain.py.)"""
    rows = queue_events(session, pending)
    session.commit()
    return rows


def queue_events(session: Session, pending: Iterable[Any]) -> list[dict[str, Any]]:
    """Write buffered events (kernel.uow.PendingAudit) to the queue in this
    transaction: an INSERT, no lock. They exist if and only if the change does; the
    sequencer links them into the chain after the commit (link_pending)."""
    rows = [_row(p) for p in pending]
    if rows:
        # One row: a single execution of the cached statement; more: executemany.
        session.execute(_QUEUE, rows[0] if len(rows) == 1 else rows)
    return rows


# The sequencer's lock on PostgreSQL: one linker at a time, whichever process holds it.
# (On SQLite every write transaction holds the database's write lock already.)
SEQUENCER_LOCK = (0x5047, 0xA0D17)
_LOCK = text("SELECT pg_advisory_xact_lock(:a, :b)")
_TRY_LOCK = text("SELECT pg_try_advisory_xact_lock(:a, :b)")
_ENSURE_HEAD = {dialect: text(f"{verb} INTO audit_head (id, seq, prev_hash, hash) "
                              f"VALUES (1, 0, :g, :g){tail}")
                for dialect, verb, tail in (("postgresql", "INSERT", " ON CONFLICT (id) DO NOTHING"),
                                            ("sqlite", "INSERT OR IGNORE", ""))}


@dataclass(frozen=True)
class Linked:
    count: int
    head_seq: int
    oldest_at: datetime | None  # the instant of the longest-waiting event linked
    tree_behind: bool = False  # the Merkle tree still covers fewer events than the chain


# Each trip's last linked seq as this process linked them, trusted while the chain's
# head is where this process left it (no other linker, no rollback since): a gate
# decision's back-link then costs no query. A trip not in it is looked up.
_TRIP_HEADS: dict[Any, tuple[int, str, dict[int, int]]] = {}
_TRIP_HEADS_KEPT = 100_000


def _trip_heads(session: Session, trip_ids: set[int]) -> dict[int, int]:
    """The last linked seq of each trip (its back-link target)."""
    from sqlalchemy import func

    from models import AuditEvent

    if not trip_ids:
        return {}
    return dict(session.execute(  # type: ignore[arg-type]  # trip_id IN (…): never NULL
        select(AuditEvent.trip_id, func.max(AuditEvent.seq))
        .where(AuditEvent.trip_id.in_(sorted(trip_ids))).group_by(AuditEvent.trip_id)).all())


def link_pending(session: Session, *, limit: int = 2000, wait: bool = True) -> Linked:
    """Link queued events into the chain, oldest first (the order they became visible,
    which is commit order), in this transaction: each gets the next seq, its trip's
    back-link and its hash over the one before; they move from audit_pending to
    audit_events, the head follows and the Merkle tree (audit.tree) grows over them.
    The caller commits. With `wait` false, return at once (0 linked) when another
    linker holds the lock: it will link these too."""
    from models import AuditEvent, AuditPending
    from models.base import table

    from . import time_blocks, tree

    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        params = {"a": SEQUENCER_LOCK[0], "b": SEQUENCER_LOCK[1]}
        if wait:
            session.execute(_LOCK, params)
        elif not session.execute(_TRY_LOCK, params).scalar():
            return Linked(0, -1, None)
    found = session.execute(text(
        "SELECT seq, hash, tree_size, tree_edge FROM audit_head WHERE id = 1")).first()
    if found is None:  # a database truncated by hand
        session.execute(_ENSURE_HEAD[dialect], {"g": GENESIS_HASH})
    head_row: tuple[int, str, int, bytes | None] = \
        (0, GENESIS_HASH, 0, None) if found is None else tuple(found)
    seq, prev, tree_size, edge = head_row
    if tree_size < seq:  # a chain from before the tree: cover a slice of it per pass
        tree_size, edge = tree.catch_up(session, tree_size, seq)
    queued = table(AuditPending)
    rows = [dict(r._mapping) for r in session.execute(
        select(queued).order_by(queued.c.id).limit(limit))]
    events = []
    url = session.get_bind().engine.url
    if rows:
        kept = _TRIP_HEADS.get(url)
        known = kept[2] if kept is not None and kept[:2] == (seq, prev) else {}
        wanted = {r["trip_id"] for r in rows if r["trip_id"] is not None}
        trips = {t: known[t] for t in wanted & known.keys()}
        trips.update(_trip_heads(session, wanted - known.keys()))
        for row in rows:
            seq += 1
            event = {k: v for k, v in row.items() if k != "id"}
            trip = event["trip_id"]
            # Leaf index = seq - 1.
            event["trip_prev_leaf"] = trips[trip] - 1 if trip in trips else None
            if trip is not None:
                trips[trip] = seq
            event["seq"], event["prev_hash"] = seq, prev
            event["hash"] = prev = link(prev, body(seq, event["at"],
                                                   [event[c] for c in BODY_COLUMNS],
                                                   event["trip_prev_leaf"]))
            events.append(event)
        session.execute(table(AuditEvent).insert(), events)
        time_blocks.widen(session, events)
        session.execute(delete(queued).where(queued.c.id.in_([r["id"] for r in rows])))
        if tree_size == seq - len(events):
            tree_size, edge = tree.extend(session, tree_size,
                                          [tree.leaf_of(e["hash"]) for e in events], edge)
        if len(known) > _TRIP_HEADS_KEPT:
            known = {}
        known.update(trips)
        _TRIP_HEADS[url] = (seq, prev, known)
    if events:
        session.execute(text("UPDATE audit_head SET seq = :s, prev_hash = :p, hash = :h, "
                             "tree_size = :t, tree_edge = :e WHERE id = 1"),
                        {"s": seq, "p": events[-1]["prev_hash"], "h": prev, "t": tree_size,
                         "e": edge})
    elif tree_size != head_row[2]:
        session.execute(text("UPDATE audit_head SET tree_size = :t, tree_edge = :e "
                             "WHERE id = 1"), {"t": tree_size, "e": edge})
    return Linked(len(events), seq if events else -1,
                  min(r["at"] for r in rows) if rows else None, tree_size < seq)


def pending_count(conn: Connection | Session) -> int:
    """Events committed but not yet linked (verification reports them)."""
    return conn.execute(text("SELECT count(*) FROM audit_pending")).scalar() or 0


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
    # Events committed but not yet linked into the chain (audit.sequencer): not yet
    # covered by this verification, never lost.
    waiting: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "waiting": self.waiting,
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


def anchors_in(anchors: Sequence[Anchor], start: int, end: int | None) -> list[Anchor]:
    """The checkpoints that name an event in [start, end] (end None: no upper bound)."""
    return [a for a in anchors if a.seq >= start and (end is None or a.seq <= end)]


def verify(
    conn: Connection,
    *,
    start_seq: int = 1,
    end_seq: int | None = None,
    expected_prev: str | None = None,
    progress: Callable[[int], None] | None = None,
    batch: int = 2_000,
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
    if progress is not None:
        progress = _never_back(progress)
    if conn.dialect.name == "postgresql":
        from .chain_check import check_intact

        intact = check_intact(conn, start=start_seq, end=end_seq,
                              expected_prev=expected_prev, anchors=anchors, progress=progress)
        if intact is not None:
            return VerifyResult(True, intact.head_seq - start_seq + 1, intact.head_seq,
                                intact.head_hash,
                                checkpoints_checked=intact.checkpoints_checked)
    expect = start_seq
    prev = expected_prev
    sha256 = hashlib.sha256
    pinned: dict[int, list[Anchor]] = {}
    for a in anchors_in(anchors, start_seq, end_seq):
        pinned.setdefault(a.seq, []).append(a)  # two checkpoints may name one event
    anchored = 0
    prev_bytes = prev.encode()
    for chunk in _read_chain(conn, start_seq, end_seq, batch):
        for seq, stored, linked in chunk:
            if seq != expect:
                if seq > expect:
                    return VerifyResult(False, expect - start_seq, expect - 1, prev, expect,
                                        "missing event(s) before this one")
                return VerifyResult(False, expect - start_seq, expect - 1, prev, seq,
                                    "duplicate seq")
            if not linked.startswith(prev_bytes):
                return VerifyResult(False, expect - start_seq, expect - 1, prev, seq,
                                    "does not link to the previous event (deleted, inserted "
                                    "or re-ordered)")
            digest = sha256(linked).hexdigest()
            if digest != stored:
                return VerifyResult(False, expect - start_seq, expect - 1, prev, seq,
                                    "content does not match its hash (edited)")
            for anchor in pinned.get(seq, ()):
                if digest != anchor.hash:
                    return VerifyResult(
                        False, expect - start_seq, expect - 1, prev, anchor.covers_from,
                        f"signed checkpoint {anchor.id} (event #{seq}) no longer matches: "
                        f"events #{anchor.covers_from}–#{seq} were rewritten",
                        checkpoint_id=anchor.id, checkpoint_range=(anchor.covers_from, seq),
                        checkpoints_checked=anchored)
                anchored += 1
            prev = digest
            prev_bytes = digest.encode()
            expect += 1
        if progress is not None:
            progress(expect - start_seq)
    missing = [a for seq, named in sorted(pinned.items()) if seq >= expect for a in named]
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


def _never_back(progress: Callable[[int], None]) -> Callable[[int], None]:
    """Progress that never goes back: when the database's check finds something amiss
    part-way, the exact reader starts counting again from the beginning."""
    furthest = 0

    def report(done: int) -> None:
        nonlocal furthest
        if done > furthest:
            furthest = done
            progress(done)
    return report


def _read_chain(conn: Connection, start: int, end: int | None,
                batch: int) -> Iterable[list[tuple[int, str, bytes]]]:
    """(seq, hash, `prev_hash || body` as UTF-8) in chain order, in batches."""
    where = "seq >= :start" + ("" if end is None else " AND seq <= :end")
    # Built only from constants of this module; values travel as parameters.
    sql = (f"SELECT seq, hash, {sql_linked_body(conn.dialect.name)} "  # noqa: S608  # nosec B608
           f"FROM audit_events WHERE {where} ORDER BY seq")
    result = conn.execute(text(sql), {"start": start, "end": end})
    while chunk := result.fetchmany(batch):
        yield [(seq, stored, linked.encode()) for seq, stored, linked in chunk]


def head(conn: Connection) -> tuple[int, str]:
    row = conn.execute(text("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1")).first()
    return (row[0], row[1]) if row else (0, GENESIS_HASH)
