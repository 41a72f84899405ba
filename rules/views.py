"""What gate, booking and lot read about vehicles, persons, their papers, cargo and
trips: plain, immutable views (the read model's shape; registry.read_model fills them
from the records, the gate agent from its signed permit snapshot). Imports nothing of
the project but the park policy's sibling modules."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime


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
