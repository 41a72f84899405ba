"""The booth console: one page per lane, live, for the gate operator.

The page subscribes to its lane's events; each event makes htmx fetch the current
passage and the feed again, so a dropped event only delays the screen, and a
reconnect brings it back to what the database says.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from apiflask import APIBlueprint
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext
from sqlalchemy import select

from auth.access import current_principal, require
from auth.roles import Role
from kernel import clock
from kernel.errors import N_, DomainError
from models import Gate, Lane, Passage, Person, Plant, Qualification, Trip, User, Vehicle
from parkgate.database import get_session, get_uow
from parkgate.web import register_landing, register_nav
from registry import read_model
from registry.checks import credential_message
from rules import documents
from rules.identity import credential_problem
from rules.plates import PlateColour

from . import repository as repo
from . import roster as roster_mod
from .api import runtime
from .service import (
    ReadRequest,
    confirm_crew,
    enter_plate,
    enter_trailer,
    override,
    process_person,
    process_read_once,
    typed_plate,
)

bp = APIBlueprint("booth", __name__, enable_openapi=False)

BOOTH_ROLES = (Role.ADMIN, Role.GATE_OPERATOR)
ROSTER_ROLES = (Role.ADMIN, Role.GATE_OPERATOR, Role.DISPATCHER, Role.AUDITOR)


def _lane_or_404(code: str) -> Lane:
    return repo.lane_by_code(get_session(), code[:32])


@bp.get("/booth")
@require(*BOOTH_ROLES)
def booth_index() -> Any:
    session = get_session()
    gates = list(session.scalars(select(Gate).where(Gate.retired_at.is_(None))
                                 .order_by(Gate.kind, Gate.code)))
    return render_template("gate/index.html", gates=gates)


def _selected() -> int | None:
    """The passage the operator opened (?passage=), if any."""
    value = request.args.get("passage", "")
    return int(value) if value.isdigit() and 0 < int(value) < 2_147_483_647 else None


def _silent_at(lane: Lane) -> list[Any]:
    from .cameras import silent

    return [s for s in silent(get_session(), clock.now()) if s.lane_id == lane.id]


@bp.get("/booth/<lane_code>")
@require(*BOOTH_ROLES)
def booth(lane_code: str) -> Any:
    return _booth_page(lane_code, {})


def _booth_page(lane_code: str, typed: dict[str, str]) -> str:
    lane = _lane_or_404(lane_code)
    return render_template("gate/booth.html", lane=lane, colours=[c.value for c in PlateColour],
                           silent_cameras=_silent_at(lane), selected=_selected(), typed=typed)


@bp.get("/booth/<lane_code>/silent-cameras")
@require(*BOOTH_ROLES)
def booth_silent_cameras(lane_code: str) -> Any:
    """The lane's silent cameras, asked again every minute by an open booth: a page
    left open all night learns when its camera stops."""
    lane = _lane_or_404(lane_code)
    return render_template("gate/_silent_cameras.html", silent_cameras=_silent_at(lane))


# Categories whose vehicles carry the road-transport papers (permit, review, carrier
# insurance); other vehicles show only the papers on record.
PAPERS_REQUIRED = frozenset({"hazmat", "hazwaste"})


def _docs(vehicle: Vehicle | None, today: date, warn: int) -> list[dict[str, Any]]:
    if vehicle is None:
        return []
    from registry.resources import VEHICLES

    out = []
    for spec in VEHICLES.document_fields:
        value = getattr(vehicle, spec.name)
        if value is None and (vehicle.category not in PAPERS_REQUIRED or (
                spec.name == "tank_inspection_expires_on" and not vehicle.is_tank)):
            continue
        out.append({"label": spec.label, "date": value,
                    "status": documents.status(value, today, warn).value})
    return out


def _crew(trip: Trip | None, today: date, warn: int) -> list[dict[str, Any]]:
    if trip is None:
        return []
    session = get_session()
    out = []
    for role, pid in (("driver", trip.driver_id), ("escort", trip.escort_id)):
        if pid is None:
            continue
        person = session.get(Person, pid)
        quals = session.scalars(select(Qualification).where(
            Qualification.person_id == pid, Qualification.retired_at.is_(None)))
        out.append({"role": role, "person": person,
                    "quals": [{"q": q, "status": documents.status(q.expires_on, today,
                                                                  warn).value} for q in quals]})
    return out


@bp.get("/booth/<lane_code>/booking")
@require(*BOOTH_ROLES)
def booth_booking(lane_code: str) -> Any:
    """The trip behind a driver's pass: its code typed, or scanned by a reader that types."""
    from booking.service import current_findings, findings_out, trip_by_code

    from .messages import word
    from .service import lane_would_decide

    lane = _lane_or_404(lane_code)
    code = (request.args.get("code") or "").strip()
    session = get_session()
    principal = current_principal()
    assert principal is not None
    trip = vehicle = trailer = plant = findings = verdict = None
    if code:
        try:
            trip = trip_by_code(session, principal, code)
        except DomainError:
            trip = None
    if trip is not None:
        vehicle = session.get(Vehicle, trip.vehicle_id)
        trailer = session.get(Vehicle, trip.trailer_id) if trip.trailer_id else None
        plant = session.get(Plant, trip.plant_id)
        # The booking's checks as they stand now (a permit may have lapsed since it was
        # booked): what the operator tells the driver before the barrier says it.
        found = current_findings(session, principal, trip)
        findings = findings_out(found) if found is not None else None
        # And what this lane's engine would answer now: a window that has passed, the
        # wrong gate, a lapsed permit, before the barrier says so.
        if vehicle is not None:
            would = lane_would_decide(session, runtime().lane(session, lane.code),
                                      vehicle.plate, vehicle.plate_colour,
                                      trailer.plate if trailer else None, runtime(), clock.now())
            verdict = {"action": would.action, "reasons": word(would).reasons}
    today = documents.park_date(clock.now())
    return render_template("gate/_booking.html", code=code, trip=trip, vehicle=vehicle,
                           trailer=trailer, plant=plant, crew=_crew(trip, today, 7),
                           findings=findings, verdict=verdict, lane=lane)


