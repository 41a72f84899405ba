"""Lot rules as pure functions: segregation (L03/L04), release order (L06), KPIs."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from dispatch import kpis
from dispatch.ordering import Waiting, next_to_release, queue_order
from dispatch.zoning import Placement, Refusal, ZoneView, excluded, place
from rules import mixing

T0 = datetime(2026, 11, 22, 0, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Line:
    un_number: str
    hazard_class: str
    subsidiary_risks: tuple[str, ...] = field(default_factory=tuple)


SAMPLES = [Line("UN1203", "3"), Line("UN1830", "8"), Line("UN1005", "2.3", ("8",)),
           Line("UN0081", "1.1D"), Line("UN0012", "1.4S"), Line("UN0336", "1.4G"),
           Line("UN2990", "9"), Line("UN3221", "4.1", ("1",)), Line("UN3101", "5.2", ("1",)),
           Line("UN3103", "5.2"), Line("UN1942", "5.1"), Line("UN1689", "6.1"),
           Line("UN2814", "6.2"), Line("UN1428", "4.3"), Line("UN2915", "7")]
EVERYTHING = frozenset({"1", "1.4", "1.4S", "2", "3", "4.1", "4.2", "4.3", "5.1", "5.2", "6.1",
                        "6.2", "7", "8", "9"})


def zone(zid: int, *, occupants=(), bays=3, accepted=EVERYTHING) -> ZoneView:  # type: ignore[no-untyped-def]
    free = tuple((zid * 100 + i, f"Z{zid}-{i}") for i in range(bays - len(occupants)))
    return ZoneView(zid, f"Z{zid}", frozenset(accepted), free, bays, tuple(occupants))


@pytest.mark.parametrize(("a", "b"), list(itertools.combinations(SAMPLES, 2)))
def test_incompatible_cargo_never_shares_a_zone(a: Line, b: Line) -> None:
    """L03: fill one zone with `a`; `b` joins it only if the matrix allows every pair."""
    result = place([b], [zone(1, occupants=[(a,)])])
    allowed = not mixing.groups_conflict([a], [b])
    assert isinstance(result, Placement) == allowed, (a, b)
    # With a second, empty zone, an incompatible truck always goes there instead.
    result = place([b], [zone(1, occupants=[(a,)]), zone(2)])
    assert isinstance(result, Placement)
    if not allowed:
        assert result.zone_id == 2


def test_every_label_must_be_accepted_by_the_zone_table() -> None:
    ammonia = [Line("UN1005", "2.3", ("8",))]
    assert isinstance(place(ammonia, [zone(1, accepted={"2"})]), Refusal)  # its 8 is not
    assert isinstance(place(ammonia, [zone(1, accepted={"2", "8"})]), Placement)
    refusal = place(ammonia, [zone(1, accepted={"3"})])
    assert isinstance(refusal, Refusal) and "not accepted" in refusal.reasons["Z1"]


def test_a_full_zone_takes_nobody_and_capacity_is_never_exceeded() -> None:
    petrol = (Line("UN1203", "3"),)
    full = zone(1, occupants=[petrol, petrol, petrol], bays=3)
    result = place(list(petrol), [full])
    assert isinstance(result, Refusal) and result.reasons["Z1"] == "full"


def test_like_goes_with_like_then_the_fullest_zone() -> None:
    petrol, acid = (Line("UN1203", "3"),), (Line("UN1830", "8"),)
    zones = [zone(1, occupants=[acid]), zone(2, occupants=[petrol]),
             zone(3, occupants=[petrol, petrol])]
    result = place(list(petrol), zones)
    assert isinstance(result, Placement) and result.zone_code == "Z3"


def test_the_lot_excludes_classes_including_1_4s() -> None:
    assert excluded(["1", "7"], [Line("UN0012", "1.4S"), Line("UN1203", "3")]) == ["1.4S"]
    assert excluded(["1", "7"], [Line("UN2915", "7")]) == ["7"]
    assert excluded(["1", "7"], [Line("UN1203", "3")]) == []


def w(tid: int, *, priority: int = 0, start: int = 0, arrived: int = 0, rank=None,  # type: ignore[no-untyped-def]
      held=False) -> Waiting:
    return Waiting(tid, priority, T0 + timedelta(hours=start), T0 + timedelta(minutes=arrived),
                   rank, held)


def test_release_order_is_priority_then_window_then_arrival_then_booking() -> None:
    queue = [w(5, start=2, arrived=1), w(4, start=1, arrived=9), w(3, priority=1, start=5),
             w(2, start=1, arrived=9), w(1, start=1, arrived=3)]
    assert [x.trip_id for x in queue_order(queue)] == [3, 1, 2, 4, 5]


def test_a_dispatchers_rank_comes_first_and_held_trips_are_skipped() -> None:
    queue = [w(1), w(2, rank=2), w(3, rank=1), w(4, priority=9, held=True)]
    assert [x.trip_id for x in queue_order(queue)] == [3, 2, 4, 1]
    assert next_to_release(queue).trip_id == 3  # type: ignore[union-attr]
    assert next_to_release([w(4, held=True)]) is None


def test_kpis_of_a_plant_day() -> None:
    def t(checked: int, released: int, at: int, left: int) -> kpis.TripTimes:
        m = lambda x: T0 + timedelta(minutes=x)  # noqa: E731
        return kpis.TripTimes(1, m(checked), m(released), m(at), m(left))

    rows = [t(0, 30, 40, 100), t(10, 100, 110, 200), t(20, 50, 55, 90),
            kpis.TripTimes(1, None, None, None, None, no_show=True)]
    day = kpis.plant_day(1, rows, docks=2, start=T0, end=T0 + timedelta(minutes=200))
    assert day.trips == 3 and day.no_shows == 1
    assert day.mean_wait_min == pytest.approx((30 + 90 + 30) / 3, abs=0.1)
    assert day.p90_wait_min == pytest.approx(78.0, abs=0.1)
    assert day.mean_release_to_arrival_min == pytest.approx((10 + 10 + 5) / 3, abs=0.1)
    # docks busy release→leave: 70 + 100 + 40 = 210 of 2 × 200 minutes
    assert day.dock_utilisation == pytest.approx(210 / 400, abs=0.001)
