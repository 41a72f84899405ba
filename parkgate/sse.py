"""Server-sent events: bus events streamed to pages.

Pages subscribe to named channels; the stream carries small JSON notices and the
page (htmx) re-fetches the fragment it shows, so a missed notice costs nothing
more than a stale view until the next one. The request's database session is
closed before streaming so an open page holds no connection.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

from apiflask import APIBlueprint
from flask import Response, abort, current_app, request

from auth.access import current_principal, is_device_only, require
from auth.principal import Principal
from auth.roles import Role
from kernel.errors import N_, DomainError

from .database import get_bus, release_session

bp = APIBlueprint("sse", __name__, enable_openapi=False)

HEARTBEAT_S = 15.0

# channel prefix -> roles that may listen; "enterprise:<id>" is checked separately.
CHANNEL_ROLES: dict[str, set[str]] = {
    "lane": {Role.ADMIN, Role.GATE_OPERATOR, Role.DEVICE},
    "trips": {Role.ADMIN, Role.DISPATCHER, Role.GATE_OPERATOR},
    "dispatch": {Role.ADMIN, Role.DISPATCHER, Role.PLANT_RECEIVER},
    "alarms": {Role.ADMIN, Role.DISPATCHER, Role.GATE_OPERATOR},
    "audit": {Role.ADMIN, Role.AUDITOR},
    "roster": {Role.ADMIN, Role.AUDITOR, Role.GATE_OPERATOR, Role.DISPATCHER},
    "records": {Role.ADMIN},
    "bookings": {Role.ADMIN},
    "lot": {Role.ADMIN, Role.DISPATCHER, Role.PLANT_RECEIVER, Role.GATE_OPERATOR, Role.AUDITOR},
    "drivers": {Role.ADMIN, Role.DISPATCHER},
}


class StreamsBusy(DomainError):
    status = 503
    code = "LIVE_UPDATES_BUSY"


class StreamSlots:
    """How many streams this process has open, against its limit (0: none).

    A stream holds a request thread of a threaded worker until the page closes; a
    worker whose threads all stream accepts connections it never serves (the requests
    wait for a thread that does not come). So a process refuses a stream beyond its
    limit at once, and the page's client retries after Retry-After, most likely on
    another worker."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.open = 0

    def take(self, limit: int) -> bool:
        with self._lock:
            if limit and self.open >= limit:
                return False
            self.open += 1
            return True

    def give_back(self) -> None:
        with self._lock:
            self.open -= 1


SLOTS = StreamSlots()


def may_listen(principal: Principal, channel: str, lane_code: str | None = None) -> bool:
    """`lane_code`: the code of the lane a device token is bound to."""
    head, _, rest = channel.partition(":")
    if head == "enterprise":
        if principal.is_admin:
            return True
        return rest.isdigit() and principal.enterprise_id == int(rest)
    if is_device_only(principal):
        # A lane's device hears its own lane; an unbound integration token (SMS or voice
        # calls to drivers) the driver calls.
        if principal.lane_id is not None:
            return head == "lane" and lane_code is not None and rest == lane_code
        return head == "drivers"
    allowed = CHANNEL_ROLES.get(head)
    return allowed is not None and principal.has(*allowed)


def _bound_lane_code(principal: Principal) -> str | None:
    if principal.lane_id is None:
        return None
    from models import Lane

    from .database import get_session

    lane = get_session().get(Lane, principal.lane_id)
    return lane.code if lane is not None else None


def format_sse(event_id: str, event_type: str, data: str) -> str:
    lines = "".join(f"data: {line}\n" for line in data.splitlines() or [""])
    return f"id: {event_id}\nevent: {event_type}\n{lines}\n"


@bp.get("/events")
@require(*Role)  # every role; may_listen() decides per channel
def stream() -> Any:
    principal = current_principal()
    assert principal is not None
    channels = [c.strip() for c in request.args.get("channels", "").split(",") if c.strip()]
    if not channels or len(channels) > 20:
        abort(400)
    lane_code = _bound_lane_code(principal)
    if any(not may_listen(principal, c, lane_code) or "*" in c or "?" in c for c in channels):
        abort(403)
    if not SLOTS.take(current_app.config["PARKGATE_SETTINGS"].sse_max_streams):
        raise StreamsBusy(N_("Too many live pages are open on this server process; the "
                             "page reconnects shortly."), extra={"retry_after": 5})
    try:
        subscription = get_bus().subscribe(channels)
    except BaseException:
        SLOTS.give_back()
        raise
    try:
        release_session()
    except BaseException:
        subscription.close()
        SLOTS.give_back()
        raise

    def generate() -> Iterator[str]:
        try:
            # Something at once, so reverse proxies start passing the stream through.
            yield "retry: 3000\n: connected\n\n"
            while True:
                event = subscription.get(timeout=HEARTBEAT_S)
                if event is None:
                    yield ": heartbeat\n\n"
                    continue
                yield format_sse(event.id, event.type, event.to_json())
        finally:
            subscription.close()

    response = Response(generate(), mimetype="text/event-stream",
                        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    # On the WSGI close, whether or not the stream ever started (a generator's own
    # `finally` does not run when it is closed before its first step).
    def closed() -> None:
        subscription.close()
        SLOTS.give_back()

    response.call_on_close(closed)
    return response


def init_app(app: Any) -> None:
    app.register_blueprint(bp)
