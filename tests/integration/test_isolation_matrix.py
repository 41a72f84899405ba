"""The isolation matrix: every route of the URL map × every role × an id (or channel)
that belongs to another enterprise, plant or lane.

Nobody lists the routes here: they come from the app's URL map (and the OpenAPI
spec is checked to hold nothing the map does not), so a new route joins the matrix
by existing. A route with a path parameter this file cannot fill with a foreign
record fails the test until someone says which record that is (FOREIGN below).

For each (route, role):
- a role the route does not name is refused (401/403);
- an enterprise-scoped role (enterprise logistics of E1, the receiver of plant E1)
  and a device token bound to lane P1-IN, given another tenant's id, get a denial
  or an answer that says nothing of the other tenant: no marker of E2's records
  (its own truck's plate, its driver's name, its trip's code, its plant's name) in
  the body, and no write changes anything of E2's;
- the auditor, read-only, changes nothing by any write;
- park-wide roles (admin, gate operator, dispatcher) may see every tenant: their
  cases are counted as role checks only.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from kernel import clock
from kernel.bus import InProcessBus
from kernel.uow import unit_of_work
from models import (
    Alarm,
    BlacklistEntry,
    Carrier,
    Dock,
    FixedRegistration,
    Passage,
    Person,
    Plant,
    Qualification,
    Trip,
    Vehicle,
    enterprise_carriers,
)
from parkgate.app import create_app
from tests.conftest import make_settings
from tests.factories import auth, book, make_person, make_world, uscc

ROLES = ("admin", "gate_operator", "dispatcher", "logistics_E1", "receiver", "auditor", "device")
SCOPED = ("logistics_E1", "receiver", "device")
READ_ONLY = ("auditor",)
# Routes outside the matrix, and why.
OUTSIDE = {
    "static": "files of the app itself",
    "openapi.spec": "the API's public description",
    "health.healthz": "public liveness probe",
    "health.readyz": "public readiness probe",
    "health.favicon": "the app's icon",
    "metrics": "guarded by network (PARKGATE_METRICS_ALLOW), not by role",
    "auth.login": "public by nature",
    "auth.logout": "public by nature",
}
DENIED = {401, 403}
# Answers that refuse or name a problem without doing anything.
REFUSED = {400, 401, 403, 404, 405, 409, 413, 422}


@dataclass
class Foreign:
    """What belongs to E2 (its carrier, truck, driver, trip, plant) and to lane P2-IN."""
    ids: dict[str, int]
    markers: tuple[str, ...]
    lane: str = "P2-IN"


def _foreign_world(session_factory: Any) -> tuple[Any, Foreign]:
    world = make_world(session_factory)
    far = clock.now().date() + timedelta(days=300)
    with unit_of_work(session_factory) as uow:
        s = uow.session
        carrier = Carrier(name="外企独家车队", credit_code=uscc(61), licence_scope=["3"])
        s.add(carrier)
        s.flush()
        s.execute(enterprise_carriers.insert().values(enterprise_id=world.enterprises["E2"].id,
                                                      carrier_id=carrier.id))
        truck = Vehicle(plate="苏E99999", plate_colour="yellow", kind="rigid", category="hazmat",
                        carrier_id=carrier.id, permit_scope=["3"], permit_expires_on=far,
                        created_at=clock.now())
        s.add(truck)
        driver = make_person(uow, 66, "钱外企", "driver", expires_on=far)
        driver.carrier_id = carrier.id
        s.flush()
        qualification = s.scalar(select(Qualification.id).where(
            Qualification.person_id == driver.id))
        registration = FixedRegistration(vehicle_id=truck.id,
                                         enterprise_id=world.enterprises["E2"].id,
                                         valid_from=far - timedelta(days=400), valid_until=far)
        ban = BlacklistEntry(subject_kind="vehicle", vehicle_id=truck.id, reason="外企违规",
                             created_at=clock.now())
        s.add_all([registration, ban])
        s.flush()
        ids = {"carrier": carrier.id, "vehicle": truck.id, "person": driver.id,
               "qualification": qualification, "registration": registration.id,
               "blacklist": ban.id}
        uow.commit()
    trip = book(session_factory, world, enterprise="E2", vehicle_id=ids["vehicle"],
                trailer_id=None, driver_id=ids["person"], escort_id=None)
    with unit_of_work(session_factory) as uow:
        s = uow.session
        passage = Passage(lane_id=world.lanes["P2-IN"].id, area="park", direction="in",
                          subject_kind="vehicle", plate="苏E99999", plate_colour="yellow",
                          vehicle_id=ids["vehicle"], trip_id=trip.id, seen_at=clock.now(),
                          decided_at=clock.now(), action="DENY", read_id="foreign-1")
        alarm = Alarm(kind="LOT_WAIT", trip_id=trip.id, raised_at=clock.now(),
                      message=f"{trip.code} 钱外企")
        s.add_all([passage, alarm])
        s.flush()
        dock = s.scalar(select(Dock.id).where(Dock.plant_id == world.plants["E2"].id))
        ids.update(trip=trip.id, passage=passage.id, alarm=alarm.id, dock=dock,
                   enterprise=world.enterprises["E2"].id, plant=world.plants["E2"].id)
        uow.commit()
    return world, Foreign(ids, ("苏E99999", "钱外企", trip.code, "外企独家车队", "E2 装置"))


# Which foreign record fills each path parameter (by its name, then by the route).
RECORD_OF_KIND = {"carriers": "carrier", "vehicles": "vehicle", "persons": "person",
                  "qualifications": "qualification", "fixed_registrations": "registration",
                  "blacklist": "blacklist", "enterprises": "enterprise", "plants": "plant"}


def _fill(rule: Any, foreign: Foreign, kind: str | None) -> dict[str, Any] | None:
    values: dict[str, Any] = {}
    for name in rule.arguments:
        if name == "kind":
            values[name] = kind
        elif name == "record_id":
            table = kind or rule.rule.split("/api/v1/")[1].split("/")[0]
            # Park structure (gates, lanes, lots, zones, materials) belongs to no tenant.
            values[name] = foreign.ids.get(RECORD_OF_KIND.get(table, ""), 1)
        elif name in ("trip_id", "passage_id", "dock_id", "alarm_id"):
            values[name] = foreign.ids[name.removesuffix("_id")]
        elif name == "person_id":
            values[name] = foreign.ids["person"]
        elif name == "plant_id":
            values[name] = foreign.ids["plant"]
        elif name in ("checkpoint_id", "rejection_id"):
            values[name] = 1
        elif name == "lane_code":
            values[name] = foreign.lane
        elif name == "code":
            values[name] = foreign.markers[2]
        elif name == "vendor":
            values[name] = "hikvision"
        elif name == "message":
            values[name] = "TollgateInfo"
        else:
            return None
    return values


# Bodies that would do something if the scope check let them through.
BODIES: dict[str, dict[str, Any]] = {
    "transitions": {"action": "cancel", "reason": "matrix"},
    "override": {"action": "OPEN", "reason": "matrix"},
    "cancel": {"reason": "matrix"},
    "retire": {"reason": "matrix"},
    "unmask": {"reason": "matrix"},
    "reorder": {"reason": "matrix", "position": 1},
    "readiness": {"ready": False, "note": "matrix"},
    "trailer": {"trailer_plate": "苏E1234挂"},
}
FORM = {"reason": "matrix", "action": "cancel", "state": "free", "name": "外泄", "ready": "0",
        "trailer_plate": "苏E1234挂"}


def _body(rule: Any) -> dict[str, Any]:
    last = rule.rule.rstrip("/").rsplit("/", 1)[-1]
    if last in BODIES:
        return BODIES[last]
    if rule.rule.startswith("/api/v1/lot/trips/"):
        return {"reason": "matrix"}
    if "<id:record_id>" in rule.rule and rule.rule.startswith("/api/v1/"):
        return {"name": "外泄", "rated_load_kg": 1.0}
    return {}


def _fingerprint(session_factory: Any, foreign: Foreign) -> dict[str, Any]:
    """Everything of E2's a write could change."""
    ids = foreign.ids
    with session_factory() as s:
        out: dict[str, Any] = {}
        for key, model in (("carrier", Carrier), ("vehicle", Vehicle), ("person", Person),
                           ("qualification", Qualification), ("registration", FixedRegistration),
                           ("blacklist", BlacklistEntry), ("trip", Trip), ("passage", Passage),
                           ("alarm", Alarm), ("dock", Dock), ("plant", Plant)):
            row = s.get(model, ids[key])
            out[key] = {c.key: getattr(row, c.key) for c in model.__table__.columns}
        out["links"] = sorted(s.execute(select(enterprise_carriers)).all())
        return out


