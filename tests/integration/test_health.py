"""Health and readiness reflect the database and Redis."""

from __future__ import annotations

from parkgate.app import create_app
from tests.conftest import make_settings


def test_health_and_ready(client):
    assert client.get("/healthz").json == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json["checks"]["database"] == "ok"


def test_not_ready_when_redis_is_unreachable(database, tmp_path, bus):
    settings = make_settings(database, tmp_path, redis_url="redis://127.0.0.1:1/0")
    app = create_app(settings, database=database, bus=bus)
    ready = app.test_client().get("/readyz")
    assert ready.status_code == 503
    assert ready.json["checks"]["redis"].startswith("error")


def test_security_headers_and_request_ids(client):
    response = client.get("/healthz", headers={"X-Request-ID": "abc123"})
    assert response.headers["X-Request-ID"] == "abc123"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


def test_the_browsers_icon_request_finds_the_apps_icon(client):  # type: ignore[no-untyped-def]
    asked = client.get("/favicon.ico")
    assert asked.status_code == 301
    icon = client.get(asked.headers["Location"])
    assert icon.status_code == 200 and icon.mimetype == "image/svg+xml"
    assert b"<svg" in icon.data
    assert 'rel="icon"' in client.get("/login").get_data(as_text=True)
