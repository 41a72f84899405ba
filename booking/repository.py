"""Loading what the booking checks need, in a handful of indexed queries."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from models import (
    Enterprise,
    EnterpriseMaterialScope,
    Material,
    Person,
    Plant,
    Qualification,
    Trip,
    Vehicle,
)
from registry.read_model import (
    bans,
    park_policy,
    view_of_person,
    view_of_vehicle,
    waybill_holder,
    waybill_label,
)
from rules.views import CargoView, PersonView, TripView
from trips.state_machine import OPEN_STATES

from .rules import BookingFacts, Overlap, ScopeLine


def by_ids(session: Session, model: Any, ids: Iterable[int | None]) -> dict[int, Any]:
    """Records by primary key: those the session already holds without a query, the
    rest in one."""
    wanted = {i for i in ids if i is not None}
    out = {i: obj for i in wanted
           if (obj := session.identity_map.get(identity_key(model, i))) is not None}
    missing = wanted - out.keys()
    if missing:
        out.update({obj.id: obj for obj in session.scalars(select(model).where(
            model.id.in_(sorted(missing))))})
    return out


def pinned(session: Session, model: Any, pk: int) -> Any:
    """A record that stays in the session for its whole life (plants and enterprises
    an import names on row after row): loaded once, then held."""
    pins = session.info.setdefault("pinned", {})
    key = (model, pk)
    if key not in pins:
        pins[key] = session.get(model, pk)
    return pins[key]


def materials_by_un(session: Session, un_numbers: Iterable[str]) -> dict[str, Material]:
    """Materials by UN number (the first listed where a UN number has several entries),
    each read once per session."""
    cache: dict[str, Material | None] = session.info.setdefault("materials", {})
    missing = sorted(set(un_numbers) - cache.keys())
    if missing:
        found: dict[str, Material] = {}
        for m in session.scalars(select(Material).where(Material.un_number.in_(missing),
                                                        Material.retired_at.is_(None))
                                 .order_by(Material.id)):
            found.setdefault(m.un_number, m)
        cache.update({un: found.get(un) for un in missing})
    return {un: hit for un in set(un_numbers) if (hit := cache.get(un)) is not None}


OVERLAP_COLUMNS = (Trip.id, Trip.code, Trip.vehicle_id, Trip.trailer_id, Trip.driver_id,
                   Trip.escort_id, Trip.enterprise_id, Trip.window_start, Trip.window_end)


def holding(vehicle_ids: Iterable[int], person_ids: Iterable[int]) -> Any:
    """Trips that hold any of these vehicles (as power unit or trailer) or people."""
    vehicle_ids, person_ids = list(vehicle_ids), list(person_ids)
    clauses = []
    if vehicle_ids:
        clauses += [Trip.vehicle_id.in_(vehicle_ids), Trip.trailer_id.in_(vehicle_ids)]
    if person_ids:
        clauses += [Trip.driver_id.in_(person_ids), Trip.escort_id.in_(person_ids)]
    return or_(*clauses)


def overlap_rows(session: Session, *, start: datetime, end: datetime, vehicle_ids: list[int],
                 person_ids: list[int], exclude_trip_id: int | None) -> list[Any]:
    """B03's candidates: open trips whose window overlaps and that hold any of these
    vehicles or people (at most 20)."""
    if not (vehicle_ids or person_ids):
        return []
    stmt = select(*OVERLAP_COLUMNS).where(
        Trip.state.in_(OPEN_STATES), Trip.window_start < end, Trip.window_end > start,
        holding(vehicle_ids, person_ids))
    if exclude_trip_id is not None:
        stmt = stmt.where(Trip.id != exclude_trip_id)
    return list(session.execute(stmt.limit(20)))


def overlaps(rows: Iterable[Any], *, names: dict[str, str], vehicle_ids: list[int],
             person_ids: list[int], own_enterprise_id: int | None = None) -> list[Overlap]:
    """B03 as reported: for each overlapping trip, which of these vehicles or people it
    holds. `names` maps "v<id>"/"p<id>" to the plate or name to report. With
    `own_enterprise_id`, another enterprise's trip is reported without its code."""
    out = set()
    for row in rows:
        code = row.code
        if own_enterprise_id is not None and row.enterprise_id != own_enterprise_id:
            code = None
        out |= {Overlap(names.get(f"v{v}", str(v)), code)
                for v in (row.vehicle_id, row.trailer_id) if v in vehicle_ids}
        out |= {Overlap(names.get(f"p{p}", str(p)), code)
                for p in (row.driver_id, row.escort_id) if p in person_ids}
    return sorted(out, key=lambda o: (o.code or "", o.who))


