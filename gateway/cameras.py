"""The camera registry at work: which lane a device's events are for, its Digest
credentials, when it was last heard, refused events kept for the integrator, and the
watch that calls a silent camera an alarm."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from auth.principal import Principal
from auth.roles import Role
from kernel import clock
from kernel.errors import N_
from kernel.uow import Actor, UnitOfWork
from models import Alarm, Camera, Lane, VendorRejection
from registry import pii

from . import digest

REJECTION_BODY_MAX = 64 * 1024
REJECTIONS_KEPT = 5000  # newest first; a camera stuck sending garbage cannot fill the disk
REJECTION_RETENTION = timedelta(days=7)


def find(session: Session, vendor: str, device_id: str) -> Camera | None:
    return session.scalar(select(Camera).where(Camera.vendor == vendor,
                                               Camera.device_id == device_id.strip()[:64],
                                               Camera.retired_at.is_(None)))


def by_username(session: Session, vendor: str, username: str) -> Camera | None:
    return session.scalar(select(Camera).where(Camera.vendor == vendor,
                                               Camera.username == username[:64],
                                               Camera.retired_at.is_(None))
                          .order_by(Camera.id).limit(1))


def stored_ha1(camera: Camera) -> str | None:
    return pii.decrypt(pii.current_key(), camera.secret_cipher) if camera.secret_cipher else None


def secret_of(username: str | None, password: str | None, key: str | None = None
              ) -> str | None:
    """What the registry stores for a camera's password: its Digest hash, encrypted."""
    if not username or not password:
        return None
    return pii.encrypt(key or pii.current_key(), digest.ha1(username, password))


def authenticated(session: Session, vendor: str, header: str | None, method: str, uri: str,
                  secret: str) -> tuple[Camera | None, bool]:
    """The camera that signed this request with HTTP Digest (None if none did), and
    whether its nonce had merely expired (answer with a fresh challenge, stale=true)."""
    creds = digest.parse(header)
    if creds is None:
        return None, False
    fresh = digest.nonce_fresh(secret, creds.nonce)
    if fresh is None:
        return None, False
    camera = by_username(session, vendor, creds.username)
    ha1 = stored_ha1(camera) if camera is not None else None
    if camera is None or ha1 is None or not digest.verify(creds, ha1, method, uri):
        return None, False
    if not fresh:
        return None, True
    return camera, False


def principal_of(camera: Camera) -> Principal:
    """A camera acting at its lane, as a device token would."""
    return Principal(user_id=0, username=f"camera-{camera.id}",
                     display_name=f"{camera.vendor} {camera.device_id}",
                     roles=frozenset({Role.DEVICE.value}), lane_id=camera.lane_id, via="camera")


def zone_of(camera: Camera | None) -> timezone:
    return timezone(timedelta(minutes=camera.utc_offset_min if camera else 480))


def heard(camera: Camera, now: datetime, *, event: bool) -> None:
    camera.last_heard_at = now
    if event:
        camera.last_event_at = now


def lane_code(session: Session, camera: Camera) -> str | None:
    lane = session.get(Lane, camera.lane_id) if camera.lane_id else None
    return lane.code if lane is not None and lane.retired_at is None else None


def reject(session: Session, *, vendor: str, path: str, code: str, detail: str | None,
           content_type: str | None, body: bytes, camera: Camera | None = None) -> None:
    """Keep what a camera sent that ParkGate refused, bounded, for the integrator."""
    session.add(VendorRejection(
        received_at=clock.now(), vendor=vendor[:16], path=path[:200], code=code[:40],
        detail=(detail or "")[:500] or None, content_type=(content_type or "")[:200] or None,
        body=body[:REJECTION_BODY_MAX], truncated=len(body) > REJECTION_BODY_MAX,
        camera_id=camera.id if camera else None))


