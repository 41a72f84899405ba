"""Import and export park records as CSV or XLSX.

An import is all or nothing: rows are checked and written inside one transaction,
and if any row fails — or it is a dry run — the transaction rolls back and the
report lists every bad row with the field and the reason. Rows stream from the
file in batches, so a file of a few hundred thousand rows costs a batch of memory,
not the file.

New records are inserted in bulk and covered by one `records.import` audit event
(kind, rows, counts, the file's SHA-256); an existing record the file changes gets
its own `record.update` event with the fields before and after, as an edit would.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import IO, Any, get_args

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from pydantic import ValidationError
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from auth.principal import Principal
from kernel import clock
from kernel.errors import N_, ValidationFailed
from kernel.uow import UnitOfWork
from parkgate.cells import csv_cell, csv_value, xlsx_row

from .service import audit_change, check_write, columns_for, field_errors, snapshot
from .spec import FieldSpec, Resource, not_null_fields

MAX_REPORTED_ERRORS = 1000
TRUE = {"1", "true", "yes", "y", "是", "x", "✓"}
FALSE = {"0", "false", "no", "n", "否", ""}


@dataclass
class RowError:
    row: int  # data row number, the header being row 0
    field: str
    message: Any  # msgid or (msgid, params)


@dataclass
class ImportReport:
    kind: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    error_count: int = 0
    dry_run: bool = False
    sha256: str = ""

    @property
    def ok(self) -> bool:
        return self.error_count == 0

    def error(self, row: int, name: str, message: Any) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append(RowError(row, name, message))


# --- reading files ------------------------------------------------------------------------

class HashingReader(io.RawIOBase):
    """Pass-through that hashes what is read and counts bytes (progress bars)."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.sha256 = hashlib.sha256()
        self.consumed = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.raw.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self.sha256.update(data)
        self.consumed += n
        return n


def read_rows(stream: IO[bytes] | io.RawIOBase, filename: str) -> Iterator[dict[str, str]]:
    """Rows as {column: text} from a CSV (UTF-8, BOM allowed) or an XLSX first sheet;
    a CSV cell's formula guard (a leading `'`, parkgate.cells) is taken off."""
    if filename.lower().endswith((".xlsx", ".xlsm")):
        yield from _xlsx_rows(stream)
        return
    text = io.TextIOWrapper(io.BufferedReader(stream), encoding="utf-8-sig",  # type: ignore[type-var, arg-type]
                            newline="")
    try:
        reader = csv.DictReader(text)
        for row in reader:
            # A file exported here comes back as it went out (parkgate.cells).
            yield {(k or "").strip(): csv_value(v or "") for k, v in row.items()
                   if k is not None}
    except UnicodeDecodeError as exc:
        raise ValidationFailed(N_("The file is not UTF-8 text; save it as CSV UTF-8 or XLSX."),
                               code="FILE_ENCODING") from exc
    except csv.Error as exc:
        raise ValidationFailed(N_("The file is not a readable CSV."), code="FILE_FORMAT") from exc


def uploaded_rows(upload: Any) -> tuple[HashingReader, Iterator[dict[str, str]]]:
    """The rows of an uploaded file (a werkzeug FileStorage), or a clear 422."""
    if upload is None or not upload.filename:
        raise ValidationFailed(N_("Send the file as multipart form field 'file'."),
                               code="FILE_MISSING", fields={"file": [N_("Required.")]})
    if not upload.filename.lower().endswith((".csv", ".xlsx", ".xlsm", ".txt")):
        raise ValidationFailed(N_("Send a .csv or .xlsx file."), code="FILE_TYPE",
                               fields={"file": [N_("Send a .csv or .xlsx file.")]})
    reader = HashingReader(upload.stream)
    return reader, read_rows(reader, upload.filename)


def _xlsx_rows(stream: IO[bytes] | io.RawIOBase) -> Iterator[dict[str, str]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(stream.read()), read_only=True, data_only=True)
    except Exception as exc:
        raise ValidationFailed(N_("The file is not a readable XLSX workbook."),
                               code="FILE_FORMAT") from exc
    rows = book.worksheets[0].iter_rows(values_only=True)
    header = [str(c).strip() if c is not None else "" for c in next(rows, ())]
    for values in rows:
        if values is None or all(v is None or v == "" for v in values):
            continue
        yield {h: _cell_text(v) for h, v in zip(header, values, strict=False) if h}
    book.close()


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        if value.time() == datetime.min.time():
            return value.date().isoformat()
        return value.isoformat(sep=" ", timespec="minutes")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# --- text to values (files and HTML forms share this) -----------------------------------------

