"""Booking pages: the enterprise's bookings, the booking form (check, then book),
one booking with its checks and actions, the driver's pass with its QR code, the
park's approval queue, and bulk import."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

from apiflask import APIBlueprint
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext
from markupsafe import Markup
from sqlalchemy import select

from audit.service import events_for_trip
from auth.access import current_principal, require, scoped
from auth.roles import Role
from kernel import clock
from kernel.errors import N_, DomainError, ValidationFailed
from models import Enterprise, Material, Person, Plant, Trip, Vehicle
from parkgate.database import get_session, get_uow
from parkgate.problems import error_text, translate_fields
from parkgate.web import register_landing, register_nav
from rules.documents import PARK_TZ, park_date
from rules.hazard import normalise_un
from rules.plates import validate

from . import forms, service
from .rules import Findings
from .service import BookingChecksFailed

bp = APIBlueprint("bookings", __name__, url_prefix="/bookings", enable_openapi=False)

BOOKERS = (Role.ADMIN, Role.ENTERPRISE)
READERS = (Role.ADMIN, Role.ENTERPRISE, Role.AUDITOR, Role.DISPATCHER, Role.GATE_OPERATOR)
PAGE = 100
IMPORT_MAX_BYTES = 64 * 1024 * 1024


def _principal() -> Any:
    principal = current_principal()
    assert principal is not None
    return principal


def _message(exc: DomainError) -> str:
    return error_text(exc)


@bp.get("")
@require(*READERS)
def booking_list() -> Any:
    principal = _principal()
    session = get_session()
    state = (request.args.get("state") or "").upper()[:20] or None
    stmt = (select(Trip, Vehicle.plate, Vehicle.plate_colour, Plant.name, Enterprise.name)
            .join(Vehicle, Vehicle.id == Trip.vehicle_id).join(Plant, Plant.id == Trip.plant_id)
            .join(Enterprise, Enterprise.id == Trip.enterprise_id))
    stmt = scoped(stmt, principal, Trip.enterprise_id)
    if state:
        stmt = stmt.where(Trip.state == state)
    else:
        stmt = stmt.where(Trip.window_end >= clock.now() - timedelta(days=1))
    rows = session.execute(stmt.order_by(Trip.window_start, Trip.id).limit(PAGE)).all()
    pending = session.scalar(scoped(select(Trip.id).where(
        Trip.state == "PENDING_APPROVAL"), principal, Trip.enterprise_id).limit(1)) is not None
    return render_template("bookings/list.html", rows=rows, state=state, pending=pending,
                           can_book=principal.has(*BOOKERS))


def _plants() -> list[tuple[int, str]]:
    principal = _principal()
    stmt = (select(Plant.id, Plant.name, Enterprise.name).join(Enterprise)
            .where(Plant.retired_at.is_(None)).order_by(Enterprise.code, Plant.code))
    if principal.enterprise_scoped:
        stmt = stmt.where(Plant.enterprise_id == principal.enterprise_id)
    return [(pid, f"{ename} · {pname}") for pid, pname, ename in get_session().execute(stmt)]


def _render_form(values: dict[str, Any], errors: dict[str, list[str]],
                 findings: Findings | None, trip: Trip | None = None, status: int = 200,
                 *, refused: bool = False) -> Any:
    return render_template(
        "bookings/form.html", values=values, errors=errors, plants=_plants(),
        findings=service.findings_out(findings) if findings is not None else None,
        rows=range(forms.CARGO_ROWS), trip=trip, refused=refused), status


def _defaults() -> dict[str, Any]:
    start = (clock.now() + timedelta(hours=2)).astimezone(PARK_TZ).replace(minute=0, second=0,
                                                                            microsecond=0)
    principal = _principal()
    enterprise = get_session().get(Enterprise, principal.enterprise_id) \
        if principal.enterprise_id else None
    return {"start": start.strftime("%Y-%m-%dT%H:%M"),
            "end": (start + timedelta(hours=4)).strftime("%Y-%m-%dT%H:%M"),
            "waybill_consignee": enterprise.name if enterprise else "", "direction": "deliver"}


@bp.get("/new")
@require(*BOOKERS)
def booking_new() -> Any:
    return _render_form(_defaults(), {}, None)


def _submit(trip: Trip | None) -> Any:
    """Check or book (or amend) from the form; every problem shown on the form."""
    principal = _principal()
    session = get_session()
    values = request.form.to_dict()
    parsed = forms.parse(session, request.form, principal)
    if parsed.errors:
        return _render_form(values, _every_problem(session, principal, parsed), None, trip, 422)
    try:
        if request.form.get("intent") == "check":
            findings = service.check(session, principal, parsed.request)
            return _render_form(values, {}, findings, trip)
        if trip is None:
            booked, _ = service.book(get_uow(), principal, parsed.request,
                                     submit_anyway=parsed.submit_anyway)
        else:
            booked, _ = service.amend(get_uow(), principal, trip.id, parsed.request,
                                      submit_anyway=parsed.submit_anyway)
    except BookingChecksFailed as exc:
        findings = Findings(*(_reasons(exc.extra[k]) for k in ("failures", "warnings", "notes")))
        return _render_form(values, {}, findings, trip, 422, refused=True)
    except ValidationFailed as exc:
        errors = {forms.form_field(k): v for k, v in translate_fields(exc.fields).items()}
        if not errors:
            errors = {"_form": [_message(exc)]}
        return _render_form(values, errors, None, trip, 422)
    except DomainError as exc:
        return _render_form(values, {"_form": [_message(exc)]}, None, trip, exc.status)
    flash(gettext("Booked: %(code)s, %(state)s.", code=booked.code,
                  state=gettext(_state_label(booked.state))))
    return redirect(url_for("bookings.booking_detail", trip_id=booked.id))


def _every_problem(session: Any, principal: Any, parsed: forms.ParsedForm
                   ) -> dict[str, list[str]]:
    """The form's own problems and the service's with what the form could read."""
    errors = dict(translate_fields(parsed.errors))
    try:
        service.prepare(session, principal, parsed.request)
    except ValidationFailed as exc:
        for name, messages in translate_fields(exc.fields).items():
            field = forms.form_field(name)
            if field not in errors:  # the form's own word on a field comes first
                errors[field] = messages
    except DomainError as exc:
        errors.setdefault("_form", [_message(exc)])
    return errors


def _state_label(state: str) -> str:
    from parkgate.labels import label

    return label(state)


def _reasons(items: list[dict[str, Any]]) -> tuple[Any, ...]:
    from rules.reasons import Reason

    return tuple(Reason(i["code"], i["params"]) for i in items)


@bp.post("/new")
@require(*BOOKERS)
def booking_create() -> Any:
    return _submit(None)


@bp.get("/<id:trip_id>")
@require(*READERS)
def booking_detail(trip_id: int) -> Any:
    principal = _principal()
    session = get_session()
    trip = service.get_trip(session, principal, trip_id)
    findings = service.current_findings(session, principal, trip)
    return render_template(
        "bookings/detail.html", trip=trip, vehicle=session.get(Vehicle, trip.vehicle_id),
        trailer=session.get(Vehicle, trip.trailer_id) if trip.trailer_id else None,
        driver=session.get(Person, trip.driver_id) if trip.driver_id else None,
        escort=session.get(Person, trip.escort_id) if trip.escort_id else None,
        plant=session.get(Plant, trip.plant_id),
        enterprise=session.get(Enterprise, trip.enterprise_id),
        findings=service.findings_out(findings) if findings is not None else None,
        events=events_for_trip(session, trip.id),
        can_edit=trip.state in service.AMENDABLE and principal.has(*BOOKERS),
        can_review=trip.state == "PENDING_APPROVAL" and principal.has(Role.ADMIN),
        pass_usable=pass_usable(trip.state))


@bp.get("/<id:trip_id>/edit")
@require(*BOOKERS)
def booking_edit(trip_id: int) -> Any:
    session = get_session()
    trip = service.get_trip(session, _principal(), trip_id)
    return _render_form(forms.values_of(session, service.request_of(trip)), {}, None, trip)


@bp.post("/<id:trip_id>/edit")
@require(*BOOKERS)
def booking_update(trip_id: int) -> Any:
    return _submit(service.get_trip(get_session(), _principal(), trip_id))


@bp.post("/<id:trip_id>/review")
@require(Role.ADMIN)
def booking_review(trip_id: int) -> Any:
    approve = request.form.get("decision") == "approve"
    try:
        service.review(get_uow(), _principal(), trip_id, approve=approve,
                       reason=request.form.get("reason"))
    except DomainError as exc:
        flash(_message(exc), "error")
    else:
        flash(gettext("Approved.") if approve else gettext("Rejected."))
    return redirect(url_for("bookings.booking_detail", trip_id=trip_id))


@bp.post("/<id:trip_id>/cancel")
@require(*BOOKERS)
def booking_cancel(trip_id: int) -> Any:
    try:
        service.cancel(get_uow(), _principal(), trip_id, request.form.get("reason"))
    except DomainError as exc:
        flash(_message(exc), "error")
    else:
        flash(gettext("Cancelled."))
    return redirect(url_for("bookings.booking_detail", trip_id=trip_id))


def pass_usable(state: str) -> bool:
    """A pass gets a truck in only while its booking is approved and not over: awaiting
    approval, rejected, cancelled, no-show and closed bookings get no QR code."""
    from trips.state_machine import OPEN_STATES, TripState

    return state in OPEN_STATES and state != TripState.PENDING_APPROVAL


def qr_svg(code: str) -> Markup:
    import segno

    out = io.BytesIO()
    # The four-module quiet zone ISO/IEC 18004 asks for, whatever the code is printed
    # or shown beside.
    segno.make_qr(code, error="m").save(out, kind="svg", scale=6, border=4, xmldecl=False,
                                        svgns=True, omitsize=False)
    # segno's own SVG of a code we issued: no user markup in it.
    return Markup(out.getvalue().decode())  # noqa: S704  # nosec B704


@bp.get("/<id:trip_id>/pass")
@require(*READERS)
def booking_pass(trip_id: int) -> Any:
    session = get_session()
    trip = service.get_trip(session, _principal(), trip_id)
    usable = pass_usable(trip.state)
    return render_template(
        "bookings/pass.html", trip=trip, qr=qr_svg(trip.code) if usable else None,
        usable=usable,
        vehicle=session.get(Vehicle, trip.vehicle_id),
        trailer=session.get(Vehicle, trip.trailer_id) if trip.trailer_id else None,
        driver=session.get(Person, trip.driver_id) if trip.driver_id else None,
        escort=session.get(Person, trip.escort_id) if trip.escort_id else None,
        plant=session.get(Plant, trip.plant_id),
        enterprise=session.get(Enterprise, trip.enterprise_id))


# --- look-ups the form makes as you type (htmx) -------------------------------------------------

@bp.get("/lookup/vehicle")
@require(*BOOKERS)
def lookup_vehicle() -> Any:
    prefix = "trailer" if request.args.get("role") == "trailer" else "vehicle"
    plate = request.args.get(f"{prefix}_plate", "")
    found = forms.find_vehicle(get_session(), plate, request.args.get(f"{prefix}_colour") or None,
                               _principal())
    return render_template("bookings/_vehicle.html", vehicles=found, plate=plate[:20],
                           plate_valid=validate(plate).valid, today=park_date(clock.now()))


@bp.get("/lookup/person")
@require(*BOOKERS)
def lookup_person() -> Any:
    name = "escort" if request.args.get("role") == "escort" else "driver"
    session = get_session()
    found = forms.find_person(session, request.args.get(name, ""), _principal())
    return render_template("bookings/_person.html",
                           people=[(p, forms.qualifications_of(session, p)) for p in found],
                           today=park_date(clock.now()))


@bp.get("/lookup/material")
@require(*BOOKERS)
def lookup_material() -> Any:
    row = next((k for k in request.args if k.startswith("cargo-") and k.endswith("-un")), "")
    raw = request.args.get(row, "")
    try:
        un = normalise_un(raw)
    except ValueError:
        return render_template("bookings/_material.html", material=None, raw=raw)
    material = get_session().scalar(select(Material).where(
        Material.un_number == un, Material.retired_at.is_(None)).order_by(Material.id).limit(1))
    return render_template("bookings/_material.html", material=material, raw=raw)


def init_app(app: Any) -> None:
    app.register_blueprint(bp)
    register_nav("bookings.booking_list", N_("Bookings"), READERS, order=30)
    register_landing(Role.ENTERPRISE, "bookings.booking_list")


@bp.route("/import", methods=["GET", "POST"])
@require(*BOOKERS)
def booking_import() -> Any:
    from registry.imports import uploaded_rows

    from .imports import COLUMNS, import_bookings

    report = None
    status = 200
    if request.method == "POST":
        request.max_content_length = IMPORT_MAX_BYTES
        try:
            _, rows = uploaded_rows(request.files.get("file"))
            report = import_bookings(get_uow(), _principal(), rows,
                                     dry_run=request.form.get("dry_run") == "on")
            status = 200 if report.ok else 422
        except DomainError as exc:
            flash(_message(exc) if not exc.fields else
                  next(iter(translate_fields(exc.fields).values()))[0], "error")
            status = exc.status
    return render_template("bookings/import.html", report=report, columns=COLUMNS), status