def purge_rejections(session: Session, now: datetime) -> int:
    """Rejections past retention, and beyond the newest REJECTIONS_KEPT."""
    # A DELETE's result is a CursorResult, which has rowcount.
    gone = session.execute(delete(VendorRejection).where(  # type: ignore[attr-defined]
        VendorRejection.received_at < now - REJECTION_RETENTION)).rowcount or 0
    cutoff = session.scalar(select(VendorRejection.id).order_by(VendorRejection.id.desc())
                            .offset(REJECTIONS_KEPT).limit(1))
    if cutoff is not None:
        gone += session.execute(delete(VendorRejection).where(  # type: ignore[attr-defined]
            VendorRejection.id <= cutoff)).rowcount or 0
    return gone


@dataclass(frozen=True)
class Silence:
    camera_id: int
    vendor: str
    device_id: str
    lane_id: int | None
    since: datetime | None


def silent(session: Session, now: datetime) -> list[Silence]:
    """Cameras with a lane that have sent neither event nor heartbeat for longer than
    their `silent_after_min` (a camera never heard counts from when it was added)."""
    out = []
    for camera in session.scalars(select(Camera).where(Camera.retired_at.is_(None),
                                                       Camera.lane_id.is_not(None))):
        last = camera.last_heard_at or camera.created_at
        if now - last > timedelta(minutes=camera.silent_after_min):
            out.append(Silence(camera.id, camera.vendor, camera.device_id, camera.lane_id,
                               camera.last_heard_at))
    return out


def watch(uow: UnitOfWork, now: datetime) -> dict[str, int]:
    """One CAMERA_SILENT alarm per silent camera; resolved once it is heard again."""
    from dispatch.alarms import raise_alarm

    session = uow.session
    quiet = {s.camera_id: s for s in silent(session, now)}
    open_alarms = list(session.scalars(select(Alarm).where(Alarm.kind == "CAMERA_SILENT",
                                                           Alarm.resolved_at.is_(None))))
    alarmed = set()
    for alarm in open_alarms:
        if alarm.camera_id in quiet:
            alarmed.add(alarm.camera_id)
        else:
            alarm.resolved_at = now
    raised = 0
    for camera_id, s in quiet.items():
        if camera_id in alarmed:
            continue
        names = {"camera": camera_id, "vendor": s.vendor, "device": s.device_id}
        raise_alarm(uow, "CAMERA_SILENT",
                    N_("Camera #%(camera)s %(vendor)s %(device)s: silent since %(since_at)s.")
                    if s.since else
                    N_("Camera #%(camera)s %(vendor)s %(device)s: never heard from."),
                    args={**names, "since_at": s.since} if s.since else names,
                    actor=Actor.system("camera-watch"), lane_id=s.lane_id, camera_id=camera_id)
        raised += 1
    uow.commit()
    return {"silent": len(quiet), "raised": raised}


def counts(session: Session) -> dict[str, int]:
    return {"cameras": session.scalar(select(func.count()).select_from(Camera).where(
        Camera.retired_at.is_(None))) or 0}


# --- what the camera page and API show ------------------------------------------------------------

def _as_json(row: object) -> dict[str, object]:
    """A status row as the API answers it: instants in ISO 8601."""
    return {k: (v.isoformat() if isinstance(v, datetime) else v)
            for k, v in row.__dict__.items()}


@dataclass(frozen=True)
class CameraStatus:
    id: int
    vendor: str
    model: str | None
    device_id: str
    protocol: str
    lane: str | None
    last_heard_at: datetime | None
    last_event_at: datetime | None
    registered_at: datetime | None
    state: str  # ok | silent | never_heard | no_lane
    alarm: bool  # silent past its limit: a CAMERA_SILENT alarm

    def as_dict(self) -> dict[str, object]:
        return _as_json(self)


def statuses(session: Session, now: datetime) -> list[CameraStatus]:
    lanes = {lane.id: lane.code for lane in session.scalars(select(Lane))}
    quiet = {s.camera_id for s in silent(session, now)}
    out = []
    for camera in session.scalars(select(Camera).where(Camera.retired_at.is_(None))
                                  .order_by(Camera.vendor, Camera.device_id)):
        lane = lanes.get(camera.lane_id) if camera.lane_id else None
        if lane is None:
            state = "no_lane"
        elif camera.last_heard_at is None:
            state = "never_heard"
        else:
            state = "silent" if camera.id in quiet else "ok"
        out.append(CameraStatus(camera.id, camera.vendor, camera.model, camera.device_id,
                                camera.protocol, lane, camera.last_heard_at,
                                camera.last_event_at, camera.registered_at, state,
                                camera.id in quiet))
    return out


