"""Verifiable excerpts over a large log, on PostgreSQL.

    DATABASE_URL=postgresql://postgres@127.0.0.1/test python bench/audit_proofs.py
        [--events 5000000] [--trip-events 100] [--seconds 20]

Bulk-loads a valid chain of --events events (COPY; one trip's --trip-events events
spread evenly through it, back-linked), then:

- tree_build_leaves_per_s: the sequencer covering the whole log with the Merkle tree,
  as after an upgrade (audit.tree.catch_up through audit.sequencer.link_all).
- checkpoint_ms: signing a tree head over the whole log (root from stored nodes).
- proof_ms_first: the inclusion proofs of the trip's events to that checkpoint
  (audit.tree.inclusion_proofs, one bulk read) the first time, from a cold cache;
  proof_ms_p50/p99: the same repeated; excerpt_ms_p50/p99: the whole excerpt as the
  export makes it (query, proofs, CSV cells). The excerpt is
  verified offline once (audit.offline.verify_rows) so the figures are of proofs
  that check.
- Gate writes while checkpointing: --writers threads append one event per
  transaction for --seconds, once alone and once with a checkpoint signed every
  200 ms; append_per_s and p99 latency of each, and their ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.audit_query import percentile  # noqa: E402
from bench.population import append_chain, throwaway  # noqa: E402

TRIP_ID = 424242


def load(url: str, events: int, trip_events: int) -> float:
    import psycopg

    started = time.perf_counter()
    with psycopg.connect(url) as conn:
        end = datetime(2026, 12, 1, tzinfo=UTC)
        append_chain(conn, events, end - timedelta(days=365), end, random.Random(3),
                     lanes=[1, 2, 3, 4], plates=[f"苏E{i:05d}" for i in range(500)],
                     trip=(TRIP_ID, max(1, events // trip_events)))
    return time.perf_counter() - started


def writers(database: Any, seconds: float, threads: int, stop_early: threading.Event
            ) -> tuple[int, list[float]]:
    from kernel.uow import Actor, unit_of_work

    actor = Actor(kind="device", id="42", name="P1-IN agent")
    latencies: list[float] = []
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def run() -> None:
        mine: list[float] = []
        n = 0
        while time.perf_counter() < deadline and not stop_early.is_set():
            t = time.perf_counter()
            with unit_of_work(database.session_factory) as uow:
                uow.audit("gate.decision", actor, subject_kind="passage", subject_id=str(n),
                          lane_id=3, plate="苏E12345", payload={"action": "OPEN"})
                uow.commit()
            mine.append(time.perf_counter() - t)
            n += 1
        with lock:
            latencies.extend(mine)

    pool = [threading.Thread(target=run) for _ in range(threads)]
    for worker in pool:
        worker.start()
    for worker in pool:
        worker.join()
    return len(latencies), latencies


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=5_000_000)
    parser.add_argument("--trip-events", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--writers", type=int, default=4)
    args = parser.parse_args()
    admin = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1/test")
    if not admin.startswith("postgres"):
        raise SystemExit("this bench needs PostgreSQL (DATABASE_URL)")

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from sqlalchemy import text
    from sqlalchemy.orm import Session

    from audit import checkpoints, excerpt, export, sequencer, tree
    from audit.heads import open_checkpoint
    from audit.offline import verify_rows
    from audit.query import AuditFilter
    from kernel.uow import Actor, unit_of_work
    from parkgate.database import Database
    from parkgate.migrate import upgrade
    from parkgate.signing import public_key_b64

    url, drop = throwaway(admin, "parkgate_proofbench")
    try:
        upgrade(url)
        load_s = load(url, args.events, args.trip_events)
        print(f"loaded {args.events:,} events in {load_s:.0f} s")
        database = Database(url)
        t = time.perf_counter()
        sequencer.link_all(database.engine)
        build_s = time.perf_counter() - t
        with Session(database.engine) as s:
            covered = tree.covered(s)
            nodes = s.execute(text("SELECT count(*) FROM audit_tree")).scalar()
        print(f"tree over {covered:,} leaves built in {build_s:.1f} s "
              f"({covered / build_s:,.0f} leaves/s, {nodes:,} stored nodes)")

        key = Ed25519PrivateKey.generate()
        t = time.perf_counter()
        with unit_of_work(database.session_factory) as uow:
            checkpoint = checkpoints.issue(uow, key, Actor.system("bench"),
                                           datetime.now(UTC), force=True)
            uow.commit()
        checkpoint_ms = (time.perf_counter() - t) * 1000
        assert checkpoint is not None
        size, note = checkpoint.seq, checkpoint.envelope
        print(f"checkpoint of {size:,} signed in {checkpoint_ms:.1f} ms")

        f = AuditFilter(trip_id=TRIP_ID)
        with Session(database.engine) as s:
            seqs = [r[0] for r in s.execute(text(
                "SELECT seq FROM audit_events WHERE trip_id = :t ORDER BY seq"), {"t": TRIP_ID})]
        proof_ms, excerpt_ms = [], []
        for i in range(args.repeat):
            with Session(database.engine) as s:
                t = time.perf_counter()
                tree.inclusion_proofs(s, [q - 1 for q in seqs], size)
                proof_ms.append((time.perf_counter() - t) * 1000)
            with Session(database.engine) as s:
                t = time.perf_counter()
                rows = list(excerpt.cells(s, f, size))
                excerpt_ms.append((time.perf_counter() - t) * 1000)
            if i == 0:
                meta = excerpt.preamble(f, checkpoint)
                parsed = [dict(zip(export.COLUMNS, [export.decode(c) for c in r], strict=True))
                          for r in rows]
                result = verify_rows(parsed, open_checkpoint(note, public_key_b64(key)),
                                     meta=meta)
                assert result.ok and result.proven == len(seqs), result.problem
        first_ms = proof_ms.pop(0)
        print(f"{len(seqs)}-event trip excerpt in a {size:,}-event log: proofs first (cold) "
              f"{first_ms:.1f} ms, then p50 "
              f"{statistics.median(proof_ms):.1f} ms p99 {percentile(proof_ms, .99):.1f} ms; "
              f"whole excerpt p50 {statistics.median(excerpt_ms):.1f} ms "
              f"p99 {percentile(excerpt_ms, .99):.1f} ms (verified offline)")

        sequencer.configure(database.engine, "background")
        never = threading.Event()
        alone_n, alone = writers(database, args.seconds, args.writers, never)
        signed = 0
        stop = threading.Event()

        def sign_loop() -> None:
            nonlocal signed
            while not stop.is_set():
                with unit_of_work(database.session_factory) as uow:
                    checkpoints.issue(uow, key, Actor.system("bench"), datetime.now(UTC),
                                      force=True)
                    uow.commit()
                signed += 1
                stop.wait(0.2)

        signer = threading.Thread(target=sign_loop)
        signer.start()
        busy_n, busy = writers(database, args.seconds, args.writers, never)
        stop.set()
        signer.join()
        sequencer.link_all(database.engine)
        sequencer.shutdown()
        alone_rate, busy_rate = alone_n / args.seconds, busy_n / args.seconds
        print(f"gate writes alone: {alone_rate:,.0f}/s p99 {percentile(alone, .99) * 1000:.1f} ms; "
              f"with a checkpoint every 200 ms ({signed} signed): {busy_rate:,.0f}/s "
              f"p99 {percentile(busy, .99) * 1000:.1f} ms")
        database.dispose()
        print(json.dumps({
            "bench": "audit_proofs", "events": args.events, "trip_events": len(seqs),
            "load_s": round(load_s, 1), "tree_build_s": round(build_s, 1),
            "tree_build_leaves_per_s": round(covered / build_s),
            "tree_nodes_stored": nodes, "checkpoint_ms": round(checkpoint_ms, 1),
            "proof_ms_first": round(first_ms, 2),
            "proof_ms_p50": round(statistics.median(proof_ms), 2),
            "proof_ms_p99": round(percentile(proof_ms, .99), 2),
            "excerpt_ms_p50": round(statistics.median(excerpt_ms), 2),
            "excerpt_ms_p99": round(percentile(excerpt_ms, .99), 2),
            "append_alone_per_s": round(alone_rate), "append_checkpointing_per_s": round(busy_rate),
            "append_p99_alone_ms": round(percentile(alone, .99) * 1000, 2),
            "append_p99_checkpointing_ms": round(percentile(busy, .99) * 1000, 2),
            "checkpoints_signed_meanwhile": signed,
            "rate_ratio_checkpointing": round(busy_rate / alone_rate, 3)}))
    finally:
        drop()


if __name__ == "__main__":
    main()
