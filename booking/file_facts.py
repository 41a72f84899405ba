"""What the booking checks read besides the records, for a whole import file at once:
the same queries as booking.repository.LiveFacts, each run once for every vehicle,
person, waybill and date the file names instead of once per row, and the file's
rows booked so far, so a later row sees an earlier one (B03, G14) although nothing
is written until the whole file has passed."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Qualification, Trip
from registry.read_model import WAYBILL_SPENT_BY, bans
from rules import documents
from trips.state_machine import OPEN_STATES

from .repository import OVERLAP_COLUMNS, holding

CHUNK = 5000


@dataclass(frozen=True)
class FileTrip:
    """A row of the file, booked (in memory) before the row being checked; its fields
    as an overlap or waybill row of the database reads."""
    id: int
    code: str
    enterprise_id: int
    vehicle_id: int
    trailer_id: int | None
    driver_id: int | None
    escort_id: int | None
    window_start: datetime
    window_end: datetime


@dataclass(frozen=True)
class Draft:
    """What FileFacts needs to know of a row before the rows are checked."""
    vehicle_ids: tuple[int, ...]
    person_ids: tuple[int, ...]
    start: datetime
    end: datetime
    waybill_no: str | None


class FileFacts:
    def __init__(self, session: Session, drafts: Iterable[Draft]) -> None:
        drafts = list(drafts)
        self.vehicle_ids = sorted({v for d in drafts for v in d.vehicle_ids})
        self.person_ids = sorted({p for d in drafts for p in d.person_ids})
        self._bans = self._read_bans(session, {documents.park_date(d.start) for d in drafts})
        self._quals = self._read_qualifications(session)
        self._waybills = self._read_waybills(
            session, sorted({d.waybill_no for d in drafts if d.waybill_no}))
        self._holding: dict[tuple[str, int], list[Any]] = defaultdict(list)
        if drafts:
            self._read_open_trips(session, min(d.start for d in drafts),
                                  max(d.end for d in drafts))
        self._next_id = -1  # in-memory trips sort after every stored one (see overlap_rows)

    # --- read once ------------------------------------------------------------------------

    def _read_bans(self, session: Session, days: set[date]
                   ) -> dict[date, dict[tuple[str, int], Any]]:
        # The ban query of a single booking, once per day the file's windows start on.
        found: dict[date, dict[tuple[str, int], Any]] = {}
        for day in days:
            at = datetime.combine(day, datetime.min.time(), documents.PARK_TZ)
            found[day] = {}
            for vehicles, persons in _pairs(self.vehicle_ids, self.person_ids):
                found[day].update(bans(session, vehicles, persons, at))
        return found

    def _read_qualifications(self, session: Session) -> dict[int, list[Qualification]]:
        quals: dict[int, list[Qualification]] = defaultdict(list)
        for chunk in _chunks(self.person_ids):
            for q in session.scalars(select(Qualification).where(
                    Qualification.person_id.in_(chunk), Qualification.retired_at.is_(None))
                    .order_by(Qualification.id)):
                quals[q.person_id].append(q)
        return quals

    def _read_waybills(self, session: Session, numbers: list[str]) -> dict[str, Any]:
        holders: dict[str, Any] = {}
        for chunk in _chunks(numbers):
            for row in session.execute(
                    select(Trip.code, Trip.enterprise_id, Trip.waybill_no)
                    .where(Trip.waybill_no.in_(chunk), Trip.state.in_(WAYBILL_SPENT_BY))
                    .order_by(Trip.id)):
                holders.setdefault(row.waybill_no, row)
        return holders

    def _read_open_trips(self, session: Session, first: datetime, last: datetime) -> None:
        seen: set[int] = set()
        for vehicles, persons in _pairs(self.vehicle_ids, self.person_ids):
            for row in session.execute(select(*OVERLAP_COLUMNS).where(
                    Trip.state.in_(OPEN_STATES), Trip.window_start < last,
                    Trip.window_end > first, holding(vehicles, persons))):
                if row.id not in seen:
                    seen.add(row.id)
                    self._index(row)

    def _index(self, row: Any) -> None:
        for v in {row.vehicle_id, row.trailer_id} - {None}:
            self._holding["v", v].append(row)
        for p in {row.driver_id, row.escort_id} - {None}:
            self._holding["p", p].append(row)

    # --- what load_facts asks (booking.repository.LiveFacts) -------------------------------

    def bans(self, vehicle_ids: list[int], person_ids: list[int], at: datetime
             ) -> dict[tuple[str, int], Any]:
        found = self._bans[documents.park_date(at)]
        keys = [("v", v) for v in vehicle_ids] + [("p", p) for p in person_ids]
        return {key: found[key] for key in keys if key in found}

    def qualifications(self, person_ids: list[int]) -> dict[int, list[Qualification]]:
        return {p: self._quals[p] for p in person_ids if p in self._quals}

    def waybill_holder(self, waybill_no: str | None, trip_id: int) -> Any:
        return self._waybills.get(waybill_no) if waybill_no else None

    def overlap_rows(self, *, start: datetime, end: datetime, vehicle_ids: list[int],
                     person_ids: list[int], exclude_trip_id: int | None) -> list[Any]:
        candidates = {id(row): row for key in [*(("v", v) for v in vehicle_ids),
                                               *(("p", p) for p in person_ids)]
                      for row in self._holding.get(key, ())}
        rows = [row for row in candidates.values()
                if row.window_start < end and row.window_end > start
                and row.id != exclude_trip_id]
        # Stored trips first (by id), then the file's own in the order they were booked.
        rows.sort(key=lambda r: (r.id < 0, abs(r.id)))
        return rows[:20]

    # --- the file's rows as they are booked -------------------------------------------------

    def booked(self, code: str, enterprise_id: int, vehicle_id: int, trailer_id: int | None,
               driver_id: int | None, escort_id: int | None, start: datetime, end: datetime,
               waybill_no: str | None) -> None:
        trip = FileTrip(self._next_id, code, enterprise_id, vehicle_id, trailer_id, driver_id,
                        escort_id, start, end)
        self._next_id -= 1
        self._index(trip)
        if waybill_no:
            self._waybills.setdefault(waybill_no, trip)


def _chunks(values: list[Any]) -> Iterable[list[Any]]:
    for i in range(0, len(values), CHUNK):
        yield values[i:i + CHUNK]


def _pairs(vehicle_ids: list[int], person_ids: list[int]
           ) -> Iterable[tuple[list[int], list[int]]]:
    """The id lists in chunks a statement can carry."""
    for chunk in _chunks(vehicle_ids):
        yield chunk, []
    for chunk in _chunks(person_ids):
        yield [], chunk
