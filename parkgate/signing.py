"""The park's Ed25519 signing key and signed envelopes (canonical JSON body, its
SHA-256 as the version, a detached signature). Gate permit snapshots and audit
checkpoints are signed with it; anyone holding the public key can check either
without the database."""

from __future__ import annotations

import base64
import hashlib
import json
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
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        assert isinstance(key, Ed25519PrivateKey)
        return key
    key = Ed25519PrivateKey.generate()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    path.chmod(0o600)
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
