"""Where cameras push their plate events, as real devices send them:

- a lane's URL with a device token (`/api/v1/lanes/<lane>/anpr/<vendor>?token=…`):
  Hikvision ISAPI and Dahua JSON, for cameras configured with a URL per lane;
- Dahua ITC's fixed ITSAPI paths (`/NotificationInfo/TollgateInfo`, `…/KeepAlive`,
  `…/DeviceInfo`), HTTP Digest, the lane found by the device's DeviceID in the camera
  registry;
- GA/T 1400 (`/VIID/System/Register`, `…/Keepalive`, `…/UnRegister`,
  `/VIID/MotorVehicles`), HTTP Digest on every request, each object's DeviceID a
  camera of the registering platform.

Every event of a push is decided (a batch, each in its own transaction); a vehicle
without a readable plate is held (G06); a picture that cannot be kept is dropped
and counted, never the read; a camera clock that cannot be trusted is overruled by
the arrival time, kept beside it. Every push is counted by vendor and outcome; a
refused one is kept (gateway.cameras.reject) for the integrator.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from apiflask import APIBlueprint
from flask import current_app, jsonify, request

from auth.access import camera_auth, current_principal, query_token, require
from auth.principal import Principal
from auth.roles import Role
from camera_adapters import dahua, gat1400, hikvision
from camera_adapters.vendor_common import (
    MAX_BODY_BYTES,
    VendorEvent,
    VendorPayloadError,
    settle,
)
from kernel import clock
from kernel.errors import N_, BadRequest, NotFound, PayloadTooLarge
from models import Camera
from parkgate.database import get_session, get_uow
from parkgate.inputs import raw_body
from parkgate.metrics import VENDOR_EVENTS, VENDOR_PICTURES_DROPPED

from . import cameras, digest
from .runtime import GateRuntime
from .service import GateResult, ReadRequest, authorise_lane, process_read_once

log = logging.getLogger(__name__)

bp = APIBlueprint("camera_push", __name__, tag="Cameras")
GATE_STAFF = (Role.ADMIN, Role.GATE_OPERATOR)
PARSERS: dict[str, Callable[..., list[VendorEvent]]] = {"hikvision": hikvision.parse,
                                                        "dahua": dahua.parse}


def _runtime() -> GateRuntime:
    return current_app.extensions["parkgate.gate"]


def _body() -> bytes:
    declared = request.content_length
    if declared is not None and declared > MAX_BODY_BYTES:
        raise PayloadTooLarge(N_("The camera event is larger than %(limit)s bytes."),
                              params={"limit": MAX_BODY_BYTES})
    body = request.stream.read(MAX_BODY_BYTES + 1)
    if len(body) > MAX_BODY_BYTES:
        raise PayloadTooLarge(N_("The camera event is larger than %(limit)s bytes."),
                              params={"limit": MAX_BODY_BYTES})
    return body


def _refuse(vendor: str, exc: VendorPayloadError, body: bytes, camera: Camera | None = None
            ) -> BadRequest | PayloadTooLarge:
    """Count and keep a refused push; the problem to answer with."""
    VENDOR_EVENTS.labels(vendor, "refused").inc()
    session = get_session()
    cameras.reject(session, vendor=vendor, path=request.path, code=exc.code, detail=exc.message,
                   content_type=request.content_type, body=body, camera=camera)
    session.commit()
    error = PayloadTooLarge if exc.code == "PAYLOAD_TOO_LARGE" else BadRequest
    return error(N_("The camera event could not be read: %(detail)s"), code=exc.code,
                 params={"detail": exc.message})


# A payload of the right format but an unexpected shape or impossible values (a number
# where a list belongs, a plate colour "²", a time zone "+99:00") trips the parsers in
# these ways: the camera's fault, refused like any malformed push, never a 500.
SHAPE_ERRORS = (AttributeError, TypeError, KeyError, ValueError)


def bad_shape(exc: Exception) -> VendorPayloadError:
    return VendorPayloadError("VENDOR_BAD_SHAPE", f"unexpected event structure: {exc}")


def decide_events(events: list[VendorEvent], lane_code: str, principal: Principal,
                  backlog: timedelta) -> list[GateResult]:
    """Each event that names a vehicle, decided at the lane; heartbeats counted."""
    results = []
    received = clock.now()
    for event in events:
        if not event.decides:
            VENDOR_EVENTS.labels(event.vendor, "ignored").inc()
            continue
        if event.picture_dropped:
            VENDOR_PICTURES_DROPPED.labels(event.vendor, event.picture_dropped).inc()
            log.warning("%s event %s: picture dropped (%s), the read is kept", event.vendor,
                        event.event_id, event.picture_dropped)
        seen_at, overruled = settle(event.camera_time, received, backlog)
        read = event.to_read(lane_code, seen_at)
        camera_clock: dict[str, Any] = {"camera_time": event.raw_time}
        if overruled:
            camera_clock["camera_clock_overruled"] = True
        req = ReadRequest(
            lane=lane_code, read_id=read.read_id, plate=read.plate, colour=read.colour,
            confidence=read.confidence, seen_at=read.seen_at,
            crop_jpeg_b64=base64.b64encode(read.crop_jpeg).decode() if read.crop_jpeg else None,
            scene_jpeg_b64=base64.b64encode(read.scene_jpeg).decode()
            if read.scene_jpeg else None,
            source="vendor", details=camera_clock)
        result = process_read_once(get_uow(), principal, req, _runtime())
        VENDOR_EVENTS.labels(event.vendor, "replayed" if result.replayed else "decided").inc()
        results.append(result)
    return results


def _answer(results: list[GateResult], ignored: str | None) -> Any:
    from .api import passage_out

    if not results:
        return {"ignored": ignored or "no plate"}, 200
    if len(results) == 1:
        result = results[0]
        return passage_out(result.passage, replayed=result.replayed, folded=result.folded,
                           trip=result.trip), 200 if (result.replayed or result.folded) else 201
    return {"items": [passage_out(r.passage, replayed=r.replayed, folded=r.folded, trip=r.trip)
                      for r in results]}, 201


# --- a lane's URL, with a device token -----------------------------------------------------------

@bp.post("/api/v1/lanes/<lane_code>/anpr/<vendor>")
@raw_body
@query_token
@require(Role.DEVICE, *GATE_STAFF)
@bp.doc(summary="A plate event pushed by a vendor ANPR camera (hikvision, dahua)",
        description="Hikvision ISAPI EventNotificationAlert (XML in any declared charset, "
                    "JSON, or multipart with the pictures) or Dahua JSON (Picture upload, "
                    "Events, or the RPC2 eventList: every event of a batch). The device "
                    "token may be given as ?token= for cameras that cannot send headers. "
                    "Heartbeats are acknowledged (200, ignored); a vehicle without a "
                    "readable plate is held for the operator; a malformed body is 400, an "
                    "oversized one 413.",
        responses=[200, 201, 400, 403, 404, 413])
def post_vendor_event(lane_code: str, vendor: str) -> Any:
    if vendor not in PARSERS:
        raise NotFound(N_("Unknown camera vendor %(vendor)s; use hikvision or dahua."),
                       code="VENDOR_UNKNOWN", params={"vendor": vendor[:20]})
    # The lane first: another lane's token learns nothing, not even that a heartbeat
    # was understood.
    lane = _runtime().lane(get_session(), lane_code[:32])
    authorise_lane(current_principal(), lane)
    body = _body()
    try:
        if not body.strip():
            raise VendorPayloadError("VENDOR_EMPTY", "the body is empty")
        events = PARSERS[vendor](body, request.content_type or "")
    except VendorPayloadError as exc:
        raise _refuse(vendor, exc, body) from exc
    except SHAPE_ERRORS as exc:
        raise _refuse(vendor, bad_shape(exc), body) from exc
    results = decide_events(events, lane.code, current_principal(),
                            timedelta(hours=lane.backlog_hours))
    return _answer(results, events[0].ignored if events else None)


# --- devices that sign with HTTP Digest ------------------------------------------------------------

def _secret() -> str:
    return current_app.config["SECRET_KEY"]


def _challenge(vendor: str, stale: bool = False) -> Any:
    VENDOR_EVENTS.labels(vendor, "unauthorised").inc()
    response = jsonify({"type": "https://parkgate.dev/problems/camera_unauthorised",
                        "title": "CAMERA_UNAUTHORISED", "status": 401,
                        "code": "CAMERA_UNAUTHORISED",
                        "detail": "Sign the request with HTTP Digest as the camera registered "
                                  "in ParkGate."})
    response.status_code = 401
    response.mimetype = "application/problem+json"
    response.headers["WWW-Authenticate"] = digest.challenge(_secret(), stale=stale)
    return response


class _Challenged(Exception):
    def __init__(self, response: Any) -> None:
        super().__init__("digest challenge")
        self.response = response


def _signed_camera(vendor: str) -> Camera:
    camera, stale = cameras.authenticated(get_session(), vendor,
                                          request.headers.get("Authorization"), request.method,
                                          request.full_path.rstrip("?"), _secret())
    if camera is None:
        raise _Challenged(_challenge(vendor, stale))
    return camera


def _device_camera(session: Any, vendor: str, signed: Camera, device_id: str) -> Camera | None:
    """The registry's camera for a device id in a push: the signing camera itself, or a
    camera registered under the same credentials (a platform pushing for its cameras)."""
    if not device_id or device_id == signed.device_id:
        return signed
    if not device_id.isprintable():
        return None  # no registered camera has such an id (a lone surrogate, a control)
    other = cameras.find(session, vendor, device_id)
    return other if other is not None and other.username == signed.username else None


def _challenge_guard(view: Callable[..., Any]) -> Callable[..., Any]:
    from functools import wraps

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return view(*args, **kwargs)
        except _Challenged as challenged:
            return challenged.response

    return wrapper


# --- Dahua ITSAPI ------------------------------------------------------------------------------------

@bp.post("/NotificationInfo/<any(TollgateInfo, KeepAlive, DeviceInfo):message>")
@raw_body
@camera_auth
@_challenge_guard
@bp.doc(summary="Dahua ITC platform push (ITSAPI): TollgateInfo, KeepAlive, DeviceInfo",
        description="HTTP Digest as the camera registered in ParkGate (vendor dahua, its "
                    "DeviceID); the lane is the registry's for the device.",
        responses=[200, 201, 400, 401, 404, 409])
def dahua_notification(message: str) -> Any:
    session = get_session()
    camera = _signed_camera("dahua")
    body = _body()
    now = clock.now()
    try:
        events = dahua.parse(body, request.content_type or "application/json",
                             zone=cameras.zone_of(camera))
    except VendorPayloadError as exc:
        raise _refuse("dahua", exc, body, camera) from exc
    except SHAPE_ERRORS as exc:
        raise _refuse("dahua", bad_shape(exc), body, camera) from exc
    cameras.heard(camera, now, event=message == "TollgateInfo")
    session.commit()
    if message == "KeepAlive":
        VENDOR_EVENTS.labels("dahua", "ignored").inc()
        return {"Active": True, "DeviceID": camera.device_id}, 200
    if not any(e.decides for e in events):
        VENDOR_EVENTS.labels("dahua", "ignored").inc()
        return {"Result": True, "Message": "OK", "DeviceID": camera.device_id}, 200
    device = (events[0].device or "").split("/")[0]
    target = _device_camera(session, "dahua", camera, device)
    lane = cameras.lane_code(session, target) if target is not None else None
    if lane is None:
        no_lane = VendorPayloadError("CAMERA_NO_LANE", f"device {device or camera.device_id} "
                                     "has no lane in ParkGate's camera registry")
        VENDOR_EVENTS.labels("dahua", "unknown_device").inc()
        cameras.reject(session, vendor="dahua", path=request.path, code=no_lane.code,
                       detail=no_lane.message, content_type=request.content_type, body=body,
                       camera=camera)
        session.commit()
        return {"Result": False, "Message": no_lane.message}, 409
    info = _runtime().lane(session, lane)
    assert target is not None  # it has a lane
    results = decide_events(events, lane, cameras.principal_of(target), timedelta(
        hours=info.backlog_hours))
    first = results[0].passage if results else None
    # The camera retries until it sees Result true.
    return {"Result": True, "Message": "OK", "DeviceID": camera.device_id,
            "PlateNumber": first.plate if first else None,
            "OpenStrobe": bool(first and (first.override_action or first.action) == "OPEN")}, 200


# --- GA/T 1400 ----------------------------------------------------------------------------------------

VIID_JSON = "application/VIID+JSON; charset=utf-8"
KEEPALIVE_WINDOW = timedelta(minutes=10)


def _viid(payload: dict[str, Any], status: int = 200) -> Any:
    response = jsonify(payload)
    response.status_code = status
    response.headers["Content-Type"] = VIID_JSON
    return response


def _viid_status(code: str = gat1400.OK, text: str = "OK", object_id: str = "") -> Any:
    return _viid({"ResponseStatusObject": gat1400.status(request.path, code, text, object_id,
                                                         clock.now())})


def _viid_camera() -> Camera:
    """A GA/T 1400 device: signed with Digest, or (as devices do between keep-alives)
    naming itself in User-Identify from the address it registered from, within the
    keep-alive window."""
    session = get_session()
    if request.headers.get("Authorization"):
        return _signed_camera("gat1400")
    named = (request.headers.get("User-Identify") or "").strip()
    camera = cameras.find(session, "gat1400", named) if named else None
    if camera is not None and camera.registered_at is not None and \
            camera.registered_from == (request.remote_addr or "") and \
            clock.now() - (camera.last_heard_at or camera.registered_at) <= KEEPALIVE_WINDOW:
        return camera
    raise _Challenged(_challenge("gat1400"))


def _viid_object(body: bytes, wrapper: str, camera: Camera) -> str | Any:
    try:
        device = gat1400.device_of(body, request.content_type or "", wrapper)
    except VendorPayloadError as exc:
        VENDOR_EVENTS.labels("gat1400", "refused").inc()
        return _viid_status(gat1400.INVALID_JSON_CONTENT, exc.message)
    if device != camera.device_id:
        return _viid_status(gat1400.OTHER_ERROR, "DeviceID is not the signing device's")
    return device


@bp.post("/VIID/System/Register")
@raw_body
@camera_auth
@_challenge_guard
@bp.doc(summary="GA/T 1400 device registration (HTTP Digest)", responses=[200, 401])
def viid_register() -> Any:
    camera = _signed_camera("gat1400")
    device = _viid_object(_body(), "RegisterObject", camera)
    if not isinstance(device, str):
        return device
    now = clock.now()
    camera.registered_at, camera.registered_from = now, (request.remote_addr or "")[:64]
    cameras.heard(camera, now, event=False)
    get_session().commit()
    return _viid_status(object_id=device)


@bp.post("/VIID/System/Keepalive")
@raw_body
@camera_auth
@_challenge_guard
@bp.doc(summary="GA/T 1400 keep-alive", responses=[200, 401])
def viid_keepalive() -> Any:
    camera = _viid_camera()
    device = _viid_object(_body(), "KeepaliveObject", camera)
    if not isinstance(device, str):
        return device
    cameras.heard(camera, clock.now(), event=False)
    get_session().commit()
    return _viid_status(object_id=device)


@bp.post("/VIID/System/UnRegister")
@raw_body
@camera_auth
@_challenge_guard
@bp.doc(summary="GA/T 1400 un-registration (HTTP Digest)", responses=[200, 401])
def viid_unregister() -> Any:
    camera = _signed_camera("gat1400")
    device = _viid_object(_body(), "UnRegisterObject", camera)
    if not isinstance(device, str):
        return device
    camera.registered_at = None
    get_session().commit()
    return _viid_status(object_id=device)


@bp.post("/VIID/MotorVehicles")
@raw_body
@camera_auth
@_challenge_guard
@bp.doc(summary="GA/T 1400 motor-vehicle objects: each a plate read at its device's lane",
        responses=[200, 400, 401])
def viid_motor_vehicles() -> Any:
    session = get_session()
    camera = _viid_camera()
    body = _body()
    try:
        vehicles = gat1400.motor_vehicles(body, request.content_type or "",
                                          zone=cameras.zone_of(camera))
    except VendorPayloadError as exc:
        raise _refuse("gat1400", exc, body, camera) from exc
    except SHAPE_ERRORS as exc:
        raise _refuse("gat1400", bad_shape(exc), body, camera) from exc
    now = clock.now()
    cameras.heard(camera, now, event=True)
    session.commit()
    answers = []
    for vehicle in vehicles:
        target = _device_camera(session, "gat1400", camera, vehicle.device_id)
        lane = cameras.lane_code(session, target) if target is not None else None
        if vehicle.event is None or lane is None:
            problem = vehicle.problem or f"device {vehicle.device_id} has no lane in ParkGate"
            VENDOR_EVENTS.labels("gat1400", "unknown_device" if vehicle.event else "refused").inc()
            cameras.reject(session, vendor="gat1400", path=request.path,
                           code="CAMERA_NO_LANE" if vehicle.event else "VENDOR_BAD_SHAPE",
                           detail=problem, content_type=request.content_type, body=body,
                           camera=camera)
            session.commit()
            answers.append(gat1400.status(request.path, gat1400.OTHER_ERROR, problem,
                                          vehicle.object_id, now))
            continue
        info = _runtime().lane(session, lane)
        assert target is not None  # it has a lane
        decide_events([vehicle.event], lane, cameras.principal_of(target),
                      timedelta(hours=info.backlog_hours))
        answers.append(gat1400.status(request.path, gat1400.OK, "OK", vehicle.object_id, now))
    return _viid({"ResponseStatusListObject": {"ResponseStatusObject": answers}})


def init_app(app: Any) -> None:
    app.register_blueprint(bp)
