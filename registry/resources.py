"""The kinds of park record (DOMAIN §1, §2, §6, §7), each described once."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Select, delete, insert, select
from sqlalchemy.orm import Session

from auth.principal import Principal
from auth.roles import Role
from kernel import clock
from kernel.errors import N_
from models import (
    Bay,
    BlacklistEntry,
    Camera,
    Carrier,
    Dock,
    Enterprise,
    EnterpriseMaterialScope,
    FixedRegistration,
    Gate,
    Lane,
    Lot,
    Material,
    Person,
    Plant,
    Qualification,
    Vehicle,
    Zone,
    enterprise_carriers,
)
from rules.documents import park_date
from rules.hazard import CLASS_NAMES_EN, TOXIC_SCOPE, normalise_class, normalise_un
from rules.identity import mask_id, mask_phone, normalise_id

from . import pii
from .checks import (
    add,
    check_classes,
    check_credit_code,
    check_dates_in_order,
    check_exists,
    check_national_id,
    check_plate,
    check_un_numbers,
    forget_un_numbers,
)
from .scope import (
    carrier_is_linked,
    carrier_shared,
    carrier_visible,
    person_visible,
    person_writable,
    vehicle_visible,
)
from .service import register
from .spec import Errors, FieldSpec, Resource

# The classes and divisions a form offers as boxes to tick (class 1 compatibility groups
# such as 1.1D go in the box for others).
CLASS_CHOICES = tuple(CLASS_NAMES_EN)

F = FieldSpec
ALL_ROLES = tuple(r.value for r in Role)
STAFF_READ = (Role.ADMIN, Role.GATE_OPERATOR, Role.DISPATCHER, Role.AUDITOR)
CATEGORIES = ("hazmat", "hazwaste", "goods", "small", "emergency")
COLOURS = ("blue", "yellow", "green", "yellow_green", "white", "black")


# --- enterprise scope (registry.scope) -------------------------------------------------------

def _own_enterprise(column_name: str):  # type: ignore[no-untyped-def]
    def scope(stmt: Select[Any], principal: Principal) -> Select[Any]:
        model = stmt.column_descriptions[0]["entity"]
        return stmt.where(getattr(model, column_name) == principal.enterprise_id)
    return scope


# --- carriers -----------------------------------------------------------------------------

def _check_carrier(session: Session, values: dict[str, Any], existing: Any,
                   principal: Principal | None) -> Errors:
    errors: Errors = {}
    check_credit_code(values, errors)
    check_classes(values, "licence_scope", errors, allow_toxic=True)
    for eid in values.get("enterprise_ids") or []:
        check_exists(session, Enterprise, eid, "enterprise_ids", errors, label=N_("enterprise"),
                     principal=principal)
    return errors


def _carrier_children(session: Session, carrier: Carrier, values: dict[str, Any]) -> None:
    principal: Principal = values["_principal"]
    wanted = values.get("enterprise_ids")
    if principal.enterprise_scoped:
        # Enterprise staff link what they register to their own enterprise, and only that.
        wanted = [principal.enterprise_id] if not carrier_is_linked(session, carrier.id, principal) \
            else None
        if wanted:
            session.execute(insert(enterprise_carriers).values(
                enterprise_id=wanted[0], carrier_id=carrier.id))
        return
    if wanted is None:
        return
    session.execute(delete(enterprise_carriers).where(enterprise_carriers.c.carrier_id == carrier.id))
    for eid in sorted(set(wanted)):
        session.execute(insert(enterprise_carriers).values(enterprise_id=eid, carrier_id=carrier.id))


def _carrier_out(session: Session, carrier: Carrier) -> dict[str, Any]:
    return {"enterprise_ids": list(session.scalars(
        select(enterprise_carriers.c.enterprise_id)
        .where(enterprise_carriers.c.carrier_id == carrier.id)))}


CARRIERS = register(Resource(
    title_field="name", name="carriers", model=Carrier, label=N_("Carrier"), label_plural=N_("Carriers"),
    fields=[
        F("name", N_("Name"), required=True, in_list=True),
        F("credit_code", N_("Unified social credit code"), required=True, in_list=True,
          max_length=18),
        F("licence_no", N_("Dangerous-goods transport licence"), in_list=True, max_length=64),
        F("licence_scope", N_("Licence scope (classes)"), kind="list",
          choices=(*CLASS_CHOICES, TOXIC_SCOPE),
          others=True),
        F("licence_expires_on", N_("Licence expires"), kind="date", document=True, in_list=True),
        F("contact_phone_masked", N_("Contact phone"), max_length=32),
    ],
    child_fields={"enterprise_ids": (list[int], None)},
    identity=("credit_code",), search=("name", "credit_code", "licence_no"),
    read_roles=(*STAFF_READ, Role.ENTERPRISE), write_roles=(Role.ADMIN, Role.ENTERPRISE),
    check=_check_carrier, children=_carrier_children, extra_out=_carrier_out,
    scope=lambda stmt, p: stmt.where(carrier_visible(p)),
    # A carrier other enterprises rely on is the park's to change, not one enterprise's.
    may_write=lambda s, c, p: c.id is None or (carrier_is_linked(s, c.id, p)
                                               and not carrier_shared(s, c.id, p)),
    order_by=("name",),
))


# --- vehicles -----------------------------------------------------------------------------

def _check_vehicle(session: Session, values: dict[str, Any], existing: Vehicle | None,
                   principal: Principal | None) -> Errors:
    errors: Errors = {}

    def current(name: str) -> Any:
        return values[name] if name in values else getattr(existing, name, None)

    check_plate(values, errors, vehicle_kind=current("kind"))
    if "plate" not in values and existing is not None and "plate_colour" in values:
        probe = {"plate": existing.plate, "plate_colour": values["plate_colour"]}
        check_plate(probe, errors, vehicle_kind=current("kind"))
    check_classes(values, "permit_scope", errors, allow_toxic=True)
    check_un_numbers(session, values, "tank_media", errors)
    check_dates_in_order(values, existing, "permit_issued_on", "permit_expires_on", errors)
    check_exists(session, Carrier, values.get("carrier_id"), "carrier_id", errors,
                 label=N_("carrier"), principal=principal)
    if current("category") in ("hazmat", "hazwaste"):
        for name in ("road_permit_no", "permit_expires_on"):
            if not current(name):
                add(errors, name, N_("Required for vehicles that carry dangerous goods."))
        if not current("permit_scope"):
            add(errors, "permit_scope", N_("Required for vehicles that carry dangerous goods."))
    if current("is_tank"):
        if not current("tank_media"):
            add(errors, "tank_media", N_("A tank must list the UN numbers it is approved for."))
        if not current("tank_inspection_expires_on"):
            add(errors, "tank_inspection_expires_on", N_("A tank needs its inspection date."))
    return errors


VEHICLES = register(Resource(
    title_field="plate", name="vehicles", model=Vehicle, label=N_("Vehicle"), label_plural=N_("Vehicles"),
    fields=[
        F("plate", N_("Plate"), required=True, in_list=True, max_length=16),
        F("plate_colour", N_("Plate colour"), kind="choice", choices=COLOURS, required=True,
          in_list=True),
        F("kind", N_("Kind"), kind="choice", choices=("tractor", "trailer", "rigid", "car"),
          required=True, in_list=True),
        F("category", N_("Category"), kind="choice", choices=CATEGORIES, required=True,
          in_list=True),
        F("carrier_id", N_("Carrier"), kind="ref", ref="carriers", in_list=True),
        F("rated_load_kg", N_("Rated load (kg)"), kind="float", ge=0, le=200_000),
        F("is_tank", N_("Tank vehicle"), kind="bool"),
        F("tank_media", N_("Tank approved media (UN numbers)"), kind="list"),
        F("road_permit_no", N_("Road transport permit"), max_length=64),
        F("permit_scope", N_("Permit business scope (classes; 剧毒 as toxic)"), kind="list",
          choices=(*CLASS_CHOICES, TOXIC_SCOPE), others=True),
        F("permit_issued_on", N_("Permit issued"), kind="date"),
        F("permit_expires_on", N_("Permit expires"), kind="date", document=True, in_list=True),
        F("review_expires_on", N_("Annual review valid until"), kind="date", document=True),
        F("inspection_expires_on", N_("Inspection valid until"), kind="date", document=True,
          in_list=True),
        F("tank_inspection_expires_on", N_("Tank inspection valid until"), kind="date",
          document=True),
        F("insurance_expires_on", N_("Carrier insurance valid until"), kind="date",
          document=True, in_list=True),
        F("gps_unit_id", N_("Positioning unit"), max_length=64),
    ],
    identity=("plate", "plate_colour"), search=("plate", "road_permit_no", "gps_unit_id"),
    read_roles=(*STAFF_READ, Role.ENTERPRISE), write_roles=(Role.ADMIN, Role.ENTERPRISE),
    check=_check_vehicle,
    scope=lambda stmt, p: stmt.where(vehicle_visible(p)),
    may_write=lambda s, v, p: carrier_is_linked(s, v.carrier_id, p),
    audit_refs=lambda v: {"vehicle_id": v.id, "plate": v.plate},
    order_by=("plate",),
))


# --- persons and their qualifications -------------------------------------------------------

PERSON_KINDS = ("driver", "escort", "visitor", "contractor", "employee")


def _person_identity(values: dict[str, Any]) -> dict[str, Any]:
    nid = values.get("national_id")
    return {"id_hash": pii.lookup_hash(pii.current_key(), nid)} if nid else {}


def _find_person(session: Session, values: dict[str, Any]) -> Person | None:
    key = _person_identity(values)
    return session.scalar(select(Person).where(Person.id_hash == key["id_hash"])) if key else None


def _check_person(session: Session, values: dict[str, Any], existing: Person | None,
                  principal: Principal | None) -> Errors:
    errors: Errors = {}
    if existing is None and not values.get("national_id"):
        add(errors, "national_id", N_("Required."))
    check_national_id(values, errors)
    if values.get("national_id") and "national_id" not in errors:
        values["national_id"] = normalise_id(values["national_id"])
    for kind in values.get("kinds") or []:
        if kind not in PERSON_KINDS:
            add(errors, "kinds", N_("%(value)s is not a kind of person."), value=kind)
    check_exists(session, Enterprise, values.get("enterprise_id"), "enterprise_id", errors,
                 label=N_("enterprise"), principal=principal)
    check_exists(session, Carrier, values.get("carrier_id"), "carrier_id", errors,
                 label=N_("carrier"), principal=principal)
    phone = values.get("phone")
    if phone and not phone.replace("+", "").replace("-", "").replace(" ", "").isdigit():
        add(errors, "phone", N_("A phone number has digits only."))
    return errors


def _person_columns(session: Session, values: dict[str, Any], existing: Any) -> dict[str, Any]:
    key = pii.current_key()
    out = {k: v for k, v in values.items() if k not in ("national_id", "phone")}
    if values.get("national_id"):
        nid = values["national_id"]
        out.update(id_hash=pii.lookup_hash(key, nid), id_cipher=pii.encrypt(key, nid),
                   id_masked=mask_id(nid))
    if "phone" in values:
        phone = values["phone"]
        out.update(phone_cipher=pii.encrypt(key, phone) if phone else None,
                   phone_masked=mask_phone(phone) if phone else None)
    return out


PERSONS = register(Resource(
    title_field="name", name="persons", model=Person, label=N_("Person"), label_plural=N_("People"),
    fields=[
        F("name", N_("Name"), required=True, in_list=True, max_length=100),
        F("national_id", N_("National ID number"), kind="secret", max_length=18,
          shown_as="id_masked"),
        F("id_masked", N_("ID number"), writable=False, in_list=True, in_form=False),
        F("phone", N_("Phone"), kind="secret", max_length=20, shown_as="phone_masked"),
        F("phone_masked", N_("Phone"), writable=False, in_form=False),
        F("kinds", N_("Kinds"), kind="list", in_list=True,
          choices=("driver", "escort", "loader", "visitor", "contractor", "employee")),
        F("enterprise_id", N_("Employer (enterprise)"), kind="ref", ref="enterprises"),
        F("carrier_id", N_("Employer (carrier)"), kind="ref", ref="carriers", in_list=True),
    ],
    identity=("id_hash",), derive_identity=_person_identity, identity_field="national_id",
    search=("name", "id_masked"),
    read_roles=(*STAFF_READ, Role.ENTERPRISE), write_roles=(Role.ADMIN, Role.ENTERPRISE),
    check=_check_person, to_columns=_person_columns,
    scope=lambda stmt, p: stmt.where(person_visible(p)),
    may_write=person_writable,
    audit_refs=lambda person: {"person_id": person.id},
    order_by=("name", "id"),
))


def _check_qualification(session: Session, values: dict[str, Any], existing: Any,
                         principal: Principal | None) -> Errors:
    errors: Errors = {}
    person = check_exists(session, Person, values.get("person_id"), "person_id", errors,
                          label=N_("person"), principal=principal)
    if person is not None and principal is not None and principal.enterprise_scoped and \
            not person_writable(session, person, principal):
        add(errors, "person_id", N_("No such record: %(what)s."), what=N_("person"))
    check_classes(values, "classes", errors)
    check_dates_in_order(values, existing, "issued_on", "expires_on", errors)
    return errors


def _qualification_writable(session: Session, q: Qualification, principal: Principal) -> bool:
    person = session.get(Person, q.person_id)
    return person is not None and person_writable(session, person, principal)


QUALIFICATIONS = register(Resource(
    title_field="cert_no", name="qualifications", model=Qualification, label=N_("Qualification"),
    label_plural=N_("Qualifications"),
    fields=[
        F("person_id", N_("Person"), kind="ref", ref="persons", required=True, in_list=True),
        F("kind", N_("Kind"), kind="choice", choices=("driver", "escort", "loader"),
          required=True, in_list=True),
        F("cert_no", N_("Certificate number"), required=True, in_list=True, max_length=64,
          upper=True),
        F("classes", N_("Classes covered"), kind="list", in_list=True, choices=CLASS_CHOICES,
          others=True),
        F("issued_on", N_("Issued"), kind="date"),
        F("expires_on", N_("Expires"), kind="date", required=True, document=True, in_list=True),
    ],
    identity=("cert_no", "kind"), search=("cert_no",),
    read_roles=(*STAFF_READ, Role.ENTERPRISE), write_roles=(Role.ADMIN, Role.ENTERPRISE),
    check=_check_qualification,
    scope=lambda stmt, p: stmt.where(Qualification.person_id.in_(
        select(Person.id).where(person_visible(p)))),
    may_write=_qualification_writable,
    audit_refs=lambda q: {"person_id": q.person_id},
    order_by=("cert_no",),
))


# --- enterprises and plants ---------------------------------------------------------------

class MaterialScopeLine(BaseModel):
    """One line of what an enterprise may receive or ship (B02): typed here, so a number
    where a class is named is a field error, not a crash in the checks below."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    direction: str = Field(max_length=16)
    un_number: str | None = Field(default=None, max_length=16)
    hazard_class: str | None = Field(default=None, max_length=16)
    max_qty_kg: float | None = Field(default=None, allow_inf_nan=False)


