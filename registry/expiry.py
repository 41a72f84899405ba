"""The expiry watch: papers that have expired or will within N days.

The validity rule itself is rules.documents — the same the booking checks and the
gate use — so a document this page calls expired is one the gate refuses.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from auth.principal import Principal
from kernel.errors import N_
from kernel.uow import UnitOfWork
from models import Carrier, FixedRegistration, Person, Qualification, Vehicle, enterprise_carriers
from rules import documents

from .resources import VEHICLES
from .scope import linked_carrier_ids


@dataclass(frozen=True)
class ExpiringDocument:
    kind: str  # vehicles | qualifications | carriers | fixed_registrations
    record_id: int
    subject: str  # plate, person and certificate, carrier name
    document: str  # msgid of the document's label
    expires_on: date
    status: str  # expired | expiring
    days_left: int
    carrier_id: int | None = None
    enterprise_ids: tuple[int, ...] = field(default_factory=tuple)

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "record_id": self.record_id, "subject": self.subject,
                "document": self.document, "expires_on": self.expires_on.isoformat(),
                "status": self.status, "days_left": self.days_left,
                "carrier_id": self.carrier_id, "enterprise_ids": list(self.enterprise_ids)}


def _carrier_enterprises(session: Session) -> dict[int, tuple[int, ...]]:
    links: dict[int, list[int]] = defaultdict(list)
    for eid, cid in session.execute(select(enterprise_carriers.c.enterprise_id,
                                           enterprise_carriers.c.carrier_id)):
        links[cid].append(eid)
    return {cid: tuple(sorted(eids)) for cid, eids in links.items()}


def expiring(session: Session, today: date, within_days: int, *,
             carrier_id: int | None = None, enterprise_id: int | None = None,
             principal: Principal | None = None, include_expired: bool = True
             ) -> list[ExpiringDocument]:
    """Documents of active records expiring on or before today + within_days."""
    horizon = today + timedelta(days=within_days)
    links = _carrier_enterprises(session)
    if principal is not None and principal.enterprise_scoped:
        enterprise_id = principal.enterprise_id
    out: list[ExpiringDocument] = []

    def emit(kind: str, rid: int, subject: str, label: str, expires: date | None,
             cid: int | None, eids: tuple[int, ...]) -> None:
        if expires is None or expires > horizon:
            return
        state = documents.status(expires, today, within_days)
        if state == documents.DocStatus.EXPIRED and not include_expired:
            return
        out.append(ExpiringDocument(kind, rid, subject, label, expires, state.value,
                                    (expires - today).days, cid, eids))

    vehicle_stmt = select(Vehicle).where(Vehicle.retired_at.is_(None))
    if carrier_id is not None:
        vehicle_stmt = vehicle_stmt.where(Vehicle.carrier_id == carrier_id)
    if enterprise_id is not None:
        vehicle_stmt = vehicle_stmt.where(Vehicle.carrier_id.in_(linked_carrier_ids(enterprise_id)))
    for v in session.scalars(vehicle_stmt):
        eids = links.get(v.carrier_id or 0, ())
        for spec in VEHICLES.document_fields:
            emit("vehicles", v.id, v.plate, spec.label, getattr(v, spec.name), v.carrier_id, eids)

    qual_stmt = (select(Qualification, Person).join(Person, Person.id == Qualification.person_id)
                 .where(Qualification.retired_at.is_(None), Person.retired_at.is_(None),
                        Qualification.expires_on <= horizon))
    if carrier_id is not None:
        qual_stmt = qual_stmt.where(Person.carrier_id == carrier_id)
    if enterprise_id is not None:
        qual_stmt = qual_stmt.where(Person.carrier_id.in_(linked_carrier_ids(enterprise_id))
                                    | (Person.enterprise_id == enterprise_id))
    for q, person in session.execute(qual_stmt):
        eids = links.get(person.carrier_id or 0, ())
        if person.enterprise_id:
            eids = tuple(sorted({*eids, person.enterprise_id}))
        emit("qualifications", q.id, f"{person.name} {q.cert_no}", N_("Qualification"),
             q.expires_on, person.carrier_id, eids)

    carrier_stmt = select(Carrier).where(Carrier.retired_at.is_(None),
                                         Carrier.licence_expires_on <= horizon)
    if carrier_id is not None:
        carrier_stmt = carrier_stmt.where(Carrier.id == carrier_id)
    if enterprise_id is not None:
        carrier_stmt = carrier_stmt.where(Carrier.id.in_(linked_carrier_ids(enterprise_id)))
    for c in session.scalars(carrier_stmt):
        emit("carriers", c.id, c.name, N_("Dangerous-goods transport licence"),
             c.licence_expires_on, c.id, links.get(c.id, ()))

    if carrier_id is None:
        pass_stmt = (select(FixedRegistration, Vehicle.plate)
                     .join(Vehicle, Vehicle.id == FixedRegistration.vehicle_id)
                     .where(FixedRegistration.retired_at.is_(None),
                            FixedRegistration.valid_until <= horizon))
        if enterprise_id is not None:
            pass_stmt = pass_stmt.where(FixedRegistration.enterprise_id == enterprise_id)
        for reg, plate in session.execute(pass_stmt):
            emit("fixed_registrations", reg.id, plate, N_("Standing pass"), reg.valid_until,
                 None, (reg.enterprise_id,))

    out.sort(key=lambda d: (d.expires_on, d.kind, d.subject))
    return out


def run_watch(uow: UnitOfWork, today: date, within_days: int) -> dict[str, Any]:
    """The daily job: announce what expires soon, park-wide and per enterprise."""
    found = expiring(uow.session, today, within_days)
    by_enterprise: dict[int, Counter[str]] = defaultdict(Counter)
    for doc in found:
        for eid in doc.enterprise_ids:
            by_enterprise[eid][doc.status] += 1
    totals = Counter(d.status for d in found)
    summary = {"date": today.isoformat(), "within_days": within_days,
               "expired": totals.get("expired", 0), "expiring": totals.get("expiring", 0)}
    uow.publish("records", "expiry.digest", summary)
    for eid, counts in sorted(by_enterprise.items()):
        uow.publish(f"enterprise:{eid}", "expiry.digest",
                    {**summary, "expired": counts.get("expired", 0),
                     "expiring": counts.get("expiring", 0)})
    uow.commit()
    return {**summary, "enterprises": len(by_enterprise)}
