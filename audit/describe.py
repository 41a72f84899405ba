"""An audit event's details as a person reads them: labelled fields in their language
(cargo as "UN1230 甲醇 20 t", an override as what was done and why, records by name),
never the stored JSON. Pure over the payload; the caller passes how to translate, how
to show a time, and how to name the records the payload points at."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from auth.roles import ROLE_LABELS
from kernel.errors import N_
from parkgate.labels import label
from parkgate.templated import render

# Payload keys and the label each is shown under; keys not here are shown under their
# own name, keys in HIDDEN not at all (ids and hashes an auditor searches by elsewhere).
FIELD_LABELS: dict[str, str] = {
    "action": N_("Decision"), "reason": N_("Reason"), "reasons": N_("Reasons"),
    "from": N_("From"), "to": N_("To"), "state": N_("State"), "code": N_("Booking code"),
    "category": N_("Category"), "plant_id": N_("Plant"), "direction": N_("Direction"),
    "vehicle_id": N_("Vehicle"), "trailer_id": N_("Trailer"), "driver_id": N_("Driver"),
    "escort_id": N_("Escort"), "window": N_("Window"), "waybill_no": N_("Waybill"),
    "waybill_vehicle": N_("Waybill vehicle"), "waybill_trailer": N_("Waybill trailer"),
    "manifest_no": N_("Manifest"), "toxic_pass_no": N_("Highly toxic pass"),
    "toxic_pass": N_("Highly toxic pass valid"), "cargo": N_("Cargo"),
    "override": N_("Override"), "plate": N_("Plate"), "trailer_plate": N_("Trailer plate"),
    "confidence": N_("Confidence"), "source": N_("Source"), "lane": N_("Lane"),
    "zone": N_("Zone"), "dock": N_("Dock"), "deadline": N_("Deadline"),
    "position": N_("Position"), "ready": N_("Ready"), "note": N_("Note"), "kind": N_("Kind"),
    "message": N_("Message"), "persons": N_("Persons"), "roles": N_("Roles"),
    "username": N_("User name"), "remote": N_("Address"), "before": N_("Before"),
    "after": N_("After"), "engine": N_("The engine decided"), "failures": N_("Failed checks"),
    "warnings": N_("Warnings"), "offline": N_("Decided offline"), "name": N_("Name"),
    "rows": N_("Rows"), "booked": N_("Booked"), "created": N_("Created"),
    "completes": N_("Completes hold"), "failed": N_("Failed"), "deleted": N_("Deleted"),
    "days": N_("Days"), "older_than": N_("Older than"), "user": N_("User"),
    "sessions_ended": N_("Sessions ended"), "vehicles": N_("Vehicles"), "bay": N_("Bay"),
    "waited_min": N_("Waited (minutes)"), "plant": N_("Plant"), "token": N_("Release token"),
    "size": N_("Events covered"), "root": N_("Merkle root"), "chain_hash": N_("Chain hash"),
    "updated": N_("Updated"), "unchanged": N_("Unchanged"), "sha256": N_("File SHA-256"),
}
HIDDEN = frozenset({"read_id", "crop_sha256", "scene_sha256", "passage_id", "seq", "hash", "version", "i",
                    "k", "client_key", "template", "args"})
CODE_KEYS = frozenset({"action", "from", "to", "state", "category", "direction", "source",
                       "kind"})
TIME_KEYS = frozenset({"deadline", "older_than", "at"})
REASON_KEYS = frozenset({"reasons", "failures", "warnings"})


class Names(Protocol):
    """How the page names the records a payload points at."""

    def plant(self, plant_id: int) -> str | None: ...
    def vehicle(self, vehicle_id: int) -> str | None: ...
    def person(self, person_id: int) -> str | None: ...
    def material(self, un_number: str) -> str | None: ...


@dataclass(frozen=True)
class Field:
    key: str
    label: str
    value: str


def describe(payload: Mapping[str, Any], names: Names, tr: Callable[[str], str],
             when: Callable[[datetime], str]) -> list[Field]:
    out = []
    for key, value in payload.items():
        if key in HIDDEN or _empty(value):
            continue
        if key == "message" and isinstance(payload.get("template"), str):
            # A message kept as a template (an alarm): in the reader's language.
            text = render(payload["template"], payload.get("args"), tr)
        else:
            text = _value(key, value, names, tr, when)
        if text:
            out.append(Field(key, tr(FIELD_LABELS[key]) if key in FIELD_LABELS
                             else key.replace("_", " "), text))
    return out


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _value(key: str, value: Any, names: Names, tr: Callable[[str], str],
           when: Callable[[datetime], str]) -> str:
    if isinstance(value, bool):
        return tr(N_("yes")) if value else tr(N_("no"))
    if key in CODE_KEYS and isinstance(value, str):
        return tr(label(value))
    if key in REASON_KEYS and isinstance(value, list):
        return "; ".join(reason_text(r, tr) for r in value)
    if key == "plant_id" and isinstance(value, int):
        return names.plant(value) or f"#{value}"
    if key in ("vehicle_id", "trailer_id") and isinstance(value, int):
        return names.vehicle(value) or f"#{value}"
    if key in ("driver_id", "escort_id") and isinstance(value, int):
        return names.person(value) or f"#{value}"
    if key == "persons" and isinstance(value, list):
        return ", ".join(names.person(p) or f"#{p}" for p in value if isinstance(p, int))
    if key == "cargo" and isinstance(value, list):
        return "; ".join(_cargo_line(line, names) for line in value)
    if key == "window" and isinstance(value, list) and len(value) == 2:
        start, end = (_time(v) for v in value)
        return f"{when(start)} – {when(end)}" if start and end else " – ".join(map(str, value))
    if key in TIME_KEYS and isinstance(value, str) and _time(value):
        return when(_time(value))  # type: ignore[arg-type]
    if key == "override" and isinstance(value, dict):
        return " · ".join(x for x in (tr(label(value.get("action"))) if value.get("action")
                                      else "", value.get("reason") or "") if x)
    if key == "engine" and isinstance(value, dict):
        decided = tr(label(value.get("action"))) if value.get("action") else ""
        why = "; ".join(reason_title(c, tr) for c in value.get("reasons") or [])
        return f"{decided}: {why}" if why else decided
    if key == "confidence" and isinstance(value, int | float):
        return f"{value:.2f}"
    if key == "roles" and isinstance(value, list):
        return ", ".join(tr(ROLE_LABELS[r]) if r in ROLE_LABELS else tr(label(r))
                         for r in value)
    if key in ("before", "after") and isinstance(value, dict):
        return "; ".join(f"{f.label}: {f.value}" for f in describe(value, names, tr, when))
    if isinstance(value, dict):
        return "; ".join(f"{k}: {v}" for k, v in value.items() if not _empty(v))
    if isinstance(value, list):
        return ", ".join(str(v) for v in value if not _empty(v))
    return str(value)


def _cargo_line(line: Any, names: Names) -> str:
    if isinstance(line, dict):
        un, qty, unit = line.get("un_number"), line.get("quantity"), line.get("unit", "kg")
    elif isinstance(line, list | tuple) and len(line) >= 2:
        un, qty, unit = line[0], line[1], line[2] if len(line) > 2 else "kg"
    else:
        return str(line)
    un_text = str(un or "")
    number = f"{qty:g}" if isinstance(qty, int | float) else str(qty)
    name = names.material(un_text) if un_text else None
    shown = un_text if un_text.upper().startswith("UN") else f"UN{un_text}"
    return " ".join(x for x in (shown, name, f"{number} {unit}") if x)


def _time(value: Any) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else None


def reason_text(reason: Any, tr: Callable[[str], str]) -> str:
    """A stored reason ({"code", "params"}) as its message with what it names (the
    vehicle, the date); a part it does not carry shows as "…"."""
    from gateway.messages import reason_words
    from gateway.reasons import CATALOG

    if not isinstance(reason, dict):
        return reason_title(str(reason), tr)
    code, params = str(reason.get("code", "")), reason.get("params")
    if code not in CATALOG or not isinstance(params, dict) or not params:
        return reason_title(code, tr)
    try:
        return reason_words(code, params, tr, missing="…")
    except (KeyError, TypeError, ValueError):
        return reason_title(code, tr)


def reason_title(code: str, tr: Callable[[str], str]) -> str:
    """A reason code as words, without the parameters its message would take."""
    from gateway.reasons import CATALOG

    spec = CATALOG.get(code)
    if spec is None:
        return tr(label(code)) if label(code) != code else code
    try:
        return tr(spec.message) % defaultdict(lambda: "…")
    except (TypeError, ValueError):
        return tr(spec.message)


# Who did it: a person by name; ParkGate's own automatic work as the system, named by
# what it was doing (never a bare name like "dispatch", which reads as a user).
SYSTEM_ACTORS: dict[str, str] = {
    "dispatch": N_("automatic release"), "lot-watch": N_("lot watch"),
    "booking-watch": N_("booking watch"), "camera-watch": N_("camera watch"),
    "auto-approval": N_("automatic approval"), "retention": N_("retention"),
    "lot-day": N_("lot day close"), "cli": N_("command line"),
    "demo": N_("demo simulation"), "demo-trucks": N_("demo simulation"),
    "demo-seed": N_("demo data"), "system": N_("automatic"),
    "audit.checkpoint": N_("audit checkpoints"),
}


SYSTEM, DEVICE = N_("System"), N_("Device")


def actor_text(kind: str | None, name: str | None, tr: Callable[[str], str]) -> str:
    if kind == "system":
        doing = SYSTEM_ACTORS.get(name or "system")
        return f"{tr(SYSTEM)} · {tr(doing) if doing else (name or '')}"
    if kind == "device":
        return f"{tr(DEVICE)} · {name or ''}"
    return name or kind or ""
