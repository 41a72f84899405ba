"""Booking checks (DOMAIN §3): everything the gate will check that can be known in
advance, judged through the end of the booked window, plus the booking-only rules
B02–B05. Pure over plain views; every failure is reported at once (B01)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from rules import checks, documents, hours
from rules.exemptions import exempt_as_ordinary_goods
from rules.hazard import primary_class
from rules.policy import ParkPolicy
from rules.reasons import Reason
from rules.views import PersonView, TripView, VehicleView
from trips.state_machine import LOT_CATEGORIES


@dataclass(frozen=True)
class ScopeLine:
    """What the enterprise may receive (deliver trips) or ship (collect trips)."""

    direction: str  # receive | ship
    un_number: str | None
    hazard_class: str | None
    max_qty_kg: float | None


@dataclass(frozen=True)
class Overlap:
    who: str  # plate or name
    code: str | None  # the other trip's booking code; None: another enterprise's, not shown


@dataclass(frozen=True)
class BookingFacts:
    trip: TripView
    vehicle: VehicleView
    trailer: VehicleView | None
    driver: PersonView | None
    escort: PersonView | None
    policy: ParkPolicy
    plant_enterprise_id: int
    receiving_hours: dict = field(default_factory=dict)
    scope: tuple[ScopeLine, ...] = ()
    overlaps: tuple[Overlap, ...] = ()


@dataclass(frozen=True)
class Findings:
    failures: tuple[Reason, ...] = ()
    warnings: tuple[Reason, ...] = ()
    notes: tuple[Reason, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.failures

    def as_dicts(self) -> dict[str, list[dict[str, object]]]:
        return {"failures": [r.as_dict() for r in self.failures],
                "warnings": [r.as_dict() for r in self.warnings],
                "notes": [r.as_dict() for r in self.notes]}


def is_hazmat(f: BookingFacts) -> bool:
    return f.trip.category in LOT_CATEGORIES and not exempt_as_ordinary_goods(
        f.trip.cargo, f.policy)


def check_booking(f: BookingFacts) -> Findings:
    trip = f.trip
    failures: list[Reason] = []
    notes: list[Reason] = []
    warnings: list[Reason] = []
    if f.plant_enterprise_id != trip.enterprise_id:
        failures.append(Reason("PLANT_NOT_OF_ENTERPRISE", {"plant": trip.plant_name,
                                                            "enterprise": trip.enterprise_name}))
    failures += checks.blacklist_checks(f.vehicle, f.trailer, f.driver, f.escort)
    failures += [Reason("TRIP_OVERLAP", {"who": o.who, "code": o.code}) if o.code is not None
                 else Reason("TRIP_OVERLAP_OTHER", {"who": o.who}) for o in f.overlaps]
    failures += hours_checks(f)
    failures += scope_checks(f)
    if trip.category in LOT_CATEGORIES:
        if is_hazmat(f):
            failures += checks.window_length_checks(trip, f.policy)
            # B01/B05: documents must hold through the end of the window.
            failures += checks.document_checks(trip, f.vehicle, f.trailer, f.driver, f.escort,
                                               trip.window_end)
            # G19: the 剧毒 pass covers the whole window and names this vehicle.
            failures += checks.toxic_pass_checks(trip, f.vehicle, trip.window_start,
                                                 trip.window_end)
            warnings += expiry_warnings(f)
        else:
            notes.append(Reason("LIMITED_QUANTITY_EXEMPT"))
    return Findings(tuple(failures), tuple(warnings), tuple(notes))


def hours_checks(f: BookingFacts) -> list[Reason]:
    """B04: park opening hours and the plant's receiving hours."""
    out = []
    start, end = f.trip.window_start, f.trip.window_end
    if not hours.window_within(f.policy.opening_hours, start, end):
        out.append(Reason("PARK_CLOSED", {"hours": hours.describe(f.policy.opening_hours)}))
    if not hours.window_within(f.receiving_hours, start, end):
        out.append(Reason("PLANT_NOT_RECEIVING", {"plant": f.trip.plant_name,
                                                   "hours": hours.describe(f.receiving_hours)}))
    return out


def scope_checks(f: BookingFacts) -> list[Reason]:
    """B02: the enterprise may receive (deliver) or ship (collect) each material, within
    its per-trip cap."""
    direction = "receive" if f.trip.direction == "deliver" else "ship"
    lines = [s for s in f.scope if s.direction == direction]
    totals: dict[str, float] = defaultdict(float)
    for c in f.trip.cargo:
        totals[c.un_number] += c.quantity_kg
    out: list[Reason] = []
    for c in f.trip.cargo:
        if c.un_number in [r.params.get("un") for r in out]:
            continue
        matching = [s for s in lines if s.un_number == c.un_number] or [
            s for s in lines if s.un_number is None and s.hazard_class in (
                c.hazard_class, primary_class(c.hazard_class))]
        if not matching:
            out.append(Reason("ENTERPRISE_SCOPE", {"enterprise": f.trip.enterprise_name,
                                                    "un": c.un_number, "name": c.name_zh}))
            continue
        caps = [s.max_qty_kg for s in matching if s.max_qty_kg is not None]
        if caps and totals[c.un_number] > max(caps):
            out.append(Reason("ENTERPRISE_CAP", {"un": c.un_number,
                                                  "kg": f"{totals[c.un_number]:.0f}",
                                                  "cap": f"{max(caps):.0f}",
                                                  "enterprise": f.trip.enterprise_name}))
    return out


_VEHICLE_DOCS = (("permit_expires_on", "PERMIT_EXPIRES_SOON"),
                 ("review_expires_on", "REVIEW_EXPIRES_SOON"),
                 ("insurance_expires_on", "INSURANCE_EXPIRES_SOON"),
                 ("inspection_expires_on", "INSPECTION_EXPIRES_SOON"),
                 ("tank_inspection_expires_on", "TANK_INSPECTION_EXPIRES_SOON"))


def expiry_warnings(f: BookingFacts) -> list[Reason]:
    """B05: documents valid through the window but expiring within N days after it."""
    end_day = documents.park_date(f.trip.window_end)
    horizon = end_day + timedelta(days=f.policy.expiry_warning_days)

    def soon(expires: date | None) -> bool:
        return expires is not None and end_day <= expires < horizon

    out = []
    for v in (f.vehicle, f.trailer):
        if v is None:
            continue
        for attr, code in _VEHICLE_DOCS:
            expires = getattr(v, attr)
            if soon(expires) and (attr != "tank_inspection_expires_on" or v.is_tank):
                out.append(Reason(code, {"vehicle": v.plate, "date": expires.isoformat()}))
    for role, person in (("driver", f.driver), ("escort", f.escort)):
        if person is None:
            continue
        for q in person.qualifications:
            if q.kind == role and soon(q.expires_on):
                out.append(Reason("QUALIFICATION_EXPIRES_SOON",
                                  {"name": person.name, "cert": q.cert_no,
                                   "date": q.expires_on.isoformat()}))
    return out


def window_problem(start: datetime, end: datetime, now: datetime) -> str | None:
    """A window that cannot be booked at all (a 422, not a finding)."""
    if end <= start:
        return "WINDOW_ENDS_BEFORE_START"
    if end <= now:
        return "WINDOW_IN_PAST"
    return None
