"""Showing a person's national ID and phone in clear: only to roles that need them
(the admin; the gate operator checking papers at the booth), only with a reason,
and every time as an audit event."""

from __future__ import annotations

from dataclasses import dataclass

from auth.principal import Principal
from auth.roles import Role
from kernel.errors import N_, Forbidden, NotFound, ValidationFailed
from kernel.uow import UnitOfWork
from models import Person

from . import pii

UNMASK_ROLES = (Role.ADMIN, Role.GATE_OPERATOR)


@dataclass(frozen=True)
class Unmasked:
    person_id: int
    national_id: str
    phone: str | None


def unmask(uow: UnitOfWork, principal: Principal, person_id: int, reason: str) -> Unmasked:
    if not principal.has(*UNMASK_ROLES):
        raise Forbidden(N_("Your role may not see personal data in clear."),
                        code="PII_NOT_PERMITTED")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(N_("Say why you need to see it."), code="REASON_REQUIRED",
                               fields={"reason": [N_("Say why you need to see it.")]})
    person = uow.session.get(Person, person_id)
    if person is None:
        raise NotFound(N_("No such person."), code="PERSON_NOT_FOUND")
    key = pii.current_key()
    shown = Unmasked(person.id, pii.decrypt(key, person.id_cipher),
                     pii.decrypt(key, person.phone_cipher) if person.phone_cipher else None)
    uow.audit("pii.unmask", principal.actor, subject_kind="person", subject_id=str(person.id),
              person_id=person.id, payload={"reason": reason[:500],
                                            "fields": ["national_id", "phone"]})
    uow.commit()
    return shown
