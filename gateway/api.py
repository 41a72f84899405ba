"""JSON API of the gate: plate reads in, decisions out; overrides; persons on foot;
the crop images; the roster; the agents' permit snapshot."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from apiflask import APIBlueprint
from flask import Response, current_app, request
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import select

from auth.access import current_principal, require
from auth.roles import Role
from kernel.errors import N_, NotFound
from models import Passage, PassageImage, Trip, User
from parkgate.database import get_session, get_uow
from rules.plates import foreign_characters

from . import repository as repo
from .runtime import GateRuntime
from .service import (
    ReadRequest,
    authorise_lane,
    confirm_crew,
    enter_plate,
    enter_trailer,
    override,
    process_person,
    process_read_once,
)

bp = APIBlueprint("gate_api", __name__, url_prefix="/api/v1", tag="Gate")

Colour = Literal["blue", "yellow", "green", "yellow_green", "white", "black"]
Action = Literal["OPEN", "DENY", "DIVERT_TO_LOT", "HOLD_FOR_OPERATOR"]
ReadId = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:\-]+$")
GATE_STAFF = (Role.ADMIN, Role.GATE_OPERATOR)


class OfflineReason(BaseModel):
    model_config = ConfigDict(extra="ignore")
    code: str = Field(max_length=40)
    params: dict[str, str] = Field(default_factory=dict)


class OfflineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: Action
    reasons: list[OfflineReason] = Field(default_factory=list, max_length=40)
    decided_at: AwareDatetime


class ReadIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    read_id: str = ReadId
    plate: str = Field(default="", max_length=20, description=(
        "Empty when the camera saw a vehicle but could read no plate (G06): the passage is "
        "held for the operator"))
    plate_colour: Colour | None = None
    confidence: float = Field(ge=0, le=1)
    seen_at: AwareDatetime
    crop_jpeg_b64: str | None = Field(default=None, max_length=700_000)
    scene_jpeg_b64: str | None = Field(default=None, max_length=700_000, description=(
        "The frame the plate was read in, downscaled, the plate marked: the booth shows "
        "it beside the crop"))
    trailer_plate: str | None = Field(default=None, max_length=20)
    trailer_confidence: float | None = Field(default=None, ge=0, le=1)
    crew_ids: list[str] = Field(default_factory=list, max_length=6)
    source: Literal["camera", "manual", "vendor", "agent"] = "camera"
    offline: OfflineIn | None = None

    @field_validator("plate", "trailer_plate")
    @classmethod
    def _plate_characters(cls, value: str | None) -> str | None:
        # A misread plate is still a read (the engine holds or denies it); text with
        # characters no plate has did not come from a plate.
        if value is not None and (foreign := foreign_characters(value)):
            raise ValueError(f"no plate holds {foreign!r}: provinces, A-Z, 0-9 and "
                             "挂学警港澳领使应急 only")
        return value


class PersonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    credential: str = Field(min_length=1, max_length=64,
                            description="National ID number or qualification certificate number")
    read_id: str | None = Field(default=None, min_length=1, max_length=64,
                                pattern=r"^[A-Za-z0-9._:\-]+$")


class TrailerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    trailer_plate: str = Field(min_length=1, max_length=20)


class PlateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    plate: str = Field(min_length=1, max_length=20)
    plate_colour: Colour | None = None


class OverrideIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: Literal["OPEN", "DENY"]
    reason: str = Field(min_length=1, max_length=500)


class ReasonOut(BaseModel):
    code: str
    rule: str
    severity: str
    message_zh: str
    message_en: str
    params: dict[str, str]


class TripRef(BaseModel):
    id: int
    code: str
    state: str


class OverrideOut(BaseModel):
    action: str
    reason: str | None
    by: str | None
    at: datetime | None


class ResolvedOut(BaseModel):
    how: str
    at: AwareDatetime


class ReceiptOut(BaseModel):
    url: str
    status: Literal["pending", "linked", "signed"]
    leaf_index: int | None = None
    checkpoint_id: int | None = None


class PassageOut(BaseModel):
    id: int
    lane: str
    area: str
    direction: str
    subject_kind: str
    action: str
    barrier: Literal["lift", "shut"]
    reasons: list[ReasonOut]
    message_zh: str | None
    message_en: str | None
    led: str | None
    plate: str | None
    plate_colour: str | None
    confidence: float | None = Field(description="The plate read's confidence, 0–1")
    trailer_plate: str | None
    vehicle_id: int | None
    person_id: int | None
    trip: TripRef | None
    seen_at: datetime
    decided_at: datetime
    crossed: bool
    offline: bool
    read_count: int
    crop: bool
    scene: bool = Field(default=False, description="A scene picture is kept (scene.jpg)")
    override: OverrideOut | None
    resolved: ResolvedOut | None = Field(default=None, description=(
        "A hold an operator dealt with: override, completed (decided again) or "
        "crew_confirmed"))
    replayed: bool = False
    folded: bool = False
    receipt: ReceiptOut = Field(description=(
        "This decision's audit receipt: where to fetch it in full (events, checkpoint, "
        "inclusion proofs), and on GET of one passage its leaf index and the checkpoint "
        "first containing it (a fresh decision is still being linked: pending)"))


class PassageList(BaseModel):
    items: list[PassageOut]


class ListQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    limit: int = Field(default=20, ge=1, le=200)


def runtime() -> GateRuntime:
    return current_app.extensions["parkgate.gate"]


def passage_out(passage: Passage, *, replayed: bool = False, folded: bool = False,
                trip: Any = None, receipt: dict[str, Any] | None = None) -> dict[str, Any]:
    """`trip`: the passage's trip as the caller holds it (anything with id, code and
    state); read if not given."""
    from audit.receipts import url as receipt_url

    session = get_session()
    lane = runtime().lane_by_id(session, passage.lane_id)
    if trip is None or trip.id != passage.trip_id:
        trip = session.get(Trip, passage.trip_id) if passage.trip_id else None
    by = session.get(User, passage.override_by_id) if passage.override_by_id else None
    effective = passage.override_action or passage.action
    return {
        "id": passage.id, "lane": lane.code if lane else "", "area": passage.area,
        "direction": passage.direction, "subject_kind": passage.subject_kind,
        "action": passage.action, "barrier": "lift" if effective == "OPEN" else "shut",
        "reasons": [{"code": r["code"], "rule": r["rule"], "severity": r.get("severity", ""),
                     "message_zh": r.get("message_zh", ""), "message_en": r.get("message_en", ""),
                     "params": r.get("params", {})} for r in passage.reasons],
        "message_zh": passage.message_zh, "message_en": passage.message_en,
        "led": (passage.details or {}).get("led"), "plate": passage.plate,
        "plate_colour": passage.plate_colour, "confidence": passage.confidence,
        "trailer_plate": passage.trailer_plate,
        "vehicle_id": passage.vehicle_id, "person_id": passage.person_id,
        "trip": {"id": trip.id, "code": trip.code, "state": trip.state} if trip else None,
        "seen_at": passage.seen_at, "decided_at": passage.decided_at,
        "crossed": passage.crossed, "offline": passage.offline, "read_count": passage.read_count,
        "crop": passage.crop_sha256 is not None,
        "scene": bool((passage.details or {}).get("scene_sha256")),
        "override": {"action": passage.override_action, "reason": passage.override_reason,
                     "by": by.username if by else None, "at": passage.override_at}
        if passage.override_action else None,
        "resolved": {"how": passage.resolution, "at": passage.resolved_at}
        if passage.resolved_at else None,
        "replayed": replayed, "folded": folded,
        # A decision's own answer does not wait for the log: its events are linked
        # right after the commit.
        "receipt": receipt or {"url": receipt_url(passage.id), "status": "pending"},
    }


@bp.post("/lanes/<lane_code>/reads")
@require(Role.DEVICE, *GATE_STAFF)
@bp.input(ReadIn, location="json", arg_name="body")
@bp.output(PassageOut, status_code=201)
@bp.doc(summary="A plate read at a lane: the decision, the barrier command",
        description="Idempotent on read_id: a retried read gets its first answer (200).",
        responses=[200, 403, 404, 422])
def post_read(lane_code: str, body: ReadIn) -> Any:
    principal = current_principal()
    req = ReadRequest(
        lane=lane_code[:32], read_id=body.read_id, plate=body.plate, colour=body.plate_colour,
        confidence=body.confidence, seen_at=body.seen_at, crop_jpeg_b64=body.crop_jpeg_b64,
        scene_jpeg_b64=body.scene_jpeg_b64, trailer_plate=body.trailer_plate,
        trailer_confidence=body.trailer_confidence,
        crew_ids=body.crew_ids, source=body.source,
        offline_action=body.offline.action if body.offline else None,
        offline_reasons=[r.model_dump() for r in body.offline.reasons] if body.offline else [])
    result = process_read_once(get_uow(), principal, req, runtime())
    status = 200 if (result.replayed or result.folded) else 201
    return passage_out(result.passage, replayed=result.replayed, folded=result.folded,
                       trip=result.trip), status


@bp.post("/lanes/<lane_code>/persons")
@require(Role.DEVICE, *GATE_STAFF)
@bp.input(PersonIn, location="json", arg_name="body")
@bp.output(PassageOut, status_code=201)
@bp.doc(summary="A person at a lane, on foot: checked in or out", responses=[403, 404, 422])
def post_person(lane_code: str, body: PersonIn) -> Any:
    result = process_person(get_uow(), current_principal(), lane_code[:32], body.credential,
                            runtime(), read_id=body.read_id)
    return passage_out(result.passage, replayed=result.replayed), 200 if result.replayed else 201


@bp.get("/lanes/<lane_code>/passages")
@require(Role.DEVICE, *GATE_STAFF, Role.AUDITOR)
@bp.input(ListQuery, location="query")
@bp.output(PassageList)
@bp.doc(summary="Latest passages at a lane (the booth's feed)", responses=[404])
def lane_passages(lane_code: str, query_data: ListQuery) -> Any:
    session = get_session()
    lane = runtime().lane(session, lane_code)
    principal = current_principal()
    if principal.has(Role.DEVICE) and not principal.has(*GATE_STAFF):
        authorise_lane(principal, lane)
    rows = session.scalars(select(Passage).where(Passage.lane_id == lane.id)
                           .order_by(Passage.id.desc()).limit(query_data.limit))
    return {"items": [passage_out(p) for p in rows]}


@bp.get("/passages/<id:passage_id>")
@require(*GATE_STAFF, Role.AUDITOR, Role.DISPATCHER)
@bp.output(PassageOut)
@bp.doc(summary="One passage", responses=[404])
def get_passage(passage_id: int) -> Any:
    from audit.receipts import summary

    passage = get_session().get(Passage, passage_id)
    if passage is None:
        raise NotFound(N_("No such passage."))
    return passage_out(passage, receipt=summary(get_session(), passage_id))


@bp.post("/passages/<id:passage_id>/override")
@require(*GATE_STAFF)
@bp.input(OverrideIn, location="json", arg_name="body")
@bp.output(PassageOut)
@bp.doc(summary="Open or deny against the engine, with a reason (audited)",
        responses=[403, 404, 422])
def post_override(passage_id: int, body: OverrideIn) -> Any:
    passage = override(get_uow(), current_principal(), passage_id, body.action, body.reason,
                       runtime())
    return passage_out(passage)


@bp.post("/passages/<id:passage_id>/confirm-crew")
@require(*GATE_STAFF, Role.DISPATCHER)
@bp.output(PassageOut, status_code=201)
@bp.doc(summary="The crew's papers were checked: decide again", responses=[403, 404])
def post_confirm_crew(passage_id: int) -> Any:
    result = confirm_crew(get_uow(), current_principal(), passage_id, runtime())
    return passage_out(result.passage, replayed=result.replayed)


@bp.post("/passages/<id:passage_id>/trailer")
@require(*GATE_STAFF)
@bp.input(TrailerIn, location="json", arg_name="body")
@bp.output(PassageOut, status_code=201)
@bp.doc(summary="The operator typed the trailer plate the camera missed: decide again (G18)",
        responses=[403, 404, 422])
def post_trailer(passage_id: int, body: TrailerIn) -> Any:
    result = enter_trailer(get_uow(), current_principal(), passage_id, body.trailer_plate,
                           runtime())
    return passage_out(result.passage, replayed=result.replayed), 200 if result.replayed else 201


@bp.post("/passages/<id:passage_id>/plate")
@require(*GATE_STAFF)
@bp.input(PlateIn, location="json", arg_name="body")
@bp.output(PassageOut, status_code=201)
@bp.doc(summary="The operator read the plate the camera could not, or confirmed an unsure "
                 "read: decide again, every check included (G06, G08)",
        responses=[403, 404, 409, 422])
def post_plate(passage_id: int, body: PlateIn) -> Any:
    result = enter_plate(get_uow(), current_principal(), passage_id, body.plate,
                         body.plate_colour, runtime())
    return passage_out(result.passage, replayed=result.replayed), 200 if result.replayed else 201


@bp.get("/lanes/<lane_code>/pending")
@require(Role.DEVICE, *GATE_STAFF, Role.AUDITOR)
@bp.output(PassageList)
@bp.doc(summary="The lane's holds waiting for an operator, oldest first (the booth's "
                "work queue)", responses=[404])
def lane_pending(lane_code: str) -> Any:
    from .pending import pending

    session = get_session()
    lane = runtime().lane(session, lane_code)
    principal = current_principal()
    if principal.has(Role.DEVICE) and not principal.has(*GATE_STAFF):
        authorise_lane(principal, lane)
    return {"items": [passage_out(p) for p in pending(session, lane.id)]}


def _picture(sha256: str | None) -> Any:
    image = get_session().get(PassageImage, sha256) if sha256 else None
    if image is None:
        raise NotFound(N_("No image for this passage."))
    return Response(image.jpeg, mimetype="image/jpeg",
                    headers={"Cache-Control": "private, max-age=3600"})


@bp.get("/passages/<id:passage_id>/crop.jpg")
@require(*GATE_STAFF, Role.AUDITOR, Role.DISPATCHER)
@bp.doc(summary="The plate crop of a passage (while retention keeps it)", responses=[404])
def get_crop(passage_id: int) -> Any:
    passage = get_session().get(Passage, passage_id)
    return _picture(passage.crop_sha256 if passage else None)


@bp.get("/passages/<id:passage_id>/scene.jpg")
@require(*GATE_STAFF, Role.AUDITOR, Role.DISPATCHER)
@bp.doc(summary="The scene a passage's plate was read in, the plate marked (while "
                "retention keeps it)", responses=[404])
def get_scene(passage_id: int) -> Any:
    passage = get_session().get(Passage, passage_id)
    return _picture((passage.details or {}).get("scene_sha256") if passage else None)


@bp.get("/roster")
@require(Role.ADMIN, Role.GATE_OPERATOR, Role.DISPATCHER, Role.AUDITOR)
@bp.doc(summary="Who and what is inside the park now (the emergency roster)")
def roster_api() -> Any:
    from . import roster

    return roster.build(get_session()).as_dict()


@bp.get("/lanes/<lane_code>/snapshot")
@require(Role.DEVICE, Role.ADMIN)
@bp.doc(summary="The signed permit snapshot a gate agent decides with when offline",
        description="ETag is the snapshot's version; send If-None-Match to get 304.")
def lane_snapshot(lane_code: str) -> Any:

    from kernel import clock

    from . import permits

    session = get_session()
    lane = repo.lane_by_code(session, lane_code[:32])
    authorise_lane(current_principal(), runtime().lane(session, lane_code))
    envelope = permits.sign(current_app.extensions["parkgate.snapshot_key"],
                            permits.build(session, lane, clock.now()))
    if request.headers.get("If-None-Match", "").strip('"') == envelope["version"]:
        return Response(status=304, headers={"ETag": f'"{envelope["version"]}"'})
    response = current_app.json.response(envelope)
    response.headers["ETag"] = f'"{envelope["version"]}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/snapshot-key")
@require(Role.DEVICE, Role.ADMIN)
@bp.doc(summary="The centre's public key for verifying permit snapshots (Ed25519, base64)")
def snapshot_key() -> Any:
    from . import permits

    return {"public_key": permits.public_key_b64(current_app.extensions["parkgate.snapshot_key"])}


def init_app(app: Any) -> None:
    from . import permits

    app.extensions.setdefault("parkgate.gate", GateRuntime())
    # Tests and the demo reach the simulated barriers through here.
    app.extensions["parkgate.controllers"] = app.extensions["parkgate.gate"].controllers
    settings = app.config["PARKGATE_SETTINGS"]
    app.extensions["parkgate.snapshot_key"] = permits.load_or_create_key(
        settings.signing_key_path)
    app.register_blueprint(bp)
