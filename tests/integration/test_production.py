"""The production topology as scripts/prod.sh starts it (gunicorn with four workers,
the scheduler, a gate agent with the simulated camera) against PostgreSQL and a Redis
of its own (so the test may stop and restart it): ready, measured, live pages fed
exactly once across workers, and faults it recovers from without losing or doubling
a read or a booking."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests import ROOT

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.xdist_group("topology")]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrivatePostgres:
    """A PostgreSQL cluster of the test's own (initdb, a free port), so the fault test
    may restart it without touching the machine's shared server."""

    def __init__(self) -> None:
        import glob
        import tempfile

        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
        if not bins or os.geteuid() != 0:
            from tests.services import unavailable

            unavailable("a private PostgreSQL cluster", RuntimeError(
                "needs the server binaries and root (to run them as the postgres user)"))
        self.bin = Path(bins[-1])
        self.base = Path(tempfile.mkdtemp(prefix="parkgate-pg-"))
        self.port = _free_port()
        os.chmod(self.base, 0o755)
        subprocess.run(["chown", "postgres", str(self.base)], check=True)
        self._as_postgres("initdb", "-D", str(self.base / "data"), "-A", "trust",
                          "-U", "postgres", "--no-sync")
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/parkgate"
        self.start()

    def _as_postgres(self, tool: str, *args: str) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", str(self.bin / tool), *args],
                       check=True, capture_output=True)

    def start(self) -> None:
        self._as_postgres("pg_ctl", "-D", str(self.base / "data"), "-l",
                          str(self.base / "log"), "-w", "-o",
                          f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 "
                          "-c fsync=off", "start")

    def restart(self) -> None:
        # Stop and start rather than `pg_ctl restart`, which forgets the log file and
        # would leave the server writing to (and holding open) our captured pipe.
        self._as_postgres("pg_ctl", "-D", str(self.base / "data"), "-m", "fast", "-w",
                          "stop")
        self.start()

    def stop(self) -> None:
        self._as_postgres("pg_ctl", "-D", str(self.base / "data"), "-m", "immediate",
                          "stop")


