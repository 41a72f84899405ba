"""A realistic park population for benchmarks, loaded fast (COPY), on PostgreSQL.

Vehicles, people with qualifications, standing passes, bookings with cargo, and a
valid audit chain of any length — built in Python, streamed with COPY. The gate,
booking, lot and audit benchmarks share it.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from sqlalchemy.dialects import postgresql

from audit import time_blocks
from audit.chain import GENESIS_HASH, body, canonical_payload
from rules.identity import check_digit, uscc_check_char

LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
PROVINCES = "苏皖鲁浙沪豫鄂湘赣闽粤川冀津京"


@dataclass
class Sizes:
    vehicles: int = 100_000
    persons: int = 200_000
    bookings: int = 50_000
    audit_events: int = 1_000_000
    enterprises: int = 20
    plants_per_enterprise: int = 2

    @classmethod
    def quick(cls) -> Sizes:
        return cls(vehicles=10_000, persons=20_000, bookings=5_000, audit_events=100_000)


@dataclass
class Loaded:
    park_id: int
    lanes: dict[str, int]
    tractor_plates: list[str] = field(default_factory=list)  # with a booking around now
    trailer_of: dict[str, str] = field(default_factory=dict)
    car_plates: list[str] = field(default_factory=list)  # with a standing pass
    timings: dict[str, float] = field(default_factory=dict)


def _plate(rng: random.Random, i: int, suffix: str = "") -> str:
    # Unique by construction: the index is spelled in the body's last characters.
    body_chars = 4 if suffix else 5
    tail = ""
    n = i
    for _ in range(body_chars):
        n, r = divmod(n, 34)
        tail = (LETTERS + "0123456789")[r] + tail
    return PROVINCES[(i // 34**body_chars) % len(PROVINCES)] + LETTERS[rng.randrange(24)] \
        + tail + suffix


def _copy(conn: psycopg.Connection[Any], table: str, columns: list[str],
          rows: Any) -> int:
    n = 0
    with conn.cursor().copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
            n += 1
    return n


def load(url: str, sizes: Sizes, *, now: datetime | None = None, seed: int = 11) -> Loaded:
    now = now or datetime.now(UTC)
    rng = random.Random(seed)
    today = now.date()
    far = today + timedelta(days=400)
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    timings: dict[str, float] = {}
    with psycopg.connect(dsn) as conn:
        t = time.perf_counter()
        cur = conn.cursor()
        park_id = cur.execute("INSERT INTO parks (code, name, timezone, policy) VALUES "
                              "('BENCH', '基准园区', 'Asia/Shanghai', '{}') RETURNING id"
                              ).fetchone()[0]
        enterprise_ids, plant_ids = [], []
        for e in range(sizes.enterprises):
            first17 = f"91320600MA1B{e:05d}"
            eid = cur.execute("INSERT INTO enterprises (park_id, code, name, credit_code) "
                              "VALUES (%s, %s, %s, %s) RETURNING id",
                              (park_id, f"B{e:03d}", f"基准企业{e}",
                               first17 + uscc_check_char(first17))).fetchone()[0]
            enterprise_ids.append(eid)
            cur.execute("INSERT INTO enterprise_material_scope (enterprise_id, direction, "
                        "hazard_class, max_qty_kg) VALUES (%s, 'receive', '3', 40000), "
                        "(%s, 'receive', '8', 40000)", (eid, eid))
            for p in range(sizes.plants_per_enterprise):
                pid = cur.execute("INSERT INTO plants (enterprise_id, code, name, "
                                  "receiving_hours, release_mode, arrival_deadline_min, "
                                  "max_dwell_min) VALUES (%s, %s, %s, '{}', 'auto', 30, 240) "
                                  "RETURNING id", (eid, f"B{e:03d}-{p}", f"装置{e}-{p}")
                                  ).fetchone()[0]
                plant_ids.append(pid)
                for d in range(3):
                    cur.execute("INSERT INTO docks (plant_id, code, busy) VALUES (%s, %s, false)",
                                (pid, f"D{d}"))
        lot_id = cur.execute("INSERT INTO lots (park_id, code, name, max_wait_min, "
                             "excluded_classes) VALUES (%s, 'BLOT', '基准停车场', 480, "
                             "'[\"1\", \"7\"]') RETURNING id", (park_id,)).fetchone()[0]
        lanes: dict[str, int] = {}
        # A big park's perimeter: eight gates, each with an entry and an exit lane.
        perimeter = [(f"BP{g}", "perimeter", ["hazmat", "hazwaste", "goods", "small"], None,
                      None) for g in range(1, 9)]
        for code, kind, admits, plant_id, lot in (
                *perimeter, ("BL1", "lot", ["hazmat", "hazwaste"], None, lot_id)):
            gid = cur.execute("INSERT INTO gates (park_id, code, name, kind, admits, plant_id, "
                              "lot_id) VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING id",
                              (park_id, code, code, kind, json.dumps(admits), plant_id, lot)
                              ).fetchone()[0]
            for direction in ("in", "out"):
                lane_code = f"{code}-{direction.upper()}"
                lanes[lane_code] = cur.execute(
                    "INSERT INTO lanes (gate_id, code, name, direction, confidence_threshold, "
                    "antipassback, fold_window_s, devices) VALUES (%s, %s, %s, %s, 0.85, 'off', "
                    "0, '{}') RETURNING id", (gid, lane_code, lane_code, direction)).fetchone()[0]
        carrier_ids = []
        for c in range(50):
            first17 = f"91320000MA1K{c:05d}"
            carrier_ids.append(cur.execute(
                "INSERT INTO carriers (name, credit_code, licence_scope, licence_expires_on) "
                "VALUES (%s, %s, '[\"2\",\"3\",\"8\"]', %s) RETURNING id",
                (f"基准承运{c}", first17 + uscc_check_char(first17), far)).fetchone()[0])
        conn.commit()

        # Vehicles: a quarter tractors, a quarter trailers, half cars.
        n_rigs = sizes.vehicles // 4
        n_cars = sizes.vehicles - 2 * n_rigs
        columns = ["plate", "plate_colour", "kind", "category", "carrier_id", "rated_load_kg",
                   "is_tank", "tank_media", "road_permit_no", "permit_scope", "permit_expires_on",
                   "review_expires_on", "inspection_expires_on", "insurance_expires_on",
                   "tank_inspection_expires_on", "gps_unit_id", "gps_last_fix_at", "created_at"]
        tractors = [_plate(rng, i) for i in range(n_rigs)]
        trailers = [_plate(rng, i, "挂") for i in range(n_rigs)]
        cars = [_plate(rng, n_rigs + i) for i in range(n_cars)]
        scope = json.dumps(["2", "3", "8"])

        def vehicle_rows() -> Any:
            for plate in tractors:
                yield (plate, "yellow", "tractor", "hazmat", rng.choice(carrier_ids), None,
                       False, "[]", "P", scope, far, far, far, far, None, "BD", now, now)
            for plate in trailers:
                yield (plate, "yellow", "trailer", "hazmat", rng.choice(carrier_ids), 32000.0,
                       True, json.dumps(["UN1203", "UN1830"]), "P", scope, far, far, far, far,
                       far, None, None, now)
            for plate in cars:
                yield (plate, "blue", "car", "small", None, None, False, "[]", None, "[]", None,
                       None, far, None, None, None, None, now)

        _copy(conn, "vehicles", columns, vehicle_rows())
        conn.commit()
        vid = dict(cur.execute("SELECT plate, id FROM vehicles").fetchall())
        timings["vehicles_s"] = time.perf_counter() - t

        # People: drivers and escorts for the rigs, the rest staff and visitors.
        t = time.perf_counter()

        def person_rows() -> Any:
            for i in range(sizes.persons):
                first17 = f"{320100 + i % 900:06d}{1960 + i % 40}{1 + i % 12:02d}" \
                          f"{1 + i % 28:02d}{i % 1000:03d}"
                nid = first17 + check_digit(first17)
                kind = "driver" if i < sizes.persons // 4 else (
                    "escort" if i < sizes.persons // 2 else "employee")
                yield (f"人员{i}", hashlib.sha256(f"{nid}-{i}".encode()).hexdigest(), "x",
                       nid[:6] + "********" + nid[-4:], json.dumps([kind]), now)

        _copy(conn, "persons", ["name", "id_hash", "id_cipher", "id_masked", "kinds",
                                "created_at"], person_rows())
        conn.commit()
        person_ids = [r[0] for r in cur.execute("SELECT id FROM persons ORDER BY id")]
        drivers = person_ids[: sizes.persons // 4]
        escorts = person_ids[sizes.persons // 4: sizes.persons // 2]

        def qual_rows() -> Any:
            for i, pid in enumerate(drivers):
                yield (pid, "driver", f"JS{i:010d}", json.dumps(["2", "3", "8"]), far)
            for i, pid in enumerate(escorts):
                yield (pid, "escort", f"YY{i:010d}", json.dumps(["2", "3", "8"]), far)

        _copy(conn, "qualifications", ["person_id", "kind", "cert_no", "classes", "expires_on"],
              qual_rows())
        conn.commit()
        timings["persons_s"] = time.perf_counter() - t

        # Standing passes for the cars.
        t = time.perf_counter()
        _copy(conn, "fixed_registrations", ["vehicle_id", "enterprise_id", "valid_from",
                                            "valid_until"],
              ((vid[p], rng.choice(enterprise_ids), today - timedelta(days=30), far)
               for p in cars))
        conn.commit()

        # Bookings: windows over the week around now; a slice of them open right now.
        enterprise_of = dict(cur.execute("SELECT id, enterprise_id FROM plants").fetchall())
        ent_names = dict(cur.execute("SELECT id, name FROM enterprises").fetchall())
        booked_now: list[str] = []

        def trip_rows() -> Any:
            for i in range(sizes.bookings):
                rig = i % n_rigs
                plant = plant_ids[i % len(plant_ids)]
                if i < n_rigs:
                    start = now - timedelta(minutes=rng.randrange(0, 90))
                    booked_now.append(tractors[rig])
                else:
                    start = now + timedelta(hours=rng.randrange(6, 72))
                yield (f"B{i:09d}", park_id, enterprise_of[plant], plant, "deliver", "hazmat",
                       vid[tractors[rig]], vid[trailers[rig]], drivers[rig % len(drivers)],
                       escorts[rig % len(escorts)], start, start + timedelta(hours=3), 0,
                       f"WB{i:09d}", ent_names[enterprise_of[plant]], "BOOKED", now, now, now)

        _copy(conn, "trips", ["code", "park_id", "enterprise_id", "plant_id", "direction",
                              "category", "vehicle_id", "trailer_id", "driver_id", "escort_id",
                              "window_start", "window_end", "priority", "waybill_no",
                              "waybill_consignee", "state", "state_changed_at", "created_at",
                              "crew_confirmed_at"], trip_rows())
        conn.commit()
        trip_ids = [r[0] for r in cur.execute("SELECT id FROM trips ORDER BY id")]
        _copy(conn, "cargo_lines", ["trip_id", "position", "un_number", "name_zh",
                                    "hazard_class", "subsidiary_risks", "highly_toxic",
                                    "quantity", "unit", "quantity_kg"],
              ((tid, 1, "UN1203", "汽油", "3", "[]", False, 20000.0, "kg", 20000.0)
               for tid in trip_ids))
        conn.commit()
        timings["bookings_s"] = time.perf_counter() - t

        t = time.perf_counter()
        append_chain(conn, sizes.audit_events, now - timedelta(days=30), now, rng,
                     lanes=list(lanes.values()), plates=tractors[:1000] + cars[:1000])
        conn.commit()
        cover_with_tree(url)
        timings["audit_s"] = time.perf_counter() - t
        # As a database that has been running looks: freshly copied tables would
        # otherwise be vacuumed by autovacuum in the middle of the measurement, and
        # the load's gigabyte of log would start a checkpoint that writes its pages
        # out during it (PostgreSQL's log showed one spanning a whole run).
        conn.autocommit = True
        cur.execute("VACUUM (ANALYZE)")
        try:
            cur.execute("CHECKPOINT")
        except psycopg.errors.InsufficientPrivilege:
            print("note: no CHECKPOINT after the load (needs pg_checkpoint or superuser); "
                  "one may run during the measurement")
    return Loaded(park_id, lanes, tractor_plates=booked_now, car_plates=cars, timings=timings,
                  trailer_of=dict(zip(tractors, trailers, strict=True)))


def append_chain(conn: psycopg.Connection[Any], n: int, start: datetime, end: datetime,
                 rng: random.Random, *, lanes: list[int], plates: list[str],
                 enterprises: list[int] | None = None, batch: int = 50_000,
                 trip: tuple[int, int] | None = None) -> None:
    """Append n valid events after the current head, spread over [start, end]. With
    `trip` (trip id, every k-th event), those events belong to that trip, each
    back-linked to the one before as the sequencer links them."""
    cur = conn.cursor()
    seq, prev = cur.execute("SELECT seq, hash FROM audit_head WHERE id = 1").fetchone() \
        or (0, GENESIS_HASH)
    span = (end - start).total_seconds()
    actions = ["gate.decision", "gate.decision", "gate.decision", "trip.book", "trip.arrive",
               "record.update", "gate.person"]
    columns = ["seq", "at", "actor_kind", "actor_id", "actor_name", "action", "subject_kind",
               "subject_id", "trip_id", "vehicle_id", "person_id", "enterprise_id", "lane_id",
               "plate", "payload", "trip_prev_leaf", "prev_hash", "hash"]
    done = 0
    trip_last: int | None = None
    while done < n:
        chunk = min(batch, n - done)
        with cur.copy(f"COPY audit_events ({', '.join(columns)}) FROM STDIN") as copy:
            for k in range(chunk):
                seq += 1
                at = start + timedelta(seconds=span * (done + k) / max(n, 1))
                action = actions[seq % len(actions)]
                plate = plates[seq % len(plates)] if action.startswith("gate") else None
                lane = lanes[seq % len(lanes)] if action.startswith("gate") else None
                ent = (enterprises[seq % len(enterprises)] if enterprises else None)
                payload = canonical_payload({"action": rng.choice(["OPEN", "DENY",
                                                                   "DIVERT_TO_LOT"]),
                                             "reasons": [{"code": "MUST_WAIT_IN_LOT",
                                                          "rule": "G22"}]})
                trip_id = back = None
                if trip is not None and seq % trip[1] == 0:
                    trip_id, back = trip[0], None if trip_last is None else trip_last - 1
                    trip_last = seq
                values = ("device", "7", "BP1-IN agent", action, "passage", str(seq), trip_id,
                          None, None, ent, lane, plate, payload)
                event_hash = hashlib.sha256((prev + body(seq, at, values, back)).encode()
                                            ).hexdigest()
                copy.write_row((seq, at, *values, back, prev, event_hash))
                prev = event_hash
        done += chunk
        conn.commit()
    cur.execute("UPDATE audit_head SET seq = %s, hash = %s WHERE id = 1", (seq, prev))
    # The time blocks the sequencer would have kept (audit.time_blocks).
    cur.execute("DELETE FROM audit_time_blocks")
    cur.execute(str(time_blocks.rebuild().compile(dialect=postgresql.dialect(),
                                                  compile_kwargs={"literal_binds": True})))
    cur.execute("UPDATE audit_head SET blocks_through = %s WHERE id = 1", (seq,))
    conn.commit()


def cover_with_tree(url: str) -> None:
    """Extend the Merkle tree over a chain appended straight by COPY, as the sequencer
    extends it with every pass in a park that has been running. Left behind, the first
    link pass of whatever is measured next would do it (audit.tree.catch_up), inside
    the measurement."""
    from audit import sequencer
    from parkgate.database import Database

    database = Database(url)
    try:
        sequencer.link_all(database.engine)
    finally:
        database.dispose()


def throwaway(admin_url: str, prefix: str) -> tuple[str, Any]:
    import uuid

    admin = admin_url.replace("postgresql+psycopg://", "postgresql://")
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = admin.rsplit("/", 1)[0] + "/" + name

    def drop() -> None:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return url, drop
