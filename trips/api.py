"""JSON API for trips: read one, move it through a transition."""

from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint

from auth.access import current_principal, require
from parkgate.database import get_session, get_uow

from .schemas import CargoLineOut, TransitionIn, TripOut
from .service import actions_for, get_trip, transition

bp = APIBlueprint("trips_api", __name__, url_prefix="/api/v1/trips", tag="Trips")


def trip_out(trip: Any, principal: Any) -> dict[str, Any]:
    return TripOut(
        id=trip.id, code=trip.code, state=trip.state, category=trip.category,
        direction=trip.direction, enterprise_id=trip.enterprise_id, plant_id=trip.plant_id,
        vehicle_id=trip.vehicle_id, trailer_id=trip.trailer_id, driver_id=trip.driver_id,
        escort_id=trip.escort_id, window_start=trip.window_start, window_end=trip.window_end,
        priority=trip.priority, state_reason=trip.state_reason,
        cargo=[CargoLineOut(un_number=c.un_number, name_zh=c.name_zh,
                            hazard_class=c.hazard_class, subsidiary_risks=c.subsidiary_risks,
                            quantity=c.quantity, unit=c.unit) for c in trip.cargo],
        allowed_actions=actions_for(principal, trip),
    ).model_dump(mode="json")


@bp.get("/<id:trip_id>")
@require()
@bp.output(TripOut)
@bp.doc(summary="One trip", responses=[404])
def read_trip(trip_id: int) -> Any:
    principal = current_principal()
    return trip_out(get_trip(get_session(), principal, trip_id), principal)


@bp.post("/<id:trip_id>/transitions")
@require()
@bp.input(TransitionIn, location="json", arg_name="body")
@bp.output(TripOut)
@bp.doc(summary="Move a trip through a state transition", responses=[403, 404, 409, 422])
def post_transition(trip_id: int, body: TransitionIn) -> Any:
    principal = current_principal()
    trip = transition(get_uow(), principal, trip_id, body.action, reason=body.reason,
                      override=body.override)
    return trip_out(trip, principal)


def init_app(app: Any) -> None:
    app.register_blueprint(bp)
