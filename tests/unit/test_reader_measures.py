"""How the plate reader is measured: Wilson intervals, the fixed held-back third,
second plates skipped, and the confident-wrong rate a lane would act on."""

from __future__ import annotations

from pathlib import Path

import pytest

from camera_adapters.evaluate import Outcome, Report, Sample, held_back, load_samples, wilson


def test_wilson_intervals_match_the_published_values() -> None:
    # Reference values for the 95 % Wilson score interval (z = 1.96).
    assert wilson(0, 10) == pytest.approx((0.0, 0.2775), abs=1e-4)
    assert wilson(10, 10) == pytest.approx((0.7225, 1.0), abs=1e-4)
    assert wilson(81, 263) == pytest.approx((0.2553, 0.3662), abs=1e-4)
    assert wilson(0, 0) == (0.0, 1.0)  # no data says nothing


def test_the_held_back_third_is_fixed_by_file_name(tmp_path: Path) -> None:
    samples = [Sample(tmp_path / f"img_{i:03d}.jpg", "苏A12345", "blue") for i in range(300)]
    kept = [s for s in samples if held_back(s)]
    assert 70 <= len(kept) <= 130  # about a third
    again = [Sample(Path("/elsewhere") / s.path.name, "x", "y") for s in samples]
    assert [held_back(s) for s in again] == [held_back(s) for s in samples]


def test_a_second_plate_in_the_same_photo_is_not_asked_for(tmp_path: Path) -> None:
    (tmp_path / "a.jpg").write_bytes(b"x")
    (tmp_path / "labels.csv").write_text(
        "file,plate,kind,image_type,primary\n"
        "a.jpg,苏A12345,blue,scene,1\n"
        "a.jpg,苏B67890,yellow,scene,0\n"
        "missing.jpg,苏C11111,blue,crop,1\n", encoding="utf-8")
    assert [s.plate for s in load_samples(tmp_path)] == ["苏A12345"]


def test_only_wrong_reads_at_or_above_the_threshold_are_confidently_wrong() -> None:
    truth = Sample(Path("a.jpg"), "苏A12345", "blue")
    report = Report([Outcome(truth, "苏A12345", 1.0, 0.99),  # right
                     Outcome(truth, "苏A12346", 1.0, 0.85),  # wrong, at the threshold
                     Outcome(truth, "苏A12347", 1.0, 0.84),  # wrong, below: a booth confirms
                     Outcome(truth, None, 1.0, None)])      # nothing read
    assert report.confident_wrong(0.85) == 1
    assert report.confident_wrong_rate(0.85) == 0.25
    assert report.confident_right_share(0.85) == (1, 2)
