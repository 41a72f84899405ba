"""Exports as excerpts: a filtered export carries, per row, its Merkle audit path to a
signed checkpoint, and its preamble names the filter and that checkpoint, so
`python -m audit.offline` proves each row with no database (audit.offline says what
it checks). A whole export is a run of the chain and needs no proofs."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func
from sqlalchemy.orm import Session

from kernel.uow import Actor, UnitOfWork, use_case
from models import AuditCheckpoint, AuditEvent

from . import checkpoints, export, tree
from .query import AuditFilter, events_statement, iter_events

PROOF_BATCH = 500


@use_case
def checkpoint_for(uow: UnitOfWork, f: AuditFilter, key: Ed25519PrivateKey, actor: Actor,
                   now: datetime) -> AuditCheckpoint | None:
    """The tree head an excerpt is proven against: the latest, or a new one when the
    latest does not cover every matching event yet."""
    session = uow.session
    last_match = session.scalar(events_statement(session, f)
                                .with_only_columns(func.max(AuditEvent.seq)))
    latest = checkpoints.latest_tree_head(session)
    if last_match is None or (latest is not None and latest.seq >= last_match):
        return latest
    return checkpoints.issue(uow, key, actor, now, force=True) or latest


def preamble(f: AuditFilter, checkpoint: AuditCheckpoint | None) -> dict[str, str]:
    if f.is_empty:
        return export.preamble({}, None, None)
    return export.preamble(f.as_params(), checkpoint.seq if checkpoint else None,
                           checkpoint.envelope if checkpoint else None)


def proof_size(f: AuditFilter, size: int | None) -> int | None:
    """The tree size an export's rows are proven against, None when they carry no
    proofs (a whole export is a run of the chain; an empty tree proves nothing)."""
    return size if size and not f.is_empty else None


def cells(session: Session, f: AuditFilter, size: int | None) -> Iterator[list[str]]:
    """Every matching event as export cells, with its audit path to the tree of `size`
    when it is in that tree (an excerpt); proofs are made a batch at a time."""
    tree_size = proof_size(f, size)
    if tree_size is None:
        for event in iter_events(session, f):
            yield export.event_cells(event)
        return
    batch: list[Any] = []
    for event in iter_events(session, f):
        batch.append(event)
        if len(batch) == PROOF_BATCH:
            yield from _proven(session, batch, tree_size)
            batch = []
    yield from _proven(session, batch, tree_size)


def csv_text(session: Session, f: AuditFilter, size: int | None, meta: dict[str, str]
             ) -> Iterator[str]:
    """The export as CSV text; rows without proofs are rendered by the database
    (audit.export_sql), the same bytes event_cells would give."""
    if proof_size(f, size) is None:
        from .export_sql import csv_lines

        yield export.csv_head(meta)
        yield from csv_lines(session, f)
        return
    yield from export.csv_chunks(cells(session, f, size), meta)


def _proven(session: Session, batch: list[Any], size: int) -> Iterator[list[str]]:
    inside = [e for e in batch if e[0] <= size]
    paths = dict(zip((e[0] for e in inside),
                     tree.inclusion_proofs(session, [e[0] - 1 for e in inside], size),
                     strict=True))
    for event in batch:
        yield export.event_cells(event, paths.get(event[0]))
