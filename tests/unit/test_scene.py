"""The scene picture a read carries to the booth: the frame downscaled, the plate the
reader acted on outlined, and none for a camera's own tight crop."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

import cv2
import numpy as np

from camera_adapters.frames import Frame
from camera_adapters.pipeline import observe
from camera_adapters.plate_read import PlateRead
from camera_adapters.reader import Reading, ReadResult
from camera_adapters.scene import scene_jpeg
from camera_adapters.voting import PlateVoter, VotingPolicy

PLATE = ((800.0, 700.0), (1100.0, 700.0), (1100.0, 790.0), (800.0, 790.0))


class OneReading:
    """A reader that finds one plate at PLATE, whatever the picture."""

    def read(self, image: np.ndarray, **_: Any) -> ReadResult:
        return ReadResult([Reading("苏E12345", "yellow", "yellow", "single", 0.95, PLATE,
                                   b"\xff\xd8crop", -1.0, True)], 1.0, 1)


def decoded(jpeg: bytes) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)


def is_red(pixel: np.ndarray) -> bool:
    b, g, r = (int(v) for v in pixel)
    return r > 180 and g < 90 and b < 90


def test_the_scene_is_downscaled_and_the_read_plate_outlined() -> None:
    frame = np.full((1080, 1920, 3), 90, np.uint8)
    picture = decoded(scene_jpeg(frame, PLATE))
    assert picture.shape[:2] == (540, 960)
    # The outline sits on the plate's edges at half scale, and nowhere else.
    assert is_red(picture[350, 475]) and is_red(picture[395, 550])
    assert not is_red(picture[370, 475]) and not is_red(picture[100, 100])


def test_a_frame_read_carries_its_scene_to_the_gate_and_a_crop_does_not() -> None:
    at = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
    scene = observe(OneReading(), Frame(np.zeros((1080, 1920, 3), np.uint8), at, 0, "t"),  # type: ignore[arg-type]
                    "P2-IN")
    crop = observe(OneReading(), Frame(np.zeros((44, 140, 3), np.uint8), at, 1, "t"),  # type: ignore[arg-type]
                   "P2-IN")
    assert scene is not None and scene.scene_jpeg is not None
    assert scene.scene_jpeg.startswith(b"\xff\xd8")
    assert crop is not None and crop.scene_jpeg is None
    voter = PlateVoter(VotingPolicy(early_frames=1))
    (read,) = voter.add(scene)
    assert isinstance(read, PlateRead) and read.scene_jpeg == scene.scene_jpeg
    body = read.to_api()
    assert base64.b64decode(body["scene_jpeg_b64"]) == scene.scene_jpeg
