"""One busy day at the hazmat lot, through the real services on PostgreSQL.

    DATABASE_URL=postgresql://postgres@127.0.0.1/test python bench/lot_day.py [--trips N]

A park with 24 plants (4–6 docks each), a lot of 12 zones and 240 bays under a zone
table by hazard class, and ≥3,000 hazmat trips whose arrivals cluster in a morning
and an early-afternoon peak. A discrete-event simulation drives the application's
own functions under a pinned clock: check-in at the lot gate (bay by segregation),
automatic release when a dock frees, arrival at the plant after the drive, unloading,
leaving (which frees the dock and calls the next truck). Every release decision is
timed as it runs: the transaction that frees a dock and releases the next truck, up
to its COMMIT. The bay that truck leaves then goes to a truck at the entrance in a
transaction of its own; that admission is timed separately and printed beside it.

The baseline is plain first-come-first-served on the same arrivals, drive and
unloading times, simulated without a database: trucks queue in one line in the
order they came, and the head of the line goes when its plant has a free dock (the
line waits behind it). Figures are printed for both; so is FCFS per plant, the
best a park could do with per-plant lines but no priorities or windows.
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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.population import throwaway  # noqa: E402

DAY = date(2026, 11, 23)
T0 = datetime(2026, 11, 22, 16, 0, tzinfo=UTC)  # 00:00 in the park
ZONES = [("A", ["3"]), ("B", ["3"]), ("C", ["3"]), ("D", ["8"]), ("E", ["8"]),
         ("F", ["2"]), ("G", ["2"]), ("H", ["6.1", "9"]), ("I", ["4.1", "4.2", "4.3"]),
         ("J", ["5.1", "5.2"]), ("K", ["3", "8", "6.1", "9"]), ("L", ["2", "3", "8", "9"])]
BAYS_PER_ZONE = 20
TRAVEL = timedelta(minutes=8)


@dataclass
class Plan:
    """The day, drawn once and shared by the real run and the baselines."""

    arrivals: list[tuple[datetime, int, int, str, int]]  # (at, trip#, plant#, UN, priority)
    unload: dict[int, timedelta]
    docks: dict[int, int]  # plant# -> docks


def draw_plan(n: int, plants: int, materials: dict[str, list[str]], seed: int) -> Plan:
    rng = random.Random(seed)
    arrivals = []
    classes = ["3"] * 45 + ["8"] * 20 + ["2"] * 15 + ["6.1"] * 8 + ["5.1"] * 6 + ["4.1"] * 3 + \
        ["9"] * 3
    for i in range(n):
        roll = rng.random()
        if roll < 0.55:
            minute = rng.gauss(8 * 60, 70)  # the morning peak
        elif roll < 0.85:
            minute = rng.gauss(13 * 60 + 30, 60)  # after lunch
        else:
            minute = rng.uniform(5 * 60, 21 * 60)
        minute = min(max(minute, 4 * 60), 22 * 60)
        cls = rng.choice(classes)
        un = rng.choice(materials.get(cls) or materials["3"])
        priority = 5 if rng.random() < 0.05 else 0
        arrivals.append((T0 + timedelta(minutes=minute), i, i % plants, un, priority))
    arrivals.sort()
    unload = {i: timedelta(minutes=max(12.0, rng.gauss(32, 10))) for i in range(n)}
    docks = {p: rng.choice((4, 5, 5, 6)) for p in range(plants)}
    return Plan(arrivals, unload, docks)


@dataclass
class Figures:
    waits_min: list[float] = field(default_factory=list)
    busy_s: float = 0.0
    span: tuple[datetime, datetime] | None = None

    def summary(self, docks: int) -> dict[str, float]:
        waits = sorted(self.waits_min)
        p90 = waits[int(0.9 * (len(waits) - 1))] if waits else 0.0
        start, end = self.span or (T0, T0)
        capacity = docks * (end - start).total_seconds()
        return {"mean_wait_min": round(statistics.fmean(waits), 1) if waits else 0.0,
                "p90_wait_min": round(p90, 1),
                "utilisation": round(self.busy_s / capacity, 3) if capacity else 0.0}


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
                done = now + TRAVEL + plan.unload[trip]
                figures.busy_s += (done - now).total_seconds()
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


def build_park(url: str, plan: Plan, plants: int) -> dict[str, object]:
    """Park, plants and docks, lot and zones, materials, a tractor and a crew per trip,
    and the bookings — through the ORM, as the records API would leave them."""
    from auth.principal import system_principal
    from booking.service import BookingIn, CargoIn, create_trip
    from demo.paths import dangerous_goods_csv
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
        Vehicle,
        Zone,
    )
    from parkgate.database import Database

    db = Database(url)
    far = DAY + timedelta(days=365)
    clock.pin(T0)
    actor = system_principal("bench").actor
    with unit_of_work(db.session_factory) as uow:
        s = uow.session
        park = Park(code="LOTDAY", name="基准园区", policy={"auto_approve_bookings": True})
        s.add(park)
        s.flush()
        materials = {}
        for row in csv.DictReader(dangerous_goods_csv().open(encoding="utf-8")):
            m = Material(un_number=row["un_number"], name_zh=row["name_zh"],
                         name_en=row["name_en"], hazard_class=row["class"],
                         subsidiary_risks=[x for x in row["subsidiary_risks"].split(";") if x],
                         packing_group=row["packing_group"] or None)
            s.add(m)
            materials.setdefault(m.un_number, m)
        plant_ids = []
        for p in range(plants):
            if p % 2 == 0:
                ent = Enterprise(park_id=park.id, code=f"LE{p:02d}", name=f"企业{p // 2}")
                s.add(ent)
                s.flush()
            plant = Plant(enterprise_id=ent.id, code=f"LP{p:02d}", name=f"装置{p:02d}",
                          receiving_hours={}, release_mode="auto", arrival_deadline_min=30,
                          max_dwell_min=240)
            plant.docks = [Dock(code=f"D{d}") for d in range(plan.docks[p])]
            s.add(plant)
            s.flush()
            plant_ids.append(plant.id)
        lot = Lot(park_id=park.id, code="BLOT", name="危化品停车场", max_wait_min=480,
                  excluded_classes=["1", "7"])
        s.add(lot)
        s.flush()
        for code, accepted in ZONES:
            zone = Zone(lot_id=lot.id, code=code, name=f"{code}区", accepted_classes=accepted,
                        layout={})
            zone.bays = [Bay(code=f"{code}{b:02d}") for b in range(BAYS_PER_ZONE)]
            s.add(zone)
        s.flush()
        trips: dict[int, int] = {}
        for at, i, plant_no, un, priority in plan.arrivals:
            m = materials[un]
            tractor = Vehicle(plate=f"苏L{i:05d}", plate_colour="yellow", kind="tractor",
                              category="hazmat", rated_load_kg=30000.0, road_permit_no=f"P{i}",
                              permit_scope=["2", "3", "4", "5", "6", "8", "9"],
                              permit_expires_on=far, review_expires_on=far,
                              inspection_expires_on=far, insurance_expires_on=far, created_at=at)
            crew = []
            for role in ("driver", "escort"):
                person = Person(name=f"{role}{i}", id_hash=f"h{role}{i}", id_cipher="x",
                                id_masked="*", kinds=[role], created_at=at)
                person.qualifications = [Qualification(kind=role, cert_no=f"{role[:2]}{i}",
                                                       classes=[], expires_on=far)]
                crew.append(person)
            s.add_all([tractor, *crew])
            s.flush()
            start = at - timedelta(minutes=30)
            trip = create_trip(uow, actor, BookingIn(
                park_id=park.id, enterprise_id=s.get(Plant, plant_ids[plant_no]).enterprise_id,
                plant_id=plant_ids[plant_no], vehicle_id=tractor.id, category="hazmat",
                window_start=start, window_end=start + timedelta(hours=12), priority=priority,
                driver_id=crew[0].id, escort_id=crew[1].id, waybill_no=f"W{i}",
                cargo=[CargoIn(m.un_number, m.name_zh, m.hazard_class, 5000.0,
                               subsidiary_risks=list(m.subsidiary_risks or ()))]),
                approved=True)
            trips[i] = trip.id
            if len(trips) % 500 == 0:
                uow.commit()
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


def run_real(url: str, plan: Plan, park: dict[str, object]
             ) -> tuple[Figures, Timings, int]:
    """The day through the application's services; returns figures, the timings of
    every release decision, and how many trucks waited at the entrance."""
    from sqlalchemy import select

    from dispatch import service
    from kernel import clock
    from kernel.uow import Actor, unit_of_work
    from models import QueueEntry, Release, Trip
    from parkgate.database import Database
    from trips import state_machine as sm

    db = Database(url)
    actor = Actor.system("lot-day")
    trip_ids: dict[int, int] = park["trips"]  # type: ignore[assignment]
    number_of = {v: k for k, v in trip_ids.items()}
    events: list[tuple[datetime, int, str, int]] = []
    seq = 0
    for at, i, _plant, _un, _prio in plan.arrivals:
        events.append((at, seq, "arrive", trip_ids[i]))
        seq += 1
    heapq.heapify(events)
    seen_releases: set[int] = set()
    called_in: set[int] = set()
    arrived_at: dict[int, datetime] = {}
    timings = Timings()
    entrance = 0
    figures = Figures()

    def follow_releases(uow: object, now: datetime) -> None:
        """Schedule the drive and unloading of every truck just released."""
        nonlocal seq
        session = uow.session  # type: ignore[attr-defined]
        for rel in session.scalars(select(Release).where(Release.released_at == now)):
            if rel.id in seen_releases:
                continue
            seen_releases.add(rel.id)
            figures.waits_min.append((now - arrived_at[rel.trip_id]).total_seconds() / 60)
            heapq.heappush(events, (now + TRAVEL, seq, "at_plant", rel.trip_id))
            seq += 1
        # Trucks at the entrance for whom a bay has been kept drive in.
        for entry in session.scalars(select(QueueEntry).where(
                QueueEntry.status == "entrance", QueueEntry.bay_id.is_not(None))):
            if entry.trip_id not in called_in:
                called_in.add(entry.trip_id)
                heapq.heappush(events, (now, seq, "arrive", entry.trip_id))
                seq += 1

    first = plan.arrivals[0][0]
    last = first
    while events:
        now, _, kind, trip_id = heapq.heappop(events)
        last = max(last, now)
        clock.pin(now)
        with unit_of_work(db.session_factory) as uow:
            trip = uow.session.get(Trip, trip_id)
            assert trip is not None
            if kind == "arrive":
                arrived_at.setdefault(trip_id, now)
                result = service.check_in(uow, trip, actor, now)
                if result.placement is None:
                    entrance += 1
            elif kind == "at_plant":
                sm.apply(uow, trip, "enter_plant", actor, sm.Context(now=now))  # uses its release
                heapq.heappush(events, (now + plan.unload[number_of[trip_id]], seq, "leave",
                                        trip_id))
                seq += 1
            else:
                sm.apply(uow, trip, "leave_plant", actor, sm.Context(now=now))
                started = time.perf_counter()
                # Registered first, so it runs first after COMMIT: the release decision
                # is durable and the driver called here. The admission of a truck from
                # the entrance to the bay the released truck leaves runs after it, in
                # its own transaction, and is timed on its own.
                committed: list[float] = []
                uow.after_commit(lambda stamps=committed: stamps.append(time.perf_counter()))
                uow.handle_events()  # the lot follows the trip: its dock frees, the next is released
                sent = time.perf_counter()
                uow.commit()
                done = time.perf_counter()
                (durable,) = committed
                timings.release_ms.append((durable - started) * 1000)
                timings.commit_ms.append((durable - sent) * 1000)
                timings.admission_ms.append((done - durable) * 1000)
                figures.busy_s += (now - trip.released_at).total_seconds() \
                    if trip.released_at else 0
                follow_releases(uow, now)
                continue
            uow.commit()
            follow_releases(uow, now)
    figures.span = (first, last)
    db.dispose()
    return figures, timings, entrance


def percentile(ordered: list[float], q: float) -> float:
    return ordered[int(q * (len(ordered) - 1))] if ordered else 0.0


def figures_ms(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {"p50": round(percentile(ordered, 0.5), 2), "p99": round(percentile(ordered, 0.99), 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trips", type=int, default=3000)
    parser.add_argument("--plants", type=int, default=24)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    admin = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1/test")
    if not admin.startswith("postgres"):
        raise SystemExit("this benchmark needs PostgreSQL in DATABASE_URL")
    from demo.paths import dangerous_goods_csv
    from parkgate.migrate import upgrade
    from rules.hazard import primary_class

    materials: dict[str, list[str]] = defaultdict(list)
    for row in csv.DictReader(dangerous_goods_csv().open(encoding="utf-8")):
        if not row["subsidiary_risks"] or row["class"] == "2.3":
            cls = row["class"] if row["class"] in ("6.1", "5.1", "4.1") else \
                primary_class(row["class"])
            materials[cls].append(row["un_number"])
    plan = draw_plan(args.trips, args.plants, materials, args.seed)
    docks = sum(plan.docks.values())
    url, drop = throwaway(admin, "parkgate_lotday")
    try:
        upgrade(url)
        t = time.perf_counter()
        park = build_park(url, plan, args.plants)
        print(f"park: {args.plants} plants, {docks} docks, {len(ZONES)} zones, "
              f"{len(ZONES) * BAYS_PER_ZONE} bays, {args.trips} bookings "
              f"(built in {time.perf_counter() - t:.0f} s)")
        # As a gunicorn worker does after start-up (parkgate.wsgi): what is built by now
        # (the plan, the imported app) stays out of the collector's full passes, which
        # would otherwise land in a release's timing as a pause of the simulator's own.
        gc.freeze()
        t = time.perf_counter()
        real, timings, entrance = run_real(url, plan, park)
        wall = time.perf_counter() - t
    finally:
        drop()
    n = len(timings.release_ms)
    release = figures_ms(timings.release_ms)
    commit = figures_ms(timings.commit_ms)
    before_commit = figures_ms([r - c for r, c in zip(timings.release_ms, timings.commit_ms,
                                                      strict=True)])
    admission = figures_ms(timings.admission_ms)
    ours = real.summary(docks)
    single = fcfs(plan, per_plant=False).summary(docks)
    lines = fcfs(plan, per_plant=True).summary(docks)
    print(f"simulated day in {wall:.0f} s wall: {n} release decisions, {n / wall:.1f}/s, "
          f"p50 {release['p50']:.1f} ms, p99 {release['p99']:.1f} ms; "
          f"{entrance} check-ins found no compatible bay at once")
    print(f"  of which the commit (writes, audit append, COMMIT: one round trip): "
          f"p50 {commit['p50']:.1f} ms, "
          f"p99 {commit['p99']:.1f} ms; the rest: p50 {before_commit['p50']:.1f} ms, "
          f"p99 {before_commit['p99']:.1f} ms")
    print(f"then admission from the entrance (own transaction): p50 "
          f"{admission['p50']:.1f} ms, p99 {admission['p99']:.1f} ms")
    print(f"ParkGate lot:          mean wait {ours['mean_wait_min']} min, p90 "
          f"{ours['p90_wait_min']} min, dock utilisation {ours['utilisation']:.1%}")
    print(f"FCFS, one line:        mean wait {single['mean_wait_min']} min, p90 "
          f"{single['p90_wait_min']} min, dock utilisation {single['utilisation']:.1%}")
    print(f"FCFS, line per plant:  mean wait {lines['mean_wait_min']} min, p90 "
          f"{lines['p90_wait_min']} min, dock utilisation {lines['utilisation']:.1%}")
    print(json.dumps({
        "bench": "lot_day", "trips": args.trips, "plants": args.plants, "docks": docks,
        "bays": len(ZONES) * BAYS_PER_ZONE, "wall_s": round(wall, 1),
        "release_decisions": n, "release_decisions_per_s": round(n / wall, 1),
        "release_p50_ms": release["p50"], "release_p99_ms": release["p99"],
        "commit_p50_ms": commit["p50"], "commit_p99_ms": commit["p99"],
        "release_before_commit_p50_ms": before_commit["p50"],
        "release_before_commit_p99_ms": before_commit["p99"],
        "admission_p50_ms": admission["p50"], "admission_p99_ms": admission["p99"],
        **ours, "fcfs_mean_wait_min": single["mean_wait_min"],
        "fcfs_p90_wait_min": single["p90_wait_min"], "fcfs_utilisation": single["utilisation"],
        "fcfs_per_plant": lines, "entrance_waits": entrance}))


if __name__ == "__main__":
    main()
