"""Frames from cameras: RTSP, HTTP MJPEG, video files and image folders (OpenCV).

Three things keep a gate camera honest at 3 a.m.: a dropped stream is reopened with
back-off instead of killing the agent; frames wait in a bounded buffer that drops
the oldest when recognition falls behind (a read of the vehicle in front of the
barrier now beats one of where it was ten seconds ago); and a motion/trigger gate
keeps a static scene from being recognised 25 times a second.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np

from .plate_read import IMAGE_SUFFIXES

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Frame:
    image: np.ndarray
    captured_at: datetime
    index: int
    source: str


class FrameSource(Protocol):
    name: str

    def frames(self, stop: threading.Event) -> Iterator[Frame]: ...


# --- reconnecting capture ---------------------------------------------------------------------

@dataclass
class Backoff:
    """Exponential back-off with jitter; reset() after a good read."""

    initial_s: float = 0.5
    factor: float = 2.0
    max_s: float = 30.0
    jitter: float = 0.2
    _next: float = field(default=0.0, init=False)

    def delay(self) -> float:
        self._next = self.initial_s if self._next == 0 else min(self.max_s, self._next * self.factor)
        return self._next * (1 + random.uniform(-self.jitter, self.jitter))

    def reset(self) -> None:
        self._next = 0.0


class Capture(Protocol):
    def isOpened(self) -> bool: ...

    def read(self) -> tuple[bool, Any]: ...

    def release(self) -> None: ...


def _open_cv(url: str) -> Capture:
    capture = cv2.VideoCapture(url, cv2.CAP_FFMPEG) if "://" in url else cv2.VideoCapture(url)
    # Keep the driver's own queue short: we buffer (and drop) ourselves.
    capture.set(cv2.CAP_PROP_BUFFERSIZE, 1)
    return capture


class CaptureSource:
    """An OpenCV VideoCapture that reopens on failure. A video file ends at its end
    (or loops with loop=True); a stream (rtsp://, http://) is retried for ever."""

    def __init__(self, url: str, *, loop: bool = False, opener: Callable[[str], Capture] = _open_cv,
                 backoff: Backoff | None = None, sleep: Callable[[threading.Event, float], bool]
                 | None = None) -> None:
        self.url = url
        self.name = url.split("@")[-1]  # never log credentials embedded in the URL
        self.loop = loop
        self.opener = opener
        self.backoff = backoff or Backoff()
        self._sleep = sleep or (lambda stop, s: stop.wait(s))
        self.is_stream = "://" in url and not url.startswith("file://")
        self.reconnects = 0
        self.failures = 0

    def frames(self, stop: threading.Event) -> Iterator[Frame]:
        index = 0
        while not stop.is_set():
            capture = self.opener(self.url)
            if not capture.isOpened():
                self.failures += 1
                capture.release()
                if not self.is_stream and not self.loop:
                    log.error("cannot open %s", self.name)
                    return
                wait = self.backoff.delay()
                log.warning("cannot open %s; retrying in %.1f s", self.name, wait)
                if self._sleep(stop, wait):
                    return
                continue
            try:
                while not stop.is_set():
                    ok, image = capture.read()
                    if not ok or image is None:
                        break
                    self.backoff.reset()
                    yield Frame(image, datetime.now(UTC), index, self.name)
                    index += 1
            finally:
                capture.release()
            if stop.is_set():
                return
            if not self.is_stream and not self.loop:
                return  # end of the file
            self.reconnects += 1
            wait = self.backoff.delay() if self.is_stream else 0.0
            log.warning("%s dropped; reconnecting in %.1f s", self.name, wait)
            if wait and self._sleep(stop, wait):
                return


class FolderSource:
    """Images in a folder, in name order, each shown `repeat` times `interval_s` apart
    (a vehicle that stays in view for a few frames)."""

    def __init__(self, folder: Path, *, interval_s: float = 0.0, repeat: int = 1,
                 loop: bool = False) -> None:
        self.folder = folder
        self.name = f"folder:{folder}"
        self.interval_s = interval_s
        self.repeat = repeat
        self.loop = loop

    def paths(self) -> list[Path]:
        return sorted(p for p in self.folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)

    def frames(self, stop: threading.Event) -> Iterator[Frame]:
        index = 0
        while True:
            paths = self.paths()
            for path in paths:
                image = cv2.imdecode(np.frombuffer(path.read_bytes(), np.uint8), cv2.IMREAD_COLOR)
                if image is None:
                    log.warning("skipping %s: not an image", path.name)
                    continue
                for _ in range(self.repeat):
                    if stop.is_set() or (self.interval_s and stop.wait(self.interval_s)):
                        return
                    yield Frame(image, datetime.now(UTC), index, path.name)
                    index += 1
            if not self.loop or not paths:
                return


def open_source(spec: str, **options: Any) -> FrameSource:
    """`rtsp://…`, `http(s)://…` (MJPEG), a video file, or a folder of images."""
    path = Path(spec)
    if "://" not in spec and path.is_dir():
        return FolderSource(path, **{k: v for k, v in options.items()
                                     if k in ("interval_s", "repeat", "loop")})
    if "://" not in spec and not path.exists():
        raise ValueError(f"no such camera, file or folder: {spec}")
    return CaptureSource(spec, **{k: v for k, v in options.items() if k in ("loop",)})


# --- bounded buffer ---------------------------------------------------------------------------

class FrameBuffer:
    """Holds at most `capacity` frames; a full buffer drops its oldest frame."""

    def __init__(self, capacity: int = 4) -> None:
        self._frames: deque[Frame] = deque(maxlen=capacity)
        self._ready = threading.Condition()
        self.dropped = 0
        self.closed = False

    def put(self, frame: Frame) -> None:
        with self._ready:
            if len(self._frames) == self._frames.maxlen:
                self.dropped += 1
            self._frames.append(frame)
            self._ready.notify()

    def get(self, timeout: float | None = None) -> Frame | None:
        with self._ready:
            if not self._frames and not self.closed:
                self._ready.wait(timeout)
            return self._frames.popleft() if self._frames else None

    def close(self) -> None:
        with self._ready:
            self.closed = True
            self._ready.notify_all()

    def __len__(self) -> int:
        return len(self._frames)


# --- motion and trigger gating ---------------------------------------------------------------

class MotionGate:
    """Lets a frame through when enough of the scene changed against a slowly
    adapting background, for `hold_s` after that (a truck stopped at the barrier is
    still read), or for `hold_s` after trigger() (a loop detector or the vendor's
    own trigger). A static scene passes nothing."""

    def __init__(self, *, threshold: float = 0.01, hold_s: float = 3.0, width: int = 160,
                 learn: float = 0.05, pixel_delta: int = 25,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.threshold = threshold
        self.hold_s = hold_s
        self.width = width
        self.learn = learn
        self.pixel_delta = pixel_delta
        self.clock = clock
        self._background: np.ndarray | None = None
        self._open_until = 0.0
        self.passed = 0
        self.skipped = 0

    def trigger(self) -> None:
        self._open_until = self.clock() + self.hold_s

    def changed(self, image: np.ndarray) -> float:
        """Share of the scene that differs from the background (updates it)."""
        h, w = image.shape[:2]
        small = cv2.resize(image, (self.width, max(1, int(h * self.width / w))),
                           interpolation=cv2.INTER_AREA)
        gray = cv2.GaussianBlur(cv2.cvtColor(small, cv2.COLOR_BGR2GRAY), (5, 5), 0)
        gray = gray.astype(np.float32)
        if self._background is None or self._background.shape != gray.shape:
            self._background = gray
            return 1.0
        moved = float((cv2.absdiff(gray, self._background) > self.pixel_delta).mean())
        cv2.accumulateWeighted(gray, self._background, self.learn)
        return moved

    def allow(self, image: np.ndarray) -> bool:
        now = self.clock()
        if self.changed(image) >= self.threshold:
            self._open_until = now + self.hold_s
        if now < self._open_until:
            self.passed += 1
            return True
        self.skipped += 1
        return False
