"""JSON API of the hazmat lot: the board, check-in by the dispatcher, the dispatcher's
actions on a trip, docks freed or busy, unloading started and ended, alarms
acknowledged, KPIs."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, Literal

from apiflask import APIBlueprint
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from auth.access import current_principal, require
from auth.roles import Role
from kernel import clock
from kernel.errors import N_, NotFound
from models import Dock, Park, Trip
from parkgate.database import get_session, get_uow
from parkgate.i18n import select_locale
from parkgate.types import ParkDate, RecordId
from rules.documents import park_date

from . import board as board_mod
from . import service

bp = APIBlueprint("lot_api", __name__, url_prefix="/api/v1", tag="Hazmat lot")

LOT_STAFF = (Role.ADMIN, Role.DISPATCHER)
BOARD_READERS = (*LOT_STAFF, Role.AUDITOR, Role.GATE_OPERATOR)


class ReasonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=500)


class ReorderIn(ReasonIn):
    position: int = Field(ge=1, le=10_000, description="1 = released next")


class ReadinessIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ready: bool
    note: str | None = Field(default=None, max_length=200,
                             description="Why not ready, e.g. a quality hold")


class CheckInIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str | None = Field(default=None, max_length=32, description="Booking code")
    trip_id: RecordId | None = None


class UnloadingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    event: Literal["start", "end"] = Field(
        description="start: the truck at the dock began unloading; end: it is done (the "
                    "dock frees for the truck called forward to it, or the plant's next)")


class KpiQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    day: ParkDate | None = None


def _principal() -> Any:
    principal = current_principal()
    assert principal is not None
    return principal


def _park_id() -> int:
    park = get_session().scalar(select(Park.id).order_by(Park.id).limit(1))
    if park is None:
        raise NotFound(N_("This park has no hazmat lot."), code="LOT_UNKNOWN")
    return park


@bp.get("/lot")
@require(*BOARD_READERS, Role.PLANT_RECEIVER)
@bp.doc(summary="The lot board: zones and bays, queues per plant, docks, alarms",
        description="A plant receiver sees its own plant only, as on its page.")
def lot_board() -> Any:
    return board_mod.build(get_session(), _park_id(), clock.now(),
                           plant_id=board_mod.plant_scope(_principal())).as_dict(select_locale())


@bp.post("/lot/check-ins")
@require(*LOT_STAFF)
@bp.input(CheckInIn, location="json", arg_name="body")
@bp.doc(summary="Check a trip in to the lot by hand (the lot lane does it on a read)",
        responses=[404, 409])
def lot_check_in(body: CheckInIn) -> Any:
    trip, result = service.check_in_by_hand(get_uow(), _principal(), code=body.code,
                                            trip_id=body.trip_id)
    placed = result.placement
    return {"trip_id": trip.id, "state": trip.state, "status": result.entry.status,
            "zone": placed.zone_code if placed else None,
            "bay": placed.bay_code if placed else None}, 201 if placed else 202


def _trip_out(trip: Trip) -> dict[str, Any]:
    return {"trip_id": trip.id, "code": trip.code, "state": trip.state}


@bp.post("/lot/trips/<id:trip_id>/hold")
@require(*LOT_STAFF)
@bp.input(ReasonIn, location="json", arg_name="body")
@bp.doc(summary="Hold a waiting trip (it keeps its place, is not released)")
def lot_hold(trip_id: int, body: ReasonIn) -> Any:
    uow = get_uow()
    entry = service.hold(uow, _principal().actor, trip_id, body.reason, held=True)
    return {"trip_id": trip_id, "status": entry.status}


@bp.post("/lot/trips/<id:trip_id>/unhold")
@require(*LOT_STAFF)
@bp.input(ReasonIn, location="json", arg_name="body")
@bp.doc(summary="Let a held trip wait for its turn again")
def lot_unhold(trip_id: int, body: ReasonIn) -> Any:
    uow = get_uow()
    entry = service.hold(uow, _principal().actor, trip_id, body.reason, held=False)
    return {"trip_id": trip_id, "status": entry.status}


@bp.post("/lot/trips/<id:trip_id>/release")
@require(*LOT_STAFF)
@bp.input(ReasonIn, location="json", arg_name="body")
@bp.doc(summary="Release this trip now, ahead of its turn (needs a free dock)",
        responses=[409])
def lot_release(trip_id: int, body: ReasonIn) -> Any:
    uow = get_uow()
    release = service.release_now(uow, _principal().actor, trip_id, body.reason)
    return {"trip_id": trip_id, "deadline": release.deadline.isoformat(),
            "dock_id": release.dock_id}


@bp.post("/lot/trips/<id:trip_id>/reorder")
@require(*LOT_STAFF)
@bp.input(ReorderIn, location="json", arg_name="body")
@bp.doc(summary="Move a trip to a position in its plant's queue")
def lot_reorder(trip_id: int, body: ReorderIn) -> Any:
    uow = get_uow()
    order = service.reorder(uow, _principal().actor, trip_id, body.position, body.reason)
    return {"order": order}


@bp.post("/lot/trips/<id:trip_id>/send-away")
@require(*LOT_STAFF)
@bp.input(ReasonIn, location="json", arg_name="body")
@bp.doc(summary="Send a trip away from the lot")
def lot_send_away(trip_id: int, body: ReasonIn) -> Any:
    uow = get_uow()
    trip = service.send_away(uow, _principal().actor, trip_id, body.reason)
    return _trip_out(trip)


@bp.post("/lot/trips/<id:trip_id>/requeue")
@require(*LOT_STAFF)
@bp.input(ReasonIn, location="json", arg_name="body")
@bp.doc(summary="A released trip that missed its deadline waits again")
def lot_requeue(trip_id: int, body: ReasonIn) -> Any:
    uow = get_uow()
    trip = service.requeue(uow, _principal().actor, trip_id, body.reason)
    return _trip_out(trip)


def _dock_for(principal: Any, dock_id: int) -> Dock:
    dock = get_session().get(Dock, dock_id)
    if dock is None:
        raise NotFound(N_("No such dock."), code="DOCK_UNKNOWN")
    if principal.has(Role.ADMIN, Role.DISPATCHER):
        return dock
    if principal.plant_id != dock.plant_id:
        # Another plant's dock answers like a missing one: ids cannot be probed.
        raise NotFound(N_("No such dock."), code="DOCK_UNKNOWN")
    return dock


def plant_for(principal: Any, plant_id: int) -> int:
    """A plant the principal may set the readiness of: lot staff any, a receiver its own
    (another plant answers like a missing one)."""
    if not principal.has(Role.ADMIN, Role.DISPATCHER) and principal.plant_id != plant_id:
        raise NotFound(N_("No such plant."))
    return plant_id


@bp.post("/plants/<id:plant_id>/readiness")
@require(*LOT_STAFF, Role.PLANT_RECEIVER)
@bp.input(ReadinessIn, location="json", arg_name="body")
@bp.doc(summary="A plant is ready to receive, or not (L06): nothing is released to a plant "
                "that is not ready, free docks or not", responses=[404, 422])
def plant_readiness(plant_id: int, body: ReadinessIn) -> Any:
    principal = _principal()
    uow = get_uow()
    plant = service.set_readiness(uow, principal.actor, plant_for(principal, plant_id),
                                  ready=body.ready, note=body.note, now=clock.now())
    return {"plant_id": plant.id, "ready": plant.ready, "note": plant.ready_note,
            "changed_at": plant.ready_changed_at}


@bp.post("/docks/<id:dock_id>/free")
@require(*LOT_STAFF, Role.PLANT_RECEIVER)
@bp.doc(summary="A dock is free: the plant's next truck is released (or proposed)")
def dock_free(dock_id: int) -> Any:
    principal = _principal()
    _dock_for(principal, dock_id)
    uow = get_uow()
    release = service.mark_dock(uow, principal.actor, dock_id, busy=False)
    return {"dock_id": dock_id, "busy": False,
            "released_trip_id": release.trip_id if release else None}


@bp.post("/docks/<id:dock_id>/busy")
@require(*LOT_STAFF, Role.PLANT_RECEIVER)
@bp.doc(summary="A dock is busy (out of use): no truck is released to it")
def dock_busy(dock_id: int) -> Any:
    principal = _principal()
    _dock_for(principal, dock_id)
    uow = get_uow()
    service.mark_dock(uow, principal.actor, dock_id, busy=True)
    return {"dock_id": dock_id, "busy": True}


@bp.post("/docks/<id:dock_id>/unloading")
@require(*LOT_STAFF, Role.PLANT_RECEIVER)
@bp.input(UnloadingIn, arg_name="body")
@bp.doc(summary="Unloading at a dock started or ended",
        description="What call-forward learns unloading times from, and what frees a dock "
                    "before the truck has left the plant.", responses=[404, 409, 422])
def dock_unloading(dock_id: int, body: UnloadingIn) -> Any:
    principal = _principal()
    _dock_for(principal, dock_id)
    uow = get_uow()
    release = service.report_dock_unloading(uow, principal.actor, dock_id, event=body.event)
    return {"dock_id": dock_id, "event": body.event,
            "released_trip_id": release.trip_id if release else None}


@bp.post("/alarms/<id:alarm_id>/acknowledge")
@require(*LOT_STAFF, Role.GATE_OPERATOR)
@bp.doc(summary="Acknowledge an alarm")
def alarm_ack(alarm_id: int) -> Any:
    principal = _principal()
    uow = get_uow()
    alarm = service.acknowledge(uow, principal.actor, alarm_id, principal.user_ref)
    return {"id": alarm.id, "acknowledged_at": alarm.acknowledged_at.isoformat()
            if alarm.acknowledged_at else None}


@bp.get("/lot/kpis")
@require(*BOARD_READERS)
@bp.input(KpiQuery, location="query", arg_name="query")
@bp.doc(summary="Per plant and park day: lot wait (mean, p90), release-to-arrival, dock "
                "utilisation, no-shows")
def lot_kpis(query: KpiQuery) -> Any:
    day = query.day or park_date(clock.now())
    return {"day": day.isoformat(), "plants": [
        {"name": name, **asdict(item)} for name, item in board_mod.kpis_for_day(
            get_session(), day)]}


def init_app(app: Any) -> None:
    app.register_blueprint(bp)
