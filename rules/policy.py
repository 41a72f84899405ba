"""Per-park policy: DOMAIN.md items marked [policy], with our defaults in one place."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from datetime import timedelta
from typing import Any


@dataclass(frozen=True)
class ParkPolicy:
    arrival_grace_min: int = 30  # G23: window start/end slack
    hazmat_window_max_h: int = 24  # G10
    dwell_limit_min: int = 360  # G23: in-park dwell alarm
    gps_max_age_min: int = 30  # G17
    release_deadline_min: int = 30  # L08 default when a plant does not set its own
    lot_max_wait_min: int = 480  # L09
    # L06 call-forward, until a plant has history of its own: an unloading, and the
    # drive from the lot to a plant.
    unload_default_min: int = 45
    drive_default_min: int = 10
    expiry_warning_days: int = 7  # B05
    auto_approve_bookings: bool = True  # issue "Booking": straight to BOOKED when clean
    require_park_approval_hazmat: bool = False  # G10
    limited_qty_max_kg: float = 8000.0  # G21
    excepted_qty_max_packages: int = 1000  # G21
    lot_before_perimeter: bool = True  # DOMAIN §9 DIVERT_TO_LOT
    image_retention_days: int = 90  # plate crops; events and passages are kept for years
    # Enterprise logistics staff may register their own carriers' vehicles and crews.
    enterprise_self_service: bool = True
    # Park opening hours per weekday (B04); an empty mapping means always open.
    opening_hours: dict[str, list[list[str]]] = field(default_factory=dict)

    @property
    def arrival_grace(self) -> timedelta:
        return timedelta(minutes=self.arrival_grace_min)

    @classmethod
    def from_mapping(cls, data: dict[str, Any] | None) -> ParkPolicy:
        known = {f.name for f in fields(cls)}
        return replace(cls(), **{k: v for k, v in (data or {}).items() if k in known})
