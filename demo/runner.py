"""Bring up the embedded demo: a fresh SQLite park, the app, and the simulations."""

from __future__ import annotations

import logging
import os
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from kernel.bus import InProcessBus
from kernel.uow import unit_of_work
from parkgate.config import Settings
from parkgate.database import Database
from parkgate.migrate import upgrade

from .seed import DEMO_PASSWORDS, is_seeded, seed_demo

log = logging.getLogger(__name__)


@dataclass
class PreparedDemo:
    database: Database
    bus: InProcessBus
    device_tokens: dict[str, str]
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
        if self.device_tokens:
            lines.append("  device tokens (a gate agent's, one per lane):")
            lines.extend(f"    {lane:<7} {token}" for lane, token in sorted(self.device_tokens.items()))
        from .paths import camera_scenes

        lines.append(f"  camera    lane P2-IN: {camera_scenes()[1]}, through the plate reader "
                     "and a gate agent (gate booth: /booth/P2-IN)")
        lines.append("  camera    lane P2-OUT: a GA/T 1400 camera, registered with HTTP Digest, "
                     "uploads the vehicles leaving (cameras: /cameras)")
        lines.append("  trucks    booked by the enterprises, sent to the lot at P1-IN, released "
                     "as docks free (dispatcher board: /lot); the tank farm E01-TF and the "
                     "warehouse E05-WH call trucks forward from learned unloading times")
        lines.append("  audit     signed checkpoints (Merkle tree heads) every 5 min at /audit/verify, "
                     f"published to {os.environ.get('PARKGATE_WITNESS_DIR', 'nowhere')}; a trip's "
                     "timeline exports an "
                     "excerpt that `python -m audit.offline` proves row by row")
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
    prepared = PreparedDemo(database=database, bus=bus, device_tokens={})
    with unit_of_work(database.session_factory, bus) as uow:
        if not is_seeded(uow):
            seeded = seed_demo(uow, pii_key=settings.pii_key)
            prepared.device_tokens = seeded.device_tokens
            prepared.counts = seeded.counts
    return prepared


def serve_demo(settings: Settings, prepared: PreparedDemo, *, host: str, port: int) -> None:
    from werkzeug.serving import make_server

    from parkgate.app import create_app

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    _fast_forward()
    _publish_checkpoints(settings.instance_path)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # not every page load
    app = create_app(settings, database=prepared.database, bus=prepared.bus)
    server = make_server(host, port, app, threaded=True)
    prepared.url = f"http://127.0.0.1:{server.server_port}"
    prepared.instance_path = settings.instance_path
    for starter in _simulations():
        worker = starter(app, prepared)
        if worker is not None:
            prepared.background.append(worker)
    _device_tokens(app, prepared)
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


def _publish_checkpoints(instance: Path) -> None:
    """The demo signs a checkpoint every few minutes and publishes each to a folder of
    its own, as a park would to a witness outside its control."""
    import os

    os.environ.setdefault("PARKGATE_WITNESS_DIR", str((instance / "witness").resolve()))
    os.environ.setdefault("PARKGATE_CHECKPOINT_EVERY_MIN", "5")


def _fast_forward() -> None:
    """PARKGATE_DEMO_SPEED=30: the park's clock runs 30 times as fast as the wall clock
    (an hour of dwell limits, deadlines and windows in two minutes); the simulations
    keep their wall-clock pace."""
    import os

    from kernel import clock

    speed = float(os.environ.get("PARKGATE_DEMO_SPEED", "1") or 1)
    if speed != 1 and not clock.is_pinned():
        clock.pin(clock.now(), ticking=True, rate=speed)
        log.info("demo clock runs %.0f× as fast as the wall clock", speed)


def _start_scheduler(app: Any, prepared: PreparedDemo) -> Any:
    from parkgate.jobs import all_jobs
    from parkgate.scheduler import Scheduler

    scheduler = Scheduler(all_jobs(app))
    scheduler.start()
    return scheduler


def _device_tokens(app: Any, prepared: PreparedDemo) -> dict[str, str]:
    """The seeded agent tokens, or (a kept database: tokens are stored hashed) new ones,
    one per lane."""
    if prepared.device_tokens:
        return prepared.device_tokens
    from sqlalchemy import select

    from auth.principal import system_principal
    from auth.tokens import issue_token
    from models import Lane, User

    with unit_of_work(prepared.database.session_factory, prepared.bus) as uow:
        for lane in uow.session.scalars(select(Lane).where(Lane.retired_at.is_(None))):
            device = uow.session.scalar(select(User).where(
                User.username == f"device-{lane.code.lower()}"))
            if device is not None:
                prepared.device_tokens[lane.code] = issue_token(
                    uow, device, f"{lane.code} gate agent (restart)",
                    system_principal("demo").actor, lane_id=lane.id)
        uow.commit()
    assert "P2-IN" in prepared.device_tokens, "the demo park is not seeded"
    return prepared.device_tokens


def _start_camera(app: Any, prepared: PreparedDemo) -> Any:
    import os

    from .camera import SimulatedLane

    if os.environ.get("PARKGATE_DEMO_CAMERA", "1") == "0":
        return None
    interval = float(os.environ.get("PARKGATE_DEMO_CAMERA_INTERVAL", "8"))
    return SimulatedLane(prepared.url, _device_tokens(app, prepared)["P2-IN"], "P2-IN",
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
    # Vehicles stay a few camera intervals, so each has left before the entry camera's
    # scenes come round to its plate again (no anti-passback refusals by construction).
    interval = float(os.environ.get("PARKGATE_DEMO_CAMERA_INTERVAL", "8"))
    return SimulatedViidCamera(prepared.url, prepared.database.session_factory,
                               stay_s=4 * interval, interval_s=max(1.0, interval)).start()


def _simulations() -> list[Any]:
    """The demo's moving parts; each starter returns an object with stop() (or None)."""
    return [_start_scheduler, _start_camera, _start_viid_camera, _start_trucks]