ROLE_OF = {"admin": "admin", "gate_operator": "gate_operator", "dispatcher": "dispatcher",
           "logistics_E1": "enterprise_logistics", "receiver": "plant_receiver",
           "auditor": "auditor", "device": "device"}


def _judge(response: Any, method: str, url: str, role: str, allowed: bool, rule: Any,
           foreign: Foreign, cases: Counter[str], follow: Any = None) -> str | None:
    """What is wrong with this answer, if anything. `follow(location)`: the text of the
    page a redirect leads to (with any message flashed on the way)."""
    where = f"{method} {url} as {role}"
    if not allowed:
        cases["refused for the role"] += 1
        return None if response.status_code in DENIED else \
            f"{where}: {response.status_code}, not 401/403"
    cases[f"foreign id as {role}"] += 1
    if rule.endpoint == "sse.stream":
        return None if response.status_code in DENIED else f"{where}: a foreign channel opened"
    if method == "GET" and response.status_code not in REFUSED | {200, 302}:
        return f"{where}: {response.status_code}"
    # A page's form answers by redirecting to a page with a message (the fingerprint
    # shows nothing was done; the page it leads to is read below).
    page_write = method != "GET" and not url.startswith("/api/")
    if method != "GET" and role in SCOPED and response.status_code not in REFUSED and not (
            page_write and response.status_code == 302):
        return f"{where}: a write answered {response.status_code}"
    if role not in SCOPED:
        return None  # the auditor sees every tenant; its writes are judged by the fingerprint
    if response.mimetype.startswith(("image/", "application/vnd")):
        return None
    text = response.get_data(as_text=True)
    if response.status_code == 302 and follow is not None:
        text += follow(response.headers["Location"])
    found = [m for m in foreign.markers if m in text]
    return f"{where}: shows {found}" if found else None