@bp.get("/booth/<lane_code>/current")
@require(*BOOTH_ROLES)
def booth_current(lane_code: str) -> Any:
    """The passage the operator opened, or (live) the lane's newest read."""
    from .pending import replaced_by

    session = get_session()
    lane = _lane_or_404(lane_code)
    selected = _selected()
    passage = session.get(Passage, selected) if selected else None
    newest = session.scalar(select(Passage).where(Passage.lane_id == lane.id,
                                                  Passage.source != "crew")
                            .order_by(Passage.id.desc()).limit(1))
    if passage is None or passage.lane_id != lane.id:
        selected = None
        passage = newest
    # An operator looking at one passage (their own check, a hold they opened) is told
    # when a newer vehicle has come, instead of the screen staying on the old one.
    newer = newest if selected and passage is not None and newest is not None \
        and newest.id > passage.id else None
    today = documents.park_date(clock.now())
    warn = read_model.park_policy(session, lane.gate.park_id).expiry_warning_days
    vehicle = session.get(Vehicle, passage.vehicle_id) if passage and passage.vehicle_id else None
    trip = session.get(Trip, passage.trip_id) if passage and passage.trip_id else None
    trailer = session.get(Vehicle, trip.trailer_id) if trip and trip.trailer_id else None
    plant = session.get(Plant, trip.plant_id) if trip else None
    person = session.get(Person, passage.person_id) if passage and passage.person_id else None
    by = session.get(User, passage.override_by_id) if passage and passage.override_by_id else None
    resolver = session.get(User, passage.resolved_by_id) \
        if passage and passage.resolved_by_id else None
    completed_by = _completed_by(passage) if passage and passage.resolution == "completed" \
        else None
    later = replaced_by(session, passage) if passage and passage.action == "HOLD_FOR_OPERATOR" \
        and passage.resolved_at is None and passage.override_action is None else None
    return render_template(
        "gate/_current.html", lane=lane, passage=passage, vehicle=vehicle, trip=trip,
        trailer=trailer, plant=plant, person=person, override_by=by, resolved_by=resolver,
        completed_by=completed_by, replaced_by=later, selected=selected, newer=newer,
        docs=_docs(vehicle, today, warn), trailer_docs=_docs(trailer, today, warn),
        crew=_crew(trip, today, warn),
        codes=[r["code"] for r in (passage.reasons if passage else [])])


def _completed_by(held: Passage) -> Passage | None:
    """The passage an operator's check made out of a hold (its read id names the hold)."""
    from models import PassageRead

    row = get_session().scalar(select(PassageRead).where(
        PassageRead.lane_id == held.lane_id, PassageRead.read_id.like(f"{held.id}:%"))
        .order_by(PassageRead.passage_id).limit(1))
    return get_session().get(Passage, row.passage_id) if row else None


