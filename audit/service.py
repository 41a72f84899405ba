"""Audit use cases shared by the CLI, the API and pages."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from models import AuditEvent
from models.db import read_only

from .chain import Anchor, VerifyResult, verify


def verify_chain(engine: Engine, *, start_seq: int = 1, end_seq: int | None = None,
                 progress: Callable[[int], None] | None = None,
                 anchors: Sequence[Anchor] = ()) -> VerifyResult:
    # A connection of its own, outside any ORM transaction: verify only reads, and on
    # PostgreSQL a long read must not hold the locks a request session would.
    from dataclasses import replace

    from .chain import pending_count

    with read_only(engine).connect() as conn:
        result = verify(conn, start_seq=start_seq, end_seq=end_seq, progress=progress,
                        anchors=anchors)
        return replace(result, waiting=pending_count(conn))


def events_for_trip(session: Session, trip_id: int) -> list[AuditEvent]:
    return list(session.scalars(
        select(AuditEvent).where(AuditEvent.trip_id == trip_id).order_by(AuditEvent.seq)
    ))


def event_dict(event: AuditEvent) -> dict[str, Any]:
    import json

    return {
        "seq": event.seq, "at": event.at.isoformat(), "actor_kind": event.actor_kind,
        "actor_id": event.actor_id, "actor_name": event.actor_name, "action": event.action,
        "subject_kind": event.subject_kind, "subject_id": event.subject_id,
        "trip_id": event.trip_id, "vehicle_id": event.vehicle_id, "person_id": event.person_id,
        "enterprise_id": event.enterprise_id, "lane_id": event.lane_id, "plate": event.plate,
        "payload": json.loads(event.payload), "prev_hash": event.prev_hash, "hash": event.hash,
    }