def parse_text(spec: FieldSpec, raw: str) -> Any:
    """A cell or form value as the schema expects it; blank means 'not given'."""
    value = raw.strip()
    if value == "":
        return [] if spec.kind == "list" else None
    if spec.kind == "list":
        for sep in ("；", "，", ",", "、"):
            value = value.replace(sep, ";")
        return [part.strip() for part in value.split(";") if part.strip()]
    if spec.kind == "bool":
        lowered = value.lower()
        if lowered in TRUE:
            return True
        if lowered in FALSE:
            return False
        return value  # pydantic names the problem
    if spec.kind == "date":
        return value.replace("/", "-").replace(".", "-")[:10]
    if spec.kind == "json":
        try:
            return json.loads(value)
        except (ValueError, RecursionError):
            return value
    return value


def child_text(typ: Any, raw: str) -> Any:
    """A child list as typed in a cell or a form box: codes or ids separated by `;` or
    `,`, or JSON where the lines are records (an enterprise's material scope)."""
    value = raw.strip()
    if value == "":
        return None
    if get_args(typ) and get_args(typ)[0] not in (str, int):
        try:
            lines = json.loads(value)
        except (ValueError, RecursionError):
            return value  # the schema names the problem, the form shows what was typed
        return lines if isinstance(lines, list) else value
    return [part.strip() for part in value.replace(",", ";").split(";") if part.strip()]


def row_values(resource: Resource, raw: dict[str, str], *, partial: bool) -> dict[str, Any]:
    raw = {resource.aliases.get(k, k): v for k, v in raw.items()}
    values: dict[str, Any] = {}
    for spec in resource.writable_fields:
        if spec.name in raw:
            parsed = parse_text(spec, raw[spec.name])
            if parsed is not None or not partial:
                values[spec.name] = parsed
    for name, (typ, _default) in resource.child_fields.items():
        if name in raw:
            parsed = child_text(typ, raw[name])
            if parsed is not None:
                values[name] = parsed
    return values


# pydantic's error types, in the words of ParkGate's catalog (msgid, or msgid and the
# names of the error's context values it quotes).
PYDANTIC_MESSAGES: dict[str, tuple[str, tuple[str, ...]]] = {
    "missing": (N_("Required."), ()),
    "null_refused": (N_("Required."), ()),
    "date_out_of_range": (N_("Enter a date between %(first)s and %(last)s."), ("first", "last")),
    "string_type": (N_("Enter text."), ()),
    "string_too_short": (N_("Required."), ()),
    "string_too_long": (N_("At most %(max_length)s characters."), ("max_length",)),
    "int_parsing": (N_("Enter a whole number."), ()),
    "int_type": (N_("Enter a whole number."), ()),
    "int_from_float": (N_("Enter a whole number."), ()),
    "float_parsing": (N_("Enter a number."), ()),
    "float_type": (N_("Enter a number."), ()),
    "finite_number": (N_("Enter a number."), ()),
    "date_parsing": (N_("Enter a date as YYYY-MM-DD."), ()),
    "date_from_datetime_parsing": (N_("Enter a date as YYYY-MM-DD."), ()),
    "date_from_datetime_inexact": (N_("Enter a date as YYYY-MM-DD."), ()),
    "date_type": (N_("Enter a date as YYYY-MM-DD."), ()),
    "bool_parsing": (N_("Yes or no."), ()),
    "bool_type": (N_("Yes or no."), ()),
    "greater_than_equal": (N_("At least %(ge)s."), ("ge",)),
    "greater_than": (N_("More than %(gt)s."), ("gt",)),
    "less_than_equal": (N_("At most %(le)s."), ("le",)),
    "less_than": (N_("Less than %(lt)s."), ("lt",)),
    "literal_error": (N_("Choose one of the options."), ()),
    "enum": (N_("Choose one of the options."), ()),
    "list_type": (N_("Enter a list."), ()),
    "too_long": (N_("At most %(max_length)s entries."), ("max_length",)),
    "dict_type": (N_("Enter a JSON object."), ()),
    "extra_forbidden": (N_("Not a field of this record."), ()),
}


