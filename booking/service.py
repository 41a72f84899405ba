"""Booking use cases: check a draft, book it, amend it, approve or reject it, find it
by the code on the driver's pass. Every state change is audited in its transaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from auth.principal import Principal
from auth.roles import Role
from gateway.messages import reason_item
from kernel import clock
from kernel.errors import N_, DomainError, Forbidden, NotFound, ValidationFailed
from kernel.uow import Actor, UnitOfWork
from models import CargoLine, Enterprise, Person, Plant, Trip, Vehicle
from registry.scope import visible_ids
from rules.hazard import normalise_un
from rules.plates import normalise
from rules.views import TripView
from trips import state_machine as sm
from trips.service import get_trip
from trips.state_machine import TripState

from . import repository as repo
from .codes import new_code, normalise_code
from .rules import Findings, check_booking, window_problem

UNITS_KG = {"kg": 1.0, "t": 1000.0}
CATEGORIES = ("hazmat", "hazwaste", "goods")
AMENDABLE = frozenset({TripState.PENDING_APPROVAL, TripState.BOOKED})


# --- what the caller sends ---------------------------------------------------------------------

@dataclass
class CargoRequest:
    un_number: str
    quantity: float
    unit: str = "kg"
    packages: int | None = None
    special_provision: str | None = None  # limited | excepted (G21)


@dataclass
class BookingRequest:
    # None only from a form that could not read the part (prepare() reports it).
    plant_id: int | None
    vehicle_id: int | None
    window_start: datetime | None
    window_end: datetime | None
    direction: str = "deliver"
    category: str | None = None
    trailer_id: int | None = None
    driver_id: int | None = None
    escort_id: int | None = None
    waybill_no: str | None = None
    waybill_consignor: str | None = None
    waybill_consignee: str | None = None
    waybill_vehicle: str | None = None  # plates the waybill names (G14)
    waybill_trailer: str | None = None
    manifest_no: str | None = None
    toxic_pass_no: str | None = None
    toxic_pass_valid_from: date | None = None  # the 剧毒 pass (G19)
    toxic_pass_valid_until: date | None = None
    toxic_pass_vehicle: str | None = None
    priority: int = 0
    cargo: list[CargoRequest] = field(default_factory=list)
    enterprise_id: int | None = None  # park staff booking for an enterprise


# --- the records the seed and the tests build directly -------------------------------------------

@dataclass
class CargoIn:
    un_number: str
    name_zh: str
    hazard_class: str
    quantity: float
    unit: str = "kg"
    quantity_kg: float | None = None
    subsidiary_risks: list[str] = field(default_factory=list)
    packing_group: str | None = None
    highly_toxic: bool = False
    packages: int | None = None
    special_provision: str | None = None


@dataclass
class BookingIn:
    park_id: int
    enterprise_id: int
    plant_id: int
    vehicle_id: int
    category: str
    window_start: datetime
    window_end: datetime
    direction: str = "deliver"
    trailer_id: int | None = None
    driver_id: int | None = None
    escort_id: int | None = None
    priority: int = 0
    waybill_no: str | None = None
    waybill_consignor: str | None = None
    waybill_consignee: str | None = None
    waybill_vehicle: str | None = None
    waybill_trailer: str | None = None
    manifest_no: str | None = None
    toxic_pass_no: str | None = None
    toxic_pass_valid_from: date | None = None
    toxic_pass_valid_until: date | None = None
    toxic_pass_vehicle: str | None = None
    cargo: list[CargoIn] = field(default_factory=list)


# The booking's own fields, as the request, the record and the trip hold them alike.
TRIP_FIELDS = ("plant_id", "vehicle_id", "trailer_id", "driver_id", "escort_id", "category",
               "direction", "window_start", "window_end", "priority", "waybill_no",
               "waybill_consignor", "waybill_consignee", "waybill_vehicle", "waybill_trailer",
               "manifest_no", "toxic_pass_no", "toxic_pass_valid_from", "toxic_pass_valid_until",
               "toxic_pass_vehicle")
CLEANED_FIELDS = ("waybill_no", "waybill_consignor", "waybill_consignee", "manifest_no",
                  "toxic_pass_no")
PLATE_FIELDS = ("waybill_vehicle", "waybill_trailer", "toxic_pass_vehicle")


class BookingChecksFailed(DomainError):
    status = 422
    code = "BOOKING_CHECKS_FAILED"


@dataclass
class Prepared:
    data: BookingIn
    draft: TripView
    # The records prepare() loaded: held so the session's (weak) identity map keeps
    # them for load_facts() instead of querying them again.
    records: list[Any] = field(default_factory=list)
    scoped: bool = False  # booked by an enterprise's own staff (B06)


def _cargo_lines(data: BookingIn) -> list[CargoLine]:
    return [CargoLine(position=i, un_number=c.un_number, name_zh=c.name_zh,
                      hazard_class=c.hazard_class, subsidiary_risks=list(c.subsidiary_risks),
                      packing_group=c.packing_group, highly_toxic=c.highly_toxic,
                      quantity=c.quantity, unit=c.unit,
                      quantity_kg=c.quantity_kg if c.quantity_kg is not None else c.quantity,
                      packages=c.packages, special_provision=c.special_provision)
            for i, c in enumerate(data.cargo, start=1)]


def _booking_payload(data: BookingIn) -> dict[str, Any]:
    return {"category": data.category, "plant_id": data.plant_id, "direction": data.direction,
            "vehicle_id": data.vehicle_id, "trailer_id": data.trailer_id,
            "driver_id": data.driver_id, "escort_id": data.escort_id,
            "window": [data.window_start.isoformat(), data.window_end.isoformat()],
            "waybill_no": data.waybill_no, "waybill_vehicle": data.waybill_vehicle,
            "waybill_trailer": data.waybill_trailer, "manifest_no": data.manifest_no,
            "toxic_pass_no": data.toxic_pass_no,
            "toxic_pass": [str(data.toxic_pass_valid_from or ""),
                           str(data.toxic_pass_valid_until or ""), data.toxic_pass_vehicle]
            if data.toxic_pass_no else None,
            "cargo": [[c.un_number, c.quantity, c.unit] for c in data.cargo]}


def create_trip(uow: UnitOfWork, actor: Actor, data: BookingIn, *, approved: bool,
                created_by_id: int | None = None, findings: Findings | None = None,
                client_key: str | None = None) -> Trip:
    """Record a booking as a trip, BOOKED or PENDING_APPROVAL, with its audit event."""
    return create_trips(uow, actor, [NewTrip(data, approved, findings, client_key=client_key)],
                        created_by_id=created_by_id)[0]


@dataclass
class NewTrip:
    data: BookingIn
    approved: bool
    findings: Findings | None = None
    code: str = field(default_factory=new_code)
    client_key: str | None = None


def create_trips(uow: UnitOfWork, actor: Actor, new: list[NewTrip], *,
                 created_by_id: int | None = None) -> list[Trip]:
    """create_trip for many bookings (an import's): one flush writes them all."""
    now = clock.now()
    trips = []
    for item in new:
        data = item.data
        state = TripState.BOOKED if item.approved else TripState.PENDING_APPROVAL
        trips.append(Trip(
            code=item.code, park_id=data.park_id, enterprise_id=data.enterprise_id,
            **{name: getattr(data, name) for name in TRIP_FIELDS}, state=state.value,
            state_changed_at=now, created_at=now, created_by_id=created_by_id,
            cargo=_cargo_lines(data), client_key=item.client_key,
        ))
    uow.session.add_all(trips)
    uow.session.flush()
    for trip, item in zip(trips, new, strict=True):
        payload: dict[str, Any] = {"code": trip.code, "state": trip.state,
                                   **_booking_payload(item.data)}
        if item.findings is not None:
            payload["failures"] = [r.code for r in item.findings.failures]
            payload["warnings"] = [r.code for r in item.findings.warnings]
        uow.audit("trip.book", actor, subject_kind="trip", subject_id=str(trip.id),
                  trip_id=trip.id, vehicle_id=trip.vehicle_id, enterprise_id=trip.enterprise_id,
                  payload=payload)
        uow.publish(f"enterprise:{trip.enterprise_id}", "trip.booked",
                    {"trip_id": trip.id, "code": trip.code, "state": trip.state})
    return trips


# --- turning a request into a draft --------------------------------------------------------------

def _enterprise_for(session: Session, principal: Principal, req: BookingRequest,
                    plant: Plant) -> Enterprise:
    if principal.enterprise_scoped:
        if req.enterprise_id not in (None, principal.enterprise_id):
            raise Forbidden(N_("You book for your own enterprise only."),
                            code="ENTERPRISE_NOT_YOURS")
        enterprise_id = principal.enterprise_id
    else:
        enterprise_id = req.enterprise_id or plant.enterprise_id
    enterprise = repo.pinned(session, Enterprise, enterprise_id) if enterprise_id else None
    if enterprise is None or enterprise.retired_at is not None:
        raise ValidationFailed(N_("No such enterprise."), code="ENTERPRISE_UNKNOWN",
                               fields={"enterprise_id": [N_("No such enterprise.")]})
    return enterprise


def prepare(session: Session, principal: Principal, req: BookingRequest) -> Prepared:
    """Resolve and validate everything the request names; field errors all at once."""
    errors: dict[str, list[str]] = {}

    def bad(name: str, msgid: str) -> None:
        errors.setdefault(name, []).append(msgid)

    # A form may send what it could read of a request with parts missing (None): every
    # problem with the rest is still reported, all at once (B01).
    plant = repo.pinned(session, Plant, req.plant_id) if req.plant_id is not None else None
    if req.plant_id is not None and (plant is None or plant.retired_at is not None):
        bad("plant_id", N_("No such plant."))
        plant = None
    enterprise = _enterprise_for(session, principal, req, plant) if plant is not None else None
    # B06: what the booker may not see answers exactly as if it did not exist.
    rigs = _in_scope(session, principal, Vehicle, (req.vehicle_id, req.trailer_id))
    vehicle = rigs.get(req.vehicle_id) if req.vehicle_id is not None else None
    if req.vehicle_id is not None and (vehicle is None or vehicle.retired_at is not None):
        bad("vehicle_id", N_("No such vehicle."))
        vehicle = None
    elif vehicle is not None and vehicle.kind == "trailer":
        bad("vehicle_id", N_("A trailer cannot be the power unit; name it as the trailer."))
    trailer = rigs.get(req.trailer_id) if req.trailer_id else None
    if req.trailer_id and (trailer is None or trailer.retired_at is not None):
        bad("trailer_id", N_("No such vehicle."))
    elif trailer is not None and trailer.kind != "trailer":
        bad("trailer_id", N_("This vehicle is not a trailer."))
    crew = _in_scope(session, principal, Person, (req.driver_id, req.escort_id))
    for name, pid in (("driver_id", req.driver_id), ("escort_id", req.escort_id)):
        if pid is not None and (pid not in crew or crew[pid].retired_at is not None):
            bad(name, N_("No such person."))
    if req.driver_id is not None and req.driver_id == req.escort_id:
        bad("escort_id", N_("The escort must be another person than the driver."))
    if req.direction not in ("deliver", "collect"):
        bad("direction", N_("Deliver or collect."))
    problem = window_problem(req.window_start, req.window_end, clock.now()) \
        if req.window_start and req.window_end else None
    if problem == "WINDOW_ENDS_BEFORE_START":
        bad("window_end", N_("The window must end after it starts."))
    elif problem == "WINDOW_IN_PAST":
        bad("window_end", N_("The window is already over."))
    materials = repo.materials_by_un(session, [_un(c.un_number)
                                               for c in req.cargo])
    cargo: list[CargoIn] = []
    for i, line in enumerate(req.cargo):
        un = _un(line.un_number)
        material = materials.get(un)
        if material is None:
            bad(f"cargo.{i}.un_number", N_("No dangerous good has this UN number."))
            continue
        if line.unit not in UNITS_KG:
            bad(f"cargo.{i}.unit", N_("Quantities are in kg or t."))
            continue
        if not line.quantity > 0:
            bad(f"cargo.{i}.quantity", N_("The quantity must be more than zero."))
            continue
        cargo.append(CargoIn(
            un_number=material.un_number, name_zh=material.name_zh,
            hazard_class=material.hazard_class, quantity=line.quantity, unit=line.unit,
            quantity_kg=line.quantity * UNITS_KG[line.unit],
            subsidiary_risks=list(material.subsidiary_risks or ()),
            packing_group=material.packing_group, highly_toxic=material.highly_toxic,
            packages=line.packages, special_provision=line.special_provision))
    category = req.category or ("hazwaste" if req.manifest_no else
                                "hazmat" if req.cargo else "goods")
    if category not in CATEGORIES:
        bad("category", N_("Hazmat, hazardous waste or ordinary goods."))
    elif category != "goods" and not req.cargo:
        bad("cargo", N_("A hazmat booking lists its cargo."))
    if errors or plant is None or enterprise is None or vehicle is None \
            or not (req.window_start and req.window_end):
        raise ValidationFailed(N_("Check the highlighted fields."), code="BOOKING_INVALID",
                               fields=errors)
    # The request's own fields as the record keeps them: texts trimmed, plates
    # normalised, the parts resolved above.
    fields: dict[str, Any] = {name: getattr(req, name) for name in TRIP_FIELDS}
    fields.update({name: _clean(fields[name]) for name in CLEANED_FIELDS})
    fields.update({name: _plate(fields[name]) for name in PLATE_FIELDS})
    fields.update(plant_id=plant.id, vehicle_id=vehicle.id, category=category)
    data = BookingIn(park_id=enterprise.park_id, enterprise_id=enterprise.id, cargo=cargo,
                     **fields)
    draft = TripView(
        id=0, code="", state="DRAFT", category=category, direction=req.direction,
        enterprise_id=enterprise.id, enterprise_name=enterprise.name, plant_id=plant.id,
        plant_name=plant.name, window_start=req.window_start, window_end=req.window_end,
        vehicle_id=vehicle.id, trailer_id=req.trailer_id,
        trailer_plate=trailer.plate if trailer else None, driver_id=req.driver_id,
        escort_id=req.escort_id,
        cargo=repo.cargo_views([(materials[c.un_number], c.quantity_kg or 0.0, c.packages,
                                 c.special_provision) for c in cargo]),
        waybill_no=data.waybill_no, waybill_consignor=data.waybill_consignor,
        waybill_consignee=data.waybill_consignee, waybill_vehicle=data.waybill_vehicle,
        waybill_trailer=data.waybill_trailer, manifest_no=data.manifest_no,
        toxic_pass_no=data.toxic_pass_no, toxic_pass_valid_from=data.toxic_pass_valid_from,
        toxic_pass_valid_until=data.toxic_pass_valid_until,
        toxic_pass_vehicle=data.toxic_pass_vehicle)
    return Prepared(data, draft, [plant, enterprise, *rigs.values(), *crew.values()],
                    scoped=principal.enterprise_scoped)


def _in_scope(session: Session, principal: Principal, model: Any, ids: tuple[int | None, ...]
              ) -> dict[int, Any]:
    """The records these ids name that the principal may see (registry.scope)."""
    found = repo.by_ids(session, model, ids)
    visible = visible_ids(session, model, found, principal)
    return {i: record for i, record in found.items() if i in visible}


def _un(raw: str) -> str:
    try:
        return normalise_un(raw)
    except ValueError:
        return (raw or "").strip().upper()[:16]  # not found, reported on its field


def _clean(value: str | None) -> str | None:
    value = (value or "").strip()
    return value[:200] or None


def _plate(value: str | None) -> str | None:
    return normalise(value or "")[:16] or None


def evaluate(session: Session, prepared: Prepared, *, exclude_trip_id: int | None = None,
             source: Any = None) -> Findings:
    """The booking checks (DOMAIN §3) on a prepared draft; `source`: where the bans,
    qualifications, waybills and overlapping trips come from (repository.load_facts)."""
    facts = repo.load_facts(session, prepared.draft, exclude_trip_id=exclude_trip_id,
                            scoped=prepared.scoped, source=source)
    return check_booking(facts)


def findings_out(findings: Findings) -> dict[str, list[dict[str, Any]]]:
    return {"failures": [reason_item(r) for r in findings.failures],
            "warnings": [reason_item(r) for r in findings.warnings],
            "notes": [reason_item(r) for r in findings.notes]}


def needs_approval(session: Session, prepared: Prepared, findings: Findings) -> bool:
    facts_policy = repo.park_policy(session, prepared.data.park_id)
    if findings.failures or not facts_policy.auto_approve_bookings:
        return True
    hazmat = prepared.data.category != "goods"
    return hazmat and facts_policy.require_park_approval_hazmat


def _refuse(findings: Findings) -> BookingChecksFailed:
    return BookingChecksFailed(
        N_("The booking fails %(count)s checks; fix them or submit it for the park's approval."),
        params={"count": len(findings.failures)}, extra=findings_out(findings))


# --- use cases ---------------------------------------------------------------------------------

def check(session: Session, principal: Principal, req: BookingRequest) -> Findings:
    return evaluate(session, prepare(session, principal, req))


def book(uow: UnitOfWork, principal: Principal, req: BookingRequest, *,
         submit_anyway: bool = False, client_key: str | None = None
         ) -> tuple[Trip, Findings | None]:
    """Book a trip. With a client key, a request retried after a lost answer gets the
    trip it made the first time (findings None) rather than a second booking."""
    prepared = prepare(uow.session, principal, req)
    if client_key is not None:
        earlier = _booked_with(uow.session, prepared.data.enterprise_id, client_key)
        if earlier is not None:
            return earlier, None
    findings = evaluate(uow.session, prepared)
    if findings.failures and not submit_anyway:
        raise _refuse(findings)
    trip = create_trip(uow, principal.actor, prepared.data,
                       approved=not needs_approval(uow.session, prepared, findings),
                       created_by_id=principal.user_ref, findings=findings,
                       client_key=client_key)
    try:
        uow.commit()
    except IntegrityError:
        uow.rollback()
        earlier = _booked_with(uow.session, prepared.data.enterprise_id, client_key) \
            if client_key is not None else None
        if earlier is None:
            raise
        return earlier, None  # the same request raced in twice: the first one stands
    return trip, findings


def _booked_with(session: Session, enterprise_id: int, client_key: str) -> Trip | None:
    return session.scalar(select(Trip).where(Trip.enterprise_id == enterprise_id,
                                             Trip.client_key == client_key))


def amend(uow: UnitOfWork, principal: Principal, trip_id: int, req: BookingRequest, *,
          submit_anyway: bool = False) -> tuple[Trip, Findings]:
    """Edit a booking before the truck arrives: checked again, approved again."""
    trip = get_trip(uow.session, principal, trip_id, for_update=True)
    if trip.state not in AMENDABLE:
        raise sm.IllegalTransition(N_("A trip in state %(state)s cannot %(action)s."),
                                   params={"state": trip.state, "action": "amend"})
    if not (principal.has(Role.ADMIN) or principal.enterprise_id == trip.enterprise_id):
        raise Forbidden(N_("Your role may not %(action)s a trip."), code="ACTION_NOT_PERMITTED",
                        params={"action": "amend"})
    req.enterprise_id = trip.enterprise_id
    prepared = prepare(uow.session, principal, req)
    findings = evaluate(uow.session, prepared, exclude_trip_id=trip.id)
    if findings.failures and not submit_anyway:
        raise _refuse(findings)
    before = _booking_payload(_as_booking(trip))
    data = prepared.data
    for name in TRIP_FIELDS:
        setattr(trip, name, getattr(data, name))
    trip.cargo.clear()
    uow.session.flush()
    trip.cargo.extend(_cargo_lines(data))
    ctx = sm.Context(now=clock.now(), reason=None)
    sm.apply(uow, trip, "amend", principal.actor, ctx,
             payload={"before": before, "after": _booking_payload(data),
                      "failures": [r.code for r in findings.failures],
                      "warnings": [r.code for r in findings.warnings]})
    if not needs_approval(uow.session, prepared, findings):
        sm.apply(uow, trip, "approve", Actor.system("auto-approval"), ctx)
    uow.publish(f"enterprise:{trip.enterprise_id}", "trip.amended",
                {"trip_id": trip.id, "code": trip.code, "state": trip.state})
    uow.commit()
    return trip, findings


def _as_booking(trip: Trip) -> BookingIn:
    return BookingIn(
        park_id=trip.park_id, enterprise_id=trip.enterprise_id,
        **{name: getattr(trip, name) for name in TRIP_FIELDS},
        cargo=[CargoIn(c.un_number, c.name_zh, c.hazard_class, c.quantity, c.unit, c.quantity_kg,
                       list(c.subsidiary_risks or ()), c.packing_group, c.highly_toxic,
                       c.packages, c.special_provision) for c in trip.cargo])


def request_of(trip: Trip) -> BookingRequest:
    """The request that would book this trip again (the edit form starts from it)."""
    return BookingRequest(
        **{name: getattr(trip, name) for name in TRIP_FIELDS},
        cargo=[CargoRequest(c.un_number, c.quantity, c.unit, c.packages, c.special_provision)
               for c in trip.cargo],
        enterprise_id=trip.enterprise_id)


def current_findings(session: Session, principal: Principal, trip: Trip) -> Findings | None:
    """The checks as they stand now (documents may have been renewed since booking)."""
    if trip.state not in AMENDABLE:
        return None
    try:
        prepared = prepare(session, principal, request_of(trip))
    except DomainError:
        return None
    return evaluate(session, prepared, exclude_trip_id=trip.id)


def review(uow: UnitOfWork, principal: Principal, trip_id: int, *, approve: bool,
           reason: str | None) -> Trip:
    """A park admin approves or rejects a booking waiting for approval (G10)."""
    if not principal.has(Role.ADMIN):
        raise Forbidden(N_("Your role may not %(action)s a trip."), code="ACTION_NOT_PERMITTED",
                        params={"action": "approve" if approve else "reject"})
    trip = get_trip(uow.session, principal, trip_id, for_update=True)
    findings = current_findings(uow.session, principal, trip)
    ctx = sm.Context(now=clock.now(), reason=(reason or "").strip()[:500] or None)
    action = "approve" if approve else "reject"
    sm.apply(uow, trip, action, principal.actor, ctx, payload={
        "failures": [r.code for r in findings.failures] if findings else None})
    uow.publish(f"enterprise:{trip.enterprise_id}", "booking.approved" if approve else "booking.rejected",
                {"trip_id": trip.id, "code": trip.code, "reason": ctx.reason})
    uow.commit()
    return trip


def cancel(uow: UnitOfWork, principal: Principal, trip_id: int, reason: str | None) -> Trip:
    trip = get_trip(uow.session, principal, trip_id, for_update=True)
    if not principal.has(Role.ADMIN, Role.ENTERPRISE):
        raise Forbidden(N_("Your role may not %(action)s a trip."), code="ACTION_NOT_PERMITTED",
                        params={"action": "cancel"})
    ctx = sm.Context(now=clock.now(), reason=(reason or "").strip()[:500] or None)
    sm.apply(uow, trip, "cancel", principal.actor, ctx)
    uow.publish(f"enterprise:{trip.enterprise_id}", "booking.cancelled",
                {"trip_id": trip.id, "code": trip.code})
    uow.commit()
    return trip


def trip_by_code(session: Session, principal: Principal, code: str) -> Trip:
    trip = session.scalar(select(Trip).where(Trip.code == normalise_code(code)[:16]))
    if trip is None:
        raise NotFound(N_("No booking has this code."), code="BOOKING_CODE_UNKNOWN")
    return get_trip(session, principal, trip.id)


