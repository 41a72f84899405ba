"""Consistency proofs between signed checkpoints: the later tree extends the earlier
one, so nothing the earlier checkpoint covers was rewritten (RFC 9162 §2.1.4). The
proof is made from the stored tree and checked here against both signed roots
before it is handed out, the same check the offline verifier makes."""

from __future__ import annotations

import base64
from typing import Any

from sqlalchemy.orm import Session

from kernel.errors import N_, BadRequest, NotFound
from models import AuditCheckpoint
from parkgate.signing import SignatureRejected

from . import checkpoints, merkle, note, tree
from .heads import SignedHead, open_checkpoint


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _opened(checkpoint: AuditCheckpoint, public_key: str) -> SignedHead:
    if not checkpoints.is_tree_head(checkpoint):
        raise BadRequest(N_("Checkpoint %(id)s was signed before the Merkle tree; consistency "
                            "is proven between tree heads only."),
                         code="CHECKPOINT_NOT_TREE_HEAD", params={"id": checkpoint.id})
    try:
        return open_checkpoint(checkpoint.envelope, public_key)
    except SignatureRejected as exc:
        raise BadRequest(N_("Checkpoint %(id)s: its signature does not verify."),
                         code="CHECKPOINT_SIGNATURE", params={"id": checkpoint.id}) from exc


def proof_between(session: Session, old: SignedHead, new: SignedHead) -> dict[str, Any]:
    """The proof from `old` to `new` as the offline verifier reads it, and whether it
    holds against both signed roots."""
    assert old.root is not None and new.root is not None
    if old.seq > new.seq:
        raise BadRequest(N_("The earlier checkpoint covers more events than the later one."),
                         code="CHECKPOINT_ORDER")
    path = tree.consistency_proof(session, old.seq, new.seq)
    consistent = merkle.verify_consistency(old.seq, new.seq, old.root, new.root, path)
    return {"old_size": old.seq, "new_size": new.seq, "old_root": _b64(old.root),
            "new_root": _b64(new.root), "proof": [_b64(p) for p in path],
            "consistent": consistent,
            "problem": None if consistent else
            f"the tree of {new.seq} does not extend the tree of {old.seq}: history before it "
            "was rewritten"}


def between(session: Session, old: AuditCheckpoint, new: AuditCheckpoint | None,
            public_key: str) -> dict[str, Any]:
    if new is None:
        raise NotFound(N_("No checkpoint has been signed yet."), code="CHECKPOINT_NOT_FOUND")
    out = proof_between(session, _opened(old, public_key), _opened(new, public_key))
    return {"old_checkpoint_id": old.id, "new_checkpoint_id": new.id, **out}


def _looks_like_a_checkpoint(text: str) -> bool:
    """A signed note, or the older signed JSON: something that could carry a signature
    at all (whether it verifies is the next question)."""
    import json

    if note.is_note(text):
        return True
    try:
        return isinstance(json.loads(text), dict)
    except (ValueError, RecursionError):
        return False


def check_kept(session: Session, kept_text: str, public_key: str) -> dict[str, Any]:
    """A checkpoint an auditor kept, held against the park's latest: it must carry the
    park's signature, and the latest tree must extend it."""
    if not _looks_like_a_checkpoint(kept_text):
        raise BadRequest(N_("That is not a checkpoint: paste a checkpoint's whole text as "
                            "it was downloaded (a signed note)."), code="CHECKPOINT_UNREADABLE")
    try:
        kept = open_checkpoint(kept_text, public_key)
    except SignatureRejected as exc:
        raise BadRequest(N_("The checkpoint's signature does not verify with this park's "
                            "key: it was altered, or signed by another park."),
                         code="CHECKPOINT_SIGNATURE") from exc
    if kept.root is None:
        raise BadRequest(N_("This checkpoint was signed before the Merkle tree; consistency "
                            "is proven between tree heads only."),
                         code="CHECKPOINT_NOT_TREE_HEAD")
    latest = checkpoints.latest_tree_head(session)
    if latest is None:
        raise NotFound(N_("No checkpoint has been signed yet."), code="CHECKPOINT_NOT_FOUND")
    now = _opened(latest, public_key)
    if kept.seq > now.seq:
        return {"old_size": kept.seq, "new_size": now.seq, "consistent": False,
                "new_checkpoint_id": latest.id, "proof": [],
                "problem": f"the kept checkpoint signs {kept.seq} events; the park's latest "
                           f"signs only {now.seq}: events were removed"}
    return {"new_checkpoint_id": latest.id, **proof_between(session, kept, now)}
