"""Errors as application/problem+json for the API and as pages for people.

Every error a client can cause is a 4xx with a stable `code` and a human `detail`;
anything else is a 500 that says nothing about our internals.
"""

from __future__ import annotations

import logging
from typing import Any

from apiflask.exceptions import HTTPError
from flask import Flask, Response, g, jsonify, make_response, render_template, request
from flask_babel import gettext
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from kernel.errors import N_, DomainError

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"

# Plain-language defaults; werkzeug's descriptions are long and English-only.
HTTP_MESSAGES = {
    400: N_("The request could not be understood."),
    401: N_("Sign in, or send a valid API token."),
    403: N_("Your role does not allow this."),
    404: N_("No such resource."),
    405: N_("This method is not allowed here."),
    413: N_("The request body is too large."),
    415: N_("This content type is not accepted here."),
    429: N_("Too many requests; slow down and try again shortly."),
}

# Stable codes for HTTP errors raised by the framework itself.
HTTP_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHENTICATED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    422: "VALIDATION_FAILED",
    429: "RATE_LIMITED",
}


def wants_json() -> bool:
    # Cameras (their fixed ITSAPI and GA/T 1400 paths) read JSON, whatever they accept.
    if request.path.startswith(("/api/", "/VIID/", "/NotificationInfo/")):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and not request.accept_mimetypes["text/html"]


def problem(status: int, code: str, detail: str, **extra: Any) -> Response:
    body = {"type": f"https://parkgate.dev/problems/{code.lower()}", "title": code,
            "status": status, "code": code, "detail": detail}
    body.update({k: v for k, v in extra.items() if v is not None})
    request_id = g.get("request_id")
    if request_id:
        body["request_id"] = request_id
    response = jsonify(body)
    response.status_code = status
    response.mimetype = PROBLEM_JSON
    return response


def _page(status: int, code: str, detail: str) -> tuple[str, int]:
    return render_template("error.html", status=status, code=code, detail=detail), status


def _respond(status: int, code: str, detail: str, **extra: Any) -> Any:
    if wants_json():
        return problem(status, code, detail, **extra)
    return _page(status, code, detail)


def translate_message(message: Any, locale: str | None = None) -> str:
    """A msgid, or (msgid, params) whose string params may be msgids themselves.

    Without `locale`, the request's language (Flask-Babel); with it, that catalog
    directly (command line, jobs).
    """
    from .i18n import translate

    def tr(text: str) -> str:
        return translate(text, locale) if locale else gettext(text)

    if isinstance(message, tuple | list) and len(message) == 2 and isinstance(message[1], dict):
        msgid, params = message
        return tr(msgid) % {k: tr(v) if isinstance(v, str) else v for k, v in params.items()}
    return tr(str(message))


def error_text(error: DomainError) -> str:
    """A domain error's message in the request's language, the codes among its values
    (a trip's state, an action) said by their labels."""
    from .labels import label

    if not error.params:
        return gettext(error.message)
    return translate_message((error.message, {k: label(v) if isinstance(v, str) else v
                                               for k, v in error.params.items()}))


def import_refused(error_count: int, dry_run: bool) -> dict[str, str]:
    """What a failed import's report says at its top, as every 4xx does: a code a
    program branches on and a sentence a person reads."""
    from flask_babel import ngettext

    if dry_run:
        detail = ngettext("%(num)d problem found; this was a check only.",
                          "%(num)d problems found; this was a check only.", error_count)
    else:
        detail = ngettext("%(num)d problem found; nothing was saved.",
                          "%(num)d problems found; nothing was saved.", error_count)
    return {"code": "IMPORT_ROWS_INVALID", "detail": detail}


def translate_fields(fields: dict[str, list[Any]]) -> dict[str, list[str]]:
    return {name: [translate_message(m) for m in messages] for name, messages in fields.items()}


def handle_domain_error(error: DomainError) -> Any:
    detail = error_text(error)
    fields = translate_fields(error.fields) if error.fields else None
    response = _respond(error.status, error.code, detail, errors=fields, **error.extra)
    if "retry_after" in error.extra:
        response = make_response(response)
        response.headers["Retry-After"] = str(error.extra["retry_after"])
    return response


