"""The README's first command: the embedded demo comes up and every role signs in."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from demo.seed import DEMO_PASSWORDS
from tests.e2e.conftest import sign_in


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_demo(instance: Path, **env_extra: str) -> Iterator[str]:
    """The README's first command (parkgate demo) in a process of its own, until ready."""
    port = _free_port()
    env = {**os.environ, "PARKGATE_INSTANCE": str(instance),
           "PARKGATE_DEMO_CAMERA_INTERVAL": "1", "PARKGATE_OCR_THREADS": "1",
           "PARKGATE_DEMO_TRUCK_INTERVAL": "3", "PARKGATE_DEMO_UNLOAD_S": "5", **env_extra}
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    # Its output goes to a file, not a pipe: nobody reads a pipe while the test runs,
    # and once its buffer filled the demo blocked on its next log line, so pages stopped
    # loading minutes into a fast-forwarded run.
    log = instance / "demo.log"
    output = log.open("w", encoding="utf-8")
    process = subprocess.Popen(
        [sys.executable, "-m", "parkgate.cli", "demo", "--port", str(port)],
        env=env, stdout=output, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    try:
        while True:
            if process.poll() is not None:
                pytest.fail(f"demo exited early:\n{log.read_text(encoding='utf-8')[-5000:]}")
            try:
                with urllib.request.urlopen(f"{url}/readyz", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("demo did not become ready within 300 s")
                time.sleep(0.25)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        output.close()


@pytest.fixture(scope="module")
def demo_instance(tmp_path_factory) -> Path:  # type: ignore[no-untyped-def]
    return tmp_path_factory.mktemp("demo-instance")


@pytest.fixture(scope="module")
def demo_server(demo_instance: Path) -> Iterator[str]:
    with running_demo(demo_instance) as url:
        yield url


@pytest.mark.browser
@pytest.mark.parametrize("username", list(DEMO_PASSWORDS))
def test_every_demo_login_works(page, demo_server, username):
    password = DEMO_PASSWORDS[username][0]
    sign_in(page, demo_server, username, password)
    assert "/login" not in page.url, page.content()[:500]


@pytest.mark.browser
def test_demo_park_has_todays_trips(page, demo_server):
    sign_in(page, demo_server, "admin", DEMO_PASSWORDS["admin"][0])
    page.goto(f"{demo_server}/trips")
    rows = page.locator("#trips tbody tr")
    assert rows.count() > 50
    assert "危化品" in page.locator("#trips").inner_text()


@pytest.mark.browser
def test_the_simulated_camera_feeds_real_photos_to_a_lane(page, demo_server):
    from demo.paths import camera_labels

    photo_plates = {row["plate"] for row in camera_labels()}
    sign_in(page, demo_server, "gate", DEMO_PASSWORDS["gate"][0])
    page.goto(f"{demo_server}/booth/P2-IN")
    # The camera reads a photo every second; the booth shows each decision live.
    page.wait_for_selector("#current-plate", timeout=180_000)
    page.locator("#feed-table tbody tr[data-passage]").nth(1).wait_for(timeout=180_000)
    shown = page.locator("#current-plate").inner_text().strip()
    assert shown in photo_plates, shown  # read from the photo by the plate reader
    # A read from a whole scene (not a camera's crop) shows that scene, its plate outlined.
    import time

    deadline = time.monotonic() + 180
    with_scene = []
    while not with_scene and time.monotonic() < deadline:
        items = page.request.get(f"{demo_server}/api/v1/lanes/P2-IN/passages").json()["items"]
        with_scene = [p["id"] for p in items if p["scene"]]
        if not with_scene:
            page.wait_for_timeout(2000)
    assert with_scene, "no read at P2-IN carried its scene"
    page.goto(f"{demo_server}/booth/P2-IN?passage={with_scene[0]}")
    # The picture loads after the page: shown once the browser has decoded it. (Polled
    # from here: the pages' CSP forbids the string evaluation wait_for_function polls.)
    decoded = "(() => { const img = document.getElementById('current-scene');" \
              " return !!img && img.complete && img.naturalWidth > 0; })()"
    for _ in range(150):
        if page.evaluate(decoded):
            break
        page.wait_for_timeout(200)
    assert page.evaluate(decoded)


@pytest.mark.browser
def test_demo_trucks_book_queue_and_get_released(page, demo_server):
    """Trucks booked by the enterprises reach the lot and are released to their plants."""
    sign_in(page, demo_server, "dispatch", DEMO_PASSWORDS["dispatch"][0])
    moved_on = ("RELEASED", "AT_PLANT", "LEAVING", "CLOSED")
    deadline = time.monotonic() + 240
    demo_trips: list[dict] = []
    while time.monotonic() < deadline:
        # The page's own session asks the API (as the dispatcher's browser would).
        items = page.request.get(f"{demo_server}/api/v1/bookings?limit=500").json()["items"]
        demo_trips = [b for b in items if (b["waybill_no"] or "").startswith("DEMO")]
        if any(b["state"] in moved_on for b in demo_trips):
            break
        time.sleep(2)
    assert any(b["state"] in moved_on for b in demo_trips), demo_trips
    page.goto(f"{demo_server}/lot")
    page.wait_for_selector("#lot-map")
    assert page.locator("#plants .plant").count() >= 1


@pytest.mark.browser
def test_the_demo_auditor_finds_camera_reads_and_a_signed_checkpoint(page, demo_server,
                                                                     demo_instance):
    """The scheduler signs a checkpoint at start and publishes it outside the park (a
    folder in the demo); the camera's reads are searchable."""
    from audit.heads import open_checkpoint

    sign_in(page, demo_server, "auditor", DEMO_PASSWORDS["auditor"][0])
    page.goto(f"{demo_server}/audit/verify")
    assert page.locator("#checkpoints tbody tr[data-checkpoint]").count() >= 1
    key = page.locator("#public-key").inner_text().strip()
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        page.goto(f"{demo_server}/audit?tab=passages&lane_id=&action=")
        if page.locator("#audit-passages tbody tr[data-passage]").count():
            break
        time.sleep(2)
    assert page.locator("#audit-passages tbody tr[data-passage]").count() >= 1
    published = sorted((demo_instance / "witness").glob("*.note"))
    assert published and open_checkpoint(published[0].read_text(), key).root is not None


@pytest.mark.browser
def test_an_hour_of_the_demo_at_x30_still_opens_the_north_gate(page, tmp_path, artifacts):
    """One simulated hour (two minutes at ×30): vehicles that came in also leave (the
    GA/T 1400 camera at P2-OUT), so the north entrance still opens, rather than
    refusing every car for anti-passback; the roster levels off."""
    with running_demo(tmp_path, PARKGATE_DEMO_SPEED="30",
                      PARKGATE_DEMO_CAMERA_INTERVAL="2") as url:
        sign_in(page, url, "gate", DEMO_PASSWORDS["gate"][0])
        inside: list[int] = []
        deadline = time.monotonic() + 125  # an hour of the park's clock at ×30
        while time.monotonic() < deadline:
            time.sleep(15)
            roster = page.request.get(f"{url}/api/v1/roster").json()
            inside.append(len(roster["vehicles"]))
        page.goto(f"{url}/booth/P2-IN")
        rows = page.locator("#feed-table tbody tr[data-passage]")
        rows.nth(9).wait_for()
        decisions = [rows.nth(i).get_attribute("data-action") for i in range(10)]
        refusals = page.locator("#feed-table").inner_text().count("上次进入该区域后没有出场记录")
        page.screenshot(path=str(artifacts / "demo-north-gate-after-an-hour.zh-CN.png"),
                        full_page=True)
        page.goto(f"{url}/booth/P2-OUT")
        out = page.locator("#feed-table tbody tr[data-passage]")
        out.nth(4).wait_for()
        left = out.count()
        # The GA/T 1400 camera sends each vehicle's picture (sub-image 01) too.
        leaving = page.request.get(f"{url}/api/v1/lanes/P2-OUT/passages").json()["items"]
        with_scene = sum(1 for p in leaving if p["scene"])
    assert "OPEN" in decisions, decisions
    assert refusals < 5, decisions
    assert left >= 5  # vehicles drove out through the GA/T 1400 camera
    assert with_scene >= 1, leaving
    # The roster levels off: the last readings are no higher than the park's mid-hour.
    assert max(inside[-3:]) <= max(inside[:len(inside) // 2 + 1]) + 5, inside
