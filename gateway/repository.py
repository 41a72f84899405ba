"""Reading what the gate needs from the database into a Snapshot (and back out:
presence and passages), in as few indexed look-ups as a decision allows."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import String, and_, bindparam, cast, func, insert, literal, or_, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session, aliased, joinedload, make_transient_to_detached

from models import (
    BlacklistEntry,
    Enterprise,
    FixedRegistration,
    Gate,
    Lane,
    Lot,
    Park,
    Passage,
    PassageRead,
    PassageReason,
    Person,
    Plant,
    Presence,
    Qualification,
    Release,
    Trip,
    Vehicle,
)
from parkgate.errors import N_, NotFound
from rules import documents
from rules.plates import normalise
from rules.policy import ParkPolicy
from trips.state_machine import OPEN_STATES

from .snapshot import (
    BlacklistView,
    CargoView,
    LaneView,
    PersonView,
    QualificationView,
    ReleaseView,
    Snapshot,
    TripView,
    VehicleView,
)


def area_of(gate: Gate) -> str:
    if gate.kind == "plant" and gate.plant_id is not None:
        return f"plant:{gate.plant_id}"
    if gate.kind == "lot" and gate.lot_id is not None:
        return f"lot:{gate.lot_id}"
    return "park"


def lane_by_code(session: Session, code: str) -> Lane:
    lane = session.scalar(select(Lane).where(Lane.code == code.strip().upper(),
                                             Lane.retired_at.is_(None)))
    if lane is None:
        raise NotFound(N_("No such lane."), code="LANE_UNKNOWN")
    return lane


def lane_view(session: Session, lane: Lane) -> LaneView:
    gate = lane.gate
    plant = session.get(Plant, gate.plant_id) if gate.plant_id else None
    lot = session.get(Lot, gate.lot_id) if gate.lot_id else None
    return LaneView(
        id=lane.id, code=lane.code, direction=lane.direction, gate_kind=gate.kind,
        admits=tuple(gate.admits or ()), area=area_of(gate),
        plant_id=gate.plant_id, plant_name=plant.name if plant else None,
        plant_enterprise_id=plant.enterprise_id if plant else None,
        lot_id=gate.lot_id, lot_excluded_classes=tuple(lot.excluded_classes or ()) if lot else (),
        confidence_threshold=lane.confidence_threshold, antipassback=lane.antipassback)


_LOCK_LANE = select(Lane.id, select(PassageRead.passage_id).where(
    PassageRead.read_id == bindparam("read_id")).scalar_subquery()).where(
    Lane.id == bindparam("id")).with_for_update(of=Lane.__table__)


def lock_lane(session: Session, lane_id: int, read_id: str) -> int | None:
    """One read at a time per lane, whichever worker or process took it: folding a
    repeated read and anti-passback both look at the lane's last passage. Returns the
    passage `read_id` already landed in, asked under the lock so a retry cannot slip
    in while the first is decided (and in the same round trip). SQLite has no row
    locks; it runs one write transaction at a time."""
    row = session.execute(_LOCK_LANE, {"id": lane_id, "read_id": read_id}).one()
    return row[1]


def park_policy(session: Session, park_id: int) -> ParkPolicy:
    """The park's policy, read once per session (a request, a job run, an import)."""
    cache = session.info.setdefault("park_policy", {})
    if park_id not in cache:
        park = session.get(Park, park_id)
        cache[park_id] = ParkPolicy.from_mapping(park.policy if park else None)
    return cache[park_id]


def is_inside(session: Session, subject_key: str, area: str) -> bool:
    return session.scalar(select(Presence.id).where(Presence.area == area,
                                                    Presence.subject_key == subject_key)) is not None


