"""Server-sent events: bus events reach the page; channels are guarded by role."""

from __future__ import annotations

import json

from tests.factories import auth, make_world


def test_event_published_after_subscribing_is_streamed(app, client, session_factory, bus):
    world = make_world(session_factory)
    response = client.get("/events?channels=lane:P1-IN",
                          headers=auth(world.tokens["gate_operator"]), buffered=False)
    assert response.status_code == 200
    assert response.mimetype == "text/event-stream"
    chunks = iter(response.response)
    assert "connected" in next(chunks).decode()
    bus.publish("lane:P1-IN", "passage", {"plate": "苏E12345"})
    frame = next(chunks).decode()
    response.close()
    lines = dict(line.split(": ", 1) for line in frame.strip().splitlines())
    assert lines["event"] == "passage"
    assert json.loads(lines["data"])["data"] == {"plate": "苏E12345"}


def test_channels_are_guarded_by_role(client, session_factory):
    world = make_world(session_factory)
    assert client.get("/events?channels=audit",
                      headers=auth(world.tokens["gate_operator"])).status_code == 403
    assert client.get("/events?channels=lane:*",
                      headers=auth(world.tokens["admin"])).status_code == 403
    assert client.get("/events?channels=lane:P1-IN").status_code in (302, 401)


def test_enterprise_users_listen_to_their_own_enterprise_only(client, session_factory):
    world = make_world(session_factory)
    token = world.tokens["logistics_E1"]
    own = world.enterprises["E1"].id
    other = world.enterprises["E2"].id
    ok = client.get(f"/events?channels=enterprise:{own}", headers=auth(token), buffered=False)
    assert ok.status_code == 200
    ok.close()
    assert client.get(f"/events?channels=enterprise:{other}",
                      headers=auth(token)).status_code == 403


def test_a_process_streams_only_to_its_limit_and_frees_a_slot_when_a_page_closes(
        app, client, session_factory, monkeypatch):
    """A worker full of open pages would leave later requests waiting for a thread
    that never frees (gunicorn gthread): beyond its limit a stream is refused at once,
    503 with Retry-After, so the page's client reconnects (to another worker)."""
    from dataclasses import replace

    from parkgate.sse import SLOTS

    world = make_world(session_factory)
    monkeypatch.setitem(app.config, "PARKGATE_SETTINGS",
                        replace(app.config["PARKGATE_SETTINGS"], sse_max_streams=SLOTS.open + 1))
    headers = {**auth(world.tokens["gate_operator"]), "Accept": "application/json"}
    first = client.get("/events?channels=lane:P1-IN", headers=headers, buffered=False)
    assert first.status_code == 200
    busy = client.get("/events?channels=lane:P1-IN", headers=headers)
    assert busy.status_code == 503
    assert busy.headers["Retry-After"] == "5"
    assert busy.get_json()["code"] == "LIVE_UPDATES_BUSY"
    # A request that is not a stream is served as ever.
    assert client.get("/api/v1/lanes", headers=headers).status_code == 200
    first.close()
    again = client.get("/events?channels=lane:P1-IN", headers=headers, buffered=False)
    assert again.status_code == 200
    again.close()
