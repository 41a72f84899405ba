"""Many bookings from one CSV/XLSX file: every row resolved and checked like a booking
made on the page, rows booked in order (so two rows for one truck overlap), and the
whole file saved only if every row passes (nothing half-imported)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import islice
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from auth.principal import Principal
from gateway.reasons import CATALOG
from kernel.errors import N_, DomainError, ValidationFailed
from kernel.uow import UnitOfWork
from models import Enterprise, Plant
from parkgate.problems import import_refused, translate_message
from registry.imports import MAX_REPORTED_ERRORS, RowError
from rules.documents import PARK_TZ
from rules.plates import normalise

from . import forms, service
from .file_facts import Draft, FileFacts
from .service import BookingRequest, CargoRequest

COLUMNS = ("plate", "plate_colour", "trailer_plate", "driver", "escort", "plant",
           "window_start", "window_end", "direction", "category", "cargo", "waybill_no",
           "waybill_consignor", "waybill_consignee", "waybill_vehicle", "waybill_trailer",
           "manifest_no", "toxic_pass_no", "toxic_pass_valid_from", "toxic_pass_valid_until",
           "toxic_pass_vehicle", "enterprise")
MAX_ROWS = 50_000
SLICE_ROWS = 1000
_CARGO = re.compile(r"^\s*(UN)?\s*(\d{4})\s*[:：]\s*([\d.]+)\s*(kg|t)?\s*$", re.IGNORECASE)


@dataclass
class BookingImportReport:
    rows: int = 0
    booked: int = 0
    pending: int = 0
    dry_run: bool = False
    codes: list[str] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    error_count: int = 0

    @property
    def ok(self) -> bool:
        return self.error_count == 0

    def error(self, row: int, name: str, message: Any) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append(RowError(row, name, message))

    def as_dict(self) -> dict[str, Any]:
        body = {"rows": self.rows, "booked": self.booked, "pending": self.pending,
                "dry_run": self.dry_run, "ok": self.ok, "error_count": self.error_count,
                "codes": self.codes[:MAX_REPORTED_ERRORS],
                "errors": [{"row": e.row, "field": e.field,
                            "message": translate_message(e.message)} for e in self.errors]}
        if not self.ok:
            body.update(import_refused(self.error_count, self.dry_run))
        return body


def parse_cargo(text: str) -> list[CargoRequest] | None:
    """"UN1203:20t; 1830:500kg" → cargo lines (None if unreadable)."""
    out = []
    for part in re.split(r"[;；,，]", text or ""):
        if not part.strip():
            continue
        match = _CARGO.match(part)
        if match is None:
            return None
        out.append(CargoRequest(f"UN{match.group(2)}", float(match.group(3)),
                                (match.group(4) or "kg").lower()))
    return out


def _when(text: str) -> datetime | None:
    text = (text or "").strip().replace("T", " ")
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=PARK_TZ)


class _Resolver:
    """Plates, people and plants looked up once per file, not once per row."""

    def __init__(self, session: Session, principal: Principal) -> None:
        self.session = session
        self.principal = principal
        self._vehicles: dict[tuple[str, str | None], list[Any]] = {}
        self._people: dict[str, list[Any]] = {}
        self._plants = {code: pid for pid, code in session.execute(
            select(Plant.id, Plant.code).where(Plant.retired_at.is_(None)))}
        self._enterprises = {code: eid for eid, code in session.execute(
            select(Enterprise.id, Enterprise.code))}

    def prefetch(self, rows: list[dict[str, str]]) -> None:
        """Every plate and person the file names, in a few queries for the whole file."""
        keys = [(plate, raw.get(colour_of, "").strip() or None)
                for raw in rows for name, colour_of in (("plate", "plate_colour"),
                                                         ("trailer_plate", ""))
                if (plate := raw.get(name, "").strip())]
        self._vehicles.update(forms.find_vehicles(self.session, keys, self.principal))
        texts = [text for raw in rows for name in ("driver", "escort")
                 if (text := raw.get(name, "").strip())]
        self._people.update(forms.find_people(self.session, texts, self.principal))
        self._people.update({text: [] for text in texts if text not in self._people})

    def vehicle(self, plate: str, colour: str) -> list[Any]:
        key = (normalise(plate), colour or None)
        if key not in self._vehicles:
            self._vehicles[key] = forms.find_vehicle(self.session, plate, colour or None,
                                                       self.principal)
        return self._vehicles[key]

    def person(self, text: str) -> list[Any]:
        if text not in self._people:
            self._people[text] = forms.find_person(self.session, text, self.principal)
        return self._people[text]

    def plant(self, code: str) -> int | None:
        return self._plants.get(code.strip().upper()) or self._plants.get(code.strip())

    def enterprise(self, code: str) -> int | None:
        return self._enterprises.get(code.strip().upper()) or self._enterprises.get(code.strip())


def row_request(resolver: _Resolver, raw: dict[str, str]
                ) -> tuple[BookingRequest | None, list[tuple[str, str]]]:
    errors: list[tuple[str, str]] = []

    def one(name: str, found: list[Any], required: bool, text: str) -> int | None:
        if not text:
            if required:
                errors.append((name, N_("Required.")))
            return None
        if len(found) != 1:
            errors.append((name, N_("Nothing on record matches.") if not found
                           else N_("More than one record matches; be more precise.")))
            return None
        return found[0].id

    plate = raw.get("plate", "").strip()
    vehicle = one("plate", resolver.vehicle(plate, raw.get("plate_colour", "").strip()) if plate
                  else [], True, plate)
    trailer_plate = raw.get("trailer_plate", "").strip()
    trailer = one("trailer_plate", resolver.vehicle(trailer_plate, "") if trailer_plate else [],
                  False, trailer_plate)
    crew = {}
    for name in ("driver", "escort"):
        text = raw.get(name, "").strip()
        crew[name] = one(name, resolver.person(text) if text else [], False, text)
    plant_code = raw.get("plant", "").strip()
    plant = resolver.plant(plant_code) if plant_code else None
    if plant is None:
        errors.append(("plant", N_("No plant has this code.")))
    start, end = _when(raw.get("window_start", "")), _when(raw.get("window_end", ""))
    for name, value in (("window_start", start), ("window_end", end)):
        if value is None:
            errors.append((name, N_("Write the time as 2026-11-23 08:00.")))
    cargo = parse_cargo(raw.get("cargo", ""))
    if cargo is None:
        errors.append(("cargo", N_("Write cargo as UN1203:20t; UN1830:500kg.")))
    pass_dates: dict[str, date | None] = {}
    for name in ("toxic_pass_valid_from", "toxic_pass_valid_until"):
        text = raw.get(name, "").strip()
        try:
            pass_dates[name] = date.fromisoformat(text) if text else None
        except ValueError:
            errors.append((name, N_("Write the date as 2026-11-23.")))
    enterprise_id = None
    if raw.get("enterprise", "").strip():
        enterprise_id = resolver.enterprise(raw["enterprise"])
        if enterprise_id is None:
            errors.append(("enterprise", N_("No enterprise has this code.")))
    if errors or vehicle is None or plant is None or start is None or end is None:
        return None, errors
    return BookingRequest(
        plant_id=plant, vehicle_id=vehicle, window_start=start, window_end=end,
        direction=raw.get("direction", "").strip() or "deliver",
        category=raw.get("category", "").strip() or None, trailer_id=trailer,
        driver_id=crew["driver"], escort_id=crew["escort"],
        waybill_no=raw.get("waybill_no"), waybill_consignor=raw.get("waybill_consignor"),
        waybill_consignee=raw.get("waybill_consignee"), waybill_vehicle=raw.get("waybill_vehicle"),
        waybill_trailer=raw.get("waybill_trailer"), manifest_no=raw.get("manifest_no"),
        toxic_pass_no=raw.get("toxic_pass_no"), toxic_pass_vehicle=raw.get("toxic_pass_vehicle"),
        cargo=cargo or [], enterprise_id=enterprise_id,
        toxic_pass_valid_from=pass_dates.get("toxic_pass_valid_from"),
        toxic_pass_valid_until=pass_dates.get("toxic_pass_valid_until")), []


def import_bookings(uow: UnitOfWork, principal: Principal, rows: Iterable[dict[str, str]], *,
                    dry_run: bool, progress: Callable[[int], None] | None = None
                    ) -> BookingImportReport:
    report = BookingImportReport(dry_run=dry_run)
    table = list(islice(rows, MAX_ROWS + 1))
    if len(table) > MAX_ROWS:
        raise ValidationFailed(N_("A file may hold at most %(n)s bookings."),
                               code="FILE_TOO_LONG", params={"n": MAX_ROWS})
    # Slice by slice, so memory stays flat however long the file: a slice's look-ups
    # are read once for all its rows; its rows are checked in order, against what the
    # park holds (the slices before included: written already, in this transaction)
    # and the slice's rows before them; it is written while every row so far passed.
    # A dry run, or a file with any bad row, is rolled back whole.
    for first in range(0, len(table), SLICE_ROWS):
        _import_slice(uow, principal, table[first:first + SLICE_ROWS], first, report)
        if progress:
            progress(min(len(table), first + SLICE_ROWS))
    report.rows = len(table)
    if dry_run or not report.ok:
        uow.rollback()
        report.booked = report.pending = 0
        report.codes = []
        return report
    uow.audit("bookings.import", principal.actor, subject_kind="booking_import",
              payload={"rows": report.rows, "booked": report.booked, "pending": report.pending})
    uow.commit()
    return report


def _import_slice(uow: UnitOfWork, principal: Principal, rows: list[dict[str, str]],
                  offset: int, report: BookingImportReport) -> None:
    resolver = _Resolver(uow.session, principal)
    resolver.prefetch(rows)
    # Every row resolved and prepared first (so the look-ups are read once), then
    # checked in order; each row's errors reported in the order a row-by-row check
    # would give them.
    errors: list[list[tuple[str, Any]]] = [[] for _ in rows]
    prepared: list[service.Prepared | None] = []
    for i, raw in enumerate(rows):
        request, problems = row_request(resolver, raw)
        errors[i] += problems
        prepared.append(_prepare(uow, principal, request, errors[i])
                        if request is not None else None)
    facts = FileFacts(uow.session, [_draft(p) for p in prepared if p is not None])
    new: list[service.NewTrip] = []
    for i, ready in enumerate(prepared):
        number = offset + i + 1
        report.rows = number
        row_errors = errors[i]
        if ready is not None:
            findings = service.evaluate(uow.session, ready, source=facts)
            row_errors += [(f"{f.rule} {f.code}",
                            (CATALOG[f.code].message, {k: str(v) for k, v in f.params.items()}))
                           for f in findings.failures]
        for name, message in row_errors:
            report.error(number, name, message)
        if ready is None or row_errors or report.error_count:
            continue  # nothing will be saved; keep checking the rest
        item = service.NewTrip(ready.data, not service.needs_approval(
            uow.session, ready, findings), findings)
        new.append(item)
        # Later rows see this one (B03 overlaps, G14 waybills), as if it were saved.
        data = ready.data
        facts.booked(item.code, data.enterprise_id, data.vehicle_id, data.trailer_id,
                     data.driver_id, data.escort_id, data.window_start, data.window_end,
                     data.waybill_no)
    if not report.ok:
        return  # nothing of the file will be saved
    for trip in service.create_trips(uow, principal.actor, new, created_by_id=principal.user_ref):
        report.codes.append(trip.code)
        report.booked += trip.state == "BOOKED"
        report.pending += trip.state == "PENDING_APPROVAL"


def _prepare(uow: UnitOfWork, principal: Principal, request: BookingRequest,
             errors: list[tuple[str, Any]]) -> service.Prepared | None:
    try:
        return service.prepare(uow.session, principal, request)
    except ValidationFailed as exc:
        errors += [(name, message) for name, messages in exc.fields.items()
                   for message in messages]
    except DomainError as exc:
        errors.append(("_row", (exc.message, exc.params) if exc.params else exc.message))
    return None


def _draft(prepared: service.Prepared) -> Draft:
    data = prepared.data
    return Draft(vehicle_ids=tuple(v for v in (data.vehicle_id, data.trailer_id) if v),
                 person_ids=tuple(p for p in (data.driver_id, data.escort_id) if p),
                 start=data.window_start, end=data.window_end, waybill_no=data.waybill_no)
