"""The booking page's form: plates, ID or certificate numbers and local times in,
a BookingRequest out (or the fields that are wrong, in the form's own names)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from auth.principal import Principal
from kernel.errors import N_
from models import Person, Qualification, Vehicle
from registry import pii
from registry.scope import person_visible, vehicle_visible, visible_ids
from rules.documents import PARK_TZ
from rules.identity import id_problem
from rules.plates import normalise, validate

from .repository import by_ids
from .service import BookingRequest, CargoRequest

CARGO_ROWS = 6
# Service field names → the form's inputs, so a service error lands on its input.
FIELD_OF = {"vehicle_id": "vehicle_plate", "trailer_id": "trailer_plate", "driver_id": "driver",
            "escort_id": "escort", "window_end": "end", "window_start": "start",
            "plant_id": "plant_id", "cargo": "cargo-0-un"}


@dataclass
class ParsedForm:
    request: BookingRequest  # parts the form could not read are None

    errors: dict[str, list[str]] = field(default_factory=dict)
    submit_anyway: bool = False


def form_field(service_field: str) -> str:
    if service_field.startswith("cargo.") and service_field.count(".") == 2:
        _, index, name = service_field.split(".")
        return f"cargo-{index}-{'un' if name == 'un_number' else 'qty'}"
    return FIELD_OF.get(service_field, service_field)


def find_person(session: Session, text: str, principal: Principal) -> list[Person]:
    """By national ID number, qualification certificate number, or exact name of a
    driver or escort; several people may share a name. Only people the principal may
    see (registry.scope): anyone else is not found."""
    return find_people(session, [text], principal).get((text or "").strip(), [])


def find_people(session: Session, texts: Iterable[str], principal: Principal
                ) -> dict[str, list[Person]]:
    """find_person for many texts (an import file's) in a few queries, whatever their
    number: {stripped text: people}."""
    wanted = {t.strip() for t in texts if t and t.strip()}
    found: dict[str, list[Person]] = {}
    national = {t for t in wanted if id_problem(t.upper()) is None}
    if national:
        key = pii.current_key()
        # One number may be written two ways (a check letter x or X): both find it.
        by_hash: dict[str, list[str]] = {}
        for text in national:
            by_hash.setdefault(pii.lookup_hash(key, text.upper()), []).append(text)
        for chunk in _chunks(sorted(by_hash)):
            for person in session.scalars(select(Person).where(
                    Person.id_hash.in_(chunk), Person.retired_at.is_(None))):
                for text in by_hash[person.id_hash]:
                    found.setdefault(text, []).append(person)
    # A certificate number names its holder; a text that is none is a name.
    rest = wanted - national
    by_cert: dict[str, int] = {}
    for chunk in _chunks(sorted({t.upper() for t in rest})):
        for cert_no, person_id in session.execute(
                select(Qualification.cert_no, Qualification.person_id)
                .where(Qualification.cert_no.in_(chunk), Qualification.retired_at.is_(None))
                .order_by(Qualification.id)):
            by_cert.setdefault(cert_no, person_id)
    holders = by_ids(session, Person, by_cert.values())
    names = set()
    for text in rest:
        holder = by_cert.get(text.upper())
        if holder is None:
            names.add(text[:100])
        elif holder in holders:
            found[text] = [holders[holder]]
    named: dict[str, list[Person]] = {}
    for chunk in _chunks(sorted(names)):
        for person in session.scalars(select(Person).where(
                Person.name.in_(chunk), Person.retired_at.is_(None), person_visible(principal))
                .order_by(Person.id)):
            if len(named.setdefault(person.name, [])) < 5:
                named[person.name].append(person)
    for text in rest:
        if text.upper() not in by_cert and text[:100] in named:
            found[text] = named[text[:100]]
    visible = visible_ids(session, Person, (p.id for people in found.values() for p in people),
                          principal)
    return {t: [p for p in people if p.id in visible] for t, people in found.items()}


def _chunks(values: list[Any], size: int = 5000) -> Iterator[list[Any]]:
    for i in range(0, len(values), size):
        yield values[i:i + size]


def qualifications_of(session: Session, person: Person) -> list[Qualification]:
    return list(session.scalars(select(Qualification).where(
        Qualification.person_id == person.id, Qualification.retired_at.is_(None))
        .order_by(Qualification.expires_on.desc())))


def find_vehicle(session: Session, plate: str, colour: str | None, principal: Principal
                 ) -> list[Vehicle]:
    """Vehicles with this plate (and colour) that the principal may see."""
    return find_vehicles(session, [(plate, colour)], principal).get(
        (normalise(plate or ""), colour or None), [])


def find_vehicles(session: Session, keys: Iterable[tuple[str, str | None]], principal: Principal
                  ) -> dict[tuple[str, str | None], list[Vehicle]]:
    """find_vehicle for many (plate, colour) pairs in a few queries: {(normalised
    plate, colour or None): vehicles}, at most three each."""
    wanted = {(normalise(plate or ""), colour or None) for plate, colour in keys}
    by_plate: dict[str, list[Vehicle]] = {}
    for chunk in _chunks(sorted({plate for plate, _ in wanted})):
        for vehicle in session.scalars(select(Vehicle).where(
                Vehicle.plate.in_(chunk), Vehicle.retired_at.is_(None),
                vehicle_visible(principal)).order_by(Vehicle.id)):
            by_plate.setdefault(vehicle.plate, []).append(vehicle)
    return {(plate, colour): [v for v in by_plate.get(plate, ())
                              if colour is None or v.plate_colour == colour][:3]
            for plate, colour in wanted}


def _local(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value).replace(tzinfo=PARK_TZ) if value else None
    except ValueError:
        return None


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value.strip()) if value and value.strip() else None
    except ValueError:
        return None


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


def parse(session: Session, form: Any, principal: Principal) -> ParsedForm:
    errors: dict[str, list[str]] = {}

    def bad(name: str, msgid: str) -> None:
        errors.setdefault(name, []).append(msgid)

    def vehicle_id(prefix: str, required: bool) -> int | None:
        plate = (form.get(f"{prefix}_plate") or "").strip()
        if not plate:
            if required:
                bad(f"{prefix}_plate", N_("Enter the plate."))
            return None
        if not validate(plate, fix_confusions=False).valid:
            bad(f"{prefix}_plate", N_("Not a valid plate."))
            return None
        found = find_vehicle(session, plate, form.get(f"{prefix}_colour") or None, principal)
        if len(found) != 1:
            bad(f"{prefix}_plate", N_("No vehicle with this plate is on record.") if not found
                else N_("Several vehicles have this plate; choose its colour."))
            return None
        return found[0].id

    def person_id(name: str) -> int | None:
        text = (form.get(name) or "").strip()
        if not text:
            return None
        found = find_person(session, text, principal)
        if len(found) != 1:
            bad(name, N_("Nobody on record matches; use the ID or certificate number.")
                if not found else N_("Several people have this name; use the ID or "
                                     "certificate number."))
            return None
        return found[0].id

    vid = vehicle_id("vehicle", True)
    tid = vehicle_id("trailer", False)
    driver, escort = person_id("driver"), person_id("escort")
    start, end = _local(form.get("start", "")), _local(form.get("end", ""))
    if start is None:
        bad("start", N_("Enter the window's start."))
    if end is None:
        bad("end", N_("Enter the window's end."))
    plant_id = _int(form.get("plant_id"))
    if plant_id is None:
        bad("plant_id", N_("Choose the plant."))
    cargo = []
    for i in range(CARGO_ROWS):
        un = (form.get(f"cargo-{i}-un") or "").strip()
        qty = (form.get(f"cargo-{i}-qty") or "").strip()
        if not un and not qty:
            continue
        try:
            quantity = float(qty)
        except ValueError:
            bad(f"cargo-{i}-qty", N_("Enter the quantity as a number."))
            continue
        cargo.append(CargoRequest(un, quantity, form.get(f"cargo-{i}-unit") or "kg",
                                  special_provision=form.get(f"cargo-{i}-provision") or None))
    pass_from, pass_until = _day(form.get("toxic_pass_valid_from")), _day(
        form.get("toxic_pass_valid_until"))
    for name, given, parsed in (("toxic_pass_valid_from", form.get("toxic_pass_valid_from"),
                                 pass_from),
                                ("toxic_pass_valid_until", form.get("toxic_pass_valid_until"),
                                 pass_until)):
        if given and parsed is None:
            bad(name, N_("Enter a date as YYYY-MM-DD."))
    # Built even when some parts could not be read (None): the service then reports
    # what is wrong with the rest, so the form shows every problem at once (B01).
    request = BookingRequest(
        plant_id=plant_id, vehicle_id=vid, window_start=start, window_end=end,
        direction=form.get("direction") or "deliver", category=form.get("category") or None,
        trailer_id=tid, driver_id=driver, escort_id=escort,
        waybill_no=form.get("waybill_no"), waybill_consignor=form.get("waybill_consignor"),
        waybill_consignee=form.get("waybill_consignee"),
        waybill_vehicle=form.get("waybill_vehicle"), waybill_trailer=form.get("waybill_trailer"),
        manifest_no=form.get("manifest_no"), toxic_pass_no=form.get("toxic_pass_no"),
        toxic_pass_valid_from=pass_from, toxic_pass_valid_until=pass_until,
        toxic_pass_vehicle=form.get("toxic_pass_vehicle"), cargo=cargo,
        enterprise_id=_int(form.get("enterprise_id")))
    return ParsedForm(request, errors, submit_anyway=form.get("submit_anyway") == "on")


def values_of(session: Session, request: BookingRequest) -> dict[str, Any]:
    """Form values that show an existing booking (the edit form starts from them)."""
    def plate(vid: int | None) -> tuple[str, str]:
        v = session.get(Vehicle, vid) if vid else None
        return (v.plate, v.plate_colour) if v else ("", "")

    def cert(pid: int | None) -> str:
        person = session.get(Person, pid) if pid else None
        if person is None:
            return ""
        quals = qualifications_of(session, person)
        return quals[0].cert_no if quals else person.name

    values: dict[str, Any] = {
        "plant_id": request.plant_id, "direction": request.direction,
        "category": request.category or "",
        "start": _field(request.window_start), "end": _field(request.window_end),
        "driver": cert(request.driver_id), "escort": cert(request.escort_id),
        "waybill_no": request.waybill_no or "", "waybill_consignor": request.waybill_consignor
        or "", "waybill_consignee": request.waybill_consignee or "",
        "manifest_no": request.manifest_no or "", "toxic_pass_no": request.toxic_pass_no or "",
        "waybill_vehicle": request.waybill_vehicle or "",
        "waybill_trailer": request.waybill_trailer or "",
        "toxic_pass_valid_from": str(request.toxic_pass_valid_from or ""),
        "toxic_pass_valid_until": str(request.toxic_pass_valid_until or ""),
        "toxic_pass_vehicle": request.toxic_pass_vehicle or ""}
    values["vehicle_plate"], values["vehicle_colour"] = plate(request.vehicle_id)
    values["trailer_plate"], values["trailer_colour"] = plate(request.trailer_id)
    for i, line in enumerate(request.cargo[:CARGO_ROWS]):
        values[f"cargo-{i}-un"] = line.un_number
        values[f"cargo-{i}-qty"] = f"{line.quantity:g}"
        values[f"cargo-{i}-unit"] = line.unit
        values[f"cargo-{i}-provision"] = line.special_provision or ""
    return values


def _field(at: datetime | None) -> str:
    """A window's end as the form's datetime-local field shows it (park time)."""
    return at.astimezone(PARK_TZ).strftime("%Y-%m-%dT%H:%M") if at else ""
