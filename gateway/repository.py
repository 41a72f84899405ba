"""Reading what the gate needs from the database into a Snapshot (and back out:
presence and passages), in as few indexed look-ups as a decision allows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from sqlalchemy import (
    String,
    and_,
    bindparam,
    cast,
    func,
    insert,
    literal,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session, make_transient_to_detached

from kernel.errors import N_, NotFound
from models import (
    BlacklistEntry,
    CargoLine,
    FixedRegistration,
    Gate,
    Lane,
    Lot,
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
from models.base import table
from registry.read_model import (
    PERSON_FIELDS,
    QUAL_FIELDS,
    WAYBILL_SPENT_BY,
    ban_id,
    ban_views,
    bans,
    cargo_view,
    prefixed,
    release_view,
    trip_names,
    view_of_person,
    view_of_trip,
    view_of_vehicle,
)
from rules import documents
from rules.plates import normalise
from trips.state_machine import OPEN_STATES

from .snapshot import (
    CargoView,
    LaneView,
    PersonView,
    Snapshot,
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


# The read path's statements are built once, at import (building one costs about what
# answering it does), and name tables, not mapped classes: a statement over plain
# columns skips the ORM's compile step and its row-to-object work, which together cost
# more than the database takes to answer (the rows become views, not entities).
_PASSAGE_READS = table(PassageRead)
_VEHICLES, _TRIPS, _CARGO = Vehicle.__table__, Trip.__table__, CargoLine.__table__
_PERSONS, _QUALS, _BLACKLIST = Person.__table__, Qualification.__table__, BlacklistEntry.__table__
_PRESENCE, _PASSES, _RELEASES = Presence.__table__, FixedRegistration.__table__, Release.__table__

_ANSWERED = select(_PASSAGE_READS.c.passage_id).where(
    _PASSAGE_READS.c.lane_id == bindparam("id"), _PASSAGE_READS.c.read_id == bindparam("read_id"))
# On PostgreSQL the lock is an advisory one on the lane's id: a row lock would write
# the lanes row (and its log record) on every read, and the park's few lanes share a
# page that every read would then contend for. The same statement asks whether the
# read was answered already.
LANE_LOCKS = 0x5047  # advisory lock class of lanes ("PG"); ours is the only kind
_LOCK_LANE = select(func.pg_advisory_xact_lock(literal(LANE_LOCKS), bindparam("id")),
                    _ANSWERED.scalar_subquery())


def lock_lane(session: Session, lane_id: int, read_id: str) -> int | None:
    """One read at a time per lane, whichever worker or process took it: folding a
    repeated read and anti-passback both look at the lane's last passage. Returns the
    passage `read_id` already landed in (SQLite needs no lock of its own: it runs one
    write transaction at a time).

    On PostgreSQL the read id's look-up sees the database as it was before the
    statement waited for the lock, so a retry queued behind its first read misses
    it; the read id is unique and the service answers such a retry with the first
    answer."""
    values = {"id": lane_id, "read_id": read_id}
    if session.get_bind().dialect.name != "postgresql":
        return session.execute(_ANSWERED, values).scalar()
    return session.execute(_LOCK_LANE, values).one()[1]


def lock_and_snapshot(session: Session, lane_id: int, read_id: str, snapshot: Step
                      ) -> tuple[int | None, list[Any] | None]:
    """lock_lane, then the snapshot's rows (snapshot_query) as the lock lets them be
    read; (the earlier passage, None) for a read answered already.

    The one PostgreSQL path of its own on the read side: BEGIN, the lock and the
    snapshot go in one round trip through psycopg's public pipeline mode, each
    statement run after the one before (so the snapshot sees what the lock waited
    for); elsewhere (and in the tests of both) it is lock_lane, then the query."""
    values = {"id": lane_id, "read_id": read_id}
    if session.get_bind().dialect.name != "postgresql":
        earlier = session.execute(_ANSWERED, values).scalar()
        return earlier, None if earlier is not None else list(session.execute(*snapshot).all())
    from psycopg.rows import namedtuple_row

    from models.db import compiled_for, driver_errors

    connection = session.connection()
    raw = connection.connection.driver_connection
    assert raw is not None  # a live connection
    lock, read = compiled_for(connection, _LOCK_LANE), compiled_for(connection, snapshot[0])
    with driver_errors(connection, read.string), raw.pipeline(), raw.cursor() as locking, \
            raw.cursor(row_factory=namedtuple_row) as reading:
        for cursor, compiled, params in ((locking, lock, values), (reading, read, snapshot[1])):
            # The text and values as sent (IN lists and literals spelled out): public
            # since SQLAlchemy 2.0 (SQLCompiler.construct_expanded_state).
            state = compiled.construct_expanded_state(params)
            cursor.execute(state.statement, state.positional_parameters
                           if compiled.positional else state.parameters)
        earlier = locking.fetchone()[1]
        rows = reading.fetchall()
    if earlier is not None:
        return earlier, None
    # As SQLAlchemy's UTCDateTime gives them (models.base): instants in UTC.
    return earlier, [row._replace(**{k: v.astimezone(UTC) for k, v in row._asdict().items()
                                     if isinstance(v, datetime) and v.tzinfo is not None})
                     for row in rows]




def is_inside(session: Session, subject_key: str, area: str) -> bool:
    return session.scalar(select(Presence.id).where(Presence.area == area,
                                                    Presence.subject_key == subject_key)) is not None


_PASSES_TODAY = select(_PASSES.c.enterprise_id).where(
    _PASSES.c.vehicle_id == bindparam("vehicle_id"), _PASSES.c.retired_at.is_(None),
    _PASSES.c.valid_from <= bindparam("today"), _PASSES.c.valid_until >= bindparam("today"))


def passes_today(session: Session, vehicle_id: int, now: datetime) -> tuple[int, ...]:
    """The enterprises whose standing pass lets this vehicle in today."""
    return tuple(session.execute(_PASSES_TODAY, {"vehicle_id": vehicle_id,
                                                 "today": documents.park_date(now)}).scalars())


def vehicle_view(session: Session, v: Vehicle, lane: LaneView | None, now: datetime
                 ) -> VehicleView:
    """One vehicle's view on its own (permit snapshots; the gate batches these)."""
    return view_of_vehicle(v, bans(session, [v.id], [], now).get(("v", v.id)),
                           is_inside(session, f"v:{v.id}", lane.area) if lane else None,
                           passes_today(session, v.id, now))