def _check_enterprise(session: Session, values: dict[str, Any], existing: Any,
                      principal: Principal | None) -> Errors:
    errors: Errors = {}
    check_credit_code(values, errors)
    for i, line in enumerate(values.get("material_scope") or []):
        name = f"material_scope.{i}"
        if line.get("direction") not in ("receive", "ship"):
            add(errors, name, N_("Direction is receive or ship."))
        un, cls = line.get("un_number"), line.get("hazard_class")
        if bool(un) == bool(cls):
            add(errors, name, N_("Name either one UN number or one hazard class."))
        if un:
            probe = {"u": un}
            check_un_numbers(session, probe, "u", errors)
            if "u" in errors:
                errors[name] = errors.pop("u")
            line["un_number"] = probe["u"]
        if cls:
            try:
                line["hazard_class"] = normalise_class(cls)
            except ValueError:
                add(errors, name, N_("%(value)s is not a hazard class or division."), value=cls)
        cap = line.get("max_qty_kg")
        if cap is not None and (not isinstance(cap, int | float) or cap <= 0):
            add(errors, name, N_("A cap is a positive number of kilograms."))
    return errors


def _enterprise_children(session: Session, ent: Enterprise, values: dict[str, Any]) -> None:
    lines = values.get("material_scope")
    if lines is None:
        return
    session.execute(delete(EnterpriseMaterialScope)
                    .where(EnterpriseMaterialScope.enterprise_id == ent.id))
    for line in lines:
        session.add(EnterpriseMaterialScope(
            enterprise_id=ent.id, direction=line["direction"], un_number=line.get("un_number"),
            hazard_class=line.get("hazard_class"), max_qty_kg=line.get("max_qty_kg")))
    session.flush()
    session.expire(ent, ["material_scope"])


