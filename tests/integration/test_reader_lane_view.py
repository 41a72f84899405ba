"""Two vehicles in one frame: the lane reads the one at its barrier, or the one inside
its region of interest, never the neighbour's plate instead."""

from __future__ import annotations

import csv
import random
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from camera_adapters.evaluate import read_image
from camera_adapters.frames import FolderSource, FrameBuffer
from camera_adapters.lane_view import RegionOfInterest
from camera_adapters.pipeline import CameraPipeline
from camera_adapters.plate_read import PlateRead
from camera_adapters.reader import PlateReader
from camera_adapters.synthetic import (
    backgrounds,
    generate_neighbours,
    render_plate,
    two_vehicles,
)
from camera_adapters.voting import PlateVoter, VotingPolicy

NEAR, FAR = "苏E3K718", "皖AD8866"


@pytest.fixture(scope="module")
def reader() -> PlateReader:
    return PlateReader()


def scene(font: str, seed: int) -> tuple[np.ndarray, tuple[float, float], tuple[float, float]]:
    rng = random.Random(seed)
    # A yellow truck plate farther back reads as well as the car's at the barrier.
    return two_vehicles(render_plate(NEAR, "blue", font), render_plate(FAR, "yellow", font),
                        backgrounds(None)[0], rng)


def test_the_vehicle_at_the_barrier_is_read_not_the_one_behind(
        reader: PlateReader, font: str, tmp_path: Path) -> None:
    # Trucks' double-row and new-energy plates farther back often read better than the
    # plate at the barrier: before the nearest-plate rule, three of these eight read
    # the other vehicle's plate, at 0.93–0.998 confidence.
    folder = generate_neighbours(tmp_path, 8, seed=5)
    with (folder / "labels.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        best = reader.read(read_image(folder / row["file"]), want_crop=False).best
        assert best is not None and best.plate == row["plate"], row


def test_a_lane_region_reads_only_the_plate_inside_it(reader: PlateReader, font: str) -> None:
    image, _, far_at = scene(font, 4)
    x, y = far_at
    around_far = RegionOfInterest.parse(f"{max(0, x - 0.12)},{max(0, y - 0.1)},"
                                        f"{min(1, x + 0.12)},{min(1, y + 0.1)}")
    assert reader.read(image, want_crop=False, roi=around_far).best.plate == FAR
    empty_corner = RegionOfInterest.parse("0,0,0.05,0.05")
    assert reader.read(image, want_crop=False, roi=empty_corner).best is None


def test_a_cameras_crop_or_plate_photo_is_read_whatever_the_region(
        reader: PlateReader, font: str) -> None:
    """A camera that cuts the plate itself sends only the plate: the region of the
    lane's scene says nothing about where it lies in the crop."""
    away = RegionOfInterest.parse("0.8,0.8,1,1")
    photo = render_plate(NEAR, "yellow_double", font)  # 440×220: a vendor's rear-plate cut
    assert reader.read(photo, want_crop=False, roi=away).best.plate == NEAR
    crop = cv2.resize(render_plate(NEAR, "blue", font), (188, 60), interpolation=cv2.INTER_AREA)
    assert reader.read(crop, want_crop=False, roi=away).best.plate == NEAR


def test_the_command_line_refuses_a_region_it_cannot_use(tmp_path: Path) -> None:
    from camera_adapters.cli import plates

    image = tmp_path / "x.jpg"
    image.write_bytes(b"not read")
    result = CliRunner().invoke(plates, ["read", "--roi", "0,0,2,1", str(image)])
    assert result.exit_code == 2
    assert "outside the frame" in result.output


def test_a_lane_camera_reads_within_its_region(reader: PlateReader, font: str,
                                               tmp_path: Path) -> None:
    """The region set for a lane's camera (parkgate plates watch --roi, the gate agent's
    --roi) reaches every frame the lane reads."""
    image, near_at, far_at = scene(font, 4)
    folder = tmp_path / "lane"
    folder.mkdir()
    cv2.imwrite(str(folder / "01.jpg"), image)
    x = far_at[0]
    # The far vehicle's half of the frame: the other lane.
    roi = RegionOfInterest.parse("0,0,0.5,1" if x < 0.5 else "0.5,0,1,1")
    assert (near_at[0] < 0.5) != (x < 0.5)
    reads: list[PlateRead] = []
    pipeline = CameraPipeline(FolderSource(folder, repeat=3), "P2-IN", reads.append,
                              reader=reader, voter=PlateVoter(VotingPolicy(early_frames=3)),
                              buffer=FrameBuffer(8), roi=roi)
    pipeline.start()
    assert pipeline.wait(120)
    assert [r.plate for r in reads] == [FAR]
