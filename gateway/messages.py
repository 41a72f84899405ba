"""The decision in words: for the booth (zh-CN and English) and the lane's LED."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from kernel.errors import N_
from parkgate.i18n import translate
from parkgate.labels import label
from rules.reasons import Reason

from .decide import DENY, DIVERT, HOLD, OPEN, Decision
from .reasons import CATALOG, WELCOME

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


def reason_message(reason: Reason) -> str:
    """The msgid a reason is worded with (its params fill it)."""
    return CATALOG[reason.code].message


def reason_words(code: str, params: Mapping[str, Any], tr: Callable[[str], str],
                 missing: str | None = None) -> str:
    """A reason's message in `tr`'s language, filled with its params; codes among them
    (a category, a state, a party) read as their labels, and with `missing` a param
    the reason does not carry shows as that. Raises KeyError, ValueError or TypeError
    when the params do not fit the message (the caller picks the fallback)."""
    named: dict[str, Any] = {k: tr(label(v)) if isinstance(v, str) else v
                             for k, v in params.items()}
    if missing is not None:
        named = defaultdict(lambda: missing, named)
    return tr(CATALOG[code].message) % named


def reason_text(reason: Reason, locale: str) -> str:
    def tr(msgid: str) -> str:
        return translate(msgid, locale)

    try:
        return reason_words(reason.code, reason.params, tr)
    except (KeyError, ValueError, TypeError):
        return tr(CATALOG[reason.code].message)


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
    led = CATALOG[blocking[0].code].led if blocking else WELCOME
    head = ACTION_LINES.get(decision.action, ACTION_LINES[HOLD])
    zh = " ".join([translate(head, "zh_Hans_CN"), *(x["message_zh"] for x in reasons)])
    en = " ".join([translate(head, "en"), *(x["message_en"] for x in reasons)])
    return Wording(zh[:500], en[:500], translate(led, "zh_Hans_CN")[:40], reasons)


def catalogue_markdown() -> str:
    """Every reason the gate and the booking checks can give: code, DOMAIN rule id,
    severity, and its message in zh-CN and English (docs/reasons.md is this text;
    `python -m gateway.messages > docs/reasons.md` writes it again)."""
    from rules.ids import RULE_IDS

    lines = ["# Reasons", "",
             "Every reason ParkGate's gate engine and booking checks can give, with the rule of "
             "DOMAIN.md it rests on. Generated from `gateway/reasons.py` and the zh-CN catalog "
             "by `python -m gateway.messages`; a test keeps this file current.", "",
             "| code | rule | severity | zh-CN | English |", "|---|---|---|---|---|"]
    for spec in sorted(CATALOG.values(), key=lambda s: (s.rule, s.code)):
        zh = translate(spec.message, "zh_Hans_CN").replace("|", "\\|")
        en = translate(spec.message, "en").replace("|", "\\|")
        lines.append(f"| `{spec.code}` | {spec.rule} | {spec.severity} | {zh} | {en} |")
    lines += ["", "## Rule ids", "", "| id | section |", "|---|---|"]
    lines += [f"| {rule} | {section} |" for rule, section in RULE_IDS.items()]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(catalogue_markdown(), end="")
