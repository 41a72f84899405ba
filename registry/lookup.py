"""Exact look-ups the gate, booking and the lot make on every vehicle and crew member."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Person, Qualification, Vehicle
from rules.plates import normalise

from . import pii


def vehicle_by_plate(session: Session, plate: str, colour: str | None = None) -> Vehicle | None:
    """An active vehicle by plate (and colour when known: the identity is both)."""
    stmt = select(Vehicle).where(Vehicle.plate == normalise(plate), Vehicle.retired_at.is_(None))
    if colour is not None:
        stmt = stmt.where(Vehicle.plate_colour == colour)
    return session.scalars(stmt.limit(2)).first()


def qualifications_by_cert(session: Session, cert_no: str) -> list[Qualification]:
    return list(session.scalars(select(Qualification).where(
        Qualification.cert_no == cert_no.strip().upper(), Qualification.retired_at.is_(None))))


def person_by_national_id(session: Session, national_id: str) -> Person | None:
    return session.scalar(select(Person).where(
        Person.id_hash == pii.lookup_hash(pii.current_key(), national_id),
        Person.retired_at.is_(None)))