def pydantic_errors(exc: ValidationError) -> dict[str, list[Any]]:
    """Field errors as msgids (with params), translated at the edge like any other."""
    out: dict[str, list[Any]] = {}
    for err in exc.errors():
        loc = [str(p) for p in err["loc"]]
        # A list's item is reported on the list's field.
        name = ".".join(p for p in loc if not p.isdigit()) or "_row"
        msgid, keys = PYDANTIC_MESSAGES.get(err["type"], (N_("Not a valid value."), ()))
        ctx = err.get("ctx") or {}
        message: Any = (msgid, {k: str(ctx.get(k, "")) for k in keys}) if keys else msgid
        if message not in out.setdefault(name, []):
            out[name].append(message)
    return out


# --- importing ----------------------------------------------------------------------------

def _identity_key(resource: Resource, values: dict[str, Any]) -> tuple[Any, ...] | None:
    if not resource.identity:
        return None
    derived = resource.identity_values(values)
    key = tuple(derived.get(k) for k in resource.identity)
    return None if any(v is None for v in key) else key


def _prefetch_refs(session: Session, resource: Resource, batch: list[dict[str, Any]]) -> list[Any]:
    """Load the records a batch's ref fields name in one query each, so the per-row
    checks find them in the session instead of asking the database row by row. The
    caller keeps the returned list alive: the session holds loaded objects weakly."""
    from .service import REGISTRY

    loaded: list[Any] = []
    for spec in resource.writable_fields:
        if spec.kind != "ref" or spec.ref not in REGISTRY:
            continue
        ids = {v.get(spec.name) for v in batch} - {None}
        if ids:
            model = REGISTRY[spec.ref].model
            loaded.extend(session.scalars(select(model).where(model.id.in_(ids))))
    return loaded


def _existing_for(session: Session, resource: Resource, batch: list[dict[str, Any]]
                  ) -> dict[tuple[Any, ...], Any]:
    """Stored records the batch's rows name, in one query."""
    keys = {k for k in (_identity_key(resource, v) for v in batch) if k is not None}
    if not keys:
        return {}
    # One indexed look-up on the leading identity column (a single `= ANY(array)` index
    # scan); the rest of the key is matched here. A thousand-way OR of composite keys
    # makes the planner fall back to scanning the table, which grows during an import.
    first = getattr(resource.model, resource.identity[0])
    candidates = session.scalars(select(resource.model).where(first.in_({k[0] for k in keys})))
    found = {}
    for record in candidates:
        key = tuple(getattr(record, k) for k in resource.identity)
        if key in keys:
            found[key] = record
    return found


def import_rows(uow: UnitOfWork, resource: Resource, principal: Principal,
                rows: Iterable[dict[str, str]], *, dry_run: bool, create_only: bool = False,
                progress: Callable[[int], None] | None = None, batch_size: int = 1000,
                sha256: Callable[[], str] | None = None) -> ImportReport:
    session = uow.session
    check_write(session, resource, principal)
    report = ImportReport(kind=resource.name, dry_run=dry_run)
    known = {s.name for s in resource.writable_fields} | set(resource.child_fields)
    seen: set[tuple[Any, ...]] = set()
    header_checked = False
    batch: list[tuple[int, dict[str, str]]] = []

    def flush() -> None:
        _import_batch(uow, resource, principal, batch, report, seen, create_only)
        batch.clear()
        if progress is not None:
            progress(report.rows)

    for n, raw in enumerate(rows, start=1):
        if not header_checked:
            header_checked = True
            unknown = sorted({resource.aliases.get(k, k) for k in raw} - known
                             - {"id", "retired_at", "documents"})
            for name in unknown:
                report.error(0, name, N_("Unknown column."))
        report.rows += 1
        batch.append((n, raw))
        if len(batch) >= batch_size:
            flush()
    if batch:
        flush()
    if report.rows == 0:
        report.error(0, "_file", N_("The file holds no rows."))
    report.sha256 = sha256() if sha256 else ""
    if report.ok and not dry_run:
        uow.audit("records.import", principal.actor, subject_kind=resource.name,
                  payload={"kind": resource.name, "rows": report.rows, "created": report.created,
                           "updated": report.updated, "sha256": report.sha256})
        uow.commit()
    else:
        uow.rollback()
    return report


