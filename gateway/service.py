"""The gate service: read in → snapshot → decide → passage, trip transition and
audit event in one transaction → barrier and LED command and a live event to the
booth after commit (DESIGN §4)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from auth.principal import Principal
from auth.roles import Role
from kernel import clock
from kernel.errors import N_, Conflict, Forbidden, NotFound, ValidationFailed
from kernel.uow import Actor, UnitOfWork
from models import (
    Alarm,
    Passage,
    PassageImage,
    PassageRead,
    Person,
    Presence,
    Trip,
)
from rules.identity import credential_problem, id_problem, mask_id
from rules.plates import PlateCheck, normalise, validate
from rules.reasons import Reason
from trips import state_machine as sm
from trips.state_machine import LOT_CATEGORIES

from . import pending
from . import repository as repo
from .decide import (
    AWAITING_ARRIVAL,
    CREW_WATCHED,
    DENY,
    HOLD,
    LOW_CONFIDENCE,
    NO_BAY_CODES,
    OPEN,
    Decision,
    PersonPassage,
    decide,
    decide_person,
)
from .devices import Command
from .messages import word
from .runtime import GateRuntime, LaneInfo
from .snapshot import PlateReadIn, Snapshot, TripView

log = logging.getLogger(__name__)

MAX_CROP_BYTES = 512 * 1024
OVERRIDE_ACTIONS = (OPEN, DENY)


@dataclass
class ReadRequest:
    lane: str
    read_id: str
    plate: str
    colour: str | None
    confidence: float
    seen_at: datetime
    crop_jpeg_b64: str | None = None
    scene_jpeg_b64: str | None = None
    trailer_plate: str | None = None
    trailer_confidence: float | None = None
    crew_ids: list[str] = field(default_factory=list)  # ID or certificate numbers shown
    source: str = "camera"
    offline_action: str | None = None  # set when a gate agent decided while cut off
    offline_reasons: list[dict[str, Any]] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)  # kept with the passage (camera clock…)


@dataclass
class GateResult:
    passage: Passage
    replayed: bool = False  # the same read id was seen before: its first answer
    folded: bool = False  # a repeat of the plate within the lane's window
    # The trip as the answer names it (id, code, state: a Trip or a TripView), so the
    # answer need not read it again.
    trip: Any = None


# A read's pictures: the plate crop, and the scene the booth shows with it (which
# vehicle the camera read, when the plate alone cannot say).
PICTURES = {"crop_jpeg_b64": "CROP", "scene_jpeg_b64": "SCENE"}


def _decode_jpeg(data: str | None, field: str) -> bytes | None:
    if not data:
        return None
    code = PICTURES[field]
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise ValidationFailed(N_("The picture in %(field)s is not valid base64."),
                               code=f"{code}_INVALID", params={"field": field},
                               fields={field: [N_("not base64")]}) from None
    if len(raw) > MAX_CROP_BYTES:
        raise ValidationFailed(N_("The picture in %(field)s is larger than 512 KB."),
                               code=f"{code}_TOO_LARGE", params={"field": field},
                               fields={field: [N_("too large")]})
    if not raw.startswith(b"\xff\xd8"):
        raise ValidationFailed(N_("The picture in %(field)s is not a JPEG image."),
                               code=f"{code}_NOT_JPEG", params={"field": field},
                               fields={field: [N_("not a JPEG")]})
    return raw


def _keep_picture(session: Session, jpeg: bytes | None, now: datetime) -> str | None:
    """The picture stored once, by its SHA-256 (the audit event names it).

    A picture sent again (a recheck keeps its hold's scene; a camera may resend a
    frame) takes the newer passage's time: retention counts from the last passage
    that names it, or the newer passage would lose its picture with the older one's.
    """
    if not jpeg:
        return None
    sha = hashlib.sha256(jpeg).hexdigest()
    kept = session.get(PassageImage, sha)
    if kept is None:
        session.add(PassageImage(sha256=sha, jpeg=jpeg, created_at=now))
    elif kept.created_at < now:
        kept.created_at = now
    return sha


def authorise_lane(principal: Principal, lane: LaneInfo) -> None:
    """Devices act on their own lane only; booth staff on any lane (manual entry)."""
    if principal.has(Role.ADMIN, Role.GATE_OPERATOR):
        return
    if principal.has(Role.DEVICE) and principal.lane_id == lane.id:
        return
    raise Forbidden(N_("This token is not bound to lane %(lane)s."), code="LANE_NOT_BOUND",
                    params={"lane": lane.code})


def passage_for_read(session: Session, lane_id: int, read_id: str) -> Passage | None:
    """The passage a read id already answered at this lane (never another lane's)."""
    row = session.get(PassageRead, (lane_id, read_id))
    return session.get(Passage, row.passage_id) if row else None


def _fold_target(session: Session, lane: LaneInfo, plate: str, seen_at: datetime,
                 trip_id: int | None) -> Passage | None:
    """The passage a repeat read of `plate` folds into: the same lane's, within its
    window, and only if nothing has happened to the vehicle or its trip since — no
    later passage of the plate at any lane, the same trip, its state unchanged — so a
    folded answer is never one the vehicle's state no longer supports."""
    if lane.fold_window_s <= 0:
        return None
    window = timedelta(seconds=lane.fold_window_s)
    target = session.scalar(
        select(Passage).where(Passage.lane_id == lane.id, Passage.plate == plate,
                              Passage.seen_at >= seen_at - window,
                              Passage.seen_at <= seen_at + window,
                              Passage.override_action.is_(None),
                              Passage.resolved_at.is_(None))
        .order_by(Passage.id.desc()).limit(1))
    if target is None or target.trip_id != trip_id:
        return None
    later = session.scalar(select(Passage.id).where(
        Passage.plate == plate, Passage.seen_at >= target.seen_at - window,
        Passage.id > target.id).limit(1))
    if later is not None:
        return None
    if trip_id is not None:
        changed = session.scalar(select(Trip.state_changed_at).where(Trip.id == trip_id))
        if changed is not None and changed > target.decided_at:
            return None
    return target


def _crew_presented(session: Session, trip: TripView | None, credentials: list[str]) -> bool:
    """Whether the IDs shown at the booth include the booked driver and escort."""
    if trip is None or trip.driver_id is None:
        return False
    wanted = {trip.driver_id} | ({trip.escort_id} if trip.escort_id else set())
    return wanted <= _persons_shown(session, credentials)


def _persons_shown(session: Session, credentials: list[str]) -> set[int]:
    """The persons whose national ID or certificate number was shown (ID card reader,
    QR, or typed at the booth)."""
    if not credentials:
        return set()
    from registry.lookup import person_by_national_id, qualifications_by_cert

    shown: set[int] = set()
    for raw in credentials:
        raw = raw.strip()
        if not raw:
            continue
        person = person_by_national_id(session, raw) if id_problem(raw) is None else None
        if person is None:
            quals = qualifications_by_cert(session, raw)
            person = session.get(Person, quals[0].person_id) if quals else None
        if person is not None:
            shown.add(person.id)
    return shown


def process_read(uow: UnitOfWork, principal: Principal, req: ReadRequest,
                 runtime: GateRuntime) -> GateResult:
    session = uow.session
    now = clock.now()
    lane = runtime.lane(session, req.lane)
    authorise_lane(principal, lane)
    crop = _decode_jpeg(req.crop_jpeg_b64, "crop_jpeg_b64")
    scene = _decode_jpeg(req.scene_jpeg_b64, "scene_jpeg_b64")
    names = runtime.names(session)
    earlier, rows = repo.lock_and_snapshot(
        session, lane.id, req.read_id,
        repo.snapshot_query(req.plate, req.colour, lane.view.area, now))
    if earlier is not None:
        return GateResult(session.get_one(Passage, earlier), replayed=True)
    read = PlateReadIn(plate=req.plate, colour=req.colour, confidence=req.confidence,
                       seen_at=req.seen_at, trailer_plate=req.trailer_plate,
                       trailer_confidence=req.trailer_confidence)
    snap = repo.build_snapshot(session, lane, req.plate, req.colour, now, names, rows)
    plate = snap.vehicle.plate if snap.vehicle else read.plate.strip().upper()[:16]

    # A repeat of the camera's own read folds into it; an unreadable plate (G06), a plate
    # an operator typed and an agent's offline decision are decisions of their own.
    foldable = bool(plate) and req.source not in ("manual", "recheck") \
        and req.offline_action is None
    target = _fold_target(session, lane, plate, req.seen_at,
                          snap.trip.id if snap.trip else None) if foldable else None
    if target is not None:
        with _first_answer_stands(uow, lane.id, req):
            target.read_count += 1
            session.add(PassageRead(lane_id=lane.id, read_id=req.read_id, passage_id=target.id,
                                    received_at=now))
            uow.commit()
        return GateResult(target, folded=True, trip=snap.trip)

    shown = _persons_shown(session, req.crew_ids)
    if _crew_presented(session, snap.trip, req.crew_ids):
        read = replace(read, crew_presented=True)
    snap, no_bay = _lot_room(uow, lane, snap)
    decision = decide(read, snap, now)
    if req.offline_action is not None:
        decision = _offline_decision(req, decision)
    with _first_answer_stands(uow, lane.id, req):
        passage, trip = _record(uow, principal, lane, snap, read, req, decision, plate, crop,
                                now, runtime, crew_shown=shown, no_bay=no_bay, scene=scene)
        uow.commit()
    return GateResult(passage, trip=trip)


@contextmanager
def _first_answer_stands(uow: UnitOfWork, lane_id: int, req: ReadRequest) -> Iterator[None]:
    """Writing a read's answer, where the same read id may have landed meanwhile: from
    another worker, or from this lane before this read's look-up saw it (lock_lane).
    The read id is unique; the first answer stands and this one is dropped."""
    try:
        yield
    except IntegrityError:
        uow.rollback()
        first = passage_for_read(uow.session, lane_id, req.read_id)
        if first is None:
            raise
        raise _Replayed(first) from None


class _Replayed(Exception):
    def __init__(self, passage: Passage) -> None:
        super().__init__(passage.id)
        self.passage = passage


def process_read_once(uow: UnitOfWork, principal: Principal, req: ReadRequest,
                      runtime: GateRuntime) -> GateResult:
    """process_read, answering a read that raced in twice with the first answer."""
    from parkgate.metrics import DECISION_SECONDS, DECISIONS

    started = time.perf_counter()
    try:
        result = process_read(uow, principal, req, runtime)
    except _Replayed as replayed:
        return GateResult(replayed.passage, replayed=True)
    if not (result.replayed or result.folded):
        DECISION_SECONDS.observe(time.perf_counter() - started)
        DECISIONS.labels(result.passage.action, str(result.passage.offline).lower()).inc()
    return result


def _offline_decision(req: ReadRequest, centre: Decision) -> Decision:
    """What the agent did stands (it happened); the centre's view is kept beside it."""
    reasons = tuple(Reason(r["code"], dict(r.get("params") or {}))
                    for r in req.offline_reasons if r.get("code"))
    return Decision(req.offline_action or HOLD, reasons,
                    next_trip_action=centre.next_trip_action, category=centre.category)


def _trip_to_move(session: Session, snap: Snapshot) -> Trip | None:
    """The snapshot's trip as an entity, for a read that changes it (the lane's lock
    is held: nothing else moves it meanwhile at this lane)."""
    return session.get(Trip, snap.trip.id) if snap.trip else None


def _trip_of(session: Session, snap: Snapshot) -> Trip:
    """_trip_to_move where the snapshot has a trip."""
    trip = _trip_to_move(session, snap)
    assert trip is not None
    return trip


def _record(uow: UnitOfWork, principal: Principal, lane: LaneInfo, snap: Snapshot,
            read: PlateReadIn, req: ReadRequest, decision: Decision, plate: str,
            crop: bytes | None, now: datetime, runtime: GateRuntime,
            *, crew_shown: set[int] | None = None, completes: int | None = None,
            no_bay: Any = None, scene: bytes | None = None) -> tuple[Passage, Any]:
    """The passage a decision makes, and what came of its trip (a Trip if it was
    changed, else the snapshot's TripView; None without one). `crew_shown`: persons
    whose papers were shown with this read (who may leave with a hazmat vehicle, G24);
    `completes`: the held passage an operator's check completes (a typed trailer
    plate, the crew's papers); `no_bay`: the lot's refusal behind a LOT_FULL or
    LOT_NO_ZONE hold (the truck waits at the entrance and the dispatcher is told)."""
    session = uow.session
    vehicle = snap.vehicle
    trip: Any = snap.trip  # the snapshot's view; the record once the read moves it
    if no_bay is not None and trip is not None and \
            any(r.code in NO_BAY_CODES for r in decision.reasons):
        from dispatch import service as lot

        lot.wait_at_entrance(uow, _trip_of(session, snap), principal.actor, no_bay, now)
    wording = word(decision)
    crop_sha = _keep_picture(session, crop, now)
    scene_sha = _keep_picture(session, scene, now)
    passage = Passage(
        read_id=req.read_id, lane_id=lane.id, area=snap.lane.area, direction=lane.direction,
        source=req.source, subject_kind="vehicle", plate=plate or None,
        plate_colour=vehicle.colour if vehicle else req.colour,
        confidence=req.confidence, trailer_plate=req.trailer_plate,
        vehicle_id=vehicle.id if vehicle else None, trip_id=trip.id if trip else None,
        seen_at=req.seen_at, decided_at=now, action=decision.action,
        reasons=wording.reasons, message_zh=wording.message_zh, message_en=wording.message_en,
        crossed=decision.crossed, offline=req.offline_action is not None, read_count=1,
        crop_sha256=crop_sha,
        details={"led": wording.led_zh, "category": decision.category,
                 "next_trip_action": decision.next_trip_action,
                 "crew_presented": read.crew_presented,
                 "crew_shown": sorted(crew_shown or ()), **req.details,
                 **({"completes": completes} if completes else {}),
                 **({"scene_sha256": scene_sha} if scene_sha else {})})
    repo.record_passage(session, passage, req.read_id)
    if read.crew_presented and trip is not None and not trip.crew_confirmed:
        _trip_of(session, snap).crew_confirmed_at = now
    uow.audit("gate.decision", principal.actor, subject_kind="passage",
              subject_id=str(passage.id), lane_id=lane.id, plate=plate or None,
              vehicle_id=passage.vehicle_id, trip_id=passage.trip_id,
              enterprise_id=trip.enterprise_id if trip else None,
              payload={"action": decision.action, "read_id": req.read_id,
                       "reasons": [{"code": r["code"], "rule": r["rule"]}
                                   for r in wording.reasons],
                       "confidence": req.confidence, "source": req.source,
                       "offline": passage.offline, "crop_sha256": crop_sha,
                       **({"scene_sha256": scene_sha} if scene_sha else {}),
                       "trailer_plate": req.trailer_plate, "plate": plate or "unreadable",
                       **({"completes": completes} if completes else {})})
    if decision.crossed or decision.trip_action:
        moved = _trip_to_move(session, snap)
        _move(uow, principal.actor, lane, snap.lane.area, passage, vehicle.id if vehicle else None,
              moved, decision.next_trip_action, now, override=False, crossed=decision.crossed,
              inside=vehicle.inside if vehicle else None, crew_shown=crew_shown)
        trip = moved
    _after_commit(uow, runtime, lane, passage, wording.led_zh)
    return passage, trip


def _lot_room(uow: UnitOfWork, lane: LaneInfo, snap: Snapshot) -> tuple[Snapshot, Any]:
    """At a lot entrance, whether a bay may take the arriving truck (L03/L05), for
    decide(): the snapshot with it, and the lot's refusal (dispatch.zoning.Refusal) if
    there is one, so the dispatcher can be told. Looking locks the lot."""
    trip = snap.trip
    if lane.gate_kind != "lot" or lane.direction != "in" or trip is None or \
            trip.state not in AWAITING_ARRIVAL or trip.category not in LOT_CATEGORIES:
        return snap, None
    from dispatch import service as lot
    from dispatch.zoning import Refusal

    outcome = lot.room_for(uow.session, _trip_of(uow.session, snap))
    if not isinstance(outcome, Refusal):
        return snap, None
    return replace(snap, lot_room=outcome.rule), outcome


def _move(uow: UnitOfWork, actor: Actor, lane: LaneInfo, area: str, passage: Passage,
          vehicle_id: int | None, trip: Trip | None, trip_action: str | None, now: datetime,
          *, override: bool, crossed: bool, reason: str | None = None,
          inside: bool | None = None, crew_shown: set[int] | None = None) -> None:
    """What a crossing changes: presence in the area (`inside`: the vehicle's, if the
    read's snapshot says), the trip's state, its crew (`crew_shown`: who showed their
    papers with this read)."""
    session = uow.session
    if crossed and vehicle_id is not None:
        _presence(session, area, lane.direction, f"v:{vehicle_id}", vehicle_id=vehicle_id,
                  trip_id=trip.id if trip else None, passage_id=passage.id, now=now,
                  inside=inside)
        if trip is not None:
            _crew_cross(uow, actor, lane, area, passage, trip, now, crew_shown or set())
    if trip is not None and crossed and lane.gate_kind == "perimeter" and \
            lane.direction == "in" and trip.entered_park_at is None:
        # G23: the dwell clock starts at the perimeter; a released hazmat truck enters
        # without a state change of its own (it is already RELEASED).
        trip.entered_park_at = now
    if trip is None or trip_action is None:
        return
    if trip_action == "check_in_lot":
        from dispatch.service import check_in

        check_in(uow, trip, actor, now, lane=lane)
    else:
        try:
            grace = lane.policy.arrival_grace
            sm.apply(uow, trip, trip_action, actor,
                     sm.Context(now=now, grace=grace, override=override, reason=reason),
                     payload={"passage_id": passage.id, "lane": lane.code})
        except (sm.IllegalTransition, sm.PreconditionFailed) as exc:
            # The crossing stands; the trip's record says why it did not move with it.
            passage.details = {**passage.details, "trip_not_moved": exc.code}
            return


def _presence(session: Session, area: str, direction: str, key: str, *, now: datetime,
              vehicle_id: int | None = None, person_id: int | None = None,
              trip_id: int | None = None, passage_id: int | None = None,
              inside: bool | None = None) -> None:
    """Who is inside `area` after a crossing. `inside`: whether the subject was, as the
    read's snapshot saw it after the lane's lock (so a car entering as usual costs no
    look-up); None to look."""
    if inside is not None and inside == (direction == "in"):
        return  # already where the crossing puts them
    row = None if inside is False else session.scalar(select(Presence).where(
        Presence.area == area, Presence.subject_key == key))
    if direction == "in" and row is None:
        session.add(Presence(area=area, subject_key=key, vehicle_id=vehicle_id,
                             person_id=person_id, trip_id=trip_id, entered_at=now,
                             passage_id=passage_id))
    elif direction == "out" and row is not None:
        session.delete(row)


def _crew_cross(uow: UnitOfWork, actor: Actor, lane: LaneInfo, area: str, vehicle_passage: Passage,
                trip: Trip, now: datetime, shown: set[int]) -> None:
    """The crew passes with their vehicle: a passage each, for the roster. Leaving with
    a hazmat vehicle, only those confirmed at this lane leave (G24, as at entry: ID
    card, QR or the operator); the others stay recorded inside and an alarm names them."""
    session = uow.session
    for person_id in (trip.driver_id, trip.escort_id):
        if person_id is None:
            continue
        key = f"p:{person_id}"
        inside = repo.is_inside(session, key, area)
        if (lane.direction == "in") == inside:
            continue  # already where the crossing would put them
        if lane.direction == "out" and trip.category in CREW_WATCHED and person_id not in shown:
            _crew_left_inside(uow, actor, lane, trip, person_id)
            continue
        crew = Passage(lane_id=lane.id, area=area, direction=lane.direction, source="crew",
                       subject_kind="person", person_id=person_id, trip_id=trip.id,
                       seen_at=vehicle_passage.seen_at, decided_at=now, action=OPEN, reasons=[],
                       crossed=True, offline=vehicle_passage.offline,
                       details={"with_passage": vehicle_passage.id})
        repo.record_passage(session, crew, None)
        _presence(session, area, lane.direction, key, person_id=person_id, trip_id=trip.id,
                  passage_id=crew.id, now=now)


def _crew_left_inside(uow: UnitOfWork, actor: Actor, lane: LaneInfo, trip: Trip,
                      person_id: int) -> None:
    """G24: a driver or escort whose leaving was not confirmed with their vehicle: one
    alarm per person and trip until it is resolved, not one more at every exit lane the
    vehicle passes after (lot, plant, park), which buried the dispatcher's list."""
    from dispatch.alarms import raise_alarm

    if uow.session.scalar(select(Alarm.id).where(
            Alarm.trip_id == trip.id, Alarm.person_id == person_id,
            Alarm.kind == "CREW_LEFT_INSIDE", Alarm.resolved_at.is_(None)).limit(1)) is not None:
        return
    person = uow.session.get(Person, person_id)
    name = person.name if person else str(person_id)
    raise_alarm(uow, "CREW_LEFT_INSIDE",
                N_("%(person)s (%(trip)s) did not leave with the vehicle at %(lane)s; "
                   "still recorded inside."),
                args={"person": name, "trip": trip.code, "lane": lane.code}, actor=actor,
                trip_id=trip.id, person_id=person_id, lane_id=lane.id,
                vehicle_id=trip.vehicle_id)


def _after_commit(uow: UnitOfWork, runtime: GateRuntime, lane: LaneInfo, passage: Passage,
                  led: str) -> None:
    # An operator's override is what the barrier obeys.
    action = passage.override_action or passage.action
    code, devices, pid = lane.code, dict(lane.devices or {}), passage.id
    uow.publish(f"lane:{code}", "passage", {"passage_id": pid, "action": action,
                                            "plate": passage.plate})
    uow.publish("roster", "passage", {"lane": code, "action": action})

    def command() -> None:
        controller = runtime.controllers.for_lane(code, devices)
        ok = controller.send(Command(code, action, action == OPEN, led, pid))
        if not ok and action == OPEN:
            log.error("barrier of %s did not confirm OPEN for passage %s", code, pid)

    uow.after_commit(command)


# --- operators ----------------------------------------------------------------------------

def lane_would_decide(session: Session, lane: LaneInfo, plate: str, colour: str | None,
                      trailer_plate: str | None, runtime: GateRuntime, now: datetime
                      ) -> Decision:
    """The engine's answer for this vehicle at this lane now, recorded nowhere: what
    the booth tells a driver before the barrier does (as a camera would read it,
    surely; the crew's papers not yet shown; the lot's room not reserved)."""
    snap = repo.build_snapshot(session, lane, plate, colour, now, runtime.names(session))
    read = PlateReadIn(plate, colour, 1.0, now, trailer_plate=trailer_plate,
                       trailer_confidence=1.0 if trailer_plate else None)
    return decide(read, snap, now)


REASON_MAX = 500  # Passage.override_reason's length


def override(uow: UnitOfWork, principal: Principal, passage_id: int, action: str, reason: str,
             runtime: GateRuntime) -> Passage:
    """An operator opens or denies against the engine, with a reason (G03, G06)."""
    if not principal.has(Role.ADMIN, Role.GATE_OPERATOR):
        raise Forbidden(N_("Only a gate operator may override."), code="OVERRIDE_NOT_PERMITTED")
    if action not in OVERRIDE_ACTIONS:
        raise ValidationFailed(N_("An override opens or denies."), code="OVERRIDE_ACTION",
                               fields={"action": [N_("OPEN or DENY")]})
    if not reason or not reason.strip():
        raise ValidationFailed(N_("An override needs a reason."), code="REASON_REQUIRED",
                               fields={"reason": [N_("Required.")]})
    if len(reason.strip()) > REASON_MAX:
        # Cut silently, the record would say less than the operator wrote.
        raise ValidationFailed(N_("The reason is longer than %(max)s characters."),
                               code="REASON_TOO_LONG", params={"max": REASON_MAX},
                               fields={"reason": [N_("Too long.")]})
    session = uow.session
    passage = session.get(Passage, passage_id, with_for_update=True)
    if passage is None:
        raise NotFound(N_("No such passage."))
    pending.ensure_unresolved(session, passage)
    pending.ensure_at_the_barrier(session, passage)
    now = clock.now()
    pending.resolve(passage, "override", principal, now)
    lane = runtime.lane_by_id(session, passage.lane_id)
    engine = {"action": passage.action, "reasons": [r.get("code") for r in passage.reasons]}
    passage.override_action = action
    passage.override_by_id = principal.user_id
    passage.override_reason = reason.strip()
    passage.override_at = now
    uow.audit("gate.override", principal.actor, subject_kind="passage",
              subject_id=str(passage.id), lane_id=passage.lane_id, plate=passage.plate,
              vehicle_id=passage.vehicle_id, person_id=passage.person_id,
              trip_id=passage.trip_id,
              payload={"action": action, "reason": passage.override_reason, "engine": engine,
                       "plate": passage.plate or "unreadable"})
    if action == OPEN and not passage.crossed:
        passage.crossed = True
        trip = session.get(Trip, passage.trip_id) if passage.trip_id else None
        if passage.subject_kind == "person" and passage.person_id:
            _presence(session, passage.area, lane.direction, f"p:{passage.person_id}",
                      person_id=passage.person_id, passage_id=passage.id, now=now)
        else:
            _move(uow, principal.actor, lane, passage.area, passage, passage.vehicle_id, trip,
                  passage.details.get("next_trip_action"), now, override=True, crossed=True,
                  reason=passage.override_reason,
                  crew_shown=set(passage.details.get("crew_shown") or ()))
    # The sign says what the barrier now does, and the booth shows what the sign says.
    led = "人工放行" if action == OPEN else "禁止通行"
    passage.details = {**(passage.details or {}), "led": led}
    _after_commit(uow, runtime, lane, passage, led)
    uow.commit()
    return passage


def confirm_crew(uow: UnitOfWork, principal: Principal, passage_id: int,
                 runtime: GateRuntime) -> GateResult:
    """The operator checked the crew's papers. At an entry: recorded, and the engine
    decides again (G13). At an exit: the crew still recorded inside leave with their
    vehicle after all, and the G24 alarms about them are resolved."""
    if not principal.has(Role.ADMIN, Role.GATE_OPERATOR, Role.DISPATCHER):
        raise Forbidden(N_("Your role does not allow this."))
    session = uow.session
    passage = _vehicle_passage(session, passage_id)
    if passage.trip_id is None:
        raise NotFound(N_("No such passage."))
    trip = session.get_one(Trip, passage.trip_id)
    lane = runtime.lane_by_id(session, passage.lane_id)
    now = clock.now()
    if passage.direction == "out":
        pending.ensure_unresolved(session, passage)
        pending.resolve(passage, "crew_confirmed", principal, now)
        _crew_confirmed_leaving(uow, principal, lane, passage, trip, now)
        uow.commit()
        return GateResult(passage)
    replay = passage_for_read(session, lane.id, _recheck_id(passage, "crew"))
    if replay is not None:
        return GateResult(replay, replayed=True)  # a double click: the first answer
    pending.ensure_unresolved(session, passage)
    if trip.crew_confirmed_at is None:
        trip.crew_confirmed_at = now
        uow.audit("trip.crew_confirmed", principal.actor, subject_kind="trip",
                  subject_id=str(trip.id), trip_id=trip.id, lane_id=lane.id,
                  enterprise_id=trip.enterprise_id, payload={"passage_id": passage.id})
    session.flush()
    return _decide_again(uow, principal, passage, lane, runtime, now, "crew",
                         crew_presented=True)


def typed_plate(text: str, field: str = "plate") -> PlateCheck:
    """A plate a person typed at the booth: checked against the plate formats, since
    unlike a camera read (recorded whatever it says) a typo is theirs to fix now."""
    check = validate(text)
    if not check.valid:
        raise ValidationFailed(N_("%(plate)s is not a valid plate."), code="PLATE_INVALID",
                               params={"plate": normalise(text)[:16]},
                               fields={field: [N_("Not a valid plate.")]})
    return check


def typed_credential(text: str) -> str:
    """An ID or certificate number shown on foot: a mistyped ID number (its check
    digit) or a stub like '123' is the operator's to fix now, not a refused person."""
    from registry.checks import credential_message

    raw = (text or "").strip()
    problem = credential_problem(raw)
    if problem is not None:
        raise ValidationFailed(credential_message(problem), code=problem,
                               fields={"credential": [credential_message(problem)]})
    return raw


def enter_trailer(uow: UnitOfWork, principal: Principal, passage_id: int, trailer_plate: str,
                  runtime: GateRuntime) -> GateResult:
    """The operator typed the trailer's plate the camera could not read (G18): the
    engine decides on tractor and trailer as it would on two camera reads, in a
    passage of its own that says which held passage it completes."""
    if not principal.has(Role.ADMIN, Role.GATE_OPERATOR):
        raise Forbidden(N_("Your role does not allow this."))
    check = typed_plate(trailer_plate, "trailer_plate")
    session = uow.session
    passage = _vehicle_passage(session, passage_id)
    lane = runtime.lane_by_id(session, passage.lane_id)
    return _decide_again(uow, principal, passage, lane, runtime, clock.now(),
                         f"trailer-{check.text}", trailer_plate=check.text)


def enter_plate(uow: UnitOfWork, principal: Principal, passage_id: int, plate: str,
                colour: str | None, runtime: GateRuntime, *,
                trailer_plate: str | None = None) -> GateResult:
    """The camera saw a vehicle but read no plate (G06), or read it too unsurely to act
    on (G08): the operator reads it off the vehicle (confirming or correcting the
    camera's reading), and the engine decides on it, every check included, in a
    passage that completes the hold. Confirming a plate is not an override: a vehicle
    with no booking or lapsed papers is refused as it would have been on a sure read."""
    if not principal.has(Role.ADMIN, Role.GATE_OPERATOR):
        raise Forbidden(N_("Your role does not allow this."))
    check = typed_plate(plate)
    session = uow.session
    passage = _vehicle_passage(session, passage_id)
    if passage.plate and LOW_CONFIDENCE not in {r.get("code") for r in passage.reasons or ()}:
        raise Conflict(N_("This passage already has a plate; override it instead."),
                       code="PASSAGE_HAS_PLATE")
    lane = runtime.lane_by_id(session, passage.lane_id)
    if passage.plate and passage.plate != check.text and \
            passage_for_read(session, lane.id, _recheck_id(passage, f"plate-{check.text}")) is None:
        # Under the plate the camera read: an auditor who looks up the misread finds
        # who corrected it to what (the decision that follows is under the true plate).
        uow.audit("gate.plate_corrected", principal.actor, subject_kind="passage",
                  subject_id=str(passage.id), lane_id=passage.lane_id, plate=passage.plate,
                  payload={"from": passage.plate, "to": check.text,
                           "confidence": passage.confidence})
    return _decide_again(uow, principal, passage, lane, runtime, clock.now(),
                         f"plate-{check.text}", plate=check.text, colour=colour,
                         trailer_plate=trailer_plate)


def _vehicle_passage(session: Session, passage_id: int) -> Passage:
    passage = session.get(Passage, passage_id, with_for_update=True)
    if passage is None or passage.subject_kind != "vehicle":
        raise NotFound(N_("No such passage."))
    return passage


def _recheck_id(held: Passage, what: str) -> str:
    return f"{held.id}:{what}"[:64]


def _decide_again(uow: UnitOfWork, principal: Principal, held: Passage, lane: LaneInfo,
                  runtime: GateRuntime, now: datetime, what: str, *,
                  trailer_plate: str | None = None, crew_presented: bool = False,
                  plate: str | None = None, colour: str | None = None) -> GateResult:
    """A held vehicle decided again with what the operator checked (the read id names
    the passage and the check, so a double click answers with the first result); the
    hold is resolved by it."""
    session = uow.session
    req = ReadRequest(lane=lane.code, read_id=_recheck_id(held, what),
                      plate=plate or held.plate or "", colour=colour or held.plate_colour,
                      confidence=1.0, seen_at=now,
                      trailer_plate=trailer_plate or held.trailer_plate,
                      trailer_confidence=1.0, source="recheck",
                      # What the operator decided on was that picture: it stays in view.
                      details={k: held.details[k] for k in ("scene_sha256",)
                               if k in (held.details or {})})
    earlier = passage_for_read(session, lane.id, req.read_id)
    if earlier is not None:
        return GateResult(earlier, replayed=True)
    pending.ensure_unresolved(session, held)
    pending.resolve(held, "completed", principal, now)
    snap = repo.build_snapshot(session, lane, req.plate, req.colour, now, runtime.names(session))
    read = PlateReadIn(req.plate, req.colour, 1.0, now, trailer_plate=req.trailer_plate,
                       trailer_confidence=1.0, crew_presented=crew_presented)
    snap, no_bay = _lot_room(uow, lane, snap)
    decision = decide(read, snap, now)
    shown = set(held.details.get("crew_shown") or ())
    with _first_answer_stands(uow, lane.id, req):
        result, moved = _record(uow, principal, lane, snap, read, req, decision,
                                req.plate, None, now, runtime, crew_shown=shown,
                                completes=held.id, no_bay=no_bay)
        uow.commit()
    return GateResult(result, trip=moved)


def _crew_confirmed_leaving(uow: UnitOfWork, principal: Principal, lane: LaneInfo,
                            passage: Passage, trip: Trip, now: datetime) -> None:
    session = uow.session
    left = []
    for person_id in (trip.driver_id, trip.escort_id):
        if person_id is None or not repo.is_inside(session, f"p:{person_id}", passage.area):
            continue
        crew = Passage(lane_id=lane.id, area=passage.area, direction="out", source="crew",
                       subject_kind="person", person_id=person_id, trip_id=trip.id,
                       seen_at=now, decided_at=now, action=OPEN, reasons=[], crossed=True,
                       details={"with_passage": passage.id, "confirmed_by_operator": True})
        repo.record_passage(session, crew, None)
        _presence(session, passage.area, "out", f"p:{person_id}", person_id=person_id,
                  trip_id=trip.id, passage_id=crew.id, now=now)
        left.append(person_id)
    for alarm in session.scalars(select(Alarm).where(
            Alarm.trip_id == trip.id, Alarm.kind == "CREW_LEFT_INSIDE",
            Alarm.resolved_at.is_(None))):
        alarm.resolved_at = now
    uow.audit("trip.crew_left", principal.actor, subject_kind="trip", subject_id=str(trip.id),
              trip_id=trip.id, lane_id=lane.id, enterprise_id=trip.enterprise_id,
              payload={"passage_id": passage.id, "persons": left})
    uow.publish(f"lane:{lane.code}", "passage", {"passage_id": passage.id,
                                                 "action": passage.action,
                                                 "plate": passage.plate})


# --- people on foot -----------------------------------------------------------------------

def process_person(uow: UnitOfWork, principal: Principal, lane_code: str, credential: str,
                   runtime: GateRuntime, *, read_id: str | None = None) -> GateResult:
    session = uow.session
    lane = runtime.lane(session, lane_code)
    authorise_lane(principal, lane)
    if read_id:
        earlier = passage_for_read(session, lane.id, read_id)
        if earlier is not None:
            return GateResult(earlier, replayed=True)
    raw = typed_credential(credential)
    now = clock.now()
    from registry.lookup import person_by_national_id, qualifications_by_cert

    person = person_by_national_id(session, raw) if id_problem(raw) is None else None
    if person is None and raw:
        quals = qualifications_by_cert(session, raw)
        person = session.get(Person, quals[0].person_id) if quals else None
    view = lane.view
    pview = repo.person_view(session, person, view, now) if person else None
    crew_vehicle_inside, crew_trip = _crew_vehicle_state(session, person, view.area)
    decision = decide_person(PersonPassage(view, pview, crew_vehicle_inside))
    wording = word(decision)
    passage = Passage(
        read_id=read_id, lane_id=lane.id, area=view.area, direction=lane.direction,
        source="booth", subject_kind="person", person_id=person.id if person else None,
        trip_id=crew_trip.id if crew_trip else None, seen_at=now, decided_at=now,
        action=decision.action, reasons=wording.reasons, message_zh=wording.message_zh,
        message_en=wording.message_en, crossed=decision.crossed,
        details={"led": wording.led_zh, "credential": "national_id"
                 if id_problem(raw) is None else "certificate",
                 # Nobody on record: what was shown, masked, so two such holds differ.
                 **({} if person else {"shown": mask_id(raw)})})
    repo.record_passage(session, passage, read_id)
    uow.audit("gate.person", principal.actor, subject_kind="passage", subject_id=str(passage.id),
              lane_id=lane.id, person_id=passage.person_id, trip_id=passage.trip_id,
              payload={"action": decision.action,
                       "reasons": [{"code": r.code, "rule": r.rule} for r in decision.reasons]})
    if decision.crossed and person is not None:
        _presence(session, view.area, lane.direction, f"p:{person.id}", person_id=person.id,
                  passage_id=passage.id, now=now)
    if "CREW_APART" in decision.codes and person is not None:
        from dispatch.alarms import raise_alarm

        raise_alarm(uow, "CREW_APART", N_("Crew member passing apart from their vehicle."),
                    trip_id=crew_trip.id if crew_trip else None, person_id=person.id,
                    lane_id=lane.id, actor=principal.actor)
    _after_commit(uow, runtime, lane, passage, wording.led_zh)
    uow.commit()
    return GateResult(passage)


def _crew_vehicle_state(session: Session, person: Person | None, area: str
                        ) -> tuple[bool | None, Trip | None]:
    if person is None:
        return None, None
    trip = session.scalar(select(Trip).where(
        (Trip.driver_id == person.id) | (Trip.escort_id == person.id),
        Trip.state.in_(("ARRIVED", "IN_LOT", "RELEASED", "OVERDUE", "AT_PLANT", "LEAVING")))
        .order_by(Trip.state_changed_at.desc()).limit(1))
    if trip is None:
        return None, None
    return repo.is_inside(session, f"v:{trip.vehicle_id}", area), trip


