"""The booth as a work queue, in Chromium (zh-CN): holds wait in a pending list that
survives a reload and does not care which worker took the read; any row opens with its
actions; a hold is resolved once, and a second operator is told who did it; a repeat
read never folds into an answer the vehicle's state no longer supports."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from playwright.sync_api import expect

from kernel import clock
from kernel.bus import RedisBus
from parkgate.app import create_app
from tests.conftest import make_settings
from tests.e2e.conftest import LiveServer, sign_in, submit
from tests.factories import NOW, PASSWORD, auth, book, make_world

ROWS = "#pending-table tbody tr"


def post_read(client: Any, world: Any, lane: str, read_id: str, plate: str, *,
              confidence: float = 0.97, colour: str | None = "blue",
              seconds: int = 0, **extra: Any) -> Any:
    r = client.post(f"/api/v1/lanes/{lane}/reads", headers=auth(world.tokens["gate_operator"]),
                    json={"read_id": read_id, "plate": plate, "plate_colour": colour,
                          "confidence": confidence,
                          "seen_at": (clock.now() + timedelta(seconds=seconds)).isoformat(),
                          **extra})
    assert r.status_code in (200, 201), r.json
    return r.json


@pytest.fixture
def two_workers(database, tmp_path, redis_url, redis_prefix):  # type: ignore[no-untyped-def]
    """Two app instances on one database, their events on one Redis bus: as two
    gunicorn workers (or hosts) behind one address."""
    settings = make_settings(database, tmp_path)
    buses = [RedisBus(redis_url, redis_prefix), RedisBus(redis_url, redis_prefix)]
    apps = [create_app(settings, database=database, bus=bus) for bus in buses]
    yield apps
    for bus in buses:
        bus.close()


@pytest.mark.browser
@pytest.mark.redis
def test_three_holds_wait_in_the_pending_list_across_reload_and_workers(
        page, two_workers, session_factory, artifacts):  # type: ignore[no-untyped-def]
    serving, other = two_workers
    world = make_world(session_factory)
    clock.pin(NOW, ticking=True)
    with LiveServer(serving) as live:
        sign_in(page, live.url, "gate_operator", PASSWORD)
        page.goto(f"{live.url}/booth/P2-IN")
        page.wait_for_selector("#pending-empty")
        page.wait_for_selector("body[data-stream=open]", state="attached")
        # Reads taken by the other worker: the list learns of them over the bus.
        worker_b = other.test_client()
        post_read(worker_b, world, "P2-IN", "cam-1", "", colour=None, confidence=0.0)
        post_read(worker_b, world, "P2-IN", "cam-2", "苏A88888", confidence=0.41)
        post_read(worker_b, world, "P2-IN", "cam-3", "苏A0123警", colour="white")
        expect(page.locator(ROWS)).to_have_count(3)
        assert page.locator("#pending-count").inner_text() == "3 项待处理"
        assert page.locator("#pending").get_attribute("data-announce") is not None
        text = page.locator("#pending-table").inner_text()
        assert "车牌无法识别" in text and "苏A88888" in text and "苏A0123警" in text
        assert "PLATE_UNREADABLE" not in text  # words, not codes
        page.screenshot(path=str(artifacts / "booth-three-pending-holds.zh-CN.png"),
                        full_page=True)

        # The same after a reload: it comes from the database.
        page.reload()
        expect(page.locator(ROWS)).to_have_count(3)

        # Any row opens with its actions; the low-confidence read is confirmed by a lift.
        page.locator(ROWS).nth(1).click()
        page.wait_for_selector("#current-plate >> text=苏A88888")
        assert "置信度低" in page.locator("#reasons").inner_text()
        # A private car is not asked for a hazmat rig's papers.
        assert page.locator("#current .doc.missing").count() == 0
        page.fill("#override-form [name=reason]", "核对车牌无误")
        submit(page, "#override-open")
        expect(page.locator(ROWS)).to_have_count(2)
        page.wait_for_selector("#resolved-note")

        # The unreadable one: the operator reads the plate off the vehicle.
        page.locator(ROWS).first.click()
        page.wait_for_selector("#plate-form")
        page.fill("#plate-form [name=plate]", "苏A88888")
        submit(page, "#enter-plate")
        expect(page.locator(ROWS)).to_have_count(1)
        assert page.locator("#current-plate").inner_text() == "苏A88888"
        # The feed's rows open too; the hold it completed says so.
        page.locator("#feed-table tbody tr", has_text="车牌无法识别").first.click()
        page.wait_for_selector("#resolved-note")
        assert "处理" in page.locator("#resolved-note").inner_text()


@pytest.mark.browser
def test_a_hold_is_resolved_once_and_the_second_operator_is_told(
        page, browser, app, live_server, session_factory):  # type: ignore[no-untyped-def]
    world = make_world(session_factory)
    held = post_read(app.test_client(), world, "P2-IN", "cam-9", "苏A0123警", colour="white")
    second = browser.new_context(locale="zh-CN", viewport={"width": 1400, "height": 900})
    other = second.new_page()
    other.set_default_timeout(60_000)
    # The second screen's live stream is down (a flaky booth network): its form is stale.
    other.route("**/events?**", lambda route: route.abort())
    try:
        for tab, who in ((page, "gate_operator"), (other, "admin")):
            sign_in(tab, live_server.url, who, PASSWORD)
            tab.goto(f"{live_server.url}/booth/P2-IN?passage={held['id']}")
            tab.wait_for_selector("#override-form")
        page.fill("#override-form [name=reason]", "消防车出警")
        submit(page, "#override-open")
        other.fill("#override-form [name=reason]", "消防车")
        submit(other, "#override-open")
        message = other.locator(".flash.error").inner_text()
        assert "处理过" in message
        lifts = app.extensions["parkgate.controllers"].simulated.commands("P2-IN")
        assert [c.lift for c in lifts].count(True) == 1
    finally:
        second.close()


@pytest.mark.browser
def test_a_repeat_read_after_the_exit_is_decided_not_folded(page, app, live_server,
                                                            session_factory):  # type: ignore[no-untyped-def]
    """The truck enters its plant, leaves it, and the entry camera reads it again within
    the fold window: a new decision on the trip as it now is, never the old OPEN."""
    from tests.integration.test_gate import crew, release

    world = make_world(session_factory)
    trip = book(session_factory, world)
    release(session_factory, trip.id, world.plants["E1"].id)
    client = app.test_client()
    trailer = {"trailer_plate": "苏E1234挂", "trailer_confidence": 0.97,
               "crew_ids": crew(world)}
    first = post_read(client, world, "E1-IN", "e1-in-1", "苏E12345", colour="yellow", **trailer)
    assert first["action"] == "OPEN"
    out = post_read(client, world, "E1-OUT", "e1-out-1", "苏E12345", colour="yellow",
                    seconds=10, **trailer)
    assert out["action"] == "OPEN"
    again = post_read(client, world, "E1-IN", "e1-in-2", "苏E12345", colour="yellow",
                      seconds=20, **trailer)
    assert again["folded"] is False and again["id"] != first["id"]
    assert again["action"] != "OPEN"
    sign_in(page, live_server.url, "gate_operator", PASSWORD)
    page.goto(f"{live_server.url}/booth/E1-IN")
    # The truck's own rows (its crew's rows are there too, by name).
    rows = page.locator("#feed-table tbody tr", has_text="苏E12345")
    expect(rows).to_have_count(2)
    assert "王师傅" in page.locator("#feed-table").inner_text()
    assert "放行" not in rows.first.locator("td").nth(2).inner_text()
