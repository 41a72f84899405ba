"""Trip states and the only legal ways between them.

`plan()` is pure: given the trip's facts, an action and the instant, it returns the
next state or raises. `apply()` performs a planned transition on a Trip record inside
a unit of work and records its audit event there, so the change and its audit event
commit or roll back together.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from kernel.errors import N_, DomainError


class TripState(StrEnum):
    PENDING_APPROVAL = "PENDING_APPROVAL"
    REJECTED = "REJECTED"
    BOOKED = "BOOKED"
    CANCELLED = "CANCELLED"
    NO_SHOW = "NO_SHOW"
    ARRIVED = "ARRIVED"
    IN_LOT = "IN_LOT"
    RELEASED = "RELEASED"
    OVERDUE = "OVERDUE"
    AT_PLANT = "AT_PLANT"
    LEAVING = "LEAVING"
    CLOSED = "CLOSED"
    SENT_AWAY = "SENT_AWAY"


S = TripState
TERMINAL = frozenset({S.REJECTED, S.CANCELLED, S.NO_SHOW, S.CLOSED, S.SENT_AWAY})
# States in which the trip holds its vehicle and crew (DOMAIN B03).
OPEN_STATES = frozenset(set(S) - TERMINAL)
LOT_CATEGORIES = frozenset({"hazmat", "hazwaste"})  # DOMAIN §9 G14: hazwaste goes through the lot


class TripFacts(Protocol):
    # Read-only members: a Trip record and the gate's TripView both fit.
    @property
    def state(self) -> str: ...

    @property
    def category(self) -> str: ...

    @property
    def window_start(self) -> datetime: ...

    @property
    def window_end(self) -> datetime: ...

    @property
    def release_deadline(self) -> datetime | None: ...


class IllegalTransition(DomainError):
    status = 409
    code = "TRIP_TRANSITION_NOT_ALLOWED"


class PreconditionFailed(DomainError):
    status = 409
    code = "TRIP_PRECONDITION_FAILED"


@dataclass(frozen=True)
class Context:
    now: datetime
    grace: timedelta = timedelta(minutes=30)
    reason: str | None = None
    override: bool = False  # an operator's explicit decision (e.g. late arrival at plant)


Check = Callable[[TripFacts, Context], tuple[str, str] | None]  # (code, msgid) on failure


def _in_window(trip: TripFacts, ctx: Context) -> tuple[str, str] | None:
    if ctx.override:
        return None
    if ctx.now < trip.window_start - ctx.grace:
        return ("TOO_EARLY", N_("The trip is not due yet: its window has not opened."))
    if ctx.now > trip.window_end + ctx.grace:
        return ("WINDOW_PASSED", N_("The trip's booked window has passed."))
    return None


def _window_passed(trip: TripFacts, ctx: Context) -> tuple[str, str] | None:
    if ctx.now <= trip.window_end + ctx.grace:
        return ("WINDOW_OPEN", N_("The booked window has not passed yet."))
    return None


def _goes_through_lot(trip: TripFacts, ctx: Context) -> tuple[str, str] | None:
    if trip.category not in LOT_CATEGORIES:
        return ("NOT_HAZMAT", N_("Only hazmat and hazardous-waste trips wait in the lot."))
    return _in_window(trip, ctx) if trip.state == S.BOOKED else None


def _deadline_passed(trip: TripFacts, ctx: Context) -> tuple[str, str] | None:
    if trip.release_deadline is None or ctx.now <= trip.release_deadline:
        return ("DEADLINE_NOT_PASSED", N_("The release deadline has not passed yet."))
    return None


def _may_enter_plant(trip: TripFacts, ctx: Context) -> tuple[str, str] | None:
    if trip.state == S.ARRIVED and trip.category in LOT_CATEGORIES:
        return ("MUST_WAIT_IN_LOT", N_("A hazmat trip enters its plant only after release."))
    if trip.state == S.OVERDUE and not ctx.override:
        return ("RELEASE_EXPIRED", N_("The release deadline has passed; an operator must decide."))
    return None


def _reason_required(_trip: TripFacts, ctx: Context) -> tuple[str, str] | None:
    if not (ctx.reason and ctx.reason.strip()):
        return ("REASON_REQUIRED", N_("This action needs a reason."))
    return None


def _all(*checks: Check) -> Check:
    def run(trip: TripFacts, ctx: Context) -> tuple[str, str] | None:
        for check in checks:
            failure = check(trip, ctx)
            if failure:
                return failure
        return None
    return run


@dataclass(frozen=True)
class Transition:
    action: str
    sources: frozenset[TripState]
    target: TripState
    check: Check | None = None
    stamp: str | None = None  # Trip attribute set to the transition instant


def _t(action: str, sources: set[TripState], target: TripState, check: Check | None = None,
       stamp: str | None = None) -> Transition:
    return Transition(action, frozenset(sources), target, check, stamp)


TRANSITIONS: dict[str, Transition] = {
    t.action: t
    for t in (
        _t("approve", {S.PENDING_APPROVAL}, S.BOOKED),
        _t("reject", {S.PENDING_APPROVAL}, S.REJECTED, _reason_required),
        _t("cancel", {S.PENDING_APPROVAL, S.BOOKED}, S.CANCELLED, _reason_required),
        # An edited booking is checked and approved again (auto-approval included).
        _t("amend", {S.PENDING_APPROVAL, S.BOOKED}, S.PENDING_APPROVAL),
        _t("mark_no_show", {S.BOOKED}, S.NO_SHOW, _window_passed),
        _t("arrive", {S.BOOKED}, S.ARRIVED, _in_window, "arrived_at"),
        _t("check_in_lot", {S.BOOKED, S.ARRIVED}, S.IN_LOT, _goes_through_lot,
           "lot_checked_in_at"),
        # From BOOKED or ARRIVED: a truck waiting at the lot's entrance for a bay (it may
        # have come to the lot gate without a perimeter read) whose turn at its plant
        # comes first goes straight on. Only dispatch releases, and only a trip it queued.
        _t("release", {S.BOOKED, S.ARRIVED, S.IN_LOT}, S.RELEASED, None, "released_at"),
        _t("mark_overdue", {S.RELEASED}, S.OVERDUE, _deadline_passed),
        _t("requeue", {S.RELEASED, S.OVERDUE}, S.IN_LOT, _reason_required),
        _t("send_away", {S.ARRIVED, S.IN_LOT, S.OVERDUE}, S.SENT_AWAY, _reason_required,
           "closed_at"),
        _t("enter_plant", {S.ARRIVED, S.RELEASED, S.OVERDUE}, S.AT_PLANT, _may_enter_plant,
           "plant_in_at"),
        _t("leave_plant", {S.AT_PLANT}, S.LEAVING, None, "plant_out_at"),
        _t("exit_park", {S.LEAVING}, S.CLOSED, None, "closed_at"),
    )
}


def allowed_actions(state: str) -> list[str]:
    return [a for a, t in TRANSITIONS.items() if state in t.sources]


def plan(trip: TripFacts, action: str, ctx: Context) -> TripState:
    transition = TRANSITIONS.get(action)
    if transition is None:
        raise IllegalTransition(N_("Unknown trip action %(action)s."), code="UNKNOWN_TRIP_ACTION",
                                params={"action": action})
    if trip.state not in transition.sources:
        raise IllegalTransition(
            N_("Not possible for a trip in state “%(state)s”: %(action)s."),
            params={"state": trip.state, "action": action},
            extra={"state": trip.state, "action": action,
                   "allowed": allowed_actions(trip.state)},
        )
    if transition.check is not None:
        failure = transition.check(trip, ctx)
        if failure is not None:
            code, msgid = failure
            raise PreconditionFailed(msgid, extra={"reason": code, "state": trip.state,
                                                   "action": action})
    return transition.target


def apply(uow: Any, trip: Any, action: str, actor: Any, ctx: Context,
          payload: dict[str, Any] | None = None) -> TripState:
    """Move `trip` (a models.Trip) through `action`, auditing it in `uow`'s transaction;
    the trip records the move (trips.events.TripMoved) for whatever follows from it."""
    from kernel.messages import record

    from .events import TripMoved

    before = trip.state
    target = plan(trip, action, ctx)
    transition = TRANSITIONS[action]
    trip.state = target.value
    trip.state_changed_at = ctx.now
    if ctx.reason:
        trip.state_reason = ctx.reason
    if transition.stamp:
        setattr(trip, transition.stamp, ctx.now)
    uow.audit(
        f"trip.{action}", actor,
        subject_kind="trip", subject_id=str(trip.id), trip_id=trip.id,
        vehicle_id=trip.vehicle_id, enterprise_id=trip.enterprise_id,
        payload={"from": before, "to": target.value, "reason": ctx.reason,
                 "override": ctx.override or None, **(payload or {})},
    )
    uow.publish("trips", "trip.state", {"trip_id": trip.id, "code": trip.code, "from": before,
                                        "to": target.value})
    record(trip, TripMoved(trip, action, before, target.value, actor, ctx.now))
    return target
