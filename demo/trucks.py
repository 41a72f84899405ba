"""The demo's hazmat trucks: booked by the enterprises' logistics staff through the
booking service (every check runs), read at the south gate and sent to the lot,
checked in to a bay by the lot gate, released when their plant frees a dock (or,
called forward, as it is about to), through the plant gate, unloaded once their dock
is their own, and out — each step through the same services the real
gates and the dispatcher use. Only the trucks themselves are simulated."""

from __future__ import annotations

import logging
import random
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select

from kernel import clock
from rules.hours import window_within

log = logging.getLogger(__name__)


def _fitting(material: Any, until: Any) -> Callable[[Any], bool]:
    """Whether a vehicle's papers let it carry `material` past `until`."""
    cls = material.hazard_class

    def fits(v: Any) -> bool:
        scope = {c.split(".")[0] for c in v.permit_scope or []}
        papers = (v.permit_expires_on, v.review_expires_on, v.inspection_expires_on,
                  v.insurance_expires_on) + ((v.tank_inspection_expires_on,) if v.is_tank
                                             else ())
        return (cls.split(".")[0] in scope and all(d is None or d > until for d in papers)
                and (not v.is_tank or material.un_number in (v.tank_media or [])))

    return fits

# Where a truck is, and the lane that moves it on.
STEPS = ("perimeter_in", "lot_in", "wait_release", "lot_out", "perimeter_again", "plant_in",
         "unload", "plant_out", "perimeter_out")


@dataclass
class Truck:
    trip_id: int
    plate: str
    trailer_plate: str | None
    crew: list[str]  # certificate numbers shown at the lot gate
    plant_gate: str  # e.g. E01
    step: int = 0
    due: datetime | None = None