@dataclass(frozen=True)
class TokenReader:
    """A lane's reader that posts with a device token (the gate agent, a camera on the
    lane URL): no camera record, so it is known by its token and by what it read."""

    token_id: int
    name: str
    user: str
    lane: str
    last_used_at: datetime | None
    last_read_at: datetime | None
    state: str = "ok"  # ok | quiet | never_heard

    def as_dict(self) -> dict[str, object]:
        return _as_json(self)


# A gate agent fetches its lane's permits every minute (gateway.agent.runner): five
# minutes without a call and it has stopped, or lost the network.
TOKEN_QUIET_AFTER = timedelta(minutes=5)


def token_readers(session: Session, now: datetime) -> list[TokenReader]:
    """Live device tokens bound to a lane, quiet ones first, with the newest read a
    camera sent the lane (the booth's typed plates and vendor pushes are not theirs)."""
    from models import ApiToken, Passage, User

    last_read = (select(func.max(Passage.seen_at)).where(Passage.lane_id == ApiToken.lane_id,
                                                         Passage.source == "camera")
                 .correlate(ApiToken).scalar_subquery())
    rows = session.execute(
        select(ApiToken.id, ApiToken.name, User.username, Lane.code, ApiToken.last_used_at,
               last_read)
        .join(User, User.id == ApiToken.user_id).join(Lane, Lane.id == ApiToken.lane_id)
        .where(ApiToken.revoked_at.is_(None), User.active.is_(True), Lane.retired_at.is_(None),
               (ApiToken.expires_at.is_(None)) | (ApiToken.expires_at > now))
        .order_by(Lane.code, ApiToken.name))
    out = [TokenReader(*row, state=_token_state(row.last_used_at, now)) for row in rows]
    return sorted(out, key=lambda r: r.state == "ok")


def _token_state(last_used: datetime | None, now: datetime) -> str:
    if last_used is None:
        return "never_heard"
    return "quiet" if now - last_used > TOKEN_QUIET_AFTER else "ok"


PREVIEW_CHARS = 4000


def preview(rejection: VendorRejection) -> str:
    """The refused body as text an integrator can read: decoded as UTF-8, or GB18030
    (what Chinese firmware sends), non-text bytes shown as escapes; pictures cut."""
    body = rejection.body[:PREVIEW_CHARS * 2]
    for charset in ("utf-8", "gb18030"):
        try:
            text = body.decode(charset)
            break
        except UnicodeDecodeError:
            continue
    else:
        text = body.decode("utf-8", errors="backslashreplace")
    return text[:PREVIEW_CHARS]


def recent_rejections(session: Session, *, vendor: str | None = None,
                      camera_id: int | None = None, before_id: int | None = None,
                      limit: int = 50) -> list[VendorRejection]:
    stmt = select(VendorRejection).order_by(VendorRejection.id.desc()).limit(limit)
    if vendor:
        stmt = stmt.where(VendorRejection.vendor == vendor)
    if camera_id:
        stmt = stmt.where(VendorRejection.camera_id == camera_id)
    if before_id:
        stmt = stmt.where(VendorRejection.id < before_id)
    return list(session.scalars(stmt))


def rejection_out(rejection: VendorRejection) -> dict[str, object]:
    return {"id": rejection.id, "received_at": rejection.received_at.isoformat(),
            "vendor": rejection.vendor, "path": rejection.path,
            "camera_id": rejection.camera_id, "code": rejection.code,
            "detail": rejection.detail, "content_type": rejection.content_type,
            "size": len(rejection.body), "truncated": rejection.truncated,
            "preview": preview(rejection)}
