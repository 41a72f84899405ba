"""One busy day at the hazmat lot, through the real services on PostgreSQL, four ways.

    DATABASE_URL=postgresql://postgres@127.0.0.1/test python bench/lot_day.py [--trips N]

A park with 24 plants (4–6 docks each, each its own drive from the lot and its own
pace of unloading), a lot of 12 zones and 240 bays under a zone table by hazard
class, and ≥3,000 hazmat trips whose arrivals cluster in a morning and an
early-afternoon peak. A discrete-event simulation drives the application's own
functions under a pinned clock: check-in at the lot gate (bay by segregation),
release, arrival at the plant gate after the drive, unloading, leaving. The
simulation alone knows each unloading's and drive's true length; they vary around a
plant's pace, by hazard class and load, and ParkGate sees only what its plant gates
and docks report (it learns, it is never told).

The same day (arrivals, drive and unloading times) is run:
- ParkGate with call-forward (L06): a truck is released so that it reaches its dock
  as the dock is expected to free, from learned times — cold (no history) and warm
  (history learned from one earlier simulated day, drawn with another seed);
- ParkGate releasing on a free dock (warm, for the learned figures on its board);
- FCFS in one line, and FCFS per plant: releases without a dispatch system,
  simulated without a database (the head of the line goes when its plant has a free
  dock; the dock is then reserved for the drive and the unloading).

Every release decision is timed as it runs (the transaction that frees a dock or
reaches a call-forward time and releases the next truck, up to its COMMIT; the audit
chain is linked after COMMIT by the sequencer's thread, as in production); the bay
that truck leaves goes to a truck at the entrance in a transaction of its own, timed
apart. The call-forward day is also run with a third of the trips, so the release
cost at 3,000 trips is compared with 1,000 in the same run. Utilisation is reported
twice: unloading (time docks actually unload / dock time) and reserved (from
release to leaving, which counts the drive as busy).
"""

from __future__ import annotations

import argparse
import csv
import gc
import heapq
import json
import os
import random
import statistics
import sys
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.population import throwaway  # noqa: E402

DAY = date(2026, 11, 23)
T0 = datetime(2026, 11, 22, 16, 0, tzinfo=UTC)  # 00:00 in the park
ZONES = [("A", ["3"]), ("B", ["3"]), ("C", ["3"]), ("D", ["8"]), ("E", ["8"]),
         ("F", ["2"]), ("G", ["2"]), ("H", ["6.1", "9"]), ("I", ["4.1", "4.2", "4.3"]),
         ("J", ["5.1", "5.2"]), ("K", ["3", "8", "6.1", "9"]), ("L", ["2", "3", "8", "9"])]
BAYS_PER_ZONE = 20
# How a class sets the pace of unloading (gases by hose, corrosives and toxics with
# more care) — the simulation's truth, which ParkGate learns from what it sees.
CLASS_PACE = {"2": 0.85, "3": 1.0, "4.1": 1.1, "5.1": 1.1, "6.1": 1.25, "8": 1.15, "9": 0.9}
CLASSES = ["3"] * 45 + ["8"] * 20 + ["2"] * 15 + ["6.1"] * 8 + ["5.1"] * 6 + ["4.1"] * 3 + \
    ["9"] * 3


@dataclass(frozen=True)
class Park:
    """The park's plants, drawn once: docks, drive from the lot, pace of unloading."""

    docks: dict[int, int]
    drive_min: dict[int, float]
    pace_min: dict[int, float]  # a 15 t load of class 3


def draw_park(plants: int, seed: int) -> Park:
    rng = random.Random(seed)
    return Park(docks={p: rng.choice((4, 5, 5, 6)) for p in range(plants)},
                drive_min={p: rng.uniform(5, 12) for p in range(plants)},
                pace_min={p: rng.uniform(22, 38) for p in range(plants)})


@dataclass
class Plan:
    """One day, drawn once and shared by every run and the baselines."""

    arrivals: list[tuple[datetime, int, int, str, int]]  # (at, trip#, plant#, UN, priority)
    cls: dict[int, str]
    quantity_kg: dict[int, float]
    unload: dict[int, timedelta]
    drive: dict[int, timedelta]
    docks: dict[int, int]  # plant# -> docks