def vehicle_view(session: Session, v: Vehicle, lane: LaneView | None, now: datetime
                 ) -> VehicleView:
    """One vehicle's view on its own (permit snapshots; the gate batches these)."""
    today = documents.park_date(now)
    passes = tuple(session.scalars(select(FixedRegistration.enterprise_id).where(
        FixedRegistration.vehicle_id == v.id, FixedRegistration.retired_at.is_(None),
        FixedRegistration.valid_from <= today, FixedRegistration.valid_until >= today)))
    return view_of_vehicle(v, bans(session, [v.id], [], now).get(("v", v.id)),
                         is_inside(session, f"v:{v.id}", lane.area) if lane else None, passes)


def person_view(session: Session, person: Person, lane: LaneView | None, now: datetime
                ) -> PersonView:
    quals = list(session.scalars(select(Qualification).where(
        Qualification.person_id == person.id, Qualification.retired_at.is_(None))))
    return view_of_person(person, quals, bans(session, [], [person.id], now).get(("p", person.id)),
                        is_inside(session, f"p:{person.id}", lane.area) if lane else None)


def trip_view(session: Session, trip: Trip, names: dict[str, dict[int, str]] | None = None
              ) -> TripView:
    """`names` as park_names() gives them (a cached copy); read from the database if None."""
    trailer = session.get(Vehicle, trip.trailer_id) if trip.trailer_id else None
    return _trip_view(session, trip, {trailer.id: trailer} if trailer else {}, names)


def park_names(session: Session) -> dict[str, dict[int, str]]:
    """Every enterprise's and plant's name by id: a few hundred rows that change once in
    years, which the gate and the lot keep a copy of."""
    return {"enterprise": dict(session.execute(select(Enterprise.id, Enterprise.name)).all()),
            "plant": dict(session.execute(select(Plant.id, Plant.name)).all())}


def build_snapshot(session: Session, lane: Any, plate: str, colour: str | None,
                   now: datetime, names: dict[str, dict[int, str]] | None = None
                   ) -> tuple[Snapshot, Vehicle | None, Trip | None]:
    """Everything decide() needs for one read, in three indexed queries for a booked
    truck (vehicle with presence and ban; trips with trailer, its ban and cargo; crew
    with papers and bans; the details of a ban only when there is one): every read
    pays for each statement, so related rows come joined.

    `lane` is a runtime.LaneInfo (cached structure); `names` maps enterprise and
    plant ids to names (cached too).
    """
    view, policy = lane.view, lane.policy
    vehicle, matches, inside, vehicle_ban = _vehicle_inside(session, plate, colour, view.area,
                                                            now)
    if vehicle is None:
        return Snapshot(lane=view, policy=policy, plate_matches=matches), None, None
    trip, trailer, trailer_ban = _current_trip(session, vehicle.id, now)
    related_vehicles = {vehicle.id: vehicle}
    if trailer is not None:
        related_vehicles[trailer.id] = trailer
    persons, quals, ban_ids = people_with_papers(
        session, [p for p in (trip.driver_id, trip.escort_id) if p] if trip else [], now)
    ban_ids[("v", vehicle.id)] = vehicle_ban
    if trailer is not None:
        ban_ids[("v", trailer.id)] = trailer_ban
    banned = ban_views(session, ban_ids)
    passes: tuple[int, ...] = ()
    if trip is None:
        today = documents.park_date(now)
        passes = tuple(session.scalars(select(FixedRegistration.enterprise_id).where(
            FixedRegistration.vehicle_id == vehicle.id, FixedRegistration.retired_at.is_(None),
            FixedRegistration.valid_from <= today, FixedRegistration.valid_until >= today)))

    def pview(pid: int | None) -> PersonView | None:
        person = persons.get(pid) if pid else None
        if person is None:
            return None
        return view_of_person(person, quals.get(person.id, []), banned.get(("p", person.id)), None)

    snap = Snapshot(
        lane=view, policy=policy,
        vehicle=view_of_vehicle(vehicle, banned.get(("v", vehicle.id)), inside, passes),
        plate_matches=matches,
        trailer=view_of_vehicle(trailer, banned.get(("v", trailer.id)), None, ())
        if trailer is not None else None,
        trip=_trip_view(session, trip, related_vehicles, names) if trip else None,
        driver=pview(trip.driver_id) if trip else None,
        escort=pview(trip.escort_id) if trip else None)
    return snap, vehicle, trip