def person_view(session: Session, person: Person, lane: LaneView | None, now: datetime
                ) -> PersonView:
    quals = list(session.scalars(select(Qualification).where(
        Qualification.person_id == person.id, Qualification.retired_at.is_(None))))
    return view_of_person(person, quals, bans(session, [], [person.id], now).get(("p", person.id)),
                          is_inside(session, f"p:{person.id}", lane.area) if lane else None)






def build_snapshot(session: Session, lane: Any, plate: str, colour: str | None,
                   now: datetime, names: dict[str, dict[int, str]] | None = None,
                   rows: list[Any] | None = None) -> Snapshot:
    """Everything decide() needs for one read, in one statement (snapshot_query, whose
    `rows` may have been read already), plus the details of a ban only when there is
    one and a released trip's release. The rows become views directly; whoever moves
    the trip loads it then (most reads move nothing).

    `lane` is a runtime.LaneInfo (cached structure); `names` maps enterprise and
    plant ids to names (cached too).
    """
    view, policy = lane.view, lane.policy
    if rows is None:
        rows = list(session.execute(*snapshot_query(plate, colour, view.area, now)).all())
    matches = len({row.id for row in rows})
    found = _fold(rows) if matches == 1 else None
    if found is None:
        return Snapshot(lane=view, policy=policy, plate_matches=matches)
    vehicle = found.vehicle
    current = _current(list(found.trips.values()), now)
    ban_ids: dict[tuple[str, int], int | None] = {("v", vehicle.id): found.ban}
    if current is not None:
        if current.trailer is not None:
            ban_ids[("v", current.trailer.id)] = current.trailer_ban
        ban_ids.update({("p", pid): crew.ban for pid, crew in current.crew.items()})
    banned = ban_views(session, ban_ids)
    if current is None:
        return Snapshot(lane=view, policy=policy, plate_matches=matches,
                        vehicle=view_of_vehicle(vehicle, banned.get(("v", vehicle.id)),
                                                found.inside, tuple(found.passes)))
    trip, trailer = current.trip, current.trailer

    def pview(pid: int | None) -> PersonView | None:
        crew = current.crew.get(pid) if pid else None
        if crew is None or pid is None:
            return None
        return view_of_person(crew.person, list(crew.quals.values()), banned.get(("p", pid)),
                              None)

    return Snapshot(
        lane=view, policy=policy, plate_matches=matches,
        vehicle=view_of_vehicle(vehicle, banned.get(("v", vehicle.id)), found.inside, ()),
        trailer=view_of_vehicle(trailer, banned.get(("v", trailer.id)), None, ())
        if trailer is not None else None,
        trip=view_of_trip(trip, list(current.cargo.values()), trailer.plate if trailer else None,
                          release_view(session, trip), *trip_names(session, trip, names),
                          current.waybill_used_by),
        driver=pview(trip.driver_id), escort=pview(trip.escort_id))










