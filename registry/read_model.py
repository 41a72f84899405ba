"""The read model gate, booking and lot share: the park's policy (read one way,
here, and cached per session), the views of vehicles, persons and their papers,
cargo and trips (rules.views) built from the records, bans in force and waybills
already spent. Other packages read the park through this module, not through each
other's internals."""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import (
    and_,
    bindparam,
    or_,
    select,
)
from sqlalchemy.orm import Session

from models import (
    BlacklistEntry,
    Enterprise,
    Park,
    Person,
    Plant,
    Qualification,
    Release,
    Trip,
    Vehicle,
)
from models.base import table
from rules import documents
from rules.policy import ParkPolicy
from rules.views import (
    BlacklistView,
    CargoView,
    PersonView,
    QualificationView,
    ReleaseView,
    TripView,
    VehicleView,
)
from trips.state_machine import TripState

_TRIPS, _PERSONS, _QUALS = table(Trip), table(Person), table(Qualification)
_BLACKLIST, _RELEASES = table(BlacklistEntry), table(Release)

# G14: the trips a waybill may not serve twice; a cancelled, rejected or no-show trip
# gave its waybill back.
WAYBILL_SPENT_BY = tuple(sorted(set(TripState) - {TripState.CANCELLED, TripState.REJECTED,
                                                  TripState.NO_SHOW}))


def park_policy(session: Session, park_id: int) -> ParkPolicy:
    """The park's policy, read once per session (a request, a job run, an import)."""
    cache = session.info.setdefault("park_policy", {})
    if park_id not in cache:
        park = session.get(Park, park_id)
        cache[park_id] = ParkPolicy.from_mapping(park.policy if park else None)
    return cache[park_id]


def installation_policy(session: Session) -> ParkPolicy:
    """The policy of the park this installation runs (one park each), where nothing
    names a park: the records' pages, jobs and self-service."""
    park_id = session.scalar(select(Park.id).order_by(Park.id).limit(1))
    return park_policy(session, park_id) if park_id is not None else ParkPolicy.from_mapping(None)


def trip_view(session: Session, trip: Trip, names: dict[str, dict[int, str]] | None = None
              ) -> TripView:
    """`names` as park_names() gives them (a cached copy); read from the database if None."""
    trailer = session.get(Vehicle, trip.trailer_id) if trip.trailer_id else None
    return view_of_trip(trip, [cargo_view(c) for c in trip.cargo],
                        trailer.plate if trailer else None, release_view(session, trip),
                        *trip_names(session, trip, names),
                        waybill_used_by(session, trip.waybill_no, trip.id))


def park_names(session: Session) -> dict[str, dict[int, str]]:
    """Every enterprise's and plant's name by id: a few hundred rows that change once in
    years, which the gate and the lot keep a copy of."""
    return {"enterprise": dict(session.execute(select(Enterprise.id, Enterprise.name)).all()),
            "plant": dict(session.execute(select(Plant.id, Plant.name)).all())}


def _in_force(entries: Any) -> tuple[Any, ...]:
    return (entries.c.lifted_at.is_(None),
            or_(entries.c.until_on.is_(None), entries.c.until_on >= bindparam("today")))


_BAN_IN_FORCE = _in_force(_BLACKLIST)


def ban_id(subject: Any, subject_id: Any) -> Any:
    """The ban in force on a vehicle or person, as a column of the statement that reads
    them (`subject`: BlacklistEntry.vehicle_id or .person_id, or that column of an
    alias of the table). Almost nobody is banned, so its details are read only when
    there is one (ban_views)."""
    entries = subject.table
    return select(entries.c.id).where(subject == subject_id, *_in_force(entries)).order_by(
        entries.c.id.desc()).limit(1).scalar_subquery()


def ban_views(session: Session, ban_ids: dict[tuple[str, int], int | None]
              ) -> dict[tuple[str, int], BlacklistView]:
    """bans() for subjects read with their ban_id column."""
    wanted = {i: key for key, i in ban_ids.items() if i is not None}
    if not wanted:
        return {}
    return {wanted[e.id]: BlacklistView(e.reason, e.until_on) for e in session.scalars(
        select(BlacklistEntry).where(BlacklistEntry.id.in_(list(wanted))))}


PERSON_FIELDS = ("id", "name", "id_masked", "kinds", "enterprise_id")


QUAL_FIELDS = ("kind", "cert_no", "classes", "expires_on")


