"""Checkpoints as signed notes (C2SP signed-note / tlog-checkpoint), as the tools of
Certificate Transparency, Go's sumdb and Sigstore read them."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit import note
from audit.heads import open_checkpoint
from parkgate.signing import SignatureRejected, public_key_b64, sign

KEY = Ed25519PrivateKey.generate()
HEAD = note.TreeHead("parkgate.example/audit", 4711, bytes(range(32)),
                     datetime(2026, 12, 6, 3, 0, tzinfo=UTC), "ab" * 32)


def raw_public(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.Raw,
                                         serialization.PublicFormat.Raw)


def test_the_note_is_a_tlog_checkpoint_signed_as_the_spec_says():
    text = note.sign(HEAD, KEY)
    body, signature_line = text.split("\n\n")
    lines = body.split("\n")
    assert lines[:3] == ["parkgate.example/audit", "4711",
                         base64.b64encode(bytes(range(32))).decode()]
    assert signature_line.startswith("\u2014 parkgate.example/audit ")
    blob = base64.b64decode(signature_line.rsplit(" ", 1)[1])
    # key hash: SHA-256(name ‖ "\n" ‖ 0x01 ‖ key)[:4], then the signature over the text.
    expected_hash = hashlib.sha256(b"parkgate.example/audit\n\x01" + raw_public(KEY)).digest()[:4]
    assert blob[:4] == expected_hash
    KEY.public_key().verify(blob[4:], (body + "\n").encode())
    vkey = note.verifier_key("parkgate.example/audit", KEY)
    assert vkey == (f"parkgate.example/audit+{expected_hash.hex()}+"
                    + base64.b64encode(b"\x01" + raw_public(KEY)).decode())


def test_a_note_opens_with_either_key_form_and_keeps_what_it_states():
    text = note.sign(HEAD, KEY)
    assert note.open_note(text, public_key_b64(KEY)) == HEAD
    assert note.open_note(text, note.verifier_key(HEAD.origin, KEY)) == HEAD
    # A witness's cosignature on the same note does not disturb it.
    other = Ed25519PrivateKey.generate()
    cosigned = text + note.sign(note.TreeHead("witness.example", 1, bytes(32), HEAD.at, ""),
                                other).split("\n\n")[1]
    assert note.open_note(cosigned, public_key_b64(KEY)) == HEAD


@pytest.mark.parametrize("tamper", [
    lambda t: t.replace("\n4711\n", "\n4712\n"),
    lambda t: t.replace("chain abab", "chain abac"),
    lambda t: t.replace("parkgate.example/audit\n", "parkgate.example/other\n", 1),
    lambda t: t.split("\n\n")[0] + "\n",
])
def test_an_altered_or_unsigned_note_is_refused(tamper):
    with pytest.raises(note.NoteRejected):
        note.open_note(tamper(note.sign(HEAD, KEY)), public_key_b64(KEY))


def test_another_key_or_a_verifier_key_for_another_log_is_refused():
    text = note.sign(HEAD, KEY)
    with pytest.raises(note.NoteRejected):
        note.open_note(text, public_key_b64(Ed25519PrivateKey.generate()))
    with pytest.raises(note.NoteRejected):
        note.open_note(text, note.verifier_key("someone.else/log", KEY))


def test_checkpoints_of_both_formats_open_the_same_way():
    tree_head = open_checkpoint(note.sign(HEAD, KEY), public_key_b64(KEY))
    assert (tree_head.seq, tree_head.chain_hash, tree_head.root) == (4711, "ab" * 32,
                                                                     bytes(range(32)))
    import json
    legacy = json.dumps(sign(KEY, {"kind": "parkgate.audit.checkpoint", "seq": 12,
                                   "hash": "cd" * 32, "count": 12,
                                   "at": "2026-11-30T01:00:00+00:00"}))
    old = open_checkpoint(legacy, public_key_b64(KEY))
    assert (old.seq, old.chain_hash, old.root) == (12, "cd" * 32, None)
    altered = json.loads(legacy)
    altered["body"]["seq"] = 13
    with pytest.raises(SignatureRejected):
        open_checkpoint(json.dumps(altered), public_key_b64(KEY))
