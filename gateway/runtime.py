"""What a gate-serving process keeps between requests: its lane controllers and a
short-lived cache of the park's fixed structure (lanes, gates, policy, names).

The structure changes a few times a year and a decision needs it every time; a few
seconds of staleness after an edit is the price of not reading it on every read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kernel.cache import TtlCache
from kernel.errors import N_, NotFound
from models import Lane
from rules.policy import ParkPolicy

from .devices import Controllers
from .snapshot import LaneView


@dataclass(frozen=True)
class LaneInfo:
    id: int
    code: str
    direction: str
    gate_kind: str
    park_id: int
    fold_window_s: int
    devices: dict[str, Any]
    view: LaneView
    policy: ParkPolicy
    backlog_hours: int = 24  # how old a camera's buffered capture may be


@dataclass
class GateRuntime:
    controllers: Controllers = field(default_factory=Controllers)
    ttl_s: float = 5.0
    _cache: TtlCache = field(init=False)

    def __post_init__(self) -> None:
        self._cache = TtlCache(self.ttl_s)

    def _cached(self, key: Any, load: Any) -> Any:
        return self._cache.get(key, load)

    def forget(self) -> None:
        self._cache.clear()

    def lane(self, session: Session, code: str) -> LaneInfo:
        code = code.strip().upper()[:32]
        return self._cached(("lane", code), lambda: self._kept(_load_lane(session, code, None)))

    def lane_by_id(self, session: Session, lane_id: int) -> LaneInfo:
        return self._cached(("lane_id", lane_id),
                            lambda: self._kept(_load_lane(session, None, lane_id)))

    def _kept(self, lane: LaneInfo) -> LaneInfo:
        # Kept by code and by id, however it was asked for: a read looks its lane up
        # by code and answers with it by id, and a load is a handful of look-ups.
        self._cache.put(("lane", lane.code), lane)
        self._cache.put(("lane_id", lane.id), lane)
        return lane

    def names(self, session: Session) -> dict[str, dict[int, str]]:
        from registry.read_model import park_names

        return self._cached("names", lambda: park_names(session))


def _load_lane(session: Session, code: str | None, lane_id: int | None) -> LaneInfo:
    from registry import read_model

    from . import repository as repo

    stmt = select(Lane).where(Lane.retired_at.is_(None))
    stmt = stmt.where(Lane.code == code) if code is not None else stmt.where(Lane.id == lane_id)
    lane = session.scalar(stmt)
    if lane is None:
        raise NotFound(N_("No such lane."), code="LANE_UNKNOWN")
    return LaneInfo(id=lane.id, code=lane.code, direction=lane.direction,
                    gate_kind=lane.gate.kind, park_id=lane.gate.park_id,
                    fold_window_s=lane.fold_window_s, devices=dict(lane.devices or {}),
                    view=repo.lane_view(session, lane),
                    policy=read_model.park_policy(session, lane.gate.park_id),
                    backlog_hours=lane.backlog_hours or 24)
