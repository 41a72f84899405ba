"""Alarms for people to act on (dwell limits, missed deadlines, crew apart).

An alarm keeps its message as a template (an msgid, marked with N_) and the values it
names apart, so the lot board shows it in Chinese to one dispatcher and in English to
the next; the audit event carries the English text, as auditors read it.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from kernel import clock
from kernel.uow import Actor, UnitOfWork
from models import Alarm
from parkgate.i18n import translate
from parkgate.labels import label
from rules.documents import PARK_TZ

# Values under a key ending so are instants (ISO text): shown as the park's clock time.
_AT = "_at"


def raise_alarm(uow: UnitOfWork, kind: str, message: str, *, actor: Actor,
                args: dict[str, Any] | None = None,
                trip_id: int | None = None, vehicle_id: int | None = None,
                person_id: int | None = None, lane_id: int | None = None,
                camera_id: int | None = None) -> Alarm:
    """`message`: an N_-marked template naming `args` as %(name)s."""
    stored = {k: v.isoformat() if isinstance(v, datetime) else v
              for k, v in (args or {}).items()}
    alarm = Alarm(kind=kind, trip_id=trip_id, vehicle_id=vehicle_id, person_id=person_id,
                  lane_id=lane_id, camera_id=camera_id, raised_at=clock.now(),
                  message=message[:500],
                  message_args=json.dumps(stored, ensure_ascii=False) if stored else None)
    uow.session.add(alarm)
    uow.session.flush()
    uow.audit("alarm.raise", actor, subject_kind="alarm", subject_id=str(alarm.id),
              trip_id=trip_id, vehicle_id=vehicle_id, person_id=person_id, lane_id=lane_id,
              payload={"kind": kind, "message": alarm_text(alarm, "en")})
    uow.publish("alarms", "alarm", {"id": alarm.id, "kind": kind, "trip_id": trip_id})
    return alarm


def alarm_text(alarm: Any, locale: str) -> str:
    """The alarm's message in `locale`. Text values that are codes or msgids (a rule's
    wording, a zone's verdict) are translated too; names and plates pass through."""
    if not alarm.message_args:
        return translate(alarm.message, locale)
    args = json.loads(alarm.message_args)
    return translate(alarm.message, locale,
                     {k: _shown(k, v, locale) for k, v in args.items()})


def _shown(key: str, value: Any, locale: str) -> Any:
    if key.endswith(_AT) and isinstance(value, str):
        return datetime.fromisoformat(value).astimezone(PARK_TZ).strftime("%H:%M")
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_shown('', v, locale)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(str(_shown("", v, locale)) for v in value)
    if isinstance(value, str):
        return translate(label(value), locale)
    return value
