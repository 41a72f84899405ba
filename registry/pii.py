"""Personal data at rest: national IDs and phones encrypted, with a keyed hash for
look-up. Both keys derive from PARKGATE_PII_KEY; losing it loses the numbers, so
production must back it up with the database credentials."""

from __future__ import annotations

import base64
import hashlib
import hmac
from functools import lru_cache

from cryptography.fernet import Fernet

from rules.identity import normalise_id

_configured: str | None = None


def configure(secret: str) -> None:
    """Set the process's key (app factory, CLI); services then call the helpers below."""
    global _configured
    _configured = secret


def current_key() -> str:
    if not _configured:
        raise RuntimeError("PII key not configured (parkgate.app.create_app does it)")
    return _configured


@lru_cache(maxsize=4)
def _keys(secret: str) -> tuple[Fernet, bytes]:
    root = hashlib.sha256(secret.encode("utf-8")).digest()
    enc = hmac.new(root, b"parkgate/pii/encrypt", hashlib.sha256).digest()
    mac = hmac.new(root, b"parkgate/pii/lookup", hashlib.sha256).digest()
    return Fernet(base64.urlsafe_b64encode(enc)), mac


def lookup_hash(secret: str, national_id: str) -> str:
    key = _keys(secret)[1]
    return hmac.new(key, normalise_id(national_id).encode(), hashlib.sha256).hexdigest()


def encrypt(secret: str, value: str) -> str:
    return _keys(secret)[0].encrypt(value.encode("utf-8")).decode("ascii")


def decrypt(secret: str, token: str) -> str:
    return _keys(secret)[0].decrypt(token.encode("ascii")).decode("utf-8")