def _enterprise_out(session: Session, ent: Enterprise) -> dict[str, Any]:
    return {"material_scope": [
        {"direction": s.direction, "un_number": s.un_number, "hazard_class": s.hazard_class,
         "max_qty_kg": s.max_qty_kg} for s in ent.material_scope]}


ENTERPRISES = register(Resource(
    title_field="name", name="enterprises", model=Enterprise, label=N_("Enterprise"),
    label_plural=N_("Enterprises"),
    fields=[
        F("park_id", N_("Park"), kind="ref", ref="parks", writable=False),
        F("code", N_("Code"), required=True, in_list=True, max_length=32),
        F("name", N_("Name"), required=True, in_list=True),
        F("credit_code", N_("Unified social credit code"), in_list=True, max_length=18),
    ],
    child_fields={"material_scope": (list[MaterialScopeLine], None)},
    identity=("code",), search=("code", "name", "credit_code"),
    read_roles=(*STAFF_READ, Role.ENTERPRISE, Role.PLANT_RECEIVER), write_roles=(Role.ADMIN,),
    check=_check_enterprise, children=_enterprise_children, extra_out=_enterprise_out,
    to_columns=lambda s, v, e: {**v, **({} if e else {"park_id": _park_id(s)})},
    scope=_own_enterprise("id"), audit_refs=lambda e: {"enterprise_id": e.id},
    order_by=("code",),
))


