"""Signed checkpoints: tree heads of the Merkle tree over the chain (audit.tree),
signed by the park's Ed25519 key as signed notes (audit.note), the format transparency
logs use.

A checkpoint is what makes the trail tamper-evident to someone outside the
database: once an auditor holds one, rewriting history up to it (even re-hashing
every later row) no longer matches what the park signed, and any excerpt of the
events it covers can be proven against it (inclusion proofs), as can a later
checkpoint (consistency proofs). Each note also names the hash chain's head at its
size, so the chain's own verification holds against it too. Checkpoints issued
before the tree (signed JSON over seq and hash) stay verifiable as they were.
"""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from kernel.errors import N_, BadRequest, NotFound, TooManyRequests
from kernel.uow import Actor, UnitOfWork, use_case
from models import AuditCheckpoint, AuditEvent
from parkgate.signing import SignatureRejected

from . import note, tree
from .chain import Anchor, VerifyResult
from .heads import open_checkpoint
from .service import verify_chain

ACTION = "audit.checkpoint"
# An auditor may ask for a checkpoint at most this often (park-wide): signing is
# harmless, but each one is an event and a publication.
ON_DEMAND_EVERY = timedelta(seconds=60)


def origin() -> str:
    """The log's name in its checkpoints (C2SP: a schema-less URL naming the log)."""
    return os.environ.get("PARKGATE_AUDIT_ORIGIN") or "parkgate.local/audit"


def latest(session: Session) -> AuditCheckpoint | None:
    return session.scalar(select(AuditCheckpoint).order_by(AuditCheckpoint.id.desc()).limit(1))


def latest_tree_head(session: Session) -> AuditCheckpoint | None:
    return session.scalar(select(AuditCheckpoint).where(AuditCheckpoint.root.is_not(None))
                          .order_by(AuditCheckpoint.seq.desc(), AuditCheckpoint.id.desc())
                          .limit(1))


def _idle_since(session: Session, last: AuditCheckpoint | None, size: int) -> bool:
    """Nothing was appended since `last` but its own event."""
    return last is not None and last.root is not None and (
        size == last.seq or (size == last.seq + 1 and session.scalar(
            select(AuditEvent.action).where(AuditEvent.seq == size)) == ACTION))


def issue(uow: UnitOfWork, key: Ed25519PrivateKey, actor: Actor, now: datetime,
          *, force: bool = False) -> AuditCheckpoint | None:
    """Sign the tree head over every event the tree covers; None when the log is
    empty, or (unless forced) when nothing was appended since the last checkpoint but
    that checkpoint's own event (an idle park is not re-signed)."""
    session = uow.session
    size = tree.covered(session)
    if size == 0:
        return None
    if not force and _idle_since(session, latest(session), size):
        return None
    chain_hash = session.scalar(select(AuditEvent.hash).where(AuditEvent.seq == size))
    head = note.TreeHead(origin(), size, tree.root(session, size), now, str(chain_hash))
    checkpoint = AuditCheckpoint(seq=size, hash=head.chain_hash, at=now,
                                 envelope=note.sign(head, key), root=head.root.hex())
    session.add(checkpoint)
    session.flush()
    uow.audit(ACTION, actor, subject_kind="audit_checkpoint", subject_id=str(checkpoint.id),
              payload={"size": size, "root": head.root.hex(), "chain_hash": head.chain_hash})
    return checkpoint


@use_case
def issue_on_demand(uow: UnitOfWork, key: Ed25519PrivateKey, actor: Actor,
                    now: datetime) -> AuditCheckpoint:
    """A checkpoint an auditor asked for: at most one per ON_DEMAND_EVERY park-wide
    (TooManyRequests with the seconds to wait); the latest one when the tree has not
    grown since."""
    last = latest_tree_head(uow.session)
    if last is not None and _idle_since(uow.session, last, tree.covered(uow.session)):
        return last
    if last is not None and now - last.at < ON_DEMAND_EVERY:
        wait = int((ON_DEMAND_EVERY - (now - last.at)).total_seconds()) + 1
        raise TooManyRequests(N_("A checkpoint was signed moments ago; ask again in "
                                 "%(seconds)s s."), code="CHECKPOINT_TOO_SOON",
                              params={"seconds": wait}, extra={"retry_after": wait})
    issued = issue(uow, key, actor, now, force=True)
    if issued is None:
        raise NotFound(N_("The audit trail is empty."), code="CHAIN_EMPTY")
    return issued


