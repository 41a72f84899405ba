"""Import 100k vehicles and 200k persons (plus their qualifications) from CSV into
PostgreSQL through the real importer, then time exact look-ups.

    DATABASE_URL=postgresql://postgres@127.0.0.1/test python bench/records.py [--vehicles N]
        [--persons N] [--lookups N]

It creates and drops a database of its own next to the one DATABASE_URL names (on
SQLite without DATABASE_URL). Each import runs in a child process so that its peak
resident memory is its own: import_peak_mb is the highest of the three.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.audit_chain import throwaway_database

PROVINCES = "苏皖鲁浙沪豫鄂湘赣闽粤川"
LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
ALNUM = LETTERS + "0123456789"


def write_vehicles(path: Path, n: int, rng: random.Random) -> list[str]:
    plates: list[str] = []
    seen: set[str] = set()
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["plate", "plate_colour", "kind", "category", "road_permit_no",
                    "permit_scope", "permit_expires_on", "inspection_expires_on",
                    "insurance_expires_on", "rated_load_kg"])
        while len(plates) < n:
            plate = (rng.choice(PROVINCES) + rng.choice(LETTERS)
                     + "".join(rng.choice(ALNUM) for _ in range(5)))
            if plate in seen:
                continue
            seen.add(plate)
            plates.append(plate)
            w.writerow([plate, "yellow", "rigid", "hazmat", f"P{len(plates):09d}", "3;8",
                        f"2027-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                        "2027-06-30", "2027-06-30", rng.choice([10000, 18000, 25000])])
    return plates


def write_persons(path: Path, n: int) -> None:
    from rules.identity import check_digit

    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["name", "national_id", "kinds", "phone"])
        for i in range(n):
            # Distinct numbers: region by i // 1000 % 100, birth day by i // 100000,
            # sequence by i % 1000 — 200k valid, distinct IDs.
            region = f"32{(i // 1000) % 100:02d}02"
            birth = f"{1960 + (i // 100_000)}0{1 + (i // 1000) % 9}{1 + i % 28:02d}"
            first17 = f"{region}{birth}{i % 1000:03d}"
            w.writerow([f"人员{i}", first17 + check_digit(first17),
                        "driver" if i % 2 else "escort", f"139{i:08d}"])


def write_qualifications(path: Path, person_ids: list[int]) -> list[str]:
    certs = []
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["person_id", "kind", "cert_no", "classes", "expires_on"])
        for i, pid in enumerate(person_ids):
            cert = f"DG{i:010d}"
            certs.append(cert)
            w.writerow([pid, "driver" if i % 2 else "escort", cert, "2;3;8", "2028-01-31"])
    return certs


def child_import(url: str, kind: str, path: Path) -> dict[str, float]:
    """Run one import in a child process; it prints its figures as JSON."""
    code = (
        "import json, resource, sys, time\n"
        "from pathlib import Path\n"
        "from auth.principal import system_principal\n"
        "from parkgate.database import Database\n"
        "from kernel.uow import unit_of_work\n"
        "from registry import pii\n"
        "from registry.imports import import_rows, read_rows\n"
        "from registry.resources import REGISTRY_ORDER\n"
        f"pii.configure('bench-pii-key')\n"
        f"kind, path = {kind!r}, Path({str(path)!r})\n"
        "resource_ = next(r for r in REGISTRY_ORDER if r.name == kind)\n"
        f"db = Database({url!r})\n"
        "started = time.perf_counter()\n"
        "with path.open('rb') as f, unit_of_work(db.session_factory) as uow:\n"
        "    report = import_rows(uow, resource_, system_principal('bench'),\n"
        "                         read_rows(f, path.name), dry_run=False, create_only=True)\n"
        "elapsed = time.perf_counter() - started\n"
        "assert report.ok, report.errors[:3]\n"
        "peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024\n"
        "print(json.dumps({'rows': report.rows, 'seconds': elapsed, 'peak_mb': peak}))\n"
    )
    root = Path(__file__).resolve().parent.parent
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(root)}, check=False)
    if out.returncode != 0:
        raise SystemExit(f"import of {kind} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vehicles", type=int, default=100_000)
    parser.add_argument("--persons", type=int, default=200_000)
    parser.add_argument("--lookups", type=int, default=2_000)
    args = parser.parse_args()
    rng = random.Random(7)

    from parkgate.database import Database
    from parkgate.migrate import upgrade
    from registry import pii
    from registry.lookup import qualifications_by_cert, vehicle_by_plate

    url, drop = throwaway_database()
    folder = Path(tempfile.mkdtemp(prefix="parkgate-records-"))
    try:
        upgrade(url)
        plates = write_vehicles(folder / "vehicles.csv", args.vehicles, rng)
        write_persons(folder / "persons.csv", args.persons)
        vehicles = child_import(url, "vehicles", folder / "vehicles.csv")
        persons = child_import(url, "persons", folder / "persons.csv")
        database = Database(url)
        with database.engine.connect() as conn:
            from sqlalchemy import text

            ids = [r[0] for r in conn.execute(text("SELECT id FROM persons ORDER BY id")
                                              ).fetchall()]
        certs = write_qualifications(folder / "qualifications.csv", ids[: args.persons // 2])
        quals = child_import(url, "qualifications", folder / "qualifications.csv")

        pii.configure("bench-pii-key")
        plate_ms: list[float] = []
        cert_ms: list[float] = []
        with database.session_factory() as session:
            for plate in rng.sample(plates, min(args.lookups, len(plates))):
                started = time.perf_counter()
                assert vehicle_by_plate(session, plate, "yellow") is not None
                plate_ms.append((time.perf_counter() - started) * 1000)
            for cert in rng.sample(certs, min(args.lookups, len(certs))):
                started = time.perf_counter()
                assert qualifications_by_cert(session, cert)
                cert_ms.append((time.perf_counter() - started) * 1000)
        dialect = database.dialect
        database.dispose()
    finally:
        drop()

    total_rows = vehicles["rows"] + persons["rows"] + quals["rows"]
    total_s = vehicles["seconds"] + persons["seconds"] + quals["seconds"]
    figures = {
        "bench": "records",
        "database": dialect,
        "vehicles": int(vehicles["rows"]),
        "persons": int(persons["rows"]),
        "qualifications": int(quals["rows"]),
        "import_rows_per_s": round(total_rows / total_s, 1),
        "vehicles_rows_per_s": round(vehicles["rows"] / vehicles["seconds"], 1),
        "persons_rows_per_s": round(persons["rows"] / persons["seconds"], 1),
        "qualifications_rows_per_s": round(quals["rows"] / quals["seconds"], 1),
        "import_peak_mb": round(max(vehicles["peak_mb"], persons["peak_mb"], quals["peak_mb"]), 1),
        "plate_lookup_p50_ms": round(statistics.median(plate_ms), 3),
        "plate_lookup_p99_ms": round(p(plate_ms, 0.99), 3),
        "cert_lookup_p50_ms": round(statistics.median(cert_ms), 3),
        "cert_lookup_p99_ms": round(p(cert_ms, 0.99), 3),
    }
    print(f"database          {dialect}")
    for kind, fig in (("vehicles", vehicles), ("persons", persons), ("qualifications", quals)):
        print(f"import {kind:<15} {fig['rows']:>8.0f} rows in {fig['seconds']:6.1f} s "
              f"= {fig['rows'] / fig['seconds']:8.0f} rows/s, peak {fig['peak_mb']:.0f} MB")
    print(f"plate look-up     p50 {figures['plate_lookup_p50_ms']} ms, "
          f"p99 {figures['plate_lookup_p99_ms']} ms")
    print(f"cert look-up      p50 {figures['cert_lookup_p50_ms']} ms, "
          f"p99 {figures['cert_lookup_p99_ms']} ms")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