def _park_id(session: Session) -> int:
    from models import Park

    park_id = session.scalar(select(Park.id).order_by(Park.id).limit(1))
    if park_id is None:
        from kernel.errors import Conflict

        raise Conflict(N_("Create the park first."), code="NO_PARK")
    return park_id


def _check_plant(session: Session, values: dict[str, Any], existing: Any,
                 principal: Principal | None) -> Errors:
    errors: Errors = {}
    check_exists(session, Enterprise, values.get("enterprise_id"), "enterprise_id", errors,
                 label=N_("enterprise"), principal=principal)
    for day, spans in (values.get("receiving_hours") or {}).items():
        if day not in ("mon", "tue", "wed", "thu", "fri", "sat", "sun") or \
                not isinstance(spans, list) or not all(_is_span(s) for s in spans):
            add(errors, "receiving_hours", N_("Hours are {\"mon\": [[\"08:00\", \"18:00\"]], …}."))
            break
    if existing is not None and values.get("docks") is not None:
        busy = {d.code for d in existing.docks if d.busy and d.retired_at is None}
        dropped = busy - set(values["docks"])
        if dropped:
            add(errors, "docks", N_("Dock %(value)s is in use and cannot be removed."),
                value=sorted(dropped)[0])
    return errors


def _is_span(span: Any) -> bool:
    import re

    hhmm = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
    return isinstance(span, list) and len(span) == 2 and all(
        isinstance(x, str) and hhmm.match(x) for x in span)