def _persons_of(passages: list[Passage]) -> dict[int, Person]:
    ids = {p.person_id for p in passages if p.person_id}
    if not ids:
        return {}
    return {p.id: p for p in get_session().scalars(select(Person).where(Person.id.in_(ids)))}


@bp.get("/booth/<lane_code>/pending")
@require(*BOOTH_ROLES)
def booth_pending(lane_code: str) -> Any:
    from .pending import pending

    lane = _lane_or_404(lane_code)
    holds = pending(get_session(), lane.id)
    return render_template("gate/_pending.html", lane=lane, holds=holds,
                           persons=_persons_of(holds))


@bp.get("/booth/<lane_code>/feed")
@require(*BOOTH_ROLES)
def booth_feed(lane_code: str) -> Any:
    session = get_session()
    lane = _lane_or_404(lane_code)
    rows = list(session.scalars(select(Passage).where(Passage.lane_id == lane.id)
                                .order_by(Passage.id.desc()).limit(20)))
    return render_template("gate/_feed.html", lane=lane, passages=rows,
                           persons=_persons_of(rows))


def _back(lane_code: str, passage_id: int | None = None) -> Any:
    """Back to the booth, showing the passage just dealt with (or live)."""
    return redirect(url_for("booth.booth", lane_code=lane_code, passage=passage_id))


# The booth's form fields an operator types, shown again when a form is refused.
TYPED_FIELDS = ("plate", "plate_colour", "trailer_plate", "crew_ids", "credential")


def _refused_form(lane_code: str, form: str) -> Any:
    """The booth again with the refused `form` (manual | person) still filled in: at
    3 a.m. the operator fixes the one wrong character, not the whole form. Rendered in
    this response, not kept for a redirect: the session is a cookie, and crew IDs are
    personal data, which is also why no cache may keep the page."""
    typed = {name: (request.form.get(name) or "")[:100] for name in TYPED_FIELDS}
    return _booth_page(lane_code, {**typed, "form": form}), 422, {"Cache-Control": "no-store"}


@bp.get("/booth/<lane_code>/manual")
@bp.get("/booth/<lane_code>/person")
@require(*BOOTH_ROLES)
def booth_form_address(lane_code: str) -> Any:
    """A refused form's page is answered at the form's address; reloading it, or
    switching language there, is the booth again."""
    return redirect(url_for("booth.booth", lane_code=lane_code,
                            lang=request.args.get("lang"), passage=request.args.get("passage")))


# The booth's form fields by the labels it shows them under, for a message about one.
BOOTH_FIELDS = {"plate": N_("Plate"), "trailer_plate": N_("Trailer plate"),
                "reason": N_("Reason"), "crew_ids": N_("Crew ID numbers (space separated)")}


def _flash_error(exc: DomainError) -> None:
    """The error and, for each field it names, the field by its label: "必填。" alone
    does not say which box."""
    from parkgate.problems import error_text, translate_fields

    main = error_text(exc)
    parts = [f"{gettext(BOOTH_FIELDS[name])}: {message}" if name in BOOTH_FIELDS else message
             for name, messages in translate_fields(exc.fields or {}).items()
             for message in messages]
    flash(" ".join(part for part in (main, *parts) if part), "error")


@bp.post("/booth/<lane_code>/manual")
@require(*BOOTH_ROLES)
def booth_manual(lane_code: str) -> Any:
    """The camera failed: the operator types the plate (G06 records who)."""
    plate = (request.form.get("plate") or "").strip()[:20]
    colour = request.form.get("plate_colour") or None
    if colour not in {c.value for c in PlateColour}:
        colour = None
    if not plate:
        flash(gettext("Enter a plate."), "error")
        return _refused_form(lane_code, "manual")
    trailer = (request.form.get("trailer_plate") or "").strip()[:20]
    try:
        plate = typed_plate(plate).text
        trailer = typed_plate(trailer, "trailer_plate").text if trailer else ""
    except DomainError as exc:
        _flash_error(exc)
        return _refused_form(lane_code, "manual")
    crew = (request.form.get("crew_ids") or "").split()[:6]
    for shown in crew:
        # A typo here would read as "crew not shown" (G13): the operator fixes it now.
        problem = credential_problem(shown)
        if problem is not None:
            flash(f"{gettext(BOOTH_FIELDS['crew_ids'])}: {shown[:32]} — "
                  f"{gettext(credential_message(problem))}", "error")
            return _refused_form(lane_code, "manual")
    req = ReadRequest(lane=lane_code[:32], read_id=f"manual-{uuid.uuid4().hex}", plate=plate,
                      colour=colour, confidence=1.0, seen_at=clock.now(),
                      trailer_plate=trailer or None, crew_ids=crew, source="manual")
    try:
        result = process_read_once(get_uow(), current_principal(), req, runtime())
    except DomainError as exc:
        _flash_error(exc)
        return _refused_form(lane_code, "manual")
    # The operator's own check stays on screen: the live view would show the camera's
    # next read within a second.
    return _back(lane_code, result.passage.id)


