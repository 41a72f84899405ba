"""The cameras as the people who keep them see them: each registered camera with its
lane and when it was last heard (silent ones first), and the events ParkGate refused,
as the camera sent them, for the integrator who has to fix its configuration."""

from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint
from flask import Response, render_template
from pydantic import BaseModel, ConfigDict, Field

from auth.access import require
from auth.roles import Role
from kernel import clock
from kernel.errors import N_, NotFound
from models import VendorRejection
from parkgate.database import get_session
from parkgate.web import register_nav

from . import cameras

bp = APIBlueprint("cameras", __name__, tag="Cameras")
CAMERA_ROLES = (Role.ADMIN, Role.GATE_OPERATOR, Role.AUDITOR)
STATE_ORDER = {"silent": 0, "never_heard": 1, "no_lane": 2, "ok": 3}


class RejectionQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    vendor: str | None = Field(default=None, max_length=16)
    camera_id: int | None = Field(default=None, ge=1, le=2_147_483_647)
    before_id: int | None = Field(default=None, ge=1, le=2_147_483_647)
    limit: int = Field(default=50, ge=1, le=200)


def _statuses() -> list[cameras.CameraStatus]:
    rows = cameras.statuses(get_session(), clock.now())
    return sorted(rows, key=lambda r: (not r.alarm, STATE_ORDER[r.state], r.vendor,
                                       r.device_id))


@bp.get("/cameras")
@require(*CAMERA_ROLES)
def camera_page() -> Any:
    session = get_session()
    return render_template("gate/cameras.html", cameras=_statuses(),
                           readers=cameras.token_readers(session, clock.now()),
                           rejections=cameras.recent_rejections(session, limit=50),
                           preview=cameras.preview)


@bp.get("/api/v1/camera-status")
@require(*CAMERA_ROLES)
@bp.doc(summary="Every registered camera, its lane, when it was last heard and whether it "
                "has gone silent (silent first); and the lanes' readers that post with a "
                "device token, with the lane's newest read")
def camera_status_api() -> Any:
    readers = cameras.token_readers(get_session(), clock.now())
    return {"items": [row.as_dict() for row in _statuses()],
            "token_readers": [row.as_dict() for row in readers]}


@bp.get("/api/v1/camera-rejections")
@require(*CAMERA_ROLES)
@bp.input(RejectionQuery, location="query")
@bp.doc(summary="Camera events ParkGate refused, newest first, each with a text preview "
                "of what the camera sent (kept 7 days)")
def rejections_api(query_data: RejectionQuery) -> Any:
    rows = cameras.recent_rejections(get_session(), vendor=query_data.vendor,
                                     camera_id=query_data.camera_id,
                                     before_id=query_data.before_id, limit=query_data.limit)
    return {"items": [cameras.rejection_out(r) for r in rows]}


@bp.get("/api/v1/camera-rejections/<id:rejection_id>/body")
@require(*CAMERA_ROLES)
@bp.doc(summary="A refused event's body, byte for byte as it arrived (up to 64 KiB)",
        responses=[404])
def rejection_body(rejection_id: int) -> Any:
    rejection = get_session().get(VendorRejection, rejection_id)
    if rejection is None:
        raise NotFound(N_("No such refused camera event."), code="REJECTION_UNKNOWN")
    # Bytes a camera chose are never rendered by the browser: a download only.
    return Response(rejection.body, mimetype="application/octet-stream", headers={
        "Content-Disposition": f"attachment; filename=camera-event-{rejection.id}.bin",
        "X-Content-Type-Options": "nosniff"})


def init_app(app: Any) -> None:
    app.register_blueprint(bp)
    register_nav("cameras.camera_page", N_("Cameras"), CAMERA_ROLES, order=65)
