"""A guard at the edge for every request: text may not carry control characters or
lone surrogates. Neither has a place in a plate, a name or a reason; both break what
comes after (terminal logs, XLSX exports, UTF-8 in PostgreSQL, the audit encoding).
Tabs and line breaks stay allowed."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Any, TypeVar

from flask import Flask, request
from flask.json.provider import DefaultJSONProvider

from kernel.errors import N_, BadRequest


class BoundedJSONProvider(DefaultJSONProvider):
    """Flask's JSON, except that a body nested past the parser's recursion limit (100k
    `[` in a row) is malformed JSON, a 400, not a RecursionError and a 500."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            return super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError("JSON nested too deeply") from None

    @staticmethod
    def default(o: Any) -> Any:
        # Every time in the API is RFC 3339 with its offset; Flask's default would
        # write an RFC 1123 date without seconds' fraction or zone offset.
        if isinstance(o, datetime):
            return o.isoformat()
        if isinstance(o, date):
            return o.isoformat()
        return DefaultJSONProvider.default(o)

F = TypeVar("F", bound=Callable[..., Any])
_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def has_bad_characters(value: Any, depth: int = 0) -> bool:
    if isinstance(value, str):
        return _BAD.search(value) is not None
    if depth > 20:  # deeper than any body of ours: refuse rather than recurse on
        return True
    if isinstance(value, dict):
        return any(has_bad_characters(k, depth + 1) or has_bad_characters(v, depth + 1)
                   for k, v in value.items())
    if isinstance(value, list):
        return any(has_bad_characters(v, depth + 1) for v in value)
    return False


def raw_body(view: F) -> F:
    """For views that read the request stream themselves (vendor camera pushes, parsed
    by their adapters): parsing the body here would consume it."""
    view.raw_body = True  # type: ignore[attr-defined]
    return view


def init_app(app: Flask) -> None:
    app.json = BoundedJSONProvider(app)

    @app.before_request
    def _reject_control_characters() -> None:
        texts: list[Any] = [*request.args.keys(), *request.args.values()]
        view = app.view_functions.get(request.endpoint or "")
        if getattr(view, "raw_body", False):
            pass
        elif request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            texts += [*request.form.keys(), *request.form.values()]
        elif request.is_json:
            body = request.get_json(silent=True)
            if body is None and request.get_data(cache=True).strip():
                raise BadRequest(N_("The body is not valid JSON."), code="JSON_INVALID")
            texts.append(body)
        if any(has_bad_characters(t) for t in texts):
            raise BadRequest(N_("Text may not contain control characters."),
                             code="CONTROL_CHARACTERS")
