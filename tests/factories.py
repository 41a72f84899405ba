"""Small worlds for tests: a park with two enterprises, lanes, a hazmat rig with its
crew, users for every role. Tests change what they are about and nothing else."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from auth.service import create_user
from auth.tokens import issue_token
from booking.service import BookingIn, CargoIn, create_trip
from kernel import clock
from kernel.uow import Actor, UnitOfWork, unit_of_work
from models import (
    Bay,
    Carrier,
    Dock,
    Enterprise,
    Gate,
    Lane,
    Lot,
    Material,
    Park,
    Person,
    Plant,
    Qualification,
    Trip,
    User,
    Vehicle,
    Zone,
    enterprise_carriers,
)
from registry import pii
from rules.identity import check_digit, mask_id, uscc_check_char

PASSWORD = "correct horse battery staple"
PII_KEY = "test-pii-key"
NOW = datetime(2026, 11, 22, 1, 0, tzinfo=UTC)  # 09:00 in the park


def national_id(n: int) -> str:
    first17 = f"320102199001{n % 28 + 1:02d}{n % 1000:03d}"
    return first17 + check_digit(first17)


def uscc(n: int) -> str:
    first17 = f"91320600MA1{n:06d}"
    return first17 + uscc_check_char(first17)


MATERIALS = [
    # un, name_zh, name_en, class, subsidiary, pg, highly toxic
    ("UN1203", "汽油", "MOTOR SPIRIT", "3", [], "II", False),
    ("UN1830", "硫酸", "SULPHURIC ACID", "8", [], "II", False),
    ("UN1005", "无水氨", "AMMONIA ANHYDROUS", "2.3", ["8"], None, False),
    ("UN1230", "甲醇", "METHANOL", "3", ["6.1"], "II", False),
    ("UN1689", "氰化钠", "SODIUM CYANIDE SOLID", "6.1", [], "I", True),
    ("UN0081", "A型爆破用炸药", "EXPLOSIVE BLASTING TYPE A", "1.1D", [], None, False),
    ("UN2990", "救生设备", "LIFE-SAVING APPLIANCES", "9", [], None, False),
    ("UN1942", "硝酸铵", "AMMONIUM NITRATE", "5.1", [], "III", False),
]


@dataclass
class World:
    park: Park
    enterprises: dict[str, Enterprise] = field(default_factory=dict)
    plants: dict[str, Plant] = field(default_factory=dict)
    lanes: dict[str, Lane] = field(default_factory=dict)
    vehicles: dict[str, Vehicle] = field(default_factory=dict)
    persons: dict[str, Person] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    zones: dict[str, Any] = field(default_factory=dict)
    lot: Any = None
    carrier: Any = None


def make_person(uow: UnitOfWork, n: int, name: str, kind: str, *, expires_on: date,
                classes: list[str] | None = None) -> Person:
    nid = national_id(n)
    person = Person(name=name, id_hash=pii.lookup_hash(PII_KEY, nid),
                    id_cipher=pii.encrypt(PII_KEY, nid), id_masked=mask_id(nid), kinds=[kind],
                    created_at=clock.now())
    if kind in ("driver", "escort"):
        person.qualifications.append(Qualification(
            kind=kind, cert_no=f"CERT{n:06d}", classes=classes or ["2", "3", "8", "6"],
            expires_on=expires_on))
    uow.session.add(person)
    uow.session.flush()
    return person


def make_world(session_factory: Any, bus: Any = None, *, now: datetime = NOW) -> World:
    clock.pin(now)
    far = now.date() + timedelta(days=365)
    actor = Actor.system("tests")
    with unit_of_work(session_factory, bus) as uow:
        park = Park(code="T", name="测试园区", policy={"arrival_grace_min": 30})
        uow.session.add(park)
        uow.session.flush()
        world = World(park=park)
        for code in ("E1", "E2"):
            ent = Enterprise(park_id=park.id, code=code, name=f"企业{code}")
            uow.session.add(ent)
            uow.session.flush()
            plant = Plant(enterprise_id=ent.id, code=f"{code}-P", name=f"{code} 装置",
                          receiving_hours={})
            uow.session.add(plant)
            uow.session.flush()
            uow.session.add(Dock(plant_id=plant.id, code="D1"))
            world.enterprises[code] = ent
            world.plants[code] = plant
        lot = Lot(park_id=park.id, code="LOT1", name="危化品停车场", excluded_classes=["1", "7"])
        uow.session.add(lot)
        uow.session.flush()
        world.lot = lot
        for code, accepted, bays in (("A", ["3", "8", "6.1", "9"], 3),
                                     ("B", ["2", "4.1", "4.2", "4.3", "5.1", "5.2", "8"], 2)):
            zone = Zone(lot_id=lot.id, code=code, name=f"{code}区", accepted_classes=accepted,
                        layout={})
            zone.bays = [Bay(code=f"{code}{i}") for i in range(1, bays + 1)]
            uow.session.add(zone)
            world.zones[code] = zone
        gates = [("P1", "南门", "perimeter", ["hazmat", "hazwaste", "goods"], None, None, "deny"),
                 ("P2", "北门", "perimeter", ["goods", "small", "pedestrian", "emergency"], None,
                  None, "deny"),
                 ("L1", "停车场", "lot", ["hazmat", "hazwaste"], None, lot.id, "hold"),
                 ("E1", "E1 厂门", "plant", ["hazmat", "hazwaste", "goods", "small", "pedestrian"],
                  world.plants["E1"].id, None, "hold")]
        for code, name, kind, admits, plant_id, lot_id, apb in gates:
            gate = Gate(park_id=park.id, code=code, name=name, kind=kind, admits=admits,
                        plant_id=plant_id, lot_id=lot_id)
            uow.session.add(gate)
            uow.session.flush()
            for direction in ("in", "out"):
                lane = Lane(gate_id=gate.id, code=f"{code}-{direction.upper()}", name=direction,
                            direction=direction, antipassback=apb, fold_window_s=30)
                uow.session.add(lane)
                uow.session.flush()
                world.lanes[lane.code] = lane
        # The hazmat rig and its crew work for a carrier both enterprises use: what an
        # enterprise's staff may name in a booking is what its carriers hold (B06).
        carrier = Carrier(name="通达危运", credit_code=uscc(90), licence_scope=["3", "8"])
        uow.session.add(carrier)
        uow.session.flush()
        world.carrier = carrier
        for code in ("E1", "E2"):
            uow.session.execute(enterprise_carriers.insert().values(
                enterprise_id=world.enterprises[code].id, carrier_id=carrier.id))
        docs = dict(road_permit_no="苏交运危320600000001", permit_expires_on=far,
                    review_expires_on=far, inspection_expires_on=far,
                    insurance_expires_on=far, created_at=now)
        world.vehicles["tractor"] = Vehicle(plate="苏E12345", plate_colour="yellow",
                                            kind="tractor", category="hazmat",
                                            permit_scope=["3", "8"], gps_unit_id="BD1",
                                            gps_last_fix_at=now, carrier_id=carrier.id, **docs)
        world.vehicles["trailer"] = Vehicle(plate="苏E1234挂", plate_colour="yellow",
                                            kind="trailer", category="hazmat",
                                            rated_load_kg=30000.0, permit_scope=["3", "8"],
                                            carrier_id=carrier.id, **docs)
        world.vehicles["car"] = Vehicle(plate="苏A88888", plate_colour="blue", kind="car",
                                        category="small", created_at=now)
        for v in world.vehicles.values():
            uow.session.add(v)
        uow.session.flush()
        for un, zh, en, cls, subs, pg, toxic in MATERIALS:
            uow.session.add(Material(un_number=un, name_zh=zh, name_en=en, hazard_class=cls,
                                     subsidiary_risks=subs, packing_group=pg, highly_toxic=toxic))
        world.persons["driver"] = make_person(uow, 1, "王师傅", "driver", expires_on=far)
        world.persons["escort"] = make_person(uow, 2, "李押运", "escort", expires_on=far)
        for key in ("driver", "escort"):
            world.persons[key].carrier_id = carrier.id
        for role in ("admin", "gate_operator", "dispatcher", "auditor", "device"):
            world.users[role] = create_user(uow, actor, username=role, display_name=role,
                                            password=PASSWORD, roles=[role])
        for code in ("E1", "E2"):
            ent = world.enterprises[code]
            world.users[f"logistics_{code}"] = create_user(
                uow, actor, username=f"logistics_{code.lower()}", display_name=f"物流{code}",
                password=PASSWORD, roles=["enterprise_logistics"], enterprise_id=ent.id)
        world.users["receiver"] = create_user(
            uow, actor, username="receiver", display_name="收货员", password=PASSWORD,
            roles=["plant_receiver"], enterprise_id=world.enterprises["E1"].id,
            plant_id=world.plants["E1"].id)
        for key, user in world.users.items():
            lane_id = world.lanes["P1-IN"].id if key == "device" else None
            world.tokens[key] = issue_token(uow, user, f"test {key}", actor, lane_id=lane_id)
        uow.commit()
    return world


_WAYBILLS = itertools.count(1)  # G14: every booked trip carries a waybill of its own


def book(session_factory: Any, world: World, *, enterprise: str = "E1", state: str | None = None,
         start: datetime | None = None, hours: int = 4, category: str = "hazmat",
         bus: Any = None, **overrides: Any) -> Trip:
    """A booked hazmat trip (petrol) for `enterprise`, optionally forced into `state`."""
    start = start or clock.now() - timedelta(hours=1)
    data = BookingIn(
        park_id=world.park.id, enterprise_id=world.enterprises[enterprise].id,
        plant_id=world.plants[enterprise].id, vehicle_id=world.vehicles["tractor"].id,
        trailer_id=world.vehicles["trailer"].id, driver_id=world.persons["driver"].id,
        escort_id=world.persons["escort"].id, category=category, window_start=start,
        window_end=start + timedelta(hours=hours),
        waybill_no=f"WB-TEST-{next(_WAYBILLS)}",
        waybill_consignee=world.enterprises[enterprise].name,
        cargo=[CargoIn(un_number="UN1203", name_zh="汽油", hazard_class="3", quantity=20000)],
    )
    for key, value in overrides.items():
        setattr(data, key, value)
    with unit_of_work(session_factory, bus) as uow:
        trip = create_trip(uow, Actor.system("tests"), data, approved=True)
        if state is not None:
            trip.state = state
        uow.commit()
        return trip


def make_park(session_factory: Any, code: str = "P", policy: dict[str, Any] | None = None
              ) -> int:
    """A bare park (no gates, no enterprises), committed; its id."""
    with session_factory() as session:
        park = Park(code=code, name="园区", policy=policy or {})
        session.add(park)
        session.commit()
        return park.id


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


_CSRF = re.compile(r'name="csrf-token" content="([^"]+)"')


def csrf_token(client: Any, path: str = "/login") -> str:
    page = client.get(path).get_data(as_text=True)
    match = _CSRF.search(page)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def login(client: Any, username: str, password: str = PASSWORD) -> Any:
    token = csrf_token(client)
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": token})


def allow_petrol_and_corrosives(session_factory: Any, world: World) -> World:
    """Both enterprises may receive petrol (up to 30 t a trip) and class 8 (B02)."""
    from models import EnterpriseMaterialScope

    with session_factory() as s:
        for code in ("E1", "E2"):
            s.add(EnterpriseMaterialScope(enterprise_id=world.enterprises[code].id,
                                          direction="receive", un_number="UN1203",
                                          max_qty_kg=30000.0))
            s.add(EnterpriseMaterialScope(enterprise_id=world.enterprises[code].id,
                                          direction="receive", hazard_class="8"))
        s.commit()
    return world
