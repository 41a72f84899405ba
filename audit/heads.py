"""What a signed checkpoint states, in either format the park has issued: a signed
note over a Merkle tree head (audit.note), or, before the tree, signed JSON over the
hash chain's head. Pure: the offline verifier and the server read checkpoints the
same way."""

from __future__ import annotations

import json
from dataclasses import dataclass

from parkgate.signing import SignatureRejected
from parkgate.signing import verify as verify_signature

from . import note

CHECKPOINT_KIND = "parkgate.audit.checkpoint"


@dataclass(frozen=True)
class SignedHead:
    """What a checkpoint states once its signature verifies, in either format."""
    seq: int
    chain_hash: str
    root: bytes | None  # None: a checkpoint from before the tree
    at: str
    head: note.TreeHead | None = None


def open_checkpoint(text: str, public_key: str) -> SignedHead:
    """A checkpoint as issued (a signed note, or the older signed JSON), verified
    against the park's public key; SignatureRejected otherwise."""
    if note.is_note(text):
        try:
            head = note.open_note(text, public_key)
        except note.NoteRejected as exc:
            raise SignatureRejected(str(exc)) from exc
        return SignedHead(head.size, head.chain_hash, head.root, head.at.isoformat(), head)
    try:
        signed = verify_signature(json.loads(text), public_key)
    except (ValueError, RecursionError) as exc:  # RecursionError: "[[[[…" two thousand deep
        raise SignatureRejected("neither a signed note nor a signed checkpoint") from exc
    if signed.get("kind") != CHECKPOINT_KIND:
        raise SignatureRejected("not an audit checkpoint")
    return SignedHead(int(signed["seq"]), str(signed["hash"]), None, str(signed["at"]))
