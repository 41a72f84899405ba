"""Why the gate decided what it did: one reason code per check, each tied to the
DOMAIN.md rule behind it, with a message for the booth and a short one for the LED.

Messages are English msgids with parameters; the gate service renders them in
zh-CN and English from the same catalog as the pages (parkgate.i18n).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kernel.errors import N_


@dataclass(frozen=True)
class ReasonSpec:
    code: str
    rule: str
    severity: str  # deny | hold | divert | info
    message: str  # msgid for the booth
    led: str  # msgid for the lane's LED (short)


def _r(code: str, rule: str, severity: str, message: str, led: str) -> ReasonSpec:
    return ReasonSpec(code, rule, severity, message, led)


CATALOG: dict[str, ReasonSpec] = {r.code: r for r in (
    _r("GATE_TYPE", "G01", "deny",
       N_("This gate does not admit %(category)s vehicles; use the %(hint)s gate."),
       N_("Wrong gate")),
    _r("VEHICLE_UNKNOWN", "G02", "deny", N_("Plate %(plate)s is not registered in the park."),
       N_("Not registered")),
    _r("PLATE_AMBIGUOUS", "G02", "hold",
       N_("Plate %(plate)s is registered in several colours; confirm which vehicle this is."),
       N_("Please wait")),
    _r("NO_BOOKING_IN_WINDOW", "G02", "deny",
       N_("No standing pass and no approved booking for now."), N_("No booking")),
    _r("EMERGENCY_VEHICLE", "G03", "hold",
       N_("Emergency vehicle: the operator decides and records why."), N_("Emergency")),
    _r("PLATE_UNREADABLE", "G06", "hold",
       N_("No plate could be read; look at the vehicle and decide, with a reason."),
       N_("Please wait")),
    _r("GOODS_BOOKING_NOT_APPROVED", "G02", "deny",
       N_("The booking is %(state)s, not approved."), N_("Booking not approved")),
    _r("GOODS_OUTSIDE_WINDOW", "G02", "deny",
       N_("Booked for %(start)s–%(end)s; now is outside that window."), N_("Outside window")),
    _r("BLACKLISTED", "G04", "deny", N_("%(who)s is blacklisted: %(reason)s."),
       N_("Entry refused")),
    _r("ANTI_PASSBACK", "G07", "deny",
       N_("No exit recorded since the last entry into this area."), N_("Already inside")),
    _r("NOT_INSIDE", "G07", "hold",
       N_("No entry recorded for this exit; check the vehicle."), N_("Please wait")),
    _r("LOW_CONFIDENCE_READ", "G08", "hold",
       N_("Plate read with low confidence (%(confidence)s); confirm the plate."),
       N_("Please wait")),
    _r("BOOKING_NOT_APPROVED", "G10", "deny", N_("The booking is %(state)s, not approved."),
       N_("Booking not approved")),
    _r("BOOKING_WINDOW_TOO_LONG", "G10", "deny",
       N_("A hazmat booking may span at most %(hours)s hours."), N_("Booking invalid")),
    _r("ROAD_PERMIT_MISSING", "G11", "deny",
       N_("%(vehicle)s has no road transport permit on record."), N_("Permit missing")),
    _r("ROAD_PERMIT_EXPIRED", "G11", "deny",
       N_("The road transport permit of %(vehicle)s expired on %(date)s."),
       N_("Permit expired")),
    _r("ROAD_PERMIT_SCOPE", "G11", "deny",
       N_("The permit of %(vehicle)s does not cover class %(cls)s."), N_("Outside permit scope")),
    _r("TOXIC_NOT_IN_SCOPE", "G11", "deny",
       N_("Highly toxic cargo, but the permit of %(vehicle)s does not cover 剧毒."),
       N_("Outside permit scope")),
    _r("ANNUAL_REVIEW_EXPIRED", "G12", "deny",
       N_("The annual review of %(vehicle)s expired on %(date)s."), N_("Review expired")),
    _r("INSURANCE_EXPIRED", "G12", "deny",
       N_("The carrier liability insurance of %(vehicle)s expired on %(date)s."),
       N_("Insurance expired")),
    _r("DRIVER_MISSING", "G13", "deny", N_("The booking names no driver."), N_("No driver")),
    _r("ESCORT_MISSING", "G13", "deny", N_("A hazmat trip needs an escort (押运员)."),
       N_("No escort")),
    _r("DRIVER_NOT_QUALIFIED", "G13", "deny",
       N_("Driver %(name)s holds no valid dangerous-goods qualification for class %(cls)s."),
       N_("Driver not qualified")),
    _r("ESCORT_NOT_QUALIFIED", "G13", "deny",
       N_("Escort %(name)s holds no valid escort qualification for class %(cls)s."),
       N_("Escort not qualified")),
    _r("CREW_NOT_CONFIRMED", "G13", "hold",
       N_("Check the driver's and escort's ID cards at the booth."), N_("Crew check")),
    _r("WAYBILL_MISSING", "G14", "deny", N_("No dangerous-goods waybill for this trip."),
       N_("No waybill")),
    _r("WAYBILL_OTHER_VEHICLE", "G14", "deny",
       N_("The waybill was issued for %(named)s, not %(plate)s."), N_("Waybill mismatch")),
    _r("WAYBILL_USED", "G14", "deny",
       N_("Waybill %(waybill)s is already used by trip %(code)s: one waybill, one trip."),
       N_("Waybill used")),
    _r("WAYBILL_PARTY_MISMATCH", "G14", "deny",
       N_("The waybill's %(party)s is %(named)s, not the booked enterprise %(expected)s."),
       N_("Waybill mismatch")),
    _r("MANIFEST_MISSING", "G14", "deny",
       N_("Hazardous waste needs its transfer manifest (转移联单)."), N_("No manifest")),
    _r("TANK_MEDIUM_NOT_APPROVED", "G15", "deny",
       N_("The tank of %(vehicle)s is not approved for %(un)s."), N_("Tank not approved")),
    _r("OVERLOADED", "G15", "deny",
       N_("Cargo %(kg)s kg exceeds the rated load %(rated)s kg."), N_("Overloaded")),
    _r("INSPECTION_EXPIRED", "G16", "deny",
       N_("The technical inspection of %(vehicle)s expired on %(date)s."),
       N_("Inspection expired")),
    _r("TANK_INSPECTION_EXPIRED", "G16", "deny",
       N_("The tank inspection of %(vehicle)s expired on %(date)s."),
       N_("Tank inspection expired")),
    _r("GPS_STALE", "G17", "deny",
       N_("No satellite position from %(vehicle)s for %(minutes)s minutes."),
       N_("Positioning offline")),
    _r("TRAILER_NOT_READ", "G18", "hold", N_("Read or enter the trailer's plate (%(expected)s)."),
       N_("Trailer check")),
    _r("TRAILER_MISMATCH", "G18", "deny",
       N_("Trailer %(read)s is not the booked trailer %(expected)s."), N_("Wrong trailer")),
    _r("TRAILER_NOT_BOOKED", "G18", "deny",
       N_("The booking names no trailer, but %(read)s was read with the tractor."),
       N_("Wrong trailer")),
    _r("TOXIC_PASS_MISSING", "G19", "deny",
       N_("Highly toxic cargo needs its public-security road transport pass."),
       N_("No toxic pass")),
    _r("TOXIC_PASS_EXPIRED", "G19", "deny",
       N_("The road transport pass for highly toxic cargo is valid %(start)s to %(end)s."),
       N_("Toxic pass invalid")),
    _r("TOXIC_PASS_OTHER_VEHICLE", "G19", "deny",
       N_("The road transport pass for highly toxic cargo names %(named)s, not %(plate)s."),
       N_("Toxic pass invalid")),
    _r("MIXED_LOADING_PROHIBITED", "G20", "deny",
       N_("%(first)s (%(a)s) and %(second)s (%(b)s) may not travel together."),
       N_("Mixed loading")),
    _r("LIMITED_QUANTITY_EXEMPT", "G21", "info",
       N_("Limited or excepted quantities only: treated as ordinary goods."), N_("Welcome")),
    _r("MUST_WAIT_IN_LOT", "G22", "divert",
       N_("Hazmat trips wait in the hazmat lot until their plant is ready."),
       N_("To the hazmat lot")),
    _r("NOT_RELEASED", "G22", "deny",
       N_("This hazmat trip has not been released from the lot."), N_("Not released")),
    _r("RELEASE_OTHER_PLANT", "G22", "deny",
       N_("Released for another plant; this gate is %(plant)s."), N_("Wrong plant")),
    _r("OUTSIDE_WINDOW", "G23", "deny",
       N_("Booked for %(start)s–%(end)s; now is outside that window."), N_("Outside window")),
    _r("WRONG_PLANT", "G23", "deny", N_("This trip is booked for %(plant)s."),
       N_("Wrong plant")),
    _r("CREW_APART", "G24", "info",
       N_("%(name)s is passing apart from their vehicle; an alarm was raised."),
       N_("Welcome")),
    _r("CREW_NOT_CONFIRMED_AT_EXIT", "G24", "info",
       N_("The crew's leaving was not confirmed here; until it is, they count as inside and "
          "an alarm is raised."), N_("Goodbye")),
    _r("RELEASE_EXPIRED", "L08", "hold",
       N_("The release expired at %(deadline)s; the operator decides."), N_("Please wait")),
    _r("LOT_EXCLUDES_CLASS", "L04", "deny", N_("This lot does not admit class %(cls)s."),
       N_("Not admitted")),
    _r("LOT_NO_ZONE", "L03", "hold",
       N_("No zone of the lot may take this cargo beside the trucks standing there now; "
          "wait at the entrance, the dispatcher has been told."), N_("Please wait")),
    _r("LOT_FULL", "L05", "hold",
       N_("The lot holds as many vehicles as it may; wait at the entrance, the dispatcher "
          "has been told."), N_("Please wait")),
    _r("PERSON_UNKNOWN", "G02", "hold", N_("This person is not registered; check their papers."),
       N_("Please wait")),
)}

# What the LED says when nothing is wrong.
WELCOME = N_("Welcome")


@dataclass(frozen=True)
class Reason:
    code: str
    params: dict[str, Any] = field(default_factory=dict)
    # A lane's policy may soften a rule (G07: deny or hold per lane).
    severity_override: str | None = None

    @property
    def spec(self) -> ReasonSpec:
        return CATALOG[self.code]

    @property
    def rule(self) -> str:
        return self.spec.rule

    @property
    def severity(self) -> str:
        return self.severity_override or self.spec.severity

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "rule": self.rule, "severity": self.severity,
                "params": {k: str(v) for k, v in self.params.items()}}

CATALOG.update({r.code: r for r in (
    _r("OFFLINE_SNAPSHOT_STALE", "G05", "hold",
       N_("The centre is unreachable and the permit copy is too old to decide on."),
       N_("Please wait")),
    _r("OFFLINE_HAZMAT_NEEDS_RELEASE", "G05", "hold",
       N_("The centre is unreachable: hazmat enters only with a valid release on record."),
       N_("Please wait")),
)})

# Booking-time rules (DOMAIN §3). Failures use "deny"; B05 warnings "warn".
CATALOG.update({r.code: r for r in (
    _r("PLANT_NOT_OF_ENTERPRISE", "G10", "deny",
       N_("Plant %(plant)s does not belong to %(enterprise)s."), N_("Booking invalid")),
    _r("TRIP_OVERLAP", "B03", "deny",
       N_("%(who)s is already on trip %(code)s in an overlapping window."),
       N_("Booking invalid")),
    _r("TRIP_OVERLAP_OTHER", "B03", "deny",
       N_("%(who)s is already booked in an overlapping window."), N_("Booking invalid")),
    _r("PARK_CLOSED", "B04", "deny",
       N_("The window is outside the park's opening hours (%(hours)s)."), N_("Park closed")),
    _r("PLANT_NOT_RECEIVING", "B04", "deny",
       N_("%(plant)s does not receive vehicles for the whole window (%(hours)s)."),
       N_("Plant closed")),
    _r("ENTERPRISE_SCOPE", "B02", "deny",
       N_("%(enterprise)s may not take %(un)s %(name)s in this direction."),
       N_("Outside scope")),
    _r("ENTERPRISE_CAP", "B02", "deny",
       N_("%(kg)s kg of %(un)s exceeds the per-trip cap of %(enterprise)s (%(cap)s kg)."),
       N_("Over the cap")),
    _r("PERMIT_EXPIRES_SOON", "B05", "warn",
       N_("The road transport permit of %(vehicle)s expires on %(date)s, soon after the trip."),
       N_("Expires soon")),
    _r("REVIEW_EXPIRES_SOON", "B05", "warn",
       N_("The annual review of %(vehicle)s expires on %(date)s, soon after the trip."),
       N_("Expires soon")),
    _r("INSURANCE_EXPIRES_SOON", "B05", "warn",
       N_("The insurance of %(vehicle)s expires on %(date)s, soon after the trip."),
       N_("Expires soon")),
    _r("INSPECTION_EXPIRES_SOON", "B05", "warn",
       N_("The inspection of %(vehicle)s expires on %(date)s, soon after the trip."),
       N_("Expires soon")),
    _r("TANK_INSPECTION_EXPIRES_SOON", "B05", "warn",
       N_("The tank inspection of %(vehicle)s expires on %(date)s, soon after the trip."),
       N_("Expires soon")),
    _r("QUALIFICATION_EXPIRES_SOON", "B05", "warn",
       N_("Certificate %(cert)s of %(name)s expires on %(date)s, soon after the trip."),
       N_("Expires soon")),
)})
