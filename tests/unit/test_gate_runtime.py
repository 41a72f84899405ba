"""What a gate-serving process keeps between reads: the park's lanes, each loaded once
per time-to-live whichever way it is asked for."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from gateway import runtime as rt


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    made: list[Any] = []

    def load(_session: Any, code: str | None, lane_id: int | None) -> Any:
        lane = SimpleNamespace(id=lane_id or 7, code=code or "P1-IN")
        made.append(lane)
        return lane

    monkeypatch.setattr(rt, "_load_lane", load)
    return made


def test_a_lane_loaded_by_code_is_known_by_its_id_and_the_other_way(loads: list[Any]) -> None:
    runtime = rt.GateRuntime(ttl_s=60)
    by_code = runtime.lane(None, " p1-in ")  # type: ignore[arg-type]
    assert runtime.lane_by_id(None, 7) is by_code  # type: ignore[arg-type]
    other = rt.GateRuntime(ttl_s=60)
    by_id = other.lane_by_id(None, 7)  # type: ignore[arg-type]
    assert other.lane(None, "P1-IN") is by_id  # type: ignore[arg-type]
    assert len(loads) == 2  # one load per runtime


def test_a_lane_is_loaded_again_once_its_time_is_up(loads: list[Any]) -> None:
    runtime = rt.GateRuntime(ttl_s=0)
    runtime.lane(None, "P1-IN")  # type: ignore[arg-type]
    runtime.lane_by_id(None, 7)  # type: ignore[arg-type]
    assert len(loads) == 2
