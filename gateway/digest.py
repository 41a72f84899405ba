"""HTTP Digest authentication (RFC 7616, MD5 with qop=auth, as cameras implement it)
for devices that cannot send a bearer token: Dahua ITC platform pushes and GA/T 1400
registration.

The server keeps no nonce state: a nonce is its issue time and an HMAC of it under
the app's secret, good for NONCE_TTL; an expired one is answered with stale=true and
the device signs again. Only the Digest hash of a camera's password (HA1, over
REALM) is stored, encrypted (gateway.cameras).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass

REALM = "ParkGate"
NONCE_TTL_S = 600
_PARAM = re.compile(r'(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))')


def md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()


def ha1(username: str, password: str, realm: str = REALM) -> str:
    return md5(f"{username}:{realm}:{password}")


def _sign(secret: str, issued: str) -> str:
    return hmac.new(secret.encode(), issued.encode(), hashlib.sha256).hexdigest()[:32]


def nonce(secret: str, now: float | None = None) -> str:
    issued = f"{int(now if now is not None else time.time())}.{secrets.token_hex(4)}"
    return f"{issued}.{_sign(secret, issued)}"


def nonce_fresh(secret: str, value: str, now: float | None = None) -> bool | None:
    """True: ours and fresh; False: ours but expired (stale); None: not ours."""
    try:
        stamp, salt, mac = value.split(".")
    except ValueError:
        return None
    if not hmac.compare_digest(mac, _sign(secret, f"{stamp}.{salt}")):
        return None
    age = (now if now is not None else time.time()) - int(stamp)
    return 0 <= age <= NONCE_TTL_S


def challenge(secret: str, *, stale: bool = False) -> str:
    """The WWW-Authenticate header of a 401."""
    return (f'Digest realm="{REALM}", qop="auth", algorithm=MD5, nonce="{nonce(secret)}", '
            f'opaque="{md5(REALM)}"' + (", stale=true" if stale else ""))


@dataclass(frozen=True)
class Credentials:
    username: str
    realm: str
    nonce: str
    uri: str
    response: str
    qop: str | None
    nc: str | None
    cnonce: str | None


def parse(header: str | None) -> Credentials | None:
    if not header or not header.lower().startswith("digest "):
        return None
    params = {k.lower(): unquoted or quoted for k, quoted, unquoted in _PARAM.findall(header[7:])}
    try:
        return Credentials(params["username"], params.get("realm", ""), params["nonce"],
                           params["uri"], params["response"], params.get("qop"),
                           params.get("nc"), params.get("cnonce"))
    except KeyError:
        return None


def expected(stored_ha1: str, method: str, creds: Credentials) -> str:
    ha2 = md5(f"{method}:{creds.uri}")
    if creds.qop:
        return md5(f"{stored_ha1}:{creds.nonce}:{creds.nc}:{creds.cnonce}:{creds.qop}:{ha2}")
    return md5(f"{stored_ha1}:{creds.nonce}:{ha2}")


def verify(creds: Credentials, stored_ha1: str, method: str, request_uri: str) -> bool:
    """Whether the device signed this request with the password behind `stored_ha1`.
    The uri it signed must be the one it asked for (path and query)."""
    if creds.uri != request_uri and creds.uri.split("?")[0] != request_uri.split("?")[0]:
        return False
    return hmac.compare_digest(expected(stored_ha1, method, creds), creds.response.lower())


def authorization(username: str, password: str, method: str, uri: str, www_authenticate: str,
                  *, nc: int = 1, cnonce: str | None = None) -> str:
    """The Authorization header a device sends to answer a challenge (the demo's
    simulated cameras and the tests sign as a camera does)."""
    params = {k.lower(): unquoted or quoted
              for k, quoted, unquoted in _PARAM.findall(www_authenticate.split(" ", 1)[1])}
    realm, server_nonce = params["realm"], params["nonce"]
    cnonce = cnonce or secrets.token_hex(8)
    creds = Credentials(username, realm, server_nonce, uri, "", "auth", f"{nc:08x}", cnonce)
    response = expected(ha1(username, password, realm), method, creds)
    return (f'Digest username="{username}", realm="{realm}", nonce="{server_nonce}", '
            f'uri="{uri}", qop=auth, nc={nc:08x}, cnonce="{cnonce}", response="{response}", '
            f'algorithm=MD5' + (f', opaque="{params["opaque"]}"' if "opaque" in params else ""))
