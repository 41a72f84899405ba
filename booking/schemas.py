"""Request and response shapes of the bookings API (also its OpenAPI)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

from parkgate.types import MAX_ID, ParkDate, RecordId, within_years

from .service import TRIP_FIELDS, BookingRequest, CargoRequest

Text64 = Field(default=None, max_length=64)


class CargoLineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    un_number: str = Field(min_length=1, max_length=16, examples=["UN1203"])
    quantity: float = Field(gt=0, le=1_000_000)
    unit: Literal["kg", "t"] = "kg"
    packages: int | None = Field(default=None, ge=1, le=1_000_000)
    special_provision: Literal["limited", "excepted"] | None = Field(
        default=None, description="Limited or excepted quantities (DOMAIN G21)")


class BookingBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    plant_id: RecordId
    vehicle_id: RecordId
    trailer_id: RecordId | None = None
    driver_id: RecordId | None = None
    escort_id: RecordId | None = None
    window_start: Annotated[AwareDatetime, AfterValidator(within_years)]
    window_end: Annotated[AwareDatetime, AfterValidator(within_years)]
    direction: Literal["deliver", "collect"] = "deliver"
    category: Literal["hazmat", "hazwaste", "goods"] | None = None
    waybill_no: str | None = Text64
    waybill_consignor: str | None = Field(default=None, max_length=200)
    waybill_consignee: str | None = Field(default=None, max_length=200)
    waybill_vehicle: str | None = Field(default=None, max_length=20, description=(
        "The tractor's plate as the waybill names it (G14: one waybill, one vehicle)"))
    waybill_trailer: str | None = Field(default=None, max_length=20)
    manifest_no: str | None = Text64
    toxic_pass_no: str | None = Text64
    toxic_pass_valid_from: ParkDate | None = Field(default=None,
                                                   description="G19: 剧毒 pass dates")
    toxic_pass_valid_until: ParkDate | None = None
    toxic_pass_vehicle: str | None = Field(default=None, max_length=20,
                                           description="The plate the 剧毒 pass names")
    priority: int = Field(default=0, ge=0, le=9)
    cargo: list[CargoLineIn] = Field(default_factory=list, max_length=20)
    enterprise_id: int | None = Field(default=None, ge=1, le=MAX_ID,
                                      description="Park staff only: the booking enterprise")
    submit_anyway: bool = Field(default=False, description=(
        "Save a booking that fails checks, for the park admin to approve or reject"))

    def to_request(self) -> BookingRequest:
        return BookingRequest(
            **self.model_dump(include=set(TRIP_FIELDS)),
            cargo=[CargoRequest(c.un_number, c.quantity, c.unit, c.packages, c.special_provision)
                   for c in self.cargo],
            enterprise_id=self.enterprise_id)


class ReasonOut(BaseModel):
    code: str
    rule: str
    severity: str
    params: dict[str, str]
    message_zh: str
    message_en: str


class FindingsOut(BaseModel):
    failures: list[ReasonOut]
    warnings: list[ReasonOut]
    notes: list[ReasonOut]


class CargoOut(BaseModel):
    un_number: str
    name_zh: str
    hazard_class: str
    quantity: float
    unit: str
    quantity_kg: float


class BookingOut(BaseModel):
    id: int
    code: str
    state: str
    state_reason: str | None
    category: str
    direction: str
    enterprise_id: int
    plant_id: int
    vehicle_id: int
    vehicle_plate: str
    trailer_id: int | None
    driver_id: int | None
    escort_id: int | None
    window_start: datetime
    window_end: datetime
    waybill_no: str | None
    waybill_consignor: str | None
    waybill_consignee: str | None
    waybill_vehicle: str | None = None
    waybill_trailer: str | None = None
    manifest_no: str | None
    toxic_pass_no: str | None
    toxic_pass_valid_from: date | None = None
    toxic_pass_valid_until: date | None = None
    toxic_pass_vehicle: str | None = None
    cargo: list[CargoOut]
    findings: FindingsOut | None = None


class BookingList(BaseModel):
    items: list[BookingOut]
    total: int


class BookingQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    state: str | None = Field(default=None, max_length=20)
    day: ParkDate | None = Field(default=None, description="Park-local date the window touches")
    q: str | None = Field(default=None, max_length=20, description="Plate or booking code")
    limit: int = Field(default=50, ge=1, le=500)
    offset: int = Field(default=0, ge=0, le=MAX_ID)


class ReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str | None = Field(default=None, max_length=500)


class CancelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=500)
