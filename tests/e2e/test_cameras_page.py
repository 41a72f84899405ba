"""The camera registry and the cameras page in a real browser: an admin registers a
Dahua ITC, the camera signs in with that password, and the page shows it working;
what the camera sent that ParkGate refused is there to read."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from gateway.digest import authorization
from tests.e2e.conftest import sign_in, submit
from tests.factories import PASSWORD, make_world


def camera_post(base: str, path: str, body: bytes, username: str, password: str) -> int:
    """POST as a Dahua camera does: unsigned, then signed to answer the challenge."""
    url = base + path
    try:
        urllib.request.urlopen(urllib.request.Request(url, data=body, method="POST"))
        return 200
    except urllib.error.HTTPError as challenge:
        assert challenge.code == 401
        signed = authorization(username, password, "POST", path,
                               challenge.headers["WWW-Authenticate"])
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Authorization": signed, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.mark.browser
def test_an_admin_registers_a_camera_and_sees_it_working(page, live_server, session_factory):
    world = make_world(session_factory)
    sign_in(page, live_server.url, "admin", PASSWORD)
    page.goto(f"{live_server.url}/records/cameras")
    page.click("#add-record")
    page.select_option("#f-vendor", "dahua")
    page.fill("#f-model", "DH-ITC237")
    page.fill("#f-device_id", "ITC-P2-IN")
    page.select_option("#f-lane_id", str(world.lanes["P2-IN"].id))
    page.select_option("#f-protocol", "itsapi")
    page.fill("#f-username", "itc-north")
    page.fill("#f-password", "North-Gate-Cam-9")
    submit(page, "#save")
    assert "已保存" in page.content()
    # The password is never shown back.
    assert "North-Gate-Cam-9" not in page.content()

    page.goto(f"{live_server.url}/cameras")
    row = page.locator('#camera-status tr[data-camera="ITC-P2-IN"]')
    assert row.get_attribute("data-state") == "never_heard"
    assert "从未联络" in row.inner_text() and "大华" in row.inner_text()

    keepalive = json.dumps({"DeviceID": "ITC-P2-IN"}).encode()
    assert camera_post(live_server.url, "/NotificationInfo/KeepAlive", keepalive, "itc-north",
                       "North-Gate-Cam-9") == 200
    assert camera_post(live_server.url, "/NotificationInfo/TollgateInfo", b'{"Picture": 7}',
                       "itc-north", "North-Gate-Cam-9") == 400
    page.reload()
    row = page.locator('#camera-status tr[data-camera="ITC-P2-IN"]')
    assert row.get_attribute("data-state") == "ok" and "正常" in row.inner_text()
    refused = page.locator("#camera-rejections tbody tr").first
    assert "/NotificationInfo/TollgateInfo" in refused.inner_text()
    refused.locator("summary").click()
    assert '{"Picture": 7}' in refused.locator("pre").inner_text()
    assert page.locator("nav a", has_text="摄像机").count() == 1
