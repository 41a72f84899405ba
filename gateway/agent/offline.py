"""Deciding without the centre: the same decide() over the signed permit snapshot,
fail-secure for hazmat, with a local record of crossings made while cut off."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from rules.plates import normalise
from rules.reasons import Reason
from trips import state_machine as sm

from ..decide import HOLD, OPEN, Decision, decide
from ..permits import PermitSnapshot
from ..snapshot import PlateReadIn, Snapshot, TripView, VehicleView


@dataclass
class OfflineDecider:
    permit: PermitSnapshot
    max_age: timedelta = timedelta(hours=12)
    inside: dict[int, bool] = field(default_factory=dict)  # crossings made while offline
    trip_state: dict[int, str] = field(default_factory=dict)

    def _vehicle(self, plate: str, colour: str | None) -> tuple[VehicleView | None, int]:
        found = [v for v in self.permit.by_plate.get(normalise(plate), [])
                 if colour is None or v.colour == colour]
        if len(found) != 1:
            return None, len(found)
        v = found[0]
        if v.id in self.inside:
            v = replace(v, inside=self.inside[v.id])
        return v, 1

    def _trip(self, vehicle_id: int, now: datetime) -> TripView | None:
        trips = [replace(t, state=self.trip_state.get(t.id, t.state))
                 for t in self.permit.trips.values() if t.vehicle_id == vehicle_id]
        trips = [t for t in trips if t.state in sm.OPEN_STATES]
        if not trips:
            return None
        under_way = [t for t in trips if t.state not in ("BOOKED", "PENDING_APPROVAL")]
        if under_way:
            return under_way[0]
        return min(trips, key=lambda t: abs((t.window_start - now).total_seconds()))

    def decide(self, read: PlateReadIn, now: datetime) -> Decision:
        if now - self.permit.generated_at > self.max_age:
            return Decision(HOLD, (Reason("OFFLINE_SNAPSHOT_STALE"),))
        vehicle, matches = self._vehicle(read.plate, read.colour)
        trip = self._trip(vehicle.id, now) if vehicle else None
        snap = Snapshot(
            lane=self.permit.lane, policy=self.permit.policy, vehicle=vehicle,
            plate_matches=matches,
            trailer=self.permit.vehicles.get(trip.trailer_id) if trip and trip.trailer_id else None,
            trip=trip,
            driver=self.permit.persons.get(trip.driver_id) if trip and trip.driver_id else None,
            escort=self.permit.persons.get(trip.escort_id) if trip and trip.escort_id else None)
        decision = decide(read, snap, now)
        lane = self.permit.lane
        hazmat = decision.category in sm.LOT_CATEGORIES
        if decision.action == OPEN and hazmat and lane.direction == "in":
            release = trip.release if trip else None
            if release is None or release.status != "active" or release.deadline < now:
                decision = Decision(HOLD, (*decision.reasons,
                                           Reason("OFFLINE_HAZMAT_NEEDS_RELEASE")),
                                    next_trip_action=decision.next_trip_action,
                                    category=decision.category)
        self._remember(decision, vehicle, trip, now)
        return decision

    def _remember(self, decision: Decision, vehicle: VehicleView | None, trip: TripView | None,
                  now: datetime) -> None:
        if vehicle is not None and decision.crossed:
            self.inside[vehicle.id] = self.permit.lane.direction == "in"
        if trip is not None and decision.trip_action:
            try:
                target = sm.plan(trip, decision.trip_action, sm.Context(
                    now=now, grace=self.permit.policy.arrival_grace))
            except (sm.IllegalTransition, sm.PreconditionFailed):
                return
            self.trip_state[trip.id] = target.value