# The read path's statements are built once: building one costs about as much as
# the database takes to answer it (and an alias rebuilds all its columns).

_BAN_IN_FORCE = (BlacklistEntry.lifted_at.is_(None), or_(
    BlacklistEntry.until_on.is_(None), BlacklistEntry.until_on >= bindparam("today")))


def ban_id(subject: Any, subject_id: Any) -> Any:
    """The ban in force on a vehicle or person, as a column of the statement that reads
    them (`subject`: BlacklistEntry.vehicle_id or .person_id). Almost nobody is banned,
    so its details are read only when there is one (ban_views)."""
    return select(BlacklistEntry.id).where(subject == subject_id, *_BAN_IN_FORCE).order_by(
        BlacklistEntry.id.desc()).limit(1).scalar_subquery()


def ban_views(session: Session, ban_ids: dict[tuple[str, int], int | None]
              ) -> dict[tuple[str, int], BlacklistView]:
    """bans() for subjects read with their ban_id column."""
    wanted = {i: key for key, i in ban_ids.items() if i is not None}
    if not wanted:
        return {}
    return {wanted[e.id]: BlacklistView(e.reason, e.until_on) for e in session.scalars(
        select(BlacklistEntry).where(BlacklistEntry.id.in_(list(wanted))))}


_PEOPLE_WITH_PAPERS = (
    select(Person, Qualification, ban_id(BlacklistEntry.person_id, Person.id))
    .outerjoin(Qualification, and_(
        Qualification.person_id == Person.id, Qualification.retired_at.is_(None)))
    .where(Person.id.in_(bindparam("ids", expanding=True)))
    .order_by(Person.id, Qualification.id))


def people_with_papers(session: Session, person_ids: list[int], now: datetime
                       ) -> tuple[dict[int, Person], dict[int, list[Qualification]],
                                  dict[tuple[str, int], int | None]]:
    """Persons, their current qualifications and the ids of bans on them (for
    ban_views), in one query."""
    persons: dict[int, Person] = {}
    quals: dict[int, list[Qualification]] = {}
    banned: dict[tuple[str, int], int | None] = {}
    if not person_ids:
        return persons, quals, banned
    for person, qual, ban in session.execute(_PEOPLE_WITH_PAPERS, {
            "ids": person_ids, "today": documents.park_date(now)}):
        persons[person.id] = person
        banned[("p", person.id)] = ban
        if qual is not None:
            quals.setdefault(person.id, []).append(qual)
    return persons, quals, banned


_VEHICLE_INSIDE = (
    select(Vehicle, select(Presence.id).where(
        Presence.area == bindparam("area"),
        Presence.subject_key == literal("v:") + cast(Vehicle.id, String)).exists(),
        ban_id(BlacklistEntry.vehicle_id, Vehicle.id))
    .where(Vehicle.plate == bindparam("plate"), Vehicle.retired_at.is_(None)).limit(3))
_VEHICLE_OF_COLOUR_INSIDE = _VEHICLE_INSIDE.where(Vehicle.plate_colour == bindparam("colour"))


def _vehicle_inside(session: Session, plate: str, colour: str | None, area: str,
                    now: datetime) -> tuple[Vehicle | None, int, bool, int | None]:
    """find_vehicle, with whether that vehicle is inside `area` (anti-passback) and the
    id of a ban on it asked in the same statement."""
    params = {"plate": normalise(plate), "area": area, "today": documents.park_date(now)}
    if colour:
        found = session.execute(_VEHICLE_OF_COLOUR_INSIDE, {**params, "colour": colour}).all()
    else:
        found = session.execute(_VEHICLE_INSIDE, params).all()
    if len(found) == 1:
        return found[0][0], 1, bool(found[0][1]), found[0][2]
    return None, len(found), False, None