# What the views read of each table, and no more (every column costs on every read).
VEHICLE_FIELDS = ("id", "plate", "plate_colour", "kind", "category", "rated_load_kg", "is_tank",
                  "tank_media", "road_permit_no", "permit_scope", "permit_expires_on",
                  "review_expires_on", "inspection_expires_on", "tank_inspection_expires_on",
                  "insurance_expires_on", "gps_last_fix_at")
_TRIP_FIELDS = ("id", "code", "state", "category", "direction", "enterprise_id", "plant_id",
                "window_start", "window_end", "vehicle_id", "trailer_id", "driver_id",
                "escort_id", "waybill_no", "waybill_consignor", "waybill_consignee",
                "waybill_vehicle", "waybill_trailer", "manifest_no", "toxic_pass_no",
                "toxic_pass_valid_from", "toxic_pass_valid_until", "toxic_pass_vehicle",
                "crew_confirmed_at", "state_changed_at")
_CARGO_FIELDS = ("un_number", "name_zh", "hazard_class", "subsidiary_risks", "highly_toxic",
                 "quantity_kg", "packages", "special_provision")








# The whole snapshot of a read in one statement: the vehicles with this plate, each
# with whether it is inside the lane's area, the ban on it and its standing passes
# valid today; its trips under way or booked around now, each with its trailer (and
# the ban on it), its cargo lines and its crew with their current papers (and bans).
# A row per combination; build_snapshot folds them back. Every read pays for each
# round trip, and a booked truck's rows are a handful.
def _around_now(trips: Any, vehicles: Any) -> Any:
    """A trip of the vehicle under way or booked around now (in a read's 36 hours)."""
    return and_(trips.c.vehicle_id == vehicles.c.id, trips.c.state.in_(OPEN_STATES),
                trips.c.window_start <= bindparam("until"), trips.c.window_end >= bindparam("since"))


_V, _T, _TR = _VEHICLES.alias("vehicle"), _TRIPS.alias("trip"), _VEHICLES.alias("trailer")
_C, _P, _Q = _CARGO.alias("cargo"), _PERSONS.alias("crew"), _QUALS.alias("paper")
_PASS, _IN = _PASSES.alias("standing_pass"), _PRESENCE.alias("presence")
_BAN, _W = _BLACKLIST.alias("ban"), _TRIPS.alias("waybill_trip")
# G14: another trip that holds this trip's waybill, asked with the snapshot itself.
_WAYBILL_USED_BY = (select(_W.c.code).where(
    _W.c.waybill_no == _T.c.waybill_no, _W.c.id != _T.c.id,
    _W.c.state.in_(WAYBILL_SPENT_BY)).order_by(_W.c.id).limit(1).scalar_subquery())
