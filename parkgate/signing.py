"""The park's Ed25519 signing key and signed envelopes (canonical JSON body, its
SHA-256 as the version, a detached signature). Gate permit snapshots and audit
checkpoints are signed with it; anyone holding the public key can check either
without the database."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey


class SignatureRejected(Exception):
    pass


def canonical(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def load_or_create_key(path: Path) -> Ed25519PrivateKey:
    """The key in `path`, made on first use. Several processes may start at once (the
    gunicorn workers): the file is written aside and linked into place, which fails
    for all but the first, and everyone then loads the one that won."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption())
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".key-")
        try:
            os.write(fd, pem)
            os.close(fd)
            os.chmod(tmp, 0o600)
            with contextlib.suppress(FileExistsError):
                os.link(tmp, path)
        finally:
            os.unlink(tmp)
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} does not hold an Ed25519 key")
    return key


def public_key_b64(key: Ed25519PrivateKey) -> str:
    raw = key.public_key().public_bytes(serialization.Encoding.Raw,
                                        serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def sign(key: Ed25519PrivateKey, body: dict[str, Any]) -> dict[str, Any]:
    data = canonical(body)
    return {"version": hashlib.sha256(data).hexdigest(), "body": body,
            "signature": base64.b64encode(key.sign(data)).decode()}


def verify(envelope: dict[str, Any], public_key: str) -> dict[str, Any]:
    """The body of a signed envelope, or SignatureRejected."""
    try:
        data = canonical(envelope["body"])
        Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key)).verify(
            base64.b64decode(envelope["signature"]), data)
    except (KeyError, TypeError, ValueError, InvalidSignature) as exc:
        raise SignatureRejected("the signature does not verify") from exc
    if hashlib.sha256(data).hexdigest() != envelope.get("version"):
        raise SignatureRejected("the version does not match the body")
    return envelope["body"]
