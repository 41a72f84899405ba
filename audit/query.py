"""Auditors' look-ups over the audit trail and the gate passages.

One filter (`AuditFilter`) serves both lists, the export and the page; each filter
becomes a condition an index can answer (see models.audit / models.passage), and
lists page by key (`before` = the last seq / passage id seen), never by offset, so
page 1000 of a year costs what page 1 does.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, String, cast, false, func, or_, select, text
from sqlalchemy.orm import Session

from models import (
    AuditEvent,
    Lane,
    Passage,
    PassageReason,
    Person,
    Qualification,
    Trip,
    Vehicle,
)
from registry import pii
from rules.identity import id_problem, normalise_id
from rules.plates import normalise

from . import time_blocks

MAX_PAGE = 500
DECISIONS = ("OPEN", "DENY", "DIVERT_TO_LOT", "HOLD_FOR_OPERATOR")
# A plate or a person names a handful of vehicles, people and trips. Looked up first,
# they reach audit_events and passages as lists of ids, which those tables' indexes
# answer. Left as sub-selects ORed with the plate, they gave the planner nothing to
# look up: it walked a year of events backwards to fill one page (1.2 s at 5 M events,
# bench/audit_query.py). Past this many, the sub-select stays (slower, never wrong).
MAX_LISTED = 5_000
# Passages have no time blocks (they are written by every gate read; a shared row
# would serialise the gates): a window of them is turned into its range of ids by
# reading it from ix_passages_seen, a cost that grows with the window (1.5 ms for a
# day, 23 ms for a month at 2 M passages). Past this span it is not worth it: a long
# window nearly always reaches the recent passages a page starts from anyway.
MAX_BOUNDED_SPAN = timedelta(days=31)


@dataclass(frozen=True)
class AuditFilter:
    plate: str | None = None
    person: str | None = None  # masked or full national ID, or a certificate number
    enterprise_id: int | None = None
    carrier_id: int | None = None
    gate_id: int | None = None
    lane_id: int | None = None
    action: str | None = None  # "gate.decision", or a prefix ending in "*": "lot.*"
    decision: str | None = None
    reason: str | None = None
    override: bool | None = None
    offline: bool | None = None
    since: datetime | None = None
    until: datetime | None = None
    trip_id: int | None = None
    seq_from: int | None = None  # chain positions (events only): export up to a checkpoint
    seq_to: int | None = None

    @classmethod
    def of(cls, data: Any) -> AuditFilter:
        """From any object or mapping carrying (some of) the same names."""
        get = data.get if isinstance(data, dict) else lambda k: getattr(data, k, None)
        return cls(**{f.name: get(f.name) for f in fields(cls)})

    def as_params(self) -> dict[str, str]:
        """The filter as query-string parameters (for links and the export)."""
        out: dict[str, str] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None or value == "":
                continue
            if isinstance(value, bool):
                value = "true" if value else "false"
            elif isinstance(value, datetime):
                value = value.isoformat()
            out[f.name] = str(value)
        return out

    @property
    def is_empty(self) -> bool:
        return not self.as_params()

    @property
    def about_passages(self) -> bool:
        return any(v is not None for v in (self.decision, self.reason, self.override,
                                           self.offline))


# --- resolving what the auditor typed into ids --------------------------------------

def person_ids(session: Session, text: str) -> Any:
    """A selectable of the person ids a typed identity names (masked IDs may name
    several people; an unknown identity names nobody)."""
    text = text.strip()
    if "*" in text:
        return select(Person.id).where(Person.id_masked == text.upper())
    if id_problem(text) is None:
        return select(Person.id).where(
            Person.id_hash == pii.lookup_hash(pii.current_key(), normalise_id(text)))
    return select(Qualification.person_id).where(Qualification.cert_no == text.upper())


def _listed(session: Session, ids: Select[Any]) -> list[Any] | Select[Any]:
    """The values `ids` selects as a list, or `ids` itself when there are too many to
    list (MAX_LISTED); either goes into an `in_()` the same way."""
    found = list(session.scalars(ids.limit(MAX_LISTED + 1)))
    return found if len(found) <= MAX_LISTED else ids


def actions_starting(session: Session, prefix: str) -> list[str]:
    """The actions in the trail that start with `prefix`, so that a prefix search names
    them and the (action, at) index answers it: a LIKE it cannot use under a
    linguistic collation, and the planner walked the trail for a rare prefix (0.4 s
    at 5 M events). The trail holds a few dozen distinct actions, found by hopping the
    index from each to the next: as many look-ups, however long the trail."""
    hops = text(
        "WITH RECURSIVE a(action) AS ("
        " SELECT min(action) FROM audit_events"
        " UNION ALL"
        " SELECT (SELECT min(e.action) FROM audit_events e WHERE e.action > a.action)"
        " FROM a WHERE a.action IS NOT NULL)"
        " SELECT action FROM a WHERE action IS NOT NULL")
    # Actions are lower-case codes; a prefix typed in capitals finds them as SQLite's
    # LIKE did.
    prefix = prefix.lower()
    return [action for (action,) in session.execute(hops)
            if action.lower().startswith(prefix)]


def _trips_of_people(session: Session, ids: Any) -> list[Any] | Select[Any]:
    return _listed(session, select(Trip.id).where(or_(Trip.driver_id.in_(ids),
                                                      Trip.escort_id.in_(ids))))


def _passage_conditions(f: AuditFilter) -> list[Any]:
    conditions: list[Any] = []
    if f.decision is not None:
        conditions.append(Passage.action == f.decision)
    if f.override is not None:
        conditions.append(Passage.override_action.is_not(None) if f.override
                          else Passage.override_action.is_(None))
    if f.offline is not None:
        conditions.append(Passage.offline.is_(f.offline))
    return conditions


def _reason_passages(f: AuditFilter) -> Any:
    stmt = select(PassageReason.passage_id).where(PassageReason.code == f.reason)
    if f.since is not None:
        stmt = stmt.where(PassageReason.decided_at >= f.since)
    if f.until is not None:
        stmt = stmt.where(PassageReason.decided_at < f.until)
    return stmt


def _shared_conditions(session: Session, f: AuditFilter, *, plate: Any, person: Any,
                       trip: Any, lane: Any, at: Any) -> list[Any]:
    """The filters events and passages answer the same way, given their columns."""
    out: list[Any] = []
    if f.plate:
        # A vehicle's history is more than its gate reads: its trips' bookings, lot
        # moves and alarms carry the trip, not the plate. A trailer's plate finds the
        # trips it was hitched to.
        wanted = normalise(f.plate)
        vehicles = _listed(session, select(Vehicle.id).where(Vehicle.plate == wanted))
        trips = _listed(session, select(Trip.id).where(or_(Trip.vehicle_id.in_(vehicles),
                                                           Trip.trailer_id.in_(vehicles))))
        out.append(or_(plate == wanted, trip.in_(trips)))
    if f.person:
        ids = _listed(session, person_ids(session, f.person))
        out.append(or_(person.in_(ids), trip.in_(_trips_of_people(session, ids))))
    if f.lane_id is not None:
        out.append(lane == f.lane_id)
    if f.gate_id is not None:
        out.append(lane.in_(select(Lane.id).where(Lane.gate_id == f.gate_id)))
    if f.since is not None:
        out.append(at >= f.since)
    if f.until is not None:
        out.append(at < f.until)
    if f.trip_id is not None:
        out.append(trip == f.trip_id)
    return out


def _keyset_page(session: Session, stmt: Select[Any], key: Any, before: int | None,
                 limit: int) -> tuple[list[Any], int | None]:
    """Newest first by `key`; the second value is the `before` of the next page."""
    limit = max(1, min(limit, MAX_PAGE))
    if before is not None:
        stmt = stmt.where(key < before)
    rows = list(session.scalars(stmt.order_by(key.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (getattr(rows[-1], key.key) if more and rows else None)


# --- events ----------------------------------------------------------------------------

def events_statement(session: Session, f: AuditFilter) -> Select[Any]:
    e = AuditEvent
    stmt = select(e).where(*_shared_conditions(session, f, plate=e.plate, person=e.person_id,
                                               trip=e.trip_id, lane=e.lane_id, at=e.at))
    if f.enterprise_id is not None:
        stmt = stmt.where(e.enterprise_id == f.enterprise_id)
    if f.carrier_id is not None:
        stmt = stmt.where(or_(
            e.plate.in_(_listed(session, select(Vehicle.plate).where(
                Vehicle.carrier_id == f.carrier_id))),
            e.person_id.in_(_listed(session, select(Person.id).where(
                Person.carrier_id == f.carrier_id)))))
    if f.action:
        stmt = stmt.where(e.action.in_(actions_starting(session, f.action[:-1]))
                          if f.action.endswith("*") else e.action == f.action)
    if f.about_passages:
        passages = select(cast(Passage.id, String)).where(*_passage_conditions(f))
        if f.reason:
            passages = passages.where(Passage.id.in_(_reason_passages(f)))
        stmt = stmt.where(e.subject_kind == "passage", e.subject_id.in_(passages))
    if f.since is not None or f.until is not None:
        # The instants' range as a range of seq, which the primary key answers.
        bound = time_blocks.span(session, f.since, f.until)
        if bound is not None:
            stmt = stmt.where(e.seq.between(*bound))
    if f.seq_from is not None:
        stmt = stmt.where(e.seq >= f.seq_from)
    if f.seq_to is not None:
        stmt = stmt.where(e.seq <= f.seq_to)
    return stmt


def events_page(session: Session, f: AuditFilter, *, before: int | None = None,
                limit: int = 50) -> tuple[list[AuditEvent], int | None]:
    """Newest first; the second value is the `before` of the next page, if any."""
    return _keyset_page(session, events_statement(session, f), AuditEvent.seq, before, limit)


def iter_events(session: Session, f: AuditFilter, batch: int = 5000) -> Iterator[Any]:
    """Every matching event in chain order as plain tuples (seq, at, the hashed body
    columns in chain order, trip_prev_leaf, prev_hash, hash; no ORM objects: an export of millions is
    mostly this loop), fetched in key-ordered batches so memory stays flat."""
    from .chain import BODY_COLUMNS

    columns = AuditEvent.__table__.c
    stmt = events_statement(session, f).with_only_columns(
        columns.seq, columns.at, *(columns[c] for c in BODY_COLUMNS), columns.trip_prev_leaf,
        columns.prev_hash, columns.hash)
    for rows in keyset_batches(session, stmt, batch):
        yield from rows


def keyset_batches(session: Session, stmt: Select[*tuple[Any, ...]], batch: int
                   ) -> Iterator[Sequence[Any]]:
    """The rows of `stmt` (events, its first column their seq) in chain order, `batch`
    at a time, each batch one query after the last seq seen."""
    stmt = stmt.order_by(AuditEvent.seq)
    after = 0
    while True:
        # On the connection, not the session: plain rows without the ORM's loading step.
        rows = session.connection().execute(stmt.where(AuditEvent.seq > after)
                                            .limit(batch)).all()
        if rows:
            yield rows
        if len(rows) < batch:
            return
        after = rows[-1][0]


# --- passages --------------------------------------------------------------------------

def passages_statement(session: Session, f: AuditFilter) -> Select[Any]:
    p = Passage
    stmt = select(p).where(*_shared_conditions(session, f, plate=p.plate, person=p.person_id,
                                               trip=p.trip_id, lane=p.lane_id, at=p.seen_at))
    if f.enterprise_id is not None:
        stmt = stmt.where(p.trip_id.in_(_listed(session, select(Trip.id).where(
            Trip.enterprise_id == f.enterprise_id))))
    if f.carrier_id is not None:
        stmt = stmt.where(or_(
            p.vehicle_id.in_(_listed(session, select(Vehicle.id).where(
                Vehicle.carrier_id == f.carrier_id))),
            p.person_id.in_(_listed(session, select(Person.id).where(
                Person.carrier_id == f.carrier_id)))))
    if f.since is not None and f.until is not None and f.until - f.since <= MAX_BOUNDED_SPAN:
        stmt = stmt.where(_passage_ids_seen(session, f.since, f.until))
    stmt = stmt.where(*_passage_conditions(f))
    if f.reason:
        stmt = stmt.where(p.id.in_(_reason_passages(f)))
    return stmt


def _passage_ids_seen(session: Session, since: datetime, until: datetime) -> Any:
    """The range of ids of the passages seen in [since, until), for the primary key to
    answer: the planner cannot know ids follow the instants, and would walk the table
    back from today. Fenced in a sub-query (OFFSET 0) so it cannot turn min() and max()
    into that same walk, it reads the window from ix_passages_seen."""
    window = (select(Passage.id).where(Passage.seen_at >= since, Passage.seen_at < until)
              .offset(0).subquery())
    first, last = session.execute(select(func.min(window.c.id), func.max(window.c.id))).one()
    return false() if first is None else Passage.id.between(first, last)


def passages_page(session: Session, f: AuditFilter, *, before: int | None = None,
                  limit: int = 50) -> tuple[list[Passage], int | None]:
    return _keyset_page(session, passages_statement(session, f), Passage.id, before, limit)
