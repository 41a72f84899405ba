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
class BlacklistView:
    reason: str
    until_on: date | None


@dataclass(frozen=True)
class VehicleView:
    id: int
    plate: str
    colour: str
    kind: str
    category: str
    rated_load_kg: float | None = None
    is_tank: bool = False
    tank_media: tuple[str, ...] = ()
    road_permit_no: str | None = None
    permit_scope: tuple[str, ...] = ()
    permit_expires_on: date | None = None
    review_expires_on: date | None = None
    inspection_expires_on: date | None = None
    tank_inspection_expires_on: date | None = None
    insurance_expires_on: date | None = None
    gps_last_fix_at: datetime | None = None
    blacklist: BlacklistView | None = None
    inside: bool | None = None  # inside this lane's area now
    pass_enterprises: tuple[int, ...] = ()  # valid standing passes today, by enterprise


@dataclass(frozen=True)
class QualificationView:
    kind: str
    cert_no: str
    classes: tuple[str, ...]
    expires_on: date


@dataclass(frozen=True)
class PersonView:
    id: int
    name: str
    id_masked: str
    kinds: tuple[str, ...] = ()
    qualifications: tuple[QualificationView, ...] = ()
    blacklist: BlacklistView | None = None
    inside: bool | None = None
    enterprise_id: int | None = None


@dataclass(frozen=True)
class CargoView:
    un_number: str
    name_zh: str
    hazard_class: str
    subsidiary_risks: tuple[str, ...] = ()
    highly_toxic: bool = False
    quantity_kg: float = 0.0
    packages: int | None = None
    special_provision: str | None = None


@dataclass(frozen=True)
class ReleaseView:
    plant_id: int
    deadline: datetime
    status: str  # active | used | overdue | cancelled


@dataclass(frozen=True)
class TripView:
    id: int
    code: str
    state: str
    category: str
    direction: str
    enterprise_id: int
    enterprise_name: str
    plant_id: int
    plant_name: str
    window_start: datetime
    window_end: datetime
    vehicle_id: int
    trailer_id: int | None = None
    trailer_plate: str | None = None
    driver_id: int | None = None
    escort_id: int | None = None
    cargo: tuple[CargoView, ...] = ()
    waybill_no: str | None = None
    waybill_consignor: str | None = None
    waybill_consignee: str | None = None
    waybill_vehicle: str | None = None  # the plates the waybill was issued for (G14)
    waybill_trailer: str | None = None
    # The code of another trip (not cancelled, rejected or a no-show) with the same
    # waybill: one waybill, one trip (G14).
    waybill_used_by: str | None = None
    manifest_no: str | None = None
    toxic_pass_no: str | None = None
    toxic_pass_valid_from: date | None = None  # the 剧毒 pass's validity and vehicle (G19)
    toxic_pass_valid_until: date | None = None
    toxic_pass_vehicle: str | None = None
    crew_confirmed: bool = False
    release: ReleaseView | None = None

    @property
    def release_deadline(self) -> datetime | None:
        """As a Trip record has it (trips.state_machine.TripFacts)."""
        return self.release.deadline if self.release else None


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
