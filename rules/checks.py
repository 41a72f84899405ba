"""The checks a trip's papers must pass, shared by the gate (at the instant of the
read) and booking (through the end of the booked window, DOMAIN B01): pure functions
over the snapshot views, each returning reasons from the one catalog."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from . import documents, mixing
from .hazard import TOXIC_SCOPE, primary_class, scope_covers
from .policy import ParkPolicy
from .reasons import Reason
from .views import PersonView, TripView, VehicleView


def blacklist_checks(vehicle: VehicleView | None, trailer: VehicleView | None,
                     driver: PersonView | None, escort: PersonView | None) -> list[Reason]:
    """G04: vehicle, trailer, driver, escort."""
    out = []
    for who, item in ((vehicle.plate if vehicle else "vehicle", vehicle),
                      (trailer.plate if trailer else "trailer", trailer),
                      (driver.name if driver else "driver", driver),
                      (escort.name if escort else "escort", escort)):
        if item is not None and item.blacklist is not None:
            out.append(Reason("BLACKLISTED", {"who": who, "reason": item.blacklist.reason}))
    return out


def window_length_checks(trip: TripView, policy: ParkPolicy) -> list[Reason]:
    """G10: a hazmat booking is valid for one day at most."""
    if trip.window_end - trip.window_start > timedelta(hours=policy.hazmat_window_max_h):
        return [Reason("BOOKING_WINDOW_TOO_LONG", {"hours": policy.hazmat_window_max_h})]
    return []


def _doc(out: list[Reason], code: str, expires: date | None, vehicle: VehicleView,
         at: datetime) -> None:
    if not documents.valid_at(expires, at):
        out.append(Reason(code, {"vehicle": vehicle.plate,
                                 "date": expires.isoformat() if expires else "—"}))


def qualified(person: PersonView, role: str, cls: str, at: datetime) -> bool:
    for q in person.qualifications:
        if q.kind != role or not documents.valid_at(q.expires_on, at):
            continue
        # [verify] certificates list the classes they cover; none listed covers all.
        if cls == "—" or not q.classes or scope_covers(q.classes, cls):
            return True
    return False


def document_checks(trip: TripView, vehicle: VehicleView, trailer: VehicleView | None,
                    driver: PersonView | None, escort: PersonView | None, at: datetime
                    ) -> list[Reason]:
    """G11–G16, G19, G20 for a hazmat trip, every document judged valid at `at`."""
    out: list[Reason] = []
    rigs = [v for v in (vehicle, trailer) if v is not None]
    cargo = trip.cargo
    # G11: permit valid, scope covers every cargo class; 剧毒 only if marked.
    for v in rigs:
        if not v.road_permit_no:
            out.append(Reason("ROAD_PERMIT_MISSING", {"vehicle": v.plate}))
        else:
            _doc(out, "ROAD_PERMIT_EXPIRED", v.permit_expires_on, v, at)
        for cls in sorted({c.hazard_class for c in cargo}):
            if not scope_covers(v.permit_scope, cls):
                out.append(Reason("ROAD_PERMIT_SCOPE", {"vehicle": v.plate,
                                                        "cls": primary_class(cls)}))
        if any(c.highly_toxic for c in cargo) and TOXIC_SCOPE not in v.permit_scope:
            out.append(Reason("TOXIC_NOT_IN_SCOPE", {"vehicle": v.plate}))
    # G12: annual review and carrier insurance (the power unit carries them).
    _doc(out, "ANNUAL_REVIEW_EXPIRED", vehicle.review_expires_on, vehicle, at)
    _doc(out, "INSURANCE_EXPIRED", vehicle.insurance_expires_on, vehicle, at)
    # G13: driver and escort, each qualified for every class carried.
    classes = sorted({primary_class(c.hazard_class) for c in cargo})
    for role, person, missing in (("driver", driver, "DRIVER_MISSING"),
                                  ("escort", escort, "ESCORT_MISSING")):
        if person is None:
            out.append(Reason(missing))
            continue
        for cls in classes or ["—"]:
            if not qualified(person, role, cls, at):
                out.append(Reason(f"{role.upper()}_NOT_QUALIFIED",
                                  {"name": person.name, "cls": cls}))
                break
    # G14: one waybill, one vehicle, one trip, naming the booked enterprise; hazwaste:
    # its manifest.
    if not trip.waybill_no:
        out.append(Reason("WAYBILL_MISSING"))
    else:
        out += waybill_checks(trip, vehicle, trailer)
        party, named = (("consignee", trip.waybill_consignee) if trip.direction == "deliver"
                        else ("consignor", trip.waybill_consignor))
        if named and named not in (trip.enterprise_name, trip.plant_name):
            out.append(Reason("WAYBILL_PARTY_MISMATCH", {
                "party": party, "named": named, "expected": trip.enterprise_name}))
    if trip.category == "hazwaste" and not trip.manifest_no:
        out.append(Reason("MANIFEST_MISSING"))
    # G15: tank media and rated load (a semi-trailer's load counts).
    for v in rigs:
        if v.is_tank:
            for line in cargo:
                if line.un_number not in v.tank_media:
                    out.append(Reason("TANK_MEDIUM_NOT_APPROVED",
                                      {"vehicle": v.plate, "un": line.un_number}))
    rated = trailer.rated_load_kg if trailer else vehicle.rated_load_kg
    total = sum(c.quantity_kg for c in cargo)
    if rated is not None and total > rated:
        out.append(Reason("OVERLOADED", {"kg": f"{total:.0f}", "rated": f"{rated:.0f}"}))
    # G16: inspections of every unit, tanks included.
    for v in rigs:
        _doc(out, "INSPECTION_EXPIRED", v.inspection_expires_on, v, at)
        if v.is_tank:
            _doc(out, "TANK_INSPECTION_EXPIRED", v.tank_inspection_expires_on, v, at)
    # G19: 剧毒 needs the public-security pass (its dates and vehicle: toxic_pass_checks).
    if any(c.highly_toxic for c in cargo) and not trip.toxic_pass_no:
        out.append(Reason("TOXIC_PASS_MISSING"))
    # G20: every pair of labels allowed.
    for conflict in mixing.conflicts(cargo):
        out.append(Reason("MIXED_LOADING_PROHIBITED", {
            "first": conflict.first, "a": conflict.first_label,
            "second": conflict.second, "b": conflict.second_label}))
        break
    return out


def waybill_checks(trip: TripView, vehicle: VehicleView, trailer: VehicleView | None
                   ) -> list[Reason]:
    """G14: the waybill was issued for this tractor (and trailer), and no other trip
    uses it."""
    out: list[Reason] = []
    for named, unit in ((trip.waybill_vehicle, vehicle), (trip.waybill_trailer, trailer)):
        if named and unit is not None and named != unit.plate:
            out.append(Reason("WAYBILL_OTHER_VEHICLE", {"named": named, "plate": unit.plate}))
    if trip.waybill_used_by:
        out.append(Reason("WAYBILL_USED", {"waybill": trip.waybill_no or "",
                                           "code": trip.waybill_used_by}))
    return out


def toxic_pass_checks(trip: TripView, vehicle: VehicleView, start: datetime, end: datetime
                      ) -> list[Reason]:
    """G19: a 剧毒 trip's public-security pass is valid from `start` through `end` (the
    read's instant at the gate; the booked window at booking) and names this vehicle.
    A pass recorded without dates or vehicle is judged on what it says."""
    if not any(c.highly_toxic for c in trip.cargo) or not trip.toxic_pass_no:
        return []
    out: list[Reason] = []
    first, last = trip.toxic_pass_valid_from, trip.toxic_pass_valid_until
    if (first is not None and documents.park_date(start) < first) or (
            last is not None and not documents.valid_at(last, end)):
        out.append(Reason("TOXIC_PASS_EXPIRED", {
            "start": first.isoformat() if first else "—",
            "end": last.isoformat() if last else "—"}))
    if trip.toxic_pass_vehicle and trip.toxic_pass_vehicle != vehicle.plate:
        out.append(Reason("TOXIC_PASS_OTHER_VEHICLE", {"named": trip.toxic_pass_vehicle,
                                                       "plate": vehicle.plate}))
    return out