_SNAPSHOT_ROWS = (
    select(*(_V.c[n] for n in VEHICLE_FIELDS), _IN.c.id.label("inside"),
           ban_id(_BAN.c.vehicle_id, _V.c.id).label("ban"),
           _PASS.c.enterprise_id.label("pass_enterprise"),
           *(_T.c[n].label(f"trip_{n}") for n in _TRIP_FIELDS),
           _WAYBILL_USED_BY.label("trip_waybill_used_by"),
           *(_TR.c[n].label(f"t_{n}") for n in VEHICLE_FIELDS),
           ban_id(_BAN.c.vehicle_id, _TR.c.id).label("t_ban"),
           _C.c.id.label("c_id"), *(_C.c[n].label(f"c_{n}") for n in _CARGO_FIELDS),
           *(_P.c[n].label(f"p_{n}") for n in PERSON_FIELDS),
           ban_id(_BAN.c.person_id, _P.c.id).label("p_ban"),
           _Q.c.id.label("q_id"), *(_Q.c[n].label(f"q_{n}") for n in QUAL_FIELDS))
    .select_from(
        _V
        # A join, not EXISTS: PostgreSQL would hash every presence row of the area.
        .outerjoin(_IN, and_(_IN.c.area == bindparam("area"),
                             _IN.c.subject_key == literal("v:") + cast(_V.c.id, String)))
        .outerjoin(_PASS, and_(
            _PASS.c.vehicle_id == _V.c.id, _PASS.c.retired_at.is_(None),
            _PASS.c.valid_from <= bindparam("today"), _PASS.c.valid_until >= bindparam("today")))
        .outerjoin(_T, _around_now(_T, _V))
        .outerjoin(_TR, _TR.c.id == _T.c.trailer_id)
        .outerjoin(_C, _C.c.trip_id == _T.c.id)
        .outerjoin(_P, _P.c.id.in_((_T.c.driver_id, _T.c.escort_id)))
        .outerjoin(_Q, and_(_Q.c.person_id == _P.c.id, _Q.c.retired_at.is_(None))))
    .where(_V.c.plate == bindparam("plate"), _V.c.retired_at.is_(None))
    .order_by(_V.c.id, _T.c.id, _C.c.position, _P.c.id, _Q.c.id))
_SNAPSHOT_ROWS_OF_COLOUR = _SNAPSHOT_ROWS.where(_V.c.plate_colour == bindparam("colour"))
@dataclass
class _Crew:
    person: SimpleNamespace
    ban: int | None
    quals: dict[int, SimpleNamespace] = field(default_factory=dict)  # by id, in order


@dataclass
class _FoundTrip:
    trip: SimpleNamespace
    trailer: SimpleNamespace | None
    trailer_ban: int | None
    waybill_used_by: str | None
    cargo: dict[int, CargoView] = field(default_factory=dict)
    crew: dict[int, _Crew] = field(default_factory=dict)


@dataclass
class _Found:
    """One vehicle's snapshot rows, folded."""
    vehicle: Any
    inside: bool
    ban: int | None
    passes: dict[int, None] = field(default_factory=dict)  # ordered, without repeats
    trips: dict[int, _FoundTrip] = field(default_factory=dict)


def _fold(rows: list[Any]) -> _Found:
    """The rows of one vehicle (from _SNAPSHOT_ROWS) as its trips, cargo and crew."""
    first = rows[0]
    found = _Found(first, first.inside is not None, first.ban)
    for row in rows:
        if row.pass_enterprise is not None:
            found.passes[row.pass_enterprise] = None
        if row.trip_id is None:
            continue
        trip = found.trips.get(row.trip_id)
        if trip is None:
            trailer = prefixed(row, "t_", VEHICLE_FIELDS) if row.t_id is not None else None
            trip = found.trips[row.trip_id] = _FoundTrip(
                prefixed(row, "trip_", _TRIP_FIELDS), trailer, row.t_ban,
                row.trip_waybill_used_by)
        if row.c_id is not None and row.c_id not in trip.cargo:
            trip.cargo[row.c_id] = cargo_view(prefixed(row, "c_", _CARGO_FIELDS))
        if row.p_id is None:
            continue
        crew = trip.crew.get(row.p_id)
        if crew is None:
            crew = trip.crew[row.p_id] = _Crew(prefixed(row, "p_", PERSON_FIELDS), row.p_ban)
        if row.q_id is not None and row.q_id not in crew.quals:
            crew.quals[row.q_id] = prefixed(row, "q_", QUAL_FIELDS)
    return found


def _current(trips: list[_FoundTrip], now: datetime) -> _FoundTrip | None:
    """The trip a vehicle is on: under way, else the booking nearest now."""
    if not trips:
        return None
    under_way = [f for f in trips if f.trip.state not in ("BOOKED", "PENDING_APPROVAL")]
    if under_way:
        return max(under_way, key=lambda f: f.trip.state_changed_at)
    return min(trips, key=lambda f: abs((f.trip.window_start - now).total_seconds()))


