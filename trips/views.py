"""Trip pages: today's trips and one trip with its audit timeline."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from apiflask import APIBlueprint
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext
from sqlalchemy import select

from audit.service import events_for_trip
from auth.access import current_principal, require, scoped
from auth.roles import Role
from kernel import clock
from kernel.errors import N_, DomainError
from models import Enterprise, Plant, Trip, Vehicle
from parkgate.database import get_session, get_uow
from parkgate.problems import error_text
from parkgate.web import register_nav

from .service import actions_for, get_trip, transition

bp = APIBlueprint("trips", __name__, enable_openapi=False)

TRIP_PAGE_ROLES = (Role.ADMIN, Role.DISPATCHER, Role.GATE_OPERATOR, Role.ENTERPRISE,
                   Role.PLANT_RECEIVER, Role.AUDITOR)


@bp.get("/trips")
@require(*TRIP_PAGE_ROLES)
def trip_list() -> Any:
    principal = current_principal()
    assert principal is not None
    session = get_session()
    now = clock.now()
    stmt = (
        select(Trip, Vehicle.plate, Vehicle.plate_colour, Plant.name, Enterprise.name)
        .join(Vehicle, Vehicle.id == Trip.vehicle_id)
        .join(Plant, Plant.id == Trip.plant_id)
        .join(Enterprise, Enterprise.id == Trip.enterprise_id)
        .where(Trip.window_end >= now - timedelta(hours=12),
               Trip.window_start <= now + timedelta(hours=36))
        .order_by(Trip.window_start, Trip.id)
        .limit(500)
    )
    state = request.args.get("state")
    if state:
        stmt = stmt.where(Trip.state == state[:20])
    stmt = scoped(stmt, principal, Trip.enterprise_id)
    rows = session.execute(stmt).all()
    return render_template("trips/list.html", rows=rows, state=state)


@bp.get("/trips/<id:trip_id>")
@require(*TRIP_PAGE_ROLES)
def trip_detail(trip_id: int) -> Any:
    principal = current_principal()
    assert principal is not None
    session = get_session()
    trip = get_trip(session, principal, trip_id)
    vehicle = session.get(Vehicle, trip.vehicle_id)
    plant = session.get(Plant, trip.plant_id)
    return render_template("trips/detail.html", trip=trip, vehicle=vehicle, plant=plant,
                           actions=actions_for(principal, trip),
                           events=events_for_trip(session, trip.id))


@bp.post("/trips/<id:trip_id>/transitions")
@require(*TRIP_PAGE_ROLES)
def trip_transition(trip_id: int) -> Any:
    principal = current_principal()
    assert principal is not None
    action = (request.form.get("action") or "")[:32]
    reason = (request.form.get("reason") or "").strip()[:500] or None
    try:
        transition(get_uow(), principal, trip_id, action, reason=reason)
    except DomainError as exc:
        flash(error_text(exc), "error")
    else:
        flash(gettext("Done."))
    return redirect(url_for("trips.trip_detail", trip_id=trip_id))


def init_app(app: Any) -> None:
    app.register_blueprint(bp)
    register_nav("trips.trip_list", N_("Trips"), TRIP_PAGE_ROLES, order=40)
