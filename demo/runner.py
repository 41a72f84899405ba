"""Bring up the embedded demo: a fresh SQLite park, the app, and the simulations."""

from __future__ import annotations

import logging
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from parkgate.bus import InProcessBus
from parkgate.config import Settings
from parkgate.database import Database
from parkgate.migrate import upgrade
from parkgate.uow import unit_of_work

from .seed import DEMO_PASSWORDS, is_seeded, seed_demo

log = logging.getLogger(__name__)


@dataclass
class PreparedDemo:
    database: Database
    bus: InProcessBus
    device_token: str | None
    counts: dict[str, int] = field(default_factory=dict)
    background: list[Any] = field(default_factory=list)
    url: str = ""
    instance_path: Path = Path("instance")

    def banner(self, host: str, port: int) -> str:
        lines = [
            "",
            "ParkGate demo park 滨江化工园区（演示）",
            f"  open      http://{host}:{port}/",
            f"  database  {self.database.url}",
            "  sign in as (username / password):",
        ]
        for username, (password, display, roles) in DEMO_PASSWORDS.items():
            lines.append(f"    {username:<9} / {password:<9} {display}  [{', '.join(roles)}]")
        if self.device_token:
            lines.append(f"  device token for lane P2-IN: {self.device_token}")
        from .paths import camera_scenes

        lines.append(f"  camera    lane P2-IN: {camera_scenes()[1]}, through the plate reader "
                     "and a gate agent (gate booth: /booth/P2-IN)")
        lines.append("  camera    lane P2-OUT: a GA/T 1400 camera, registered with HTTP Digest, "
                     "uploads the vehicles leaving (cameras: /cameras)")
        lines.append("  trucks    booked by the enterprises, sent to the lot at P1-IN, released "
                     "as docks free (dispatcher board: /lot)")
        if self.counts:
            lines.append("  seeded: " + ", ".join(f"{k}={v}" for k, v in self.counts.items()))
        lines.append("")
        return "\n".join(lines)


def _reset_sqlite(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return
    path = Path(parsed.database)
    for suffix in ("", "-wal", "-shm"):
        candidate = path.with_name(path.name + suffix)
        if candidate.exists():
            candidate.unlink()
    path.parent.mkdir(parents=True, exist_ok=True)


def prepare_demo(settings: Settings, *, keep: bool = False) -> PreparedDemo:
    if not keep:
        _reset_sqlite(settings.database_url)
        # A fresh park: an old run's unsent camera reads must not replay into it.
        shutil.rmtree(settings.instance_path / "demo-agent-P2-IN", ignore_errors=True)
    upgrade(settings.database_url)
    database = Database(settings.database_url)
    bus = InProcessBus()
    prepared = PreparedDemo(database=database, bus=bus, device_token=None)
    with unit_of_work(database.session_factory, bus) as uow:
        if not is_seeded(uow):
            seeded = seed_demo(uow, pii_key=settings.pii_key)
            prepared.device_token = seeded.device_token
            prepared.counts = seeded.counts
    return prepared


def serve_demo(settings: Settings, prepared: PreparedDemo, *, host: str, port: int) -> None:
    from werkzeug.serving import make_server

    from parkgate.app import create_app

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # not every page load
    app = create_app(settings, database=prepared.database, bus=prepared.bus)
    server = make_server(host, port, app, threaded=True)
    prepared.url = f"http://127.0.0.1:{server.server_port}"
    prepared.instance_path = settings.instance_path
    for starter in _simulations():
        worker = starter(app, prepared)
        if worker is not None:
            prepared.background.append(worker)
    print(prepared.banner(host, port), flush=True)
    stop = threading.Event()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        for worker in prepared.background:
            stopper = getattr(worker, "stop", None)
            if stopper:
                stopper()
        server.server_close()


def _start_scheduler(app: Any, prepared: PreparedDemo) -> Any:
    from parkgate.jobs import all_jobs
    from parkgate.scheduler import Scheduler

    scheduler = Scheduler(all_jobs(app))
    scheduler.start()
    return scheduler


def _device_token(app: Any, prepared: PreparedDemo) -> str:
    """The seeded agent token, or (a kept database: tokens are stored hashed) a new one."""
    if prepared.device_token:
        return prepared.device_token
    from sqlalchemy import select

    from auth.principal import system_principal
    from auth.tokens import issue_token
    from models import Lane, User

    with unit_of_work(prepared.database.session_factory, prepared.bus) as uow:
        device = uow.session.scalar(select(User).where(User.username == "device-p2-in"))
        lane = uow.session.scalar(select(Lane).where(Lane.code == "P2-IN"))
        assert device is not None and lane is not None, "the demo park is not seeded"
        token = issue_token(uow, device, "P2-IN gate agent (restart)",
                            system_principal("demo").actor, lane_id=lane.id)
        uow.commit()
    prepared.device_token = token
    return token


def _start_camera(app: Any, prepared: PreparedDemo) -> Any:
    import os

    from .camera import SimulatedLane

    if os.environ.get("PARKGATE_DEMO_CAMERA", "1") == "0":
        return None
    interval = float(os.environ.get("PARKGATE_DEMO_CAMERA_INTERVAL", "8"))
    return SimulatedLane(prepared.url, _device_token(app, prepared), "P2-IN",
                         prepared.instance_path / "demo-agent-P2-IN",
                         interval_s=interval).start()


def _start_trucks(app: Any, prepared: PreparedDemo) -> Any:
    import os

    from .trucks import TruckTraffic

    if os.environ.get("PARKGATE_DEMO_TRUCKS", "1") == "0":
        return None
    return TruckTraffic(prepared.database.session_factory, prepared.bus,
                        app.extensions["parkgate.gate"],
                        interval_s=float(os.environ.get("PARKGATE_DEMO_TRUCK_INTERVAL", "30")),
                        unload_s=float(os.environ.get("PARKGATE_DEMO_UNLOAD_S", "120"))).start()


def _start_viid_camera(app: Any, prepared: PreparedDemo) -> Any:
    import os

    from .viid_camera import SimulatedViidCamera

    if os.environ.get("PARKGATE_DEMO_CAMERA", "1") == "0":
        return None
    return SimulatedViidCamera(prepared.url, prepared.database.session_factory).start()


def _simulations() -> list[Any]:
    """The demo's moving parts; each starter returns an object with stop() (or None)."""
    return [_start_scheduler, _start_camera, _start_viid_camera, _start_trucks]
