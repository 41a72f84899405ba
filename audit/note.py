"""Signed tree heads as transparency logs write them: a checkpoint (C2SP
tlog-checkpoint) inside a signed note (C2SP signed-note, Go's sumdb `note` package).

    parkgate.example/audit          ← origin: which log
    12345                           ← tree size
    q3x…=                           ← root hash, base64
    time 2026-12-06T03:00:00Z       ← extension lines: when, and the hash chain's head
    chain 9f…e1

    — parkgate.example/audit AbCd…  ← key name, base64(key hash ‖ Ed25519 signature)

The signature covers the text above the blank line. The key hash is the first four
bytes of SHA-256(name ‖ "\\n" ‖ 0x01 ‖ public key), 0x01 naming Ed25519; the verifier
key is written `name+hash+base64(0x01 ‖ public key)`, as those tools print it.
Pure: no database, no Flask; the offline verifier uses it as is.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ALG_ED25519 = b"\x01"
DASH = "\u2014"


class NoteRejected(ValueError):
    pass


@dataclass(frozen=True)
class TreeHead:
    origin: str
    size: int
    root: bytes
    at: datetime
    chain_hash: str  # the hash chain's head at `size` (hex); anchors verify() too

    def text(self) -> str:
        return (f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\n"
                f"time {self.at.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%S.%fZ')}\n"
                f"chain {self.chain_hash}\n")


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_hash(name: str, raw_public: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + ALG_ED25519 + raw_public).digest()[:4]


def verifier_key(name: str, key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    raw = _raw_public(public)
    return f"{name}+{key_hash(name, raw).hex()}+{base64.b64encode(ALG_ED25519 + raw).decode()}"


def sign(head: TreeHead, key: Ed25519PrivateKey) -> str:
    text = head.text()
    raw = _raw_public(key.public_key())
    signature = key_hash(head.origin, raw) + key.sign(text.encode())
    return f"{text}\n{DASH} {head.origin} {base64.b64encode(signature).decode()}\n"


def _public_from(value: str, name: str) -> bytes:
    """Raw Ed25519 public key from a verifier key (`name+hash+key`) or plain base64."""
    value = value.strip()
    try:
        # Names never hold "+"; the key's base64 may.
        parts = value.split("+", 2)
        if len(parts) == 3 and re.fullmatch(r"[0-9a-f]{8}", parts[1]):
            key_name = parts[0]
            blob = base64.b64decode(parts[2], validate=True)
            if blob[:1] != ALG_ED25519 or len(blob) != 33:
                raise NoteRejected("the verifier key is not an Ed25519 key")
            if key_name != name:
                raise NoteRejected(f"the verifier key is for {key_name!r}, the note is "
                                   f"signed as {name!r}")
            if key_hash(key_name, blob[1:]).hex() != parts[1]:
                raise NoteRejected("the verifier key's hash does not match its key")
            return blob[1:]
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        if isinstance(exc, NoteRejected):
            raise
        raise NoteRejected("the public key is neither base64 nor a verifier key") from exc
    if len(raw) != 32:
        raise NoteRejected("the public key is not 32 bytes")
    return raw


def is_note(text: str) -> bool:
    return f"\n\n{DASH} " in text


def open_note(note: str, public_key: str) -> TreeHead:
    """The tree head a signed note states, once a signature by `public_key` on it
    verifies; NoteRejected otherwise (the message says what is wrong)."""
    text, sep, signatures = note.partition(f"\n\n{DASH} ")
    if not sep:
        raise NoteRejected("not a signed note (no signature line)")
    text += "\n"
    lines = text.split("\n")[:-1]
    if len(lines) < 3:
        raise NoteRejected("the checkpoint has fewer than three lines")
    origin = lines[0]
    raw = _public_from(public_key, origin)
    wanted = key_hash(origin, raw)
    verified = False
    for line in (DASH + " " + signatures).splitlines():
        if not line.startswith(DASH + " "):
            continue
        try:
            name, blob = line[2:].rsplit(" ", 1)
            sig = base64.b64decode(blob, validate=True)
        except (ValueError, binascii.Error):
            continue
        if name != origin or sig[:4] != wanted:
            continue  # another key's signature (a witness's, say)
        try:
            Ed25519PublicKey.from_public_bytes(raw).verify(sig[4:], text.encode())
            verified = True
        except InvalidSignature as exc:
            raise NoteRejected("the checkpoint's signature does not verify") from exc
    if not verified:
        raise NoteRejected("the checkpoint carries no signature by this key")
    try:
        size = int(lines[1])
        root = base64.b64decode(lines[2], validate=True)
    except (ValueError, binascii.Error) as exc:
        raise NoteRejected("the checkpoint's size or root hash is malformed") from exc
    extensions = dict(line.split(" ", 1) for line in lines[3:] if " " in line)
    try:
        at = datetime.strptime(extensions["time"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    except (KeyError, ValueError) as exc:
        raise NoteRejected("the checkpoint states no time") from exc
    if len(root) != 32 or size < 0:
        raise NoteRejected("the checkpoint's size or root hash is malformed")
    return TreeHead(origin, size, root, at, extensions.get("chain", ""))