def is_tree_head(checkpoint: AuditCheckpoint) -> bool:
    return checkpoint.root is not None


def download_name(checkpoint: AuditCheckpoint) -> str:
    ext = "note" if is_tree_head(checkpoint) else "json"
    return f"checkpoint-{checkpoint.seq}.{ext}"


def as_dict(checkpoint: AuditCheckpoint) -> dict[str, Any]:
    return {"id": checkpoint.id, "seq": checkpoint.seq, "size": checkpoint.seq,
            "hash": checkpoint.hash, "root": checkpoint.root, "at": checkpoint.at.isoformat(),
            "format": "signed-note" if is_tree_head(checkpoint) else "signed-json",
            "published_at": checkpoint.published_at.isoformat()
            if checkpoint.published_at else None}


def get(session: Session, checkpoint_id: int) -> AuditCheckpoint:
    checkpoint = session.get(AuditCheckpoint, checkpoint_id)
    if checkpoint is None:
        raise NotFound(N_("No such checkpoint."), code="CHECKPOINT_NOT_FOUND")
    return checkpoint


def verify_against(engine: Engine, checkpoint: AuditCheckpoint, public_key: str,
                   progress: Any = None) -> VerifyResult:
    """The live chain up to the checkpoint, recomputed, must end on the signed hash."""
    try:
        signed = open_checkpoint(checkpoint.envelope, public_key)
    except SignatureRejected:
        return VerifyResult(False, 0, 0, "", checkpoint.seq, "the checkpoint's signature "
                                                            "does not verify")
    result = verify_chain(engine, end_seq=signed.seq, progress=progress)
    if not result.ok:
        return result
    if result.head_seq != signed.seq or result.head_hash != signed.chain_hash:
        return VerifyResult(False, result.checked, result.head_seq, result.head_hash,
                            signed.seq, "the chain does not end on the signed hash "
                                           "(history rewritten)")
    return replace(result, checkpoints_checked=1)  # the one it was held against


def anchors(session: Session, public_key: str) -> tuple[list[Anchor], VerifyResult | None]:
    """Every signed checkpoint as an anchor for verify(), oldest first; or the first one
    whose signature does not verify (a forged or altered checkpoint row)."""
    out: list[Anchor] = []
    covers_from = 1
    rows = session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.seq,
                                                            AuditCheckpoint.id))
    for checkpoint in rows:
        try:
            signed = open_checkpoint(checkpoint.envelope, public_key)
        except SignatureRejected:
            return out, VerifyResult(False, 0, 0, "", checkpoint.seq,
                                     f"signed checkpoint {checkpoint.id}: its signature does "
                                     "not verify", checkpoint_id=checkpoint.id,
                                     checkpoint_range=(covers_from, checkpoint.seq))
        out.append(Anchor(checkpoint.id, signed.seq, signed.chain_hash, covers_from))
        covers_from = signed.seq + 1
    return out, None


def verify_all(engine: Engine, session: Session, public_key: str, *, start_seq: int = 1,
               end_seq: int | None = None, progress: Any = None) -> VerifyResult:
    """The chain recomputed over a range and held against every signed checkpoint in
    it: the default of the CLI, the API and the page. The session only reads the
    checkpoints; it is ended before the long read."""
    if start_seq > 1:
        head = session.scalar(select(func.max(AuditEvent.seq))) or 0
        if start_seq > head:
            # Zero events checked is no proof of anything: say where the chain ends.
            raise BadRequest(N_("The chain holds events #1–#%(head)s; there is none from "
                                "#%(start)s on."), code="VERIFY_RANGE_EMPTY",
                             params={"head": head, "start": start_seq})
    pins, forged = anchors(session, public_key)
    session.commit()  # verifying reads on its own connection: hold no lock meanwhile
    if forged is not None:
        return forged
    return verify_chain(engine, start_seq=start_seq, end_seq=end_seq, progress=progress,
                        anchors=pins)
