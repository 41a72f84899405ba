"""Booking checks (DOMAIN §3): each rule passes and fails on its own, failures come
all at once with their rule ids, warnings for documents expiring soon after."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from booking.rules import BookingFacts, Overlap, ScopeLine, check_booking
from rules import hours
from rules.policy import ParkPolicy
from rules.views import BlacklistView, CargoView, PersonView, QualificationView, TripView, VehicleView

START = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)  # 09:00 park time, a Monday
END = START + timedelta(hours=4)
FAR = date(2027, 11, 1)
PETROL = CargoView("UN1203", "汽油", "3", (), False, 20000.0)
ACID = CargoView("UN1830", "硫酸", "8", (), False, 1000.0)
CYANIDE = CargoView("UN1689", "氰化钠", "6.1", (), True, 500.0)
EXPLOSIVE = CargoView("UN0081", "A型爆破用炸药", "1.1D", (), False, 100.0)


def vehicle(**kw: object) -> VehicleView:
    base = dict(id=1, plate="苏E12345", colour="yellow", kind="tractor", category="hazmat",
                road_permit_no="苏交运危1", permit_scope=("3", "8"), permit_expires_on=FAR,
                review_expires_on=FAR, inspection_expires_on=FAR, insurance_expires_on=FAR)
    return VehicleView(**{**base, **kw})  # type: ignore[arg-type]


def trailer(**kw: object) -> VehicleView:
    return vehicle(id=2, plate="苏E1234挂", kind="trailer", rated_load_kg=30000.0, **kw)


def person(pid: int, name: str, role: str, **kw: object) -> PersonView:
    quals = (QualificationView(role, f"C{pid}", (), FAR),)
    return PersonView(**{**dict(id=pid, name=name, id_masked="3206**********0011",
                                qualifications=quals), **kw})  # type: ignore[arg-type]


def facts(**kw: object) -> BookingFacts:
    trip = TripView(id=0, code="", state="DRAFT", category="hazmat", direction="deliver",
                    enterprise_id=1, enterprise_name="企业E1", plant_id=1, plant_name="E1 装置",
                    window_start=START, window_end=END, vehicle_id=1, trailer_id=2,
                    trailer_plate="苏E1234挂", driver_id=1, escort_id=2, cargo=(PETROL,),
                    waybill_no="WB1", waybill_consignee="企业E1")
    base = dict(trip=trip, vehicle=vehicle(), trailer=trailer(),
                driver=person(1, "王师傅", "driver"), escort=person(2, "李押运", "escort"),
                policy=ParkPolicy(), plant_enterprise_id=1,
                scope=(ScopeLine("receive", "UN1203", None, 25000.0),
                       ScopeLine("receive", None, "8", None)))
    return BookingFacts(**{**base, **kw})  # type: ignore[arg-type]


def trip_with(**kw: object) -> TripView:
    return replace(facts().trip, **kw)


def codes(f: BookingFacts) -> list[str]:
    return [r.code for r in check_booking(f).failures]


def test_a_clean_booking_passes() -> None:
    result = check_booking(facts())
    assert result.ok and result.failures == () and result.warnings == ()


@pytest.mark.parametrize(("change", "code", "rule"), [
    (dict(vehicle=vehicle(permit_expires_on=date(2026, 11, 22))), "ROAD_PERMIT_EXPIRED", "G11"),
    (dict(vehicle=vehicle(road_permit_no=None)), "ROAD_PERMIT_MISSING", "G11"),
    (dict(vehicle=vehicle(permit_scope=("8",))), "ROAD_PERMIT_SCOPE", "G11"),
    (dict(trailer=trailer(permit_scope=("3",)), trip=trip_with(cargo=(PETROL, ACID))),
     "ROAD_PERMIT_SCOPE", "G11"),
    (dict(vehicle=vehicle(review_expires_on=date(2026, 11, 20))), "ANNUAL_REVIEW_EXPIRED", "G12"),
    (dict(vehicle=vehicle(insurance_expires_on=date(2026, 11, 1))), "INSURANCE_EXPIRED", "G12"),
    (dict(escort=None), "ESCORT_MISSING", "G13"),
    (dict(driver=None), "DRIVER_MISSING", "G13"),
    (dict(driver=person(1, "王师傅", "driver", qualifications=(
        QualificationView("driver", "C1", ("8",), FAR),))), "DRIVER_NOT_QUALIFIED", "G13"),
    (dict(escort=person(2, "李押运", "escort", qualifications=(
        QualificationView("escort", "C2", (), date(2026, 11, 22)),))),
     "ESCORT_NOT_QUALIFIED", "G13"),
    (dict(trip=trip_with(waybill_no=None)), "WAYBILL_MISSING", "G14"),
    (dict(trip=trip_with(waybill_consignee="别的公司")), "WAYBILL_PARTY_MISMATCH", "G14"),
    (dict(trip=trip_with(category="hazwaste")), "MANIFEST_MISSING", "G14"),
    (dict(vehicle=vehicle(is_tank=True, tank_media=("UN1830",),
                          tank_inspection_expires_on=FAR)), "TANK_MEDIUM_NOT_APPROVED", "G15"),
    (dict(trip=trip_with(cargo=(replace(PETROL, quantity_kg=31000.0),)),
          scope=(ScopeLine("receive", "UN1203", None, None),)), "OVERLOADED", "G15"),
    (dict(trailer=trailer(inspection_expires_on=date(2026, 11, 1))), "INSPECTION_EXPIRED", "G16"),
    (dict(vehicle=vehicle(is_tank=True, tank_media=("UN1203",),
                          tank_inspection_expires_on=date(2026, 11, 2))),
     "TANK_INSPECTION_EXPIRED", "G16"),
    (dict(trip=trip_with(cargo=(CYANIDE,)), vehicle=vehicle(permit_scope=("6.1", "toxic")),
          trailer=trailer(permit_scope=("6.1", "toxic")),
          scope=(ScopeLine("receive", "UN1689", None, None),)), "TOXIC_PASS_MISSING", "G19"),
    (dict(trip=trip_with(cargo=(CYANIDE,), toxic_pass_no="剧毒通行证1"),
          vehicle=vehicle(permit_scope=("6.1",)),
          trailer=trailer(permit_scope=("6.1", "toxic")), scope=(ScopeLine("receive", "UN1689", None,
                                                                    None),)),
     "TOXIC_NOT_IN_SCOPE", "G11"),
    (dict(trip=trip_with(cargo=(PETROL, EXPLOSIVE)), vehicle=vehicle(permit_scope=("1", "3")),
          trailer=trailer(permit_scope=("1", "3")),
          scope=(ScopeLine("receive", None, "3", None), ScopeLine("receive", None, "1", None))),
     "MIXED_LOADING_PROHIBITED", "G20"),
    (dict(vehicle=vehicle(blacklist=BlacklistView("违规装载", None))), "BLACKLISTED", "G04"),
    (dict(escort=person(2, "李押运", "escort", blacklist=BlacklistView("冒名", None))),
     "BLACKLISTED", "G04"),
    (dict(trip=trip_with(window_end=START + timedelta(hours=30))), "BOOKING_WINDOW_TOO_LONG",
     "G10"),
    (dict(plant_enterprise_id=2), "PLANT_NOT_OF_ENTERPRISE", "G10"),
    (dict(scope=(ScopeLine("receive", None, "8", None),)), "ENTERPRISE_SCOPE", "B02"),
    (dict(scope=(ScopeLine("ship", "UN1203", None, None),)), "ENTERPRISE_SCOPE", "B02"),
    (dict(scope=(ScopeLine("receive", "UN1203", None, 15000.0),)), "ENTERPRISE_CAP", "B02"),
    (dict(overlaps=(Overlap("苏E12345", "ABC23456"),)), "TRIP_OVERLAP", "B03"),
    (dict(policy=ParkPolicy(opening_hours={"mon": [["10:00", "18:00"]]})), "PARK_CLOSED", "B04"),
    (dict(receiving_hours={"tue": [["08:00", "18:00"]]}), "PLANT_NOT_RECEIVING", "B04"),
])
def test_each_rule_fails_on_its_own(change: dict, code: str, rule: str) -> None:
    result = check_booking(facts(**change))
    assert [r.code for r in result.failures] == [code], result.failures
    assert result.failures[0].rule == rule


def test_documents_must_hold_to_the_end_of_the_window() -> None:
    # Valid at the start (Monday), expired by the end (the window runs into Tuesday).
    long = trip_with(window_start=START + timedelta(hours=10), window_end=START + timedelta(
        hours=20))
    assert "ROAD_PERMIT_EXPIRED" in codes(facts(trip=long, vehicle=vehicle(
        permit_expires_on=date(2026, 11, 23))))
    assert "ROAD_PERMIT_EXPIRED" not in codes(facts(vehicle=vehicle(
        permit_expires_on=date(2026, 11, 23))))  # valid through its last day


def test_every_failure_is_reported_at_once() -> None:
    result = check_booking(facts(
        vehicle=vehicle(permit_expires_on=date(2026, 1, 1), insurance_expires_on=date(2026, 1, 1)),
        escort=None, trip=trip_with(waybill_no=None),
        overlaps=(Overlap("王师傅", "ZZZ22222"),), scope=()))
    assert {r.code for r in result.failures} == {
        "ROAD_PERMIT_EXPIRED", "INSURANCE_EXPIRED", "ESCORT_MISSING", "WAYBILL_MISSING",
        "TRIP_OVERLAP", "ENTERPRISE_SCOPE"}
    assert all(r.rule for r in result.failures)


def test_documents_expiring_soon_after_the_window_warn_but_pass() -> None:
    soon = date(2026, 11, 25)
    result = check_booking(facts(vehicle=vehicle(insurance_expires_on=soon),
                                 driver=person(1, "王师傅", "driver", qualifications=(
                                     QualificationView("driver", "C1", (), soon),))))
    assert result.ok
    assert [(r.code, r.rule) for r in result.warnings] == [
        ("INSURANCE_EXPIRES_SOON", "B05"), ("QUALIFICATION_EXPIRES_SOON", "B05")]


def test_ordinary_goods_skip_the_hazmat_papers_but_not_the_blacklist() -> None:
    goods = trip_with(category="goods", cargo=(), waybill_no=None)
    assert check_booking(facts(trip=goods, escort=None, vehicle=vehicle(road_permit_no=None))).ok
    assert codes(facts(trip=goods, vehicle=vehicle(blacklist=BlacklistView("x", None)))) == [
        "BLACKLISTED"]


def test_limited_quantities_are_ordinary_goods() -> None:
    limited = trip_with(cargo=(replace(PETROL, quantity_kg=500.0, special_provision="limited"),))
    result = check_booking(facts(trip=limited, escort=None))
    assert result.ok and [r.code for r in result.notes] == ["LIMITED_QUANTITY_EXEMPT"]


def test_hours_containment() -> None:
    mon = {"mon": [["08:00", "12:00"], ["13:00", "18:00"]]}
    assert hours.window_within(mon, START, START + timedelta(hours=3))  # 09–12
    assert not hours.window_within(mon, START, START + timedelta(hours=4))  # into lunch
    assert hours.window_within({}, START, START + timedelta(days=3))  # always open
    overnight = {"mon": [["20:00", "24:00"]], "tue": [["00:00", "06:00"]]}
    assert hours.window_within(overnight, START + timedelta(hours=12), START + timedelta(hours=20))