def draw_plan(n: int, park: Park, materials: dict[str, list[str]], seed: int,
              day_offset: int = 0) -> Plan:
    rng = random.Random(seed)
    plants = len(park.docks)
    arrivals, cls, qty, unload, drive = [], {}, {}, {}, {}
    for i in range(n):
        roll = rng.random()
        if roll < 0.55:
            minute = rng.gauss(8 * 60, 70)  # the morning peak
        elif roll < 0.85:
            minute = rng.gauss(13 * 60 + 30, 60)  # after lunch
        else:
            minute = rng.uniform(5 * 60, 21 * 60)
        minute = min(max(minute, 4 * 60), 22 * 60)
        c = rng.choice(CLASSES)
        un = rng.choice(materials.get(c) or materials["3"])
        priority = 5 if rng.random() < 0.05 else 0
        plant = i % plants
        arrivals.append((T0 + timedelta(days=day_offset, minutes=minute), i, plant, un,
                         priority))
        cls[i] = c
        qty[i] = rng.choice((5000.0, 10000.0, 15000.0, 20000.0, 25000.0, 30000.0))
        pace = park.pace_min[plant] * CLASS_PACE.get(c, 1.0) * (0.7 + 0.02 * qty[i] / 1000)
        unload[i] = timedelta(minutes=max(8.0, pace * rng.lognormvariate(0, 0.12)))
        drive[i] = timedelta(minutes=park.drive_min[plant] * rng.lognormvariate(0, 0.06))
    arrivals.sort()
    return Plan(arrivals, cls, qty, unload, drive, dict(park.docks))


@dataclass
class Figures:
    waits_min: list[float] = field(default_factory=list)
    gate_waits_min: list[float] = field(default_factory=list)
    reserved_s: float = 0.0  # release → leaving
    unloading_s: float = 0.0
    span: tuple[datetime, datetime] | None = None

    def summary(self, docks: int) -> dict[str, float]:
        waits = sorted(self.waits_min)
        p90 = waits[int(0.9 * (len(waits) - 1))] if waits else 0.0
        start, end = self.span or (T0, T0)
        capacity = docks * (end - start).total_seconds()
        return {"mean_wait_min": round(statistics.fmean(waits), 1) if waits else 0.0,
                "p90_wait_min": round(p90, 1),
                "unload_utilisation": round(self.unloading_s / capacity, 3) if capacity else 0.0,
                "reserved_utilisation": round(self.reserved_s / capacity, 3) if capacity
                else 0.0,
                "plant_gate_wait_mean_min": round(statistics.fmean(self.gate_waits_min), 2)
                if self.gate_waits_min else 0.0,
                "day_ends": (end - T0).total_seconds() / 3600}


def fcfs(plan: Plan, *, per_plant: bool) -> Figures:
    """Releases without a dispatch system: one line (or one line per plant)."""
    free = dict(plan.docks)
    lines: dict[int, deque[tuple[datetime, int, int]]] = defaultdict(deque)
    events: list[tuple[datetime, int, str, int, int]] = []  # (t, seq, kind, trip, plant)
    seq = 0
    for at, trip, plant, _un, _prio in plan.arrivals:
        events.append((at, seq, "arrive", trip, plant))
        seq += 1
    heapq.heapify(events)
    figures = Figures()
    first = plan.arrivals[0][0]
    last = first

    def dispatch(now: datetime) -> None:
        nonlocal seq
        keys = list(lines) if per_plant else [0]
        for key in keys:
            line = lines[key]
            while line:
                arrived, trip, plant = line[0]
                if free[plant] == 0:
                    if per_plant:
                        break
                    return  # the head of the single line blocks everyone behind it
                line.popleft()
                free[plant] -= 1
                figures.waits_min.append((now - arrived).total_seconds() / 60)
                done = now + plan.drive[trip] + plan.unload[trip]
                figures.reserved_s += (done - now).total_seconds()
                figures.unloading_s += plan.unload[trip].total_seconds()
                heapq.heappush(events, (done, seq, "leave", trip, plant))
                seq += 1

    while events:
        now, _, kind, trip, plant = heapq.heappop(events)
        last = max(last, now)
        if kind == "arrive":
            lines[plant if per_plant else 0].append((now, trip, plant))
        else:
            free[plant] += 1
        dispatch(now)
    figures.span = (first, last)
    return figures


