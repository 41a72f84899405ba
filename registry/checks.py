"""Field checks shared by the record kinds. Each normalises what it checks in place
(a plate is stored in its canonical form) and adds msgids to `errors` by field."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from kernel.errors import N_
from rules import plates
from rules.hazard import TOXIC_SCOPE, normalise_class, normalise_un
from rules.identity import id_problem, uscc_problem

from .spec import Errors

_ID_MESSAGES = {
    "ID_FORMAT": N_("A national ID number has 18 characters: 17 digits and a digit or X."),
    "ID_BIRTH_DATE": N_("The birth date inside this ID number does not exist."),
    "ID_CHECKSUM": N_("The check digit of this ID number is wrong; please re-type it."),
    "CREDENTIAL_TOO_SHORT": N_("Too short for an ID or certificate number."),
    "CREDENTIAL_MALFORMED": N_("Not an ID or certificate number: they hold letters, digits "
                               "and hyphens, at most 32."),
}

_PLATE_MESSAGES = {
    "PLATE_EMPTY": N_("Enter a plate."),
    "PLATE_HAS_I_OR_O": N_("Plates never contain the letters I or O (use 1 or 0)."),
    "PLATE_BAD_PROVINCE": N_("A plate starts with a province character such as 苏 or 皖."),
    "PLATE_FORMAT": N_("This is not a valid Chinese plate."),
    "PLATE_COLOUR_MISMATCH": N_("This plate format does not come in this colour."),
}


def add(errors: Errors, name: str, msgid: str, **params: Any) -> None:
    """Record a field error as a msgid (with its parameters), translated at the edge."""
    errors.setdefault(name, []).append((msgid, params) if params else msgid)


def check_plate(values: dict[str, Any], errors: Errors, *, vehicle_kind: str | None) -> None:
    if "plate" not in values or values["plate"] is None:
        return
    check = plates.validate(values["plate"], values.get("plate_colour"))
    values["plate"] = check.text
    for problem in check.problems:
        if problem in _PLATE_MESSAGES:
            field = "plate_colour" if problem == "PLATE_COLOUR_MISMATCH" else "plate"
            add(errors, field, _PLATE_MESSAGES[problem])
    if check.valid and vehicle_kind is not None and \
            (vehicle_kind == "trailer") != (check.kind == plates.PlateKind.TRAILER):
        add(errors, "plate", N_("A trailer's plate ends in 挂, and only a trailer's does."))


def check_classes(values: dict[str, Any], name: str, errors: Errors, *,
                  allow_toxic: bool = False) -> None:
    raw = values.get(name)
    if raw is None:
        return
    out: list[str] = []
    for item in raw:
        if allow_toxic and item.strip().lower() in (TOXIC_SCOPE, "剧毒"):
            out.append(TOXIC_SCOPE)
            continue
        try:
            out.append(normalise_class(item))
        except ValueError:
            add(errors, name, N_("%(value)s is not a hazard class or division."), value=item)
    values[name] = sorted(set(out))


def check_un_numbers(session: Session, values: dict[str, Any], name: str, errors: Errors) -> None:
    raw = values.get(name)
    if raw is None:
        return
    items = [raw] if isinstance(raw, str) else list(raw)
    normalised: list[str] = []
    for item in items:
        try:
            normalised.append(normalise_un(item))
        except ValueError:
            add(errors, name, N_("%(value)s is not a UN number."), value=item)
    if normalised:
        known = known_un_numbers(session)
        for un in normalised:
            if un not in known:
                add(errors, name, N_("%(value)s is not on the dangerous-goods list."), value=un)
    values[name] = normalised[0] if isinstance(raw, str) and normalised else normalised


def known_un_numbers(session: Session) -> set[str]:
    """UN numbers on the list, read once per session (imports check thousands of rows)."""
    cache = session.info.get("parkgate.un_numbers")
    if cache is None:
        from models import Material

        cache = set(session.scalars(select(Material.un_number)
                                    .where(Material.retired_at.is_(None))))
        session.info["parkgate.un_numbers"] = cache
    return cache


def forget_un_numbers(session: Session) -> None:
    session.info.pop("parkgate.un_numbers", None)


def check_dates_in_order(values: dict[str, Any], existing: Any, first: str, then: str,
                         errors: Errors) -> None:
    start = values.get(first, getattr(existing, first, None) if existing else None)
    end = values.get(then, getattr(existing, then, None) if existing else None)
    if isinstance(start, date) and isinstance(end, date) and end <= start:
        add(errors, then, N_("This date must come after the issue/start date."))


def check_national_id(values: dict[str, Any], errors: Errors) -> None:
    raw = values.get("national_id")
    if raw is None:
        return
    problem = id_problem(raw)
    if problem:
        add(errors, "national_id", _ID_MESSAGES[problem])


def credential_message(problem: str) -> str:
    """The msgid for a code of rules.identity.id_problem or credential_problem."""
    return _ID_MESSAGES[problem]


def check_credit_code(values: dict[str, Any], errors: Errors) -> None:
    raw = values.get("credit_code")
    if not raw:
        return
    values["credit_code"] = raw.strip().upper()
    problem = uscc_problem(raw)
    if problem:
        add(errors, "credit_code", N_("A unified social credit code has 18 characters and a "
                                      "valid check character."))


def check_exists(session: Session, model: type[Any], record_id: int | None, name: str,
                 errors: Errors, *, label: str, principal: Any = None) -> Any:
    """The record a field names, or an error on the field. With an enterprise-scoped
    `principal`, a record it may not see is reported exactly like a missing one."""
    if record_id is None:
        return None
    # An id no row can have (the columns are 32-bit) is missing, not a database error.
    in_range = isinstance(record_id, int) and 0 < record_id <= 2_147_483_647
    record = session.get(model, record_id) if in_range else None
    if record is not None and principal is not None and not in_scope(session, record, principal):
        record = None
    if record is None or getattr(record, "retired_at", None) is not None:
        add(errors, name, N_("No such record: %(what)s."), what=label)
        return None
    return record


def check_unique(session: Session, model: type[Any], identity: Iterable[str], values: dict[str, Any],
                 existing: Any, errors: Errors, *, field_name: str | None = None) -> None:
    keys = list(identity)
    if not keys:
        return
    merged = {k: values.get(k, getattr(existing, k, None) if existing else None) for k in keys}
    if any(v is None for v in merged.values()):
        return
    clause = and_(*(getattr(model, k) == v for k, v in merged.items()))
    stmt = select(func.count()).select_from(model).where(clause)
    if existing is not None:
        stmt = stmt.where(model.id != existing.id)
    if session.scalar(stmt):
        add(errors, field_name or keys[0], N_("Already registered."))


def in_scope(session: Session, record: Any, principal: Any) -> bool:
    """Whether an enterprise-scoped principal may name this record (registry.scope)."""
    from models import Carrier, Enterprise, Person, Vehicle

    from .scope import visible_ids

    if not principal.enterprise_scoped:
        return True
    if isinstance(record, Enterprise):
        return record.id == principal.enterprise_id
    if isinstance(record, (Carrier, Person, Vehicle)):
        return record.id in visible_ids(session, type(record), [record.id], principal)
    return True