@dataclass
class Topology:
    url: str
    env: dict[str, str]
    process: subprocess.Popen[str]
    redis_port: int
    redis: subprocess.Popen[bytes] | None = None
    postgres: PrivatePostgres | None = None
    instance: Path | None = None
    tokens: dict[str, str] = field(default_factory=dict)

    def start_redis(self) -> None:
        self.redis = subprocess.Popen(
            ["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL)
        _wait(lambda: _port_open(self.redis_port), 10, "redis-server")

    def stop_redis(self) -> None:
        assert self.redis is not None
        self.redis.terminate()
        self.redis.wait(10)

    def cli(self, *args: str) -> str:
        out = subprocess.run([str(ROOT / ".venv/bin/python"), "-m", "parkgate.cli", *args],
                             env=self.env, capture_output=True, text=True, check=True)
        return out.stdout.strip()

    def token(self, user: str) -> str:
        if user not in self.tokens:
            self.tokens[user] = self.cli("tokens", "issue", "--user", user, "--name",
                                         f"test {user}").splitlines()[-1]
        return self.tokens[user]

    def workers(self) -> list[int]:
        """Pids of the gunicorn workers (children of the gunicorn master)."""
        parents: dict[int, int] = {}
        names: dict[int, str] = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
            names[int(entry.name)] = cmd
        tree = {self.process.pid}
        for _ in range(4):
            tree |= {pid for pid, ppid in parents.items() if ppid in tree}
        masters = [pid for pid in tree if "gunicorn" in names.get(pid, "")
                   and "gunicorn" not in names.get(parents[pid], "")]
        return [pid for pid, ppid in parents.items() if ppid in masters]


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def _wait(check: Any, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.25)
    pytest.fail(f"{what} not ready within {seconds} s")


def _iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(epoch))


def call(top: Topology, method: str, path: str, body: Any = None, *, token: str | None = None,
         retries: int = 0, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    """One HTTP call on a fresh connection (so the kernel hands it to any worker);
    retried on a dropped connection, as the agent and clients do (reads and bookings
    are idempotent on their ids)."""
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json", "Accept": "application/json",
               **(headers or {})}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    for attempt in range(retries + 1):
        request = urllib.request.Request(top.url + path, data=data, method=method,
                                         headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            if error.code in (502, 503) and attempt < retries:
                time.sleep(0.5)
                continue
            return error.code, json.loads(error.read() or b"null")
        except (ConnectionError, urllib.error.URLError, TimeoutError):
            if attempt == retries:
                raise
            time.sleep(0.5)
    raise AssertionError("unreachable")


@pytest.fixture(scope="module")
def topology(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Topology]:
    postgres = PrivatePostgres()
    database_url = postgres.url
    port, redis_port = _free_port(), _free_port()
    instance = tmp_path_factory.mktemp("prod-instance")
    env = {**os.environ, "DATABASE_URL": database_url,
           "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
           "PARKGATE_INSTANCE": str(instance), "PARKGATE_BIND": f"127.0.0.1:{port}",
           "PARKGATE_WORKERS": "4", "PARKGATE_THREADS": "8", "PARKGATE_AGENT_INTERVAL": "1",
           "PARKGATE_OCR_THREADS": "1", "PARKGATE_LOG_LEVEL": "WARNING"}
    top = Topology(f"http://127.0.0.1:{port}", env, None, redis_port,  # type: ignore[arg-type]
                   postgres=postgres, instance=instance)
    top.start_redis()
    log = (instance / "prod.log").open("w")
    top.process = subprocess.Popen(["bash", str(ROOT / "scripts/prod.sh"), "--seed-demo"],
                                   env=env, stdout=log, stderr=subprocess.STDOUT, text=True,
                                   start_new_session=True)
    try:
        _wait(lambda: top.process.poll() is None and _ready(top), 300, "the topology")
        yield top
    finally:
        if top.process.poll() is None:
            os.killpg(top.process.pid, signal.SIGTERM)
            try:
                top.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(top.process.pid, signal.SIGKILL)
        if top.redis is not None and top.redis.poll() is None:
            top.redis.kill()
        log.close()
        postgres.stop()
        import shutil

        shutil.rmtree(postgres.base, ignore_errors=True)


def _ready(top: Topology) -> bool:
    try:
        return call(top, "GET", "/readyz")[0] == 200
    except OSError:
        return False


def test_it_starts_from_one_command_and_reports_its_health(topology):
    status, body = call(topology, "GET", "/readyz")
    assert status == 200 and body["checks"] == {"database": "ok", "redis": "ok"}
    assert len(topology.workers()) == 4

    def agent_decided() -> bool:
        with urllib.request.urlopen(topology.url + "/metrics") as response:
            text = response.read().decode()
        return "parkgate_gate_decisions_total{" in text

    _wait(agent_decided, 60, "the gate agent's first decision")  # the simulated camera


SENTINEL = "苏E79999"  # a last read, after the 40: the page has seen all once it sees this


def test_a_live_page_gets_every_event_exactly_once_whichever_worker_wrote_it(topology):
    token = topology.token("gate")
    received: list[int] = []
    opened = threading.Event()

    def listen() -> None:
        request = urllib.request.Request(topology.url + "/events?channels=lane:P1-IN",
                                         headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(request, timeout=60) as stream:
            for raw in stream:
                line = raw.decode().rstrip("\n")
                if line.startswith(": connected"):
                    opened.set()
                if line.startswith("data: "):
                    event = json.loads(line[6:])
                    if event["type"] != "passage":
                        continue
                    if event["data"]["plate"] == SENTINEL:
                        return  # the lane's events come in order: anything doubled came first
                    received.append(event["data"]["passage_id"])

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    assert opened.wait(10)  # subscribed before the stream's first line is sent
    posted = []
    for n in range(40):
        status, body = call(topology, "POST", "/api/v1/lanes/P1-IN/reads", {
            "read_id": f"sse-{n}", "plate": f"苏E{70000 + n}", "plate_colour": "blue",
            "confidence": 0.97, "seen_at": time.strftime("%Y-%m-%dT%H:%M:%S+00:00",
                                                        time.gmtime())}, token=token)
        assert status == 201, body
        posted.append(body["id"])
    status, body = call(topology, "POST", "/api/v1/lanes/P1-IN/reads", {
        "read_id": "sse-end", "plate": SENTINEL, "plate_colour": "blue", "confidence": 0.97,
        "seen_at": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())}, token=token)
    assert status == 201, body
    listener.join(30)
    assert not listener.is_alive(), "the closing read never reached the page"
    assert sorted(received) == sorted(posted)  # every one, none twice


def test_faults_lose_nothing_and_double_nothing(topology):
    """A worker killed mid-stream, Redis stopped and restarted, PostgreSQL restarted:
    every read and every booking is stored exactly once (the gate agent's too: it
    decides alone while the centre cannot answer, then replays), and the audit chain
    verifies."""
    gate, logistics = topology.token("gate"), topology.token("e01")
    auditor = topology.token("auditor")
    reads: dict[str, int] = {}
    errors: list[Any] = []

    def post_read(n: int) -> None:
        status, body = call(topology, "POST", "/api/v1/lanes/P1-IN/reads", {
            "read_id": f"fault-{n}", "plate": f"苏F{80000 + n}", "plate_colour": "blue",
            "confidence": 0.97, "seen_at": time.strftime("%Y-%m-%dT%H:%M:%S+00:00",
                                                        time.gmtime())},
            token=gate, retries=20)
        if status not in (200, 201):
            errors.append((n, status, body))
        else:
            reads[f"fault-{n}"] = body["id"]

    _, listing = call(topology, "GET", "/api/v1/bookings?limit=100", token=logistics)
    template = next(b for b in listing["items"] if b["cargo"] and b["category"] == "hazmat")
    booked: dict[str, int] = {}

    def post_booking(n: int) -> None:
        # A week out, a day apart: one vehicle, trips that never overlap.
        start = time.time() + (7 + n) * 86400
        body = {k: template[k] for k in ("plant_id", "vehicle_id", "trailer_id", "driver_id",
                                          "escort_id", "category", "waybill_consignee")}
        body.update(window_start=_iso(start), window_end=_iso(start + 4 * 3600),
                    waybill_no=f"FAULT-{n}", submit_anyway=True,
                    cargo=[{"un_number": c["un_number"], "quantity": c["quantity"],
                            "unit": c["unit"]} for c in template["cargo"]])
        status, answer = call(topology, "POST", "/api/v1/bookings", body, token=logistics,
                              retries=20, headers={"Idempotency-Key": f"fault-{n}"})
        if status not in (200, 201):
            errors.append(("booking", n, status, answer))
        else:
            booked[f"fault-{n}"] = answer["id"]

    workers = topology.workers()
    for n in range(20):
        post_read(n)
        if n % 2 == 0:
            post_booking(n // 2)
        if n == 5:
            os.kill(workers[0], signal.SIGKILL)  # mid-stream; gunicorn starts another
        if n == 10:
            topology.stop_redis()
        if n == 15:
            topology.start_redis()
        if n == 17:
            assert topology.postgres is not None
            topology.postgres.restart()
    _wait(lambda: len(topology.workers()) == 4, 30, "the replacement worker")
    _wait(lambda: _ready(topology), 30, "readiness after Redis came back")
    assert errors == []
    # Replays (a retried read after a dropped connection) return the first answer.
    for read_id, passage_id in list(reads.items())[:5]:
        n = int(read_id.split("-")[1])
        status, body = call(topology, "POST", "/api/v1/lanes/P1-IN/reads", {
            "read_id": read_id, "plate": f"苏F{80000 + n}", "plate_colour": "blue",
            "confidence": 0.5, "seen_at": "2026-01-01T00:00:00+00:00"}, token=gate, retries=20)
        assert status == 200 and body["id"] == passage_id and body["replayed"] is True
    # After PostgreSQL's restart a worker's first request may be a 503 (its pool was
    # dropped): clients retry, and so do these.
    status, page = call(topology, "GET", "/api/v1/audit/passages?limit=500&lane_id="
                        + str(_lane_id(topology, "P1-IN")), token=auditor, retries=20)
    ours = [p for p in page["items"] if (p["plate"] or "").startswith("苏F8")]
    assert len(ours) == 20 and len({p["plate"] for p in ours}) == 20
    _, listing = call(topology, "GET", "/api/v1/bookings?limit=500", token=logistics,
                      retries=20)
    fault_bookings = [b for b in listing["items"] if (b["waybill_no"] or "").startswith("FAULT-")]
    assert sorted(b["waybill_no"] for b in fault_bookings) == sorted(
        f"FAULT-{n}" for n in range(10))  # each once
    assert sorted(b["id"] for b in fault_bookings) == sorted(booked.values())
    _agent_replayed_everything(topology)
    status, chain = call(topology, "GET", "/api/v1/audit/verify", token=auditor, retries=20)
    assert chain["ok"] is True, chain


def _lane_id(top: Topology, code: str) -> int:
    status, body = call(top, "GET", f"/api/v1/lanes?q={code}", token=top.token("admin"),
                        retries=20)
    assert status == 200, (status, body)
    return next(item["id"] for item in body["items"] if item["code"] == code)


def _agent_replayed_everything(top: Topology) -> None:
    """The agent's outbox drains, and each read it took is in the centre exactly once."""
    import sqlite3

    import psycopg

    assert top.instance is not None and top.postgres is not None
    outbox = top.instance / "agent-p2-in" / "outbox.sqlite3"

    def pending() -> int:
        with sqlite3.connect(f"file:{outbox}?mode=ro", uri=True) as db:
            return db.execute("SELECT count(*) FROM outbox WHERE sent_at IS NULL").fetchone()[0]

    _wait(lambda: pending() == 0, 60, "the agent's replay")
    with sqlite3.connect(f"file:{outbox}?mode=ro", uri=True) as db:
        taken = [r[0] for r in db.execute("SELECT read_id FROM outbox")]
    assert taken  # the simulated camera kept reading throughout
    with psycopg.connect(top.postgres.url) as conn:
        stored = dict(conn.execute("SELECT read_id, count(*) FROM passage_reads "
                                   "WHERE read_id = ANY(%s) GROUP BY read_id", (taken,)).fetchall())
    assert set(stored) == set(taken) and set(stored.values()) == {1}