def build_park(url: str, plan: Plan, plants: int, *, timing: str,
               history: Plan | None = None, margin: int | None = None) -> dict[str, Any]:
    """Park, plants and docks, lot and zones, materials, a tractor and a crew per trip,
    and the bookings — through the ORM, as the records API would leave them. With
    `history`, the trips of an earlier day and what the plant gates and docks reported
    of them, learned from as the park would have (dispatch.learning.relearn)."""
    from auth.principal import system_principal
    from booking.service import BookingIn, CargoIn, create_trip
    from demo.paths import dangerous_goods_csv
    from dispatch import learning
    from kernel import clock
    from kernel.uow import unit_of_work
    from models import (
        Bay,
        Dock,
        Enterprise,
        Lot,
        Material,
        Park,
        Person,
        Plant,
        Qualification,
        Unloading,
        Vehicle,
        Zone,
    )
    from parkgate.database import Database

    db = Database(url)
    far = DAY + timedelta(days=365)
    actor = system_principal("bench").actor
    clock.pin(T0 - timedelta(days=2))
    with unit_of_work(db.session_factory) as uow:
        s = uow.session
        park = Park(code="LOTDAY", name="基准园区", policy={"auto_approve_bookings": True})
        s.add(park)
        s.flush()
        materials: dict[str, Any] = {}
        for row in csv.DictReader(dangerous_goods_csv().open(encoding="utf-8")):
            m = Material(un_number=row["un_number"], name_zh=row["name_zh"],
                         name_en=row["name_en"], hazard_class=row["class"],
                         subsidiary_risks=[x for x in row["subsidiary_risks"].split(";") if x],
                         packing_group=row["packing_group"] or None)
            s.add(m)
            materials.setdefault(m.un_number, m)
        plant_ids = []
        enterprise_of: dict[int, int] = {}
        for p in range(plants):
            if p % 2 == 0:
                ent = Enterprise(park_id=park.id, code=f"LE{p:02d}", name=f"企业{p // 2}")
                s.add(ent)
                s.flush()
            plant = Plant(enterprise_id=ent.id, code=f"LP{p:02d}", name=f"装置{p:02d}",
                          receiving_hours={}, release_mode="auto", arrival_deadline_min=30,
                          max_dwell_min=240, release_timing=timing,
                          **({} if margin is None else {"call_margin_min": margin}))
            plant.docks = [Dock(code=f"D{d}") for d in range(plan.docks[p])]
            s.add(plant)
            s.flush()
            plant_ids.append(plant.id)
            enterprise_of[plant.id] = ent.id
        lot = Lot(park_id=park.id, code="BLOT", name="危化品停车场", max_wait_min=480,
                  excluded_classes=["1", "7"])
        s.add(lot)
        s.flush()
        for code, accepted in ZONES:
            zone = Zone(lot_id=lot.id, code=code, name=f"{code}区", accepted_classes=accepted,
                        layout={})
            zone.bays = [Bay(code=f"{code}{b:03d}") for b in range(BAYS_PER_ZONE)]
            s.add(zone)
        s.flush()

        def book(day: Plan, prefix: str) -> dict[int, int]:
            booked: dict[int, int] = {}
            for at, i, plant_no, un, priority in day.arrivals:
                m = materials[un]
                tractor = Vehicle(plate=f"{prefix}{i:05d}", plate_colour="yellow",
                                  kind="tractor", category="hazmat", rated_load_kg=40000.0,
                                  road_permit_no=f"P{prefix}{i}",
                                  permit_scope=["2", "3", "4", "5", "6", "8", "9"],
                                  permit_expires_on=far, review_expires_on=far,
                                  inspection_expires_on=far, insurance_expires_on=far,
                                  created_at=at)
                crew = []
                for role in ("driver", "escort"):
                    person = Person(name=f"{role}{prefix}{i}", id_hash=f"h{role}{prefix}{i}",
                                    id_cipher="x", id_masked="*", kinds=[role], created_at=at)
                    person.qualifications = [Qualification(
                        kind=role, cert_no=f"{role[:2]}{prefix}{i}", classes=[],
                        expires_on=far)]
                    crew.append(person)
                s.add_all([tractor, *crew])
                s.flush()
                start = at - timedelta(minutes=30)
                trip = create_trip(uow, actor, BookingIn(
                    park_id=park.id,
                    enterprise_id=enterprise_of[plant_ids[plant_no]],
                    plant_id=plant_ids[plant_no], vehicle_id=tractor.id, category="hazmat",
                    window_start=start, window_end=start + timedelta(hours=12),
                    priority=priority, driver_id=crew[0].id, escort_id=crew[1].id,
                    waybill_no=f"W{prefix}{i}",
                    cargo=[CargoIn(m.un_number, m.name_zh, m.hazard_class,
                                   day.quantity_kg[i],
                                   subsidiary_risks=list(m.subsidiary_risks or ()))]),
                    approved=True)
                booked[i] = trip.id
                if len(booked) % 500 == 0:
                    uow.commit()
            return booked

        trips = book(plan, "苏L")
        if history is not None:
            # What the plant gates and docks reported of the earlier day: released,
            # read at the plant gate after the drive, unloaded, left.
            past = book(history, "苏H")
            for at, i, plant_no, _un, _prio in history.arrivals:
                arrived = at + history.drive[i]
                s.add(Unloading(trip_id=past[i], plant_id=plant_ids[plant_no],
                                hazard_class=history.cls[i], quantity_kg=history.quantity_kg[i],
                                released_at=at, arrived_at=arrived, started_at=arrived,
                                ended_at=arrived + history.unload[i]))
            s.flush()
            learning.relearn(s)
        uow.commit()
    db.dispose()
    return {"trips": trips, "plant_ids": plant_ids}


