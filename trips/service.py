"""Trip use cases reachable from the API and pages."""

from __future__ import annotations

from sqlalchemy.orm import Session

from auth.principal import Principal
from auth.roles import Role
from kernel import clock
from kernel.errors import N_, Forbidden, NotFound, ValidationFailed
from kernel.uow import UnitOfWork
from models import Trip
from registry.read_model import park_policy
from rules.policy import ParkPolicy

from . import state_machine as sm

# Actions people may take directly. Lot actions (check-in, release, requeue, send
# away) go through dispatch, which also moves bays, docks and release tokens.
ACTION_ROLES: dict[str, frozenset[str]] = {
    "approve": frozenset({Role.ADMIN}),
    "reject": frozenset({Role.ADMIN}),
    "cancel": frozenset({Role.ADMIN, Role.ENTERPRISE}),
    "mark_no_show": frozenset({Role.ADMIN, Role.DISPATCHER}),
    "arrive": frozenset({Role.ADMIN, Role.GATE_OPERATOR}),
    "enter_plant": frozenset({Role.ADMIN, Role.GATE_OPERATOR, Role.PLANT_RECEIVER}),
    "leave_plant": frozenset({Role.ADMIN, Role.GATE_OPERATOR, Role.PLANT_RECEIVER}),
    "exit_park": frozenset({Role.ADMIN, Role.GATE_OPERATOR}),
}


def get_trip(session: Session, principal: Principal, trip_id: int, *, for_update: bool = False
             ) -> Trip:
    trip = session.get(Trip, trip_id, with_for_update=for_update)
    if trip is None:
        raise NotFound(N_("No such trip."))
    if principal.enterprise_scoped and trip.enterprise_id != principal.enterprise_id:
        # Same answer as a missing trip: IDs of other enterprises cannot be probed.
        raise NotFound(N_("No such trip."))
    if Role.PLANT_RECEIVER in principal.roles and principal.plant_id and \
            not principal.has(Role.ADMIN) and trip.plant_id != principal.plant_id:
        raise NotFound(N_("No such trip."))
    return trip


def policy_for(session: Session, park_id: int) -> ParkPolicy:
    return park_policy(session, park_id)


def actions_for(principal: Principal, trip: Trip) -> list[str]:
    return [a for a in sm.allowed_actions(trip.state)
            if a in ACTION_ROLES and principal.has(*ACTION_ROLES[a])]


def transition(uow: UnitOfWork, principal: Principal, trip_id: int, action: str, *,
               reason: str | None = None, override: bool = False) -> Trip:
    if action not in sm.TRANSITIONS:
        raise ValidationFailed(N_("Unknown trip action %(action)s."), code="UNKNOWN_TRIP_ACTION",
                               params={"action": action}, fields={"action": ["unknown"]})
    trip = get_trip(uow.session, principal, trip_id, for_update=True)
    allowed = ACTION_ROLES.get(action)
    if allowed is None or not principal.has(*allowed):
        raise Forbidden(N_("Your role may not %(action)s a trip."), code="ACTION_NOT_PERMITTED",
                        params={"action": action})
    if override and not principal.has(Role.ADMIN, Role.GATE_OPERATOR):
        raise Forbidden(N_("Only an operator may override."), code="OVERRIDE_NOT_PERMITTED")
    ctx = sm.Context(now=clock.now(), grace=policy_for(uow.session, trip.park_id).arrival_grace,
                     reason=reason, override=override)
    sm.apply(uow, trip, action, principal.actor, ctx)  # the lot follows (dispatch.handlers)
    uow.publish(f"enterprise:{trip.enterprise_id}", "trip.state",
                {"trip_id": trip.id, "to": trip.state})
    uow.commit()
    return trip
