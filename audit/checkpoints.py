"""Signed checkpoints of the chain's head (Ed25519 over seq, hash, count and time).

A checkpoint is what makes the chain tamper-evident to someone outside the
database: once an auditor holds one, rewriting history up to it (even re-hashing
every later row) no longer matches what the park signed.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from models import AuditCheckpoint, AuditEvent
from parkgate.errors import N_, NotFound
from parkgate.signing import SignatureRejected, public_key_b64, sign
from parkgate.signing import verify as verify_signature
from parkgate.uow import Actor, UnitOfWork

from .chain import Anchor, VerifyResult
from .offline import CHECKPOINT_KIND
from .service import verify_chain

ACTION = "audit.checkpoint"


def latest(session: Session) -> AuditCheckpoint | None:
    return session.scalar(select(AuditCheckpoint).order_by(AuditCheckpoint.id.desc()).limit(1))


def _head(session: Session) -> AuditEvent | None:
    return session.scalar(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1))


def issue(uow: UnitOfWork, key: Ed25519PrivateKey, actor: Actor, now: datetime,
          *, force: bool = False) -> AuditCheckpoint | None:
    """Sign the current head; None when nothing was appended since the last
    checkpoint but that checkpoint's own event (an idle park is not re-signed)."""
    session = uow.session
    head = _head(session)
    if head is None:
        return None
    last = latest(session)
    if not force and last is not None and (
            head.seq == last.seq or (head.seq == last.seq + 1 and head.action == ACTION)):
        return None
    body = {"kind": CHECKPOINT_KIND, "seq": head.seq, "hash": head.hash,
            "count": head.seq, "at": now.isoformat(), "public_key": public_key_b64(key)}
    envelope = sign(key, body)
    checkpoint = AuditCheckpoint(seq=head.seq, hash=head.hash, at=now,
                                 envelope=json.dumps(envelope, ensure_ascii=False))
    session.add(checkpoint)
    session.flush()
    uow.audit(ACTION, actor, subject_kind="audit_checkpoint", subject_id=str(checkpoint.id),
              payload={"seq": head.seq, "hash": head.hash, "version": envelope["version"]})
    return checkpoint


def envelope_of(checkpoint: AuditCheckpoint) -> dict[str, Any]:
    return json.loads(checkpoint.envelope)


def get(session: Session, checkpoint_id: int) -> AuditCheckpoint:
    checkpoint = session.get(AuditCheckpoint, checkpoint_id)
    if checkpoint is None:
        raise NotFound(N_("No such checkpoint."), code="CHECKPOINT_NOT_FOUND")
    return checkpoint


def verify_against(engine: Engine, checkpoint: AuditCheckpoint, public_key: str,
                   progress: Any = None) -> VerifyResult:
    """The live chain up to the checkpoint, recomputed, must end on the signed hash."""
    try:
        signed = verify_signature(envelope_of(checkpoint), public_key)
    except SignatureRejected:
        return VerifyResult(False, 0, 0, "", checkpoint.seq, "the checkpoint's signature "
                                                            "does not verify")
    result = verify_chain(engine, end_seq=signed["seq"], progress=progress)
    if not result.ok:
        return result
    if result.head_seq != signed["seq"] or result.head_hash != signed["hash"]:
        return VerifyResult(False, result.checked, result.head_seq, result.head_hash,
                            signed["seq"], "the chain does not end on the signed hash "
                                           "(history rewritten)")
    return result


def anchors(session: Session, public_key: str) -> tuple[list[Anchor], VerifyResult | None]:
    """Every signed checkpoint as an anchor for verify(), oldest first; or the first one
    whose signature does not verify (a forged or altered checkpoint row)."""
    out: list[Anchor] = []
    covers_from = 1
    rows = session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.seq,
                                                            AuditCheckpoint.id))
    for checkpoint in rows:
        try:
            signed = verify_signature(envelope_of(checkpoint), public_key)
        except SignatureRejected:
            return out, VerifyResult(False, 0, 0, "", checkpoint.seq,
                                     f"signed checkpoint {checkpoint.id}: its signature does "
                                     "not verify", checkpoint_id=checkpoint.id,
                                     checkpoint_range=(covers_from, checkpoint.seq))
        out.append(Anchor(checkpoint.id, int(signed["seq"]), str(signed["hash"]), covers_from))
        covers_from = int(signed["seq"]) + 1
    return out, None


def verify_all(engine: Engine, session: Session, public_key: str, *, start_seq: int = 1,
               end_seq: int | None = None, progress: Any = None) -> VerifyResult:
    """The chain recomputed over a range and held against every signed checkpoint in
    it: the default of the CLI, the API and the page. The session only reads the
    checkpoints; it is ended before the long read."""
    pins, forged = anchors(session, public_key)
    session.commit()  # verifying reads on its own connection: hold no lock meanwhile
    if forged is not None:
        return forged
    return verify_chain(engine, start_seq=start_seq, end_seq=end_seq, progress=progress,
                        anchors=pins)