# A trip's trailer beside its truck in one statement (the gate and the lot's re-check).
TRAILER = aliased(Vehicle, name="trailer")
_TRIPS_OF_VEHICLE = (
    select(Trip, TRAILER, ban_id(BlacklistEntry.vehicle_id, TRAILER.id))
    .outerjoin(TRAILER, TRAILER.id == Trip.trailer_id)
    .options(joinedload(Trip.cargo))
    .where(Trip.vehicle_id == bindparam("vehicle_id"), Trip.state.in_(OPEN_STATES),
           Trip.window_start <= bindparam("until"), Trip.window_end >= bindparam("since")))


def _current_trip(session: Session, vehicle_id: int, now: datetime
                  ) -> tuple[Trip | None, Vehicle | None, int | None]:
    """The trip this vehicle is on (under way, else the booking nearest now), with
    its trailer and the id of a ban on the trailer."""
    rows = session.execute(_TRIPS_OF_VEHICLE, {
        "vehicle_id": vehicle_id, "until": now + timedelta(hours=36),
        "since": now - timedelta(hours=36), "today": documents.park_date(now)}).unique().all()
    if not rows:
        return None, None, None
    under_way = [r for r in rows if r[0].state not in ("BOOKED", "PENDING_APPROVAL")]
    if under_way:
        chosen = max(under_way, key=lambda r: r[0].state_changed_at)
    else:
        chosen = min(rows, key=lambda r: abs((r[0].window_start - now).total_seconds()))
    return chosen[0], chosen[1], chosen[2]


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


def view_of_vehicle(v: Vehicle, ban: BlacklistView | None, inside: bool | None,
                  passes: tuple[int, ...]) -> VehicleView:
    return VehicleView(
        id=v.id, plate=v.plate, colour=v.plate_colour, kind=v.kind, category=v.category,
        rated_load_kg=v.rated_load_kg, is_tank=v.is_tank, tank_media=tuple(v.tank_media or ()),
        road_permit_no=v.road_permit_no, permit_scope=tuple(v.permit_scope or ()),
        permit_expires_on=v.permit_expires_on, review_expires_on=v.review_expires_on,
        inspection_expires_on=v.inspection_expires_on,
        tank_inspection_expires_on=v.tank_inspection_expires_on,
        insurance_expires_on=v.insurance_expires_on, gps_last_fix_at=v.gps_last_fix_at,
        blacklist=ban, inside=inside, pass_enterprises=passes)


def view_of_person(person: Person, quals: list[Qualification], ban: BlacklistView | None,
                 inside: bool | None) -> PersonView:
    return PersonView(
        id=person.id, name=person.name, id_masked=person.id_masked,
        kinds=tuple(person.kinds or ()),
        qualifications=tuple(QualificationView(q.kind, q.cert_no, tuple(q.classes or ()),
                                               q.expires_on) for q in quals),
        blacklist=ban, inside=inside, enterprise_id=person.enterprise_id)


