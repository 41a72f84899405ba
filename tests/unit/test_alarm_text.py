"""An alarm's message in the reader's language: its template through the catalogue,
the values it names filled in (times on the park's clock, verdicts translated, names
and codes as they are), and alarms from before templates as they were written."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

from dispatch.alarms import alarm_text
from kernel.errors import N_


def alarm(message: str, args: dict[str, Any] | None = None) -> Any:
    return SimpleNamespace(message=message,
                           message_args=json.dumps(args, ensure_ascii=False) if args else None)


def test_a_deadline_reads_on_the_parks_clock_in_either_language() -> None:
    late = alarm(N_("%(trip)s did not reach its plant by %(deadline_at)s."),
                 {"trip": "T7", "deadline_at": "2026-12-07T01:30:00+00:00"})
    assert alarm_text(late, "zh_Hans_CN") == "T7 未在 09:30 前到达工厂。"
    assert alarm_text(late, "en") == "T7 did not reach its plant by 09:30."


def test_a_zone_verdict_is_translated_and_a_zone_code_is_not() -> None:
    no_bay = alarm(N_("%(rule)s: no bay for %(trip)s (%(detail)s)."),
                   {"rule": "L05", "trip": "T7", "detail": {"A": "full", "B": "full"}})
    assert alarm_text(no_bay, "zh_Hans_CN") == "L05：T7 无可用车位（A: 已满; B: 已满）。"
    assert alarm_text(no_bay, "en") == "L05: no bay for T7 (A: full; B: full)."


def test_an_alarm_written_before_templates_reads_as_it_was_written() -> None:
    old = alarm("T7 in E1 装置 for 250 min (100% of the limit)")
    assert alarm_text(old, "zh_Hans_CN") == old.message
    assert alarm_text(old, "en") == old.message


def test_failed_checks_inside_an_alarm_read_as_sentences_in_the_same_language() -> None:
    held = alarm(N_("L07: %(trip)s is held, its papers failed the check before release: "
                    "%(failed)s."),
                 {"trip": "T7", "failed": [
                     {"msgid": N_("The carrier liability insurance of %(vehicle)s expired on "
                                  "%(date)s."), "params": {"vehicle": "苏E12345",
                                                           "date": "2026-11-21"}}]})
    assert "苏E12345 的承运人责任险已于 2026-11-21 到期" in alarm_text(held, "zh_Hans_CN")
    assert alarm_text(held, "en").endswith(
        "release: The carrier liability insurance of 苏E12345 expired on 2026-11-21.")
