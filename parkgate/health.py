"""Liveness and readiness for load balancers and orchestrators."""

from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint
from flask import current_app, jsonify, redirect, url_for
from sqlalchemy import text

from auth.access import public

from .database import get_db

bp = APIBlueprint("health", __name__, enable_openapi=False)


@bp.get("/healthz")
@public
def healthz() -> Any:
    return jsonify(status="ok")


@bp.get("/favicon.ico")
@public
def favicon() -> Any:
    # Browsers and booth kiosks ask for it whatever the page links: not a 404 in the log.
    return redirect(url_for("static", filename="favicon.svg"), 301)


@bp.get("/readyz")
@public
def readyz() -> Any:
    checks: dict[str, str] = {}
    try:
        with get_db().engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - any failure means not ready
        checks["database"] = f"error: {type(exc).__name__}"
    redis_url = current_app.config["PARKGATE_SETTINGS"].redis_url
    if redis_url:
        try:
            import redis

            redis.Redis.from_url(redis_url, socket_connect_timeout=2, socket_timeout=2).ping()
            checks["redis"] = "ok"
        except Exception as exc:  # noqa: BLE001
            checks["redis"] = f"error: {type(exc).__name__}"
    ready = all(v == "ok" for v in checks.values())
    # A silent camera does not make ParkGate unready, but whoever watches this sees it.
    silent_cameras: list[dict[str, Any]] = []
    if checks["database"] == "ok":
        from gateway.cameras import silent
        from kernel import clock

        from .database import get_session

        silent_cameras = [{"camera_id": s.camera_id, "vendor": s.vendor,
                           "device_id": s.device_id, "lane_id": s.lane_id,
                           "last_heard_at": s.since.isoformat() if s.since else None}
                          for s in silent(get_session(), clock.now())]
    response = jsonify(status="ready" if ready else "not ready", checks=checks,
                       silent_cameras=silent_cameras)
    response.status_code = 200 if ready else 503
    return response


def init_app(app: Any) -> None:
    app.register_blueprint(bp)