@dataclass
class Timings:
    """Per release decision, in ms: the decision up to its durable COMMIT, the commit
    alone (its writes, the audit append and COMMIT, with PostgreSQL writing its log to
    disk: one round trip), and the admission after it."""
    release_ms: list[float] = field(default_factory=list)
    commit_ms: list[float] = field(default_factory=list)
    admission_ms: list[float] = field(default_factory=list)
    # What each decision was: "call" (a call-forward time reached), "leave" (a truck
    # left: its dock freed or handed to the truck called forward to it).
    kinds: list[str] = field(default_factory=list)


def run_real(url: str, plan: Plan, park: dict[str, Any]) -> tuple[Figures, Timings, int]:
    """The day through the application's services; returns figures, the timings of
    every release decision, and how many trucks waited at the entrance."""
    from sqlalchemy import select

    from audit import sequencer
    from dispatch import service
    from kernel import clock
    from kernel.uow import Actor, unit_of_work
    from models import QueueEntry, Release, Trip, Unloading
    from parkgate.database import Database
    from trips import state_machine as sm

    db = Database(url)
    # As in production (parkgate.config: linking "background"): the audit chain is
    # linked by the sequencer's thread after COMMIT, not in the request.
    sequencer.configure(db.engine, "background")
    actor = Actor.system("lot-day")
    trip_ids: dict[int, int] = park["trips"]
    number_of = {v: k for k, v in trip_ids.items()}
    events: list[tuple[datetime, int, str, int]] = []
    seq = 0
    for at, i, _plant, _un, _prio in plan.arrivals:
        events.append((at, seq, "arrive", trip_ids[i]))
        seq += 1
    heapq.heapify(events)
    seen_releases: set[int] = set()
    called_in: set[int] = set()
    unloading: set[int] = set()
    ticks: set[datetime] = set()
    arrived_at: dict[int, datetime] = {}
    at_plant_at: dict[int, datetime] = {}
    released_at: dict[int, datetime] = {}
    timings = Timings()
    entrance = 0
    figures = Figures()

    def push(at: datetime, kind: str, trip_id: int) -> None:
        nonlocal seq
        heapq.heappush(events, (at, seq, kind, trip_id))
        seq += 1

    def follow(uow: Any, now: datetime) -> None:
        """What the last transaction set going: drives of trucks just released,
        unloadings just started, trucks at the entrance called to a bay, and the next
        call-forward time."""
        session = uow.session
        for rel in session.scalars(select(Release).where(Release.released_at == now)):
            if rel.id in seen_releases:
                continue
            seen_releases.add(rel.id)
            released_at[rel.trip_id] = now
            figures.waits_min.append((now - arrived_at[rel.trip_id]).total_seconds() / 60)
            push(now + plan.drive[number_of[rel.trip_id]], "at_plant", rel.trip_id)
        for trip_id in session.scalars(select(Unloading.trip_id).where(
                Unloading.started_at == now)):
            if trip_id not in unloading:
                unloading.add(trip_id)
                took = plan.unload[number_of[trip_id]]
                figures.gate_waits_min.append((now - at_plant_at[trip_id]).total_seconds() / 60)
                figures.unloading_s += took.total_seconds()
                push(now + took, "leave", trip_id)
        for entry in session.scalars(select(QueueEntry).where(
                QueueEntry.status == "entrance", QueueEntry.bay_id.is_not(None))):
            if entry.trip_id not in called_in:
                called_in.add(entry.trip_id)
                push(now, "arrive", entry.trip_id)
        due = service.next_call_at(session, now)
        if due is not None and due not in ticks:
            ticks.add(due)
            push(due, "tick", 0)

    def timed(uow: Any, kind: str, decide: Any) -> bool:
        """Run `decide` (the release decision) and commit it, timing it up to its
        durable COMMIT; the admission from the entrance that follows runs after, timed
        on its own. Nothing is counted when `decide` says it released nobody."""
        started = time.perf_counter()
        # Registered first, so it runs first after COMMIT: the release decision is
        # durable and the driver called here. The admission of a truck from the
        # entrance to the bay the released truck leaves runs after it.
        committed: list[float] = []
        uow.after_commit(lambda stamps=committed: stamps.append(time.perf_counter()))
        counted = decide()
        uow.handle_events()  # the lot follows the trip: its dock frees, the next is called
        sent = time.perf_counter()
        uow.commit()
        done = time.perf_counter()
        if not counted:
            return False
        (durable,) = committed
        timings.release_ms.append((durable - started) * 1000)
        timings.commit_ms.append((durable - sent) * 1000)
        timings.admission_ms.append((done - durable) * 1000)
        timings.kinds.append(kind)
        return True

    first = plan.arrivals[0][0]
    last = first
    while events:
        now, _, kind, trip_id = heapq.heappop(events)
        last = max(last, now)
        clock.pin(now)
        with unit_of_work(db.session_factory) as uow:
            if kind == "tick":  # as the lot.call_forward job: a transaction per plant
                ticks.discard(now)
                plants = service.due_plants(uow.session, now)
                uow.commit()
                for plant_id in plants:
                    with unit_of_work(db.session_factory) as one:
                        timed(one, "call", lambda one=one, plant_id=plant_id, now=now:
                              service.call_forward_due(one, now, plant_id=plant_id))
                follow(uow, now)
                continue
            trip = uow.session.get(Trip, trip_id)
            assert trip is not None
            if kind == "arrive" and trip.state == "RELEASED":
                continue  # called in to a bay, then released from the entrance first
            if kind == "arrive":
                arrived_at.setdefault(trip_id, now)
                result = service.check_in(uow, trip, actor, now)
                if result.placement is None:
                    entrance += 1
            elif kind == "at_plant":
                at_plant_at[trip_id] = now
                sm.apply(uow, trip, "enter_plant", actor, sm.Context(now=now))  # uses its release
            else:
                figures.reserved_s += (now - released_at[trip_id]).total_seconds()
                timed(uow, "leave", lambda uow=uow, trip=trip, now=now: sm.apply(
                    uow, trip, "leave_plant", actor, sm.Context(now=now)) or True)
                follow(uow, now)
                continue
            uow.commit()
            follow(uow, now)
    figures.span = (first, last)
    sequencer.shutdown()
    db.dispose()
    return figures, timings, entrance


