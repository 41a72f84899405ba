"""Auditors' JSON API: search, export, trip timelines, checkpoints, verification,
retention, and unmasking personal data."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from apiflask import APIBlueprint
from flask import Response, current_app
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from auth.access import current_principal, require
from auth.roles import Role
from kernel import clock
from kernel.errors import N_, BadRequest
from parkgate.database import get_db, get_session, get_uow, read_session, release_session
from parkgate.signing import public_key_b64
from parkgate.types import ChainPosition, ParkDateTime, RecordId
from rules.documents import PARK_TZ, park_date

from . import checkpoints, export, timeline
from .query import DECISIONS, AuditFilter, events_page, passages_page
from .retention import purge_images
from .service import event_dict

bp = APIBlueprint("audit_api", __name__, url_prefix="/api/v1", tag="Audit")

AUDIT_ROLES = (Role.ADMIN, Role.AUDITOR)


class FilterIn(BaseModel):
    """Filters shared by the lists and the export; times without a zone are park time."""

    model_config = ConfigDict(extra="forbid")
    plate: str | None = Field(default=None, max_length=16)
    person: str | None = Field(default=None, max_length=40,
                               description="masked or full national ID, or certificate no.")
    enterprise_id: RecordId | None = None
    carrier_id: RecordId | None = None
    gate_id: RecordId | None = None
    lane_id: RecordId | None = None
    action: str | None = Field(default=None, max_length=64,
                               description='an audit action, or a prefix ending in "*"')
    decision: str | None = Field(default=None, pattern="^(" + "|".join(DECISIONS) + ")$")
    reason: str | None = Field(default=None, max_length=40, pattern="^[A-Z0-9_]+$")
    override: bool | None = None
    offline: bool | None = None
    since: ParkDateTime | None = None
    until: ParkDateTime | None = None
    trip_id: RecordId | None = None
    seq_from: ChainPosition | None = Field(default=None, description="events from this position")
    seq_to: ChainPosition | None = Field(default=None, description="events up to this position")

    @field_validator("plate", "person", "action", "reason", "decision", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("reason", mode="before")
    @classmethod
    def _reason_in_capitals(cls, value: Any) -> Any:
        # Codes are written in capitals; "no_booking" means NO_BOOKING.
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("since", "until")
    @classmethod
    def _park_time(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=PARK_TZ)
        return value

    def to_filter(self) -> AuditFilter:
        f = AuditFilter.of(self.model_dump())
        if f.since and f.until and f.until <= f.since:
            raise BadRequest(N_("The end of the time range is before its start."),
                             code="TIME_RANGE")
        if f.seq_from and f.seq_to and f.seq_to < f.seq_from:
            raise BadRequest(N_("The event range ends (#%(end)s) before it starts "
                                "(#%(start)s)."), code="SEQ_RANGE",
                             params={"start": f.seq_from, "end": f.seq_to})
        return f


class PageIn(FilterIn):
    before: ChainPosition | None = None
    limit: int = Field(default=50, ge=1, le=500)


class ExportIn(FilterIn):
    format: str = Field(default="csv", pattern="^(csv|xlsx)$")


class VerifyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    start: ChainPosition = Field(default=1, alias="from")
    end: ChainPosition | None = Field(default=None, alias="to")
    checkpoint_id: RecordId | None = None

    @model_validator(mode="after")
    def _in_order(self) -> VerifyIn:
        if self.end is not None and self.end < self.start:
            raise ValueError("'to' must not be before 'from'")
        return self


class PurgeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    days: int | None = Field(default=None, ge=1, le=36500)


class UnmaskIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=500)


@bp.get("/audit/events")
@require(*AUDIT_ROLES)
@bp.input(PageIn, location="query", arg_name="query")
@bp.doc(summary="Audit events, newest first, filtered; page on with next_before")
def list_events(query: PageIn) -> Any:
    rows, next_before = events_page(get_session(), query.to_filter(), before=query.before,
                                    limit=query.limit)
    return {"items": [event_dict(e) for e in rows], "next_before": next_before}


@bp.get("/audit/passages")
@require(*AUDIT_ROLES)
@bp.input(PageIn, location="query", arg_name="query")
@bp.doc(summary="Gate passages and their decisions, newest first, filtered")
def list_passages(query: PageIn) -> Any:
    from gateway.api import passage_out

    rows, next_before = passages_page(get_session(), query.to_filter(), before=query.before,
                                      limit=query.limit)
    return {"items": [passage_out(p) for p in rows], "next_before": next_before}


def export_response(f: AuditFilter, fmt: str) -> Response:
    """The matching events as a download, streamed from the database in batches; a
    filtered one is an excerpt, each row proven against a signed checkpoint (which is
    signed now if none covers the rows yet)."""
    from . import excerpt

    size = None
    meta = excerpt.preamble(f, None)
    if not f.is_empty:
        uow = get_uow()
        checkpoint = excerpt.checkpoint_for(uow, f, current_app.extensions["parkgate.snapshot_key"],
                                            current_principal().actor, clock.now())
        meta = excerpt.preamble(f, checkpoint)
        size = checkpoint.seq if checkpoint else None
    release_session()
    session = read_session()

    def closing(pieces: Iterator[Any]) -> Iterator[Any]:
        try:
            yield from pieces
        finally:
            session.close()

    name = f"audit-{'excerpt-' if not f.is_empty else ''}{park_date(clock.now()).isoformat()}"
    if fmt == "xlsx":
        return Response(closing(export.xlsx_chunks(excerpt.cells(session, f, size), meta)),
                        headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'},
                        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    return Response(closing(excerpt.csv_text(session, f, size, meta)), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})


@bp.get("/audit/events/export")
@require(*AUDIT_ROLES)
@bp.input(ExportIn, location="query", arg_name="query")
@bp.doc(summary="Export matching events (CSV or XLSX) with each one's chain position and "
                "hash, for `python -m audit.offline`",
        description="A filtered export is an excerpt: its preamble names the filter and the "
                    "signed checkpoint (signed now if none covers the rows yet), and each row "
                    "carries its Merkle leaf index and inclusion proof.")
def export_events(query: ExportIn) -> Any:
    return export_response(query.to_filter(), query.format)


@bp.get("/audit/trips/<id:trip_id>/timeline")
@require(*AUDIT_ROLES)
@bp.doc(summary="A trip from booking to exit: every read, decision and action in order",
        responses=[404])
def trip_timeline(trip_id: int) -> Any:
    return timeline.build(get_session(), trip_id).as_dict()


@bp.get("/audit/verify")
@require(*AUDIT_ROLES)
@bp.input(VerifyIn, location="query", arg_name="query")
@bp.doc(summary="Recompute the chain (all, a range, or up to a signed checkpoint)",
        description="Every signed checkpoint in the range is checked too: the first one the "
                    "chain no longer matches is named with the events it covers.")
def verify(query: VerifyIn) -> Any:
    engine = get_db().engine
    if query.checkpoint_id is not None:
        checkpoint = checkpoints.get(get_session(), query.checkpoint_id)
        release_session()  # a long read on its own connection: hold no lock meanwhile
        return checkpoints.verify_against(engine, checkpoint, _public_key()).as_dict()
    result = checkpoints.verify_all(engine, get_session(), _public_key(),
                                    start_seq=query.start, end_seq=query.end)
    release_session()
    return result.as_dict()


def _public_key() -> str:
    return public_key_b64(current_app.extensions["parkgate.snapshot_key"])


def checkpoint_out(c: Any) -> dict[str, Any]:
    return checkpoints.as_dict(c)


@bp.get("/audit/checkpoints")
@require(*AUDIT_ROLES)
@bp.doc(summary="Signed checkpoints, newest first")
def list_checkpoints() -> Any:
    from sqlalchemy import select

    from models import AuditCheckpoint

    rows = get_session().scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.id.desc())
                                 .limit(500))
    return {"items": [checkpoint_out(c) for c in rows], "public_key": _public_key(),
            "verifier_key": _verifier_key()}


@bp.get("/audit/checkpoints/<id:checkpoint_id>")
@require(*AUDIT_ROLES)
@bp.doc(summary="One signed checkpoint as issued (download it for the offline verifier)",
        description="A signed note (C2SP tlog-checkpoint: origin, tree size, root hash; "
                    "extension lines for the time and the hash chain's head), or signed "
                    "JSON for checkpoints issued before the Merkle tree.",
        responses=[404])
def get_checkpoint(checkpoint_id: int) -> Any:
    checkpoint = checkpoints.get(get_session(), checkpoint_id)
    mimetype = "text/plain" if checkpoints.is_tree_head(checkpoint) else "application/json"
    return Response(checkpoint.envelope, mimetype=mimetype, headers={
        "Content-Disposition": f'attachment; filename="{checkpoints.download_name(checkpoint)}"'})


@bp.post("/audit/checkpoints")
@require(*AUDIT_ROLES)
@bp.doc(summary="Sign a checkpoint of the Merkle tree's head now",
        description="At most one a minute park-wide (429 CHECKPOINT_TOO_SOON with "
                    "Retry-After); when nothing was appended since the latest, that one "
                    "is answered (200).", responses=[403, 429])
def create_checkpoint() -> Any:
    uow = get_uow()
    before = checkpoints.latest_tree_head(uow.session)
    issued = checkpoints.issue_on_demand(uow, current_app.extensions["parkgate.snapshot_key"],
                                         current_principal().actor, clock.now())
    return checkpoint_out(issued), (200 if before is not None and issued.id == before.id
                                    else 201)


class ConsistencyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    old: RecordId = Field(description="the checkpoint kept earlier (id)")
    new: RecordId | None = Field(default=None, description="a later checkpoint (id); "
                                 "default: the latest")


class ConsistencyCheckIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    checkpoint: str = Field(min_length=10, max_length=4000,
                            description="a checkpoint kept earlier, as issued (signed note)")


@bp.get("/audit/consistency")
@require(*AUDIT_ROLES)
@bp.input(ConsistencyIn, location="query", arg_name="query")
@bp.doc(summary="A consistency proof: the later checkpoint's tree extends the earlier's",
        description="For `python -m audit.offline consistency OLD NEW --proof FILE`.",
        responses=[400, 404])
def consistency(query: ConsistencyIn) -> Any:
    from . import consistency as proofs

    session = get_session()
    old = checkpoints.get(session, query.old)
    new = checkpoints.get(session, query.new) if query.new else checkpoints.latest_tree_head(session)
    return proofs.between(session, old, new, _public_key())


@bp.post("/audit/consistency")
@require(*AUDIT_ROLES)
@bp.input(ConsistencyCheckIn, arg_name="body")
@bp.doc(summary="Check a checkpoint kept earlier against the latest one: signature, and a "
                "consistency proof", responses=[400])
def check_consistency(body: ConsistencyCheckIn) -> Any:
    from . import consistency as proofs

    return proofs.check_kept(get_session(), body.checkpoint, _public_key())


def _verifier_key() -> str:
    from .note import verifier_key

    return verifier_key(checkpoints.origin(), current_app.extensions["parkgate.snapshot_key"])


@bp.get("/passages/<id:passage_id>/receipt")
@require(Role.ADMIN, Role.AUDITOR, Role.GATE_OPERATOR, Role.DISPATCHER)
@bp.doc(summary="A gate decision's receipt: its audit events' leaf indexes, and once "
                "signed, the checkpoint first containing each with its inclusion proof",
        description="status: pending (committed, linked within a second), linked (in the "
                    "log; the next checkpoint signs it), signed.", responses=[404])
def passage_receipt(passage_id: int) -> Any:
    from . import receipts

    return receipts.for_passage(get_session(), passage_id)


@bp.get("/audit/public-key")
@require(*AUDIT_ROLES)
@bp.doc(summary="The park's Ed25519 public key (base64) that signs checkpoints")
def public_key() -> Any:
    return {"public_key": _public_key(), "verifier_key": _verifier_key(),
            "origin": checkpoints.origin()}


@bp.post("/audit/retention/purge")
@require(Role.ADMIN)
@bp.input(PurgeIn, arg_name="body")
@bp.doc(summary="Delete plate crops older than the retention period (events stay)")
def purge(body: PurgeIn) -> Any:
    uow = get_uow()
    deleted = purge_images(uow, current_principal().actor, clock.now(), body.days)
    return {"images_deleted": deleted}


@bp.post("/persons/<id:person_id>/unmask")
@require(Role.ADMIN, Role.GATE_OPERATOR)
@bp.input(UnmaskIn, arg_name="body")
@bp.doc(summary="A person's national ID and phone in clear (audited, with a reason)",
        responses=[403, 404])
def unmask_person(person_id: int, body: UnmaskIn) -> Any:
    from registry.unmask import unmask

    shown = unmask(get_uow(), current_principal(), person_id, body.reason)
    return {"person_id": shown.person_id, "national_id": shown.national_id,
            "phone": shown.phone}
