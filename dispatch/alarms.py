"""Alarms for people to act on (dwell limits, missed deadlines, crew apart).

An alarm keeps its message as a template (an msgid, marked with N_) and the values it
names apart (parkgate.templated), so the lot board shows it in Chinese to one
dispatcher and in English to the next; its audit event carries the same, and the
English text as auditors' exports read it.
"""

from __future__ import annotations

import json
from typing import Any

from kernel import clock
from kernel.uow import Actor, UnitOfWork
from models import Alarm
from parkgate.i18n import translate
from parkgate.templated import render, stored_args


def raise_alarm(uow: UnitOfWork, kind: str, message: str, *, actor: Actor,
                args: dict[str, Any] | None = None,
                trip_id: int | None = None, vehicle_id: int | None = None,
                person_id: int | None = None, lane_id: int | None = None,
                camera_id: int | None = None) -> Alarm:
    """`message`: an N_-marked template naming `args` as %(name)s."""
    stored = stored_args(args or {})
    alarm = Alarm(kind=kind, trip_id=trip_id, vehicle_id=vehicle_id, person_id=person_id,
                  lane_id=lane_id, camera_id=camera_id, raised_at=clock.now(),
                  message=message[:500],
                  message_args=json.dumps(stored, ensure_ascii=False) if stored else None)
    uow.session.add(alarm)
    uow.session.flush()
    uow.audit("alarm.raise", actor, subject_kind="alarm", subject_id=str(alarm.id),
              trip_id=trip_id, vehicle_id=vehicle_id, person_id=person_id, lane_id=lane_id,
              payload={"kind": kind, "message": alarm_text(alarm, "en"),
                       "template": alarm.message, "args": stored})
    uow.publish("alarms", "alarm", {"id": alarm.id, "kind": kind, "trip_id": trip_id})
    return alarm


def alarm_text(alarm: Any, locale: str) -> str:
    """The alarm's message in `locale`; alarms from before templates as written."""
    args = json.loads(alarm.message_args) if alarm.message_args else None
    return render(alarm.message, args, lambda text: translate(text, locale))
