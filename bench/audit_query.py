"""Auditors' queries, export and verification over a year of audit events on PostgreSQL.

    DATABASE_URL=postgresql://postgres@127.0.0.1/test python bench/audit_query.py
        [--events 5000000] [--queries 200] [--export-rows 1000000]

Loads a park population and a valid chain of --events events spread over a year
(COPY), plus a passage (and its reason codes) for every gate decision. Then, through
the same audit.query code the API and page use, first pages (50 rows, newest first):
one plate over a month, one enterprise over a day, one reason code over a week,
one day of events and one of passages with nothing else named, the gate's actions
(`gate.*`) over a day —
p50/p99 each. Export: --export-rows consecutive events streamed to CSV in a child
process (rows/s, peak RSS). Verify: the whole chain recomputed, against hashing the
same bytes with nothing else to do (verify_ratio; 1.0 would be free).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.population import Sizes, append_chain, load, throwaway  # noqa: E402

REASONS = ["MUST_WAIT_IN_LOT", "NO_BOOKING_IN_WINDOW", "ROAD_PERMIT_EXPIRED", "LOW_CONFIDENCE",
           "BLACKLISTED", "GATE_TYPE", "NOT_RELEASED", "CREW_MISSING"]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def load_passages(url: str) -> int:
    """A passage (and its reason rows) for each gate decision event, as the gate
    writes them, so reason look-ups run against a realistic passage_reasons."""
    import psycopg

    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    rng = random.Random(5)
    n = 0
    reason_rows: list[tuple[int, str, datetime]] = []
    # One connection reads, another copies: a connection does one thing at a time.
    with psycopg.connect(dsn) as reader, psycopg.connect(dsn) as conn:
        src = reader.cursor(name="events")
        src.itersize = 50_000
        src.execute("SELECT seq, at, lane_id, plate FROM audit_events "
                    "WHERE action = 'gate.decision' ORDER BY seq")
        cur = conn.cursor()
        with cur.copy("COPY passages (id, lane_id, area, direction, source, subject_kind, "
                      "plate, seen_at, decided_at, action, reasons, crossed, offline, "
                      "read_count, details) FROM STDIN") as copy:
            for seq, at, lane_id, plate in src:
                codes = [REASONS[0]] if rng.random() < 0.7 else rng.sample(REASONS[1:], 2)
                action = "DIVERT_TO_LOT" if codes == [REASONS[0]] else "DENY"
                copy.write_row((seq, lane_id, "park", "in", "camera", "vehicle", plate, at, at,
                                action, json.dumps([{"code": c, "rule": "G"} for c in codes]),
                                False, False, 1, "{}"))
                reason_rows.extend((seq, code, at) for code in codes)
                n += 1
        with cur.copy("COPY passage_reasons (passage_id, code, decided_at) FROM STDIN") as copy:
            for row in reason_rows:
                copy.write_row(row)
        cur.execute("SELECT setval(pg_get_serial_sequence('passages', 'id'), "
                    "(SELECT max(id) FROM passages))")
        cur.execute("ANALYZE passages")
        cur.execute("ANALYZE passage_reasons")
        conn.commit()
    return n


def time_queries(url: str, n: int, plates: list[str], enterprises: list[int],
                 start: datetime, end: datetime) -> dict[str, Any]:
    from audit.query import AuditFilter, events_page, passages_page
    from parkgate.database import Database
    from registry import pii

    pii.configure("bench")
    db = Database(url)
    rng = random.Random(9)
    span = (end - start).total_seconds()

    def instant(width: timedelta) -> tuple[datetime, datetime]:
        t0 = start + timedelta(seconds=rng.uniform(0, span - width.total_seconds()))
        return t0, t0 + width

    kinds = {
        "plate_month": lambda: (events_page, AuditFilter(
            plate=rng.choice(plates), **dict(zip(("since", "until"),
                                                 instant(timedelta(days=30)), strict=True)))),
        "enterprise_day": lambda: (events_page, AuditFilter(
            enterprise_id=rng.choice(enterprises), **dict(zip(
                ("since", "until"), instant(timedelta(days=1)), strict=True)))),
        "reason_week": lambda: (passages_page, AuditFilter(
            reason=rng.choice(REASONS[1:]), **dict(zip(
                ("since", "until"), instant(timedelta(days=7)), strict=True)))),
        # What happened that night: a day, nothing else named.
        "day": lambda: (events_page, AuditFilter(**dict(zip(
            ("since", "until"), instant(timedelta(days=1)), strict=True)))),
        "gate_actions_day": lambda: (events_page, AuditFilter(action="gate.*", **dict(zip(
            ("since", "until"), instant(timedelta(days=1)), strict=True)))),
        "passages_day": lambda: (passages_page, AuditFilter(**dict(zip(
            ("since", "until"), instant(timedelta(days=1)), strict=True)))),
    }
    figures: dict[str, Any] = {}
    with db.session_factory() as session:
        for name, make in kinds.items():
            latencies, found = [], 0
            for i in range(n + 10):
                page, f = make()
                t = time.perf_counter()
                rows, _ = page(session, f, limit=50)
                elapsed = (time.perf_counter() - t) * 1000
                session.rollback()
                if i >= 10:  # the first few warm the caches
                    latencies.append(elapsed)
                    found += len(rows)
            figures[name] = {"p50_ms": round(statistics.median(latencies), 2),
                             "p99_ms": round(percentile(latencies, 0.99), 2),
                             "mean_rows": round(found / n, 1)}
    db.dispose()
    return figures


def _status_mb(field: str) -> float:
    """VmRSS / VmHWM of this process (ru_maxrss would carry the parent's peak over exec)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def export_child(url: str, first: int, last: int) -> None:
    from sqlalchemy.orm import Session

    from audit import excerpt, export
    from audit.query import AuditFilter
    from models.db import make_engine, read_only

    engine = read_only(make_engine(url))
    session = Session(bind=engine)
    base = _status_mb("VmRSS")
    t = time.perf_counter()
    rows = 0
    size = 0
    with open(os.devnull, "w", encoding="utf-8") as sink:
        # The path the export endpoint and the CLI take for a whole export.
        for chunk in excerpt.csv_text(session, AuditFilter(seq_from=first, seq_to=last), None,
                                      {}):
            rows += chunk.count(export.CSV_LINE_END)
            size += len(chunk)
            sink.write(chunk)
    rows -= len(export.PREAMBLE) + 1
    seconds = time.perf_counter() - t
    peak = _status_mb("VmHWM")
    print(json.dumps({"rows": rows, "seconds": round(seconds, 2),
                      "rows_per_s": round(rows / seconds), "mb": round(size / 2**20),
                      "peak_mb": round(peak), "growth_mb": round(peak - base)}))


def time_verify(url: str) -> dict[str, Any]:
    from sqlalchemy import text

    from audit.chain import sql_linked_body
    from audit.service import verify_chain
    from models.db import make_engine

    engine = make_engine(url)
    # Best of three for both sides of the ratio, as bench/audit_chain.py does: single
    # timings on this VM swing by half from one minute to the next.
    verify_s = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        result = verify_chain(engine)
        verify_s = min(verify_s, time.perf_counter() - t)
        assert result.ok, result
    # The floor: SHA-256 over the same linked bodies, already in memory (a sample,
    # scaled), with nothing else to do.
    with engine.connect() as conn:
        sample = [r[0].encode() for r in conn.execute(text(
            f"SELECT {sql_linked_body('postgresql')} FROM audit_events "
            "ORDER BY seq LIMIT 200000"))]
    hashed_s = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        for data in sample:
            hashlib.sha256(data).hexdigest()
        hashed_s = min(hashed_s, time.perf_counter() - t)
    floor_s = hashed_s * result.checked / len(sample)
    engine.dispose()
    return {"verified": result.checked, "verify_s": round(verify_s, 1),
            "verify_per_s": round(result.checked / verify_s),
            "verify_ratio": round(verify_s / floor_s, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5_000_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--export-rows", type=int, default=1_000_000)
    parser.add_argument("--export-child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.export_child:
        url, first, last = args.export_child
        export_child(url, int(first), int(last))
        return
    admin = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1/test")
    if not admin.startswith("postgres"):
        raise SystemExit("this benchmark needs PostgreSQL in DATABASE_URL")
    from parkgate.migrate import upgrade

    url, drop = throwaway(admin, "parkgate_auditbench")
    try:
        upgrade(url)
        now = datetime.now(UTC)
        start = now - timedelta(days=365)
        t = time.perf_counter()
        loaded = load(url, Sizes(vehicles=20_000, persons=20_000, bookings=2_000,
                                 audit_events=0), now=now)
        import psycopg

        dsn = url.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(dsn) as conn:
            enterprises = [r[0] for r in conn.execute("SELECT id FROM enterprises")]
            plates = [r[0] for r in conn.execute(
                "SELECT plate FROM vehicles ORDER BY id LIMIT 5000")]
            append_chain(conn, args.events, start, now, random.Random(3),
                         lanes=list(loaded.lanes.values()), plates=plates,
                         enterprises=enterprises)
            conn.execute("ANALYZE audit_events")
            conn.commit()
        passages = load_passages(url)
        print(f"population: {args.events} events over a year ({len(plates)} plates, "
              f"{len(enterprises)} enterprises), {passages} passages; loaded in "
              f"{time.perf_counter() - t:.0f} s")
        queries = time_queries(url, args.queries, plates, enterprises, start, now)
        for name, f in queries.items():
            print(f"query {name}: p50 {f['p50_ms']} ms, p99 {f['p99_ms']} ms "
                  f"({f['mean_rows']} rows per first page)")
        last = args.events
        first = max(1, last - args.export_rows + 1)
        out = subprocess.run([sys.executable, __file__, "--export-child", url, str(first),
                              str(last)], capture_output=True, text=True)
        if out.returncode:
            raise SystemExit(f"export failed:\n{out.stderr[-3000:]}")
        exported = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"export: {exported['rows']} events ({exported['mb']} MB of CSV) in "
              f"{exported['seconds']} s = {exported['rows_per_s']} rows/s, peak RSS "
              f"{exported['peak_mb']} MB (+{exported['growth_mb']} MB while exporting)")
        verified = time_verify(url)
        print(f"verify: {verified['verified']} events in {verified['verify_s']} s = "
              f"{verified['verify_per_s']}/s, {verified['verify_ratio']}x bare SHA-256")
        print(json.dumps({
            "bench": "audit_query", "events": args.events, "passages": passages,
            "plate_month_p99_ms": queries["plate_month"]["p99_ms"],
            "enterprise_day_p99_ms": queries["enterprise_day"]["p99_ms"],
            "reason_week_p99_ms": queries["reason_week"]["p99_ms"],
            "plate_month_p50_ms": queries["plate_month"]["p50_ms"],
            "enterprise_day_p50_ms": queries["enterprise_day"]["p50_ms"],
            "reason_week_p50_ms": queries["reason_week"]["p50_ms"],
            **{f"{kind}_{q}_ms": queries[kind][f"{q}_ms"]
               for kind in ("day", "gate_actions_day", "passages_day")
               for q in ("p50", "p99")},
            "export_rows": exported["rows"], "export_rows_per_s": exported["rows_per_s"],
            "export_peak_mb": exported["peak_mb"], "export_growth_mb": exported["growth_mb"],
            "verify_per_s": verified["verify_per_s"],
            "verify_ratio": verified["verify_ratio"]}))
    finally:
        drop()


if __name__ == "__main__":
    main()
