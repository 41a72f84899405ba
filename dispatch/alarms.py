"""Alarms for people to act on (dwell limits, missed deadlines, crew apart)."""

from __future__ import annotations

from kernel import clock
from kernel.uow import Actor, UnitOfWork
from models import Alarm


def raise_alarm(uow: UnitOfWork, kind: str, message: str, *, actor: Actor,
                trip_id: int | None = None, vehicle_id: int | None = None,
                person_id: int | None = None, lane_id: int | None = None,
                camera_id: int | None = None) -> Alarm:
    alarm = Alarm(kind=kind, trip_id=trip_id, vehicle_id=vehicle_id, person_id=person_id,
                  lane_id=lane_id, camera_id=camera_id, raised_at=clock.now(),
                  message=message[:500])
    uow.session.add(alarm)
    uow.session.flush()
    uow.audit("alarm.raise", actor, subject_kind="alarm", subject_id=str(alarm.id),
              trip_id=trip_id, vehicle_id=vehicle_id, person_id=person_id, lane_id=lane_id,
              payload={"kind": kind, "message": message})
    uow.publish("alarms", "alarm", {"id": alarm.id, "kind": kind, "trip_id": trip_id})
    return alarm
