"""What the dispatcher board shows, read in a few queries: the lot map (zones, bays,
who stands where and with what), the queue per plant with waiting times, docks,
open alarms."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import (
    Alarm,
    Bay,
    CargoLine,
    Dock,
    Enterprise,
    Plant,
    QueueEntry,
    Release,
    Trip,
    Unloading,
    Vehicle,
    Zone,
)
from rules.documents import PARK_TZ
from rules.hazard import primary_class

from . import kpis
from .lot import HELD, OPEN_ENTRY, QUEUE_ORDER, WAITING, lot_of_park


@dataclass
class BayCell:
    id: int
    code: str
    out_of_service: bool
    trip_id: int | None = None
    plate: str | None = None
    classes: list[str] = field(default_factory=list)
    code_of_trip: str | None = None
    x: int = 0
    y: int = 0
    taken: bool = False  # held by a truck the viewer may not see

    @property
    def occupied(self) -> bool:
        return self.trip_id is not None or self.taken


@dataclass
class ZoneCard:
    id: int
    code: str
    name: str
    accepted: list[str]
    layout: dict[str, Any]
    bays: list[BayCell]
    box: tuple[int, int, int, int] = (0, 0, 0, 0)  # x, y, w, h on the drawn map

    @property
    def used(self) -> int:
        return sum(b.occupied for b in self.bays)


@dataclass
class QueueRow:
    position: int
    trip_id: int
    code: str
    plate: str
    status: str
    priority: int
    waited_min: int
    bay: str | None
    classes: list[str]
    note: str | None


@dataclass
class PlantCard:
    id: int
    name: str
    enterprise: str
    release_mode: str
    docks: list[dict[str, Any]]
    queue: list[QueueRow]
    released: list[dict[str, Any]]
    ready: bool = True  # L06
    ready_note: str | None = None
    release_timing: str = "free_dock"  # L06: free_dock | call_forward


# The drawn map: a zone's layout is in grid cells ({"x", "y", "w", "h"}); zones
# without one are laid out three to a row.
CELL_W, CELL_H, BAY_W, BAY_H, GAP, TITLE = 170, 120, 46, 30, 6, 24


def draw(zones: list[ZoneCard]) -> tuple[int, int]:
    """Place zones and bays on the map; returns the map's width and height."""
    width = height = 0
    for i, z in enumerate(zones):
        lay = z.layout if all(k in z.layout for k in ("x", "y", "w", "h")) else \
            {"x": (i % 3) * 2, "y": i // 3, "w": 2, "h": 1}
        zx, zy = 10 + int(lay["x"]) * CELL_W, 10 + int(lay["y"]) * CELL_H
        zw, zh = int(lay["w"]) * CELL_W - GAP, int(lay["h"]) * CELL_H - GAP
        per_row = max(1, (zw - GAP) // (BAY_W + GAP))
        rows = (len(z.bays) + per_row - 1) // per_row
        zh = max(zh, TITLE + rows * (BAY_H + GAP) + GAP)
        for j, b in enumerate(z.bays):
            b.x = zx + GAP + (j % per_row) * (BAY_W + GAP)
            b.y = zy + TITLE + (j // per_row) * (BAY_H + GAP)
        z.box = (zx, zy, zw, zh)
        width, height = max(width, zx + zw + 10), max(height, zy + zh + 10)
    return width, height


@dataclass
class Board:
    lot: Any
    zones: list[ZoneCard]
    plants: list[PlantCard]
    entrance: list[QueueRow]
    alarms: list[Alarm]
    generated_at: datetime
    size: tuple[int, int] = (300, 120)
    # Each plant's trips in the lot (queue, entrance, bays): for a receiver's scope.
    plant_trips: dict[int, set[int]] = field(default_factory=dict)

    def as_dict(self, locale: str = "zh_Hans_CN") -> dict[str, Any]:
        """The board as JSON; alarm messages in `locale`, and in both languages."""
        from .alarms import alarm_text

        def alarm(a: Alarm) -> dict[str, Any]:
            zh, en = alarm_text(a, "zh_Hans_CN"), alarm_text(a, "en")
            return {"id": a.id, "kind": a.kind, "trip_id": a.trip_id,
                    "message": en if locale.startswith("en") else zh,
                    "message_zh": zh, "message_en": en, "raised_at": a.raised_at.isoformat(),
                    "acknowledged": a.acknowledged_at is not None}

        return {
            "lot": {"id": self.lot.id, "code": self.lot.code, "name": self.lot.name},
            "zones": [{"id": z.id, "code": z.code, "name": z.name, "accepted": z.accepted,
                       "layout": z.layout, "used": z.used,
                       "bays": [{**vars(b), "occupied": b.occupied} for b in z.bays]}
                      for z in self.zones],
            "plants": [{"id": p.id, "name": p.name, "enterprise": p.enterprise,
                        "release_mode": p.release_mode, "release_timing": p.release_timing,
                        "ready": p.ready,
                        "ready_note": p.ready_note, "docks": p.docks,
                        "queue": [vars(q) for q in p.queue], "released": p.released}
                       for p in self.plants],
            "entrance": [vars(q) for q in self.entrance],
            "alarms": [alarm(a) for a in self.alarms],
            "generated_at": self.generated_at.isoformat(),
        }


def plant_scope(principal: Any) -> int | None:
    """The one plant a plant receiver sees of the lot; None for park-wide roles. A
    receiver with no plant on record sees none (plant id 0 matches nothing)."""
    from auth.roles import Role

    park_wide = (Role.ADMIN, Role.DISPATCHER, Role.AUDITOR, Role.GATE_OPERATOR)
    if principal.has(Role.PLANT_RECEIVER) and not principal.has(*park_wide):
        return principal.plant_id or 0
    return None


def build(session: Session, park_id: int, now: datetime, *, plant_id: int | None = None
          ) -> Board:
    """The whole board; with `plant_id` (a plant receiver's scope) only that plant's
    queue, docks, trucks on their way and alarms, and bays held by other plants'
    trucks shown as taken, without plate or code."""
    board = _build(session, park_id, now)
    if plant_id is not None:
        _limit_to_plant(board, plant_id)
    return board


def _limit_to_plant(board: Board, plant_id: int) -> None:
    own = board.plant_trips.get(plant_id, set())
    board.plants = [p for p in board.plants if p.id == plant_id]
    board.entrance = [q for q in board.entrance if q.trip_id in own]
    for zone in board.zones:
        for bay in zone.bays:
            if bay.trip_id is not None and bay.trip_id not in own:
                bay.trip_id, bay.plate, bay.code_of_trip, bay.classes = None, None, None, []
                bay.taken = True
    board.alarms = [a for a in board.alarms if a.trip_id is not None and a.trip_id in own]


def _build(session: Session, park_id: int, now: datetime) -> Board:
    lot = lot_of_park(session, park_id)
    zones = list(session.scalars(select(Zone).where(Zone.lot_id == lot.id,
                                                    Zone.retired_at.is_(None))
                                 .order_by(Zone.code)))
    bays = list(session.scalars(select(Bay).where(Bay.zone_id.in_([z.id for z in zones]))
                                .order_by(Bay.code))) if zones else []
    entries = list(session.scalars(select(QueueEntry).where(
        QueueEntry.lot_id == lot.id, QueueEntry.status.in_(OPEN_ENTRY)).order_by(*QUEUE_ORDER)))
    releases = list(session.scalars(select(Release).where(
        Release.status.in_(("active", "overdue")))))
    docks = list(session.scalars(select(Dock).where(Dock.retired_at.is_(None))
                                 .order_by(Dock.code)))
    trip_ids = {e.trip_id for e in entries} | {b.trip_id for b in bays if b.trip_id} | \
        {r.trip_id for r in releases} | {i for d in docks for i in (d.trip_id, d.next_trip_id)
                                         if i is not None}
    trips = {t.id: t for t in session.scalars(select(Trip).where(Trip.id.in_(trip_ids)))} \
        if trip_ids else {}
    plates = dict(session.execute(select(Vehicle.id, Vehicle.plate).where(
        Vehicle.id.in_({t.vehicle_id for t in trips.values()}))).all()) if trips else {}
    classes: dict[int, list[str]] = defaultdict(list)
    if trips:
        for line in session.scalars(select(CargoLine).where(CargoLine.trip_id.in_(list(trips)))
                                    .order_by(CargoLine.position)):
            cls = primary_class(line.hazard_class)
            if cls not in classes[line.trip_id]:
                classes[line.trip_id].append(cls)
    bay_code = {b.id: b.code for b in bays}

    def row(position: int, e: QueueEntry) -> QueueRow:
        t = trips.get(e.trip_id)
        return QueueRow(position, e.trip_id, t.code if t else "", plates.get(
            t.vehicle_id, "") if t else "", e.status, e.priority,
            int((now - e.arrived_at).total_seconds() // 60), bay_code.get(e.bay_id or 0),
            classes.get(e.trip_id, []), e.note)

    zone_cards = []
    for z in zones:
        cells = []
        for b in (b for b in bays if b.zone_id == z.id):
            t = trips.get(b.trip_id) if b.trip_id else None
            cells.append(BayCell(b.id, b.code, b.out_of_service, b.trip_id,
                                 plates.get(t.vehicle_id) if t else None,
                                 classes.get(b.trip_id, []) if b.trip_id else [],
                                 t.code if t else None))
        zone_cards.append(ZoneCard(z.id, z.code, z.name, list(z.accepted_classes or []),
                                   dict(z.layout or {}), cells))
    plants = list(session.scalars(select(Plant).where(Plant.retired_at.is_(None))
                                  .order_by(Plant.code)))
    enterprises = dict(session.execute(select(Enterprise.id, Enterprise.name)).all())

    def plate_of(trip_id: int | None) -> str | None:
        return plates.get(trips[trip_id].vehicle_id) if trip_id in trips else None

    def state_of(trip_id: int | None) -> str | None:
        return trips[trip_id].state if trip_id in trips else None

    plant_cards = []
    for p in plants:
        queue = [e for e in entries if e.plant_id == p.id and e.status in (WAITING, HELD)]
        plant_cards.append(PlantCard(
            p.id, p.name, enterprises.get(p.enterprise_id, ""), p.release_mode,
            # A dock's truck is on its way (RELEASED) or at the plant (unloading); with
            # call-forward, the next truck is on its way or waits at the plant gate.
            [{"id": d.id, "code": d.code, "busy": d.busy, "trip_id": d.trip_id,
              "plate": plate_of(d.trip_id), "trip_state": state_of(d.trip_id),
              "expected_free_at": d.expected_free_at.isoformat() if d.expected_free_at
              else None, "call_at": d.call_at.isoformat() if d.call_at else None,
              "next_trip_id": d.next_trip_id, "next_plate": plate_of(d.next_trip_id),
              "next_state": state_of(d.next_trip_id)}
             for d in docks if d.plant_id == p.id],
            [row(i, e) for i, e in enumerate(queue, start=1)],
            [{"trip_id": r.trip_id, "code": trips[r.trip_id].code if r.trip_id in trips else "",
              "plate": plates.get(trips[r.trip_id].vehicle_id) if r.trip_id in trips else "",
              "deadline": r.deadline.isoformat(), "status": r.status}
             for r in releases if r.plant_id == p.id], p.ready, p.ready_note,
            p.release_timing))
    entrance = [row(i, e) for i, e in enumerate(
        [e for e in entries if e.status == "entrance"], start=1)]
    alarms = list(session.scalars(select(Alarm).where(Alarm.resolved_at.is_(None))
                                  .order_by(Alarm.raised_at.desc()).limit(50)))
    board = Board(lot, zone_cards, plant_cards, entrance, alarms, now)
    for t in trips.values():
        board.plant_trips.setdefault(t.plant_id, set()).add(t.id)
    board.size = draw(zone_cards)
    return board


def day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0), PARK_TZ)
    return start, start + timedelta(days=1)


def kpis_for_day(session: Session, day: date) -> list[tuple[str, kpis.PlantDay]]:
    """Per plant (park day): lot wait, release-to-arrival, dock utilisation, no-shows;
    plant-gate wait, dock idle between trucks, unloading-time prediction error,
    unloading utilisation."""
    start, end = day_bounds(day)
    trips = list(session.scalars(select(Trip).where(
        Trip.window_start < end, Trip.window_end > start - timedelta(days=1),
        Trip.category.in_(("hazmat", "hazwaste")))))
    unloadings = {u.trip_id: u for u in session.scalars(select(Unloading).where(
        Unloading.trip_id.in_([t.id for t in trips])))} if trips else {}
    docks: defaultdict[int, int] = defaultdict(int)
    for plant_id in session.scalars(select(Dock.plant_id).where(Dock.retired_at.is_(None))):
        docks[plant_id] += 1
    by_plant: dict[int, list[kpis.TripTimes]] = defaultdict(list)
    for t in trips:
        in_day = any(x is not None and start <= x < end for x in
                     (t.lot_checked_in_at, t.released_at)) or (
            t.state == "NO_SHOW" and start <= t.window_start < end)
        if in_day:
            u = unloadings.get(t.id)
            by_plant[t.plant_id].append(kpis.TripTimes(
                t.plant_id, t.lot_checked_in_at, t.released_at, t.plant_in_at, t.plant_out_at,
                no_show=t.state == "NO_SHOW", dock_id=u.dock_id if u else None,
                unload_started=u.started_at if u else None,
                unload_ended=u.ended_at if u else None,
                predicted_unload_min=u.predicted_min if u else None))
    names = dict(session.execute(select(Plant.id, Plant.name)).all())
    return [(names.get(pid, ""), kpis.plant_day(pid, rows, docks.get(pid, 0), start, end))
            for pid, rows in sorted(by_plant.items())]
