"""JSON API for bookings: check, book, amend, review, cancel, list, find by code."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from apiflask import APIBlueprint
from flask import request
from pydantic import BaseModel, ConfigDict
from sqlalchemy import func, or_, select

from auth.access import current_principal, require, scoped
from auth.roles import Role
from kernel.errors import N_, BadRequest
from models import Trip, Vehicle
from parkgate.database import get_session, get_uow
from registry.imports import uploaded_rows
from rules.documents import PARK_TZ
from rules.plates import normalise

from . import service
from .codes import normalise_code
from .imports import COLUMNS, import_bookings
from .rules import Findings
from .schemas import BookingBody, BookingList, BookingOut, BookingQuery, CancelIn, FindingsOut, ReviewIn

bp = APIBlueprint("bookings_api", __name__, url_prefix="/api/v1/bookings", tag="Bookings")

BOOKERS = (Role.ADMIN, Role.ENTERPRISE)
READERS = (Role.ADMIN, Role.ENTERPRISE, Role.AUDITOR, Role.DISPATCHER, Role.GATE_OPERATOR)


def booking_out(trip: Trip, findings: Findings | None = None, plate: str | None = None
                ) -> dict[str, Any]:
    if plate is None:
        vehicle = get_session().get(Vehicle, trip.vehicle_id)
        plate = vehicle.plate if vehicle else ""
    return {
        "id": trip.id, "code": trip.code, "state": trip.state, "state_reason": trip.state_reason,
        "category": trip.category, "direction": trip.direction,
        "enterprise_id": trip.enterprise_id, "plant_id": trip.plant_id,
        "vehicle_id": trip.vehicle_id, "vehicle_plate": plate, "trailer_id": trip.trailer_id,
        "driver_id": trip.driver_id, "escort_id": trip.escort_id,
        "window_start": trip.window_start, "window_end": trip.window_end,
        "waybill_no": trip.waybill_no, "waybill_consignor": trip.waybill_consignor,
        "waybill_consignee": trip.waybill_consignee, "waybill_vehicle": trip.waybill_vehicle,
        "waybill_trailer": trip.waybill_trailer, "manifest_no": trip.manifest_no,
        "toxic_pass_no": trip.toxic_pass_no, "toxic_pass_valid_from": trip.toxic_pass_valid_from,
        "toxic_pass_valid_until": trip.toxic_pass_valid_until,
        "toxic_pass_vehicle": trip.toxic_pass_vehicle,
        "cargo": [{"un_number": c.un_number, "name_zh": c.name_zh, "hazard_class": c.hazard_class,
                   "quantity": c.quantity, "unit": c.unit, "quantity_kg": c.quantity_kg}
                  for c in trip.cargo],
        "findings": service.findings_out(findings) if findings is not None else None,
    }


def _principal() -> Any:
    principal = current_principal()
    assert principal is not None
    return principal


@bp.post("/check")
@require(*BOOKERS)
@bp.input(BookingBody, location="json", arg_name="body")
@bp.output(FindingsOut)
@bp.doc(summary="Run every booking check on a draft; nothing is saved",
        responses=[403, 422])
def check_booking(body: BookingBody) -> Any:
    return service.findings_out(service.check(get_session(), _principal(), body.to_request()))


@bp.post("")
@require(*BOOKERS)
@bp.input(BookingBody, location="json", arg_name="body")
@bp.output(BookingOut, status_code=201)
@bp.doc(summary="Book a trip",
        description="All checks pass: BOOKED (or PENDING_APPROVAL where the park approves). "
                    "Checks fail: 422 BOOKING_CHECKS_FAILED listing every failure, unless "
                    "submit_anyway, which saves it PENDING_APPROVAL for the park admin.",
        responses=[403, 422])
def create_booking(body: BookingBody) -> Any:
    key = request.headers.get("Idempotency-Key", "").strip() or None
    if key is not None and (len(key) > 64 or not key.isprintable()):
        raise BadRequest(N_("An Idempotency-Key is 1 to 64 printable characters."),
                         code="IDEMPOTENCY_KEY")
    trip, findings = service.book(get_uow(), _principal(), body.to_request(),
                                  submit_anyway=body.submit_anyway, client_key=key)
    if findings is None:  # a retry of a request that already booked
        return booking_out(trip, service.current_findings(get_session(), _principal(), trip)), 200
    return booking_out(trip, findings), 201


@bp.get("")
@require(*READERS)
@bp.input(BookingQuery, location="query", arg_name="query")
@bp.output(BookingList)
@bp.doc(summary="Bookings (your enterprise's only, for enterprise staff)")
def list_bookings(query: BookingQuery) -> Any:
    stmt = select(Trip, Vehicle.plate).join(Vehicle, Vehicle.id == Trip.vehicle_id)
    stmt = scoped(stmt, _principal(), Trip.enterprise_id)
    if query.state:
        stmt = stmt.where(Trip.state == query.state.upper())
    if query.day:
        start = datetime.combine(query.day, time(0), PARK_TZ)
        stmt = stmt.where(Trip.window_start < start + timedelta(days=1), Trip.window_end > start)
    if query.q:
        stmt = stmt.where(or_(Trip.code == normalise_code(query.q),
                              Vehicle.plate == normalise(query.q)))
    session = get_session()
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.execute(stmt.order_by(Trip.window_start.desc(), Trip.id.desc())
                           .limit(query.limit).offset(query.offset)).all()
    return {"items": [booking_out(t, plate=p) for t, p in rows], "total": total}


@bp.get("/<id:trip_id>")
@require(*READERS)
@bp.output(BookingOut)
@bp.doc(summary="One booking, with its checks as they stand now", responses=[404])
def read_booking(trip_id: int) -> Any:
    principal = _principal()
    session = get_session()
    trip = service.get_trip(session, principal, trip_id)
    return booking_out(trip, service.current_findings(session, principal, trip))


@bp.get("/by-code/<code>")
@require(*READERS)
@bp.output(BookingOut)
@bp.doc(summary="The booking behind a driver's pass code (typed or scanned at the booth)",
        responses=[404])
def booking_by_code(code: str) -> Any:
    return booking_out(service.trip_by_code(get_session(), _principal(), code))


@bp.put("/<id:trip_id>")
@require(*BOOKERS)
@bp.input(BookingBody, location="json", arg_name="body")
@bp.output(BookingOut)
@bp.doc(summary="Amend a booking before arrival: checked and approved again",
        responses=[403, 404, 409, 422])
def amend_booking(trip_id: int, body: BookingBody) -> Any:
    trip, findings = service.amend(get_uow(), _principal(), trip_id, body.to_request(),
                                   submit_anyway=body.submit_anyway)
    return booking_out(trip, findings)


@bp.post("/<id:trip_id>/approve")
@require(Role.ADMIN)
@bp.input(ReviewIn, location="json", arg_name="body")
@bp.output(BookingOut)
@bp.doc(summary="Approve a booking waiting for the park", responses=[403, 404, 409])
def approve_booking(trip_id: int, body: ReviewIn) -> Any:
    return booking_out(service.review(get_uow(), _principal(), trip_id, approve=True,
                                      reason=body.reason))


@bp.post("/<id:trip_id>/reject")
@require(Role.ADMIN)
@bp.input(ReviewIn, location="json", arg_name="body")
@bp.output(BookingOut)
@bp.doc(summary="Reject a booking waiting for the park (a reason is required)",
        responses=[403, 404, 409])
def reject_booking(trip_id: int, body: ReviewIn) -> Any:
    return booking_out(service.review(get_uow(), _principal(), trip_id, approve=False,
                                      reason=body.reason))


@bp.post("/<id:trip_id>/cancel")
@require(*BOOKERS)
@bp.input(CancelIn, location="json", arg_name="body")
@bp.output(BookingOut)
@bp.doc(summary="Cancel a booking before arrival", responses=[403, 404, 409])
def cancel_booking(trip_id: int, body: CancelIn) -> Any:
    return booking_out(service.cancel(get_uow(), _principal(), trip_id, body.reason))


class ImportQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    dry_run: bool = False


@bp.post("/import")
@require(*BOOKERS)
@bp.input(ImportQuery, location="query", arg_name="query")
@bp.doc(summary="Import bookings from a CSV or XLSX file (multipart field 'file')",
        description="Every row is resolved and checked like a single booking; nothing is "
                    "saved unless every row passes. 200 with the report, or 422 with every "
                    "bad row. Columns: " + ", ".join(COLUMNS) + ".",
        responses=[200, 403, 413, 422])
def import_file(query: ImportQuery) -> Any:
    request.max_content_length = 64 * 1024 * 1024
    _, rows = uploaded_rows(request.files.get("file"))
    report = import_bookings(get_uow(), _principal(), rows, dry_run=query.dry_run)
    return report.as_dict(), 200 if report.ok else 422


def init_app(app: Any) -> None:
    app.register_blueprint(bp)
