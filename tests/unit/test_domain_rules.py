"""DOMAIN.md's rules as written, on decide() and the lot rules: emergency vehicles by
their plate (G03), holds a divert must not hide (G13, G18), unbooked trailers (G18),
exits without crew (G24), waybills (G14), 剧毒 passes (G19), unreadable plates (G06),
the rule ids of non-hazmat bookings (G02) and of the lot (L03, L05)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest

from gateway.decide import DENY, DIVERT, HOLD, OPEN, decide
from gateway.snapshot import CargoView, PlateReadIn, ReleaseView, VehicleView
from rules.ids import RULE_IDS
from tests.unit.test_decide import (
    GENERAL_IN,
    LOT_IN,
    NOW,
    PERIMETER_IN,
    PERIMETER_OUT,
    PLANT_IN,
    PLANT_OUT,
    READ,
    TRACTOR,
    snap,
    trip,
)


def by_rule(decision) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {r.code: r.rule for r in decision.reasons}


# --- G03: emergency vehicles, on record or not ------------------------------------------------

@pytest.mark.parametrize("plate", ["苏A1234警", "苏X1234应急", "苏12345应急"])
@pytest.mark.parametrize("lane", [PERIMETER_IN, GENERAL_IN, PLANT_IN, LOT_IN, PERIMETER_OUT])
def test_g03_an_emergency_plate_is_held_for_the_operator_at_any_gate(plate, lane):
    read = PlateReadIn(plate, "white", 0.98, NOW)
    d = decide(read, snap(lane, vehicle=None, trip=None, trailer=None, plate_matches=0), NOW)
    assert d.action == HOLD and d.codes == ["EMERGENCY_VEHICLE"]
    assert by_rule(d) == {"EMERGENCY_VEHICLE": "G03"}


def test_g03_a_fire_engine_known_by_its_record_is_held_too():
    engine = VehicleView(50, "苏E99119", "blue", "rigid", "emergency")
    d = decide(PlateReadIn("苏E99119", "blue", 0.99, NOW),
               snap(PERIMETER_IN, vehicle=engine, trip=None, trailer=None), NOW)
    assert d.action == HOLD and by_rule(d) == {"EMERGENCY_VEHICLE": "G03"}


# --- G06: a plate nobody could read ----------------------------------------------------------

@pytest.mark.parametrize("plate", ["", "  "])
def test_g06_an_unreadable_plate_is_held_for_the_operator(plate):
    d = decide(PlateReadIn(plate, None, 0.0, NOW),
               snap(PERIMETER_IN, vehicle=None, trip=None, trailer=None, plate_matches=0), NOW)
    assert d.action == HOLD and by_rule(d) == {"PLATE_UNREADABLE": "G06"}


# --- G13 / G18: a divert never hides a hold ------------------------------------------------------

def test_g13_a_diverted_truck_whose_crew_is_unconfirmed_is_held_not_diverted():
    d = decide(READ, snap(PERIMETER_IN, trip=trip(crew_confirmed=False)), NOW)
    assert d.action == HOLD
    assert by_rule(d) == {"MUST_WAIT_IN_LOT": "G22", "CREW_NOT_CONFIRMED": "G13"}
    # Once the crew's papers were checked the same truck is diverted.
    confirmed = replace(READ, crew_presented=True)
    again = decide(confirmed, snap(PERIMETER_IN, trip=trip(crew_confirmed=False)), NOW)
    assert again.action == DIVERT and again.codes == ["MUST_WAIT_IN_LOT"]


def test_g18_a_diverted_truck_whose_trailer_was_not_read_is_held():
    unread = replace(READ, trailer_plate=None, trailer_confidence=None)
    d = decide(unread, snap(PERIMETER_IN), NOW)
    assert d.action == HOLD and by_rule(d)["TRAILER_NOT_READ"] == "G18"
    typed = replace(READ, trailer_plate="苏E1234挂", trailer_confidence=1.0)
    assert decide(typed, snap(PERIMETER_IN), NOW).action == DIVERT


def test_g18_a_trailer_the_booking_does_not_name_is_refused():
    solo = trip(trailer_id=None, trailer_plate=None)
    d = decide(READ, snap(PERIMETER_IN, trip=solo, trailer=None), NOW)
    assert d.action == DENY and by_rule(d)["TRAILER_NOT_BOOKED"] == "G18"
    no_trailer = replace(READ, trailer_plate=None, trailer_confidence=None)
    assert decide(no_trailer, snap(PERIMETER_IN, trip=solo, trailer=None), NOW).action == DIVERT


# --- G14: one waybill, one vehicle, one trip -----------------------------------------------------

def test_g14_a_waybill_for_another_vehicle_or_used_by_another_trip_fails():
    other = trip(waybill_vehicle="苏E54321")
    assert by_rule(decide(READ, snap(PERIMETER_IN, trip=other), NOW)).get(
        "WAYBILL_OTHER_VEHICLE") == "G14"
    used = trip(waybill_used_by="XYZ23456")
    d = decide(READ, snap(PERIMETER_IN, trip=used), NOW)
    assert d.action == DENY and by_rule(d).get("WAYBILL_USED") == "G14"
    right = trip(waybill_vehicle="苏E12345", waybill_trailer="苏E1234挂")
    assert decide(READ, snap(PERIMETER_IN, trip=right), NOW).action == DIVERT
    wrong_trailer = trip(waybill_vehicle="苏E12345", waybill_trailer="苏E9999挂")
    assert "WAYBILL_OTHER_VEHICLE" in decide(READ, snap(PERIMETER_IN, trip=wrong_trailer),
                                             NOW).codes


# --- G19: the 剧毒 pass -------------------------------------------------------------------------

CYANIDE = CargoView("UN1689", "固态氰化钠", "6.1", (), True, 10000)


def _toxic(**pass_fields: object):  # type: ignore[no-untyped-def]
    return trip(cargo=(CYANIDE,), toxic_pass_no="公危通1234567", **pass_fields)


def test_g19_a_valid_pass_for_this_vehicle_lets_the_cargo_through():
    toxic_tractor = replace(TRACTOR, permit_scope=("3", "6", "8", "toxic"))
    ok = _toxic(toxic_pass_valid_from=date(2026, 11, 1), toxic_pass_valid_until=date(2026, 11, 30),
                toxic_pass_vehicle="苏E12345")
    d = decide(READ, snap(PERIMETER_IN, trip=ok, vehicle=toxic_tractor), NOW)
    assert not {c for c in d.codes if c.startswith("TOXIC_PASS")}


@pytest.mark.parametrize("fields,code", [
    ({"toxic_pass_valid_until": date(2026, 11, 20), "toxic_pass_vehicle": "苏E12345"},
     "TOXIC_PASS_EXPIRED"),
    ({"toxic_pass_valid_from": date(2026, 11, 25), "toxic_pass_vehicle": "苏E12345"},
     "TOXIC_PASS_EXPIRED"),
    ({"toxic_pass_vehicle": "苏E54321"}, "TOXIC_PASS_OTHER_VEHICLE"),
])
def test_g19_an_expired_pass_or_one_for_another_vehicle_fails(fields, code):
    d = decide(READ, snap(PERIMETER_IN, trip=_toxic(**fields)), NOW)
    assert d.action == DENY and by_rule(d).get(code) == "G19"


# --- G02: a non-hazmat vehicle's booking ---------------------------------------------------------

def test_g02_a_goods_trucks_missing_unapproved_or_late_booking_is_g02():
    lorry = VehicleView(60, "苏E66666", "yellow", "rigid", "goods")
    read = PlateReadIn("苏E66666", "yellow", 0.99, NOW)
    goods = trip(category="goods", vehicle_id=60, trailer_id=None, trailer_plate=None,
                 cargo=(), escort_id=None)
    cases = [
        snap(PERIMETER_IN, vehicle=lorry, trip=None, trailer=None),
        snap(PERIMETER_IN, vehicle=lorry, trip=replace(goods, state="PENDING_APPROVAL"),
             trailer=None),
        snap(PERIMETER_IN, vehicle=lorry, trip=replace(
            goods, window_start=NOW + timedelta(hours=5), window_end=NOW + timedelta(hours=8)),
             trailer=None),
    ]
    for case in cases:
        d = decide(read, case, NOW)
        assert d.action == DENY
        assert set(by_rule(d).values()) == {"G02"}, d.codes


# --- G24: leaving without the crew ----------------------------------------------------------------

@pytest.mark.parametrize("lane,state", [(PERIMETER_OUT, "LEAVING"), (PLANT_OUT, "AT_PLANT")])
def test_g24_a_hazmat_exit_without_its_crew_confirmed_opens_and_says_so(lane, state):
    leaving = trip(state=state)
    d = decide(READ, snap(lane, trip=leaving, vehicle=replace(TRACTOR, inside=True)), NOW)
    assert d.action == OPEN  # an alarm, never a DENY of the exit
    assert by_rule(d) == {"CREW_NOT_CONFIRMED_AT_EXIT": "G24"}
    with_crew = replace(READ, crew_presented=True)
    assert decide(with_crew, snap(lane, trip=leaving, vehicle=replace(TRACTOR, inside=True)),
                  NOW).codes == []


# --- L08 and the catalogue --------------------------------------------------------------------------

def test_every_reason_names_a_rule_domain_md_defines():
    from gateway.reasons import CATALOG
    from rules.reasons import RULES

    assert {spec.rule for spec in CATALOG.values()} <= set(RULE_IDS)
    # Every code has its wording at the gate, and every wording a code and rule.
    assert CATALOG.keys() == RULES.keys()
    assert RULE_IDS["G03"].startswith("§2") and RULE_IDS["L06"].startswith("§4")


def test_a_late_release_is_held_at_the_plant_gate_as_l08_says():
    late = trip(state="OVERDUE", release=ReleaseView(7, NOW - timedelta(minutes=5), "overdue"))
    d = decide(READ, snap(PLANT_IN, trip=late), NOW)
    assert d.action == HOLD and by_rule(d) == {"RELEASE_EXPIRED": "L08"}


def test_the_reason_catalogue_in_docs_is_current():
    from gateway.messages import catalogue_markdown
    from tests import ROOT

    assert (ROOT / "docs/reasons.md").read_text(encoding="utf-8") == catalogue_markdown(), \
        "run: python -m gateway.messages > docs/reasons.md"
