"""The Flask application factory: each subsystem wires itself in through init_app()."""

from __future__ import annotations

import logging
import time
import uuid
from datetime import timedelta
from typing import Any

from apiflask import APIFlask
from flask import g, request

import audit  # noqa: F401  # composition root: registers how audit events are written
import dispatch  # noqa: F401  # and the lot's handlers of trip events (kernel.messages)
from kernel import clock
from kernel.bus import EventBus, make_bus

from .config import Settings
from .database import Database


def create_app(settings: Settings | None = None, *, database: Database | None = None,
               bus: EventBus | None = None) -> APIFlask:
    settings = settings or Settings.from_env()
    app = APIFlask(
        __name__,
        title="ParkGate API",
        version="1.0",
        spec_path="/api/v1/openapi.json",
        docs_path=None,  # the park network has no CDN for a docs UI; the spec is the doc
        json_errors=False,  # parkgate.problems answers every error
        instance_path=str(settings.instance_path.resolve()),
    )
    app.config.update(
        PARKGATE_SETTINGS=settings,
        SECRET_KEY=settings.secret_key,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.env == "production",
        REMEMBER_COOKIE_SECURE=settings.env == "production",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
        MAX_CONTENT_LENGTH=8 * 1024 * 1024,
        JSON_SORT_KEYS=False,
        TESTING=settings.env == "test",
        INFO={"description": "ParkGate: closed-park access control and hazmat logistics."},
    )
    if settings.pinned_now is not None:
        clock.pin(settings.pinned_now, ticking=settings.clock_ticking)
    from registry import pii

    pii.configure(settings.pii_key)

    from . import database as database_ext

    database_ext.init_app(app, database or Database(settings.database_url),
                          bus or make_bus(settings.redis_url, settings.redis_prefix))
    from audit import sequencer

    sequencer.configure(database_ext.get_db_of(app).engine, settings.linking)
    sequencer.start(database_ext.get_db_of(app).engine)  # a queue left by a crash: linked now

    from audit import views as audit_views
    from auth import access
    from auth import views as auth_views
    from booking import api as booking_api
    from booking import views as booking_views
    from dispatch import api as lot_api
    from dispatch import views as lot_views
    from gateway import api as gate_api
    from gateway import camera_push, camera_views
    from gateway import views as gate_views
    from registry import api as registry_api
    from registry import views as registry_views
    from trips import api as trips_api
    from trips import views as trips_views

    from . import health, i18n, problems, sse, web

    _init_request_ids(app)  # first: every later hook and log line may use the id
    problems.init_app(app)
    from . import inputs

    inputs.init_app(app)
    i18n.init_app(app)
    access.init_app(app)
    auth_views.init_app(app)
    health.init_app(app)
    sse.init_app(app)
    web.init_app(app)
    trips_api.init_app(app)
    trips_views.init_app(app)
    audit_views.init_app(app)
    registry_api.init_app(app)
    registry_views.init_app(app)
    gate_api.init_app(app)
    camera_push.init_app(app)
    camera_views.init_app(app)
    gate_views.init_app(app)
    booking_api.init_app(app)
    booking_views.init_app(app)
    lot_api.init_app(app)
    lot_views.init_app(app)
    from . import logs, metrics, ratelimit

    ratelimit.init_app(app)  # after access: the limit is per caller
    metrics.init_app(app)
    logs.log_requests(app)
    _init_security_headers(app)
    _describe_security(app)
    return app


SECURITY_SCHEMES = {
    "bearerToken": {"type": "http", "scheme": "bearer", "bearerFormat": "pgt_…",
                    "description": "A device or integration token (parkgate tokens issue)."},
    "sessionCookie": {"type": "apiKey", "in": "cookie", "name": "session",
                      "description": "A signed-in person's session (pages); writes also "
                                     "need the X-CSRFToken header."},
    "queryToken": {"type": "apiKey", "in": "query", "name": "token",
                   "description": "The bearer token as ?token=, for cameras that cannot "
                                  "send headers (camera push URLs only)."},
    "cameraDigest": {"type": "http", "scheme": "digest",
                     "description": "HTTP Digest (MD5, qop=auth) as the camera registered "
                                    "in ParkGate (Dahua ITSAPI, GA/T 1400)."},
}


def _describe_security(app: APIFlask) -> None:
    """The spec names how each operation is authenticated, from the same view marks
    that enforce it (require, public, query_token, camera_auth)."""
    import re

    @app.spec_processor  # type: ignore[arg-type]  # the spec is a dict here, never text
    def _security(spec: dict[str, Any]) -> dict[str, Any]:
        spec.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
        for rule in app.url_map.iter_rules():
            path = re.sub(r"<(?:[^:>]+:)?(\w+)>", r"{\1}", rule.rule)
            operations = spec.get("paths", {}).get(path)
            if not operations:
                continue
            view = app.view_functions[rule.endpoint]
            if getattr(view, "camera_auth", False):
                security: list[dict[str, list[str]]] = [{"cameraDigest": []}]
            elif getattr(view, "public", False):
                security = []
            else:
                security = [{"bearerToken": []}, {"sessionCookie": []}]
                if getattr(view, "query_token", False):
                    security.append({"queryToken": []})
            for method in rule.methods or ():
                operation = operations.get(method.lower())
                if isinstance(operation, dict):
                    operation["security"] = security
        return spec


def _init_request_ids(app: APIFlask) -> None:
    @app.before_request
    def _assign_request_id() -> None:
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if 0 < len(incoming) <= 64 and incoming.isprintable() \
            else uuid.uuid4().hex
        g.request_started = time.perf_counter()  # for the request log and metrics

    @app.after_request
    def _echo_request_id(response: Any) -> Any:
        response.headers["X-Request-ID"] = g.get("request_id", "")
        return response


def _init_security_headers(app: APIFlask) -> None:
    @app.after_request
    def _headers(response: Any) -> Any:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; "
            "script-src 'self'; connect-src 'self'; frame-ancestors 'none'",
        )
        return response


logging.getLogger("werkzeug").setLevel(logging.WARNING)
