"""A message kept as a template (an msgid) and the values it names, so each reader
sees it in their own language: an alarm on the lot board, the same alarm in the audit
log. Pure: the caller passes how to translate."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from rules.documents import PARK_TZ

from .labels import label

# Values under a key ending so are instants (ISO text): shown as the park's clock time.
AT_SUFFIX = "_at"
# A value that is a message of its own ({"msgid": …, "params": {…}}: a failed check
# named in an alarm) is rendered like the template, in the same language.
MSGID = "msgid"


def stored_args(args: Mapping[str, Any]) -> dict[str, Any]:
    """The values as JSON keeps them (instants as ISO text)."""
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in args.items()}


def render(template: str, args: Mapping[str, Any] | None, tr: Callable[[str], str]) -> str:
    """The template through `tr`, its values filled in: instants on the park's clock,
    text that is a code or an msgid (a rule's wording, a zone's verdict) translated too,
    names and plates as they are. A template whose values do not fit reads untouched."""
    if not args:
        return tr(template)
    try:
        return tr(template) % {k: _shown(k, v, tr) for k, v in args.items()}
    except (KeyError, TypeError, ValueError):
        return tr(template)


def _shown(key: str, value: Any, tr: Callable[[str], str]) -> Any:
    if key.endswith(AT_SUFFIX) and isinstance(value, str):
        return datetime.fromisoformat(value).astimezone(PARK_TZ).strftime("%H:%M")
    if isinstance(value, dict) and MSGID in value:
        # A sentence inside a sentence: the outer template ends it.
        return render(value[MSGID], value.get("params"), tr).rstrip(".。")
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_shown('', v, tr)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(str(_shown("", v, tr)) for v in value)
    if isinstance(value, str):
        return tr(label(value))
    return value