Step = tuple[Any, dict[str, Any]]  # a statement and its values


def _by_plate(statements: tuple[Any, Any], plate: str, colour: str | None, now: datetime,
              **values: Any) -> Step:
    """A read's statement (of `statements`: any colour, the colour read) and its values."""
    params = {"plate": normalise(plate), "until": now + timedelta(hours=36),
              "since": now - timedelta(hours=36), **values}
    return (statements[1], {**params, "colour": colour}) if colour else (statements[0], params)


def snapshot_query(plate: str, colour: str | None, area: str, now: datetime) -> Step:
    """The statement of a read's snapshot (the vehicles with this plate, and colour when
    read, with their trips) and its values, for build_snapshot. More than one vehicle
    matching is an ambiguous plate: nothing is folded."""
    return _by_plate((_SNAPSHOT_ROWS, _SNAPSHOT_ROWS_OF_COLOUR), plate, colour, now, area=area,
                     today=documents.park_date(now))






























# --- writing a passage -------------------------------------------------------------------------

def _passage_writer() -> Any:
    """PostgreSQL: the passage, the read id it answers and its reason codes in one
    statement (every read at every gate pays for it)."""
    columns = [c for c in Passage.__table__.columns if c.key != "id"]
    new_passage = insert(table(Passage)).values(
        {c.key: bindparam(c.key, type_=c.type) for c in columns}
    ).returning(Passage.id).cte("new_passage")
    first_read = insert(_PASSAGE_READS).from_select(
        ["lane_id", "read_id", "passage_id", "received_at"],
        select(bindparam("lane_id", type_=Passage.lane_id.type),
               bindparam("first_read", type_=String), new_passage.c.id,
               bindparam("decided_at", type_=Passage.decided_at.type))
        .where(bindparam("first_read", type_=String).is_not(None))).cte("first_read")
    reason_codes = insert(table(PassageReason)).from_select(
        ["passage_id", "code", "decided_at"],
        select(new_passage.c.id, func.unnest(bindparam("codes", type_=ARRAY(String))),
               bindparam("decided_at", type_=Passage.decided_at.type))).cte("reason_codes")
    return select(new_passage.c.id).add_cte(first_read, reason_codes)


_WRITE_PASSAGE = _passage_writer()
_PASSAGE_COLUMNS = [c.key for c in Passage.__table__.columns if c.key != "id"]
_PASSAGE_DEFAULTS = {c.key: c.default for c in Passage.__table__.columns if c.default is not None}


def record_passage(session: Session, passage: Passage, read_id: str | None) -> None:
    """Write a new passage (its id is set), the read id it answers and its reason codes,
    one row each (auditors search by code; a JSON column cannot be indexed portably).
    The one function with a PostgreSQL path of its own: there, one statement instead
    of three round trips; the passage then joins the session as a persistent entity
    (make_transient_to_detached, SQLAlchemy's public way), so later changes to it are
    updates. Both paths are run by the same tests."""
    codes = list(dict.fromkeys(r["code"] for r in passage.reasons))
    if session.get_bind().dialect.name != "postgresql":
        session.add(passage)
        session.flush()
        session.add_all(PassageReason(passage_id=passage.id, code=code,
                                      decided_at=passage.decided_at) for code in codes)
        if read_id:
            session.add(PassageRead(lane_id=passage.lane_id, read_id=read_id,
                                    passage_id=passage.id, received_at=passage.decided_at))
        return
    values = {key: getattr(passage, key) for key in _PASSAGE_COLUMNS}
    for name, default in _PASSAGE_DEFAULTS.items():
        if values[name] is None:
            values[name] = default.arg(None) if default.is_callable else default.arg
    for name, value in values.items():
        setattr(passage, name, value)  # every column known: nothing is loaded again later
    session.flush()  # rows the passage refers to go first
    passage.id = session.execute(_WRITE_PASSAGE, {**values, "first_read": read_id or None,
                                                  "codes": codes}).scalar_one()
    make_transient_to_detached(passage)
    session.add(passage)