def _plant_children(session: Session, plant: Plant, values: dict[str, Any]) -> None:
    codes = values.get("docks")
    if codes is None:
        return
    wanted = [c.strip().upper() for c in codes if c.strip()]
    existing = {d.code: d for d in session.scalars(select(Dock).where(Dock.plant_id == plant.id))}
    for code in wanted:
        dock = existing.get(code)
        if dock is None:
            session.add(Dock(plant_id=plant.id, code=code))
        elif dock.retired_at is not None:
            dock.retired_at = None
    for code, dock in existing.items():
        if code not in wanted and dock.retired_at is None:
            dock.retired_at = clock.now()
    session.flush()
    session.expire(plant, ["docks"])


PLANTS = register(Resource(
    title_field="name", name="plants", model=Plant, label=N_("Plant"), label_plural=N_("Plants"),
    fields=[
        F("enterprise_id", N_("Enterprise"), kind="ref", ref="enterprises", required=True,
          in_list=True),
        F("code", N_("Code"), required=True, in_list=True, max_length=32),
        F("name", N_("Name"), required=True, in_list=True),
        F("receiving_hours", N_("Receiving hours"), kind="json"),
        F("release_mode", N_("Release from the lot"), kind="choice", choices=("auto", "propose"),
          in_list=True),
        F("release_timing", N_("When a truck is released"), kind="choice",
          choices=("free_dock", "call_forward"), in_list=True),
        F("call_margin_min", N_("Call-forward margin (minutes after the dock frees)"),
          kind="int", ge=0, le=60),
        F("arrival_deadline_min", N_("Minutes to reach the plant after release"), kind="int",
          ge=1, le=600),
        F("max_dwell_min", N_("Longest stay in the plant (minutes)"), kind="int", ge=1,
          le=10_000),
    ],
    child_fields={"docks": (list[str], None)},
    identity=("code",), search=("code", "name"),
    read_roles=(*STAFF_READ, Role.ENTERPRISE, Role.PLANT_RECEIVER), write_roles=(Role.ADMIN,),
    check=_check_plant, children=_plant_children,
    extra_out=lambda s, p: {"docks": [{"code": d.code, "busy": d.busy} for d in p.docks
                                      if d.retired_at is None]},
    scope=_own_enterprise("enterprise_id"),
    audit_refs=lambda p: {"enterprise_id": p.enterprise_id},
    order_by=("code",),
))


# --- gates, lanes, the lot ------------------------------------------------------------------

def _check_gate(session: Session, values: dict[str, Any], existing: Any,
                principal: Principal | None) -> Errors:
    errors: Errors = {}
    for item in values.get("admits") or []:
        if item not in (*CATEGORIES, "pedestrian"):
            add(errors, "admits", N_("%(value)s is not a vehicle category."), value=item)
    kind = values.get("kind", getattr(existing, "kind", None))
    plant_id = values.get("plant_id", getattr(existing, "plant_id", None))
    lot_id = values.get("lot_id", getattr(existing, "lot_id", None))
    if kind == "plant" and not plant_id:
        add(errors, "plant_id", N_("A plant gate belongs to a plant."))
    if kind == "lot" and not lot_id:
        add(errors, "lot_id", N_("A lot gate belongs to a lot."))
    check_exists(session, Plant, values.get("plant_id"), "plant_id", errors, label=N_("plant"))
    check_exists(session, Lot, values.get("lot_id"), "lot_id", errors, label=N_("lot"))
    return errors


GATES = register(Resource(
    title_field="name", name="gates", model=Gate, label=N_("Gate"), label_plural=N_("Gates"),
    fields=[
        F("park_id", N_("Park"), kind="ref", ref="parks", writable=False),
        F("code", N_("Code"), required=True, in_list=True, max_length=32),
        F("name", N_("Name"), required=True, in_list=True),
        F("kind", N_("Kind"), kind="choice", choices=("perimeter", "lot", "plant"),
          required=True, in_list=True),
        F("admits", N_("Admits"), kind="list", in_list=True,
          choices=("hazmat", "hazwaste", "goods", "small", "pedestrian", "emergency")),
        F("plant_id", N_("Plant"), kind="ref", ref="plants"),
        F("lot_id", N_("Lot"), kind="ref", ref="lots"),
    ],
    identity=("code",), search=("code", "name"),
    read_roles=STAFF_READ, write_roles=(Role.ADMIN,), check=_check_gate,
    to_columns=lambda s, v, e: {**v, **({} if e else {"park_id": _park_id(s)})},
    order_by=("code",),
))


def _check_lane(session: Session, values: dict[str, Any], existing: Any,
                principal: Principal | None) -> Errors:
    errors: Errors = {}
    check_exists(session, Gate, values.get("gate_id"), "gate_id", errors, label=N_("gate"))
    return errors


