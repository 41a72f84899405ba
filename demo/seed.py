"""Seed a realistic demo park: enterprises and plants, gates and lanes, the hazmat lot,
carriers, a few hundred vehicles and people with valid, expiring and expired papers,
users for every role, and today's bookings.

Everything is generated from a fixed random seed relative to the clock's today, so
the demo always looks current and two runs on the same day look the same.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from auth.principal import system_principal
from auth.service import create_user
from auth.tokens import issue_token
from booking.service import BookingIn, CargoIn, create_trip
from kernel import clock
from kernel.uow import Actor, UnitOfWork
from models import (
    Bay,
    Camera,
    Carrier,
    Dock,
    Enterprise,
    EnterpriseMaterialScope,
    FixedRegistration,
    Gate,
    Lane,
    Lot,
    Material,
    Park,
    Person,
    Plant,
    Qualification,
    Vehicle,
    Zone,
    enterprise_carriers,
)
from registry import pii
from registry.imports import import_rows, read_rows
from registry.resources import MATERIALS
from rules.identity import check_digit, mask_id, mask_phone, uscc_check_char
from rules.plates import LETTERS

from .paths import camera_labels, dangerous_goods_csv

TZ = ZoneInfo("Asia/Shanghai")
SEED = 20261122
# Materials on China's 剧毒化学品目录 among the seed list; a park's own list says so
# in its `highly_toxic` column.
DEMO_PASSWORDS = {
    "admin": ("admin", "园区管理员 Admin", ["admin"]),
    "gate": ("gate", "门岗值班员 Gate operator", ["gate_operator"]),
    "dispatch": ("dispatch", "停车场调度员 Dispatcher", ["dispatcher"]),
    "e01": ("e01", "滨江石化物流 Logistics", ["enterprise_logistics"]),
    "e02": ("e02", "华泰氯碱物流 Logistics", ["enterprise_logistics"]),
    "receiver": ("receiver", "罐区收货员 Plant receiver", ["plant_receiver"]),
    "auditor": ("auditor", "审计员 Auditor", ["auditor"]),
}

SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐"
            "许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程魏苏吕丁任沈")
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国志红文辉鹏飞斌宇浩凯峰亮波海龙"
REGIONS = ["320102", "320506", "320981", "340104", "370102", "410105", "420106", "330106",
           "440303", "510104", "130102", "320682"]


@dataclass
class Seeded:
    park: Park
    enterprises: dict[str, Enterprise] = field(default_factory=dict)
    plants: dict[str, Plant] = field(default_factory=dict)
    lanes: dict[str, Lane] = field(default_factory=dict)
    device_tokens: dict[str, str] = field(default_factory=dict)  # lane code -> token
    users: dict[str, str] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)


def _credit_code(first17: str) -> str:
    return first17 + uscc_check_char(first17)


def local_today() -> date:
    return clock.now().astimezone(TZ).date()


def at_local(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(day, time(hh, mm), tzinfo=TZ).astimezone(UTC)


def national_id(rng: random.Random) -> str:
    birth = date(1965, 1, 1) + timedelta(days=rng.randrange(0, 35 * 365))
    first17 = f"{rng.choice(REGIONS)}{birth:%Y%m%d}{rng.randrange(0, 1000):03d}"
    return first17 + check_digit(first17)


def person_name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def _expiry(rng: random.Random, today: date) -> date:
    """Mostly valid; some expiring within a week; a few already expired."""
    roll = rng.random()
    if roll < 0.04:
        return today - timedelta(days=rng.randrange(1, 60))
    if roll < 0.10:
        return today + timedelta(days=rng.randrange(0, 7))
    return today + timedelta(days=rng.randrange(30, 700))


def _plate(rng: random.Random, province: str, city: str, suffix: str = "") -> str:
    chars = LETTERS.replace("I", "").replace("O", "") + "0123456789"
    body_len = 4 if suffix else 5
    body = "".join(rng.choice("0123456789") if i < 2 else rng.choice(chars)
                   for i in range(body_len))
    return f"{province}{city}{body}{suffix}"


def is_seeded(uow: UnitOfWork) -> bool:
    return (uow.session.scalar(select(func.count()).select_from(Park)) or 0) > 0


def seed_demo(uow: UnitOfWork, *, pii_key: str, vehicles: int = 300, persons: int = 400,
              trips_today: int = 80, well_known_passwords: bool = True) -> Seeded:
    """The demo park. Its users get the well-known demo passwords (the user names)
    only where `well_known_passwords` allows it: a production database gets random
    ones, which the caller prints once (Seeded.users)."""
    rng = random.Random(SEED)
    actor = Actor.system("demo-seed")
    today = local_today()
    now = clock.now()

    _seed_materials(uow, actor)
    park = Park(code="DEMO", name="滨江化工园区（演示）", timezone="Asia/Shanghai",
                policy={"arrival_grace_min": 30, "dwell_limit_min": 360,
                        "opening_hours": {}})
    uow.session.add(park)
    uow.session.flush()
    seeded = Seeded(park=park)

    _seed_enterprises(uow, seeded)
    lot = _seed_lot(uow, park)
    _seed_gates(uow, seeded, lot)
    carriers = _seed_carriers(uow, rng, today, list(seeded.enterprises.values()))
    fleet = _seed_vehicles(uow, rng, today, now, carriers, vehicles)
    crew = _seed_persons(uow, rng, today, now, carriers, seeded, persons, pii_key)
    _seed_fixed_registrations(uow, rng, today, now, seeded)
    _seed_users(uow, actor, seeded, well_known_passwords)
    _seed_cameras(uow, seeded, well_known_passwords, pii_key)
    uow.audit("demo.seed", actor, subject_kind="park", subject_id=str(park.id),
              payload={"vehicles": vehicles, "persons": persons})
    uow.commit()
    _seed_trips(uow, rng, today, seeded, fleet, crew, trips_today)
    uow.commit()
    seeded.counts = {
        "vehicles": len(fleet["tractor"]) + len(fleet["trailer"]) + len(fleet["rigid"])
        + len(fleet["car"]),
        "persons": len(crew["driver"]) + len(crew["escort"]) + len(crew["other"]),
        "trips_today": trips_today,
    }
    return seeded


def _seed_materials(uow: UnitOfWork, actor: Actor) -> None:
    path = dangerous_goods_csv()  # package data: always there
    with path.open("rb") as f:
        rows = list(read_rows(f, path.name))
    # Through the same importer a park uses for its full GB 12268 list.
    report = import_rows(uow, MATERIALS, system_principal(actor.name or "demo-seed"), rows,
                         dry_run=False)
    if not report.ok:
        raise ValueError(f"seed materials have errors: {report.errors[:3]}")


DAY_SHIFT_PLANTS = frozenset({"E01-PK", "E04-WT"})
# Plants that call trucks forward (L06): the next truck is released to reach a dock as
# it frees; the others release on a free dock, so the board shows both.
CALL_FORWARD_PLANTS = frozenset({"E01-TF", "E05-WH"})
ENTERPRISES = [
    # code, name, plants [(code, name, docks)], receive scope [(class|UN, cap_kg)]
    ("E01", "滨江石化有限公司", [("E01-TF", "滨江石化 罐区", 3), ("E01-PK", "滨江石化 包装车间", 2)],
     [("3", 40000), ("2.1", 30000), ("UN1203", 35000)]),
    ("E02", "华泰氯碱化工有限公司", [("E02-CL", "华泰氯碱 氯碱装置", 2)],
     [("8", 40000), ("2.3", 20000), ("5.1", 30000)]),
    ("E03", "新锐新材料科技股份有限公司", [("E03-RD", "新锐新材料 合成车间", 2)],
     [("3", 30000), ("6.1", 20000), ("8", 30000), ("4.3", 10000)]),
    ("E04", "绿源环保处置有限公司", [("E04-WT", "绿源环保 危废焚烧", 2)],
     [("9", 30000), ("6.1", 20000), ("8", 30000), ("3", 30000), ("6.2", 5000)]),
    ("E05", "中化物流仓储有限公司", [("E05-WH", "中化物流 甲类仓库", 4)],
     [("3", 40000), ("8", 40000), ("5.1", 30000), ("2.2", 30000), ("9", 30000), ("4.1", 20000)]),
]


def _seed_enterprises(uow: UnitOfWork, seeded: Seeded) -> None:
    # Tank farms, the chlor-alkali unit and warehouses receive around the clock (so the
    # demo's trucks move at any hour); the packaging shop and the incinerator keep day
    # hours, so bookings outside them show the receiving-hours check.
    weekday_hours = {d: [["07:00", "20:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
    weekend_hours = {d: [["08:00", "16:00"]] for d in ("sat", "sun")}
    day_shift = {**weekday_hours, **weekend_hours}
    around_the_clock = {d: [["00:00", "24:00"]] for d in
                        ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    for i, (code, name, plants, scope) in enumerate(ENTERPRISES, start=1):
        ent = Enterprise(park_id=seeded.park.id, code=code, name=name,
                         credit_code=_credit_code(f"91320600MA1E{i:05d}"))
        for item, cap in scope:
            ent.material_scope.append(EnterpriseMaterialScope(
                direction="receive", un_number=item if item.startswith("UN") else None,
                hazard_class=None if item.startswith("UN") else item, max_qty_kg=cap))
        uow.session.add(ent)
        uow.session.flush()
        seeded.enterprises[code] = ent
        for pcode, pname, docks in plants:
            plant = Plant(enterprise_id=ent.id, code=pcode, name=pname,
                          receiving_hours=day_shift if pcode in DAY_SHIFT_PLANTS
                          else around_the_clock,
                          release_mode="auto", arrival_deadline_min=30,
                          release_timing="call_forward" if pcode in CALL_FORWARD_PLANTS
                          else "free_dock")
            uow.session.add(plant)
            uow.session.flush()
            for d in range(1, docks + 1):
                uow.session.add(Dock(plant_id=plant.id, code=f"D{d}"))
            seeded.plants[pcode] = plant
    uow.session.flush()


ZONES = [
    # code, name, accepted classes, fire class, layout
    ("A", "A区 易燃液体", ["3", "6.1", "8"], "甲", {"x": 0, "y": 0, "w": 3, "h": 1}),
    ("B", "B区 易燃气体", ["2.1"], "甲", {"x": 3, "y": 0, "w": 2, "h": 1}),
    ("C", "C区 腐蚀品", ["8", "6.1", "5.1", "3"], "乙", {"x": 0, "y": 1, "w": 2, "h": 1}),
    ("D", "D区 毒性/不燃气体", ["2.2", "2.3", "5.1", "8", "6.1"], "乙", {"x": 2, "y": 1, "w": 2, "h": 1}),
    ("E", "E区 氧化剂/过氧化物", ["5.1", "5.2", "8"], "乙", {"x": 4, "y": 1, "w": 1, "h": 1}),
    ("F", "F区 固体/遇湿/危废", ["4.1", "4.2", "4.3", "9", "6.1", "6.2", "8", "3"], "丙",
     {"x": 0, "y": 2, "w": 5, "h": 1}),
]


def _seed_lot(uow: UnitOfWork, park: Park) -> Lot:
    lot = Lot(park_id=park.id, code="LOT1", name="危化品专用停车场", max_wait_min=480,
              excluded_classes=["1", "7"])
    uow.session.add(lot)
    uow.session.flush()
    for code, name, classes, fire, layout in ZONES:
        zone = Zone(lot_id=lot.id, code=code, name=name, accepted_classes=classes,
                    fire_class=fire, layout=layout)
        uow.session.add(zone)
        uow.session.flush()
        for b in range(1, 9 if code != "F" else 13):
            uow.session.add(Bay(zone_id=zone.id, code=f"{code}{b:02d}"))
    uow.session.flush()
    return lot


def _seed_gates(uow: UnitOfWork, seeded: Seeded, lot: Lot) -> None:
    park_id = seeded.park.id
    specs = [
        ("P1", "南门 危化品通道", "perimeter", ["hazmat", "hazwaste", "goods"], None, None),
        ("P2", "北门 普通车辆与人员", "perimeter", ["goods", "small", "pedestrian", "emergency"],
         None, None),
        ("L1", "危化品停车场 出入口", "lot", ["hazmat", "hazwaste"], None, lot.id),
        ("E01", "滨江石化 厂门", "plant", ["hazmat", "hazwaste", "goods", "small", "pedestrian"],
         seeded.plants["E01-TF"].id, None),
        ("E02", "华泰氯碱 厂门", "plant", ["hazmat", "hazwaste", "goods", "small", "pedestrian"],
         seeded.plants["E02-CL"].id, None),
    ]
    for code, name, kind, admits, plant_id, lot_id in specs:
        gate = Gate(park_id=park_id, code=code, name=name, kind=kind, admits=admits,
                    plant_id=plant_id, lot_id=lot_id)
        uow.session.add(gate)
        uow.session.flush()
        for direction in ("in", "out"):
            lane = Lane(gate_id=gate.id, code=f"{code}-{direction.upper()}",
                        name=f"{name} {'入口' if direction == 'in' else '出口'}",
                        direction=direction, confidence_threshold=0.85,
                        antipassback="deny" if kind == "perimeter" else "hold",
                        devices={"barrier": "simulated"})
            uow.session.add(lane)
            uow.session.flush()
            seeded.lanes[lane.code] = lane


CARRIERS = ["江苏远通危险品运输有限公司", "南京安达化工物流有限公司", "苏州恒顺危货运输有限公司",
            "无锡金盾物流有限公司", "常州安畅运输有限公司", "南通港联危险品运输有限公司",
            "安徽皖化运输有限公司", "山东鲁运化工物流有限公司", "浙江甬安危货运输有限公司",
            "上海申化物流有限公司"]


def _seed_carriers(uow: UnitOfWork, rng: random.Random, today: date,
                   enterprises: list[Enterprise]) -> list[Carrier]:
    carriers = []
    for i, name in enumerate(CARRIERS, start=1):
        carrier = Carrier(name=name, credit_code=_credit_code(f"91320000MA1C{i:05d}"),
                          licence_no=f"苏交运管许可危字{320600 + i}号",
                          licence_scope=["2", "3", "4", "5", "6.1", "8", "9"]
                          + (["toxic"] if i % 4 == 0 else []),
                          licence_expires_on=today + timedelta(days=rng.randrange(60, 900)))
        uow.session.add(carrier)
        carriers.append(carrier)
    uow.session.flush()
    # Each carrier hauls for a few enterprises; their logistics staff see its fleet.
    for carrier in carriers:
        for ent in rng.sample(enterprises, rng.randint(1, 3)):
            uow.session.execute(enterprise_carriers.insert().values(
                enterprise_id=ent.id, carrier_id=carrier.id))
    return carriers


def _seed_vehicles(uow: UnitOfWork, rng: random.Random, today: date, now: datetime,
                   carriers: list[Carrier], total: int) -> dict[str, list[Vehicle]]:
    fleet: dict[str, list[Vehicle]] = {"tractor": [], "trailer": [], "rigid": [], "car": []}
    seen: set[tuple[str, str]] = set()

    def add(vehicle: Vehicle, kind: str) -> None:
        key = (vehicle.plate, vehicle.plate_colour)
        if key in seen:
            return
        seen.add(key)
        uow.session.add(vehicle)
        fleet[kind].append(vehicle)

    scopes = [["3"], ["3", "8"], ["2"], ["8", "6.1"], ["3", "6.1", "8"], ["5.1", "8"],
              ["2", "3", "4", "5", "6.1", "8", "9"], ["9", "6.1", "8", "3"]]
    n_tractors = total * 35 // 100
    n_rigid = total * 15 // 100
    n_cars = total - 2 * n_tractors - n_rigid
    for _ in range(n_tractors):
        carrier = rng.choice(carriers)
        province, city = rng.choice([("苏", "E"), ("苏", "F"), ("苏", "A"), ("皖", "A"),
                                     ("鲁", "B"), ("浙", "B")])
        scope = rng.choice(scopes) + (["toxic"] if rng.random() < 0.08 else [])
        gps_age = rng.choice([2, 5, 10, 15, 90]) if rng.random() < 0.9 else 600
        common = dict(category="hazmat", carrier_id=carrier.id, created_at=now,
                      road_permit_no=f"苏交运管危{rng.randrange(10**9, 10**10)}",
                      permit_scope=scope, permit_expires_on=_expiry(rng, today),
                      review_expires_on=_expiry(rng, today),
                      inspection_expires_on=_expiry(rng, today),
                      insurance_expires_on=_expiry(rng, today))
        add(Vehicle(plate=_plate(rng, province, city), plate_colour="yellow", kind="tractor",
                    rated_load_kg=None, gps_unit_id=f"BD{rng.randrange(10**8, 10**9)}",
                    gps_last_fix_at=now - timedelta(minutes=gps_age), **common), "tractor")
        is_tank = rng.random() < 0.6
        add(Vehicle(plate=_plate(rng, province, city, "挂"), plate_colour="yellow", kind="trailer",
                    rated_load_kg=float(rng.choice([25000, 30000, 32000, 33000])),
                    is_tank=is_tank,
                    tank_media=(rng.sample(["UN1203", "UN1202", "UN1830", "UN1789", "UN1230",
                                            "UN1170", "UN1294", "UN1090", "UN1824", "UN2031"],
                                           4) if is_tank else []),
                    tank_inspection_expires_on=_expiry(rng, today) if is_tank else None,
                    **common), "trailer")
    for _ in range(n_rigid):
        carrier = rng.choice(carriers)
        add(Vehicle(plate=_plate(rng, "苏", rng.choice("EFA")), plate_colour="yellow",
                    kind="rigid", category=rng.choice(["hazmat", "hazmat", "hazwaste", "goods"]),
                    carrier_id=carrier.id, created_at=now, rated_load_kg=float(
                        rng.choice([8000, 10000, 15000, 18000])),
                    road_permit_no=f"苏交运管危{rng.randrange(10**9, 10**10)}",
                    permit_scope=rng.choice(scopes), permit_expires_on=_expiry(rng, today),
                    review_expires_on=_expiry(rng, today),
                    inspection_expires_on=_expiry(rng, today),
                    insurance_expires_on=_expiry(rng, today),
                    gps_unit_id=f"BD{rng.randrange(10**8, 10**9)}",
                    gps_last_fix_at=now - timedelta(minutes=rng.choice([1, 3, 8, 20]))), "rigid")
    # The simulated camera plays real photos: their plates are registered cars here.
    for plate, colour in _camera_plates():
        add(Vehicle(plate=plate, plate_colour=colour, kind="car", category="small",
                    created_at=now, inspection_expires_on=_expiry(rng, today)), "car")
    while len(fleet["car"]) < n_cars:
        nev = rng.random() < 0.3
        plate = (f"苏E{rng.choice('DF')}{rng.choice(LETTERS)}{rng.randrange(1000, 10000)}" if nev
                 else _plate(rng, "苏", rng.choice("EABF")))
        add(Vehicle(plate=plate, plate_colour="green" if nev else "blue", kind="car",
                    category="small", created_at=now, inspection_expires_on=_expiry(rng, today)),
            "car")
    add(Vehicle(plate="苏X1234应急", plate_colour="white", kind="rigid", category="emergency",
                created_at=now), "rigid")
    uow.session.flush()
    return fleet


def _camera_plates() -> list[tuple[str, str]]:
    """The plates the demo camera will read: registered cars of the park."""
    return [(row["plate"], row["kind"] if row["kind"] in ("blue", "green", "yellow") else "blue")
            for row in camera_labels() if row.get("plate")]


def _seed_persons(uow: UnitOfWork, rng: random.Random, today: date, now: datetime,
                  carriers: list[Carrier], seeded: Seeded, total: int, secret: str
                  ) -> dict[str, list[Person]]:
    crew: dict[str, list[Person]] = {"driver": [], "escort": [], "other": []}
    ids: set[str] = set()
    enterprises = list(seeded.enterprises.values())
    for i in range(total):
        nid = national_id(rng)
        while nid in ids:
            nid = national_id(rng)
        ids.add(nid)
        phone = f"1{rng.choice('3589')}{rng.randrange(10**8, 10**9)}"
        if i < total * 40 // 100:
            kind = "driver"
        elif i < total * 70 // 100:
            kind = "escort"
        else:
            kind = rng.choice(["visitor", "contractor", "employee", "employee"])
        carrier = rng.choice(carriers) if kind in ("driver", "escort") else None
        person = Person(name=person_name(rng), id_hash=pii.lookup_hash(secret, nid),
                        id_cipher=pii.encrypt(secret, nid), id_masked=mask_id(nid),
                        phone_cipher=pii.encrypt(secret, phone), phone_masked=mask_phone(phone),
                        kinds=[kind], carrier_id=carrier.id if carrier else None,
                        enterprise_id=(rng.choice(enterprises).id if kind == "employee" else None),
                        created_at=now)
        if kind in ("driver", "escort"):
            person.qualifications.append(Qualification(
                kind=kind,
                cert_no=f"{'JS' if kind == 'driver' else 'YY'}{rng.randrange(10**9, 10**10)}",
                classes=rng.choice([["2", "3", "4", "5", "6", "8", "9"], ["3", "8"],
                                    ["2", "3", "4", "5", "6", "8", "9"], ["2", "3"]]),
                issued_on=today - timedelta(days=rng.randrange(200, 2000)),
                expires_on=_expiry(rng, today)))
        uow.session.add(person)
        crew[kind if kind in crew else "other"].append(person)
    uow.session.flush()
    return crew


def _seed_fixed_registrations(uow: UnitOfWork, rng: random.Random, today: date, now: datetime,
                              seeded: Seeded) -> None:
    cars = uow.session.scalars(select(Vehicle).where(Vehicle.kind == "car")).all()
    enterprises = list(seeded.enterprises.values())
    for car in cars:
        if rng.random() < 0.85:
            uow.session.add(FixedRegistration(
                vehicle_id=car.id, enterprise_id=rng.choice(enterprises).id,
                valid_from=today - timedelta(days=rng.randrange(10, 300)),
                valid_until=_expiry(rng, today), note="年度通行证"))
    uow.session.flush()


def _seed_users(uow: UnitOfWork, actor: Actor, seeded: Seeded, well_known: bool) -> None:
    import secrets

    for username, (password, display, roles) in DEMO_PASSWORDS.items():
        if not well_known:
            password = secrets.token_urlsafe(15)
        enterprise_id = plant_id = None
        if username in ("e01", "receiver"):
            enterprise_id = seeded.enterprises["E01"].id
        if username == "e02":
            enterprise_id = seeded.enterprises["E02"].id
        if username == "receiver":
            plant_id = seeded.plants["E01-TF"].id
        create_user(uow, actor, username=username, display_name=display, password=password,
                    roles=roles, enterprise_id=enterprise_id, plant_id=plant_id,
                    enforce_policy=not well_known)
        seeded.users[username] = password
    # A gate agent's device token for every lane, each bound to its lane.
    for code, lane in seeded.lanes.items():
        device = create_user(uow, actor, username=f"device-{code.lower()}",
                             display_name=f"{code} camera agent", password=None,
                             roles=["device"])
        seeded.device_tokens[code] = issue_token(uow, device, f"{code} gate agent", actor,
                                                 lane_id=lane.id)


# The demo's cameras in the registry: a GA/T 1400 camera at the north exit that the demo
# drives over HTTP with Digest (demo/viid_camera.py), and a Hikvision camera at the lot
# exit that never reports, so the silent-camera alarm shows after ten minutes.
VIID_CAMERA = ("32011500001320000001", "viid-p2", "viid-demo-pass", "P2-OUT")


def _seed_cameras(uow: UnitOfWork, seeded: Seeded, well_known: bool, pii_key: str) -> None:
    from gateway.cameras import secret_of

    device_id, username, password, lane = VIID_CAMERA
    now = clock.now()
    uow.session.add(Camera(
        vendor="gat1400", model="DS-2CD7A26 (demo, simulated)", device_id=device_id,
        lane_id=seeded.lanes[lane].id, protocol="viid", username=username,
        # A production database never gets a well-known camera password: the park sets one.
        secret_cipher=secret_of(username, password, pii_key) if well_known else None, created_at=now))
    uow.session.add(Camera(
        vendor="hikvision", model="DS-TCG205 (demo: never connected)", device_id="c0:56:e3:0a:1b:2c",
        lane_id=seeded.lanes["L1-OUT"].id, protocol="push", created_at=now))
    uow.session.flush()


def _materials_by_class(uow: UnitOfWork) -> dict[str, list[Material]]:
    out: dict[str, list[Material]] = {}
    for m in uow.session.scalars(select(Material).order_by(Material.un_number)):
        out.setdefault(m.hazard_class, []).append(m)
    return out


def _seed_trips(uow: UnitOfWork, rng: random.Random, today: date, seeded: Seeded,
                fleet: dict[str, list[Vehicle]], crew: dict[str, list[Person]], total: int) -> None:
    actor = Actor.system("demo-seed")
    materials = _materials_by_class(uow)
    plants = list(seeded.plants.values())
    scope_by_enterprise = {
        e.id: [s.hazard_class or "" for s in e.material_scope if s.hazard_class]
        for e in seeded.enterprises.values()
    }
    drivers = list(crew["driver"])
    escorts = list(crew["escort"])
    rng.shuffle(drivers)
    rng.shuffle(escorts)
    # An enterprise books its own carriers' rigs and crew (B06): each trip is one
    # carrier's tractor, trailer, driver and escort, for a plant of an enterprise that
    # carrier hauls for.
    served: dict[int, set[int]] = {}
    for enterprise_id, carrier_id in uow.session.execute(select(
            enterprise_carriers.c.enterprise_id, enterprise_carriers.c.carrier_id)):
        served.setdefault(carrier_id, set()).add(enterprise_id)
    by_carrier: dict[int, dict[str, list[Any]]] = {}
    for kind, items in (("tractor", fleet["tractor"]), ("trailer", fleet["trailer"]),
                        ("driver", drivers), ("escort", escorts)):
        for item in items:
            if item.carrier_id is not None:
                by_carrier.setdefault(item.carrier_id, {}).setdefault(kind, []).append(item)
    rigs: list[tuple[Vehicle, Vehicle, Person, Person, int]] = []
    for carrier_id, held in sorted(by_carrier.items()):
        kinds = [held.get(k, []) for k in ("tractor", "trailer", "driver", "escort")]
        rigs += [(*four, carrier_id) for four in zip(*kinds, strict=False)]
    rng.shuffle(rigs)
    for i in range(min(total, len(rigs))):
        tractor, trailer, driver, escort, carrier_id = rigs[i]
        plant = rng.choice([p for p in plants if p.enterprise_id in served.get(carrier_id, ())]
                           or plants)
        classes = [c for c in scope_by_enterprise[plant.enterprise_id] if c in materials]
        cls = rng.choice(classes)
        material = rng.choice(materials[cls])
        start_h = rng.randrange(6, 19)
        window_start = at_local(today, start_h)
        qty = float(rng.choice([8000, 12000, 18000, 22000, 26000]))
        data = BookingIn(
            park_id=seeded.park.id, enterprise_id=plant.enterprise_id, plant_id=plant.id,
            vehicle_id=tractor.id, trailer_id=trailer.id, driver_id=driver.id,
            escort_id=escort.id, category="hazmat",
            window_start=window_start, window_end=window_start + timedelta(hours=3),
            priority=1 if rng.random() < 0.1 else 0,
            waybill_no=f"WB{today:%Y%m%d}{i:04d}", waybill_consignee=plant.name,
            waybill_consignor=rng.choice(CARRIERS),
            toxic_pass_no=f"公危通{rng.randrange(10**6, 10**7)}" if material.highly_toxic else None,
            cargo=[CargoIn(un_number=material.un_number, name_zh=material.name_zh,
                           hazard_class=material.hazard_class,
                           subsidiary_risks=list(material.subsidiary_risks),
                           packing_group=material.packing_group,
                           highly_toxic=material.highly_toxic, quantity=qty, unit="kg")])
        create_trip(uow, actor, data, approved=rng.random() > 0.1)
    # Ordinary goods deliveries by rigid trucks.
    goods = [v for v in fleet["rigid"] if v.category == "goods"]
    for j, truck in enumerate(goods[:15]):
        plant = rng.choice(plants)
        window_start = at_local(today, rng.randrange(7, 17))
        create_trip(uow, actor, BookingIn(
            park_id=seeded.park.id, enterprise_id=plant.enterprise_id, plant_id=plant.id,
            vehicle_id=truck.id, category="goods", window_start=window_start,
            window_end=window_start + timedelta(hours=4), driver_id=drivers[-(j + 1)].id,
            waybill_no=f"GD{today:%Y%m%d}{j:04d}"), approved=True)
