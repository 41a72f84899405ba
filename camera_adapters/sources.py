"""Where a lane's reads come from, by name: `simulator`, `folder:PATH`, a video file,
or a camera URL (rtsp://, http:// MJPEG). Every one goes through the real reader and
voter; the simulator only stands in for the camera."""

from __future__ import annotations

import queue
import random
import threading
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from kernel import clock

from . import scenes
from .frames import FolderSource, Frame, FrameSource, MotionGate, open_source
from .lane_view import RegionOfInterest
from .pipeline import CameraPipeline
from .plate_read import IMAGE_SUFFIXES, PlateRead
from .reader import PlateReader


class SimulatedCamera:
    """A camera at a lane where a vehicle arrives every `interval_s`: each arrival is a
    photo from `folders` (and their subfolders), seen in `frames_per_vehicle` frames that
    shift, brighten and blur a little as a moving vehicle's would."""

    def __init__(self, folders: Path | list[Path], *, interval_s: float = 8.0,
                 frames_per_vehicle: int = 4, fps: float = 8.0, seed: int = 1) -> None:
        self.folders = [folders] if isinstance(folders, Path) else list(folders)
        self.name = "simulator"
        self.interval_s = interval_s
        self.frames_per_vehicle = frames_per_vehicle
        self.fps = fps
        self.rng = random.Random(seed)

    def photos(self) -> list[Path]:
        return sorted(p for folder in self.folders for p in folder.rglob("*")
                      if p.suffix.lower() in IMAGE_SUFFIXES)

    def jitter(self, image: np.ndarray) -> np.ndarray:
        h, w = image.shape[:2]
        dx, dy = (self.rng.uniform(-0.02, 0.02) * w, self.rng.uniform(-0.02, 0.02) * h)
        moved = cv2.warpAffine(image, np.array([[1, 0, dx], [0, 1, dy]], np.float32), (w, h),
                               borderMode=cv2.BORDER_REPLICATE)
        gain, bias = self.rng.uniform(0.85, 1.15), self.rng.uniform(-15, 15)
        out = cv2.convertScaleAbs(moved, alpha=gain, beta=bias)
        if self.rng.random() < 0.3:
            out = cv2.GaussianBlur(out, (3, 3), 0)
        return out

    def frames(self, stop: threading.Event) -> Iterator[Frame]:
        photos = self.photos()
        self.rng.shuffle(photos)
        index = 0
        while photos and not stop.is_set():
            for path in photos:
                if stop.wait(self.interval_s):
                    return
                image = cv2.imdecode(np.frombuffer(path.read_bytes(), np.uint8), cv2.IMREAD_COLOR)
                if image is None:
                    continue
                for _ in range(self.frames_per_vehicle):
                    # The simulated scene happens on the park's clock (the demo may run
                    # it fast), so its reads are dated as the park dates its decisions.
                    yield Frame(self.jitter(image), clock.now(), index, path.name)
                    index += 1
                    if stop.wait(1 / self.fps):
                        return


def frame_source(spec: str, *, interval_s: float = 8.0) -> tuple[FrameSource, MotionGate | None]:
    if spec == "simulator":
        return SimulatedCamera(scenes.default(), interval_s=interval_s), None
    if spec.startswith("simulator:"):
        return SimulatedCamera(Path(spec[10:]), interval_s=interval_s), None
    if spec.startswith("folder:"):
        return FolderSource(Path(spec[7:]), interval_s=interval_s, repeat=3), None
    # A real camera watches a mostly empty lane: read only when something moves.
    return open_source(spec), MotionGate()


def reads_from(spec: str, lane: str, *, interval_s: float, stop: threading.Event,
               reader: PlateReader | None = None, roi: RegionOfInterest | None = None
               ) -> Iterator[PlateRead]:
    """One PlateRead per vehicle, as they become final, until `stop` or the source ends;
    `roi`: the lane's region of interest in the camera's frames."""
    source, gate = frame_source(spec, interval_s=interval_s)
    reads: queue.Queue[PlateRead] = queue.Queue()
    pipeline = CameraPipeline(source, lane, reads.put, reader=reader, gate=gate,
                              read_source="simulator" if spec.startswith("simulator") else "camera",
                              roi=roi).start()
    try:
        while not stop.is_set():
            try:
                yield reads.get(timeout=0.2)
            except queue.Empty:
                if pipeline.wait(0) and reads.empty():
                    return
    finally:
        pipeline.stop()