LANES = register(Resource(
    title_field="code", name="lanes", model=Lane, label=N_("Lane"), label_plural=N_("Lanes"),
    fields=[
        F("gate_id", N_("Gate"), kind="ref", ref="gates", required=True, in_list=True),
        F("code", N_("Code"), required=True, in_list=True, max_length=32, upper=True),
        F("name", N_("Name"), required=True, in_list=True),
        F("direction", N_("Direction"), kind="choice", choices=("in", "out"), required=True,
          in_list=True),
        F("confidence_threshold", N_("Plate confidence threshold"), kind="float", ge=0, le=1,
          in_list=True),
        F("antipassback", N_("Anti-passback"), kind="choice", choices=("deny", "hold", "off"),
          in_list=True),
        F("fold_window_s", N_("Fold repeated reads within (s)"), kind="int", ge=0, le=600),
        F("devices", N_("Barrier and LED controllers"), kind="json"),
    ],
    identity=("code",), search=("code", "name"),
    read_roles=(*STAFF_READ, Role.DEVICE), write_roles=(Role.ADMIN,), check=_check_lane,
    audit_refs=lambda lane: {"lane_id": lane.id}, order_by=("code",),
))


def _check_lot(session: Session, values: dict[str, Any], existing: Any,
               principal: Principal | None) -> Errors:
    errors: Errors = {}
    check_classes(values, "excluded_classes", errors)
    return errors


LOTS = register(Resource(
    title_field="name", name="lots", model=Lot, label=N_("Hazmat lot"), label_plural=N_("Hazmat lots"),
    fields=[
        F("park_id", N_("Park"), kind="ref", ref="parks", writable=False),
        F("code", N_("Code"), required=True, in_list=True, max_length=32),
        F("name", N_("Name"), required=True, in_list=True),
        F("max_wait_min", N_("Longest wait (minutes)"), kind="int", ge=1, le=10_000, in_list=True),
        F("excluded_classes", N_("Classes not admitted"), kind="list", in_list=True,
          choices=CLASS_CHOICES, others=True),
        F("capacity", N_("Vehicles the lot may hold (empty: one per bay)"), kind="int", ge=0,
          le=10_000, in_list=True),
    ],
    identity=("code",), search=("code", "name"),
    read_roles=STAFF_READ, write_roles=(Role.ADMIN,), check=_check_lot,
    to_columns=lambda s, v, e: {**v, **({} if e else {"park_id": _park_id(s)})},
    order_by=("code",),
))


def _check_zone(session: Session, values: dict[str, Any], existing: Any,
                principal: Principal | None) -> Errors:
    errors: Errors = {}
    check_exists(session, Lot, values.get("lot_id"), "lot_id", errors, label=N_("lot"))
    check_classes(values, "accepted_classes", errors)
    if existing is not None and values.get("bays") is not None:
        occupied = {b.code for b in existing.bays if b.trip_id is not None}
        dropped = occupied - {c.strip().upper() for c in values["bays"]}
        if dropped:
            add(errors, "bays", N_("Bay %(value)s is occupied and cannot be removed."),
                value=sorted(dropped)[0])
    return errors


def _zone_children(session: Session, zone: Zone, values: dict[str, Any]) -> None:
    codes = values.get("bays")
    if codes is None:
        return
    wanted = [c.strip().upper() for c in codes if c.strip()]
    existing = {b.code: b for b in session.scalars(select(Bay).where(Bay.zone_id == zone.id))}
    for code in wanted:
        bay = existing.get(code)
        if bay is None:
            session.add(Bay(zone_id=zone.id, code=code))
        else:
            bay.out_of_service = False
    for code, bay in existing.items():
        if code not in wanted:
            bay.out_of_service = True
    session.flush()
    session.expire(zone, ["bays"])


ZONES = register(Resource(
    title_field="name", name="zones", model=Zone, label=N_("Lot zone"), label_plural=N_("Lot zones"),
    fields=[
        F("lot_id", N_("Lot"), kind="ref", ref="lots", required=True, in_list=True),
        F("code", N_("Code"), required=True, in_list=True, max_length=32),
        F("name", N_("Name"), required=True, in_list=True),
        F("accepted_classes", N_("Accepted classes"), kind="list", required=True, in_list=True,
          choices=CLASS_CHOICES, others=True),
        F("fire_class", N_("Fire-hazard class"), kind="choice", choices=("甲", "乙", "丙"),
          in_list=True),
        F("layout", N_("Position on the lot map"), kind="json"),
    ],
    child_fields={"bays": (list[str], None)},
    identity=("lot_id", "code"), search=("code", "name"),
    read_roles=STAFF_READ, write_roles=(Role.ADMIN,), check=_check_zone,
    children=_zone_children,
    extra_out=lambda s, z: {"bays": [b.code for b in z.bays if not b.out_of_service]},
    order_by=("lot_id", "code"),
))


# --- materials, standing passes, blacklist -------------------------------------------------