def percentile(ordered: list[float], q: float) -> float:
    return ordered[int(q * (len(ordered) - 1))] if ordered else 0.0


def figures_ms(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {"p50": round(percentile(ordered, 0.5), 2), "p99": round(percentile(ordered, 0.99), 2)}


def board_figures(url: str) -> dict[str, float]:
    """What the dispatcher's board shows for the day, averaged over the plants."""
    from dispatch import board
    from parkgate.database import Database

    db = Database(url)
    with db.session_factory() as session:
        rows = [f for _name, f in board.kpis_for_day(session, DAY)]
    db.dispose()

    def avg(attr: str) -> float | None:
        values = [getattr(f, attr) for f in rows if getattr(f, attr) is not None]
        return round(statistics.fmean(values), 2) if values else None

    return {k: v for k in ("plant_gate_wait_mean_min", "dock_idle_mean_min",
                           "unload_error_mean_min", "unload_utilisation")
            if (v := avg(k)) is not None}


@dataclass
class Run:
    figures: dict[str, float]
    release: dict[str, float]
    commit: dict[str, float]
    before_commit: dict[str, float]
    admission: dict[str, float]
    decisions: int
    wall_s: float
    entrance: int
    board: dict[str, float]


def run_day(admin: str, plan: Plan, plants: int, *, timing: str, history: Plan | None,
            label: str, margin: int | None = None) -> Run:
    from parkgate.migrate import upgrade

    url, drop = throwaway(admin, "parkgate_lotday")
    try:
        upgrade(url)
        t = time.perf_counter()
        park = build_park(url, plan, plants, timing=timing, history=history, margin=margin)
        built = time.perf_counter() - t
        # As a gunicorn worker does after start-up (parkgate.wsgi): what is built by now
        # (the plan, the imported app) stays out of the collector's full passes, which
        # would otherwise land in a release's timing as a pause of the simulator's own.
        gc.collect()
        gc.freeze()
        t = time.perf_counter()
        real, timings, entrance = run_real(url, plan, park)
        wall = time.perf_counter() - t
        gc.unfreeze()
        board = board_figures(url)
    finally:
        drop()
    run = Run(real.summary(sum(plan.docks.values())), figures_ms(timings.release_ms),
              figures_ms(timings.commit_ms),
              figures_ms([r - c for r, c in zip(timings.release_ms, timings.commit_ms,
                                                strict=True)]),
              figures_ms(timings.admission_ms), len(timings.release_ms), wall, entrance, board)
    f = run.figures
    by_kind = {k: figures_ms([ms for ms, kind in zip(timings.release_ms, timings.kinds,
                                                       strict=True) if kind == k])
               for k in sorted(set(timings.kinds))}
    f = run.figures
    print(f"{label:<34} mean wait {f['mean_wait_min']:6.1f} min, p90 {f['p90_wait_min']:6.1f}, "
          f"unloading {f['unload_utilisation']:.1%} / reserved "
          f"{f['reserved_utilisation']:.1%} of dock time, plant-gate wait "
          f"{f['plant_gate_wait_mean_min']:.2f} min; {run.decisions} release decisions "
          f"p50 {run.release['p50']:.1f} ms p99 {run.release['p99']:.1f} ms (commit p99 "
          f"{run.commit['p99']:.1f}), admission p99 {run.admission['p99']:.1f} ms; "
          f"{entrance} waited at the entrance; built {built:.0f} s, ran {wall:.0f} s")
    print(f"{'':<34} release decisions by kind: " + ", ".join(
        f"{k} ×{timings.kinds.count(k)} p50 {v['p50']:.1f} ms p99 {v['p99']:.1f} ms"
        for k, v in by_kind.items()))
    if board:
        print(f"{'':<34} the board's figures (mean over plants): {board}")
    return run


RUNS = ("call_forward", "cold", "free_dock", "small")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trips", type=int, default=3000)
    parser.add_argument("--plants", type=int, default=24)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--history-seed", type=int, default=1003,
                        help="the earlier day ParkGate learns from (warm runs)")
    parser.add_argument("--runs", default=",".join(RUNS),
                        help=f"which ParkGate runs, of {', '.join(RUNS)} (small: call-forward "
                             "with a third of the trips, for the release cost's growth)")
    parser.add_argument("--margin", type=int, default=None,
                        help="every plant's call-forward margin in minutes (default: the "
                             "plant record's default)")
    parser.add_argument("--bays-per-zone", type=int, default=BAYS_PER_ZONE)
    args = parser.parse_args()
    globals()["BAYS_PER_ZONE"] = args.bays_per_zone
    runs = [r for r in args.runs.split(",") if r]
    if unknown := set(runs) - set(RUNS):
        raise SystemExit(f"unknown runs: {', '.join(sorted(unknown))}")
    admin = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1/test")
    if not admin.startswith("postgres"):
        raise SystemExit("this benchmark needs PostgreSQL in DATABASE_URL")
    from demo.paths import dangerous_goods_csv
    from rules.hazard import primary_class

    materials: dict[str, list[str]] = defaultdict(list)
    for row in csv.DictReader(dangerous_goods_csv().open(encoding="utf-8")):
        if not row["subsidiary_risks"] or row["class"] == "2.3":
            cls = row["class"] if row["class"] in ("6.1", "5.1", "4.1") else \
                primary_class(row["class"])
            materials[cls].append(row["un_number"])
    park = draw_park(args.plants, args.seed)
    plan = draw_plan(args.trips, park, materials, args.seed)
    history = draw_plan(args.trips, park, materials, args.history_seed, day_offset=-1)
    docks = sum(plan.docks.values())
    mean_unload = statistics.fmean(u.total_seconds() for u in plan.unload.values()) / 60
    mean_drive = statistics.fmean(d.total_seconds() for d in plan.drive.values()) / 60
    print(f"park: {args.plants} plants, {docks} docks, {len(ZONES)} zones, "
          f"{len(ZONES) * BAYS_PER_ZONE} bays; {args.trips} trips (mean unloading "
          f"{mean_unload:.1f} min, mean drive {mean_drive:.1f} min); "
          f"warm runs learn from {len(history.arrivals)} unloadings of an earlier day")
    line = fcfs(plan, per_plant=False).summary(docks)
    per_plant = fcfs(plan, per_plant=True).summary(docks)
    for label, f in (("FCFS, one line", line), ("FCFS, a line per plant", per_plant)):
        print(f"{label:<34} mean wait {f['mean_wait_min']:6.1f} min, p90 {f['p90_wait_min']:6.1f}, "
              f"unloading {f['unload_utilisation']:.1%} / reserved "
              f"{f['reserved_utilisation']:.1%} of dock time")
    done: dict[str, Run] = {}
    if "call_forward" in runs:
        done["call_forward"] = run_day(admin, plan, args.plants, timing="call_forward",
                                       margin=args.margin,
                                       history=history, label="ParkGate call-forward (warm)")
    if "cold" in runs:
        done["cold"] = run_day(admin, plan, args.plants, timing="call_forward",
                               margin=args.margin, history=None,
                               label="ParkGate call-forward (cold)")
    if "free_dock" in runs:
        done["free_dock"] = run_day(admin, plan, args.plants, timing="free_dock",
                                    history=history, label="ParkGate on a free dock (warm)")
    if "small" in runs:
        small = draw_plan(args.trips // 3, park, materials, args.seed)
        done["small"] = run_day(admin, small, args.plants, timing="call_forward",
                                margin=args.margin,
                                history=history,
                                label=f"ParkGate call-forward, {args.trips // 3} trips")
    out: dict[str, Any] = {"bench": "lot_day", "trips": args.trips, "plants": args.plants,
                           "docks": docks, "bays": len(ZONES) * BAYS_PER_ZONE}
    head = done.get("call_forward") or next(iter(done.values()), None)
    if head is not None:
        out |= {**{k: v for k, v in head.figures.items() if k != "day_ends"},
                "release_decisions": head.decisions, "wall_s": round(head.wall_s, 1),
                "release_p50_ms": head.release["p50"], "release_p99_ms": head.release["p99"],
                "commit_p99_ms": head.commit["p99"],
                "release_before_commit_p99_ms": head.before_commit["p99"],
                "admission_p50_ms": head.admission["p50"],
                "admission_p99_ms": head.admission["p99"], "entrance_waits": head.entrance,
                "board": head.board}
    if "cold" in done:
        cold = done["cold"].figures
        out |= {"cold_mean_wait_min": cold["mean_wait_min"],
                "cold_unload_utilisation": cold["unload_utilisation"],
                "cold_plant_gate_wait_mean_min": cold["plant_gate_wait_mean_min"]}
    if "free_dock" in done:
        free = done["free_dock"]
        out |= {"free_dock_mean_wait_min": free.figures["mean_wait_min"],
                "free_dock_p90_wait_min": free.figures["p90_wait_min"],
                "free_dock_unload_utilisation": free.figures["unload_utilisation"],
                "free_dock_release_p99_ms": free.release["p99"]}
    if "small" in done:
        small_run = done["small"]
        out |= {"small_trips": args.trips // 3, "small_release_p99_ms": small_run.release["p99"],
                "small_admission_p99_ms": small_run.admission["p99"]}
        if head is not None and small_run.release["p99"]:
            out["release_p99_growth"] = round(head.release["p99"] / small_run.release["p99"], 2)
    out |= {"fcfs_plant_mean_wait_min": per_plant["mean_wait_min"],
            "fcfs_plant_p90_wait_min": per_plant["p90_wait_min"],
            "fcfs_plant_unload_utilisation": per_plant["unload_utilisation"],
            "fcfs_line_mean_wait_min": line["mean_wait_min"],
            "fcfs_line_unload_utilisation": line["unload_utilisation"]}
    if head is not None and per_plant["mean_wait_min"]:
        out["wait_vs_fcfs_plant"] = round(head.figures["mean_wait_min"]
                                          / per_plant["mean_wait_min"], 3)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