def _trip_view(session: Session, trip: Trip, vehicles: dict[int, Vehicle],
               names: dict[str, dict[int, str]] | None) -> TripView:
    release = None
    if trip.state in ("RELEASED", "OVERDUE"):
        release = session.scalar(select(Release).where(
            Release.trip_id == trip.id, Release.status.in_(("active", "overdue")))
            .order_by(Release.id.desc()).limit(1))
    if names is None or trip.enterprise_id not in names["enterprise"] \
            or trip.plant_id not in names["plant"]:  # none given, or newer than the copy
        enterprise = session.get(Enterprise, trip.enterprise_id)
        plant = session.get(Plant, trip.plant_id)
        enterprise_name = enterprise.name if enterprise else ""
        plant_name = plant.name if plant else ""
    else:
        enterprise_name = names["enterprise"].get(trip.enterprise_id, "")
        plant_name = names["plant"].get(trip.plant_id, "")
    trailer = vehicles.get(trip.trailer_id) if trip.trailer_id else None
    return TripView(
        id=trip.id, code=trip.code, state=trip.state, category=trip.category,
        direction=trip.direction, enterprise_id=trip.enterprise_id,
        enterprise_name=enterprise_name, plant_id=trip.plant_id, plant_name=plant_name,
        window_start=trip.window_start, window_end=trip.window_end, vehicle_id=trip.vehicle_id,
        trailer_id=trip.trailer_id, trailer_plate=trailer.plate if trailer else None,
        driver_id=trip.driver_id, escort_id=trip.escort_id,
        cargo=tuple(CargoView(c.un_number, c.name_zh, c.hazard_class,
                              tuple(c.subsidiary_risks or ()), c.highly_toxic, c.quantity_kg,
                              c.packages, c.special_provision) for c in trip.cargo),
        waybill_no=trip.waybill_no, waybill_consignor=trip.waybill_consignor,
        waybill_consignee=trip.waybill_consignee, manifest_no=trip.manifest_no,
        toxic_pass_no=trip.toxic_pass_no, crew_confirmed=trip.crew_confirmed_at is not None,
        release=ReleaseView(release.plant_id, release.deadline, release.status) if release else None)


# --- writing a passage -------------------------------------------------------------------------

_PASSAGE_COLUMNS = [c.key for c in Passage.__table__.columns if c.key != "id"]
_PASSAGE_DEFAULTS = {c.key: c.default for c in Passage.__table__.columns if c.default is not None}
_NEW_PASSAGE = insert(Passage).values(
    {c.key: bindparam(c.key, type_=c.type) for c in Passage.__table__.columns if c.key != "id"}
).returning(Passage.id).cte("new_passage")
_FIRST_READ = insert(PassageRead).from_select(
    ["read_id", "passage_id", "received_at"],
    select(bindparam("first_read", type_=String), _NEW_PASSAGE.c.id,
           bindparam("decided_at", type_=Passage.decided_at.type))
    .where(bindparam("first_read", type_=String).is_not(None))).cte("first_read")
_REASON_CODES = insert(PassageReason).from_select(
    ["passage_id", "code", "decided_at"],
    select(_NEW_PASSAGE.c.id, func.unnest(bindparam("codes", type_=ARRAY(String))),
           bindparam("decided_at", type_=Passage.decided_at.type))).cte("reason_codes")
_WRITE_PASSAGE = select(_NEW_PASSAGE.c.id).add_cte(_FIRST_READ, _REASON_CODES)


def record_passage(session: Session, passage: Passage, read_id: str | None) -> None:
    """Write a new passage (its id is set), the read id it answers and its reason codes,
    one row each (auditors search by code; a JSON column cannot be indexed portably).
    On PostgreSQL in one round trip: every read at every gate pays for it."""
    codes = list(dict.fromkeys(r["code"] for r in passage.reasons))
    if session.get_bind().dialect.name != "postgresql":
        session.add(passage)
        session.flush()
        session.add_all(PassageReason(passage_id=passage.id, code=code,
                                      decided_at=passage.decided_at) for code in codes)
        if read_id:
            session.add(PassageRead(read_id=read_id, passage_id=passage.id,
                                    received_at=passage.decided_at))
        return
    values = {key: getattr(passage, key) for key in _PASSAGE_COLUMNS}
    for key, default in _PASSAGE_DEFAULTS.items():
        if values[key] is None:
            values[key] = default.arg(None) if default.is_callable else default.arg
    for key, value in values.items():
        setattr(passage, key, value)  # every column known: nothing is loaded again later
    passage.id = session.execute(_WRITE_PASSAGE, {**values, "first_read": read_id or None,
                                                  "codes": codes}).scalar_one()
    make_transient_to_detached(passage)
    session.add(passage)  # as if loaded: later changes are written as updates
