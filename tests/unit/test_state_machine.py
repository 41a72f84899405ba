"""Every trip transition, legal and illegal, and their preconditions (DESIGN §1)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from trips import state_machine as sm
from trips.state_machine import Context, TripState

T0 = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
GRACE = timedelta(minutes=30)


@dataclass
class FakeTrip:
    state: str
    category: str = "hazmat"
    window_start: datetime = T0
    window_end: datetime = T0 + timedelta(hours=4)
    release_deadline: datetime | None = None


# (action, from-state, category, now offset from T0, reason, override) -> expected state
LEGAL = [
    ("approve", "PENDING_APPROVAL", "hazmat", 0, None, False, "BOOKED"),
    ("reject", "PENDING_APPROVAL", "hazmat", 0, "no approval", False, "REJECTED"),
    ("cancel", "PENDING_APPROVAL", "hazmat", 0, "plans changed", False, "CANCELLED"),
    ("cancel", "BOOKED", "hazmat", 0, "plans changed", False, "CANCELLED"),
    ("mark_no_show", "BOOKED", "hazmat", 5 * 60, None, False, "NO_SHOW"),
    ("arrive", "BOOKED", "hazmat", 10, None, False, "ARRIVED"),
    ("arrive", "BOOKED", "goods", -29, None, False, "ARRIVED"),
    ("check_in_lot", "ARRIVED", "hazmat", 20, None, False, "IN_LOT"),
    ("check_in_lot", "BOOKED", "hazwaste", 20, None, False, "IN_LOT"),
    ("release", "IN_LOT", "hazmat", 60, None, False, "RELEASED"),
    ("requeue", "RELEASED", "hazmat", 60, "dock broke down", False, "IN_LOT"),
    ("requeue", "OVERDUE", "hazmat", 60, "driver asleep", False, "IN_LOT"),
    ("send_away", "IN_LOT", "hazmat", 60, "papers", False, "SENT_AWAY"),
    ("send_away", "ARRIVED", "hazmat", 60, "papers", False, "SENT_AWAY"),
    ("send_away", "OVERDUE", "hazmat", 60, "papers", False, "SENT_AWAY"),
    ("enter_plant", "RELEASED", "hazmat", 60, None, False, "AT_PLANT"),
    ("enter_plant", "ARRIVED", "goods", 60, None, False, "AT_PLANT"),
    ("enter_plant", "OVERDUE", "hazmat", 60, "late, checked", True, "AT_PLANT"),
    ("leave_plant", "AT_PLANT", "hazmat", 90, None, False, "LEAVING"),
    ("exit_park", "LEAVING", "hazmat", 100, None, False, "CLOSED"),
]


@pytest.mark.parametrize(("action", "state", "category", "minutes", "reason", "override",
                          "expected"), LEGAL)
def test_legal_transition(action, state, category, minutes, reason, override, expected):
    trip = FakeTrip(state=state, category=category,
                    release_deadline=T0 + timedelta(minutes=30))
    ctx = Context(now=T0 + timedelta(minutes=minutes), grace=GRACE, reason=reason,
                  override=override)
    if action == "mark_overdue":
        ctx = Context(now=T0 + timedelta(hours=1), grace=GRACE)
    assert sm.plan(trip, action, ctx) == TripState(expected)


def test_mark_overdue_after_deadline():
    trip = FakeTrip(state="RELEASED", release_deadline=T0)
    assert sm.plan(trip, "mark_overdue", Context(now=T0 + timedelta(seconds=1))) == \
        TripState.OVERDUE


def _illegal_pairs() -> list[tuple[str, str]]:
    return [(action, state.value) for action, t in sm.TRANSITIONS.items()
            for state in TripState if state not in t.sources]


@pytest.mark.parametrize(("action", "state"), _illegal_pairs())
def test_every_illegal_transition_is_refused(action, state):
    trip = FakeTrip(state=state)
    with pytest.raises(sm.IllegalTransition) as info:
        sm.plan(trip, action, Context(now=T0, reason="r", override=True))
    assert info.value.code == "TRIP_TRANSITION_NOT_ALLOWED"
    assert info.value.status == 409
    assert info.value.extra["allowed"] == sm.allowed_actions(state)


def test_terminal_states_allow_nothing():
    for state in sm.TERMINAL:
        assert sm.allowed_actions(state) == []


def test_every_state_is_reachable_from_booking():
    reachable = {TripState.PENDING_APPROVAL, TripState.BOOKED}
    changed = True
    while changed:
        changed = False
        for t in sm.TRANSITIONS.values():
            if t.sources & reachable and t.target not in reachable:
                reachable.add(t.target)
                changed = True
    assert reachable == set(TripState)


def test_unknown_action():
    with pytest.raises(sm.IllegalTransition) as info:
        sm.plan(FakeTrip(state="BOOKED"), "teleport", Context(now=T0))
    assert info.value.code == "UNKNOWN_TRIP_ACTION"


@pytest.mark.parametrize(("minutes", "reason"),
                         [(-31, "TOO_EARLY"), (4 * 60 + 31, "WINDOW_PASSED")])
def test_arrival_outside_window_plus_grace(minutes, reason):
    with pytest.raises(sm.PreconditionFailed) as info:
        sm.plan(FakeTrip(state="BOOKED"), "arrive",
                Context(now=T0 + timedelta(minutes=minutes), grace=GRACE))
    assert info.value.extra["reason"] == reason


@pytest.mark.parametrize("minutes", [-30, 4 * 60 + 30])
def test_arrival_window_ends_are_inclusive(minutes):
    assert sm.plan(FakeTrip(state="BOOKED"), "arrive",
                   Context(now=T0 + timedelta(minutes=minutes), grace=GRACE)) == TripState.ARRIVED


def test_no_show_only_after_window_and_grace():
    with pytest.raises(sm.PreconditionFailed):
        sm.plan(FakeTrip(state="BOOKED"), "mark_no_show",
                Context(now=T0 + timedelta(hours=4, minutes=30), grace=GRACE))


def test_non_hazmat_cannot_check_in_to_lot():
    with pytest.raises(sm.PreconditionFailed) as info:
        sm.plan(FakeTrip(state="ARRIVED", category="goods"), "check_in_lot", Context(now=T0))
    assert info.value.extra["reason"] == "NOT_HAZMAT"


def test_hazmat_cannot_enter_plant_without_release():
    with pytest.raises(sm.PreconditionFailed) as info:
        sm.plan(FakeTrip(state="ARRIVED"), "enter_plant", Context(now=T0))
    assert info.value.extra["reason"] == "MUST_WAIT_IN_LOT"


def test_overdue_trip_enters_plant_only_by_override():
    trip = FakeTrip(state="OVERDUE", release_deadline=T0)
    with pytest.raises(sm.PreconditionFailed) as info:
        sm.plan(trip, "enter_plant", Context(now=T0 + timedelta(hours=1)))
    assert info.value.extra["reason"] == "RELEASE_EXPIRED"


def test_release_not_overdue_before_deadline():
    trip = FakeTrip(state="RELEASED", release_deadline=T0 + timedelta(minutes=30))
    with pytest.raises(sm.PreconditionFailed):
        sm.plan(trip, "mark_overdue", Context(now=T0 + timedelta(minutes=30)))


@pytest.mark.parametrize("action", ["reject", "cancel", "requeue", "send_away"])
def test_actions_that_need_a_reason(action):
    source = next(iter(sm.TRANSITIONS[action].sources))
    with pytest.raises(sm.PreconditionFailed) as info:
        sm.plan(FakeTrip(state=source), action, Context(now=T0, reason="  "))
    assert info.value.extra["reason"] == "REASON_REQUIRED"
