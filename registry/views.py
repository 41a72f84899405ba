"""Admin pages for park records: lists with expiry flags, forms, history, import,
export, and the expiry watch."""

from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from pydantic import ValidationError
from sqlalchemy import func, select

from auth.access import current_principal, require
from auth.principal import Principal
from auth.roles import Role
from kernel import clock
from kernel.errors import N_, DomainError
from models import AuditEvent
from parkgate.database import get_session, get_uow
from parkgate.problems import error_text, translate_fields
from parkgate.web import register_landing, register_nav
from rules.documents import park_date

from . import expiry, service
from .imports import import_rows, parse_text, pydantic_errors, uploaded_rows
from .resources import REGISTRY_ORDER
from .spec import Resource

bp = APIBlueprint("records", __name__, url_prefix="/records", enable_openapi=False)

READERS = tuple({r for res in REGISTRY_ORDER for r in res.read_roles} - {Role.DEVICE})
REF_SELECT_LIMIT = 300


def _resource(kind: str) -> Resource:
    resource = service.REGISTRY.get(kind)
    if resource is None:
        abort(404)
    if not current_principal().has(*resource.read_roles):
        abort(403)
    return resource


def _can_write(resource: Resource, principal: Principal) -> bool:
    return principal.has(*resource.write_roles)


def _warn_days() -> int:
    from .read_model import installation_policy

    return installation_policy(get_session()).expiry_warning_days


def _ref_labels(resource: Resource, records: list[Any]) -> dict[str, dict[int, str]]:
    """Names for the records that ref fields point at, one query per field."""
    out: dict[str, dict[int, str]] = {}
    session = get_session()
    for spec in resource.fields:
        if spec.kind != "ref" or spec.ref not in service.REGISTRY:
            continue
        target = service.REGISTRY[spec.ref]
        ids = {getattr(r, spec.name) for r in records} - {None}
        if not ids:
            continue
        title = getattr(target.model, target.title_field)
        out[spec.name] = dict(session.execute(
            select(target.model.id, title).where(target.model.id.in_(ids))).all())
    return out


def _ref_options(resource: Resource) -> dict[str, list[tuple[int, str]]]:
    """Choices for ref fields small enough to pick from a list."""
    out: dict[str, list[tuple[int, str]]] = {}
    session = get_session()
    principal = current_principal()
    for spec in resource.writable_fields:
        if spec.kind != "ref" or spec.ref not in service.REGISTRY:
            continue
        target = service.REGISTRY[spec.ref]
        if not principal.has(*target.read_roles):  # type: ignore[union-attr]
            # An enterprise's staff name their own enterprise, by name.
            if spec.ref == "enterprises" and principal.enterprise_id:  # type: ignore[union-attr]
                own = session.get(target.model, principal.enterprise_id)  # type: ignore[union-attr]
                out[spec.name] = [(own.id, own.name)] if own is not None else []
            continue
        stmt = select(target.model)
        if principal.enterprise_scoped and target.scope is not None:  # type: ignore[union-attr]
            stmt = target.scope(stmt, principal)  # type: ignore[arg-type]
        stmt = stmt.where(getattr(target.model, target.retire_column).is_(None))
        count = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        if count <= REF_SELECT_LIMIT:
            title = target.title_field
            out[spec.name] = [(r.id, getattr(r, title) or str(r.id))
                              for r in session.scalars(stmt.order_by(getattr(target.model, title)))]
    return out


@bp.get("/")
@require(*READERS)
def index() -> Any:
    principal = current_principal()
    assert principal is not None
    session = get_session()
    kinds = []
    for resource in REGISTRY_ORDER:
        if not principal.has(*resource.read_roles):
            continue
        _, total = service.list_records(session, resource, principal, per_page=1)
        kinds.append((resource, total))
    today = park_date(clock.now())
    docs = expiry.expiring(session, today, _warn_days(), principal=principal)
    counts = {"expired": sum(d.status == "expired" for d in docs),
              "expiring": sum(d.status == "expiring" for d in docs)}
    return render_template("records/index.html", kinds=kinds, counts=counts)


