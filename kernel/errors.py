"""Domain errors. Each carries a stable machine-readable code and a human message
(an English msgid with parameters, translated at the edge) and maps to one HTTP
status in parkgate.problems. Nothing here imports Flask."""

from __future__ import annotations

from typing import Any


def N_(msgid: str) -> str:
    """Mark a message for extraction without translating it here."""
    return msgid


ECHO_MAX = 60


def _short(value: Any) -> Any:
    """What a message may quote of someone's input: never the whole of a long one."""
    if isinstance(value, str) and len(value) > ECHO_MAX:
        return value[:ECHO_MAX - 1] + "…"
    return value


class DomainError(Exception):
    status = 409
    code = "CONFLICT"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        params: dict[str, Any] | None = None,
        fields: dict[str, list[str]] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.params = {k: _short(v) for k, v in (params or {}).items()}
        self.fields = fields or {}
        self.extra = extra or {}
        if code:
            self.code = code

    def __str__(self) -> str:
        try:
            return self.message % self.params if self.params else self.message
        except (KeyError, ValueError, TypeError):
            return self.message


class NotFound(DomainError):
    status = 404
    code = "NOT_FOUND"


class Unauthorised(DomainError):
    """Who is asking is not known (a device's Digest signature, say)."""
    status = 401
    code = "UNAUTHORISED"


class Forbidden(DomainError):
    status = 403
    code = "FORBIDDEN"


class ValidationFailed(DomainError):
    status = 422
    code = "VALIDATION_FAILED"


class Conflict(DomainError):
    status = 409
    code = "CONFLICT"


class BadRequest(DomainError):
    status = 400
    code = "BAD_REQUEST"


class PayloadTooLarge(DomainError):
    status = 413
    code = "PAYLOAD_TOO_LARGE"


class TooManyRequests(DomainError):
    status = 429
    code = "RATE_LIMITED"
