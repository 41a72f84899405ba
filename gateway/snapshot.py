"""What the gate knows when it decides: plain, immutable data.

The centre builds a Snapshot from the database for each read (gateway.repository);
the offline gate agent builds the same from its signed permit snapshot. decide()
sees nothing else, so both decide alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, is_dataclass
from datetime import date, datetime
from typing import Any, get_args, get_origin, get_type_hints

from rules.policy import ParkPolicy
from rules.views import (  # noqa: F401  # the snapshot's parts, named here for its JSON round trip
    BlacklistView,
    CargoView,
    PersonView,
    QualificationView,
    ReleaseView,
    TripView,
    VehicleView,
)


@dataclass(frozen=True)
class LaneView:
    id: int
    code: str
    direction: str  # in | out
    gate_kind: str  # perimeter | lot | plant
    admits: tuple[str, ...]
    area: str  # "park", "lot:<id>", "plant:<id>" — anti-passback scope (DOMAIN §9 G07)
    plant_id: int | None = None
    plant_name: str | None = None
    plant_enterprise_id: int | None = None
    lot_id: int | None = None
    lot_excluded_classes: tuple[str, ...] = ()
    confidence_threshold: float = 0.85
    antipassback: str = "deny"  # deny | hold | off


@dataclass(frozen=True)
class Snapshot:
    lane: LaneView
    policy: ParkPolicy = field(default_factory=ParkPolicy)
    vehicle: VehicleView | None = None
    plate_matches: int = 0  # vehicles with this plate (colour unknown): >1 is ambiguous
    trailer: VehicleView | None = None
    trip: TripView | None = None
    driver: PersonView | None = None
    escort: PersonView | None = None
    # At a lot entrance, for a truck arriving: the rule that leaves it no bay ("L03": no
    # zone may take its cargo beside the trucks there; "L05": no room), or None (a bay
    # is free, or nobody could look: the gate agent offline).
    lot_room: str | None = None


@dataclass(frozen=True)
class PlateReadIn:
    """A read as decide() needs it (the API's input, minus transport details). An empty
    plate is a vehicle nobody could read (G06)."""

    plate: str
    colour: str | None
    confidence: float
    seen_at: datetime
    trailer_plate: str | None = None
    trailer_confidence: float | None = None
    crew_presented: bool = False  # the booked crew showed their papers at the booth


# --- JSON round trip for the agent's signed snapshot --------------------------------------

def to_jsonable(value: Any) -> Any:
    if is_dataclass(value):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [to_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: to_jsonable(v) for k, v in value.items()}
    return value


def from_jsonable(cls: type, data: Any) -> Any:
    if data is None:
        return None
    hints = get_type_hints(cls)
    kwargs = {}
    for f in fields(cls):
        if f.name in data:
            kwargs[f.name] = _coerce(hints[f.name], data[f.name])
    return cls(**kwargs)


def _coerce(hint: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = get_origin(hint)
    args = [a for a in get_args(hint) if a is not type(None)]
    if origin is tuple:
        inner = args[0] if args else Any
        return tuple(_coerce(inner, v) for v in value)
    if origin is dict or hint is dict:
        return dict(value)
    if args and origin is not None and len(args) == 1:  # Optional[X]
        return _coerce(args[0], value)
    if hint is datetime:
        return datetime.fromisoformat(value)
    if hint is date:
        return date.fromisoformat(value)
    if isinstance(hint, type) and is_dataclass(hint):
        return from_jsonable(hint, value)
    return value
