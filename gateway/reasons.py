"""How the gate words why it decided what it did: for each reason code (rules.reasons:
the code, its DOMAIN.md rule and severity), a message for the booth and a short one
for the LED.

Messages are English msgids with parameters; the gate service renders them in
zh-CN and English from the same catalog as the pages (parkgate.i18n).
"""

from __future__ import annotations

from dataclasses import dataclass

from kernel.errors import N_
from rules.reasons import RULES


@dataclass(frozen=True)
class ReasonSpec:
    code: str
    message: str  # msgid for the booth
    led: str  # msgid for the lane's LED (short)

    @property
    def rule(self) -> str:
        return RULES[self.code][0]

    @property
    def severity(self) -> str:
        return RULES[self.code][1]


def _r(code: str, message: str, led: str) -> ReasonSpec:
    return ReasonSpec(code, message, led)


CATALOG: dict[str, ReasonSpec] = {r.code: r for r in (
    _r("GATE_TYPE",
       N_("This gate does not admit %(category)s vehicles; use the %(hint)s gate."),
       N_("Wrong gate")),
    _r("VEHICLE_UNKNOWN", N_("Plate %(plate)s is not registered in the park."),
       N_("Not registered")),
    _r("PLATE_AMBIGUOUS",
       N_("Plate %(plate)s is registered in several colours; confirm which vehicle this is."),
       N_("Please wait")),
    _r("NO_BOOKING_IN_WINDOW",
       N_("No standing pass and no approved booking for now."), N_("No booking")),
    _r("EMERGENCY_VEHICLE",
       N_("Emergency vehicle: the operator decides and records why."), N_("Emergency")),
    _r("PLATE_UNREADABLE",
       N_("No plate could be read; look at the vehicle and decide, with a reason."),
       N_("Please wait")),
    _r("GOODS_BOOKING_NOT_APPROVED",
       N_("The booking is %(state)s, not approved."), N_("Booking not approved")),
    _r("GOODS_OUTSIDE_WINDOW",
       N_("Booked for %(start)s–%(end)s; now is outside that window."), N_("Outside window")),
    _r("BLACKLISTED", N_("%(who)s is blacklisted: %(reason)s."),
       N_("Entry refused")),
    _r("ANTI_PASSBACK",
       N_("No exit recorded since the last entry into this area."), N_("Already inside")),
    _r("NOT_INSIDE",
       N_("No entry recorded for this exit; check the vehicle."), N_("Please wait")),
    _r("LOW_CONFIDENCE_READ",
       N_("Plate read with low confidence (%(confidence)s); confirm the plate."),
       N_("Please wait")),
    _r("BOOKING_NOT_APPROVED", N_("The booking is %(state)s, not approved."),
       N_("Booking not approved")),
    _r("BOOKING_WINDOW_TOO_LONG",
       N_("A hazmat booking may span at most %(hours)s hours."), N_("Booking invalid")),
    _r("ROAD_PERMIT_MISSING",
       N_("%(vehicle)s has no road transport permit on record."), N_("Permit missing")),
    _r("ROAD_PERMIT_EXPIRED",
       N_("The road transport permit of %(vehicle)s expired on %(date)s."),
       N_("Permit expired")),
    _r("ROAD_PERMIT_SCOPE",
       N_("The permit of %(vehicle)s does not cover class %(cls)s."), N_("Outside permit scope")),
    _r("TOXIC_NOT_IN_SCOPE",
       N_("Highly toxic cargo, but the permit of %(vehicle)s does not cover 剧毒."),
       N_("Outside permit scope")),
    _r("ANNUAL_REVIEW_EXPIRED",
       N_("The annual review of %(vehicle)s expired on %(date)s."), N_("Review expired")),
    _r("INSURANCE_EXPIRED",
       N_("The carrier liability insurance of %(vehicle)s expired on %(date)s."),
       N_("Insurance expired")),
    _r("DRIVER_MISSING", N_("The booking names no driver."), N_("No driver")),
    _r("ESCORT_MISSING", N_("A hazmat trip needs an escort (押运员)."),
       N_("No escort")),
    _r("DRIVER_NOT_QUALIFIED",
       N_("Driver %(name)s holds no valid dangerous-goods qualification for class %(cls)s."),
       N_("Driver not qualified")),
    _r("ESCORT_NOT_QUALIFIED",
       N_("Escort %(name)s holds no valid escort qualification for class %(cls)s."),
       N_("Escort not qualified")),
    _r("CREW_NOT_CONFIRMED",
       N_("Check the driver's and escort's ID cards at the booth."), N_("Crew check")),
    _r("WAYBILL_MISSING", N_("No dangerous-goods waybill for this trip."),
       N_("No waybill")),
    _r("WAYBILL_OTHER_VEHICLE",
       N_("The waybill was issued for %(named)s, not %(plate)s."), N_("Waybill mismatch")),
    _r("WAYBILL_USED",
       N_("Waybill %(waybill)s is already used by trip %(code)s: one waybill, one trip."),
       N_("Waybill used")),
    _r("WAYBILL_PARTY_MISMATCH",
       N_("The waybill's %(party)s is %(named)s, not the booked enterprise %(expected)s."),
       N_("Waybill mismatch")),
    _r("MANIFEST_MISSING",
       N_("Hazardous waste needs its transfer manifest (转移联单)."), N_("No manifest")),
    _r("TANK_MEDIUM_NOT_APPROVED",
       N_("The tank of %(vehicle)s is not approved for %(un)s."), N_("Tank not approved")),
    _r("OVERLOADED",
       N_("Cargo %(kg)s kg exceeds the rated load %(rated)s kg."), N_("Overloaded")),
    _r("INSPECTION_EXPIRED",
       N_("The technical inspection of %(vehicle)s expired on %(date)s."),
       N_("Inspection expired")),
    _r("TANK_INSPECTION_EXPIRED",
       N_("The tank inspection of %(vehicle)s expired on %(date)s."),
       N_("Tank inspection expired")),
    _r("GPS_STALE",
       N_("No satellite position from %(vehicle)s for %(minutes)s minutes."),
       N_("Positioning offline")),
    _r("TRAILER_NOT_READ", N_("Read or enter the trailer's plate (%(expected)s)."),
       N_("Trailer check")),
    _r("TRAILER_MISMATCH",
       N_("Trailer %(read)s is not the booked trailer %(expected)s."), N_("Wrong trailer")),
    _r("TRAILER_NOT_BOOKED",
       N_("The booking names no trailer, but %(read)s was read with the tractor."),
       N_("Wrong trailer")),
    _r("TOXIC_PASS_MISSING",
       N_("Highly toxic cargo needs its public-security road transport pass."),
       N_("No toxic pass")),
    _r("TOXIC_PASS_EXPIRED",
       N_("The road transport pass for highly toxic cargo is valid %(start)s to %(end)s."),
       N_("Toxic pass invalid")),
    _r("TOXIC_PASS_OTHER_VEHICLE",
       N_("The road transport pass for highly toxic cargo names %(named)s, not %(plate)s."),
       N_("Toxic pass invalid")),
    _r("MIXED_LOADING_PROHIBITED",
       N_("%(first)s (%(a)s) and %(second)s (%(b)s) may not travel together."),
       N_("Mixed loading")),
    _r("LIMITED_QUANTITY_EXEMPT",
       N_("Limited or excepted quantities only: treated as ordinary goods."), N_("Welcome")),
    _r("MUST_WAIT_IN_LOT",
       N_("Hazmat trips wait in the hazmat lot until their plant is ready."),
       N_("To the hazmat lot")),
    _r("NOT_RELEASED",
       N_("This hazmat trip has not been released from the lot."), N_("Not released")),
    _r("RELEASE_OTHER_PLANT",
       N_("Released for another plant; this gate is %(plant)s."), N_("Wrong plant")),
    _r("OUTSIDE_WINDOW",
       N_("Booked for %(start)s–%(end)s; now is outside that window."), N_("Outside window")),
    _r("WRONG_PLANT", N_("This trip is booked for %(plant)s."),
       N_("Wrong plant")),
    _r("CREW_APART",
       N_("%(name)s is passing apart from their vehicle; an alarm was raised."),
       N_("Welcome")),
    _r("CREW_NOT_CONFIRMED_AT_EXIT",
       N_("The crew's leaving was not confirmed here; until it is, they count as inside and "
          "an alarm is raised."), N_("Goodbye")),
    _r("RELEASE_EXPIRED",
       N_("The release expired at %(deadline)s; the operator decides."), N_("Please wait")),
    _r("LOT_EXCLUDES_CLASS", N_("This lot does not admit class %(cls)s."),
       N_("Not admitted")),
    _r("LOT_NO_ZONE",
       N_("No zone of the lot may take this cargo beside the trucks standing there now; "
          "wait at the entrance, the dispatcher has been told."), N_("Please wait")),
    _r("LOT_FULL",
       N_("The lot holds as many vehicles as it may; wait at the entrance, the dispatcher "
          "has been told."), N_("Please wait")),
    _r("PERSON_UNKNOWN", N_("This person is not registered; check their papers."),
       N_("Please wait")),
)}

