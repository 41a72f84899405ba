"""The mixed-loading matrix (DOMAIN §5, §9) and the G21 exemption."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from rules.exemptions import exempt_as_ordinary_goods
from rules.mixing import conflicts, groups_conflict
from rules.policy import ParkPolicy


@dataclass
class Line:
    un_number: str
    hazard_class: str
    subsidiary_risks: list[str] = field(default_factory=list)
    special_provision: str | None = None
    quantity_kg: float = 1000.0
    packages: int | None = None


PETROL = Line("UN1203", "3")
ACID = Line("UN1830", "8")
BLASTING = Line("UN0081", "1.1D")


def test_domain_test_vectors():
    assert conflicts([PETROL, ACID]) == []  # 3 + 8: allowed
    assert conflicts([PETROL, BLASTING])  # any 3 + 1.1D: prohibited


@pytest.mark.parametrize(("a", "b"), [("2.1", "5.1"), ("6.1", "8"), ("4.3", "9"), ("7", "3"),
                                      ("6.2", "2.3"), ("5.2", "4.2")])
def test_any_two_general_classes_mix(a, b):
    assert conflicts([Line("UN1", a), Line("UN2", b)]) == []


@pytest.mark.parametrize("other", ["2.1", "3", "8", "9", "1.4S", "1.1D", "1.5D", "6.1"])
def test_class_1_mixes_with_nothing_else(other):
    for expl in ("1.1D", "1.3C", "1.5D", "1.6N"):
        if other == expl:
            continue
        assert conflicts([Line("UN0001", expl), Line("UN0002", other)]), (expl, other)


def test_except_life_saving_appliances():
    assert conflicts([BLASTING, Line("UN2990", "9")]) == []
    assert conflicts([BLASTING, Line("UN3082", "9")])  # other class-9 goods: no


def test_1_4_only_as_1_4S():
    assert conflicts([Line("UN0012", "1.4S"), PETROL]) == []
    assert conflicts([Line("UN0014", "1.4C"), PETROL])
    assert conflicts([Line("UN0012", "1.4S"), Line("UN0323", "1.4S")]) == []


def test_desensitised_and_peroxides_with_explosive_risk_only_with_their_own():
    self_reactive = Line("UN3221", "4.1", ["1"])
    peroxide_x = Line("UN3101", "5.2", ["1"])
    assert conflicts([self_reactive, Line("UN3222", "4.1", ["1"])]) == []
    assert conflicts([self_reactive, PETROL])
    assert conflicts([peroxide_x, Line("UN3105", "5.2")])  # 5.2 x 5.2+1: prohibited (§9)


def test_subsidiary_risks_count():
    methanol = Line("UN1230", "3", ["6.1"])
    assert conflicts([methanol, ACID]) == []
    assert conflicts([methanol, BLASTING])
    assert conflicts([Line("UN9999", "3", ["1.1"]), ACID])  # explosive subsidiary


def test_unknown_labels_are_prohibited():
    assert conflicts([Line("UN1", "10"), PETROL])


def test_between_vehicles_in_a_zone():
    assert groups_conflict([PETROL], [ACID]) == []
    assert groups_conflict([PETROL, ACID], [BLASTING])


POLICY = ParkPolicy()


def test_limited_quantities_up_to_8000_kg_are_ordinary_goods():
    lines = [Line("UN1263", "3", special_provision="limited", quantity_kg=5000),
             Line("UN1993", "3", special_provision="limited", quantity_kg=3000)]
    assert exempt_as_ordinary_goods(lines, POLICY)
    lines[1].quantity_kg = 3001
    assert not exempt_as_ordinary_goods(lines, POLICY)


def test_excepted_quantities_up_to_1000_packages():
    lines = [Line("UN1263", "3", special_provision="excepted", packages=600),
             Line("UN1830", "8", special_provision="excepted", packages=400)]
    assert exempt_as_ordinary_goods(lines, POLICY)
    lines[0].packages = 601
    assert not exempt_as_ordinary_goods(lines, POLICY)


def test_any_fully_regulated_line_makes_it_hazmat():
    assert not exempt_as_ordinary_goods(
        [Line("UN1263", "3", special_provision="limited", quantity_kg=10), PETROL], POLICY)
    assert not exempt_as_ordinary_goods(
        [Line("UN1263", "3", special_provision="limited", quantity_kg=10),
         Line("UN1830", "8", special_provision="excepted", packages=1)], POLICY)
