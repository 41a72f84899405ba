"""decide(): every gate rule of DOMAIN §2 with a case that passes and one that fails."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from gateway.decide import DENY, DIVERT, HOLD, OPEN, decide
from gateway.snapshot import (
    BlacklistView,
    CargoView,
    LaneView,
    PersonView,
    PlateReadIn,
    QualificationView,
    ReleaseView,
    Snapshot,
    TripView,
    VehicleView,
)
from rules.policy import ParkPolicy

NOW = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)  # 10:00 in the park
FAR = date(2027, 12, 31)

PERIMETER_IN = LaneView(1, "P1-IN", "in", "perimeter", ("hazmat", "hazwaste", "goods"), "park")
PERIMETER_OUT = replace(PERIMETER_IN, id=2, code="P1-OUT", direction="out")
GENERAL_IN = LaneView(3, "P2-IN", "in", "perimeter", ("goods", "small", "pedestrian",
                                                     "emergency"), "park")
LOT_IN = LaneView(4, "L1-IN", "in", "lot", ("hazmat", "hazwaste"), "lot:1", lot_id=1,
                  lot_excluded_classes=("1", "7"), antipassback="hold")
PLANT_IN = LaneView(5, "E1-IN", "in", "plant", ("hazmat", "hazwaste", "goods", "small"),
                    "plant:7", plant_id=7, plant_name="滨江石化 罐区", plant_enterprise_id=3)
PLANT_OUT = replace(PLANT_IN, id=6, code="E1-OUT", direction="out")

TRACTOR = VehicleView(10, "苏E12345", "yellow", "tractor", "hazmat", road_permit_no="P-1",
                      permit_scope=("3", "8"), permit_expires_on=FAR, review_expires_on=FAR,
                      inspection_expires_on=FAR, insurance_expires_on=FAR,
                      gps_last_fix_at=NOW - timedelta(minutes=2), inside=False)
TRAILER = VehicleView(11, "苏E1234挂", "yellow", "trailer", "hazmat", rated_load_kg=30000,
                      is_tank=True, tank_media=("UN1203", "UN1830"), road_permit_no="P-2",
                      permit_scope=("3", "8"), permit_expires_on=FAR, review_expires_on=FAR,
                      inspection_expires_on=FAR, tank_inspection_expires_on=FAR,
                      insurance_expires_on=FAR)
DRIVER = PersonView(20, "王师傅", "320102********1234", ("driver",),
                    (QualificationView("driver", "JS1", ("2", "3", "8"), FAR),))
ESCORT = PersonView(21, "李押运", "320102********5678", ("escort",),
                    (QualificationView("escort", "YY1", ("2", "3", "8"), FAR),))
PETROL = CargoView("UN1203", "汽油", "3", (), False, 20000)
TRIP = TripView(
    id=30, code="ABC23456", state="BOOKED", category="hazmat", direction="deliver",
    enterprise_id=3, enterprise_name="滨江石化有限公司", plant_id=7, plant_name="滨江石化 罐区",
    window_start=NOW - timedelta(hours=1), window_end=NOW + timedelta(hours=2), vehicle_id=10,
    trailer_id=11, trailer_plate="苏E1234挂", driver_id=20, escort_id=21, cargo=(PETROL,),
    waybill_no="WB1", waybill_consignee="滨江石化有限公司", crew_confirmed=True)
READ = PlateReadIn("苏E12345", "yellow", 0.97, NOW, trailer_plate="苏E1234挂",
                   trailer_confidence=0.95)


def snap(lane: LaneView = LOT_IN, **changes: object) -> Snapshot:
    base = Snapshot(lane=lane, policy=ParkPolicy(), vehicle=TRACTOR, plate_matches=1,
                    trailer=TRAILER, trip=TRIP, driver=DRIVER, escort=ESCORT)
    return replace(base, **changes)


def trip(**changes: object) -> TripView:
    return replace(TRIP, **changes)


def codes(decision) -> list[str]:  # type: ignore[no-untyped-def]
    return decision.codes


def rules(decision) -> set[str]:  # type: ignore[no-untyped-def]
    return {r.rule for r in decision.reasons}


# --- the clean paths -------------------------------------------------------------------------

def test_clean_hazmat_truck_checks_in_to_the_lot():
    d = decide(READ, snap(), NOW)
    assert (d.action, d.codes, d.trip_action) == (OPEN, [], "check_in_lot")


@pytest.mark.parametrize(("room", "code"), [("L05", "LOT_FULL"), ("L03", "LOT_NO_ZONE")])
def test_l03_l05_no_bay_in_the_lot_holds_the_truck_at_the_entrance(room, code):
    d = decide(READ, snap(lot_room=room), NOW)
    assert (d.action, d.codes, d.trip_action) == (HOLD, [code], None)
    assert rules(d) == {room}
    # Refused for its papers first: the lot's room is not what it waits for.
    refused = decide(READ, snap(lot_room=room, trip=trip(state="PENDING_APPROVAL")), NOW)
    assert code not in refused.codes
    # Nobody could look (the gate agent offline): decided as before.
    assert decide(READ, snap(lot_room=None), NOW).trip_action == "check_in_lot"


def test_hazmat_at_the_perimeter_is_sent_to_the_lot_first():
    d = decide(READ, snap(PERIMETER_IN), NOW)
    assert d.action == DIVERT and d.codes == ["MUST_WAIT_IN_LOT"] and d.trip_action == "arrive"
    assert rules(d) == {"G22"}


def test_released_hazmat_enters_at_the_perimeter_and_its_plant():
    released = trip(state="RELEASED", release=ReleaseView(7, NOW + timedelta(minutes=20),
                                                          "active"))
    assert decide(READ, snap(PERIMETER_IN, trip=released), NOW).action == OPEN
    d = decide(READ, snap(PLANT_IN, trip=released), NOW)
    assert (d.action, d.trip_action) == (OPEN, "enter_plant")


def test_every_reason_names_its_rule():
    bad = replace(TRACTOR, permit_expires_on=date(2020, 1, 1), gps_last_fix_at=None)
    d = decide(READ, snap(PERIMETER_IN, vehicle=bad), NOW)
    assert all(r["rule"] for r in d.reason_dicts())
    assert {"code": "ROAD_PERMIT_EXPIRED", "rule": "G11"} in [
        {"code": r["code"], "rule": r["rule"]} for r in d.reason_dicts()]


# --- G01 … G08 --------------------------------------------------------------------------------

def test_g01_gate_type():
    assert decide(READ, snap(GENERAL_IN), NOW).action == DENY
    assert "GATE_TYPE" in codes(decide(READ, snap(GENERAL_IN), NOW))
    car = VehicleView(40, "苏A88888", "blue", "car", "small", pass_enterprises=(3,))
    car_read = PlateReadIn("苏A88888", "blue", 0.99, NOW)
    assert decide(car_read, snap(GENERAL_IN, vehicle=car, trip=None, trailer=None), NOW
                  ).action == OPEN


def test_g02_unknown_vehicle_and_no_booking():
    unknown = decide(READ, snap(PERIMETER_IN, vehicle=None, plate_matches=0), NOW)
    assert unknown.action == DENY and unknown.codes == ["VEHICLE_UNKNOWN"]
    no_trip = decide(READ, snap(PERIMETER_IN, trip=None), NOW)
    assert no_trip.action == DENY and "NO_BOOKING_IN_WINDOW" in no_trip.codes
    ambiguous = decide(replace(READ, colour=None), snap(vehicle=None, plate_matches=2), NOW)
    assert ambiguous.action == HOLD


def test_g02_standing_pass_admits_a_car_only_for_its_enterprise_at_plant_gates():
    car = VehicleView(40, "苏A88888", "blue", "car", "small", pass_enterprises=(3,))
    car_read = PlateReadIn("苏A88888", "blue", 0.99, NOW)
    assert decide(car_read, snap(PLANT_IN, vehicle=car, trip=None), NOW).action == OPEN
    other = replace(car, pass_enterprises=(99,))
    assert decide(car_read, snap(PLANT_IN, vehicle=other, trip=None), NOW).action == DENY


def test_g03_emergency_vehicles_wait_for_the_operator():
    fire = VehicleView(50, "苏X1234应急", "white", "rigid", "emergency")
    d = decide(PlateReadIn("苏X1234应急", "white", 0.99, NOW), snap(PERIMETER_IN, vehicle=fire,
                                                                    trip=None), NOW)
    assert d.action == HOLD and d.codes == ["EMERGENCY_VEHICLE"] and rules(d) == {"G03"}


@pytest.mark.parametrize("field", ["vehicle", "trailer", "driver", "escort"])
def test_g04_blacklist(field):
    entry = BlacklistView("违规", None)
    item = {"vehicle": TRACTOR, "trailer": TRAILER, "driver": DRIVER, "escort": ESCORT}[field]
    d = decide(READ, snap(PERIMETER_IN, **{field: replace(item, blacklist=entry)}), NOW)
    assert d.action == DENY and "BLACKLISTED" in d.codes and "G04" in rules(d)


def test_g05_nothing_opens_without_an_explicit_open():
    # An unknown plate, a low-confidence read, an emergency: none of them OPEN.
    for d in (decide(READ, snap(vehicle=None), NOW),
              decide(replace(READ, confidence=0.2), snap(), NOW),
              decide(READ, snap(vehicle=replace(TRACTOR, category="emergency")), NOW)):
        assert d.action != OPEN


def test_g07_anti_passback():
    inside = replace(TRACTOR, inside=True)
    assert decide(READ, snap(PERIMETER_IN, vehicle=inside), NOW).action == DENY
    assert decide(READ, snap(LOT_IN, vehicle=inside), NOW).action == HOLD  # the lot holds
    off = replace(LOT_IN, antipassback="off")
    assert decide(READ, snap(off, vehicle=inside), NOW).action == OPEN
    exit_without_entry = decide(READ, snap(PLANT_OUT, trip=trip(state="AT_PLANT")), NOW)
    assert exit_without_entry.action == HOLD and exit_without_entry.codes == ["NOT_INSIDE"]


def test_g08_low_confidence_holds_never_opens():
    d = decide(replace(READ, confidence=0.5), snap(), NOW)
    assert d.action == HOLD and d.codes == ["LOW_CONFIDENCE_READ"]
    trailer_blurred = decide(replace(READ, trailer_confidence=0.4), snap(), NOW)
    assert trailer_blurred.action == HOLD  # G08 applies to the trailer's read too


# --- hazmat rules G10 … G24 ---------------------------------------------------------------------

def test_g10_booking_must_be_approved_and_at_most_a_day():
    assert decide(READ, snap(trip=trip(state="PENDING_APPROVAL")), NOW).action == DENY
    long = trip(window_end=TRIP.window_start + timedelta(hours=30))
    assert "BOOKING_WINDOW_TOO_LONG" in codes(decide(READ, snap(PERIMETER_IN, trip=long), NOW))


@pytest.mark.parametrize(("lane", "expected"), [(PERIMETER_IN, DENY), (LOT_IN, HOLD)])
def test_g11_road_permit_validity_and_scope(lane, expected):
    expired = replace(TRACTOR, permit_expires_on=date(2026, 11, 21))
    assert decide(READ, snap(lane, vehicle=expired), NOW).action == expected
    narrow = replace(TRAILER, permit_scope=("8",))
    d = decide(READ, snap(lane, trailer=narrow), NOW)
    assert d.action == expected and "ROAD_PERMIT_SCOPE" in d.codes
    class_wide = replace(TRACTOR, permit_scope=("2", "3"))  # "3" covers class 3
    assert "G11" not in rules(decide(READ, snap(lane, vehicle=class_wide), NOW))


def test_g11_permit_valid_through_its_expiry_day():
    today = replace(TRACTOR, permit_expires_on=date(2026, 11, 22))
    assert decide(READ, snap(vehicle=today), NOW).action == OPEN


def test_g11_and_g19_highly_toxic_cargo():
    cyanide = CargoView("UN1689", "氰化钠", "6.1", (), True, 10000)
    toxic_trip = trip(cargo=(cyanide,), toxic_pass_no=None)
    crew = {"driver": replace(DRIVER, qualifications=(QualificationView("driver", "JS1", ("6",),
                                                                         FAR),)),
            "escort": replace(ESCORT, qualifications=(QualificationView("escort", "YY1", ("6",),
                                                                         FAR),))}
    scoped = replace(TRACTOR, permit_scope=("6.1",))
    trailer = replace(TRAILER, permit_scope=("6.1", "toxic"), is_tank=False)
    d = decide(READ, snap(PERIMETER_IN, vehicle=scoped, trailer=trailer, trip=toxic_trip, **crew),
               NOW)
    assert {"TOXIC_NOT_IN_SCOPE", "TOXIC_PASS_MISSING"} <= set(d.codes)
    ok = decide(READ, snap(vehicle=replace(scoped, permit_scope=("6.1", "toxic")),
                           trailer=trailer, trip=replace(toxic_trip, toxic_pass_no="公危1"),
                           **crew), NOW)
    assert ok.action == OPEN, ok.codes


def test_g12_review_and_insurance():
    d = decide(READ, snap(PERIMETER_IN, vehicle=replace(TRACTOR, review_expires_on=None,
                                                         insurance_expires_on=date(2026, 1, 1))),
               NOW)
    assert {"ANNUAL_REVIEW_EXPIRED", "INSURANCE_EXPIRED"} <= set(d.codes)
    assert d.action == DENY


def test_g13_crew_present_qualified_and_confirmed():
    assert "ESCORT_MISSING" in codes(decide(READ, snap(PERIMETER_IN, escort=None), NOW))
    lapsed = replace(DRIVER, qualifications=(QualificationView("driver", "JS1", ("3",),
                                                               date(2026, 11, 1)),))
    assert "DRIVER_NOT_QUALIFIED" in codes(decide(READ, snap(PERIMETER_IN, driver=lapsed), NOW))
    wrong_class = replace(ESCORT, qualifications=(QualificationView("escort", "YY1", ("2",),
                                                                    FAR),))
    assert "ESCORT_NOT_QUALIFIED" in codes(decide(READ, snap(escort=wrong_class), NOW))
    unconfirmed = decide(READ, snap(trip=trip(crew_confirmed=False)), NOW)
    assert unconfirmed.action == HOLD and unconfirmed.codes == ["CREW_NOT_CONFIRMED"]
    presented = decide(replace(READ, crew_presented=True), snap(trip=trip(crew_confirmed=False)),
                       NOW)
    assert presented.action == OPEN


def test_g14_waybill_and_manifest():
    assert "WAYBILL_MISSING" in codes(decide(READ, snap(trip=trip(waybill_no=None)), NOW))
    other = trip(waybill_consignee="别家公司")
    assert "WAYBILL_PARTY_MISMATCH" in codes(decide(READ, snap(PERIMETER_IN, trip=other), NOW))
    collect = trip(direction="collect", waybill_consignee="某客户", waybill_consignor="滨江石化有限公司")
    assert decide(READ, snap(trip=collect), NOW).action == OPEN
    waste = trip(category="hazwaste", manifest_no=None)
    assert "MANIFEST_MISSING" in codes(decide(READ, snap(trip=waste), NOW))


def test_g15_tank_media_and_rated_load():
    methanol = CargoView("UN1230", "甲醇", "3", ("6.1",), False, 10000)
    d = decide(READ, snap(trip=trip(cargo=(methanol,))), NOW)
    assert "TANK_MEDIUM_NOT_APPROVED" in d.codes
    heavy = trip(cargo=(replace(PETROL, quantity_kg=31000),))
    assert "OVERLOADED" in codes(decide(READ, snap(trip=heavy), NOW))
    at_limit = trip(cargo=(replace(PETROL, quantity_kg=30000),))
    assert decide(READ, snap(trip=at_limit), NOW).action == OPEN


def test_g16_inspections_of_vehicle_tank_and_trailer():
    d = decide(READ, snap(PERIMETER_IN, trailer=replace(TRAILER,
                                                         tank_inspection_expires_on=None)), NOW)
    assert "TANK_INSPECTION_EXPIRED" in d.codes and d.action == DENY
    d = decide(READ, snap(PERIMETER_IN, trailer=replace(TRAILER,
                                                         inspection_expires_on=date(2026, 1, 1))),
               NOW)
    assert "INSPECTION_EXPIRED" in d.codes


def test_g17_positioning_must_be_fresh():
    stale = replace(TRACTOR, gps_last_fix_at=NOW - timedelta(minutes=31))
    assert "GPS_STALE" in codes(decide(READ, snap(vehicle=stale), NOW))
    fresh = replace(TRACTOR, gps_last_fix_at=NOW - timedelta(minutes=29))
    assert decide(READ, snap(vehicle=fresh), NOW).action == OPEN


def test_g18_trailer_read_and_matching():
    unread = decide(replace(READ, trailer_plate=None), snap(), NOW)
    assert unread.action == HOLD and unread.codes == ["TRAILER_NOT_READ"]
    swapped = decide(replace(READ, trailer_plate="苏E9999挂"), snap(PERIMETER_IN), NOW)
    assert swapped.action == DENY and "TRAILER_MISMATCH" in swapped.codes


def test_g20_mixed_loading():
    blasting = CargoView("UN0081", "炸药", "1.1D", (), False, 1000)
    d = decide(READ, snap(PERIMETER_IN, trip=trip(cargo=(PETROL, blasting))), NOW)
    assert "MIXED_LOADING_PROHIBITED" in d.codes
    acid = CargoView("UN1830", "硫酸", "8", (), False, 5000)
    assert "MIXED_LOADING_PROHIBITED" not in codes(decide(
        READ, snap(PERIMETER_IN, trip=trip(cargo=(PETROL, acid))), NOW))


def test_g21_limited_quantities_pass_as_ordinary_goods():
    paint = CargoView("UN1263", "涂料", "3", (), False, 2000, special_provision="limited")
    box_truck = replace(TRACTOR, category="goods", permit_scope=())
    d = decide(READ, snap(GENERAL_IN, vehicle=box_truck, trailer=None, driver=DRIVER, escort=None,
                          trip=trip(cargo=(paint,), trailer_id=None)), NOW)
    assert d.action == OPEN and d.codes == ["LIMITED_QUANTITY_EXEMPT"]
    assert d.trip_action == "arrive"


def test_g22_not_released_at_a_plant_gate():
    waiting = trip(state="IN_LOT")
    d = decide(READ, snap(PLANT_IN, trip=waiting), NOW)
    assert d.action == DENY and d.codes == ["NOT_RELEASED"]
    elsewhere = trip(state="RELEASED", release=ReleaseView(99, NOW + timedelta(minutes=10),
                                                           "active"))
    assert "RELEASE_OTHER_PLANT" in codes(decide(READ, snap(PLANT_IN, trip=elsewhere), NOW))


def test_g23_arrival_window_with_grace():
    early = trip(window_start=NOW + timedelta(minutes=31), window_end=NOW + timedelta(hours=3))
    assert "OUTSIDE_WINDOW" in codes(decide(READ, snap(PERIMETER_IN, trip=early), NOW))
    within = trip(window_start=NOW + timedelta(minutes=30), window_end=NOW + timedelta(hours=3))
    assert "OUTSIDE_WINDOW" not in codes(decide(READ, snap(PERIMETER_IN, trip=within), NOW))
    wrong = trip(state="RELEASED", plant_id=8, plant_name="别的装置",
                 release=ReleaseView(8, NOW + timedelta(minutes=10), "active"))
    assert "WRONG_PLANT" in codes(decide(READ, snap(PLANT_IN, trip=wrong), NOW))


def test_g24_exits_are_not_refused_and_move_the_trip():
    inside = replace(TRACTOR, inside=True,
                     blacklist=BlacklistView("banned since entering", None),
                     permit_expires_on=date(2020, 1, 1))
    d = decide(READ, snap(PLANT_OUT, vehicle=inside, trip=trip(state="AT_PLANT")), NOW)
    assert (d.action, d.trip_action) == (OPEN, "leave_plant")
    d = decide(READ, snap(PERIMETER_OUT, vehicle=inside, trip=trip(state="LEAVING")), NOW)
    assert (d.action, d.trip_action) == (OPEN, "exit_park")


def test_l02_failed_recheck_at_the_lot_holds_for_the_dispatcher():
    expired = replace(TRACTOR, inspection_expires_on=date(2026, 11, 1))
    assert decide(READ, snap(LOT_IN, vehicle=expired), NOW).action == HOLD
    assert decide(READ, snap(PERIMETER_IN, vehicle=expired), NOW).action == DENY


def test_l04_lot_excludes_classes():
    radioactive = CargoView("UN2911", "放射性物质", "7", (), False, 100)
    d = decide(READ, snap(LOT_IN, trip=trip(cargo=(radioactive,)),
                          vehicle=replace(TRACTOR, permit_scope=("7",)),
                          trailer=replace(TRAILER, permit_scope=("7",), is_tank=False)), NOW)
    assert d.action == DENY and "LOT_EXCLUDES_CLASS" in d.codes


def test_l08_expired_release_holds_at_the_plant():
    late = trip(state="OVERDUE", release=ReleaseView(7, NOW - timedelta(minutes=5), "overdue"))
    d = decide(READ, snap(PLANT_IN, trip=late), NOW)
    assert d.action == HOLD and "RELEASE_EXPIRED" in d.codes


def test_leaving_the_lot_needs_a_release():
    lot_out = replace(LOT_IN, id=9, code="L1-OUT", direction="out", antipassback="off")
    assert decide(READ, snap(lot_out, trip=trip(state="IN_LOT")), NOW).action == DENY
    assert decide(READ, snap(lot_out, trip=trip(state="RELEASED")), NOW).action == OPEN


def test_g24_crew_on_foot_apart_from_their_vehicle():
    from gateway.decide import PersonPassage, decide_person

    leaving = replace(PERIMETER_OUT, antipassback="off")
    apart = decide_person(PersonPassage(leaving, ESCORT, crew_vehicle_inside=True))
    assert apart.action == OPEN and apart.codes == ["CREW_APART"]
    together = decide_person(PersonPassage(leaving, ESCORT, crew_vehicle_inside=False))
    assert together.codes == []
    entering_alone = decide_person(PersonPassage(replace(PERIMETER_IN, antipassback="off"),
                                                 ESCORT, crew_vehicle_inside=False))
    assert entering_alone.codes == ["CREW_APART"]