def prefixed(row: Any, prefix: str, names: tuple[str, ...]) -> SimpleNamespace:
    """The columns of one joined table, labelled `prefix`+name, as an object."""
    return SimpleNamespace(**{name: getattr(row, prefix + name) for name in names})


_PEOPLE_WITH_PAPERS = (
    select(*(_PERSONS.c[n] for n in PERSON_FIELDS),
           *(_QUALS.c[n].label(f"q_{n}") for n in QUAL_FIELDS),
           ban_id(_BLACKLIST.c.person_id, _PERSONS.c.id).label("ban"))
    .select_from(_PERSONS.outerjoin(_QUALS, and_(
        _QUALS.c.person_id == _PERSONS.c.id, _QUALS.c.retired_at.is_(None))))
    .where(_PERSONS.c.id.in_(bindparam("ids", expanding=True)))
    .order_by(_PERSONS.c.id, _QUALS.c.id))


def people_with_papers(session: Session, person_ids: list[int], now: datetime
                       ) -> tuple[dict[int, Any], dict[int, list[Any]],
                                  dict[tuple[str, int], int | None]]:
    """Persons (their rows), their current qualifications (objects with the
    qualification fields, for view_of_person) and the ids of bans on them (for
    ban_views), in one query."""
    persons: dict[int, Any] = {}
    quals: dict[int, list[Any]] = {}
    banned: dict[tuple[str, int], int | None] = {}
    if not person_ids:
        return persons, quals, banned
    for row in session.execute(_PEOPLE_WITH_PAPERS, {
            "ids": person_ids, "today": documents.park_date(now)}):
        persons[row.id] = row
        banned[("p", row.id)] = row.ban
        if row.q_kind is not None:
            quals.setdefault(row.id, []).append(prefixed(row, "q_", QUAL_FIELDS))
    return persons, quals, banned


_BANS = select(BlacklistEntry).where(
    or_(BlacklistEntry.vehicle_id.in_(bindparam("vehicle_ids", expanding=True)),
        BlacklistEntry.person_id.in_(bindparam("person_ids", expanding=True))),
    *_BAN_IN_FORCE).order_by(BlacklistEntry.id)


def bans(session: Session, vehicle_ids: list[int], person_ids: list[int], now: datetime
          ) -> dict[tuple[str, int], BlacklistView]:
    out: dict[tuple[str, int], BlacklistView] = {}
    if not (vehicle_ids or person_ids):
        return out
    for entry in session.scalars(_BANS, {"vehicle_ids": vehicle_ids, "person_ids": person_ids,
                                         "today": documents.park_date(now)}):
        key = ("v", entry.vehicle_id) if entry.vehicle_id else ("p", entry.person_id)
        out[key] = BlacklistView(entry.reason, entry.until_on)  # type: ignore[index]
    return out


def view_of_vehicle(v: Any, ban: BlacklistView | None, inside: bool | None,
                    passes: tuple[int, ...]) -> VehicleView:
    """`v`: a Vehicle, or a row or object with its VEHICLE_FIELDS."""
    return VehicleView(
        id=v.id, plate=v.plate, colour=v.plate_colour, kind=v.kind, category=v.category,
        rated_load_kg=v.rated_load_kg, is_tank=v.is_tank, tank_media=tuple(v.tank_media or ()),
        road_permit_no=v.road_permit_no, permit_scope=tuple(v.permit_scope or ()),
        permit_expires_on=v.permit_expires_on, review_expires_on=v.review_expires_on,
        inspection_expires_on=v.inspection_expires_on,
        tank_inspection_expires_on=v.tank_inspection_expires_on,
        insurance_expires_on=v.insurance_expires_on, gps_last_fix_at=v.gps_last_fix_at,
        blacklist=ban, inside=inside, pass_enterprises=passes)


def view_of_person(person: Any, quals: list[Any], ban: BlacklistView | None,
                   inside: bool | None) -> PersonView:
    """`person`: a Person or a row with its person fields; `quals`: Qualifications or
    objects with their fields."""
    return PersonView(
        id=person.id, name=person.name, id_masked=person.id_masked,
        kinds=tuple(person.kinds or ()),
        qualifications=tuple(qualification_view(q) for q in quals),
        blacklist=ban, inside=inside, enterprise_id=person.enterprise_id)


def qualification_view(q: Any) -> QualificationView:
    """`q`: a Qualification, or an object with its qualification fields."""
    return QualificationView(q.kind, q.cert_no, tuple(q.classes or ()), q.expires_on)


