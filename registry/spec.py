"""How a kind of park record is described once and served everywhere.

A `Resource` lists its fields; from that one description come the pydantic schemas
(request validation and OpenAPI), the API routes, the admin pages' tables and
forms, CSV/XLSX import and export, and the audit trail's before/after of each edit.
Domain checks that need the database (a plate already registered, a UN number that
does not exist) live in the resource's `check` function.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator
from pydantic_core import PydanticCustomError
from sqlalchemy import Select
from sqlalchemy.orm import Session

from auth.principal import Principal
from parkgate.types import ParkDate

# field name -> [msgid, or (msgid, params)], translated at the edge
Errors = dict[str, list[Any]]


@dataclass(frozen=True)
class FieldSpec:
    name: str
    label: str  # msgid
    kind: str = "text"  # text | int | float | bool | date | choice | list | ref | secret | json
    required: bool = False
    choices: tuple[str, ...] = ()
    ref: str | None = None  # resource name, for kind == "ref"
    max_length: int = 200
    in_list: bool = False
    document: bool = False  # an expiry date the expiry watch and flags follow
    writable: bool = True
    ge: float | None = None
    le: float | None = None
    help: str | None = None  # msgid shown under the form field
    # A list field whose choices are not all known (class 1 compatibility groups): the
    # form offers the choices and a box for others.
    others: bool = False
    # A secret field shows on an edit form as the masked column named here, never as a
    # second field with the same label.
    shown_as: str | None = None
    in_form: bool = True
    # A code people type in either case (a lane's code, a certificate number): kept in
    # capitals by the schema, so every path (form, API, import) compares one spelling.
    upper: bool = False


@dataclass
class Resource:
    name: str  # URL segment and CSV file stem, e.g. "vehicles"
    model: type[Any]  # a mapped record class
    label: str  # msgid, singular
    label_plural: str  # msgid
    fields: list[FieldSpec]
    identity: tuple[str, ...]  # natural key: duplicates and import upserts
    search: tuple[str, ...] = ()  # columns `q` searches
    read_roles: tuple[str, ...] = ("admin",)
    write_roles: tuple[str, ...] = ("admin",)
    retire_column: str = "retired_at"
    # (session, values to write, record being edited or None, principal) -> field errors
    check: Callable[[Session, dict[str, Any], Any, Principal | None], Errors] | None = None
    # Turn validated input into column values (e.g. national ID -> hash/cipher/mask).
    to_columns: Callable[[Session, dict[str, Any], Any], dict[str, Any]] | None = None
    # Limit a select to what an enterprise-scoped principal may see.
    scope: Callable[[Select[Any], Principal], Select[Any]] | None = None
    # Whether a scoped principal may write this record (after to_columns).
    may_write: Callable[[Session, Any, Principal], bool] | None = None
    # Extra keys for the audit event (plate, vehicle_id, enterprise_id…).
    audit_refs: Callable[[Any], dict[str, Any]] | None = None
    # Extra keys for the JSON form of a record.
    extra_out: Callable[[Session, Any], dict[str, Any]] | None = None
    # Nested children written with the parent (e.g. an enterprise's material scope).
    children: Callable[[Session, Any, dict[str, Any]], None] | None = None
    child_fields: dict[str, Any] = field(default_factory=dict)
    # Identity column values from input when they are derived, not typed (a person's
    # keyed ID hash); default: the `identity` columns themselves.
    derive_identity: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    identity_field: str | None = None  # the input field a duplicate is reported on
    order_by: tuple[str, ...] = ("id",)
    title_field: str = "name"  # what names a record on pages (plate, code, cert_no…)
    # Other names a file may give a column (e.g. a GB 12268 list's "class").
    aliases: dict[str, str] = field(default_factory=dict)
    create_schema: type[BaseModel] = field(init=False)
    update_schema: type[BaseModel] = field(init=False)
    out_schema: type[BaseModel] = field(init=False)

    def __post_init__(self) -> None:
        self.create_schema = _schema(self, partial=False)
        self.update_schema = _schema(self, partial=True)
        self.out_schema = _out_schema(self)

    def spec(self, name: str) -> FieldSpec:
        return next(f for f in self.fields if f.name == name)

    def identity_values(self, values: dict[str, Any]) -> dict[str, Any]:
        if self.derive_identity is not None:
            return self.derive_identity(values)
        return {k: values[k] for k in self.identity if k in values}

    @property
    def writable_fields(self) -> list[FieldSpec]:
        return [f for f in self.fields if f.writable]

    @property
    def list_fields(self) -> list[FieldSpec]:
        return [f for f in self.fields if f.in_list]

    @property
    def document_fields(self) -> list[FieldSpec]:
        return [f for f in self.fields if f.document]


def _python_type(spec: FieldSpec) -> Any:
    if spec.kind == "int" or spec.kind == "ref":
        return int
    if spec.kind == "float":
        return float
    if spec.kind == "bool":
        return bool
    if spec.kind == "date":
        return ParkDate
    if spec.kind == "choice":
        return Literal[spec.choices]  # type: ignore[valid-type]
    if spec.kind == "list":
        return list[str]  # each item is checked by the resource's check (field-named errors)
    if spec.kind == "json":
        return dict[str, Any]
    return str


def _constraints(spec: FieldSpec) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if spec.kind in ("text", "secret"):
        out["max_length"] = spec.max_length
        if spec.required:
            out["min_length"] = 1
    if spec.kind == "ref":
        out["ge"] = 1
        out["le"] = 2_147_483_647
    if spec.kind in ("int", "float"):
        if spec.ge is not None:
            out["ge"] = spec.ge
        if spec.le is not None:
            out["le"] = spec.le
    if spec.kind == "list":
        out["max_length"] = 100
    return out


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def not_null_fields(resource: Resource) -> list[str]:
    """Fields an edit may leave out but never set to null: the required ones, and those
    whose column holds no NULL (a null would reach the database and fail there; on a
    new record a null is a blank, and the column's default fills it)."""
    columns = resource.model.__table__.columns
    return [spec.name for spec in resource.writable_fields
            if spec.required or (spec.name in columns and not columns[spec.name].nullable)]


def _refuse_null(cls: Any, value: Any) -> Any:
    if value is None:
        raise PydanticCustomError("null_refused", "may not be empty")
    return value


def _upper(cls: Any, value: Any) -> Any:
    return value.strip().upper() if isinstance(value, str) else value


def _schema(resource: Resource, *, partial: bool) -> type[BaseModel]:
    definitions: dict[str, Any] = {}
    for spec in resource.writable_fields:
        typ = _python_type(spec)
        constraints = _constraints(spec)
        if spec.required and not partial:
            definitions[spec.name] = (typ, Field(**constraints))
        else:
            definitions[spec.name] = (Optional[typ], Field(default=None, **constraints))  # noqa: UP045
    for name, (typ, default) in resource.child_fields.items():
        definitions[name] = (Optional[typ] if partial else typ, default)  # noqa: UP045
    suffix = "Update" if partial else "Create"
    not_null = not_null_fields(resource) if partial else []
    validators: dict[str, Any] = {}
    if not_null:
        validators["refuse_null"] = field_validator(*not_null, mode="before")(_refuse_null)
    upper = [spec.name for spec in resource.writable_fields if spec.upper]
    if upper:
        validators["upper"] = field_validator(*upper, mode="before")(_upper)
    return create_model(f"{_camel(resource.name)}{suffix}", __base__=_Strict,
                        __validators__=validators, **definitions)


def _out_schema(resource: Resource) -> type[BaseModel]:
    definitions: dict[str, Any] = {"id": (int, ...), "retired_at": (Optional[str], None)}  # noqa: UP045
    for spec in resource.fields:
        if spec.kind == "secret":
            continue
        definitions[spec.name] = (Optional[_python_type(spec)], None)  # noqa: UP045
    return create_model(f"{_camel(resource.name)}Out", __config__=ConfigDict(extra="allow"),
                        **definitions)


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))
