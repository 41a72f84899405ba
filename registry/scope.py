"""What an enterprise-scoped principal (enterprise logistics staff, plant receivers)
may see and change of the shared records: one definition that the records API,
the booking checks, the look-ups and the imports all use, so a record out of scope
answers exactly like a missing one everywhere (DOMAIN B06).

An enterprise sees the carriers linked to it, the vehicles of those carriers, and
the people employed by it or by those carriers. Park-wide roles see everything.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select, true
from sqlalchemy.orm import Session

from auth.principal import Principal
from models import Carrier, Person, Vehicle, enterprise_carriers


def linked_carrier_ids(enterprise_id: int | None) -> Select[Any]:
    return select(enterprise_carriers.c.carrier_id).where(
        enterprise_carriers.c.enterprise_id == enterprise_id)


def carrier_visible(principal: Principal) -> ColumnElement[bool]:
    if not principal.enterprise_scoped:
        return true()
    return Carrier.id.in_(linked_carrier_ids(principal.enterprise_id))


def vehicle_visible(principal: Principal) -> ColumnElement[bool]:
    if not principal.enterprise_scoped:
        return true()
    return Vehicle.carrier_id.in_(linked_carrier_ids(principal.enterprise_id))


def person_visible(principal: Principal) -> ColumnElement[bool]:
    if not principal.enterprise_scoped:
        return true()
    return (Person.carrier_id.in_(linked_carrier_ids(principal.enterprise_id))
            | (Person.enterprise_id == principal.enterprise_id))


_VISIBLE = {Vehicle: vehicle_visible, Person: person_visible, Carrier: carrier_visible}


def visible_ids(session: Session, model: Any, ids: Iterable[int | None],
                principal: Principal) -> set[int]:
    """Which of these ids the principal may see (all of them for park-wide roles)."""
    wanted = sorted({i for i in ids if i is not None})
    if not wanted:
        return set()
    if not principal.enterprise_scoped:
        return set(wanted)
    return set(session.scalars(select(model.id).where(model.id.in_(wanted),
                                                      _VISIBLE[model](principal))))


def carrier_is_linked(session: Session, carrier_id: int | None, principal: Principal) -> bool:
    if carrier_id is None:
        return False
    return session.scalar(linked_carrier_ids(principal.enterprise_id)
                          .where(enterprise_carriers.c.carrier_id == carrier_id)) is not None


def carrier_shared(session: Session, carrier_id: int | None, principal: Principal) -> bool:
    """Whether enterprises other than the principal's rely on this carrier: then its
    record is the park's to edit, not one enterprise's."""
    if carrier_id is None:
        return False
    others = session.scalar(select(func.count()).select_from(enterprise_carriers).where(
        enterprise_carriers.c.carrier_id == carrier_id,
        enterprise_carriers.c.enterprise_id != principal.enterprise_id))
    return bool(others)


def person_writable(session: Session, person: Person, principal: Principal) -> bool:
    """Staff of an enterprise edit its own employees and the drivers and escorts of its
    carriers, and never move anyone into another enterprise."""
    if person.enterprise_id is not None and person.enterprise_id != principal.enterprise_id:
        return False
    return person.enterprise_id == principal.enterprise_id or \
        carrier_is_linked(session, person.carrier_id, principal)
