"""A trip from booking to exit on one page: its audit events in chain order, each
gate decision with the read behind it (plate, crop, reasons, override), and the
crew's passages that rode along."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kernel.errors import N_, NotFound
from models import AuditEvent, Lane, Passage, PassageImage, Person, Trip, Vehicle


@dataclass
class Entry:
    at: datetime
    kind: str  # "event" | "passage"
    action: str
    actor: str
    actor_kind: str | None = None
    seq: int | None = None
    passage: dict[str, Any] | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"at": self.at.isoformat(), "kind": self.kind, "action": self.action,
                "actor": self.actor, "actor_kind": self.actor_kind, "seq": self.seq, "passage": self.passage,
                "details": self.details}


@dataclass
class Timeline:
    trip: dict[str, Any]
    entries: list[Entry]

    def as_dict(self) -> dict[str, Any]:
        trip = {k: v.isoformat() if isinstance(v, datetime) else v for k, v in self.trip.items()}
        return {"trip": trip, "entries": [e.as_dict() for e in self.entries]}


def _passage(p: Passage, lanes: dict[int, Lane], images: set[str],
             people: dict[int, str]) -> dict[str, Any]:
    lane = lanes.get(p.lane_id)
    return {"id": p.id, "lane": lane.code if lane else None,
            "lane_name": lane.name if lane else None, "direction": p.direction,
            "subject_kind": p.subject_kind, "plate": p.plate, "action": p.action,
            "reasons": [{"code": r["code"], "rule": r["rule"]} for r in p.reasons],
            "message_zh": p.message_zh, "message_en": p.message_en,
            "crossed": p.crossed, "offline": p.offline, "source": p.source,
            "has_crop": p.crop_sha256 in images, "crop_sha256": p.crop_sha256,
            "override": {"action": p.override_action, "reason": p.override_reason}
            if p.override_action else None, "person_id": p.person_id,
            "person": people.get(p.person_id) if p.person_id else None}


def build(session: Session, trip_id: int) -> Timeline:
    trip = session.get(Trip, trip_id)
    if trip is None:
        raise NotFound(N_("No such trip."), code="TRIP_NOT_FOUND")
    events = list(session.scalars(select(AuditEvent).where(AuditEvent.trip_id == trip_id)
                                  .order_by(AuditEvent.seq)))
    passages = {p.id: p for p in session.scalars(
        select(Passage).where(Passage.trip_id == trip_id).order_by(Passage.id))}
    lanes = {lane.id: lane for lane in session.scalars(
        select(Lane).where(Lane.id.in_({p.lane_id for p in passages.values()})))}
    # Retention may have purged a crop; the passage keeps its hash either way.
    images = set(session.scalars(select(PassageImage.sha256).where(PassageImage.sha256.in_(
        {p.crop_sha256 for p in passages.values() if p.crop_sha256}))))
    people = {person.id: f"{person.name} ({person.id_masked})" for person in session.scalars(
        select(Person).where(Person.id.in_({p.person_id for p in passages.values()
                                            if p.person_id})))}
    entries: list[Entry] = []
    shown: set[int] = set()
    for e in events:
        passage = None
        if e.subject_kind == "passage" and e.subject_id and e.subject_id.isdigit():
            p = passages.get(int(e.subject_id))
            if p is not None:
                passage = _passage(p, lanes, images, people)
                shown.add(p.id)
        entries.append(Entry(e.at, "event", e.action, e.actor_name or e.actor_kind,
                             e.actor_kind, e.seq, passage, json.loads(e.payload)))
    # Crew passages ride along with their vehicle's decision and have no event of
    # their own; they still belong on the trip's record.
    for p in passages.values():
        if p.id not in shown:
            entries.append(Entry(p.decided_at, "passage", f"passage.{p.source}", "",
                                 None, None, _passage(p, lanes, images, people)))
    entries.sort(key=lambda e: (e.at, e.seq or 0))
    vehicle = session.get(Vehicle, trip.vehicle_id) if trip.vehicle_id else None
    return Timeline({"id": trip.id, "code": trip.code, "state": trip.state,
                     "plate": vehicle.plate if vehicle else None,
                     "enterprise_id": trip.enterprise_id,
                     "window_start": trip.window_start, "window_end": trip.window_end},
                    entries)