@bp.get("/<kind>")
@require(*READERS)
def list_page(kind: str) -> Any:
    resource = _resource(kind)
    principal = current_principal()
    assert principal is not None
    q = request.args.get("q", "")[:100]
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), 100_000)
    include_retired = request.args.get("retired") == "1"
    records, total = service.list_records(get_session(), resource, principal, q=q, page=page,
                                          per_page=50, include_retired=include_retired)
    today = park_date(clock.now())
    warn = _warn_days()
    flags = {r.id: service.document_flags(resource, r, today, warn) for r in records}
    return render_template("records/list.html", resource=resource, records=records,
                           total=total, page=page, q=q, flags=flags,
                           refs=_ref_labels(resource, records), include_retired=include_retired,
                           can_write=_can_write(resource, principal))


def _form_values(resource: Resource, *, editing: bool) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for spec in resource.writable_fields:
        if spec.kind == "bool":
            values[spec.name] = request.form.get(spec.name) == "on"
            continue
        if spec.kind == "list" and spec.choices:
            if f"{spec.name}__present" not in request.form:
                continue
            ticked = [c for c in request.form.getlist(spec.name) if c in spec.choices]
            others = parse_text(spec, request.form.get(f"{spec.name}__others", "")) \
                if spec.others else []
            values[spec.name] = ticked + [o for o in others if o not in ticked]
            continue
        if spec.name not in request.form:
            continue
        raw = request.form.get(spec.name, "")
        if spec.kind == "secret" and editing and not raw.strip():
            continue  # an empty secret on an edit form means "unchanged"
        values[spec.name] = parse_text(spec, raw)
    for name, (typ, _default) in resource.child_fields.items():
        if name in request.form:
            from .imports import child_text

            values[name] = child_text(typ, request.form[name]) or []
    return values


def _render_form(resource: Resource, record: Any, values: dict[str, Any],
                 errors: dict[str, list[str]], status: int = 200) -> Any:
    principal = current_principal()
    assert principal is not None
    history = []
    if record is not None:
        history = list(get_session().scalars(
            select(AuditEvent).where(AuditEvent.subject_kind == resource.name,
                                     AuditEvent.subject_id == str(record.id))
            .order_by(AuditEvent.seq.desc()).limit(50)))
    today = park_date(clock.now())
    flags = service.document_flags(resource, record, today, _warn_days()) if record else {}
    extra = service.serialize(get_session(), resource, record) if record else {}
    return render_template("records/form.html", resource=resource, record=record,
                           values=values, errors=errors, history=history, flags=flags,
                           options=_ref_options(resource), extra=extra,
                           can_write=_can_write(resource, principal)), status


def _values_of(resource: Resource, record: Any) -> dict[str, Any]:
    values = {s.name: getattr(record, s.name, None) for s in resource.fields}
    extra = service.serialize(get_session(), resource, record)
    for name in resource.child_fields:
        if name in extra:
            values[name] = extra[name]
    return values


@bp.route("/<kind>/new", methods=["GET", "POST"])
@require(*READERS)
def create_page(kind: str) -> Any:
    resource = _resource(kind)
    principal = current_principal()
    assert principal is not None
    if not _can_write(resource, principal):
        abort(403)
    if request.method == "GET":
        preset = {k: v for k, v in request.args.items() if k in {s.name for s in resource.fields}}
        return _render_form(resource, None, preset, {})
    values = _form_values(resource, editing=False)
    try:
        data = resource.create_schema.model_validate(values).model_dump(exclude_unset=True)
        record = service.create(get_uow(), resource, principal, data)
    except ValidationError as exc:
        return _render_form(resource, None, values, translate_fields(pydantic_errors(exc)), 422)
    except DomainError as exc:
        return _render_form(resource, None, values, _domain_errors(exc), exc.status)
    flash(gettext("Saved."))
    return redirect(url_for("records.edit_page", kind=kind, record_id=record.id))


