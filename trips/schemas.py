"""Request and response shapes of the trips API (also its OpenAPI)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class TransitionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: str = Field(min_length=1, max_length=32, description="e.g. approve, cancel, arrive")
    reason: str | None = Field(default=None, max_length=500)
    override: bool = False


class CargoLineOut(BaseModel):
    un_number: str
    name_zh: str
    hazard_class: str
    subsidiary_risks: list[str]
    quantity: float
    unit: str


class TripOut(BaseModel):
    id: int
    code: str
    state: str
    category: str
    direction: str
    enterprise_id: int
    plant_id: int
    vehicle_id: int
    trailer_id: int | None
    driver_id: int | None
    escort_id: int | None
    window_start: datetime
    window_end: datetime
    priority: int
    state_reason: str | None
    cargo: list[CargoLineOut]
    allowed_actions: list[str]
