"""Logging: one JSON object per line in production (for the park's log collector),
readable text in development; every line written during a request carries its id."""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import UTC, datetime
from typing import Any

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message"}


def _request_id() -> str | None:
    try:
        from flask import g, has_request_context

        return g.get("request_id") if has_request_context() else None
    except ImportError:  # pragma: no cover - flask is always installed
        return None


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None) or _request_id()
        if request_id:
            out["request_id"] = request_id
        for key, value in record.__dict__.items():
            if key not in _STANDARD and key != "request_id" and not key.startswith("_"):
                out[key] = value if isinstance(value, (int, float, bool, type(None))) \
                    else str(value)
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


class RequestIdFilter(logging.Filter):
    """Stamps the request id when the line is logged (a handler may format it later,
    outside the request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = _request_id()
        return True


class _TextWithRequestId(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        request_id = getattr(record, "request_id", None)
        return f"{text} [{request_id}]" if request_id else text


def configure_logging(fmt: str | None = None, level: str | None = None) -> None:
    """PARKGATE_LOG_FORMAT=json|text (json when PARKGATE_ENV=production)."""
    fmt = fmt or os.environ.get("PARKGATE_LOG_FORMAT") or (
        "json" if os.environ.get("PARKGATE_ENV") == "production" else "text")
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else
                         _TextWithRequestId("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level or os.environ.get("PARKGATE_LOG_LEVEL", "INFO"))


def log_requests(app: Any) -> None:
    """One line per request (gunicorn's own access log is off in production)."""
    import time

    from flask import g, request

    log = logging.getLogger("parkgate.request")

    @app.after_request
    def _line(response: Any) -> Any:
        started = g.get("request_started")
        if started is not None and request.endpoint != "health.healthz":
            log.info("%s %s %s", request.method, request.path, response.status_code,
                     extra={"request_id": g.get("request_id"),
                            "method": request.method, "path": request.path,
                            "status": response.status_code,
                            "ms": round((time.perf_counter() - started) * 1000, 1)})
        return response
