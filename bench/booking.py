"""Booking checks and bulk import against a loaded park on PostgreSQL.

    DATABASE_URL=postgresql://postgres@127.0.0.1/test python bench/booking.py [--quick]

Validation: bookings with 1–10 cargo lines (cycling), each resolved and run through
every check of DOMAIN §3 (what the booking page's "Check" does), one after another
in one process: bookings/s and latency percentiles. Import: a 10,000-row CSV through
the same code as the import page and CLI, in a process of its own so its peak
memory is its own: rows/s, peak RSS and its growth during the import.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.population import Sizes, load, throwaway  # noqa: E402

PARK_OFFSET = timedelta(hours=8)


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def seed_materials(url: str) -> list[str]:
    """The dangerous-goods seed list; returns the UN numbers of classes 3 and 8."""
    import psycopg

    from demo.paths import dangerous_goods_csv

    rows = list(csv.DictReader(dangerous_goods_csv().open(encoding="utf-8")))
    with psycopg.connect(url) as conn:
        conn.cursor().executemany(
            "INSERT INTO materials (un_number, name_zh, name_en, hazard_class, "
            "subsidiary_risks, packing_group, highly_toxic) VALUES (%s, %s, %s, %s, %s, %s, "
            "false)", [(r["un_number"], r["name_zh"], r["name_en"], r["class"],
                        json.dumps([s for s in r["subsidiary_risks"].split(";") if s]),
                        r["packing_group"] or None) for r in rows])
        conn.commit()
    return sorted({r["un_number"] for r in rows
                   if r["class"] in ("3", "8") and not r["subsidiary_risks"]})


def population_facts(url: str) -> dict[str, list]:
    import psycopg

    with psycopg.connect(url) as conn:
        cur = conn.cursor()
        return {
            "tractors": [r[0] for r in cur.execute(
                "SELECT plate FROM vehicles WHERE kind = 'tractor' ORDER BY id")],
            "trailers": [r[0] for r in cur.execute(
                "SELECT plate FROM vehicles WHERE kind = 'trailer' ORDER BY id")],
            "tractor_ids": [r[0] for r in cur.execute(
                "SELECT id FROM vehicles WHERE kind = 'tractor' ORDER BY id LIMIT 3000")],
            "drivers": [tuple(r) for r in cur.execute(
                "SELECT person_id, cert_no FROM qualifications WHERE kind = 'driver' "
                "ORDER BY id")],
            "escorts": [tuple(r) for r in cur.execute(
                "SELECT person_id, cert_no FROM qualifications WHERE kind = 'escort' "
                "ORDER BY id")],
            "plants": [tuple(r) for r in cur.execute(
                "SELECT p.id, p.code, p.enterprise_id, e.name FROM plants p "
                "JOIN enterprises e ON e.id = p.enterprise_id ORDER BY p.id")],
        }


def validate(url: str, facts: dict[str, list], materials: list[str], n: int) -> dict[str, float]:
    from auth.principal import from_user
    from auth.service import create_user
    from booking.service import BookingRequest, CargoRequest, check
    from kernel import clock
    from kernel.uow import Actor, unit_of_work
    from parkgate.database import Database

    db = Database(url)
    plant_id, _, enterprise_id, enterprise_name = facts["plants"][0]
    # The booker's enterprise works with every carrier, so it may name all their
    # vehicles and crews (registry.scope: anyone else's would answer "no such").
    import psycopg

    with psycopg.connect(url) as conn:
        conn.execute("INSERT INTO enterprise_carriers (enterprise_id, carrier_id) "
                     "SELECT %s, id FROM carriers ON CONFLICT DO NOTHING", (enterprise_id,))
        # Drivers and escorts are employed by a carrier, as in a park's records.
        conn.execute("UPDATE persons SET carrier_id = (SELECT min(id) FROM carriers) "
                     "WHERE carrier_id IS NULL AND enterprise_id IS NULL")
    with unit_of_work(db.session_factory) as uow:
        from sqlalchemy import select

        from models import User

        user = uow.session.scalar(select(User).where(User.username == "bench-logistics")) or \
            create_user(uow, Actor.system("bench"), username="bench-logistics",
                        display_name="bench", password=None, roles=["enterprise_logistics"],
                        enterprise_id=enterprise_id)
        uow.commit()
        principal = from_user(user)
    start = clock.now() + timedelta(days=5)
    latencies: list[float] = []
    failures = 0
    codes: dict[str, int] = {}
    with db.session_factory() as session:
        for i in range(n):
            lines = 1 + i % 10
            # Tractors alone: the population's trailers are tanks approved for two media,
            # and drafts that fail on every line would measure the unusual path.
            req = BookingRequest(
                plant_id=plant_id, vehicle_id=facts["tractor_ids"][i % len(facts["tractor_ids"])],
                driver_id=facts["drivers"][i % len(facts["drivers"])][0],
                escort_id=facts["escorts"][i % len(facts["escorts"])][0],
                window_start=start, window_end=start + timedelta(hours=3), waybill_no=f"W{i}",
                waybill_consignee=enterprise_name,
                cargo=[CargoRequest(materials[(i + k) % len(materials)], 1000.0)
                       for k in range(lines)])
            t = time.perf_counter()
            findings = check(session, principal, req)
            latencies.append((time.perf_counter() - t) * 1000)
            failures += bool(findings.failures)
            for r in findings.failures:
                codes[r.code] = codes.get(r.code, 0) + 1
            session.expunge_all()  # each check starts cold, as a request would
    db.dispose()
    ordered = sorted(latencies)
    total_s = sum(latencies) / 1000
    return {"bookings_per_s": round(n / total_s, 1),
            "p50_ms": round(statistics.median(ordered), 2),
            "p99_ms": round(ordered[int(0.99 * (len(ordered) - 1))], 2),
            "checked": n, "with_failures": failures, "failure_codes": codes}


def write_import_file(path: Path, facts: dict[str, list], rows: int) -> None:
    base = datetime.now(UTC) + timedelta(days=10)
    plants = facts["plants"]
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["plate", "plate_colour", "trailer_plate", "driver", "escort", "plant",
                         "window_start", "window_end", "cargo", "waybill_no",
                         "waybill_consignee", "enterprise"])
        tractors, trailers = facts["tractors"], facts["trailers"]
        for i in range(rows):
            rig = i % len(tractors)
            start = base + timedelta(hours=4 * (i // len(tractors)))
            _, code, _, name = plants[i % len(plants)]
            local = start + PARK_OFFSET
            writer.writerow([tractors[rig], "yellow", trailers[rig],
                             facts["drivers"][rig % len(facts["drivers"])][1],
                             facts["escorts"][rig % len(facts["escorts"])][1], code,
                             local.strftime("%Y-%m-%d %H:%M"),
                             (local + timedelta(hours=3)).strftime("%Y-%m-%d %H:%M"),
                             "UN1203:10t", f"IMP{i:06d}", name, ""])


def import_child(url: str, path: str) -> None:
    """Runs in its own process: import the file, print figures as JSON."""
    from auth.principal import system_principal
    from booking.imports import import_bookings
    from kernel.uow import unit_of_work
    from parkgate.database import Database
    from registry.imports import read_rows

    db = Database(url)
    before = rss_mb()
    t = time.perf_counter()
    with open(path, "rb") as raw, unit_of_work(db.session_factory) as uow:
        report = import_bookings(uow, system_principal("bench"), read_rows(raw, path),
                                 dry_run=False)
    elapsed = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"rows": report.rows, "booked": report.booked,
                      "errors": report.error_count, "seconds": round(elapsed, 2),
                      "rows_per_s": round(report.rows / elapsed, 1), "peak_mb": round(peak, 1),
                      "growth_mb": round(peak - before, 1),
                      "first_errors": [(e.row, e.field) for e in report.errors[:5]]}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the population")
    parser.add_argument("--checks", type=int, default=2000)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--import-child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.import_child:
        import_child(*args.import_child)
        return
    admin = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1/test")
    if not admin.startswith("postgres"):
        raise SystemExit("this benchmark needs PostgreSQL in DATABASE_URL")
    sizes = Sizes.quick() if args.quick else Sizes(audit_events=100_000)
    from parkgate.migrate import upgrade

    url, drop = throwaway(admin, "parkgate_bookbench")
    try:
        upgrade(url)
        t = time.perf_counter()
        load(url, sizes)
        materials = seed_materials(url)
        facts = population_facts(url)
        print(f"population: {sizes.vehicles} vehicles, {sizes.persons} persons, "
              f"{sizes.bookings} bookings, loaded in {time.perf_counter() - t:.0f} s; "
              f"{len(materials)} class 3/8 materials for cargo lines")
        figures = validate(url, facts, materials, args.checks)
        print(f"validation: {figures['bookings_per_s']} bookings/s, p50 {figures['p50_ms']} ms, "
              f"p99 {figures['p99_ms']} ms over {figures['checked']} drafts with 1–10 lines "
              f"({figures['with_failures']} with failures {figures['failure_codes']})")
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "bookings.csv"
            write_import_file(path, facts, args.rows)
            out = subprocess.run([sys.executable, __file__, "--import-child", url, str(path)],
                                 capture_output=True, text=True)
            if out.returncode:
                raise SystemExit(f"import failed:\n{out.stderr[-3000:]}")
            imported = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"import: {imported['rows']} rows in {imported['seconds']} s = "
              f"{imported['rows_per_s']} rows/s, {imported['booked']} booked, "
              f"{imported['errors']} errors {imported['first_errors']}, peak RSS "
              f"{imported['peak_mb']} MB (+{imported['growth_mb']} MB during the import)")
        print(json.dumps({"bench": "booking", **figures,
                          "import_rows": imported["rows"],
                          "import_rows_per_s": imported["rows_per_s"],
                          "import_peak_mb": imported["peak_mb"],
                          "import_growth_mb": imported["growth_mb"],
                          "population": {"vehicles": sizes.vehicles, "persons": sizes.persons,
                                         "bookings": sizes.bookings}}))
    finally:
        drop()


if __name__ == "__main__":
    main()