def _check_material(session: Session, values: dict[str, Any], existing: Any,
                    principal: Principal | None) -> Errors:
    errors: Errors = {}
    forget_un_numbers(session)  # the list is changing
    if values.get("un_number"):
        try:
            values["un_number"] = normalise_un(values["un_number"])
        except ValueError:
            add(errors, "un_number", N_("%(value)s is not a UN number."), value=values["un_number"])
    if values.get("hazard_class"):
        try:
            values["hazard_class"] = normalise_class(values["hazard_class"])
        except ValueError:
            add(errors, "hazard_class", N_("%(value)s is not a hazard class or division."),
                value=values["hazard_class"])
    check_classes(values, "subsidiary_risks", errors)
    return errors


MATERIALS = register(Resource(
    title_field="name_zh", name="materials", model=Material, label=N_("Material"),
    label_plural=N_("Materials"),
    fields=[
        F("un_number", N_("UN number"), required=True, in_list=True, max_length=8),
        F("name_zh", N_("Chinese name"), required=True, in_list=True),
        F("name_en", N_("English name"), in_list=True, max_length=300),
        F("hazard_class", N_("Class/division"), required=True, in_list=True, max_length=8),
        F("subsidiary_risks", N_("Subsidiary risks"), kind="list", in_list=True,
          choices=CLASS_CHOICES, others=True),
        F("packing_group", N_("Packing group"), kind="choice", choices=("I", "II", "III"),
          in_list=True),
        F("highly_toxic", N_("Highly toxic (剧毒)"), kind="bool", in_list=True),
    ],
    identity=("un_number", "name_zh"), search=("un_number", "name_zh", "name_en"),
    aliases={"class": "hazard_class", "division": "hazard_class", "剧毒": "highly_toxic"},
    read_roles=ALL_ROLES, write_roles=(Role.ADMIN,), check=_check_material,
    order_by=("un_number", "id"),
))


def _check_fixed(session: Session, values: dict[str, Any], existing: Any,
                 principal: Principal | None) -> Errors:
    errors: Errors = {}
    check_exists(session, Vehicle, values.get("vehicle_id"), "vehicle_id", errors,
                 label=N_("vehicle"), principal=principal)
    check_exists(session, Enterprise, values.get("enterprise_id"), "enterprise_id", errors,
                 label=N_("enterprise"), principal=principal)
    check_dates_in_order(values, existing, "valid_from", "valid_until", errors)
    return errors


FIXED = register(Resource(
    title_field="note", name="fixed_registrations", model=FixedRegistration, label=N_("Standing pass"),
    label_plural=N_("Standing passes"),
    fields=[
        F("vehicle_id", N_("Vehicle"), kind="ref", ref="vehicles", required=True, in_list=True),
        F("enterprise_id", N_("Enterprise"), kind="ref", ref="enterprises", required=True,
          in_list=True),
        F("valid_from", N_("Valid from"), kind="date", required=True, in_list=True),
        F("valid_until", N_("Valid until"), kind="date", required=True, document=True,
          in_list=True),
        F("note", N_("Note"), in_list=True),
    ],
    identity=(), search=("note",),
    read_roles=(Role.ADMIN, Role.GATE_OPERATOR, Role.AUDITOR, Role.ENTERPRISE),
    write_roles=(Role.ADMIN,), check=_check_fixed,
    scope=_own_enterprise("enterprise_id"),
    audit_refs=lambda f: {"vehicle_id": f.vehicle_id, "enterprise_id": f.enterprise_id},
    extra_out=lambda s, f: {"plate": getattr(s.get(Vehicle, f.vehicle_id), "plate", None)},
))


def _check_blacklist(session: Session, values: dict[str, Any], existing: Any,
                     principal: Principal | None) -> Errors:
    errors: Errors = {}
    kind = values.get("subject_kind", getattr(existing, "subject_kind", None))
    if values.get("plate"):
        probe = {"plate": values["plate"], "plate_colour": values.get("plate_colour")}
        check_plate(probe, errors, vehicle_kind=None)
        vehicle = session.scalar(select(Vehicle).where(
            Vehicle.plate == probe["plate"], Vehicle.plate_colour == values.get("plate_colour")))
        if vehicle is None and "plate" not in errors:
            add(errors, "plate", N_("No vehicle with this plate and colour is registered."))
        values["vehicle_id"] = vehicle.id if vehicle else None
    if values.get("national_id"):
        check_national_id(values, errors)
        person = _find_person(session, values) if "national_id" not in errors else None
        if person is None and "national_id" not in errors:
            add(errors, "national_id", N_("No person with this ID number is registered."))
        values["person_id"] = person.id if person else None
    if kind == "vehicle":
        if not values.get("vehicle_id") and existing is None and "plate" not in errors:
            add(errors, "vehicle_id", N_("Name the vehicle."))
        check_exists(session, Vehicle, values.get("vehicle_id"), "vehicle_id", errors,
                     label=N_("vehicle"), principal=principal)
    elif kind == "person":
        if not values.get("person_id") and existing is None and "national_id" not in errors:
            add(errors, "person_id", N_("Name the person."))
        check_exists(session, Person, values.get("person_id"), "person_id", errors,
                     label=N_("person"), principal=principal)
    if isinstance(values.get("until_on"), date) and existing is None and \
            values["until_on"] < park_date(clock.now()):
        add(errors, "until_on", N_("This date has passed."))
    return errors


