"""Mixed load against the production topology (scripts/prod.sh: gunicorn workers,
scheduler, gate agent, PostgreSQL, Redis), for a bounded time.

    python bench/load.py [--seconds 60] [--threads 12] [--sse 50] [--workers 4]

Starts the topology on a throw-away database (and a Redis key prefix of its own),
adds a gate with 20 lanes, then drives: plate reads on the 20 lanes, booking
creations (with an Idempotency-Key) and amendments by enterprise staff, dispatcher
board reads and hold/unhold, auditor searches; while 50 SSE clients listen to the
lanes. Afterwards it counts, from the database and the streams, every acknowledged
read or booking that is missing (lost) or stored twice, and every live event an SSE
client missed or got twice (duplicated). Prints throughput and p50/p99 per operation;
the last line is JSON.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
LANES = [f"LD{n:02d}-IN" for n in range(1, 21)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Client:
    """One keep-alive connection per thread."""

    def __init__(self, port: int, token: str) -> None:
        self.port, self.token = port, token
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def call(self, method: str, path: str, body: Any = None,
             headers: dict[str, str] | None = None) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        h = {"Authorization": f"Bearer {self.token}", "Accept": "application/json",
             **({"Content-Type": "application/json"} if data is not None else {}),
             **(headers or {})}
        for attempt in range(3):
            try:
                self.conn.request(method, path, body=data, headers=h)
                response = self.conn.getresponse()
                raw = response.read()
                return response.status, json.loads(raw) if raw else None
            except (OSError, http.client.HTTPException):
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")


def cli(env: dict[str, str], *args: str) -> str:
    out = subprocess.run([sys.executable, "-m", "parkgate.cli", *args], env=env,
                         capture_output=True, text=True, check=True, cwd=ROOT)
    return out.stdout.strip().splitlines()[-1]


def start(workers: int) -> tuple[subprocess.Popen[str], dict[str, str], int, Any]:
    from bench.population import throwaway

    admin = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1/test")
    url, drop = throwaway(admin, "parkgate_loadbench")
    port = free_port()
    instance = Path(tempfile.mkdtemp(prefix="parkgate-load-"))
    env = {**os.environ, "DATABASE_URL": url,
           "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
           "PARKGATE_REDIS_PREFIX": f"load{uuid.uuid4().hex[:8]}",
           "PARKGATE_INSTANCE": str(instance), "PARKGATE_BIND": f"127.0.0.1:{port}",
           "PARKGATE_WORKERS": str(workers),
           "PARKGATE_AGENT_INTERVAL": "2", "PARKGATE_OCR_THREADS": "1",
           "PARKGATE_RATE_LIMIT_PER_MIN": "1000000", "PARKGATE_LOG_LEVEL": "WARNING"}
    log = (instance / "prod.log").open("w")
    process = subprocess.Popen(["bash", str(ROOT / "scripts/prod.sh"), "--seed-demo"], env=env,
                               stdout=log, stderr=subprocess.STDOUT, text=True,
                               start_new_session=True, cwd=ROOT)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"topology exited; see {instance / 'prod.log'}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/readyz")
            if conn.getresponse().status == 200:
                break
        except OSError:
            pass
        time.sleep(0.5)
    else:
        raise SystemExit("topology not ready in 300 s")
    return process, env, port, drop


def add_lanes(admin: Client) -> None:
    status, gate = admin.call("POST", "/api/v1/gates", {
        "code": "LD", "name": "负载测试门", "kind": "perimeter",
        "admits": ["hazmat", "hazwaste", "goods", "small"]})
    assert status == 201, gate
    for code in LANES:
        status, lane = admin.call("POST", "/api/v1/lanes", {
            "gate_id": gate["id"], "code": code, "name": code, "direction": "in"})
        assert status == 201, lane


class Load:
    def __init__(self, port: int, tokens: dict[str, str], seconds: float) -> None:
        self.port, self.tokens, self.seconds = port, tokens, seconds
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.errors: list[tuple[str, int, Any]] = []
        self.reads: dict[str, tuple[str, int]] = {}  # read id -> (lane, passage id)
        self.bookings: dict[str, int] = {}  # idempotency key -> trip id
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.counter = 0

    def timed(self, op: str, client: Client, method: str, path: str, body: Any = None,
              headers: dict[str, str] | None = None, fair: tuple[int, ...] = ()) -> Any:
        """Run one call; a status in `fair` is a correct answer under contention (another
        dispatcher acted first), not an error."""
        t = time.perf_counter()
        status, body = client.call(method, path, body, headers)
        elapsed = (time.perf_counter() - t) * 1000
        with self.lock:
            self.latencies[op].append(elapsed)
            if status >= 400 and status not in fair:
                self.errors.append((op, status, body))
        return status, body

    def next_id(self) -> int:
        with self.lock:
            self.counter += 1
            return self.counter

    def worker(self, seed: int, template: dict[str, Any], plates: list[str]) -> None:
        rng = random.Random(seed)
        gate = Client(self.port, self.tokens["gate"])
        staff = Client(self.port, self.tokens["e01"])
        dispatch = Client(self.port, self.tokens["dispatch"])
        auditor = Client(self.port, self.tokens["auditor"])
        mine: list[int] = []
        while not self.stop.is_set():
            roll = rng.random()
            n = self.next_id()
            if roll < 0.70:
                lane = rng.choice(LANES)
                plate = rng.choice(plates) if rng.random() < 0.3 else f"苏L{n:05d}"[:7]
                read_id = f"ld-{n}"
                status, body = self.timed("read", gate, "POST", f"/api/v1/lanes/{lane}/reads", {
                    "read_id": read_id, "plate": plate, "plate_colour": "yellow",
                    "confidence": 0.97, "seen_at": _iso(time.time())})
                if status in (200, 201):
                    with self.lock:
                        self.reads[read_id] = (lane, body["id"])
            elif roll < 0.78:
                key = f"ld-book-{n}"
                start = time.time() + (30 + n) * 86400  # one vehicle, a day apart
                body = dict(template, window_start=_iso(start),
                            window_end=_iso(start + 3 * 3600), waybill_no=f"LD-{n}")
                status, out = self.timed("booking_create", staff, "POST", "/api/v1/bookings",
                                         body, {"Idempotency-Key": key})
                if status in (200, 201):
                    with self.lock:
                        self.bookings[key] = out["id"]
                    mine.append(out["id"])
            elif roll < 0.84 and mine:
                trip_id = rng.choice(mine)
                _, current = staff.call("GET", f"/api/v1/bookings/{trip_id}")
                body = {k: current[k] for k in template if k in current}
                body.update(cargo=template["cargo"], submit_anyway=True,
                            window_start=current["window_start"],
                            window_end=current["window_end"],
                            waybill_no=f"{current['waybill_no']}-a")
                self.timed("booking_amend", staff, "PUT", f"/api/v1/bookings/{trip_id}", body)
            elif roll < 0.92:
                status, board = self.timed("dispatch_board", dispatch, "GET", "/api/v1/lot")
                queued = [q for p in (board or {}).get("plants", []) for q in p["queue"]
                          if q.get("status") in ("waiting", "held")]
                if queued:
                    q = rng.choice(queued)
                    action = "unhold" if q["status"] == "held" else "hold"
                    self.timed("dispatch_hold", dispatch, "POST",
                               f"/api/v1/lot/trips/{q['trip_id']}/{action}",
                               {"reason": "负载测试"}, fair=(409,))
            else:
                query = rng.choice([{"plate": rng.choice(plates)}, {"decision": "DENY"},
                                    {"action": "trip.*"}, {"reason": "NO_BOOKING_IN_WINDOW"}])
                path = "/api/v1/audit/" + ("passages" if "decision" in query or "reason"
                                           in query else "events")
                self.timed("audit_query", auditor, "GET",
                           f"{path}?{urllib.parse.urlencode(query)}&limit=50")


def _iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(epoch))


class Listener(threading.Thread):
    """One SSE client on a few lanes, as a page's EventSource: it retries a 503 after
    its Retry-After, and records the passage ids it is told about. A stream that does
    not open, or goes silent past the server's heartbeat, is an error (`failed`), not
    a count of missed events."""

    CONNECT_S = 60.0
    SILENCE_S = 40.0  # the server sends a heartbeat every 15 s

    def __init__(self, port: int, token: str, lanes: list[str]) -> None:
        super().__init__(daemon=True)
        self.port, self.token, self.lanes = port, token, lanes
        self.seen: list[int] = []
        self.open = threading.Event()
        self.stop = threading.Event()
        self.refused = 0
        self.failed: str | None = None

    def run(self) -> None:
        try:
            response = self._connect()
            if response is not None:
                self._read(response)
        except Exception as exc:  # noqa: BLE001 - reported by the bench, loudly
            self.failed = f"{type(exc).__name__}: {exc}"
        finally:
            self.open.set()

    def _connect(self) -> Any:
        channels = ",".join(f"lane:{lane}" for lane in self.lanes)
        deadline = time.monotonic() + self.CONNECT_S
        while time.monotonic() < deadline:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.SILENCE_S)
            conn.request("GET", f"/events?channels={urllib.parse.quote(channels)}",
                         headers={"Authorization": f"Bearer {self.token}"})
            response = conn.getresponse()
            if response.status == 200:
                return response
            response.read()
            conn.close()
            if response.status != 503:
                self.failed = f"/events answered {response.status}"
                return None
            self.refused += 1
            time.sleep(float(response.headers.get("Retry-After", "1")))
        self.failed = f"no stream within {self.CONNECT_S:.0f} s ({self.refused} refusals)"
        return None

    def _read(self, response: Any) -> None:
        while not self.stop.is_set():
            line = response.fp.readline()  # a timeout ends the stream: it went silent
            if not line:
                if not self.stop.is_set():
                    self.failed = "the server closed the stream"
                return
            text = line.decode().rstrip("\n")
            if text.startswith(": connected"):
                self.open.set()
            elif text.startswith("data: "):
                event = json.loads(text[6:])
                if event["type"] == "passage":
                    self.seen.append(event["data"]["passage_id"])


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1) if ordered else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--threads", type=int, default=12)
    parser.add_argument("--sse", type=int, default=50)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    process, env, port, drop = start(args.workers)
    try:
        tokens = {u: cli(env, "tokens", "issue", "--user", u, "--name", f"load {u}")
                  for u in ("admin", "gate", "e01", "dispatch", "auditor")}
        add_lanes(Client(port, tokens["admin"]))
        staff = Client(port, tokens["e01"])
        _, listing = staff.call("GET", "/api/v1/bookings?limit=200")
        t = next(b for b in listing["items"] if b["cargo"] and b["category"] == "hazmat")
        template = {k: t[k] for k in ("plant_id", "vehicle_id", "trailer_id", "driver_id",
                                      "escort_id", "category", "waybill_consignee")}
        template.update(submit_anyway=True, cargo=[
            {"un_number": c["un_number"], "quantity": c["quantity"], "unit": c["unit"]}
            for c in t["cargo"]])
        _, vehicles = Client(port, tokens["admin"]).call("GET", "/api/v1/vehicles?per_page=200")
        plates = [v["plate"] for v in vehicles["items"]]

        listeners = [Listener(port, tokens["gate"], random.Random(i).sample(LANES, 3))
                     for i in range(args.sse)]
        for listener in listeners:
            listener.start()
        for listener in listeners:
            listener.open.wait(Listener.CONNECT_S + 5)
        unopened = [li.failed for li in listeners if li.failed]
        if unopened:
            raise SystemExit(f"{len(unopened)} of {len(listeners)} SSE clients could not "
                             f"open a stream: {sorted(set(unopened))}")
        load = Load(port, tokens, args.seconds)
        threads = [threading.Thread(target=load.worker, args=(i, template, plates))
                   for i in range(args.threads)]
        began = time.perf_counter()
        for thread in threads:
            thread.start()
        time.sleep(args.seconds)
        load.stop.set()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - began
        time.sleep(3)  # let the last live events arrive
        for listener in listeners:
            listener.stop.set()

        # Lost / duplicated, from the database and the streams.
        import psycopg

        dsn = env["DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(dsn) as conn:
            stored_reads = {r[0]: r[1] for r in conn.execute(
                "SELECT read_id, passage_id FROM passage_reads WHERE read_id LIKE 'ld-%'")}
            passages_per_read = conn.execute(
                "SELECT count(*) FROM (SELECT read_id FROM passages WHERE read_id LIKE 'ld-%' "
                "GROUP BY read_id HAVING count(*) > 1) d").fetchone()[0]
            trips = conn.execute(
                "SELECT client_key, count(*) FROM trips WHERE client_key LIKE 'ld-book-%' "
                "GROUP BY client_key").fetchall()
            book_events = conn.execute(
                "SELECT count(*) FROM audit_events WHERE action = 'trip.book' AND trip_id = ANY(%s)",
                (list(load.bookings.values()),)).fetchone()[0]
        lost_reads = sum(1 for rid, (_, pid) in load.reads.items()
                         if stored_reads.get(rid) != pid)
        stored_keys = {k for k, _ in trips}
        lost_bookings = sum(1 for k in load.bookings if k not in stored_keys)
        dup_bookings = sum(c - 1 for _, c in trips) + max(0, book_events - len(load.bookings))
        by_lane: dict[str, set[int]] = defaultdict(set)
        for lane, pid in load.reads.values():
            by_lane[lane].add(pid)
        broken = [li.failed for li in listeners if li.failed]
        sse_lost = sse_dup = sse_events = 0
        for listener in listeners:
            expected = set().union(*(by_lane[lane] for lane in listener.lanes))
            sse_events += len(listener.seen)
            sse_dup += len(listener.seen) - len(set(listener.seen))
            sse_lost += len(expected - set(listener.seen))
        lost = lost_reads + lost_bookings + sse_lost
        duplicated = passages_per_read + dup_bookings + sse_dup
        ops = sum(len(v) for v in load.latencies.values())
        print(f"{args.seconds:.0f} s, {args.threads} client threads, {args.workers} gunicorn "
              f"workers, {args.sse} SSE clients: {ops} operations = {ops / elapsed:.1f}/s")
        for op, values in sorted(load.latencies.items()):
            print(f"  {op:<15} n={len(values):>5}  p50 {statistics.median(values):7.1f} ms  "
                  f"p99 {percentile(values, 0.99):7.1f} ms")
        print(f"  errors {len(load.errors)} {load.errors[:3]}")
        print(f"  reads acknowledged {len(load.reads)}, lost {lost_reads}, stored twice "
              f"{passages_per_read}; bookings {len(load.bookings)}, lost {lost_bookings}, "
              f"twice {dup_bookings}; SSE events {sse_events}, missed {sse_lost}, twice {sse_dup}")
        print(json.dumps({
            "bench": "load", "seconds": round(elapsed, 1), "ops_per_s": round(ops / elapsed, 1),
            "ops": ops, "p50_ms": {op: round(statistics.median(v), 1)
                                   for op, v in load.latencies.items()},
            "p99_ms": {op: percentile(v, 0.99) for op, v in load.latencies.items()},
            "errors": len(load.errors), "lost": lost, "duplicated": duplicated,
            "reads": len(load.reads), "bookings": len(load.bookings),
            "sse_clients": args.sse, "sse_events": sse_events, "sse_missed": sse_lost,
            "sse_refused_then_retried": sum(li.refused for li in listeners),
            "sse_failed": len(broken),
            "workers": args.workers, "client_threads": args.threads}))
        if broken:
            raise SystemExit(f"{len(broken)} SSE streams broke during the run: "
                             f"{sorted(set(broken))}")
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        drop()


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