def _domain_errors(exc: DomainError) -> dict[str, list[str]]:
    if exc.fields:
        return translate_fields(exc.fields)
    message = error_text(exc)
    return {"_form": [message]}


@bp.route("/<kind>/<id:record_id>", methods=["GET", "POST"])
@require(*READERS)
def edit_page(kind: str, record_id: int) -> Any:
    resource = _resource(kind)
    principal = current_principal()
    assert principal is not None
    session = get_session()
    record = service.get_record(session, resource, principal, record_id)
    if request.method == "GET":
        return _render_form(resource, record, _values_of(resource, record), {})
    if not _can_write(resource, principal):
        abort(403)
    values = _form_values(resource, editing=True)
    try:
        data = resource.update_schema.model_validate(values).model_dump(exclude_unset=True)
        service.update(get_uow(), resource, principal, record_id, data)
    except ValidationError as exc:
        return _render_form(resource, record, values, translate_fields(pydantic_errors(exc)),
                            422)
    except DomainError as exc:
        session.rollback()
        record = service.get_record(session, resource, principal, record_id)
        return _render_form(resource, record, values, _domain_errors(exc), exc.status)
    flash(gettext("Saved."))
    return redirect(url_for("records.edit_page", kind=kind, record_id=record_id))


@bp.post("/<kind>/<id:record_id>/retire")
@require(*READERS)
def retire_page(kind: str, record_id: int) -> Any:
    resource = _resource(kind)
    principal = current_principal()
    assert principal is not None
    reason = (request.form.get("reason") or "").strip()[:500]
    try:
        if not reason:
            raise DomainError(N_("This action needs a reason."), code="REASON_REQUIRED")
        service.retire(get_uow(), resource, principal, record_id, reason)
    except DomainError as exc:
        flash(_domain_errors(exc).popitem()[1][0], "error")
    else:
        flash(gettext("Retired."))
    return redirect(url_for("records.edit_page", kind=kind, record_id=record_id))


@bp.route("/<kind>/import", methods=["GET", "POST"])
@require(*READERS)
def import_page(kind: str) -> Any:
    resource = _resource(kind)
    principal = current_principal()
    assert principal is not None
    if not _can_write(resource, principal):
        abort(403)
    columns = [s.name for s in resource.writable_fields] + list(resource.child_fields)
    if request.method == "GET":
        return render_template("records/import.html", resource=resource, report=None,
                               columns=columns)
    request.max_content_length = 128 * 1024 * 1024
    try:
        reader, rows = uploaded_rows(request.files.get("file"))
        report = import_rows(get_uow(), resource, principal, rows,
                             dry_run=request.form.get("dry_run") == "on",
                             sha256=lambda: reader.sha256.hexdigest())
    except DomainError as exc:
        flash(_domain_errors(exc).popitem()[1][0], "error")
        return render_template("records/import.html", resource=resource, report=None,
                               columns=columns), exc.status
    return render_template("records/import.html", resource=resource, report=report,
                           columns=columns), 200 if report.ok else 422


@bp.get("/expiring")
@require(Role.ADMIN, Role.ENTERPRISE, Role.GATE_OPERATOR, Role.DISPATCHER, Role.AUDITOR)
def expiring_page() -> Any:
    principal = current_principal()
    days = min(max(request.args.get("days", 30, type=int) or 30, 0), 3650)
    carrier_id = request.args.get("carrier_id", type=int)
    enterprise_id = request.args.get("enterprise_id", type=int)
    today = park_date(clock.now())
    docs = expiry.expiring(get_session(), today, days, carrier_id=carrier_id,
                           enterprise_id=enterprise_id, principal=principal)
    return render_template("records/expiring.html", docs=docs, days=days, today=today,
                           carrier_id=carrier_id, enterprise_id=enterprise_id)


def init_app(app: Any) -> None:
    app.register_blueprint(bp)
    register_nav("records.index", N_("Records"), READERS, order=60)
    register_nav("records.expiring_page", N_("Expiring papers"),
                 (Role.ADMIN, Role.ENTERPRISE), order=65)
    register_landing(Role.ADMIN, "records.index")
