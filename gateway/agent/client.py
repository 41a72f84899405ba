"""Talking to the centre over HTTP (standard library only: the agent stays small)."""

from __future__ import annotations

import contextlib
import json
import urllib.error
import urllib.request
from typing import Any


class CentreUnreachable(Exception):
    """No usable answer: down, timed out, or a server error. The agent goes offline."""


class CentreRefused(Exception):
    """The centre answered 4xx: the read itself is wrong and retrying will not help."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(f"{status}: {body.get('code')}")
        self.status = status
        self.body = body


class CentreClient:
    def __init__(self, base_url: str, token: str, timeout_s: float = 2.0) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"the centre is an http(s) URL, not {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout_s = timeout_s

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None,
              headers: dict[str, str] | None = None) -> tuple[int, dict[str, Any], dict[str, str]]:
        data = json.dumps(body, ensure_ascii=False).encode() if body is not None else None
        # http(s) only: checked in __init__.
        request = urllib.request.Request(f"{self.base_url}{path}", data=data,  # noqa: S310  # nosec B310
                                         method=method)
        request.add_header("Authorization", f"Bearer {self.token}")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        for k, v in (headers or {}).items():
            request.add_header(k, v)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:  # noqa: S310  # nosec B310
                raw = response.read()
                return response.status, json.loads(raw) if raw else {}, dict(response.headers)
        except urllib.error.HTTPError as exc:
            if exc.code == 304:
                return 304, {}, dict(exc.headers)
            payload = {}
            with contextlib.suppress(ValueError):
                payload = json.loads(exc.read() or b"{}")
            if 400 <= exc.code < 500 and exc.code not in (408, 429):
                raise CentreRefused(exc.code, payload) from exc
            raise CentreUnreachable(f"HTTP {exc.code}") from exc
        except (OSError, ValueError) as exc:  # refused, reset, timeout, garbled
            raise CentreUnreachable(str(exc)) from exc

    def post_read(self, lane: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._call("POST", f"/api/v1/lanes/{lane}/reads", body)[1]

    def snapshot(self, lane: str, version: str | None) -> dict[str, Any] | None:
        headers = {"If-None-Match": f'"{version}"'} if version else None
        status, body, _ = self._call("GET", f"/api/v1/lanes/{lane}/snapshot", headers=headers)
        return None if status == 304 else body

    def public_key(self) -> str:
        return self._call("GET", "/api/v1/snapshot-key")[1]["public_key"]