def _import_batch(uow: UnitOfWork, resource: Resource, principal: Principal,
                  batch: list[tuple[int, dict[str, str]]], report: ImportReport,
                  seen: set[tuple[Any, ...]], create_only: bool) -> None:
    session = uow.session
    # A blank cell clears a field, except where the column holds no NULL: there it
    # leaves a stored record's value as it is, and a new record takes the default.
    keep_when_blank = set(not_null_fields(resource))
    parsed: list[tuple[int, dict[str, Any]]] = []
    for n, raw in batch:
        try:
            values = resource.create_schema.model_validate(
                row_values(resource, raw, partial=False)).model_dump(exclude_unset=True)
        except ValidationError as exc:
            for name, messages in pydantic_errors(exc).items():
                for message in messages:
                    report.error(n, name, message)
            continue
        parsed.append((n, {k: v for k, v in values.items()
                           if v is not None or k not in keep_when_blank}))
    referenced = _prefetch_refs(session, resource, [v for _, v in parsed])
    existing = _existing_for(session, resource, [v for _, v in parsed])
    new_rows: list[dict[str, Any]] = []
    for n, values in parsed:
        key = _identity_key(resource, values)
        if key is not None:
            if key in seen:
                report.error(n, resource.identity_field or resource.identity[0],
                             N_("Appears twice in this file."))
                continue
            seen.add(key)
        record = existing.get(key) if key is not None else None
        if record is not None and create_only:
            report.error(n, resource.identity_field or resource.identity[0],
                         N_("Already registered."))
            continue
        errors = field_errors(session, resource, values, record, principal, check_identity=False)
        if errors:
            for name, messages in errors.items():
                for message in messages:
                    report.error(n, name, message)
            continue
        if report.error_count:
            continue  # the import will roll back; spare the writes
        columns = columns_for(session, resource, values, record)
        if record is None:
            if principal.enterprise_scoped and resource.may_write is not None and \
                    not resource.may_write(session, resource.model(**columns), principal):
                report.error(n, "_row", N_("You may only register records of your own "
                                           "enterprise and carriers."))
                continue
            if resource.children is not None:
                created = resource.model(**columns)
                if hasattr(created, "created_at") and created.created_at is None:
                    created.created_at = clock.now()
                session.add(created)
                session.flush()
                resource.children(session, created, {**values, "_principal": principal})
            else:
                new_rows.append(columns)
            report.created += 1
            continue
        before = snapshot(resource, record)
        for name, value in columns.items():
            setattr(record, name, value)
        if resource.children is not None:
            resource.children(session, record, {**values, "_principal": principal})
        after = snapshot(resource, record)
        changed = sorted(k for k in after if after[k] != before.get(k))
        if changed:
            audit_change(uow, resource, principal, "update", record,
                         {"changed": changed, "before": {k: before[k] for k in changed},
                          "after": {k: after[k] for k in changed}, "via": "import"})
            report.updated += 1
        else:
            report.unchanged += 1
    if new_rows and not report.error_count:
        if "created_at" in resource.model.__table__.c:
            now = clock.now()
            for row in new_rows:
                row.setdefault("created_at", now)
        session.execute(insert(resource.model), new_rows)
    session.flush()
    # Keep memory flat across a large file: nothing of this batch is needed again.
    del referenced
    session.expunge_all()


# --- exporting ----------------------------------------------------------------------------

def export_columns(resource: Resource) -> list[str]:
    return ["id", *(s.name for s in resource.fields if s.kind != "secret"), "retired_at"]


def cell(value: Any) -> Any:
    if isinstance(value, str):
        # Records written before the edge refused control characters may hold some;
        # a spreadsheet cannot.
        return ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    if value is None:
        return ""
    return value


def csv_lines(columns: list[str], rows: Iterable[dict[str, Any]]) -> Iterator[str]:
    """CSV text in pieces, with a BOM so spreadsheet programs read the Chinese right."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    yield "\ufeff" + buffer.getvalue()
    for row in rows:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([csv_cell(v) if isinstance(v := cell(row.get(c)), str) else v
                         for c in columns])
        yield buffer.getvalue()


def xlsx_bytes(columns: list[str], rows: Iterable[dict[str, Any]], sheet: str) -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    ws = book.create_sheet(sheet[:31])
    ws.append(columns)
    for row in rows:
        ws.append(xlsx_row(ws, [cell(row.get(c)) for c in columns]))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
