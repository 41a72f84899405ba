"""Reason codes and the rule behind each (DOMAIN.md ids), with its severity: what the
gate, booking and the lot refuse or hold for, as plain data. Their wording (booth
message, LED text) is translated and lives with the gate (gateway/reasons.py); this
module imports nothing of the project."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# code → (rule id, severity: deny | hold | divert | info | warn)
RULES: dict[str, tuple[str, str]] = {
    "GATE_TYPE": ("G01", "deny"),
    "VEHICLE_UNKNOWN": ("G02", "deny"),
    "PLATE_AMBIGUOUS": ("G02", "hold"),
    "NO_BOOKING_IN_WINDOW": ("G02", "deny"),
    "EMERGENCY_VEHICLE": ("G03", "hold"),
    "PLATE_UNREADABLE": ("G06", "hold"),
    "GOODS_BOOKING_NOT_APPROVED": ("G02", "deny"),
    "GOODS_OUTSIDE_WINDOW": ("G02", "deny"),
    "BLACKLISTED": ("G04", "deny"),
    "ANTI_PASSBACK": ("G07", "deny"),
    "NOT_INSIDE": ("G07", "hold"),
    "LOW_CONFIDENCE_READ": ("G08", "hold"),
    "BOOKING_NOT_APPROVED": ("G10", "deny"),
    "BOOKING_WINDOW_TOO_LONG": ("G10", "deny"),
    "ROAD_PERMIT_MISSING": ("G11", "deny"),
    "ROAD_PERMIT_EXPIRED": ("G11", "deny"),
    "ROAD_PERMIT_SCOPE": ("G11", "deny"),
    "TOXIC_NOT_IN_SCOPE": ("G11", "deny"),
    "ANNUAL_REVIEW_EXPIRED": ("G12", "deny"),
    "INSURANCE_EXPIRED": ("G12", "deny"),
    "DRIVER_MISSING": ("G13", "deny"),
    "ESCORT_MISSING": ("G13", "deny"),
    "DRIVER_NOT_QUALIFIED": ("G13", "deny"),
    "ESCORT_NOT_QUALIFIED": ("G13", "deny"),
    "CREW_NOT_CONFIRMED": ("G13", "hold"),
    "WAYBILL_MISSING": ("G14", "deny"),
    "WAYBILL_OTHER_VEHICLE": ("G14", "deny"),
    "WAYBILL_USED": ("G14", "deny"),
    "WAYBILL_PARTY_MISMATCH": ("G14", "deny"),
    "MANIFEST_MISSING": ("G14", "deny"),
    "TANK_MEDIUM_NOT_APPROVED": ("G15", "deny"),
    "OVERLOADED": ("G15", "deny"),
    "INSPECTION_EXPIRED": ("G16", "deny"),
    "TANK_INSPECTION_EXPIRED": ("G16", "deny"),
    "GPS_STALE": ("G17", "deny"),
    "TRAILER_NOT_READ": ("G18", "hold"),
    "TRAILER_MISMATCH": ("G18", "deny"),
    "TRAILER_NOT_BOOKED": ("G18", "deny"),
    "TOXIC_PASS_MISSING": ("G19", "deny"),
    "TOXIC_PASS_EXPIRED": ("G19", "deny"),
    "TOXIC_PASS_OTHER_VEHICLE": ("G19", "deny"),
    "MIXED_LOADING_PROHIBITED": ("G20", "deny"),
    "LIMITED_QUANTITY_EXEMPT": ("G21", "info"),
    "MUST_WAIT_IN_LOT": ("G22", "divert"),
    "NOT_RELEASED": ("G22", "deny"),
    "RELEASE_OTHER_PLANT": ("G22", "deny"),
    "OUTSIDE_WINDOW": ("G23", "deny"),
    "WRONG_PLANT": ("G23", "deny"),
    "CREW_APART": ("G24", "info"),
    "CREW_NOT_CONFIRMED_AT_EXIT": ("G24", "info"),
    "RELEASE_EXPIRED": ("L08", "hold"),
    "LOT_EXCLUDES_CLASS": ("L04", "deny"),
    "LOT_NO_ZONE": ("L03", "hold"),
    "LOT_FULL": ("L05", "hold"),
    "PERSON_UNKNOWN": ("G02", "hold"),
    "OFFLINE_SNAPSHOT_STALE": ("G05", "hold"),
    "OFFLINE_HAZMAT_NEEDS_RELEASE": ("G05", "hold"),
    "PLANT_NOT_OF_ENTERPRISE": ("G10", "deny"),
    "TRIP_OVERLAP": ("B03", "deny"),
    "TRIP_OVERLAP_OTHER": ("B03", "deny"),
    "PARK_CLOSED": ("B04", "deny"),
    "PLANT_NOT_RECEIVING": ("B04", "deny"),
    "ENTERPRISE_SCOPE": ("B02", "deny"),
    "ENTERPRISE_CAP": ("B02", "deny"),
    "PERMIT_EXPIRES_SOON": ("B05", "warn"),
    "REVIEW_EXPIRES_SOON": ("B05", "warn"),
    "INSURANCE_EXPIRES_SOON": ("B05", "warn"),
    "INSPECTION_EXPIRES_SOON": ("B05", "warn"),
    "TANK_INSPECTION_EXPIRES_SOON": ("B05", "warn"),
    "QUALIFICATION_EXPIRES_SOON": ("B05", "warn"),
}


@dataclass(frozen=True)
class Reason:
    code: str
    params: dict[str, Any] = field(default_factory=dict)
    # A lane's policy may soften a rule (G07: deny or hold per lane).
    severity_override: str | None = None

    @property
    def rule(self) -> str:
        return RULES[self.code][0]

    @property
    def severity(self) -> str:
        return self.severity_override or RULES[self.code][1]

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "rule": self.rule, "severity": self.severity,
                "params": {k: str(v) for k, v in self.params.items()}}
