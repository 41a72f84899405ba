"""The booth console in a real browser: a read appears live; an override is recorded."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from kernel import clock
from models import AuditEvent
from tests.e2e.conftest import sign_in
from tests.factories import PASSWORD, auth, book, make_world

REASON = "#override-form [name=reason]"


@pytest.mark.browser
def test_a_read_appears_live_and_the_operator_overrides(page, live_server, app,
                                                       session_factory):
    world = make_world(session_factory)
    book(session_factory, world, state="IN_LOT")  # waiting in the lot, not released
    sign_in(page, live_server.url, "gate_operator", PASSWORD)
    page.goto(f"{live_server.url}/booth/E1-IN")
    page.wait_for_selector("#current >> text=等待车辆")
    page.wait_for_selector("body[data-stream=open]", state="attached")  # listening
    # The camera (a device token, the app's own bus) reports a plate; the page listens.
    response = app.test_client().post("/api/v1/lanes/E1-IN/reads", headers=auth(
        world.tokens["gate_operator"]), json={
        "read_id": "cam-e1-1", "plate": "苏E12345", "plate_colour": "yellow",
        "confidence": 0.98, "seen_at": clock.now().isoformat(), "trailer_plate": "苏E1234挂",
        "trailer_confidence": 0.97})
    assert response.status_code == 201
    page.wait_for_selector("#current-plate")
    assert page.locator("#current-plate").inner_text() == "苏E12345"
    assert page.locator("#decision").get_attribute("data-action") == "DENY"
    assert "尚未从停车场放行" in page.locator("#reasons").inner_text()
    # The feed is fetched on its own after the same event, so it may land a moment later.
    page.wait_for_selector("#feed-table >> text=苏E12345")

    page.fill(REASON, "调度员电话确认已放行")
    page.click("#override-open")
    page.wait_for_selector("text=已人工处理")
    assert page.locator("#decision").get_attribute("data-action") == "OPEN"
    assert app.extensions["parkgate.controllers"].simulated.last("E1-IN").lift is True
    with session_factory() as s:
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "gate.override")).one()
    payload = json.loads(event.payload)
    assert payload["reason"] == "调度员电话确认已放行"
    assert payload["engine"]["action"] == "DENY"


# The booth reloads its current panel as the stream asks (htmx's own trigger); resolves
# once the reloaded panel is on the page.
RELOAD_CURRENT = """() => new Promise(resolve => {
  const current = document.getElementById('current');
  current.addEventListener('htmx:afterSwap', () => resolve(), {once: true});
  htmx.trigger(current, 'sse:passage');
})"""


def _read(app, world, read_id: str, plate: str) -> None:
    response = app.test_client().post("/api/v1/lanes/E1-IN/reads", headers=auth(
        world.tokens["gate_operator"]), json={
        "read_id": read_id, "plate": plate, "plate_colour": "yellow", "confidence": 0.98,
        "seen_at": clock.now().isoformat()})
    assert response.status_code == 201


@pytest.mark.browser
def test_a_reason_being_typed_survives_a_reload_and_holds_its_vehicle_on_screen(
        page, live_server, app, session_factory):
    world = make_world(session_factory)
    book(session_factory, world, state="IN_LOT")
    sign_in(page, live_server.url, "gate_operator", PASSWORD)
    page.goto(f"{live_server.url}/booth/E1-IN")
    page.wait_for_selector("body[data-stream=open]", state="attached")
    _read(app, world, "cam-e1-1", "苏E12345")
    page.wait_for_selector("#current-plate >> text=苏E12345")

    page.fill(REASON, "调度员电话确认")
    # The stream reconnecting (or a late reply) brings the same passage again.
    page.evaluate(RELOAD_CURRENT)
    assert page.locator(REASON).input_value() == "调度员电话确认"
    assert page.evaluate("document.activeElement.name") == "reason"  # typing goes on

    # The next vehicle's read arrives while the operator is typing: it shows in the
    # feed, and the panel keeps the vehicle the reason is for (its buttons act on it).
    _read(app, world, "cam-e1-2", "苏E99999")
    page.wait_for_selector("#feed-table >> text=苏E99999")
    page.wait_for_selector("#back-to-live")
    assert page.locator("#current-plate").inner_text() == "苏E12345"
    assert page.locator(REASON).input_value() == "调度员电话确认"
    # Back to live: the newest vehicle, with nothing typed for it.
    page.click("#back-to-live")
    page.wait_for_selector("#current-plate >> text=苏E99999")
    assert page.locator(REASON).input_value() == ""


@pytest.mark.browser
def test_manual_plate_entry_when_the_camera_fails(page, live_server, session_factory):
    make_world(session_factory)
    sign_in(page, live_server.url, "gate_operator", PASSWORD)
    page.goto(f"{live_server.url}/booth/P2-IN")
    page.fill("#m-plate", "苏A88888")
    page.select_option("#m-colour", "blue")
    page.click("#manual-submit")
    page.wait_for_selector("#current-plate")
    assert page.locator("#current-plate").inner_text() == "苏A88888"
    assert "值班员录入" in page.locator("#current").inner_text()


@pytest.mark.browser
def test_a_mistyped_plate_stays_in_its_box_on_the_booth_page(page, live_server,
                                                            session_factory):
    make_world(session_factory)
    sign_in(page, live_server.url, "gate_operator", PASSWORD)
    page.goto(f"{live_server.url}/booth/P2-IN")
    page.fill("#m-plate", "苏A8888")  # one digit short
    page.select_option("#m-colour", "blue")
    page.fill("#m-trailer", "苏E1234挂")
    page.click("#manual-submit")
    page.wait_for_selector("text=不是有效的车牌")
    assert page.locator("#m-plate").input_value() == "苏A8888"
    assert page.locator("#m-trailer").input_value() == "苏E1234挂"
    assert page.evaluate("document.activeElement.id") == "m-plate"
    # The address is the booth's again: switching language (or reloading) shows it.
    # (app.js puts it back once the page has loaded, which may be after the text shows.)
    page.wait_for_url(f"{live_server.url}/booth/P2-IN")
    assert page.url == f"{live_server.url}/booth/P2-IN"
    page.click("text=English")
    page.wait_for_selector("#manual-submit >> text=Check this plate")
    page.fill("#m-plate", "苏A88888")
    page.click("#manual-submit")
    page.wait_for_selector("#current-plate >> text=苏A88888")


@pytest.mark.browser
def test_the_roster_lists_who_is_inside(page, live_server, app, session_factory):
    world = make_world(session_factory)
    client = app.test_client()
    client.post("/api/v1/lanes/P2-IN/persons", json={"credential": "CERT000001"},
                headers=auth(world.tokens["gate_operator"]))
    sign_in(page, live_server.url, "gate_operator", PASSWORD)
    page.goto(f"{live_server.url}/roster")
    assert page.locator("#person-count").inner_text() == "1"
    assert "王师傅" in page.locator("#roster-persons").inner_text()


@pytest.mark.browser
def test_the_live_decision_stays_on_a_booth_screen_however_many_holds_wait(
        page, live_server, app, session_factory):  # type: ignore[no-untyped-def]
    from datetime import timedelta

    from playwright.sync_api import expect

    world = make_world(session_factory)
    page.set_viewport_size({"width": 1366, "height": 768})
    sign_in(page, live_server.url, "gate_operator", PASSWORD)
    camera = app.test_client()
    for i in range(12):  # a night's worth of unsure reads nobody has seen to yet
        assert camera.post("/api/v1/lanes/P2-IN/reads", headers=auth(
            world.tokens["gate_operator"]), json={
            "read_id": f"cam-{i}", "plate": f"苏A1{i:04d}", "plate_colour": "blue",
            "confidence": 0.41,
            "seen_at": (clock.now() + timedelta(seconds=60 * i)).isoformat()}).status_code == 201
    page.goto(f"{live_server.url}/booth/P2-IN")
    expect(page.locator("#pending-table tbody tr")).to_have_count(12)
    # Whole, on the screen as it opens (htmx may swap it in again meanwhile: retried).
    expect(page.locator("#decision")).to_be_in_viewport(ratio=1)
    assert page.evaluate("window.scrollY") == 0
