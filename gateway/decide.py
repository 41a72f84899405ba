"""The gate's decision: one pure function over a read and a snapshot (DESIGN §4).

Each rule of DOMAIN §2 is a small check returning reasons; `decide()` runs the
checks that apply to the lane, then picks the action from the reasons' severities.
At a perimeter or plant gate a failed check denies; at the lot gate a failed
document re-check holds the truck for the dispatcher (DOMAIN §9, L02). The barrier
opens only on OPEN (G05): this function never returns OPEN by default.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from rules import checks, documents
from rules.exemptions import exempt_as_ordinary_goods
from rules.hazard import primary_class
from rules.plates import is_emergency_plate, normalise
from rules.reasons import Reason
from trips.state_machine import LOT_CATEGORIES

from .snapshot import PersonView, PlateReadIn, Snapshot, TripView, VehicleView

OPEN = "OPEN"
DENY = "DENY"
DIVERT = "DIVERT_TO_LOT"
HOLD = "HOLD_FOR_OPERATOR"
# G08: the plate was read, too unsurely to act on; the operator confirms it.
LOW_CONFIDENCE = "LOW_CONFIDENCE_READ"

# Trip states in which a trip may present itself at each kind of entry.
AWAITING_ARRIVAL = frozenset({"BOOKED", "ARRIVED"})
NO_BAY_CODES = frozenset({"LOT_FULL", "LOT_NO_ZONE"})  # L05, L03
NOT_APPROVED = frozenset({"PENDING_APPROVAL", "REJECTED", "CANCELLED", "NO_SHOW", "CLOSED",
                          "SENT_AWAY"})
# Documents re-checked at the lot gate (DOMAIN L02, §9): failures hold, not deny.
LOT_RECHECK_RULES = frozenset({"G11", "G12", "G13", "G14", "G15", "G16", "G17"})
# Trips whose crew leaves with the vehicle under watch (G24).
CREW_WATCHED = frozenset({"hazmat", "hazwaste"})


@dataclass(frozen=True)
class Decision:
    action: str
    reasons: tuple[Reason, ...] = ()
    # The trip transition that letting the vehicle through here implies, whatever the
    # action: an operator's override or an agent's offline OPEN still moves the trip.
    next_trip_action: str | None = None
    category: str | None = None  # the vehicle category the rules applied

    @property
    def trip_action(self) -> str | None:
        return self.next_trip_action if self.action in (OPEN, DIVERT) else None

    @property
    def crossed(self) -> bool:
        return self.action == OPEN

    @property
    def codes(self) -> list[str]:
        return [r.code for r in self.reasons]

    def reason_dicts(self) -> list[dict[str, object]]:
        return [r.as_dict() for r in self.reasons]


@dataclass
class _Acc:
    reasons: list[Reason] = field(default_factory=list)

    def add(self, code: str, **params: object) -> None:
        self.reasons.append(Reason(code, params))

    def extend(self, reasons: Iterable[Reason]) -> None:
        self.reasons.extend(reasons)


def decide(read: PlateReadIn, snap: Snapshot, now: datetime) -> Decision:
    lane = snap.lane
    if not read.plate.strip():
        # G06: nobody could read it; the operator looks and records what they decide.
        return Decision(HOLD, (Reason("PLATE_UNREADABLE"),))
    if is_emergency_plate(read.plate) or (snap.vehicle is not None
                                          and snap.vehicle.category == "emergency"):
        # G03 at any gate, on record or not (G01 does not apply to them, §9).
        return Decision(HOLD, (Reason("EMERGENCY_VEHICLE"),), category="emergency")
    if read.confidence < lane.confidence_threshold or (
            read.trailer_plate and read.trailer_confidence is not None
            and read.trailer_confidence < lane.confidence_threshold):
        low = min(c for c in (read.confidence, read.trailer_confidence) if c is not None)
        return Decision(HOLD, (Reason(LOW_CONFIDENCE, {"confidence": f"{low:.2f}"}),))
    vehicle = snap.vehicle
    if vehicle is None:
        if snap.plate_matches > 1:
            return Decision(HOLD, (Reason("PLATE_AMBIGUOUS", {"plate": normalise(read.plate)}),))
        # Unknown leaving: let the operator look (how did it get in?); entering: refuse.
        action = HOLD if lane.direction == "out" else DENY
        return Decision(action, (Reason("VEHICLE_UNKNOWN", {"plate": normalise(read.plate)}),))
    if lane.direction == "out":
        return _exit(read, snap, vehicle)
    return _entry(read, snap, vehicle, now)


# --- exits --------------------------------------------------------------------------------

def _exit(read: PlateReadIn, snap: Snapshot, vehicle: VehicleView) -> Decision:
    lane, trip = snap.lane, snap.trip
    acc = _Acc()
    if lane.antipassback != "off" and vehicle.inside is False:
        acc.add("NOT_INSIDE")
        return Decision(HOLD, tuple(acc.reasons))
    trip_action = None
    if trip is not None:
        if lane.gate_kind == "plant" and trip.state == "AT_PLANT":
            trip_action = "leave_plant"
        elif lane.gate_kind == "perimeter" and trip.state == "LEAVING":
            trip_action = "exit_park"
        elif lane.gate_kind == "lot" and trip.state == "IN_LOT":
            # Leaving the lot without a release: the dispatcher sends it away or it waits.
            acc.add("NOT_RELEASED")
            return Decision(DENY, tuple(acc.reasons))
        elif lane.gate_kind == "lot" and trip.state in ("RELEASED", "SENT_AWAY"):
            trip_action = None
        # G24: the crew leave with a hazmat vehicle only when confirmed here; the exit
        # is never refused for it (§9), the service raises the alarm.
        if trip_action is not None and trip.category in CREW_WATCHED and \
                (trip.driver_id or trip.escort_id) and not read.crew_presented:
            acc.add("CREW_NOT_CONFIRMED_AT_EXIT")
    # Leaving is not refused for papers or a blacklist: a park must be able to empty.
    return Decision(OPEN, tuple(acc.reasons), next_trip_action=trip_action)


# --- entries ------------------------------------------------------------------------------

def _entry(read: PlateReadIn, snap: Snapshot, vehicle: VehicleView, now: datetime) -> Decision:
    lane, trip = snap.lane, snap.trip
    acc = _Acc()
    category = vehicle.category
    if trip is not None and trip.category in ("hazmat", "hazwaste") and \
            exempt_as_ordinary_goods(trip.cargo, snap.policy):
        category = "goods"
        acc.add("LIMITED_QUANTITY_EXEMPT")
    elif trip is not None:
        category = trip.category

    # G01: the gate admits the category.
    if category not in lane.admits:
        hint = "hazmat" if category in LOT_CATEGORIES else "general"
        acc.add("GATE_TYPE", category=category, hint=hint)
    # G04: blacklist — vehicle, trailer, crew.
    acc.extend(checks.blacklist_checks(vehicle, snap.trailer, snap.driver, snap.escort))
    # G07: anti-passback within this lane's area, denying or holding as the lane says.
    if lane.antipassback != "off" and vehicle.inside:
        acc.reasons.append(Reason("ANTI_PASSBACK", severity_override=lane.antipassback
                                  if lane.antipassback == "hold" else None))

    hazmat = category in LOT_CATEGORIES
    trip_action: str | None = None
    if trip is None:
        if not _standing_pass_here(vehicle, lane) or hazmat:
            acc.add("NO_BOOKING_IN_WINDOW")
    else:
        acc.extend(_booking_checks(trip, snap, now, hazmat))
        if hazmat:
            acc.extend(_hazmat_checks(read, snap, vehicle, trip, now))
        trip_action = _where_next(trip, snap, hazmat, acc)
        if trip_action == "check_in_lot" and snap.lot_room is not None and \
                _action(acc.reasons, lane.gate_kind) == OPEN:
            # L03/L05: everything else lets it in, but no bay may take it: it waits at
            # the entrance (the service tells the dispatcher).
            acc.add("LOT_FULL" if snap.lot_room == "L05" else "LOT_NO_ZONE")  # NO_BAY_CODES
            trip_action = None
    # A hold outranks a divert (_action): a truck whose crew or trailer is still to be
    # checked waits at the booth first (G13, G18), then is sent to the lot.
    return Decision(_action(acc.reasons, lane.gate_kind), tuple(acc.reasons),
                    next_trip_action=trip_action, category=category)


def _standing_pass_here(vehicle: VehicleView, lane: object) -> bool:
    plant_enterprise = getattr(lane, "plant_enterprise_id", None)
    if not vehicle.pass_enterprises:
        return False
    return plant_enterprise is None or plant_enterprise in vehicle.pass_enterprises


def _booking_checks(trip: TripView, snap: Snapshot, now: datetime, hazmat: bool) -> list[Reason]:
    """G10/G23 for hazmat; for any other vehicle the booking is its G02 permission."""
    out: list[Reason] = []
    lane, policy = snap.lane, snap.policy
    if trip.state in NOT_APPROVED:
        out.append(Reason("BOOKING_NOT_APPROVED" if hazmat else "GOODS_BOOKING_NOT_APPROVED",
                          {"state": trip.state}))
        return out
    if hazmat:
        out.extend(checks.window_length_checks(trip, policy))
    if lane.gate_kind == "plant" and lane.plant_id is not None and trip.plant_id != lane.plant_id:
        out.append(Reason("WRONG_PLANT", {"plant": trip.plant_name}))
    # G23: the first arrival must fall in the window (later gates follow the trip).
    if trip.state == "BOOKED":
        grace = policy.arrival_grace
        if not (trip.window_start - grace <= now <= trip.window_end + grace):
            out.append(Reason("OUTSIDE_WINDOW" if hazmat else "GOODS_OUTSIDE_WINDOW", {
                "start": documents.park_date(trip.window_start).isoformat() + " "
                + trip.window_start.astimezone(documents.PARK_TZ).strftime("%H:%M"),
                "end": trip.window_end.astimezone(documents.PARK_TZ).strftime("%H:%M")}))
    return out


def _hazmat_checks(read: PlateReadIn, snap: Snapshot, vehicle: VehicleView, trip: TripView,
                   now: datetime) -> list[Reason]:
    """The trip's papers (shared with booking), then what only the gate can see."""
    out = checks.document_checks(trip, vehicle, snap.trailer, snap.driver, snap.escort, now)
    out += checks.toxic_pass_checks(trip, vehicle, now, now)
    policy, lane = snap.policy, snap.lane
    if snap.driver and snap.escort and not (trip.crew_confirmed or read.crew_presented):
        out.append(Reason("CREW_NOT_CONFIRMED"))
    # G17: the power unit's satellite positioning is alive.
    fix = vehicle.gps_last_fix_at
    if fix is None or now - fix > timedelta(minutes=policy.gps_max_age_min):
        minutes = "—" if fix is None else int((now - fix).total_seconds() // 60)
        out.append(Reason("GPS_STALE", {"vehicle": vehicle.plate, "minutes": minutes}))
    # G18: tractor and trailer both read (or entered) and both as booked; a trailer the
    # booking does not name is refused (its papers were never checked).
    if trip.trailer_id is not None:
        if not read.trailer_plate:
            out.append(Reason("TRAILER_NOT_READ", {"expected": trip.trailer_plate}))
        elif normalise(read.trailer_plate) != trip.trailer_plate:
            out.append(Reason("TRAILER_MISMATCH", {"read": normalise(read.trailer_plate),
                                                   "expected": trip.trailer_plate}))
    elif read.trailer_plate:
        out.append(Reason("TRAILER_NOT_BOOKED", {"read": normalise(read.trailer_plate)}))
    # L04: the lot's excluded classes.
    if lane.gate_kind == "lot":
        for line in trip.cargo:
            cls = primary_class(line.hazard_class)
            if cls in lane.lot_excluded_classes or line.hazard_class in lane.lot_excluded_classes:
                out.append(Reason("LOT_EXCLUDES_CLASS", {"cls": line.hazard_class}))
    return out


def _where_next(trip: TripView, snap: Snapshot, hazmat: bool, acc: _Acc) -> str | None:
    """G22 and the trip transition an entry at this lane implies."""
    lane, policy = snap.lane, snap.policy
    kind = lane.gate_kind
    if kind == "perimeter":
        if not hazmat:
            return "arrive" if trip.state == "BOOKED" else None
        if trip.state in ("RELEASED", "OVERDUE"):
            return None  # on its way from the lot to its plant
        if policy.lot_before_perimeter:
            acc.add("MUST_WAIT_IN_LOT")
            return "arrive" if trip.state == "BOOKED" else None
        return "arrive" if trip.state == "BOOKED" else None
    if kind == "lot":
        if not hazmat:
            return None
        if trip.state in AWAITING_ARRIVAL:
            return "check_in_lot"
        if trip.state != "IN_LOT":
            acc.add("BOOKING_NOT_APPROVED", state=trip.state)
        return None
    # Plant gate.
    if not hazmat:
        return "enter_plant" if trip.state == "ARRIVED" else None
    release = trip.release
    if trip.state == "RELEASED" and release is not None:
        if release.plant_id != lane.plant_id:
            acc.add("RELEASE_OTHER_PLANT", plant=lane.plant_name)
            return None
        return "enter_plant"
    if trip.state == "OVERDUE" and release is not None:
        acc.add("RELEASE_EXPIRED", deadline=release.deadline.astimezone(documents.PARK_TZ)
                .strftime("%H:%M"))
        return None
    acc.add("NOT_RELEASED")
    return None


def _action(reasons: list[Reason], gate_kind: str) -> str:
    severities = set()
    for reason in reasons:
        severity = reason.severity
        if gate_kind == "lot" and severity == "deny" and reason.rule in LOT_RECHECK_RULES:
            severity = "hold"  # L02: the dispatcher decides
        severities.add(severity)
    if "deny" in severities:
        return DENY
    if "hold" in severities:
        return HOLD
    if "divert" in severities:
        return DIVERT
    return OPEN


# --- people on foot -----------------------------------------------------------------------

@dataclass(frozen=True)
class PersonPassage:
    lane: object  # LaneView
    person: PersonView | None
    crew_vehicle_inside: bool | None = None  # the person is crew of a trip under way


def decide_person(p: PersonPassage) -> Decision:
    lane = p.lane
    if p.person is None:
        return Decision(HOLD, (Reason("PERSON_UNKNOWN"),))
    acc = _Acc()
    entering = getattr(lane, "direction", "in") == "in"
    policy = getattr(lane, "antipassback", "deny")
    if entering and p.person.blacklist is not None:
        acc.add("BLACKLISTED", who=p.person.name, reason=p.person.blacklist.reason)
    if policy != "off":
        if entering and p.person.inside:
            acc.reasons.append(Reason("ANTI_PASSBACK",
                                      severity_override="hold" if policy == "hold" else None))
        if not entering and p.person.inside is False:
            acc.add("NOT_INSIDE")
    # G24: crew entering without their vehicle, or leaving while it is still inside.
    if p.crew_vehicle_inside is not None and p.crew_vehicle_inside == (not entering):
        acc.add("CREW_APART", name=p.person.name)
    return Decision(_action(acc.reasons, getattr(lane, "gate_kind", "perimeter")),
                    tuple(acc.reasons))
