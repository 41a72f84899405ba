"""The dispatcher board: the lot map, queues per plant, docks, alarms and the day's
figures, live over server-sent events, with the dispatcher's actions on each truck."""

from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext

from auth.access import current_principal, require
from auth.roles import Role
from kernel import clock
from kernel.errors import N_, DomainError
from parkgate.database import get_session, get_uow
from parkgate.i18n import select_locale
from parkgate.problems import error_text
from parkgate.sse import may_listen
from parkgate.web import register_landing, register_nav
from rules.documents import park_date

from . import board as board_mod
from . import service
from .alarms import alarm_text
from .api import _park_id

bp = APIBlueprint("lot", __name__, url_prefix="/lot", enable_openapi=False)


@bp.app_template_filter("alarm_text")
def _alarm_text(alarm: Any) -> str:
    """An alarm's message in the reader's language."""
    return alarm_text(alarm, select_locale())

LOT_STAFF = (Role.ADMIN, Role.DISPATCHER)
READERS = (*LOT_STAFF, Role.AUDITOR, Role.GATE_OPERATOR, Role.PLANT_RECEIVER)
CLASS_COLOURS = {"1": "#e4572e", "2": "#4c9a2a", "3": "#d7263d", "4": "#f4a259", "5": "#f6c90e",
                 "6": "#8d6cab", "7": "#f2e94e", "8": "#2e4057", "9": "#7f8c8d"}


def _principal() -> Any:
    principal = current_principal()
    assert principal is not None
    return principal


def _context() -> dict[str, Any]:
    session = get_session()
    now = clock.now()
    principal = _principal()
    plant_scope = board_mod.plant_scope(principal)
    board = board_mod.build(session, _park_id(), now, plant_id=plant_scope)
    # The day's figures compare every plant: park staff only.
    figures = board_mod.kpis_for_day(session, park_date(now)) if plant_scope is None else None
    return {"board": board, "figures": figures, "colours": CLASS_COLOURS,
            "can_act": principal.has(*LOT_STAFF),
            "my_plant": principal.plant_id if principal.has(Role.PLANT_RECEIVER) else None,
            # Only streams this reader may hear: one refused would keep the page's
            # "live updates interrupted" banner up for good (an auditor and alarms).
            "live_channels": "lot,alarms" if plant_scope is None
            and may_listen(principal, "alarms") else "lot"}


@bp.get("")
@require(*READERS)
def board_page() -> Any:
    return render_template("lot/board.html", **_context())


@bp.get("/board")
@require(*READERS)
def board_partial() -> Any:
    return render_template("lot/_board.html", **_context())


def _done(message: str) -> Any:
    flash(message)
    return redirect(url_for("lot.board_page"))


def _failed(exc: DomainError) -> Any:
    flash(error_text(exc), "error")
    return redirect(url_for("lot.board_page"))


@bp.post("/trips/<id:trip_id>")
@require(*LOT_STAFF)
def trip_action(trip_id: int) -> Any:
    action = request.form.get("action", "")
    reason = request.form.get("reason")
    actor = _principal().actor
    uow = get_uow()
    try:
        if action in ("hold", "unhold"):
            service.hold(uow, actor, trip_id, reason, held=action == "hold")
        elif action == "release":
            service.release_now(uow, actor, trip_id, reason)
        elif action == "front":
            service.reorder(uow, actor, trip_id, 1, reason)
        elif action == "send_away":
            service.send_away(uow, actor, trip_id, reason)
        elif action == "requeue":
            service.requeue(uow, actor, trip_id, reason)
        else:
            return _done(gettext("Nothing done."))
    except DomainError as exc:
        return _failed(exc)
    return _done(gettext("Done."))


@bp.post("/docks/<id:dock_id>")
@require(*LOT_STAFF, Role.PLANT_RECEIVER)
def dock_action(dock_id: int) -> Any:
    from .api import _dock_for

    principal = _principal()
    busy = request.form.get("state") == "busy"
    uow = get_uow()
    try:
        _dock_for(principal, dock_id)
        service.mark_dock(uow, principal.actor, dock_id, busy=busy)
    except DomainError as exc:
        return _failed(exc)
    return _done(gettext("Dock marked busy.") if busy else gettext("Dock marked free."))


@bp.post("/docks/<id:dock_id>/unloading")
@require(*LOT_STAFF, Role.PLANT_RECEIVER)
def dock_unloading_action(dock_id: int) -> Any:
    from .api import _dock_for

    principal = _principal()
    event = request.form.get("event")
    if event not in ("start", "end"):
        return _failed(DomainError(N_("Say whether unloading started or ended."),
                                   code="UNLOADING_EVENT_REQUIRED"))
    uow = get_uow()
    try:
        _dock_for(principal, dock_id)
        service.report_dock_unloading(uow, principal.actor, dock_id, event=event)
    except DomainError as exc:
        return _failed(exc)
    return _done(gettext("Unloading started.") if event == "start" else
                 gettext("Unloading done; the dock is free for the next truck."))


@bp.post("/plants/<id:plant_id>/readiness")
@require(*LOT_STAFF, Role.PLANT_RECEIVER)
def readiness_action(plant_id: int) -> Any:
    from .api import plant_for

    principal = _principal()
    ready = request.form.get("ready") == "1"
    uow = get_uow()
    try:
        service.set_readiness(uow, principal.actor, plant_for(principal, plant_id), ready=ready,
                              note=request.form.get("note"), now=clock.now())
    except DomainError as exc:
        return _failed(exc)
    return _done(gettext("The plant is ready to receive.") if ready
                 else gettext("The plant is not ready: nothing is released to it."))


@bp.post("/check-in")
@require(*LOT_STAFF)
def check_in_page() -> Any:
    try:
        trip, result = service.check_in_by_hand(get_uow(), _principal(),
                                                code=request.form.get("code", ""))
    except DomainError as exc:
        return _failed(exc)
    if result.placement is None:
        return _done(gettext("No compatible bay: %(code)s waits at the entrance.", code=trip.code))
    return _done(gettext("%(code)s checked in: zone %(zone)s, bay %(bay)s.", code=trip.code,
                         zone=result.placement.zone_code, bay=result.placement.bay_code))


@bp.post("/alarms/<id:alarm_id>")
@require(*LOT_STAFF, Role.GATE_OPERATOR)
def alarm_action(alarm_id: int) -> Any:
    principal = _principal()
    uow = get_uow()
    try:
        service.acknowledge(uow, principal.actor, alarm_id, principal.user_ref)
    except DomainError as exc:
        return _failed(exc)
    return _done(gettext("Acknowledged."))


def init_app(app: Any) -> None:
    app.register_blueprint(bp)
    register_nav("lot.board_page", N_("Hazmat lot"), READERS, order=35)
    register_landing(Role.DISPATCHER, "lot.board_page")
    register_landing(Role.PLANT_RECEIVER, "lot.board_page")
