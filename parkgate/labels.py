"""Display labels for codes stored in records (states, actions, categories…).

The codes stay stable in the database and the API; people see these labels,
translated through the catalog.
"""

from __future__ import annotations

from .errors import N_

LABELS: dict[str, str] = {
    # trip states
    "PENDING_APPROVAL": N_("Awaiting approval"),
    "REJECTED": N_("Rejected"),
    "BOOKED": N_("Booked"),
    "CANCELLED": N_("Cancelled"),
    "NO_SHOW": N_("No-show"),
    "ARRIVED": N_("Arrived"),
    "IN_LOT": N_("In the lot"),
    "RELEASED": N_("Released"),
    "OVERDUE": N_("Release overdue"),
    "AT_PLANT": N_("At the plant"),
    "LEAVING": N_("Leaving"),
    "CLOSED": N_("Closed"),
    "SENT_AWAY": N_("Sent away"),
    # trip actions
    "approve": N_("Approve"),
    "reject": N_("Reject"),
    "cancel": N_("Cancel"),
    "mark_no_show": N_("Mark no-show"),
    "arrive": N_("Arrive"),
    "check_in_lot": N_("Check in to the lot"),
    "release": N_("Release"),
    "mark_overdue": N_("Mark overdue"),
    "requeue": N_("Back to the queue"),
    "send_away": N_("Send away"),
    "enter_plant": N_("Enter the plant"),
    "leave_plant": N_("Leave the plant"),
    "exit_park": N_("Exit the park"),
    "amend": N_("Amend"),
    # alarms
    "LOT_NO_BAY": N_("No compatible bay"),
    "CREW_APART": N_("Crew apart from their vehicle"),
    "LOT_WAIT_EXCEEDED": N_("Waiting too long in the lot"),
    "PLANT_DWELL_EXCEEDED": N_("Too long in the plant"),
    "RELEASE_DEADLINE_MISSED": N_("Release deadline missed"),
    "RELEASE_RECHECK_FAILED": N_("Papers failed at release"),
    # cargo provisions (G21)
    "limited": N_("Limited quantity"),
    "excepted": N_("Excepted quantity"),
    # vehicle categories
    "hazmat": N_("Hazmat"),
    "hazwaste": N_("Hazardous waste"),
    "goods": N_("Ordinary goods"),
    "small": N_("Small car"),
    "emergency": N_("Emergency"),
    "pedestrian": N_("Pedestrian"),
    # directions
    "deliver": N_("Delivery"),
    "collect": N_("Collection"),
    "in": N_("In"),
    "out": N_("Out"),
    # document states
    "valid": N_("Valid"),
    "expiring": N_("Expiring soon"),
    "expired": N_("Expired"),
    "missing": N_("Missing"),
    # record kinds and nested parts
    "vehicles": N_("Vehicles"),
    "persons": N_("People"),
    "qualifications": N_("Qualifications"),
    "carriers": N_("Carriers"),
    "fixed_registrations": N_("Standing passes"),
    "docks": N_("Docks"),
    "bays": N_("Bays"),
    "material_scope": N_("Materials it may receive or ship"),
    "enterprise_ids": N_("Enterprises it serves"),
    # choices
    "blue": N_("Blue"),
    "yellow": N_("Yellow"),
    "green": N_("Green"),
    "yellow_green": N_("Yellow-green"),
    "white": N_("White"),
    "black": N_("Black"),
    "tractor": N_("Tractor"),
    "trailer": N_("Trailer"),
    "rigid": N_("Rigid truck"),
    "car": N_("Car"),
    "perimeter": N_("Perimeter"),
    "lot": N_("Hazmat lot"),
    "plant": N_("Plant"),
    "deny": N_("Deny"),
    "hold": N_("Hold"),
    "off": N_("Off"),
    "auto": N_("Automatic"),
    "propose": N_("Proposed to the dispatcher"),
    "receive": N_("Receive"),
    "ship": N_("Ship"),
    "vehicle": N_("Vehicle"),
    "person": N_("Person"),
    "driver": N_("Driver"),
    "escort": N_("Escort"),
    "loader": N_("Loader"),
    "visitor": N_("Visitor"),
    "contractor": N_("Contractor"),
    "employee": N_("Employee"),
    # where a read came from
    "camera": N_("camera"),
    "manual": N_("typed by the operator"),
    "vendor": N_("camera (vendor push)"),
    "agent": N_("gate agent"),
    "booth": N_("booth"),
    "crew": N_("with the vehicle"),
    "recheck": N_("decided again"),
    # parties and gate kinds named in reasons
    "consignee": N_("consignee"),
    "consignor": N_("consignor"),
    "general": N_("general"),
    # gate decisions
    "OPEN": N_("Open"),
    "DENY": N_("Deny"),
    "DIVERT_TO_LOT": N_("To the hazmat lot"),
    "HOLD_FOR_OPERATOR": N_("Hold for operator"),
}

AUDIT_ACTIONS: dict[str, str] = {
    "trip.book": N_("Booked"),
    "trip.approve": N_("Approved"),
    "trip.reject": N_("Rejected"),
    "trip.cancel": N_("Cancelled"),
    "trip.mark_no_show": N_("Marked no-show"),
    "trip.arrive": N_("Arrived at the park"),
    "trip.check_in_lot": N_("Checked in to the lot"),
    "trip.release": N_("Released from the lot"),
    "trip.mark_overdue": N_("Release overdue"),
    "trip.requeue": N_("Back to the queue"),
    "trip.send_away": N_("Sent away"),
    "trip.enter_plant": N_("Entered the plant"),
    "trip.leave_plant": N_("Left the plant"),
    "trip.exit_park": N_("Left the park"),
    "trip.amend": N_("Booking amended"),
    "gate.decision": N_("Gate decision"),
    "gate.override": N_("Operator override"),
    "gate.person": N_("Person at the gate"),
    "trip.crew_confirmed": N_("Crew confirmed"),
    "lot.hold": N_("Held in the lot"),
    "lot.unhold": N_("Hold lifted"),
    "lot.reorder": N_("Queue re-ordered"),
    "dock.free": N_("Dock freed"),
    "dock.busy": N_("Dock busy"),
    "alarm.raise": N_("Alarm raised"),
    "alarm.acknowledge": N_("Alarm acknowledged"),
    "bookings.import": N_("Bookings imported"),
    "auth.login": N_("Signed in"),
    "auth.logout": N_("Signed out"),
    "auth.login_failed": N_("Failed sign-in"),
    "auth.locked": N_("Account locked"),
    "record.create": N_("Registered"),
    "record.update": N_("Edited"),
    "record.retire": N_("Retired"),
    "records.import": N_("Imported"),
}


def label(code: str | None) -> str:
    """The untranslated label msgid for a code (templates pass it through _())."""
    if code is None:
        return ""
    return AUDIT_ACTIONS.get(code) or LABELS.get(code) or code
