"""JSON API for park records: /api/v1/<kind> for every kind in registry.resources."""

from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint
from flask import Response, request
from pydantic import BaseModel, ConfigDict, Field, create_model

from auth.access import current_principal, require
from kernel import clock
from parkgate.database import get_session, get_uow, read_session, release_session
from parkgate.problems import import_refused, translate_message
from rules.documents import park_date

from . import expiry, service
from .imports import (
    csv_lines,
    export_columns,
    import_rows,
    uploaded_rows,
    xlsx_bytes,
)
from .resources import REGISTRY_ORDER
from .spec import Resource

bp = APIBlueprint("records_api", __name__, url_prefix="/api/v1", tag="Records")

IMPORT_MAX_BYTES = 128 * 1024 * 1024


class ListQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    q: str | None = Field(default=None, max_length=100)
    page: int = Field(default=1, ge=1, le=100_000)
    per_page: int = Field(default=50, ge=1, le=500)
    include_retired: bool = False


class RetireIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=500)


class ImportQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    dry_run: bool = False
    create_only: bool = False


class ExportQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    format: str = Field(default="csv", pattern="^(csv|xlsx)$")
    q: str | None = Field(default=None, max_length=100)
    include_retired: bool = False


class ImportErrorOut(BaseModel):
    row: int
    field: str
    message: str


class ImportReportOut(BaseModel):
    kind: str
    rows: int
    created: int
    updated: int
    unchanged: int
    error_count: int
    errors: list[ImportErrorOut]
    dry_run: bool
    sha256: str
    code: str | None = Field(default=None, description="IMPORT_ROWS_INVALID when any row fails")
    detail: str | None = None


class ExpiryQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    days: int = Field(default=30, ge=0, le=3650)
    carrier_id: int | None = Field(default=None, ge=1, le=2_147_483_647)
    enterprise_id: int | None = Field(default=None, ge=1, le=2_147_483_647)


class ExpiringOut(BaseModel):
    kind: str
    record_id: int
    subject: str
    document: str
    expires_on: str
    status: str
    days_left: int
    carrier_id: int | None
    enterprise_ids: list[int]


class ExpiringPage(BaseModel):
    today: str
    days: int
    items: list[ExpiringOut]


def report_out(report: Any) -> dict[str, Any]:
    body = {
        "kind": report.kind, "rows": report.rows, "created": report.created,
        "updated": report.updated, "unchanged": report.unchanged,
        "error_count": report.error_count, "dry_run": report.dry_run, "sha256": report.sha256,
        "errors": [{"row": e.row, "field": e.field, "message": translate_message(e.message)}
                   for e in report.errors],
    }
    if not report.ok:
        body.update(import_refused(report.error_count, report.dry_run))
    return body


