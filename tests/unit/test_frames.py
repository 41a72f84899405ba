"""Frame sources: a dropped stream is reopened with growing back-off, a file ends,
the buffer never grows past its capacity, and a static scene is not read."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import numpy as np

from camera_adapters.frames import Backoff, CaptureSource, Frame, FrameBuffer, MotionGate


class FakeCapture:
    def __init__(self, frames: int, opened: bool = True) -> None:
        self.left = frames
        self.opened = opened
        self.released = False

    def isOpened(self) -> bool:
        return self.opened

    def read(self) -> tuple[bool, np.ndarray | None]:
        if self.left <= 0:
            return False, None
        self.left -= 1
        return True, np.zeros((4, 4, 3), np.uint8)

    def release(self) -> None:
        self.released = True


def scripted(*captures: FakeCapture):  # type: ignore[no-untyped-def]
    queue = list(captures)
    opened: list[FakeCapture] = []

    def opener(url: str) -> FakeCapture:
        capture = queue.pop(0) if queue else FakeCapture(0, opened=False)
        opened.append(capture)
        return capture

    return opener, opened


def test_a_dropped_stream_is_reopened_with_growing_back_off() -> None:
    opener, opened = scripted(FakeCapture(0, opened=False), FakeCapture(3), FakeCapture(0, False),
                              FakeCapture(0, False), FakeCapture(2))
    waits: list[float] = []
    stop = threading.Event()

    def sleep(_: threading.Event, seconds: float) -> bool:
        waits.append(seconds)
        return False

    source = CaptureSource("rtsp://admin:secret@10.0.0.9/stream", opener=opener,
                           backoff=Backoff(initial_s=1, factor=2, max_s=30, jitter=0), sleep=sleep)
    frames = []
    for frame in source.frames(stop):
        frames.append(frame)
        if len(frames) == 5:
            stop.set()
    assert len(frames) == 5 and [f.index for f in frames] == [0, 1, 2, 3, 4]
    # failed open → 1 s; good stream (reset); dropped → 1 s; two failed opens → 2 s, 4 s
    assert waits == [1, 1, 2, 4]
    assert source.reconnects == 1 and source.failures == 3
    assert all(c.released for c in opened)
    assert "secret" not in source.name  # credentials never reach the logs


def test_a_video_file_ends_at_its_end() -> None:
    opener, _ = scripted(FakeCapture(3))
    source = CaptureSource("/data/lane.mp4", opener=opener)
    assert len(list(source.frames(threading.Event()))) == 3


def test_the_buffer_keeps_the_newest_frames_and_counts_the_dropped() -> None:
    buffer = FrameBuffer(3)
    for i in range(10):
        buffer.put(Frame(np.zeros((1, 1, 3), np.uint8), datetime.now(UTC), i, "t"))
    assert len(buffer) == 3 and buffer.dropped == 7
    got = [buffer.get(0).index for _ in range(3)]  # type: ignore[union-attr]
    assert got == [7, 8, 9]
    assert buffer.get(0) is None


def scene(light: int = 90) -> np.ndarray:
    image = np.full((360, 640, 3), light, np.uint8)
    image[200:300, 50:150] = 40
    return image


def test_a_static_scene_is_not_read_but_a_moving_vehicle_is() -> None:
    now = [0.0]
    gate = MotionGate(hold_s=2.0, clock=lambda: now[0])
    assert gate.allow(scene())  # the first frame sets the background
    now[0] = 5.0
    assert not any(gate.allow(scene()) for _ in range(25))  # a second of empty lane
    truck = scene()
    truck[100:330, 250:600] = 200
    now[0] = 6.0
    assert gate.allow(truck)
    now[0] = 7.5  # stopped at the barrier: no change, but within hold
    assert gate.allow(truck)
    now[0] = 9.0
    gate.allow(truck)  # the background has been learning the truck; hold expires
    now[0] = 30.0
    assert gate.passed >= 3 and gate.skipped >= 25


def test_a_trigger_opens_the_gate_without_motion() -> None:
    now = [0.0]
    gate = MotionGate(hold_s=2.0, clock=lambda: now[0])
    gate.allow(scene())
    now[0] = 10.0
    assert not gate.allow(scene())
    gate.trigger()  # a loop detector under the lane
    now[0] = 11.0
    assert gate.allow(scene())
    now[0] = 12.5
    assert not gate.allow(scene())
