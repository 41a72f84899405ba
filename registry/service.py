"""Create, edit, retire, list and read park records of any kind (registry.resources).

Every change writes its audit event in the same transaction, with the changed
fields before and after, so any record's history can be replayed from the trail.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from auth.principal import Principal
from kernel import clock
from kernel.errors import N_, Forbidden, NotFound, ValidationFailed
from kernel.uow import UnitOfWork
from rules import documents

from .checks import check_unique
from .spec import Errors, Resource

REGISTRY: dict[str, Resource] = {}


def register(resource: Resource) -> Resource:
    REGISTRY[resource.name] = resource
    return resource


def resource_for(name: str) -> Resource:
    try:
        return REGISTRY[name]
    except KeyError:
        raise NotFound(N_("No such kind of record.")) from None


# --- reading ----------------------------------------------------------------------------

def _visible(resource: Resource, principal: Principal | None) -> Select[Any]:
    stmt = select(resource.model)
    if principal is not None and principal.enterprise_scoped and resource.scope is not None:
        stmt = resource.scope(stmt, principal)
    return stmt


def _check_read(resource: Resource, principal: Principal) -> None:
    if not principal.has(*resource.read_roles):
        raise Forbidden(N_("Your role does not allow this."))


def list_records(session: Session, resource: Resource, principal: Principal, *, q: str | None = None,
                 page: int = 1, per_page: int = 50, include_retired: bool = False,
                 filters: dict[str, Any] | None = None) -> tuple[list[Any], int]:
    _check_read(resource, principal)
    stmt = _visible(resource, principal)
    retire_col = getattr(resource.model, resource.retire_column)
    if not include_retired:
        stmt = stmt.where(retire_col.is_(None))
    for name, value in (filters or {}).items():
        stmt = stmt.where(getattr(resource.model, name) == value)
    if q:
        q = q.strip()[:100]
        like = f"%{q}%"
        clauses = [getattr(resource.model, col).ilike(like) for col in resource.search]
        if q.isascii() and q.isdigit():  # "²" is a digit to isdigit(), not to int()
            clauses.append(resource.model.id == int(q) if int(q) < 2**31 else False)
        stmt = stmt.where(or_(*clauses)) if clauses else stmt
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    per_page = max(1, min(per_page, 500))
    page = max(1, page)
    order = [getattr(resource.model, col) for col in resource.order_by]
    rows = session.scalars(stmt.order_by(*order).limit(per_page).offset((page - 1) * per_page))
    return list(rows), total


def iter_records(session: Session, resource: Resource, principal: Principal, *,
                 q: str | None = None, include_retired: bool = False, batch: int = 1000) -> Any:
    """Every visible record, streamed in id order (exports)."""
    _check_read(resource, principal)
    last = 0
    while True:
        stmt = _visible(resource, principal).where(resource.model.id > last)
        if not include_retired:
            stmt = stmt.where(getattr(resource.model, resource.retire_column).is_(None))
        if q:
            like = f"%{q.strip()[:100]}%"
            stmt = stmt.where(or_(*(getattr(resource.model, c).ilike(like)
                                    for c in resource.search)))
        chunk = list(session.scalars(stmt.order_by(resource.model.id).limit(batch)))
        if not chunk:
            return
        yield from chunk
        last = chunk[-1].id
        session.expunge_all()


def get_record(session: Session, resource: Resource, principal: Principal | None,
               record_id: int) -> Any:
    if principal is not None:
        _check_read(resource, principal)
    record = session.scalar(_visible(resource, principal).where(resource.model.id == record_id))
    if record is None:
        raise NotFound(N_("No such record."))
    return record


def document_flags(resource: Resource, record: Any, today: date, warn_days: int) -> dict[str, str]:
    return {spec.name: documents.status(getattr(record, spec.name), today, warn_days).value
            for spec in resource.document_fields}


def serialize(session: Session, resource: Resource, record: Any, *, today: date | None = None,
              warn_days: int = 7) -> dict[str, Any]:
    out: dict[str, Any] = {"id": record.id}
    for spec in resource.fields:
        if spec.kind == "secret":
            continue
        out[spec.name] = _json_value(getattr(record, spec.name, None))
    retired = getattr(record, resource.retire_column)
    out["retired_at"] = retired.isoformat() if retired else None
    if resource.extra_out is not None:
        out.update(resource.extra_out(session, record))
    if resource.document_fields:
        today = today or documents.park_date(clock.now())
        out["documents"] = document_flags(resource, record, today, warn_days)
    return out


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list):
        return list(value)
    return value


# --- writing ----------------------------------------------------------------------------

def check_write(session: Session, resource: Resource, principal: Principal) -> None:
    if not principal.has(*resource.write_roles):
        raise Forbidden(N_("Your role may not change these records."), code="RECORD_WRITE_FORBIDDEN")
    if principal.enterprise_scoped and not self_service_allowed(session):
        raise Forbidden(N_("This park keeps its records itself; ask the park administrator."),
                        code="SELF_SERVICE_DISABLED")


def self_service_allowed(session: Session) -> bool:
    from .read_model import installation_policy

    return installation_policy(session).enterprise_self_service


def field_errors(session: Session, resource: Resource, values: dict[str, Any], existing: Any,
                 principal: Principal | None, *, check_identity: bool = True) -> Errors:
    """Domain checks of one record's input; normalises `values` in place."""
    errors: Errors = {}
    if resource.check is not None:
        errors.update(resource.check(session, values, existing, principal))
    if not errors and check_identity:
        check_unique(session, resource.model, resource.identity, resource.identity_values(values),
                     existing, errors, field_name=resource.identity_field)
    return errors


