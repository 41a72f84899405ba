"""Call-forward's arithmetic and the dock figures on the board: pure functions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dispatch import forecast, kpis
from dispatch.forecast import ANY_BAND, ANY_CLASS, UNLOAD, Estimate

T = datetime(2026, 12, 6, 8, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T + timedelta(minutes=minutes)


def test_loads_fall_into_bands_by_weight() -> None:
    assert [forecast.quantity_band(kg) for kg in (0, 5000, 5001, 15000, 25000, 25001, 40000)] \
        == [0, 0, 1, 1, 2, 3, 3]


def test_the_mean_is_exact_at_first_then_follows_the_last_samples() -> None:
    learned = forecast.learn_all([20.0, 30.0, 40.0])
    assert learned == Estimate(3, 30.0)
    steady = forecast.learn_all([20.0] * 100)
    assert steady == Estimate(forecast.WINDOW, 20.0)
    # The plant got a faster pump: after a window's worth of 10-minute unloadings the
    # estimate is much nearer 10 than 20 (an all-time mean would still say 15).
    faster = forecast.learn_all([10.0] * forecast.WINDOW, steady)
    assert faster is not None and faster.mean_min < 14.0


def test_a_prediction_refines_the_plant_by_class_and_load_as_history_grows() -> None:
    cell, cls, plant = forecast.unload_keys("8", 20000.0)
    assert (cell, cls, plant) == ((UNLOAD, "8", 2), (UNLOAD, "8", ANY_BAND),
                                  (UNLOAD, ANY_CLASS, ANY_BAND))
    assert forecast.predict_unload({}, "8", 20000.0, 45) == 45  # the park's default
    # Two unloadings are too few to stand for the plant: still the default.
    assert forecast.predict_unload({plant: Estimate(2, 30.0)}, "8", 20000.0, 45) == 45
    assert forecast.predict_unload({plant: Estimate(40, 30.0)}, "8", 20000.0, 45) == 30.0
    # A class seen 3 times weighs as much as the plant's mean (PRIOR_WEIGHT = 3)...
    learned = {plant: Estimate(40, 30.0), cls: Estimate(3, 40.0)}
    assert forecast.predict_unload(learned, "8", 20000.0, 45) == 35.0
    # ...and one seen 30 times nearly on its own; a load band the same way below it.
    learned[cls] = Estimate(30, 40.0)
    assert round(forecast.predict_unload(learned, "8", 20000.0, 45), 2) == 39.09
    learned[cell] = Estimate(30, 50.0)
    assert round(forecast.predict_unload(learned, "8", 20000.0, 45), 2) == 49.01
    assert forecast.predict_unload(learned, "8", 30000.0, 45) == \
        forecast.predict_unload({plant: learned[plant], cls: learned[cls]}, "8", 30000.0, 45)
    assert forecast.predict_drive({}, 10) == 10
    assert forecast.predict_drive({forecast.DRIVE_KEY: Estimate(2, 7.5)}, 10) == 10
    assert forecast.predict_drive({forecast.DRIVE_KEY: Estimate(3, 7.5)}, 10) == 7.5


def test_the_next_truck_is_called_a_drive_before_the_dock_frees_plus_the_margin() -> None:
    assert forecast.call_time(at(40), 8.0, 2) == at(34)
    assert forecast.call_time(at(40), 8.0, 0) == at(32)


def trip(dock: int, released: float, started: float, ended: float, *,
         at_plant: float | None = None, predicted: float | None = None) -> kpis.TripTimes:
    return kpis.TripTimes(1, at(released - 60), at(released),
                          at(at_plant if at_plant is not None else started), at(ended + 1),
                          dock_id=dock, unload_started=at(started), unload_ended=at(ended),
                          predicted_unload_min=predicted)


def test_the_board_counts_plant_gate_waits_dock_idle_and_prediction_error() -> None:
    trips = [
        trip(1, 0, 10, 40, predicted=30),
        # Called forward: released before the first was done, at the gate at 41, the
        # dock free at 40: 1 minute idle, no wait.
        trip(1, 32, 41, 70, predicted=32),
        # At the gate at 66, the dock still busy until 70: 4 minutes' wait, no idle.
        trip(1, 58, 70, 95, at_plant=66, predicted=30),
        # Released only at 130, after the dock had stood free since 95 for want of a
        # truck: that idle time is not the dispatch's and is not counted.
        trip(1, 130, 140, 170, predicted=30),
    ]
    day = kpis.plant_day(1, trips, 1, at(0), at(200))
    assert day.plant_gate_wait_mean_min == 1.0  # (0 + 0 + 4 + 0) / 4
    assert day.dock_idle_mean_min == 0.5  # (1 + 0) / 2
    assert day.unload_error_mean_min == 2.0  # (0 + 3 + 5 + 0) / 4
    assert day.unload_utilisation == round((30 + 29 + 25 + 30) / 200, 3)
