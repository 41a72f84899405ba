"""The decision in words: for the booth (zh-CN and English) and the lane's LED."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from parkgate.errors import N_
from parkgate.i18n import translate
from parkgate.labels import label

from .decide import DENY, DIVERT, HOLD, OPEN, Decision
from .reasons import WELCOME, Reason

ACTION_LINES = {
    OPEN: N_("Entry granted."),
    DENY: N_("Entry refused."),
    DIVERT: N_("Go to the hazmat lot."),
    HOLD: N_("Please wait: the operator checks."),
}


@dataclass(frozen=True)
class Wording:
    message_zh: str
    message_en: str
    led_zh: str
    reasons: list[dict[str, Any]]  # each: code, rule, severity, params, message_zh, message_en


def reason_text(reason: Reason, locale: str) -> str:
    # Codes in parameters (a category, a state, a party) read as their labels.
    params = {k: translate(label(v), locale) if isinstance(v, str) else v
              for k, v in reason.params.items()}
    return translate(reason.spec.message, locale, params)


def reason_item(reason: Reason) -> dict[str, Any]:
    """A reason as the API and the records keep it: code, rule, severity, params and
    its message in both languages."""
    item = reason.as_dict()
    item["message_zh"] = reason_text(reason, "zh_Hans_CN")
    item["message_en"] = reason_text(reason, "en")
    return item


def word(decision: Decision) -> Wording:
    reasons = [reason_item(r) for r in decision.reasons]
    blocking = [r for r in decision.reasons if r.severity != "info"]
    led = blocking[0].spec.led if blocking else WELCOME
    head = ACTION_LINES.get(decision.action, ACTION_LINES[HOLD])
    zh = " ".join([translate(head, "zh_Hans_CN"), *(x["message_zh"] for x in reasons)])
    en = " ".join([translate(head, "en"), *(x["message_en"] for x in reasons)])
    return Wording(zh[:500], en[:500], translate(led, "zh_Hans_CN")[:40], reasons)