def _routes(resource: Resource) -> None:
    name = resource.name
    page_schema = create_model(f"{resource.out_schema.__name__}Page",
                               items=(list[resource.out_schema], ...),  # type: ignore[name-defined]
                               total=(int, ...),
                               page=(int, ...), per_page=(int, ...))

    def out(record: Any) -> dict[str, Any]:
        return service.serialize(get_session(), resource, record)

    def list_view(query_data: ListQuery) -> Any:
        items, total = service.list_records(
            get_session(), resource, current_principal(), q=query_data.q, page=query_data.page,
            per_page=query_data.per_page, include_retired=query_data.include_retired)
        return {"items": [out(r) for r in items], "total": total, "page": query_data.page,
                "per_page": query_data.per_page}

    def read_view(record_id: int) -> Any:
        return out(service.get_record(get_session(), resource, current_principal(), record_id))

    def create_view(json_data: BaseModel) -> Any:
        record = service.create(get_uow(), resource, current_principal(),
                                json_data.model_dump(exclude_unset=True))
        return out(record), 201

    def update_view(record_id: int, json_data: BaseModel) -> Any:
        record = service.update(get_uow(), resource, current_principal(), record_id,
                                json_data.model_dump(exclude_unset=True))
        return out(record)

    def retire_view(record_id: int, json_data: RetireIn) -> Any:
        record = service.retire(get_uow(), resource, current_principal(), record_id,
                                json_data.reason)
        return out(record)

    def import_view(query_data: ImportQuery) -> Any:
        request.max_content_length = IMPORT_MAX_BYTES
        reader, rows = uploaded_rows(request.files.get("file"))
        report = import_rows(get_uow(), resource, current_principal(),
                             rows, dry_run=query_data.dry_run,
                             create_only=query_data.create_only,
                             sha256=lambda: reader.sha256.hexdigest())
        status = 200 if report.ok else 422
        return report_out(report), status

    def export_view(query_data: ExportQuery) -> Any:
        principal = current_principal()
        release_session()
        session = read_session()
        columns = export_columns(resource)

        def rows() -> Any:
            try:
                for record in service.iter_records(session, resource, principal, q=query_data.q,
                                                   include_retired=query_data.include_retired):
                    yield service.serialize(session, resource, record)
            finally:
                session.close()

        stamp = park_date(clock.now()).isoformat()
        if query_data.format == "xlsx":
            data = xlsx_bytes(columns, rows(), name)
            return Response(data, headers={
                "Content-Disposition": f'attachment; filename="{name}-{stamp}.xlsx"'},
                mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        return Response(csv_lines(columns, rows()), mimetype="text/csv",
                        headers={"Content-Disposition":
                                 f'attachment; filename="{name}-{stamp}.csv"'})

    read = require(*resource.read_roles)
    write = require(*resource.write_roles)
    for fn, suffix in ((list_view, "list"), (read_view, "read"), (create_view, "create"),
                       (update_view, "update"), (retire_view, "retire"),
                       (import_view, "import"), (export_view, "export")):
        fn.__name__ = f"{name}_{suffix}"
        fn.__qualname__ = fn.__name__

    label = resource.label_plural
    bp.get(f"/{name}", endpoint=f"{name}_list")(read(bp.input(ListQuery, location="query")(
        bp.output(page_schema)(bp.doc(summary=f"List {name}", description=label)(list_view)))))
    bp.get(f"/{name}/<id:record_id>", endpoint=f"{name}_read")(read(bp.output(
        resource.out_schema)(bp.doc(summary=f"One of {name}", responses=[404])(read_view))))
    bp.post(f"/{name}", endpoint=f"{name}_create")(write(bp.input(
        resource.create_schema, location="json")(bp.output(resource.out_schema, status_code=201)(
            bp.doc(summary=f"Register one of {name}", responses=[403, 422])(create_view)))))
    bp.patch(f"/{name}/<id:record_id>", endpoint=f"{name}_update")(write(bp.input(
        resource.update_schema, location="json")(bp.output(resource.out_schema)(
            bp.doc(summary=f"Edit one of {name}", responses=[403, 404, 422])(update_view)))))
    bp.post(f"/{name}/<id:record_id>/retire", endpoint=f"{name}_retire")(write(bp.input(
        RetireIn, location="json")(bp.output(resource.out_schema)(
            bp.doc(summary=f"Retire one of {name}", responses=[403, 404, 422])(retire_view)))))
    bp.post(f"/{name}/import", endpoint=f"{name}_import")(write(bp.input(
        ImportQuery, location="query")(bp.output(ImportReportOut)(bp.doc(
            summary=f"Import {name} from CSV/XLSX (multipart field 'file')",
            responses=[403, 413, 422])(import_view)))))
    bp.get(f"/{name}/export", endpoint=f"{name}_export")(read(bp.input(
        ExportQuery, location="query")(bp.doc(summary=f"Export {name} as CSV or XLSX")(
            export_view))))


for _resource in REGISTRY_ORDER:
    _routes(_resource)


@bp.get("/records/expiring")
@require("admin", "enterprise_logistics", "gate_operator", "dispatcher", "auditor")
@bp.input(ExpiryQuery, location="query")
@bp.output(ExpiringPage)
@bp.doc(summary="Documents and qualifications expired or expiring within N days")
def expiring_view(query_data: ExpiryQuery) -> Any:
    today = park_date(clock.now())
    found = expiry.expiring(get_session(), today, query_data.days,
                            carrier_id=query_data.carrier_id,
                            enterprise_id=query_data.enterprise_id,
                            principal=current_principal())
    return {"today": today.isoformat(), "days": query_data.days,
            "items": [d.as_dict() for d in found]}


def init_app(app: Any) -> None:
    app.register_blueprint(bp)

