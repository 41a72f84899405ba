"""Who and what is inside the park now (the emergency roster, DESIGN §1)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Bay, Carrier, Enterprise, Lot, Person, Plant, Presence, Trip, Vehicle, Zone


@dataclass
class RosterVehicle:
    vehicle_id: int
    plate: str
    colour: str
    category: str
    location: str  # "park", "lot:<id>", "plant:<id>"
    location_name: str
    entered_at: datetime
    trip_code: str | None = None
    cargo: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class RosterPerson:
    person_id: int
    name: str
    id_masked: str
    kinds: list[str]
    employer: str
    location: str
    location_name: str
    entered_at: datetime


@dataclass
class Roster:
    vehicles: list[RosterVehicle]
    persons: list[RosterPerson]

    def as_dict(self) -> dict[str, Any]:
        return {
            "vehicles": [v.__dict__ | {"entered_at": v.entered_at.isoformat()}
                         for v in self.vehicles],
            "persons": [p.__dict__ | {"entered_at": p.entered_at.isoformat()}
                        for p in self.persons],
            "totals": {"vehicles": len(self.vehicles), "persons": len(self.persons),
                       "hazmat_kg": sum(c["quantity_kg"] for v in self.vehicles
                                        for c in v.cargo)},
        }


def _area_names(session: Session) -> dict[str, str]:
    names = {"park": "园区内"}
    for lot in session.scalars(select(Lot)):
        names[f"lot:{lot.id}"] = lot.name
    for plant in session.scalars(select(Plant)):
        names[f"plant:{plant.id}"] = plant.name
    return names


def _bays_by_trip(session: Session) -> dict[int, str]:
    """Where in a lot each parked trip stands ("zone A · bay A-03"), for the fire
    brigade: a lot holds many classes and the zone is what they need to know."""
    rows = session.execute(select(Bay.trip_id, Bay.code, Zone.code).join(Zone)
                           .where(Bay.trip_id.is_not(None)))
    return {trip_id: f"{zone} · {bay}" for trip_id, bay, zone in rows  # type: ignore[misc]
            if trip_id is not None}


def build(session: Session) -> Roster:
    """Everyone inside the perimeter (or in a lot, which may sit outside it), placed
    in the most specific area they are in."""
    rows = list(session.scalars(select(Presence)))
    names = _area_names(session)
    bays = _bays_by_trip(session)

    def place(row: Presence) -> str:
        name = names.get(row.area, row.area)
        if row.area.startswith("lot:") and row.trip_id in bays:
            return f"{name} · {bays[row.trip_id]}"
        return name
    places: dict[str, list[Presence]] = defaultdict(list)
    for row in rows:
        places[row.subject_key].append(row)
    vehicles: list[RosterVehicle] = []
    persons: list[RosterPerson] = []
    for key, where in places.items():
        specific = min(where, key=lambda r: (r.area == "park", r.entered_at))
        entered = min(r.entered_at for r in where)
        if key.startswith("v:"):
            v = session.get(Vehicle, specific.vehicle_id)
            if v is None:
                continue
            trip = session.get(Trip, specific.trip_id) if specific.trip_id else None
            vehicles.append(RosterVehicle(
                v.id, v.plate, v.plate_colour, v.category, specific.area,
                place(specific), entered,
                trip.code if trip else None,
                [{"un": c.un_number, "name": c.name_zh, "class": c.hazard_class,
                  "quantity_kg": c.quantity_kg} for c in trip.cargo] if trip else []))
        else:
            p = session.get(Person, specific.person_id)
            if p is None:
                continue
            employer = ""
            if p.enterprise_id:
                ent = session.get(Enterprise, p.enterprise_id)
                employer = ent.name if ent else ""
            elif p.carrier_id:
                carrier = session.get(Carrier, p.carrier_id)
                employer = carrier.name if carrier else ""
            persons.append(RosterPerson(p.id, p.name, p.id_masked, list(p.kinds or []),
                                        employer, specific.area, place(specific), entered))
    vehicles.sort(key=lambda v: (v.location, v.plate))
    persons.sort(key=lambda p: (p.location, p.employer, p.name))
    return Roster(vehicles, persons)