# What the LED says when nothing is wrong.
WELCOME = N_("Welcome")


CATALOG.update({r.code: r for r in (
    _r("OFFLINE_SNAPSHOT_STALE",
       N_("The centre is unreachable and the permit copy is too old to decide on."),
       N_("Please wait")),
    _r("OFFLINE_HAZMAT_NEEDS_RELEASE",
       N_("The centre is unreachable: hazmat enters only with a valid release on record."),
       N_("Please wait")),
)})

# Booking-time rules (DOMAIN §3). Failures use "deny"; B05 warnings "warn".
CATALOG.update({r.code: r for r in (
    _r("PLANT_NOT_OF_ENTERPRISE",
       N_("Plant %(plant)s does not belong to %(enterprise)s."), N_("Booking invalid")),
    _r("TRIP_OVERLAP",
       N_("%(who)s is already on trip %(code)s in an overlapping window."),
       N_("Booking invalid")),
    _r("TRIP_OVERLAP_OTHER",
       N_("%(who)s is already booked in an overlapping window."), N_("Booking invalid")),
    _r("PARK_CLOSED",
       N_("The window is outside the park's opening hours (%(hours)s)."), N_("Park closed")),
    _r("PLANT_NOT_RECEIVING",
       N_("%(plant)s does not receive vehicles for the whole window (%(hours)s)."),
       N_("Plant closed")),
    _r("ENTERPRISE_SCOPE",
       N_("%(enterprise)s may not take %(un)s %(name)s in this direction."),
       N_("Outside scope")),
    _r("ENTERPRISE_CAP",
       N_("%(kg)s kg of %(un)s exceeds the per-trip cap of %(enterprise)s (%(cap)s kg)."),
       N_("Over the cap")),
    _r("PERMIT_EXPIRES_SOON",
       N_("The road transport permit of %(vehicle)s expires on %(date)s, soon after the trip."),
       N_("Expires soon")),
    _r("REVIEW_EXPIRES_SOON",
       N_("The annual review of %(vehicle)s expires on %(date)s, soon after the trip."),
       N_("Expires soon")),
    _r("INSURANCE_EXPIRES_SOON",
       N_("The insurance of %(vehicle)s expires on %(date)s, soon after the trip."),
       N_("Expires soon")),
    _r("INSPECTION_EXPIRES_SOON",
       N_("The inspection of %(vehicle)s expires on %(date)s, soon after the trip."),
       N_("Expires soon")),
    _r("TANK_INSPECTION_EXPIRES_SOON",
       N_("The tank inspection of %(vehicle)s expires on %(date)s, soon after the trip."),
       N_("Expires soon")),
    _r("QUALIFICATION_EXPIRES_SOON",
       N_("Certificate %(cert)s of %(name)s expires on %(date)s, soon after the trip."),
       N_("Expires soon")),
)})