@bp.post("/booth/<lane_code>/person")
@require(*BOOTH_ROLES)
def booth_person(lane_code: str) -> Any:
    credential = (request.form.get("credential") or "").strip()[:64]
    if not credential:
        flash(gettext("Enter an ID or certificate number."), "error")
        return _refused_form(lane_code, "person")
    try:
        result = process_person(get_uow(), current_principal(), lane_code[:32], credential,
                                runtime(), read_id=f"booth-{uuid.uuid4().hex}")
    except DomainError as exc:
        _flash_error(exc)
        return _refused_form(lane_code, "person")
    return _back(lane_code, result.passage.id)


@bp.post("/booth/<lane_code>/passages/<id:passage_id>/override")
@require(*BOOTH_ROLES)
def booth_override(lane_code: str, passage_id: int) -> Any:
    action = request.form.get("action", "")
    reason = (request.form.get("reason") or "").strip()
    try:
        override(get_uow(), current_principal(), passage_id, action, reason, runtime())
    except DomainError as exc:
        _flash_error(exc)
    else:
        flash(gettext("Recorded: %(action)s.", action=gettext("Open") if action == "OPEN"
                      else gettext("Deny")))
    return _back(lane_code, passage_id)


@bp.post("/booth/<lane_code>/passages/<id:passage_id>/confirm-crew")
@require(*BOOTH_ROLES)
def booth_confirm_crew(lane_code: str, passage_id: int) -> Any:
    try:
        result = confirm_crew(get_uow(), current_principal(), passage_id, runtime())
    except DomainError as exc:
        _flash_error(exc)
        return _back(lane_code, passage_id)
    return _back(lane_code, result.passage.id)


@bp.post("/booth/<lane_code>/passages/<id:passage_id>/trailer")
@require(*BOOTH_ROLES)
def booth_trailer(lane_code: str, passage_id: int) -> Any:
    """The camera missed the trailer: the operator types its plate (G18)."""
    try:
        result = enter_trailer(get_uow(), current_principal(), passage_id,
                               (request.form.get("trailer_plate") or "").strip()[:20], runtime())
    except DomainError as exc:
        _flash_error(exc)
        return _back(lane_code, passage_id)
    return _back(lane_code, result.passage.id)


@bp.post("/booth/<lane_code>/passages/<id:passage_id>/plate")
@require(*BOOTH_ROLES)
def booth_plate(lane_code: str, passage_id: int) -> Any:
    """The camera read no plate (G06), or read it unsurely (G08): the operator reads it
    off the vehicle, and it is decided on again."""
    trailer = (request.form.get("trailer_plate") or "").strip()[:20] or None
    try:
        result = enter_plate(get_uow(), current_principal(), passage_id,
                             (request.form.get("plate") or "").strip()[:20], None, runtime(),
                             trailer_plate=trailer)
    except DomainError as exc:
        _flash_error(exc)
        return _back(lane_code, passage_id)
    return _back(lane_code, result.passage.id)


@bp.get("/roster")
@require(*ROSTER_ROLES)
def roster_page() -> Any:
    return render_template("gate/roster.html", roster=roster_mod.build(get_session()),
                           now=clock.now())


def init_app(app: Any) -> None:
    app.register_blueprint(bp)
    register_nav("booth.booth_index", N_("Booth"), BOOTH_ROLES, order=10)
    register_nav("booth.roster_page", N_("Who is inside"), ROSTER_ROLES, order=70)
    register_landing(Role.GATE_OPERATOR, "booth.booth_index")
