"""People sign in through the real page, in a real browser, and see their part of it."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import sign_in, submit
from tests.factories import PASSWORD, book, make_world

ROLES = ["admin", "gate_operator", "dispatcher", "auditor", "logistics_e1", "receiver"]


@pytest.mark.browser
@pytest.mark.parametrize("username", ROLES)
def test_each_role_signs_in_and_out(page, live_server, session_factory, username):
    make_world(session_factory)
    sign_in(page, live_server.url, username, PASSWORD)
    assert "/login" not in page.url
    page.get_by_role("button", name="退出").click()
    page.wait_for_url("**/login")
    assert "您已退出登录" in page.content()


@pytest.mark.browser
def test_wrong_password_shows_a_message(page, live_server, session_factory):
    make_world(session_factory)
    sign_in(page, live_server.url, "admin", "nope")
    assert "用户名或密码错误" in page.locator(".flash.error").inner_text()


@pytest.mark.browser
def test_switching_to_english(page, live_server, session_factory):
    make_world(session_factory)
    sign_in(page, live_server.url, "admin", PASSWORD)
    page.click("text=English")
    assert page.get_by_role("button", name="Sign out").is_visible()


@pytest.mark.browser
def test_admin_approves_a_pending_trip_from_its_page(page, live_server, session_factory):
    world = make_world(session_factory)
    trip = book(session_factory, world, state="PENDING_APPROVAL")
    sign_in(page, live_server.url, "admin", PASSWORD)
    page.goto(f"{live_server.url}/trips/{trip.id}")
    assert page.locator("#trip-state").inner_text() == "待审批"
    submit(page, "button[data-action=approve]")
    assert page.locator("#trip-state").inner_text() == "已预约"
    assert "已批准" in page.locator("#timeline").inner_text()
