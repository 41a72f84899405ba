"""Camera pushes: how long each vendor format takes to parse, and a push end to end
(HTTP in, Digest checked, decided, stored, answered) through the app in-process on
an embedded SQLite database.

    python bench/camera_push.py [--rounds 300]

Parse figures are the median over `rounds` of one parse; push figures are per request
(a GA/T 1400 batch of 10 objects is also given per object). Payloads are the tests'
fixtures (tests/vendor_payloads.py), shaped as the devices send them.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def median_ms(fn: Callable[[], Any], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(times), 3)


def parse_figures(rounds: int) -> dict[str, float]:
    from camera_adapters import gat1400
    from camera_adapters.vendors import parse
    from tests.vendor_payloads import (
        dahua_events,
        dahua_picture,
        dahua_rpc2,
        gat1400_vehicles,
        hik_multipart,
        hik_xml,
    )

    gb = hik_xml().decode().replace('encoding="UTF-8"', 'encoding="GB2312"').encode("gb2312")
    multipart, multipart_type = hik_multipart(hik_xml(pictures=[("licensePlatePicture", "p1")]),
                                              picture_name="p1",
                                              picture_type="application/octet-stream")
    batch = gat1400_vehicles([(f"苏A{n:05d}", 5) for n in range(10)])
    cases: dict[str, Callable[[], Any]] = {
        "hikvision_xml": lambda: parse("hikvision", hik_xml(), "application/xml"),
        "hikvision_xml_gb2312": lambda: parse("hikvision", gb, "application/xml"),
        "hikvision_multipart": lambda: parse("hikvision", multipart, multipart_type),
        "dahua_tollgate": lambda: parse("dahua", dahua_picture(), "application/json"),
        "dahua_events": lambda: parse("dahua", dahua_events(), "application/json"),
        "dahua_rpc2_batch10": lambda: parse("dahua", dahua_rpc2(
            [f"苏A{n:05d}" for n in range(10)]), "application/json"),
        "gat1400_batch10": lambda: gat1400.motor_vehicles(batch, "application/VIID+JSON"),
    }
    return {f"parse_{name}_ms": median_ms(fn, rounds) for name, fn in cases.items()}


def push_figures(rounds: int) -> dict[str, float]:
    from flask import Flask

    from gateway import cameras
    from kernel import clock
    from kernel.bus import InProcessBus
    from models import Camera
    from parkgate.app import create_app
    from parkgate.database import Database
    from parkgate.migrate import upgrade
    from tests.conftest import make_settings
    from tests.factories import make_world
    from tests.vendor_payloads import (
        dahua_picture,
        digest_post,
        gat1400_vehicles,
        hik_multipart,
        hik_xml,
    )

    folder = Path(tempfile.mkdtemp(prefix="parkgate-camerabench-"))
    url = f"sqlite:///{folder / 'bench.db'}"
    upgrade(url)
    database = Database(url)
    app: Flask = create_app(make_settings(database, folder), database=database,
                            bus=InProcessBus())
    client = app.test_client()
    world = make_world(database.session_factory)
    clock.unpin()
    with app.app_context(), database.session_factory() as s:
        for vendor, device, lane, user in (("dahua", "ITC-1", "P2-IN", "itc"),
                                           ("gat1400", "32010000001190000001", "P2-OUT",
                                            "viid")):
            s.add(Camera(vendor=vendor, device_id=device, lane_id=world.lanes[lane].id,
                         username=user, secret_cipher=cameras.secret_of(user, "Bench-Pass-1"),
                         created_at=clock.now()))
        s.commit()
    token = world.tokens["gate_operator"]
    counter = iter(range(10_000_000))

    def hikvision() -> None:
        body, kind = hik_multipart(hik_xml(plate="苏A88888", uuid=f"b-{next(counter)}"))
        r = client.post(f"/api/v1/lanes/P1-IN/anpr/hikvision?token={token}", data=body,
                        headers={"Content-Type": kind})
        assert r.status_code in (200, 201), r.data

    def dahua_itsapi() -> None:
        body = dahua_picture(plate="苏A88888", device="ITC-1", snap_id=str(next(counter)))
        r = digest_post(client, "/NotificationInfo/TollgateInfo", body, "itc", "Bench-Pass-1")
        assert r.status_code == 200, r.data

    def gat1400_batch() -> None:
        n = next(counter)
        body = gat1400_vehicles([(f"苏B{(n * 10 + i) % 100000:05d}", 5) for i in range(10)],
                                pass_time=f"202611220{(n // 60) % 10}{n % 60:02d}00")
        body = body.replace(b'"MotorVehicleID": "', f'"MotorVehicleID": "{n}-'.encode())
        r = digest_post(client, "/VIID/MotorVehicles", body, "viid", "Bench-Pass-1",
                        content_type="application/VIID+JSON")
        statuses = json.loads(r.data)["ResponseStatusListObject"]["ResponseStatusObject"]
        assert all(s["StatusCode"] == "0" for s in statuses), statuses

    pushes = max(rounds // 3, 30)
    figures = {"push_hikvision_multipart_ms": median_ms(hikvision, pushes),
               "push_dahua_itsapi_digest_ms": median_ms(dahua_itsapi, pushes)}
    batch_ms = median_ms(gat1400_batch, max(pushes // 5, 10))
    figures["push_gat1400_batch10_ms"] = batch_ms
    figures["push_gat1400_per_object_ms"] = round(batch_ms / 10, 3)
    figures["pushes"] = pushes
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=300)
    args = parser.parse_args()
    figures = {"rounds": args.rounds, **parse_figures(args.rounds), **push_figures(args.rounds)}
    for name, value in figures.items():
        print(f"{name:36} {value}")
    print(json.dumps({"bench": "camera_push", **figures}))


if __name__ == "__main__":
    main()
