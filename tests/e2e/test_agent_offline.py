"""The gate agent keeps working when the centre goes away, and nothing is lost or
counted twice when it comes back (issue: the gate, item 5)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from audit.service import verify_chain
from camera_adapters.plate_read import PlateRead
from gateway.agent.client import CentreClient
from gateway.agent.runner import Agent
from gateway.devices import SimulatedController
from models import FixedRegistration, Lane, Passage, PassageRead
from tests import ROOT
from tests.conftest import PG_PARAM, _sqlite_database, _truncate_all
from tests.factories import PII_KEY, book, make_world


@pytest.fixture(params=["sqlite", PG_PARAM])
def database(request, tmp_path, sqlite_template):  # type: ignore[no-untyped-def]
    from parkgate.database import Database

    if request.param == "sqlite":
        db = _sqlite_database(sqlite_template, tmp_path)
    else:
        db = Database(request.getfixturevalue("postgres_url"))
        _truncate_all(db)
    yield db
    db.dispose()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Centre:
    """The centre as a separate process that can be killed and brought back."""

    def __init__(self, url: str, instance: Path, port: int) -> None:
        self.url, self.instance, self.port = url, instance, port
        self.process: subprocess.Popen[str] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        code = ("from werkzeug.serving import run_simple\n"
                "from parkgate.app import create_app\n"
                f"run_simple('127.0.0.1', {self.port}, create_app(), threaded=True)\n")
        env = {**os.environ, "DATABASE_URL": self.url, "PARKGATE_INSTANCE": str(self.instance),
               "PARKGATE_PII_KEY": PII_KEY, "PARKGATE_SECRET_KEY": "agent-test",
               "PYTHONPATH": str(ROOT)}
        env.pop("REDIS_URL", None)
        # Its request log goes to a file: an unread pipe fills and then blocks the server.
        self.instance.mkdir(parents=True, exist_ok=True)
        self.log = self.instance / "centre.log"
        with self.log.open("a", encoding="utf-8") as output:
            self.process = subprocess.Popen([sys.executable, "-c", code], env=env, cwd=ROOT,
                                            stdout=subprocess.DEVNULL, stderr=output, text=True)
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.base}/healthz", timeout=1):
                    return
            except OSError:
                if self.process.poll() is not None:
                    raise RuntimeError(self.log.read_text(encoding="utf-8")[-5000:]) from None
                time.sleep(0.1)
        raise RuntimeError("centre did not start")

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=10)


def test_agent_decides_offline_and_replays_in_order_exactly_once(database, session_factory,
                                                                  tmp_path):
    world = make_world(session_factory, now=datetime.now(UTC))
    book(session_factory, world, start=datetime.now(UTC) - timedelta(minutes=30))
    today = datetime.now(UTC).date()
    with session_factory() as s:
        s.add(FixedRegistration(vehicle_id=world.vehicles["car"].id,
                                enterprise_id=world.enterprises["E1"].id,
                                valid_from=today - timedelta(days=1),
                                valid_until=today + timedelta(days=30)))
        # Every read is its own passage: folding is tested elsewhere.
        lane = s.get(Lane, world.lanes["P1-IN"].id)
        lane.fold_window_s = 0
        lane.gate.admits = ["hazmat", "hazwaste", "goods", "small"]
        s.commit()
    from kernel import clock

    clock.unpin()  # the centre runs on real time; so does the agent
    centre = Centre(database.url, tmp_path / "instance", free_port())
    centre.start()
    barrier = SimulatedController()
    agent = Agent(CentreClient(centre.base, world.tokens["device"], timeout_s=20.0), "P1-IN",
                  tmp_path / "agent", controller=barrier, refresh_s=3600,
                  replay_backoff_s=0.2).start()
    sequence = [("苏E12345", "yellow"), ("京A00001", "blue"), ("京A00002", "blue"),
                ("京A00003", "blue"),  # online
                ("苏A88888", "blue"), ("京A00001", "blue"), ("苏E12345", "yellow"),
                ("苏A88888", "blue"), ("京A00002", "blue"),  # centre down
                ("京A00004", "blue"), ("京A00005", "blue"), ("京A00006", "blue")]  # back
    reads = [PlateRead(lane="P1-IN", plate=plate, colour=colour, confidence=0.97,
                       seen_at=datetime.now(UTC), read_id=f"P1-IN-{i:03d}",
                       trailer_plate="苏E1234挂" if colour == "yellow" else None,
                       trailer_confidence=0.95 if colour == "yellow" else None)
             for i, (plate, colour) in enumerate(sequence)]
    try:
        online = [agent.handle(r) for r in reads[:4]]
        assert [o.offline for o in online] == [False] * 4
        centre.kill()
        offline = [agent.handle(r) for r in reads[4:9]]
        assert all(o.offline for o in offline)
        # Fail secure: the booked (unreleased) hazmat truck is not let in offline (held for
        # its crew's papers, then the lot); the car with its standing pass is, once
        # (anti-passback holds offline too); strangers not.
        assert [o.action for o in offline] == ["OPEN", "DENY", "HOLD_FOR_OPERATOR", "DENY",
                                               "DENY"]
        assert offline[3].reasons == ["ANTI_PASSBACK"]
        assert agent.outbox.backlog() == 5
        centre.start()
        deadline = time.monotonic() + 180
        while agent.outbox.backlog() and time.monotonic() < deadline:
            agent.replay_once()
        assert agent.outbox.backlog() == 0
        after = [agent.handle(r) for r in reads[9:]]
        assert [o.offline for o in after] == [False] * 3
    finally:
        agent.stop()
        if centre.process and centre.process.poll() is None:
            centre.kill()

    with session_factory() as s:
        rows = s.execute(select(PassageRead.read_id, Passage.id, Passage.offline)
                         .join(Passage, Passage.id == PassageRead.passage_id)
                         .order_by(Passage.id)).all()
    assert [r.read_id for r in rows] == [r.read_id for r in reads]  # once each, in order
    assert [r.offline for r in rows] == [False] * 4 + [True] * 5 + [False] * 3
    assert verify_chain(database.engine).ok
    lifts = [c.lift for c in barrier.commands("P1-IN")]
    assert len(lifts) == 12
