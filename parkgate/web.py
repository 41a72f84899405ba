"""The page shell: home page per role, template filters, URL converters."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from apiflask import APIBlueprint
from flask import Flask, redirect, render_template, url_for
from flask_babel import format_datetime, gettext
from werkzeug.routing import IntegerConverter

from auth.access import current_principal, maybe_principal, require
from auth.roles import ROLE_LABELS, Role
from kernel import clock

from .labels import label
from .problems import translate_message

bp = APIBlueprint("web", __name__, enable_openapi=False)


class IdConverter(IntegerConverter):
    """Record ids in URLs: positive and within a 32-bit integer, so a huge number is a
    404 rather than an overflow inside the database driver."""

    def __init__(self, map: Any) -> None:
        super().__init__(map, min=1, max=2_147_483_647)


# The page each role lands on, and the navigation; pages register themselves here.
LANDING: dict[str, str] = {}


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: str  # msgid, translated in the template
    roles: frozenset[str]
    order: int


NAV: list[NavItem] = []


def register_landing(role: str, endpoint: str) -> None:
    LANDING[role] = endpoint


def register_nav(endpoint: str, label: str, roles: tuple[str, ...], order: int = 50) -> None:
    if not any(item.endpoint == endpoint for item in NAV):
        NAV.append(NavItem(endpoint, label, frozenset(roles), order))
        NAV.sort(key=lambda item: item.order)


def nav_items() -> list[NavItem]:
    principal = maybe_principal()
    if principal is None:
        return []
    return [item for item in NAV if principal.has(*item.roles)]


@bp.get("/")
@require()
def home() -> Any:
    principal = current_principal()
    for role in Role:
        endpoint = LANDING.get(role.value)
        if endpoint and principal.has(role.value):
            return redirect(url_for(endpoint))
    return render_template("home.html", role_labels=ROLE_LABELS)


def localtime(value: datetime | str | None, fmt: str = "yyyy-MM-dd HH:mm") -> str:
    """A time in the park's zone (Flask-Babel's display zone), from a datetime or the
    ISO text the JSON-shaped views carry; never UTC on a page."""
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        try:
            return str(format_datetime(datetime.fromisoformat(value), fmt))
        except ValueError:
            return value
    return str(format_datetime(value, fmt))


def in_my_language(item: Any, field: str = "message") -> str:
    """A stored bilingual text (`<field>_zh` / `<field>_en`, as the gate words its
    decisions) in the reader's language."""
    from flask_babel import get_locale

    english = (get_locale() or "").__str__().startswith("en")
    get = item.get if isinstance(item, dict) else lambda key: getattr(item, key, None)
    return (get(f"{field}_en") if english else get(f"{field}_zh")) or get(f"{field}_zh") or ""


def choice_label(code: str) -> str:
    """A code offered as a choice, in the reader's language: a hazard class with its
    name ("3 易燃液体"), 剧毒 for the toxic scope, else the code's label."""
    from rules.hazard import CLASS_NAMES_EN, TOXIC_SCOPE

    if code in CLASS_NAMES_EN:
        return f"{code} {gettext(CLASS_NAMES_EN[code])}"
    if code == TOXIC_SCOPE:
        return gettext(label("toxic_scope"))
    return gettext(label(code))


def init_app(app: Flask) -> None:
    app.url_map.converters["id"] = IdConverter
    app.register_blueprint(bp)
    app.jinja_env.filters["localtime"] = localtime
    # An instant (not a date): shown in park time, never as the database's UTC text.
    app.jinja_env.tests["instant"] = lambda value: isinstance(value, datetime)
    app.jinja_env.filters["label"] = lambda code: gettext(label(code)) if code else ""
    app.jinja_env.filters["fromjson"] = json.loads
    app.jinja_env.filters["message"] = translate_message
    app.jinja_env.filters["bilingual"] = in_my_language
    app.jinja_env.filters["choice_label"] = choice_label
    app.jinja_env.globals["choice_label"] = choice_label

    @app.context_processor
    def _inject_now() -> dict[str, Any]:
        return {"now": clock.now(), "role_labels": ROLE_LABELS, "nav_items": nav_items}