def handle_http_error(error: HTTPException | HTTPError) -> Any:
    if isinstance(error, HTTPError):  # APIFlask's own (request validation, abort())
        status = error.status_code
        message = error.message or gettext(HTTP_MESSAGES.get(status, "Error"))
        detail_attr = error.detail
        headers = error.headers
    else:
        status = error.code or 500
        message = error.description or error.name
        if status in HTTP_MESSAGES and message == type(error).description:
            message = gettext(HTTP_MESSAGES[status])
        detail_attr = None
        headers = error.get_headers()
    code = HTTP_CODES.get(status, "HTTP_ERROR")
    if isinstance(error, CSRFError):
        # Flask-WTF says why in English ("The CSRF token is missing."); the reader is
        # told what to do, in their language.
        code = "CSRF_FAILED"
        message = gettext("This form is out of date or did not come from this site: reload "
                          "the page and try again.")
    fields = None
    if isinstance(detail_attr, dict) and detail_attr:
        fields = _flatten_fields(detail_attr)
    if status == 422 and fields:
        message = gettext("Some fields are not valid.")
    if status == 401 and not wants_json():
        from flask import redirect, url_for

        return redirect(url_for("auth.login", next=request.full_path))
    response = _respond(status, code, message, errors=fields)
    if isinstance(response, Response):
        for k, v in dict(headers or {}).items():
            if k.lower() != "content-type":
                response.headers[k] = v
    return response


def handle_unexpected(error: Exception) -> Any:
    log.exception("unhandled error on %s %s", request.method, request.path)
    return _respond(500, "INTERNAL_ERROR",
                    gettext("Something went wrong on our side. The error has been logged."))


def handle_out_of_range(error: Exception) -> Any:
    """A number or date past what the database or the calendar holds, from a form or a
    query the schemas do not bound: Python's OverflowError on SQLite and in date
    arithmetic, the database's DataError (numeric value out of range) on PostgreSQL.
    The caller's input, so a 422, not a 500. (The API's schemas bound their numbers and
    dates; this is the net under the rest.)"""
    log.warning("out-of-range input on %s %s: %s", request.method, request.path,
                type(getattr(error, "orig", error)).__name__)
    return _respond(422, "VALUE_OUT_OF_RANGE", gettext(
        "A number or date in the request is out of range."))


def handle_database_unavailable(error: Exception) -> Any:
    """The database went away (restart, failover, network): the pool has been
    invalidated and the next request reconnects, so this one is worth retrying."""
    from sqlalchemy.exc import DBAPIError

    if isinstance(error, DBAPIError) and not error.connection_invalidated and \
            not _looks_like_disconnect(error):
        return handle_unexpected(error)
    log.warning("database unavailable on %s %s: %s", request.method, request.path,
                type(getattr(error, "orig", error)).__name__)
    response = make_response(_respond(503, "DATABASE_UNAVAILABLE", gettext(
        "The database is not reachable right now; try again in a moment.")))
    response.headers["Retry-After"] = "1"
    return response


def _looks_like_disconnect(error: Exception) -> bool:
    """A database that cannot answer now: gone (PostgreSQL), or an embedded SQLite
    file another writer held past the busy timeout. Worth a retry either way."""
    import sqlite3

    import psycopg

    orig = getattr(error, "orig", None)
    if isinstance(orig, sqlite3.OperationalError):
        return "locked" in str(orig) or "busy" in str(orig)
    return isinstance(orig, (psycopg.OperationalError, psycopg.errors.AdminShutdown))


def _flatten_fields(detail: dict[str, Any]) -> dict[str, list[str]]:
    # APIFlask nests errors by location ({"json": {"field": [...]}}); clients want fields.
    out: dict[str, list[str]] = {}
    for location, errors in detail.items():
        if isinstance(errors, dict):
            for name, msgs in errors.items():
                out[str(name)] = [str(m) for m in (msgs if isinstance(msgs, list) else [msgs])]
        else:
            out[str(location)] = [str(m) for m in (errors if isinstance(errors, list) else [errors])]
    return out


def init_app(app: Flask) -> None:
    app.register_error_handler(DomainError, handle_domain_error)
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(HTTPError, handle_http_error)
    from sqlalchemy.exc import DataError, OperationalError

    app.register_error_handler(OperationalError, handle_database_unavailable)
    app.register_error_handler(OverflowError, handle_out_of_range)
    app.register_error_handler(DataError, handle_out_of_range)
    app.register_error_handler(Exception, handle_unexpected)
