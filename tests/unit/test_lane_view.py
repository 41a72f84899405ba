"""A lane's view of a busy frame: its region of interest and the nearest plate in it."""

from __future__ import annotations

import pytest

from camera_adapters.lane_view import (
    RegionError,
    RegionOfInterest,
    nearer_unread,
    nearest_first,
    same_plate,
)


def box(x: float, y: float, w: float, h: float) -> tuple[tuple[float, float], ...]:
    return ((x, y), (x + w, y), (x + w, y + h), (x, y + h))


def test_a_rectangle_and_a_polygon_are_read_in_fractions_of_the_frame() -> None:
    left_half = RegionOfInterest.parse("0,0,0.5,1")
    assert left_half.contains((400, 500), 1920, 1080)
    assert not left_half.contains((1500, 500), 1920, 1080)
    # The same setting fits the camera's sub-stream at another resolution.
    assert left_half.contains((200, 250), 960, 540)
    lane = RegionOfInterest.parse("0.2,1 0.45,0.3 0.7,0.3 0.9,1")  # a lane in perspective
    assert lane.contains((1100, 800), 1920, 1080)
    assert not lane.contains((150, 400), 1920, 1080)
    assert RegionOfInterest.parse(str(lane)) == lane
    # As a person types it.
    assert RegionOfInterest.parse(" 0, 0, 0.5 ,1 ") == left_half


@pytest.mark.parametrize(("spec", "message"), [
    ("", "empty"),
    ("0,0,1", "x0,y0,x1,y1"),
    ("0,0 1,1", "at least three points"),
    ("0,0,1.5,1", "outside the frame"),
    ("0,0 1,1 0.5,0.5", "no area"),
    ("left half", "not a region of interest"),
    ("0,0,200,300", "fractions"),
    ("0,0 1,1 1,0 0,1", "edges cross"),  # corners out of order: a bow tie, not a lane
])
def test_a_region_that_cannot_work_is_refused_with_a_reason(spec: str, message: str) -> None:
    with pytest.raises(RegionError, match=message):
        RegionOfInterest.parse(spec)


def test_the_clearly_nearer_plate_comes_first_even_when_the_far_one_read_better() -> None:
    far, near = box(900, 300, 160, 50), box(700, 750, 320, 100)
    assert nearest_first([far, near], [True, True]) == 1


def test_a_weak_reading_that_scored_higher_does_not_stay_ahead_of_the_plausible_ones() -> None:
    far, near = box(900, 300, 160, 50), box(700, 750, 320, 100)
    # A weak reading of the far plate first, then the near plate, then the far one read well.
    assert nearest_first([far, near, far], [False, True, True]) == 1
    # Two plausible plates of about one size: the better of them comes first.
    beside = box(1200, 740, 330, 104)
    assert nearest_first([far, near, beside], [False, True, True]) == 1


def test_a_plate_found_twice_is_one_plate_not_a_nearer_one() -> None:
    tight = box(700, 750, 300, 95)
    loose = box(680, 740, 380, 120)  # the same plate, cut wider by the text detector
    assert same_plate(tight, loose)
    assert nearest_first([tight, loose], [True, True]) is None


def test_only_a_plausible_reading_can_be_the_nearest() -> None:
    plate, sign = box(900, 300, 160, 50), box(100, 700, 500, 160)
    assert nearest_first([plate, sign], [True, False]) is None


def test_plates_of_about_the_same_size_keep_the_better_reading_first() -> None:
    # Two vehicles side by side at the same distance: the region of interest decides.
    left, right = box(300, 700, 300, 95), box(1200, 700, 330, 104)
    assert nearest_first([left, right], [True, True]) is None


def test_the_search_goes_on_while_a_clearly_larger_plate_is_unread() -> None:
    far = box(900, 300, 160, 50)
    assert nearer_unread([far], [box(700, 750, 320, 100)])
    assert not nearer_unread([far], [box(100, 100, 150, 48)])  # smaller: farther still
    assert not nearer_unread([far], [box(880, 290, 200, 70)])  # the same plate, looser
