"""The off-the-shelf pipeline bench/plates.py measures ParkGate against stays itself
from one image to the next."""

from __future__ import annotations

import random

import cv2
import numpy as np

from camera_adapters.baseline import BaselineReader
from camera_adapters.synthetic import backgrounds, place_in_scene, render_plate

PLATE = "苏E3K718"


def test_a_scene_read_after_a_tight_crop_is_still_searched(font: str) -> None:
    baseline = BaselineReader()
    # A crop too tight for the detector: read by the recogniser alone (the fallback).
    crop = cv2.resize(render_plate(PLATE, "blue", font), (94, 24), interpolation=cv2.INTER_AREA)
    baseline.read(crop)
    scene = place_in_scene(render_plate(PLATE, "yellow", font), backgrounds(None)[0],
                           random.Random(3))
    # Before the fix, the fallback's switches stayed on: no detection, nothing read.
    assert baseline.read(np.ascontiguousarray(scene)) == PLATE
