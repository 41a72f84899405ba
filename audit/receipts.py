"""Receipts: what a driver or an enterprise disputing a gate decision keeps to prove,
later and without trusting the park's word, what the park recorded.

A passage's receipt names each of its audit events (the decision, any override or
crew check) by leaf index, with the event's row as the export writes it and, once a
checkpoint covers it, that first checkpoint (signed note) and the event's audit path
to it: `python -m audit.offline` checks the row against the note, and a consistency
proof carries it to any later checkpoint.
"""

from __future__ import annotations

import base64
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kernel.errors import N_, NotFound
from models import AuditCheckpoint, AuditEvent, AuditPending, Passage

from . import checkpoints, export, tree
from .chain import BODY_COLUMNS


def _first_covering(session: Session, seq: int) -> AuditCheckpoint | None:
    return session.scalar(select(AuditCheckpoint)
                          .where(AuditCheckpoint.root.is_not(None), AuditCheckpoint.seq >= seq)
                          .order_by(AuditCheckpoint.seq, AuditCheckpoint.id).limit(1))


def _row(event: AuditEvent) -> dict[str, str]:
    values = (event.seq, event.at, *(getattr(event, c) for c in BODY_COLUMNS),
              event.trip_prev_leaf, event.prev_hash, event.hash)
    return dict(zip(export.COLUMNS, export.event_cells(values), strict=True))


def url(passage_id: int) -> str:
    return f"/api/v1/passages/{passage_id}/receipt"


def summary(session: Session, passage_id: int) -> dict[str, Any]:
    """The receipt in brief for a passage's own answer: its decision's leaf index and
    the checkpoint first containing it, once there are (two indexed reads)."""
    seq = session.scalar(select(AuditEvent.seq).where(
        AuditEvent.subject_kind == "passage", AuditEvent.subject_id == str(passage_id))
        .order_by(AuditEvent.seq).limit(1))
    checkpoint = _first_covering(session, seq) if seq is not None else None
    return {"url": url(passage_id), "leaf_index": None if seq is None else seq - 1,
            "checkpoint_id": checkpoint.id if checkpoint else None,
            "status": "pending" if seq is None else "signed" if checkpoint else "linked"}


def for_passage(session: Session, passage_id: int) -> dict[str, Any]:
    if session.get(Passage, passage_id) is None:
        raise NotFound(N_("No such passage."), code="PASSAGE_NOT_FOUND")
    subject = (AuditEvent.subject_kind == "passage", AuditEvent.subject_id == str(passage_id))
    events = list(session.scalars(select(AuditEvent).where(*subject).order_by(AuditEvent.seq)))
    waiting = session.scalar(select(AuditPending.id).where(
        AuditPending.subject_kind == "passage", AuditPending.subject_id == str(passage_id))
        .limit(1)) is not None
    out = []
    for event in events:
        checkpoint = _first_covering(session, event.seq)
        entry: dict[str, Any] = {"seq": event.seq, "leaf_index": event.seq - 1,
                                 "action": event.action, "at": event.at.isoformat(),
                                 "hash": event.hash, "row": _row(event),
                                 "checkpoint": None, "proof": None}
        if checkpoint is not None:
            path = tree.inclusion_proofs(session, [event.seq - 1], checkpoint.seq)[0]
            entry["checkpoint"] = {**checkpoints.as_dict(checkpoint), "note": checkpoint.envelope}
            entry["proof"] = [base64.b64encode(p).decode() for p in path]
        out.append(entry)
    if waiting or not events:
        status = "pending"  # committed, linked into the log within a second
    elif all(e["checkpoint"] for e in out):
        status = "signed"
    else:
        status = "linked"  # in the log; the next checkpoint (hourly, or on demand) signs it
    return {"passage_id": passage_id, "status": status, "events": out}
