"""The permit snapshot a gate agent keeps for deciding on its own (DESIGN §4).

Only what the agent's lane needs: vehicles with a trip under way or due within a
day and a half, vehicles with a standing pass, blacklisted vehicles and people, and
the crews of the trips. The body is canonical JSON; its SHA-256 is the version and
an Ed25519 signature by the centre lets the agent trust a copy it cached to disk.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from models import BlacklistEntry, FixedRegistration, Lane, Person, Trip, Vehicle
from parkgate import signing
from parkgate.signing import (  # noqa: F401 - the agent and the API use them from here
    SignatureRejected,
    canonical,
    load_or_create_key,
    public_key_b64,
    sign,
)
from registry import read_model
from rules import documents
from trips.state_machine import OPEN_STATES

from . import repository as repo
from .snapshot import LaneView, PersonView, TripView, VehicleView, from_jsonable, to_jsonable

SNAPSHOT_FORMAT = 1


class SnapshotRejected(SignatureRejected):
    pass


def verify(envelope: dict[str, Any], public_key: str) -> dict[str, Any]:
    """The body of a signed snapshot, or SnapshotRejected."""
    try:
        return signing.verify(envelope, public_key)
    except SignatureRejected as exc:
        raise SnapshotRejected(f"snapshot: {exc}") from exc


# --- building one ---------------------------------------------------------------------------

def build(session: Session, lane: Lane, now: datetime) -> dict[str, Any]:
    view = repo.lane_view(session, lane)
    today = documents.park_date(now)
    trips = list(session.scalars(select(Trip).where(
        Trip.state.in_(OPEN_STATES), Trip.window_start <= now + timedelta(hours=36),
        Trip.window_end >= now - timedelta(hours=12))))
    vehicle_ids = {t.vehicle_id for t in trips} | {t.trailer_id for t in trips if t.trailer_id}
    vehicle_ids |= set(session.scalars(select(FixedRegistration.vehicle_id).where(
        FixedRegistration.retired_at.is_(None), FixedRegistration.valid_until >= today)))
    active_ban = (BlacklistEntry.lifted_at.is_(None)) & or_(
        BlacklistEntry.until_on.is_(None), BlacklistEntry.until_on >= today)
    vehicle_ids |= set(session.scalars(select(BlacklistEntry.vehicle_id).where(
        active_ban, BlacklistEntry.vehicle_id.is_not(None))))
    person_ids = {p for t in trips for p in (t.driver_id, t.escort_id) if p}
    person_ids |= set(session.scalars(select(BlacklistEntry.person_id).where(
        active_ban, BlacklistEntry.person_id.is_not(None))))
    vehicles = [repo.vehicle_view(session, v, view, now) for v in session.scalars(
        select(Vehicle).where(Vehicle.id.in_(vehicle_ids), Vehicle.retired_at.is_(None)))]
    persons = [repo.person_view(session, p, view, now) for p in session.scalars(
        select(Person).where(Person.id.in_(person_ids), Person.retired_at.is_(None)))]
    return {
        "format": SNAPSHOT_FORMAT,
        "generated_at": now.isoformat(),
        "lane": to_jsonable(view),
        "policy": to_jsonable(read_model.park_policy(session, lane.gate.park_id)),
        "vehicles": [to_jsonable(v) for v in sorted(vehicles, key=lambda v: v.id)],
        "trips": [to_jsonable(read_model.trip_view(session, t)) for t in sorted(trips,
                                                                          key=lambda t: t.id)],
        "persons": [to_jsonable(p) for p in sorted(persons, key=lambda p: p.id)],
    }


# --- reading one (the agent) ----------------------------------------------------------------

@dataclass
class PermitSnapshot:
    """A verified snapshot, indexed for the agent's look-ups."""

    generated_at: datetime
    lane: LaneView
    policy: Any
    vehicles: dict[int, VehicleView]
    by_plate: dict[str, list[VehicleView]]
    trips: dict[int, TripView]
    persons: dict[int, PersonView]

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> PermitSnapshot:
        from rules.policy import ParkPolicy

        vehicles = {v.id: v for v in (from_jsonable(VehicleView, x) for x in body["vehicles"])}
        by_plate: dict[str, list[VehicleView]] = {}
        for v in vehicles.values():
            by_plate.setdefault(v.plate, []).append(v)
        return cls(
            generated_at=datetime.fromisoformat(body["generated_at"]),
            lane=from_jsonable(LaneView, body["lane"]),
            policy=from_jsonable(ParkPolicy, body["policy"]),
            vehicles=vehicles, by_plate=by_plate,
            trips={t.id: t for t in (from_jsonable(TripView, x) for x in body["trips"])},
            persons={p.id: p for p in (from_jsonable(PersonView, x) for x in body["persons"])})