class TruckTraffic:
    def __init__(self, session_factory: Callable[[], Any], bus: Any, runtime: Any, *,
                 interval_s: float = 30.0, unload_s: float = 120.0, seed: int = 7) -> None:
        self.session_factory = session_factory
        self.bus = bus
        self.runtime = runtime
        self.interval_s = interval_s
        self.unload_s = unload_s
        self.rng = random.Random(seed)
        self.trucks: list[Truck] = []
        self.booked = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> TruckTraffic:
        self._thread = threading.Thread(target=self._run, name="demo-trucks", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        next_booking = clock.now()
        while not self._stop.wait(2.0):
            try:
                if clock.now() >= next_booking and len(self.trucks) < 12:
                    self.book_one()
                    next_booking = clock.now() + timedelta(seconds=self.interval_s)
                self.advance()
            except Exception:
                log.exception("demo trucks")

    # --- booking ---------------------------------------------------------------------------

    def book_one(self) -> Truck | None:
        """An enterprise books a truck for now, through every booking check."""
        from auth.principal import from_user
        from booking.service import BookingChecksFailed, BookingRequest, CargoRequest, book
        from kernel.errors import DomainError
        from kernel.uow import unit_of_work
        from models import (
            Enterprise,
            EnterpriseMaterialScope,
            Gate,
            Material,
            Person,
            Plant,
            Qualification,
            Trip,
            User,
            Vehicle,
        )
        from registry.scope import linked_carrier_ids
        from trips.state_machine import OPEN_STATES

        now = clock.now()
        with unit_of_work(self.session_factory, self.bus) as uow:
            s = uow.session
            busy_vehicles = set(s.scalars(select(Trip.vehicle_id).where(
                Trip.state.in_(OPEN_STATES), Trip.window_end > now)))
            busy_people = set(s.scalars(select(Trip.driver_id).where(
                Trip.state.in_(OPEN_STATES), Trip.window_end > now))) | set(s.scalars(
                    select(Trip.escort_id).where(Trip.state.in_(OPEN_STATES),
                                                 Trip.window_end > now)))
            tractors = [v for v in s.scalars(select(Vehicle).where(
                Vehicle.kind == "tractor", Vehicle.retired_at.is_(None))) if v.id not in
                busy_vehicles]
            trailers = [v for v in s.scalars(select(Vehicle).where(
                Vehicle.kind == "trailer", Vehicle.retired_at.is_(None))) if v.id not in
                busy_vehicles]
            quals = list(s.scalars(select(Qualification).where(
                Qualification.expires_on > now.date() + timedelta(days=7),
                Qualification.retired_at.is_(None),
                or_(Qualification.kind == "driver", Qualification.kind == "escort"))))
            drivers = [q for q in quals if q.kind == "driver" and q.person_id not in busy_people]
            escorts = [q for q in quals if q.kind == "escort" and q.person_id not in busy_people]
            users = {u.enterprise_id: u for u in s.scalars(select(User).where(
                User.enterprise_id.is_not(None)))}
            self.rng.shuffle(tractors)
            self.rng.shuffle(trailers)
            for _attempt in range(6):
                if not (tractors and trailers and drivers and escorts):
                    return None
                gated = dict(s.execute(select(Gate.plant_id, Gate.code).where(
                    Gate.kind == "plant", Gate.plant_id.is_not(None))).all())
                start, end = now - timedelta(minutes=10), now + timedelta(hours=2)
                # Only plants receiving for the whole window: a demo truck that would be
                # refused for the hour of day teaches nothing.
                open_now = [p for p in s.scalars(select(Plant).where(Plant.id.in_(list(gated))))
                            if p.enterprise_id in users
                            and window_within(p.receiving_hours, start, end)]
                if not open_now:
                    return None
                plant = self.rng.choice(open_now)
                enterprise = s.get(Enterprise, plant.enterprise_id)
                assert enterprise is not None  # a plant's owner
                scope = [x for x in s.scalars(select(EnterpriseMaterialScope).where(
                    EnterpriseMaterialScope.enterprise_id == enterprise.id,
                    EnterpriseMaterialScope.direction == "receive"))]
                line = self.rng.choice(scope)
                material = s.scalar(select(Material).where(
                    Material.un_number == line.un_number if line.un_number else
                    Material.hazard_class == line.hazard_class, Material.highly_toxic.is_(False),
                    Material.retired_at.is_(None)).limit(1))
                if material is None:
                    continue
                # Pick rigs and crew whose papers fit this load (the demo shows trucks
                # moving; the refusals are shown by the seeded bookings and the camera).
                # Only what the enterprise may book: its carriers' rigs and crew (B06).
                carriers = set(s.scalars(linked_carrier_ids(enterprise.id)))
                crew_of = {p.id for p in s.scalars(select(Person).where(
                    Person.carrier_id.in_(carriers)))} if carriers else set()
                fit = _fitting(material, now.date() + timedelta(days=1))
                rigs = [v for v in tractors if fit(v) and v.carrier_id in carriers]
                tails = [v for v in trailers if fit(v) and v.carrier_id in carriers]
                crew_d = [q for q in drivers if q.person_id in crew_of and
                          material.hazard_class.split(".")[0] in
                          {c.split(".")[0] for c in q.classes or []}]
                crew_e = [q for q in escorts if q.person_id in crew_of and
                          material.hazard_class.split(".")[0] in
                          {c.split(".")[0] for c in q.classes or []}]
                if not (rigs and tails and crew_d and crew_e):
                    continue
                tractor, trailer = self.rng.choice(rigs), self.rng.choice(tails)
                driver, escort = self.rng.choice(crew_d), self.rng.choice(crew_e)
                if driver.person_id == escort.person_id:
                    continue
                request = BookingRequest(
                    plant_id=plant.id, vehicle_id=tractor.id, trailer_id=trailer.id,
                    driver_id=driver.person_id, escort_id=escort.person_id,
                    window_start=start, window_end=end,
                    waybill_no=f"DEMO{uuid.uuid4().hex[:8].upper()}",
                    waybill_consignee=enterprise.name,
                    cargo=[CargoRequest(material.un_number,
                                        min(line.max_qty_kg or 12000.0, 12000.0))])
                try:
                    trip, _ = book(uow, from_user(users[enterprise.id]), request)
                except BookingChecksFailed as exc:
                    log.info("demo booking refused: %s",
                             ", ".join(f["code"] for f in exc.extra["failures"]))
                    uow.rollback()
                    continue
                except DomainError as exc:
                    log.info("demo booking refused: %s", exc)
                    uow.rollback()
                    continue
                truck = Truck(trip.id, tractor.plate, trailer.plate,
                              [driver.cert_no, escort.cert_no], gated[plant.id])
                self.trucks.append(truck)
                self.booked += 1
                log.info("demo: %s booked %s for %s", enterprise.name, tractor.plate,
                         plant.name)
                return truck
        return None

    # --- driving ---------------------------------------------------------------------------

    def read(self, lane: str, truck: Truck, *, crew: bool = False) -> str:
        from auth.principal import system_principal
        from gateway.service import ReadRequest, process_read_once
        from kernel.uow import unit_of_work
        from models import Vehicle

        with unit_of_work(self.session_factory, self.bus) as uow:
            # The positioning platform's feed (G17): the truck reports where it is.
            vehicle = uow.session.scalar(select(Vehicle).where(Vehicle.plate == truck.plate,
                                                               Vehicle.kind == "tractor"))
            if vehicle is not None:
                vehicle.gps_last_fix_at = clock.now()
            result = process_read_once(uow, system_principal("demo-trucks"), ReadRequest(
                lane=lane, read_id=f"demo-{uuid.uuid4().hex[:12]}", plate=truck.plate,
                colour="yellow", confidence=round(self.rng.uniform(0.9, 0.99), 3),
                seen_at=clock.now(), trailer_plate=truck.trailer_plate,
                trailer_confidence=0.95, crew_ids=truck.crew if crew else [], source="camera"),
                self.runtime)
            return result.passage.action

    def state(self, truck: Truck) -> str | None:
        from models import Trip

        with self.session_factory() as s:
            trip = s.get(Trip, truck.trip_id)
            return trip.state if trip else None

    def unloading(self, truck: Truck) -> bool:
        """Whether the truck's unloading has started (its dock is its own)."""
        from sqlalchemy import select

        from models import Unloading

        with self.session_factory() as s:
            row = s.execute(select(Unloading.started_at).where(
                Unloading.trip_id == truck.trip_id)).first()
        return row is None or row[0] is not None  # no record: not released through the lot

    def advance(self) -> None:
        now = clock.now()
        for truck in list(self.trucks):
            if truck.due is not None and now < truck.due:
                continue
            step = STEPS[truck.step]
            state = self.state(truck)
            if state in ("CLOSED", "SENT_AWAY", "CANCELLED", "REJECTED", None):
                self.trucks.remove(truck)
                continue
            moved = True
            if step == "perimeter_in":
                self.read("P1-IN", truck)
            elif step == "lot_in":
                moved = self.read("L1-IN", truck, crew=True) == "OPEN"
            elif step == "wait_release":
                moved = state == "RELEASED"
            elif step == "lot_out":
                self.read("L1-OUT", truck)
            elif step == "perimeter_again":
                self.read("P1-IN", truck)
            elif step == "plant_in":
                moved = self.read(f"{truck.plant_gate}-IN", truck) == "OPEN"
            elif step == "unload":  # called forward, it may wait for the truck before it
                moved = self.unloading(truck)
            elif step == "plant_out":
                self.read(f"{truck.plant_gate}-OUT", truck)
            elif step == "perimeter_out":
                self.read("P1-OUT", truck)
            if moved:
                truck.step = min(truck.step + 1, len(STEPS) - 1)
                pause = self.unload_s if step == "unload" else self.rng.uniform(8, 20)
                truck.due = now + timedelta(seconds=pause)
            else:
                truck.due = now + timedelta(seconds=10)