def _blacklist_columns(session: Session, values: dict[str, Any], existing: Any) -> dict[str, Any]:
    out = {k: v for k, v in values.items() if k not in ("plate", "plate_colour", "national_id")}
    if existing is None:
        out["created_at"] = clock.now()
    return out


def _blacklist_out(session: Session, entry: BlacklistEntry) -> dict[str, Any]:
    if entry.vehicle_id:
        v = session.get(Vehicle, entry.vehicle_id)
        return {"subject": v.plate if v else None}
    p = session.get(Person, entry.person_id) if entry.person_id else None
    return {"subject": f"{p.name} {p.id_masked}" if p else None}


BLACKLIST = register(Resource(
    title_field="reason", name="blacklist", model=BlacklistEntry, label=N_("Blacklist entry"),
    label_plural=N_("Blacklist"),
    fields=[
        F("subject_kind", N_("Who or what"), kind="choice", choices=("vehicle", "person"),
          required=True, in_list=True),
        F("vehicle_id", N_("Vehicle"), kind="ref", ref="vehicles"),
        F("plate", N_("…or its plate"), max_length=16),
        F("plate_colour", N_("Plate colour"), kind="choice", choices=COLOURS),
        F("person_id", N_("Person"), kind="ref", ref="persons"),
        F("national_id", N_("…or their ID number"), kind="secret", max_length=18),
        F("reason", N_("Reason"), required=True, in_list=True, max_length=500),
        F("until_on", N_("Until (last day)"), kind="date", in_list=True),
    ],
    identity=(), search=("reason",), retire_column="lifted_at",
    read_roles=(Role.ADMIN, Role.GATE_OPERATOR, Role.AUDITOR, Role.DISPATCHER),
    write_roles=(Role.ADMIN,), check=_check_blacklist, to_columns=_blacklist_columns,
    extra_out=_blacklist_out,
    audit_refs=lambda b: {"vehicle_id": b.vehicle_id, "person_id": b.person_id},
))


# --- cameras ------------------------------------------------------------------------------------

def _check_camera(session: Session, values: dict[str, Any], existing: Any,
                  principal: Principal | None) -> Errors:
    errors: Errors = {}
    check_exists(session, Lane, values.get("lane_id"), "lane_id", errors, label=N_("lane"))
    if values.get("device_id"):
        values["device_id"] = values["device_id"].strip()
    if values.get("password") and not (values.get("username") or
                                       (existing is not None and existing.username)):
        add(errors, "username", N_("A password needs its user name."))
    return errors


def _camera_columns(session: Session, values: dict[str, Any], existing: Any) -> dict[str, Any]:
    from gateway.cameras import secret_of

    out = {k: v for k, v in values.items() if k != "password"}
    if values.get("password"):
        username = values.get("username") or (existing.username if existing else None)
        out["secret_cipher"] = secret_of(username, values["password"])
    if existing is None:
        out["created_at"] = clock.now()
    return out


CAMERAS = register(Resource(
    title_field="device_id", name="cameras", model=Camera, label=N_("Camera"),
    label_plural=N_("Cameras"),
    fields=[
        F("vendor", N_("Vendor"), kind="choice", choices=("hikvision", "dahua", "gat1400"),
          required=True, in_list=True),
        F("model", N_("Model"), max_length=64, in_list=True),
        F("device_id", N_("Device id (serial, DeviceID or MAC, as the camera sends it)"),
          required=True, in_list=True, max_length=64),
        F("lane_id", N_("Lane"), kind="ref", ref="lanes", in_list=True),
        F("protocol", N_("Protocol"), kind="choice", choices=("push", "itsapi", "viid"),
          in_list=True),
        F("username", N_("User name (HTTP Digest)"), max_length=64),
        F("password", N_("Password (HTTP Digest; kept only as its digest)"), kind="secret",
          max_length=128),
        F("silent_after_min", N_("Silent after (minutes without event or heartbeat)"),
          kind="int", ge=1, le=1440),
        F("utc_offset_min", N_("Camera clock's offset from UTC (minutes; China 480)"),
          kind="int", ge=-720, le=840),
        F("last_heard_at", N_("Last heard"), writable=False, in_list=True),
        F("registered_at", N_("Registered (GA/T 1400)"), writable=False),
    ],
    identity=("vendor", "device_id"), search=("device_id", "model"),
    read_roles=(Role.ADMIN, Role.GATE_OPERATOR, Role.AUDITOR), write_roles=(Role.ADMIN,),
    check=_check_camera, to_columns=_camera_columns,
    audit_refs=lambda c: {"lane_id": c.lane_id}, order_by=("vendor", "device_id"),
))


# Display order on pages and in the API description.
REGISTRY_ORDER = [ENTERPRISES, PLANTS, CARRIERS, VEHICLES, PERSONS, QUALIFICATIONS, FIXED,
                  BLACKLIST, MATERIALS, GATES, LANES, CAMERAS, LOTS, ZONES]
