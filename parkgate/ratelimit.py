"""Request rate limits per caller (token, signed-in user, or address), per minute,
with Flask-Limiter.

One allowance per caller across every route (an application limit, not one per
route). Counted in Redis when the app has it, so the limit holds across gunicorn
workers and hosts; in process otherwise (the embedded demo). A sliding window
(two weighted counters), so a burst at the turn of a minute is not counted twice
over and a request costs the same however many came before it. A Redis outage never blocks
the gate: errors from the store are swallowed and the request goes through.
"""

from __future__ import annotations

import logging
import math
import os
import time
from typing import Any

from flask import Flask, Response, g, request

from kernel.errors import N_, TooManyRequests

log = logging.getLogger(__name__)
EXEMPT = frozenset({"health.healthz", "health.readyz", "metrics", "static", "sse.stream"})


def _caller(app: Flask) -> tuple[str, int]:
    """Who is asking (the counter's key) and how many requests a minute they get."""
    principal = g.get("principal")
    per_min = int(os.environ.get("PARKGATE_RATE_LIMIT_PER_MIN", "1200"))
    view = app.view_functions.get(request.endpoint or "")
    if getattr(view, "camera_auth", False):
        # Cameras sign each request (Digest, often challenged every time), and one
        # GA/T 1400 platform address speaks for many cameras: a device's allowance, by
        # address, since who signed is known only inside the view.
        return f"cam:{request.remote_addr}", per_min * 5
    if principal is None:
        return f"ip:{request.remote_addr}", int(os.environ.get(
            "PARKGATE_RATE_LIMIT_ANON_PER_MIN", "120"))
    if principal.via == "token":
        # A lane's agent replays its backlog after an outage in one burst.
        return f"t:{principal.token_id}", per_min * 5 if "device" in principal.roles \
            else per_min
    return f"u:{principal.user_id}", per_min


def _refused(limit: Any) -> Response:
    """The problem+json answer (RATE_LIMITED) with the seconds until the window allows
    another request."""
    from .problems import handle_domain_error

    wait = max(1, math.ceil(limit.reset_at - time.time()))
    error = TooManyRequests(N_("Too many requests; wait a minute and try again."),
                            extra={"retry_after": wait})
    return handle_domain_error(error)  # type: ignore[no-any-return]


def init_app(app: Flask) -> None:
    from flask_limiter import Limiter, RateLimitExceeded

    settings = app.config["PARKGATE_SETTINGS"]
    storage = {"storage_uri": settings.redis_url,
               "storage_options": {"socket_connect_timeout": 1, "socket_timeout": 1}} \
        if settings.redis_url else {"storage_uri": "memory://"}

    def exempt() -> bool:
        return request.endpoint in EXEMPT or bool(app.config.get("RATE_LIMITS_OFF"))

    Limiter(
        key_func=lambda: _caller(app)[0],
        app=app,
        application_limits=[lambda: f"{_caller(app)[1]} per minute"],
        application_limits_exempt_when=exempt,
        # Two counters per caller, weighted: O(1) per request (a moving window keeps
        # every request's time, thousands per device at a busy gate), and no burst
        # counted twice over at the turn of a minute, as a fixed window would.
        strategy="sliding-window-counter",
        key_prefix=f"{settings.redis_prefix}:rl",
        swallow_errors=True,
        headers_enabled=False,
        on_breach=_refused,
        **storage,
    )
    # The refusal carries the answer _refused made (before the generic HTTP handler).
    app.register_error_handler(RateLimitExceeded, lambda error: error.get_response())
