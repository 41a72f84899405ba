"""The booth's work queue: a lane's holds that wait for an operator, and the rule that
a hold is acted on once.

A hold (HOLD_FOR_OPERATOR) stays pending until an operator resolves it (an override,
a check that decides it again, crew confirmed at an exit) or a later read of the same
plate (or person) at the lane replaces it; an unreadable plate is replaced by nothing
(every such vehicle is a hold of its own). The list is read from the database, so it
is the same after a reload and whichever worker took the read.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, and_, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from auth.principal import Principal
from kernel.errors import N_, Conflict
from models import Passage, User
from rules.documents import PARK_TZ

from .decide import HOLD

PENDING_SHOWN = 50


def _pending_clause(lane_id: int) -> list[ColumnElement[bool]]:
    later = aliased(Passage)
    replaced = exists().where(
        later.lane_id == Passage.lane_id, later.id > Passage.id, later.source != "crew",
        or_(and_(Passage.plate.is_not(None), later.plate == Passage.plate),
            and_(Passage.person_id.is_not(None), later.person_id == Passage.person_id)))
    return [Passage.lane_id == lane_id, Passage.action == HOLD,
            Passage.resolved_at.is_(None), Passage.override_action.is_(None), ~replaced]


def pending(session: Session, lane_id: int, limit: int = PENDING_SHOWN) -> list[Passage]:
    """The lane's pending holds, oldest first (the truck that has waited longest)."""
    return list(session.scalars(select(Passage).where(*_pending_clause(lane_id))
                                .order_by(Passage.id).limit(limit)))


def pending_count(session: Session, lane_id: int) -> int:
    return session.scalar(select(func.count()).select_from(Passage)
                          .where(*_pending_clause(lane_id))) or 0


def replaced_by(session: Session, passage: Passage) -> Passage | None:
    """The later passage at the lane that replaced a hold, if one did."""
    if passage.plate is None and passage.person_id is None:
        return None
    same = Passage.plate == passage.plate if passage.plate is not None \
        else Passage.person_id == passage.person_id
    return _first_later(session, passage, same)


def _first_later(session: Session, passage: Passage,
                 *where: ColumnElement[bool]) -> Passage | None:
    """The first passage read at the same lane after this one (crew confirmations,
    which follow their vehicle's passage, aside), narrowed by `where`."""
    return session.scalar(select(Passage).where(Passage.lane_id == passage.lane_id,
                                                Passage.id > passage.id,
                                                Passage.source != "crew", *where)
                          .order_by(Passage.id).limit(1))


def served_since(session: Session, passage: Passage) -> Passage | None:
    """A later live read at the passage's lane (another vehicle or person, or the same
    one again): the barrier has served it since, so this passage is history."""
    return _first_later(session, passage, Passage.offline.is_(False))


def ensure_at_the_barrier(session: Session, passage: Passage) -> None:
    """An override moves the lane's barrier now: only for the vehicle (or person) the
    barrier is still serving. After it crossed, or once the lane has read someone
    else, an override would open or shut the barrier on whoever is there instead. A
    hold is the exception: it waits in the booth's queue for the operator, held
    vehicles wait for the answer, and a later read of the same one replaces it
    (ensure_unresolved)."""
    if passage.crossed:
        raise Conflict(N_("This passage already went through the barrier at %(at)s: an "
                          "override can no longer change it."), code="PASSAGE_CROSSED",
                       params={"at": _time(passage.decided_at)})
    if passage.action == HOLD:
        return
    later = served_since(session, passage)
    if later is not None:
        raise Conflict(N_("The lane has read %(who)s since (%(at)s): the barrier now serves "
                          "that one. Act on the current passage."), code="PASSAGE_SUPERSEDED",
                       params={"who": later.plate or N_("a person"),
                               "at": _time(later.decided_at)},
                       extra={"passage_id": later.id})


def ensure_unresolved(session: Session, passage: Passage) -> None:
    """Refuse to act on a passage someone already acted on: two operators (or one,
    twice) never lift the barrier twice for one hold."""
    who = None
    if passage.override_action is not None or passage.resolved_at is not None:
        user_id = passage.resolved_by_id or passage.override_by_id
        who = session.get(User, user_id) if user_id else None
        at = passage.resolved_at or passage.override_at
        raise Conflict(N_("%(who)s already dealt with this passage at %(at)s."),
                       code="PASSAGE_RESOLVED",
                       params={"who": who.display_name if who else "?",
                               "at": _time(at)})
    if passage.action == HOLD:
        later = replaced_by(session, passage)
        if later is not None:
            raise Conflict(N_("A later read of this vehicle at %(at)s replaced this hold: "
                              "act on that one."), code="PASSAGE_REPLACED",
                           params={"at": _time(later.decided_at)},
                           extra={"passage_id": later.id})


def resolve(passage: Passage, how: str, principal: Principal, now: datetime) -> None:
    passage.resolved_at = now
    passage.resolution = how
    passage.resolved_by_id = principal.user_id or None


def _time(value: datetime | None) -> str:
    return value.astimezone(PARK_TZ).strftime("%H:%M:%S") if value else "?"