class LiveFacts:
    """What load_facts reads besides the records, read from the database for one
    booking (the page, the API). booking.file_facts reads the same for a whole file."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def bans(self, vehicle_ids: list[int], person_ids: list[int], at: datetime
             ) -> dict[tuple[str, int], Any]:
        return bans(self.session, vehicle_ids, person_ids, at)

    def qualifications(self, person_ids: list[int]) -> dict[int, list[Qualification]]:
        quals: dict[int, list[Qualification]] = {}
        if person_ids:
            for q in self.session.scalars(select(Qualification).where(
                    Qualification.person_id.in_(person_ids), Qualification.retired_at.is_(None))
                    .order_by(Qualification.id)):
                quals.setdefault(q.person_id, []).append(q)
        return quals

    def waybill_holder(self, waybill_no: str | None, trip_id: int) -> Any:
        return waybill_holder(self.session, waybill_no, trip_id)

    def overlap_rows(self, **kwargs: Any) -> list[Any]:
        return overlap_rows(self.session, **kwargs)


def scope_lines(session: Session, enterprise_id: int) -> tuple[ScopeLine, ...]:
    """The enterprise's material scope, read once per session."""
    cache = session.info.setdefault("scope_lines", {})
    if enterprise_id not in cache:
        cache[enterprise_id] = tuple(
            ScopeLine(s.direction, s.un_number, s.hazard_class, s.max_qty_kg)
            for s in session.scalars(select(EnterpriseMaterialScope).where(
                EnterpriseMaterialScope.enterprise_id == enterprise_id)))
    return cache[enterprise_id]


def load_facts(session: Session, draft: TripView, *, exclude_trip_id: int | None = None,
               scoped: bool = False, source: Any = None) -> BookingFacts:
    """Views of everything the draft names, judged at the window start (a ban that
    ends before the trip does not count; one that runs into it does): the records
    come from the session (prepare() loaded them), then from `source` the bans,
    qualifications, the waybill's holder and overlapping trips (LiveFacts: one query
    each; an import's FileFacts: read once per file), and the park's policy and the
    enterprise's scope (read once per session).
    `scoped`: the booker sees only its own enterprise (other trips' codes are hidden)."""
    source = source or LiveFacts(session)
    at = draft.window_start
    vehicle = session.get(Vehicle, draft.vehicle_id)
    assert vehicle is not None  # the service validated every id
    trailer = session.get(Vehicle, draft.trailer_id) if draft.trailer_id else None
    person_ids = [i for i in (draft.driver_id, draft.escort_id) if i]
    persons = {i: p for i in person_ids if (p := session.get(Person, i)) is not None}
    plant = pinned(session, Plant, draft.plant_id)
    enterprise = pinned(session, Enterprise, draft.enterprise_id)
    assert plant is not None and enterprise is not None
    vehicle_ids = [v.id for v in (vehicle, trailer) if v is not None]
    banned = source.bans(vehicle_ids, person_ids, at)
    quals = source.qualifications(person_ids)

    def person(pid: int | None) -> PersonView | None:
        p = persons.get(pid) if pid else None
        return view_of_person(p, quals.get(p.id, []), banned.get(("p", p.id)), None) \
            if p else None

    names = {f"v{v.id}": v.plate for v in (vehicle, trailer) if v is not None}
    names.update({f"p{p.id}": p.name for p in persons.values()})
    # G14: the waybill serves no other trip (another enterprise's is not named).
    holder = source.waybill_holder(draft.waybill_no, exclude_trip_id or 0)
    draft = replace(draft, waybill_used_by=waybill_label(
        holder, draft.enterprise_id if scoped else None))
    candidates = source.overlap_rows(start=draft.window_start, end=draft.window_end,
                                     vehicle_ids=vehicle_ids, person_ids=person_ids,
                                     exclude_trip_id=exclude_trip_id)
    return BookingFacts(
        trip=draft,
        vehicle=view_of_vehicle(vehicle, banned.get(("v", vehicle.id)), None, ()),
        trailer=view_of_vehicle(trailer, banned.get(("v", trailer.id)), None, ())
        if trailer else None,
        driver=person(draft.driver_id), escort=person(draft.escort_id),
        policy=park_policy(session, enterprise.park_id),
        plant_enterprise_id=plant.enterprise_id,
        receiving_hours=dict(plant.receiving_hours or {}),
        scope=scope_lines(session, draft.enterprise_id),
        overlaps=tuple(overlaps(candidates, names=names, vehicle_ids=vehicle_ids,
                                person_ids=person_ids,
                                own_enterprise_id=draft.enterprise_id if scoped else None)),
    )


def cargo_views(lines: list[tuple[Material, float, int | None, str | None]]
                ) -> tuple[CargoView, ...]:
    """(material, kg, packages, special provision) as the rules see cargo."""
    return tuple(CargoView(m.un_number, m.name_zh, m.hazard_class, tuple(m.subsidiary_risks or ()),
                           m.highly_toxic, kg, packages, provision)
                 for m, kg, packages, provision in lines)


