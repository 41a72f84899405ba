"""A lane's camera end to end: frames → gate → bounded buffer → reader → voter →
one PlateRead per vehicle, handed to a sink (the gate agent, or a test)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from .frames import Frame, FrameBuffer, FrameSource, MotionGate
from .lane_view import RegionOfInterest
from .plate_read import PlateRead
from .reader import PlateReader, looks_like_a_crop
from .scene import scene_jpeg
from .voting import Observation, PlateVoter

log = logging.getLogger(__name__)

# Below this a frame's best reading is noise (a sign, a poster), not a vote.
MIN_FRAME_CONFIDENCE = 0.3


@dataclass
class PipelineStats:
    frames: int = 0
    gated: int = 0
    read: int = 0
    observations: int = 0
    emitted: int = 0

    def as_dict(self, buffer: FrameBuffer) -> dict[str, int]:
        return {"frames": self.frames, "gated": self.gated, "read": self.read,
                "observations": self.observations, "emitted": self.emitted,
                "dropped": buffer.dropped}


def observe(reader: PlateReader, frame: Frame, lane: str, *, source: str = "camera",
            roi: RegionOfInterest | None = None) -> Observation | None:
    from .metrics import OCR_SECONDS

    with OCR_SECONDS.time():
        best = reader.read(frame.image, roi=roi).best
    if best is None or not best.valid or best.confidence < MIN_FRAME_CONFIDENCE:
        return None
    # A camera's own tight crop is its own scene: nothing more to show.
    scene = None if looks_like_a_crop(frame.image) else scene_jpeg(frame.image, best.corners)
    return Observation(lane=lane, plate=best.plate, confidence=best.confidence,
                       seen_at=frame.captured_at, char_confidence=best.char_confidence,
                       colour=best.colour, layout=best.layout, crop_jpeg=best.crop_jpeg,
                       source=source, scene_jpeg=scene)


class CameraPipeline:
    """Two threads: capture (keeps the buffer fresh, never blocks on recognition) and
    recognition (reads the newest frames, votes, emits)."""

    def __init__(self, source: FrameSource, lane: str, sink: Callable[[PlateRead], None], *,
                 reader: PlateReader | None = None, voter: PlateVoter | None = None,
                 gate: MotionGate | None = None, buffer: FrameBuffer | None = None,
                 read_source: str = "camera", roi: RegionOfInterest | None = None) -> None:
        self.source = source
        self.lane = lane
        self.sink = sink
        self.reader = reader or PlateReader()
        self.voter = voter or PlateVoter()
        self.gate = gate
        self.buffer = buffer if buffer is not None else FrameBuffer(4)  # empty is falsy
        self.read_source = read_source
        self.roi = roi
        self.stats = PipelineStats()
        self.stop_event = threading.Event()
        self._threads: list[threading.Thread] = []
        self._capture_done = threading.Event()

    def start(self) -> CameraPipeline:
        for target, name in ((self._capture, "capture"), (self._recognise, "recognise")):
            thread = threading.Thread(target=target, name=f"camera-{self.lane}-{name}",
                                      daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        self.stop_event.set()
        self.buffer.close()
        for thread in self._threads:
            thread.join(timeout=5)

    def wait(self, timeout: float | None = None) -> bool:
        """Until the source ran out and every frame was read (files and folders)."""
        for thread in self._threads:
            thread.join(timeout)
        return not any(t.is_alive() for t in self._threads)

    def _capture(self) -> None:
        try:
            for frame in self.source.frames(self.stop_event):
                self.stats.frames += 1
                if self.gate is not None and not self.gate.allow(frame.image):
                    self.stats.gated += 1
                    continue
                self.buffer.put(frame)
        except Exception:
            log.exception("camera %s failed", self.source.name)
        finally:
            self._capture_done.set()
            self.buffer.close()

    def _recognise(self) -> None:
        while not self.stop_event.is_set():
            frame = self.buffer.get(timeout=0.2)
            if frame is None:
                self._emit(self.voter.flush(datetime.now(UTC)))
                if self._capture_done.is_set() and not len(self.buffer):
                    break
                continue
            self.stats.read += 1
            try:
                obs = observe(self.reader, frame, self.lane, source=self.read_source,
                              roi=self.roi)
            except Exception:
                log.exception("reading a frame from %s failed", self.source.name)
                continue
            if obs is not None:
                self.stats.observations += 1
                self._emit(self.voter.add(obs))
        # A file or folder ended: whatever is still in view is final.
        self._emit(self.voter.flush(datetime.max.replace(tzinfo=UTC)))

    def _emit(self, reads: list[PlateRead]) -> None:
        for read in reads:
            self.stats.emitted += 1
            try:
                self.sink(read)
            except Exception:
                log.exception("delivering %s failed", read.plate)
