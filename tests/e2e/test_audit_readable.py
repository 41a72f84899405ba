"""The auditor's pages read as words (Chromium, zh-CN, 1366 px): event details as
labelled fields (cargo as "UN1203 汽油 …", overrides as what and why), automatic work
attributed to the system, passages that rode along named, nothing wider than the
screen, and a verify range that runs backwards refused with a message."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import sign_in
from tests.factories import PASSWORD, make_world
from tests.integration.test_audit_query import drive

NO_OVERFLOW = "() => document.documentElement.scrollWidth <= document.documentElement.clientWidth"


@pytest.mark.browser
def test_audit_details_are_labelled_fields_in_chinese(page, live_server, app, session_factory,
                                                      artifacts):
    world = make_world(session_factory)
    scene = drive(app.test_client(), world, session_factory)
    page.set_viewport_size({"width": 1366, "height": 900})
    sign_in(page, live_server.url, "auditor", PASSWORD)

    page.goto(f"{live_server.url}/audit?action=trip.book")
    booked = page.locator("#audit-events tbody tr[data-seq]").first
    details = booked.locator("td.payload").inner_text()
    assert "货物" in details and "UN1203 汽油" in details
    assert "[[" not in details and "None" not in details and "cargo=" not in details
    assert page.evaluate(NO_OVERFLOW)

    # Automatic releases are the system's work, never a name that looks like a user.
    page.goto(f"{live_server.url}/audit?action=trip.release")
    who = page.locator("#audit-events tbody tr[data-seq] td.actor").first.inner_text()
    assert who.startswith("系统 · "), who
    assert "dispatch" not in who

    # An override reads as what was done and why.
    page.goto(f"{live_server.url}/audit?action=gate.override")
    text = page.locator("#audit-events tbody tr[data-seq]").first.inner_text()
    assert "消防检查车辆" in text and "放行" in text and '"reason"' not in text

    # The trip's timeline: every entry in words, crew passages named.
    page.goto(f"{live_server.url}/audit/trips/{scene['trip']}")
    page.wait_for_selector("#timeline")
    timeline = page.locator("#timeline").inner_text()
    assert "passage.crew" not in timeline and "随车人员" in timeline
    assert "trip." not in timeline
    assert page.evaluate(NO_OVERFLOW)
    page.screenshot(path=str(artifacts / "trip-timeline.zh-CN.png"), full_page=True)

    # A range that runs backwards is refused, not quietly widened.
    page.goto(f"{live_server.url}/audit/verify")
    page.fill("#verify-form [name=from]", "10")
    page.fill("#verify-form [name=to]", "5")
    page.click("#verify-form button[type=submit]")
    page.wait_for_selector(".flash.error, #verify-error")
    assert "#5" in page.content() and "#10" in page.content()
    assert page.locator("#verify-result").count() == 0
