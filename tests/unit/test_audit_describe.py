"""An audit event as people read it (audit.describe, parkgate.labels): every action the
code records and every automatic actor has words, reasons keep what they name, and
roles, hashes and codes never reach the reader raw."""

from __future__ import annotations

import re
from pathlib import Path

from audit.describe import SYSTEM_ACTORS, actor_text, describe
from parkgate.labels import AUDIT_ACTIONS
from trips.state_machine import TRANSITIONS

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("audit", "auth", "booking", "dispatch", "gateway", "registry", "trips", "parkgate",
            "kernel", "demo", "camera_adapters")


def _source() -> str:
    return "\n".join(p.read_text(encoding="utf-8") for package in PACKAGES
                     for p in (ROOT / package).rglob("*.py"))


class _Names:
    def plant(self, plant_id: int) -> str | None:
        return None

    def vehicle(self, vehicle_id: int) -> str | None:
        return None

    def person(self, person_id: int) -> str | None:
        return None

    def material(self, un_number: str) -> str | None:
        return None


def _fields(payload: dict) -> dict[str, str]:
    return {f.key: f.value for f in describe(payload, _Names(), lambda s: s, str)}


def test_every_recorded_action_has_a_label() -> None:
    source = _source()
    literal = set(re.findall(r'\.audit\(\s*"([a-z_]+\.[a-z_.]+)"', source))
    literal |= {f"trip.{action}" for action in TRANSITIONS}
    literal |= {"dock.unloading_started", "dock.unloading_ended", "record.create",
                "record.update", "record.retire", "audit.checkpoint"}
    assert literal - {"http.client.connect"} <= set(AUDIT_ACTIONS), \
        sorted(literal - set(AUDIT_ACTIONS))


def test_every_automatic_actor_is_named_by_what_it_does() -> None:
    names = set(re.findall(r'(?:Actor\.system|system_principal)\(\s*"([^"]+)"', _source()))
    assert names and names <= set(SYSTEM_ACTORS), sorted(names - set(SYSTEM_ACTORS))
    assert actor_text("system", "audit.checkpoint", lambda s: s) == "System · audit checkpoints"


def test_a_warning_keeps_the_vehicle_and_date_it_names() -> None:
    shown = _fields({"warnings": [{"code": "REVIEW_EXPIRES_SOON", "rule": "B05",
                                   "params": {"vehicle": "苏E12345", "date": "2026-12-20"}}]})
    assert shown["warnings"] == ("The annual review of 苏E12345 expires on 2026-12-20, soon "
                                 "after the trip.")
    # A reason stored without its parameters still reads as words.
    assert "…" in _fields({"reasons": [{"code": "REVIEW_EXPIRES_SOON"}]})["reasons"]


def test_roles_are_named_and_picture_hashes_hidden() -> None:
    shown = _fields({"roles": ["gate_operator", "enterprise_logistics"],
                     "scene_sha256": "ab" * 32, "size": 118})
    assert shown["roles"] == "Gate operator, Enterprise logistics"
    assert "scene_sha256" not in shown and shown["size"] == "118"