def _validate(session: Session, resource: Resource, values: dict[str, Any], existing: Any,
              principal: Principal | None) -> None:
    errors = field_errors(session, resource, values, existing, principal)
    if errors:
        raise ValidationFailed(N_("Some fields are not valid."), fields=errors)


def columns_for(session: Session, resource: Resource, values: dict[str, Any], existing: Any
                ) -> dict[str, Any]:
    columns = {k: v for k, v in values.items() if k not in resource.child_fields}
    if resource.to_columns is not None:
        columns = resource.to_columns(session, columns, existing)
    return columns


def snapshot(resource: Resource, record: Any) -> dict[str, Any]:
    return {spec.name: _json_value(getattr(record, spec.name, None))
            for spec in resource.fields if spec.kind != "secret"}


def audit_change(uow: UnitOfWork, resource: Resource, principal: Principal | None, action: str,
           record: Any, payload: dict[str, Any], actor: Any = None) -> None:
    refs = resource.audit_refs(record) if resource.audit_refs else {}
    uow.audit(f"record.{action}", actor or principal.actor, subject_kind=resource.name,  # type: ignore[union-attr]
              subject_id=str(record.id), payload={"kind": resource.name, **payload}, **refs)
    uow.publish("records", f"record.{action}", {"kind": resource.name, "id": record.id})


def _check_may_write(session: Session, resource: Resource, principal: Principal,
                     record: Any) -> None:
    """A record an enterprise may see but not change (another enterprise's employee, a
    carrier other enterprises rely on): refused, it is not theirs to change."""
    if principal.enterprise_scoped and resource.may_write is not None and \
            not resource.may_write(session, record, principal):
        raise Forbidden(N_("Other enterprises rely on this record; the park administrator "
                           "changes it."), code="OUT_OF_SCOPE")


def create(uow: UnitOfWork, resource: Resource, principal: Principal, data: dict[str, Any],
           *, commit: bool = True) -> Any:
    session = uow.session
    check_write(session, resource, principal)
    values = dict(data)
    _validate(session, resource, values, None, principal)
    columns = columns_for(session, resource, values, None)
    record = resource.model(**columns)
    if hasattr(record, "created_at") and getattr(record, "created_at", None) is None:
        record.created_at = clock.now()
    if principal.enterprise_scoped and resource.may_write is not None and \
            not resource.may_write(session, record, principal):
        raise Forbidden(N_("You may only register records of your own enterprise and carriers."),
                        code="OUT_OF_SCOPE")
    session.add(record)
    session.flush()
    if resource.children is not None:
        resource.children(session, record, {**values, "_principal": principal})
    audit_change(uow, resource, principal, "create", record, {"after": snapshot(resource, record)})
    if commit:
        uow.commit()
    return record


def update(uow: UnitOfWork, resource: Resource, principal: Principal, record_id: int,
           data: dict[str, Any], *, commit: bool = True) -> Any:
    session = uow.session
    check_write(session, resource, principal)
    record = get_record(session, resource, principal, record_id)
    _check_may_write(session, resource, principal, record)
    if getattr(record, resource.retire_column) is not None:
        raise ValidationFailed(N_("A retired record cannot be edited."), code="RECORD_RETIRED")
    values = dict(data)
    _validate(session, resource, values, record, principal)
    before = snapshot(resource, record)
    for name, value in columns_for(session, resource, values, record).items():
        setattr(record, name, value)
    if principal.enterprise_scoped and resource.may_write is not None and \
            not resource.may_write(session, record, principal):
        raise Forbidden(N_("You may only register records of your own enterprise and carriers."),
                        code="OUT_OF_SCOPE")
    session.flush()
    if resource.children is not None:
        resource.children(session, record, {**values, "_principal": principal})
    after = snapshot(resource, record)
    changed = sorted(k for k in after if after[k] != before.get(k))
    audit_change(uow, resource, principal, "update", record,
           {"changed": changed, "before": {k: before.get(k) for k in changed},
            "after": {k: after[k] for k in changed}})
    if commit:
        uow.commit()
    return record


def retire(uow: UnitOfWork, resource: Resource, principal: Principal, record_id: int,
           reason: str | None, *, commit: bool = True) -> Any:
    session = uow.session
    check_write(session, resource, principal)
    record = get_record(session, resource, principal, record_id)
    _check_may_write(session, resource, principal, record)
    if getattr(record, resource.retire_column) is not None:
        raise ValidationFailed(N_("This record is already retired."), code="RECORD_RETIRED")
    setattr(record, resource.retire_column, clock.now())
    audit_change(uow, resource, principal, "retire", record, {"reason": reason})
    if commit:
        uow.commit()
    return record
