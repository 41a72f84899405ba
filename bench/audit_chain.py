"""Append N audit events, verify the chain, and compare verify with bare SHA-256.

    python bench/audit_chain.py [--events N] [--batch B]

Reads DATABASE_URL (PostgreSQL when set; otherwise a temporary SQLite file). It
migrates a throw-away database of its own, so it never touches real data: on
PostgreSQL it creates and drops `parkgate_bench_<random>` next to the given one.

Figures:
- append_per_s: events/s, one event per transaction through the unit of work (the
  event queued with the change, COMMIT), from --writers writers in --processes
  processes at once, as a park's gate workers write, with the web app's background
  sequencer linking meanwhile; append_one_writer_per_s: the same from one thread
  (bound by one commit's latency).
- append_batch10_per_s: the same with ten events per transaction (agent replays,
  imports).
- commit_floor_per_s: bare one-row INSERT + COMMIT through the driver into an
  unindexed table: this machine's ceiling for durable single-row transactions.
- verify_per_s: events/s for audit.chain.verify over the whole chain from the DB.
- sha256_per_s: events/s for hashlib.sha256 over the very same bytes (prev_hash +
  canonical body), already in memory: the physical floor for any verify.
- verify_ratio = sha256_per_s / verify_per_s.
- longest_unlinked_wait_s: the longest any event waited from its instant to being
  linked into the chain, measured by the sequencer (aim: at most 1 s).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text

from audit import sequencer
from audit.chain import sql_linked_body
from audit.service import verify_chain
from kernel.uow import Actor, unit_of_work
from parkgate.database import Database
from parkgate.migrate import upgrade


def throwaway_database() -> tuple[str, callable]:
    url = os.environ.get("DATABASE_URL")
    if url and url.startswith("postgres"):
        import psycopg

        admin = url.replace("postgresql+psycopg://", "postgresql://")
        name = f"parkgate_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        bench_url = admin.rsplit("/", 1)[0] + "/" + name

        def drop() -> None:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

        return bench_url, drop
    folder = tempfile.mkdtemp(prefix="parkgate-bench-")
    return f"sqlite:///{folder}/bench.db", lambda: None


def append(database: Database, events: int, *, batch: int) -> float:
    actor = Actor(kind="device", id="42", name="P1-IN agent")
    started = time.perf_counter()
    done = 0
    while done < events:
        with unit_of_work(database.session_factory) as uow:
            for _ in range(min(batch, events - done)):
                uow.audit("gate.decision", actor, subject_kind="passage", subject_id=str(done),
                          lane_id=3, plate="苏E12345", vehicle_id=done,
                          payload={"action": "OPEN", "reasons": [], "read_id": uuid.uuid4().hex,
                                   "confidence": 0.97})
                done += 1
            uow.commit()
    return time.perf_counter() - started


def _writer_process(url: str, events: int, threads: int, start: Any, done: Any) -> None:
    """One gate worker process: `threads` writers, one event per transaction, its own
    sequencer thread (the web app's)."""
    import threading

    database = Database(url)
    sequencer.configure(database.engine, "background")
    start.wait()
    workers = [threading.Thread(target=append, args=(database, events // threads),
                                kwargs={"batch": 1}) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    sequencer.link_all(database.engine)
    done.put(os.getpid())


def append_concurrently(url: str, events: int, writers: int, processes: int) -> float:
    """`writers` writers over `processes` processes, each appending one event per
    transaction, as a park's gate workers do (gunicorn processes, threads in each): no
    lock is shared in the request, so their commits overlap."""
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    start, done = ctx.Event(), ctx.Queue()
    per = events // processes
    procs = [ctx.Process(target=_writer_process,
                         args=(url, per, max(1, writers // processes), start, done))
             for _ in range(processes)]
    for proc in procs:
        proc.start()
    time.sleep(3)  # every process connected and imported before the clock starts
    started = time.perf_counter()
    start.set()
    for _ in procs:
        done.get(timeout=600)
    elapsed = time.perf_counter() - started
    for proc in procs:
        proc.join()
        if proc.exitcode:
            raise SystemExit(f"a writer process failed ({proc.exitcode})")
    return elapsed


def commit_floor(database: Database, n: int = 2000) -> float:
    """Durable one-row transactions per second straight through the driver."""
    with database.engine.connect() as conn:
        raw = conn.connection.driver_connection
        cur = raw.cursor()
        cur.execute("CREATE TEMP TABLE commit_floor (n integer)")
        raw.commit()
        # The engine's connections take PostgreSQL's own placeholders (models.db).
        mark = "$1" if database.dialect == "postgresql" else "?"
        started = time.perf_counter()
        for i in range(n):
            cur.execute(f"INSERT INTO commit_floor VALUES ({mark})", (i,))
            raw.commit()
        return n / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000,
                        help="events per phase (one writer, concurrent writers, batches of ten)")
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--processes", type=int, default=4)
    args = parser.parse_args()

    url, drop = throwaway_database()
    try:
        upgrade(url)
        database = Database(url)
        # As the web app runs: a sequencer thread links what the requests queued.
        sequencer.configure(database.engine, "background")
        single_s = append(database, args.events, batch=1)
        concurrent_s = append_concurrently(url, args.events, args.writers, args.processes)
        batch_s = append(database, args.events, batch=10)
        sequencer.link_all(database.engine)  # the queue's tail (and the thread's last pass)
        sequencer.shutdown()
        floor = commit_floor(database)
        per_thread = args.events // args.processes // max(1, args.writers // args.processes)
        concurrent = per_thread * max(1, args.writers // args.processes) * args.processes
        total = 2 * args.events + concurrent

        # Best of three for both sides of the ratio: this VM's neighbours make single
        # timings of sub-second loops swing by 2x.
        verify_s = float("inf")
        for _ in range(3):
            started = time.perf_counter()
            result = verify_chain(database.engine)
            verify_s = min(verify_s, time.perf_counter() - started)
            assert result.ok and result.checked == total, result

        # The same canonical bytes, fetched once, hashed in memory.
        with database.engine.connect() as conn:
            blobs = [linked.encode() for (linked,) in conn.exec_driver_sql(
                f"SELECT {sql_linked_body(database.dialect)} FROM audit_events ORDER BY seq")]
        total_bytes = sum(len(b) for b in blobs)
        sha256 = hashlib.sha256
        sha_s = float("inf")
        for _ in range(3):
            started = time.perf_counter()
            for blob in blobs:
                sha256(blob).hexdigest()
            sha_s = min(sha_s, time.perf_counter() - started)
        with database.engine.connect() as conn:
            count = conn.execute(text("SELECT count(*) FROM audit_events")).scalar_one()
        database.dispose()
    finally:
        drop()

    figures = {
        "bench": "audit_chain",
        "database": database.dialect,
        "events": count,
        "append_per_s": round(concurrent / concurrent_s, 1),
        "append_writers": args.writers,
        "append_one_writer_per_s": round(args.events / single_s, 1),
        "append_batch10_per_s": round(args.events / batch_s, 1),
        "commit_floor_per_s": round(floor, 1),
        "verify_per_s": round(total / verify_s, 1),
        "sha256_per_s": round(total / sha_s, 1),
        "verify_ratio": round((total / sha_s) / (total / verify_s), 2),
        "mean_event_bytes": round(total_bytes / len(blobs), 1),
        "longest_unlinked_wait_s": round(sequencer.STATS.longest_wait_s, 3),
        "sequencer_passes": sequencer.STATS.passes,
    }
    print(f"database       {figures['database']}")
    print(f"events         {figures['events']}")
    print(f"append         {figures['append_per_s']:>12,.0f} events/s (1 per transaction, "
          f"{args.writers} writers in {args.processes} processes)")
    print(f"append         {figures['append_one_writer_per_s']:>12,.0f} events/s "
          "(1 per transaction, one writer)")
    print(f"append         {figures['append_batch10_per_s']:>12,.0f} events/s (10 per transaction)")
    print(f"commit floor   {figures['commit_floor_per_s']:>12,.0f} transactions/s (bare driver)")
    print(f"verify         {figures['verify_per_s']:>12,.0f} events/s")
    print(f"bare sha256    {figures['sha256_per_s']:>12,.0f} events/s "
          f"({figures['mean_event_bytes']} bytes/event)")
    print(f"verify ratio   {figures['verify_ratio']}x of bare hashing")
    print(f"longest wait   {figures['longest_unlinked_wait_s']} s before linking "
          f"({figures['sequencer_passes']} sequencer passes)")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