def cargo_view(c: Any) -> CargoView:
    """`c`: a CargoLine, or an object with its cargo fields."""
    return CargoView(c.un_number, c.name_zh, c.hazard_class, tuple(c.subsidiary_risks or ()),
                     c.highly_toxic, c.quantity_kg, c.packages, c.special_provision)


_RELEASE_OF = select(_RELEASES.c.plant_id, _RELEASES.c.deadline, _RELEASES.c.status).where(
    _RELEASES.c.trip_id == bindparam("trip_id"),
    _RELEASES.c.status.in_(("active", "overdue"))).order_by(_RELEASES.c.id.desc()).limit(1)


def release_view(session: Session, trip: Any) -> ReleaseView | None:
    """The release a released (or overdue) trip holds; None for any other state."""
    if trip.state not in ("RELEASED", "OVERDUE"):
        return None
    row = session.execute(_RELEASE_OF, {"trip_id": trip.id}).first()
    return ReleaseView(row.plant_id, row.deadline, row.status) if row else None


def trip_names(session: Session, trip: Any, names: dict[str, dict[int, str]] | None
               ) -> tuple[str, str]:
    """The names of the trip's enterprise and plant, from `names` (a cached copy) unless
    it has none or the trip's are newer than the copy."""
    if names is None or trip.enterprise_id not in names["enterprise"] \
            or trip.plant_id not in names["plant"]:
        enterprise = session.get(Enterprise, trip.enterprise_id)
        plant = session.get(Plant, trip.plant_id)
        return enterprise.name if enterprise else "", plant.name if plant else ""
    return names["enterprise"].get(trip.enterprise_id, ""), names["plant"].get(trip.plant_id, "")


def view_of_trip(trip: Any, cargo: list[CargoView], trailer_plate: str | None,
                 release: ReleaseView | None, enterprise_name: str, plant_name: str,
                 waybill_used: str | None = None) -> TripView:
    """`trip`: a Trip, or a row with its trip fields; `waybill_used`: waybill_used_by()."""
    return TripView(
        id=trip.id, code=trip.code, state=trip.state, category=trip.category,
        direction=trip.direction, enterprise_id=trip.enterprise_id,
        enterprise_name=enterprise_name, plant_id=trip.plant_id, plant_name=plant_name,
        window_start=trip.window_start, window_end=trip.window_end, vehicle_id=trip.vehicle_id,
        trailer_id=trip.trailer_id, trailer_plate=trailer_plate,
        driver_id=trip.driver_id, escort_id=trip.escort_id, cargo=tuple(cargo),
        waybill_no=trip.waybill_no, waybill_consignor=trip.waybill_consignor,
        waybill_consignee=trip.waybill_consignee, waybill_vehicle=trip.waybill_vehicle,
        waybill_trailer=trip.waybill_trailer, waybill_used_by=waybill_used,
        manifest_no=trip.manifest_no, toxic_pass_no=trip.toxic_pass_no,
        toxic_pass_valid_from=trip.toxic_pass_valid_from,
        toxic_pass_valid_until=trip.toxic_pass_valid_until,
        toxic_pass_vehicle=trip.toxic_pass_vehicle,
        crew_confirmed=trip.crew_confirmed_at is not None, release=release)


_WAYBILL_USED = select(_TRIPS.c.code, _TRIPS.c.enterprise_id).where(
    _TRIPS.c.waybill_no == bindparam("waybill"), _TRIPS.c.id != bindparam("trip_id"),
    _TRIPS.c.state.in_(WAYBILL_SPENT_BY)).order_by(_TRIPS.c.id).limit(1)


def waybill_used_by(session: Session, waybill_no: str | None, trip_id: int,
                    shown_to_enterprise: int | None = None) -> str | None:
    """The code of another trip that holds this waybill (G14), or None. With
    `shown_to_enterprise`, another enterprise's trip is named "—", not by its code."""
    return waybill_label(waybill_holder(session, waybill_no, trip_id), shown_to_enterprise)


def waybill_holder(session: Session, waybill_no: str | None, trip_id: int) -> Any:
    """(code, enterprise_id) of the first other trip that holds this waybill, or None."""
    if not waybill_no:
        return None
    return session.execute(_WAYBILL_USED, {"waybill": waybill_no, "trip_id": trip_id}).first()


def waybill_label(holder: Any, shown_to_enterprise: int | None) -> str | None:
    """A waybill holder as a booker may see it: another enterprise's trip is "—"."""
    if holder is None:
        return None
    if shown_to_enterprise is not None and holder.enterprise_id != shown_to_enterprise:
        return "—"
    return holder.code
