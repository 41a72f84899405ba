"""The rule ids DOMAIN.md assigns, with the section each comes from. Every reason the
engine or the booking checks can give names one of these (a test holds the reason
catalogue to this list), so an auditor filtering by rule finds every decision that
rests on it."""

from __future__ import annotations

RULE_IDS: dict[str, str] = {
    # §2 Gate rules, every vehicle
    "G01": "§2 gate type admits the vehicle's category",
    "G02": "§2 registration or an approved booking for now",
    "G03": "§2 emergency vehicles: the operator lets them through",
    "G04": "§2 blacklist",
    "G05": "§2 fail closed",
    "G06": "§2 every manual lift recorded (plate or unreadable)",
    "G07": "§2 anti-passback",
    "G08": "§2 read confidence below the lane's threshold",
    # §2 Gate rules, hazmat vehicles additionally
    "G10": "§2 hazmat booking: destination, approvals, one day",
    "G11": "§2 road transport permit and its scope",
    "G12": "§2 annual review and carrier insurance",
    "G13": "§2 driver and escort present and qualified",
    "G14": "§2 one waybill, one vehicle, one trip; hazardous-waste manifest",
    "G15": "§2 tank media and rated load",
    "G16": "§2 vehicle, tank and trailer inspections",
    "G17": "§2 satellite positioning online",
    "G18": "§2 tractor and trailer both read and as booked",
    "G19": "§2 剧毒 cargo needs its public-security pass",
    "G20": "§2 mixed loading",
    "G21": "§2 limited and excepted quantities",
    "G22": "§2 hazmat waits in the lot until released",
    "G23": "§2 booked window; in-park dwell limit",
    "G24": "§2 exit with the crew it came with",
    # §3 Booking rules
    "B01": "§3 every check known in advance, all failures at once",
    "B02": "§3 enterprise material scope and caps",
    "B03": "§3 no overlapping open trip",
    "B04": "§3 park opening and plant receiving hours",
    "B05": "§3 documents expiring before / soon after the window",
    "B06": "§3 enterprises act on their own bookings only",
    # §4 Hazmat lot rules
    "L01": "§4 hazmat waits in the lot, never on park roads",
    "L02": "§4 admission re-checks documents",
    "L03": "§4 zoning: conflicting cargo never shares a zone",
    "L04": "§4 lots may exclude classes 1 and 7",
    "L05": "§4 zone and lot capacity",
    "L06": "§4 release per plant: readiness, free dock or call-forward, order",
    "L07": "§4 documents re-checked at release",
    "L08": "§4 released trip reaches its plant within T minutes",
    "L09": "§4 maximum wait in the lot",
}