def _channels(role: str, foreign: Foreign) -> str:
    return {"logistics_E1": f"enterprise:{foreign.ids['enterprise']}",
            "receiver": "alarms", "device": f"lane:{foreign.lane}"}.get(role, "lane:P2-IN")


@pytest.fixture
def matrix_app(sqlite_database, tmp_path):  # type: ignore[no-untyped-def]
    app = create_app(make_settings(sqlite_database, tmp_path), database=sqlite_database,
                     bus=InProcessBus())
    return app, sqlite_database.session_factory


def test_every_route_denies_every_role_another_tenants_records(matrix_app, capsys):
    app, session_factory = matrix_app
    world, foreign = _foreign_world(session_factory)
    client = app.test_client()
    before = _fingerprint(session_factory, foreign)
    from registry.service import REGISTRY

    cases: Counter[str] = Counter()
    routes = 0
    leaks: list[str] = []
    unfilled: list[str] = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint)):
        if rule.endpoint in OUTSIDE:
            continue
        view = app.view_functions[rule.endpoint]
        roles = set(getattr(view, "required_roles", ()) or ())
        kinds = list(REGISTRY) if "kind" in rule.arguments else [None]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            routes += 1
            for kind in kinds:
                values = _fill(rule, foreign, kind)
                if values is None:
                    unfilled.append(rule.rule)
                    continue
                url = rule.build(values)[1] if values else rule.rule
                for role in ROLES:
                    acting_as = ROLE_OF[role]
                    # require() with no roles: any signed-in person, never a device.
                    allowed = acting_as in roles if roles else acting_as != "device"
                    if getattr(view, "camera_auth", False):
                        allowed = False  # only a camera's Digest signature opens it
                    if allowed and role not in SCOPED and role not in READ_ONLY:
                        # Park-wide roles see every tenant by design: not sent, so their
                        # writes do not change the world the other roles are tried on.
                        cases["park-wide role, allowed (not sent)"] += 1
                        continue
                    if rule.endpoint == "sse.stream":
                        url = f"/events?channels={_channels(role, foreign)}"
                    kwargs: dict[str, Any] = {"headers": auth(world.tokens[role])}
                    if method in ("POST", "PUT", "PATCH"):
                        if rule.rule.startswith("/api/"):
                            kwargs["json"] = _body(rule)
                        else:
                            kwargs["data"] = FORM
                    response = client.open(url, method=method, buffered=False, **kwargs)
                    token = kwargs["headers"]

                    def follow(location: str, token: dict[str, str] = token) -> str:
                        return client.get(location, headers=token).get_data(as_text=True)

                    try:
                        leak = _judge(response, method, url, role, allowed, rule, foreign,
                                      cases, follow)
                    finally:
                        response.close()
                    if leak:
                        leaks.append(leak)
    after = _fingerprint(session_factory, foreign)
    changed = [k for k in before if before[k] != after[k]]
    spec = client.get("/api/v1/openapi.json").json
    mapped = {re.sub(r"<(?:[^:>]+:)?(\w+)>", r"{\1}", r.rule) for r in app.url_map.iter_rules()}
    unknown_in_spec = sorted(set(spec["paths"]) - mapped)
    total = sum(cases.values())
    with capsys.disabled():
        print(f"\nisolation matrix: {routes} route×method pairs × {len(ROLES)} roles "
              f"(registry pages once per kind) = {total} cases: "
              + ", ".join(f"{n} {what}" for what, n in sorted(cases.items())))
    assert unfilled == [], f"routes with a parameter this test cannot fill: {unfilled}"
    assert unknown_in_spec == []
    assert leaks == [], "\n".join(leaks[:40])
    assert changed == [], f"E2's records changed by scoped or read-only roles: {changed}"
    assert total > 1000
