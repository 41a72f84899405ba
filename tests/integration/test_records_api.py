"""Park records through the API: every kind created, edited and retired; validation;
enterprise scope; the audit trail's before/after."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from models import AuditEvent, Park, Person
from tests.factories import auth, make_world, national_id, uscc

FUTURE = (date(2026, 11, 22) + timedelta(days=400)).isoformat()
PAST = (date(2026, 11, 22) - timedelta(days=400)).isoformat()


def payloads(world) -> dict[str, tuple[dict, dict]]:  # type: ignore[no-untyped-def]
    """kind -> (a valid new record, a valid edit of it)."""
    e1 = world.enterprises["E1"].id
    gate_id = world.lanes["P1-IN"].gate_id
    return {
        "enterprises": ({"code": "E9", "name": "新港化工", "credit_code": uscc(9),
                         "material_scope": [{"direction": "receive", "hazard_class": "3",
                                             "max_qty_kg": 30000}]},
                        {"name": "新港化工（改名）"}),
        "plants": ({"enterprise_id": e1, "code": "E1-P2", "name": "二号装置",
                    "docks": ["D1", "D2"], "receiving_hours": {"mon": [["08:00", "18:00"]]}},
                   {"release_mode": "propose"}),
        "carriers": ({"name": "远通运输", "credit_code": uscc(5), "licence_no": "苏交危001",
                      "licence_scope": ["3", "8"], "licence_expires_on": FUTURE,
                      "enterprise_ids": [e1]},
                     {"licence_scope": ["3", "8", "6.1"]}),
        "vehicles": ({"plate": "苏E54321", "plate_colour": "yellow", "kind": "tractor",
                      "category": "hazmat", "road_permit_no": "苏交运危320600001",
                      "permit_scope": ["3"], "permit_expires_on": FUTURE},
                     {"permit_scope": ["3", "8"]}),
        "persons": ({"name": "张三", "national_id": national_id(77), "kinds": ["driver"],
                     "phone": "13800001111"},
                    {"kinds": ["driver", "escort"]}),
        "qualifications": ({"person_id": world.persons["driver"].id, "kind": "driver",
                            "cert_no": "Q-2026-1", "classes": ["3"], "issued_on": PAST,
                            "expires_on": FUTURE},
                           {"classes": ["2", "3"]}),
        "fixed_registrations": ({"vehicle_id": world.vehicles["car"].id, "enterprise_id": e1,
                                 "valid_from": PAST, "valid_until": FUTURE},
                                {"note": "年度通行证"}),
        "blacklist": ({"subject_kind": "vehicle", "plate": "苏A88888", "plate_colour": "blue",
                       "reason": "闯杆"},
                      {"reason": "闯杆，两次"}),
        "materials": ({"un_number": "UN1090", "name_zh": "丙酮", "name_en": "ACETONE",
                       "hazard_class": "3", "packing_group": "II"},
                      {"name_en": "ACETONE (propanone)"}),
        "gates": ({"code": "P9", "name": "西门", "kind": "perimeter", "admits": ["goods"]},
                  {"admits": ["goods", "small"]}),
        "lanes": ({"gate_id": gate_id, "code": "P1-IN2", "name": "二号入口", "direction": "in",
                   "confidence_threshold": 0.9},
                  {"antipassback": "hold"}),
        "lots": ({"code": "LOT9", "name": "二号停车场", "excluded_classes": ["1", "7"]},
                 {"max_wait_min": 300}),
        "zones": ({"lot_id": world.lot.id, "code": "C", "name": "C区 易燃液体",
                   "accepted_classes": ["3", "6.1"], "fire_class": "甲", "bays": ["C01", "C02"]},
                  {"bays": ["C01", "C02", "C03"]}),
    }


KINDS = [
    "enterprises", "plants", "carriers", "vehicles", "persons", "qualifications",
    "fixed_registrations", "blacklist", "materials", "gates", "lanes", "lots", "zones"]


@pytest.mark.parametrize("kind", KINDS)
def test_create_edit_retire_each_kind(client, session_factory, kind):
    world = make_world(session_factory)
    headers = auth(world.tokens["admin"])
    new, edit = payloads(world)[kind]
    created = client.post(f"/api/v1/{kind}", json=new, headers=headers)
    assert created.status_code == 201, created.json
    record_id = created.json["id"]
    edited = client.patch(f"/api/v1/{kind}/{record_id}", json=edit, headers=headers)
    assert edited.status_code == 200, edited.json
    for name, value in edit.items():
        if name in ("bays", "docks"):
            continue  # shown as objects with their state
        got = edited.json[name]
        assert (sorted(got) == sorted(value)) if isinstance(value, list) else got == value
    listed = client.get(f"/api/v1/{kind}?per_page=500", headers=headers)
    assert record_id in [item["id"] for item in listed.json["items"]]
    retired = client.post(f"/api/v1/{kind}/{record_id}/retire", json={"reason": "测试结束"},
                          headers=headers)
    assert retired.status_code == 200 and retired.json["retired_at"]
    listed = client.get(f"/api/v1/{kind}?per_page=500", headers=headers)
    assert record_id not in [item["id"] for item in listed.json["items"]]
    again = client.post(f"/api/v1/{kind}/{record_id}/retire", json={"reason": "x"},
                        headers=headers)
    assert again.status_code == 422 and again.json["code"] == "RECORD_RETIRED"
    with session_factory() as s:
        actions = s.scalars(select(AuditEvent.action).where(
            AuditEvent.subject_kind == kind, AuditEvent.subject_id == str(record_id))
            .order_by(AuditEvent.seq)).all()
    assert actions == ["record.create", "record.update", "record.retire"]


def test_an_edit_is_versioned_with_before_and_after(client, session_factory):
    world = make_world(session_factory)
    vehicle = world.vehicles["tractor"]
    response = client.patch(f"/api/v1/vehicles/{vehicle.id}",
                            json={"permit_expires_on": "2027-03-31", "rated_load_kg": 40000},
                            headers=auth(world.tokens["admin"]))
    assert response.status_code == 200, response.json
    with session_factory() as s:
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "record.update")).one()
    payload = json.loads(event.payload)
    assert payload["changed"] == ["permit_expires_on", "rated_load_kg"]
    assert payload["before"]["rated_load_kg"] is None
    assert payload["after"] == {"permit_expires_on": "2027-03-31", "rated_load_kg": 40000.0}
    assert event.actor_name == "admin" and event.plate == "苏E12345"
    assert event.vehicle_id == vehicle.id


def post(client, world, kind, body, token="admin"):  # type: ignore[no-untyped-def]
    return client.post(f"/api/v1/{kind}", json=body, headers=auth(world.tokens[token]))


BASE_VEHICLE = {"plate_colour": "yellow", "kind": "tractor", "category": "hazmat",
                "road_permit_no": "P-1", "permit_scope": ["3"], "permit_expires_on": FUTURE}


@pytest.mark.parametrize(("changes", "field"), [
    ({"plate": "苏EI2345"}, "plate"),  # no I in plates
    ({"plate": "X苏12345"}, "plate"),
    ({"plate": "苏E12345", "plate_colour": "green"}, "plate_colour"),  # 7 characters: not NEV
    ({"plate": "苏E1234挂"}, "plate"),  # a tractor with a trailer's plate
    ({"plate": "苏E24680", "kind": "trailer"}, "plate"),  # a trailer without 挂
    ({"plate": "苏E24680", "permit_scope": ["10"]}, "permit_scope"),
    ({"plate": "苏E24680", "is_tank": True, "tank_media": ["UN9999"],
      "tank_inspection_expires_on": FUTURE}, "tank_media"),
    ({"plate": "苏E24680", "road_permit_no": None}, "road_permit_no"),
    ({"plate": "苏E24680", "permit_issued_on": FUTURE, "permit_expires_on": PAST},
     "permit_expires_on"),
])
def test_vehicle_validation(client, session_factory, changes, field):
    world = make_world(session_factory)
    body = {**BASE_VEHICLE, **changes}
    body = {k: v for k, v in body.items() if v is not None}
    response = post(client, world, "vehicles", body)
    assert response.status_code == 422, response.json
    assert response.mimetype == "application/problem+json"
    assert field in response.json["errors"], response.json
    assert all(isinstance(m, str) and m for m in response.json["errors"][field])


def test_plates_are_normalised_and_identity_is_plate_plus_colour(client, session_factory):
    world = make_world(session_factory)
    created = post(client, world, "vehicles", {**BASE_VEHICLE, "plate": "苏Ｅ·２４６８０"})
    assert created.status_code == 201 and created.json["plate"] == "苏E24680"
    duplicate = post(client, world, "vehicles", {**BASE_VEHICLE, "plate": "苏E 24680"})
    assert duplicate.status_code == 422 and "plate" in duplicate.json["errors"]
    blue = post(client, world, "vehicles", {**BASE_VEHICLE, "plate": "苏E24680",
                                            "plate_colour": "blue", "kind": "car",
                                            "category": "small"})
    assert blue.status_code == 201  # yellow and blue 苏E24680 are different vehicles


def test_new_energy_and_trailer_plates(client, session_factory):
    world = make_world(session_factory)
    nev = post(client, world, "vehicles", {"plate": "苏AD12345", "plate_colour": "green",
                                           "kind": "car", "category": "small"})
    assert nev.status_code == 201, nev.json
    trailer = post(client, world, "vehicles", {**BASE_VEHICLE, "plate": "苏E9876挂",
                                               "kind": "trailer"})
    assert trailer.status_code == 201, trailer.json


@pytest.mark.parametrize(("body", "field"), [
    ({"name": "李四", "national_id": "320102199001011234"}, "national_id"),  # bad check digit
    ({"name": "李四", "national_id": "320102199002301230"}, "national_id"),  # 30 February
    ({"name": "李四", "national_id": "1234"}, "national_id"),
    ({"name": "李四"}, "national_id"),
    ({"name": "李四", "national_id": national_id(1)}, "national_id"),  # already registered
    ({"name": "李四", "national_id": national_id(88), "kinds": ["pilot"]}, "kinds"),
    ({"name": "李四", "national_id": national_id(88), "phone": "call me"}, "phone"),
])
def test_person_validation(client, session_factory, body, field):
    world = make_world(session_factory)
    response = post(client, world, "persons", body)
    assert response.status_code == 422, response.json
    assert field in response.json["errors"]


def test_national_id_is_never_stored_or_shown_in_clear(client, session_factory):
    world = make_world(session_factory)
    nid = national_id(99)
    response = post(client, world, "persons", {"name": "赵六", "national_id": nid.lower()})
    assert response.status_code == 201
    assert nid not in json.dumps(response.json)
    assert response.json["id_masked"] == nid[:6] + "********" + nid[-4:]
    with session_factory() as s:
        person = s.get(Person, response.json["id"])
        assert nid not in (person.id_cipher + person.id_hash + person.id_masked)
        events = s.scalars(select(AuditEvent.payload)).all()
    assert all(nid not in e for e in events)


@pytest.mark.parametrize(("kind", "body", "field"), [
    ("qualifications", {"kind": "driver", "cert_no": "Q9", "issued_on": FUTURE,
                        "expires_on": PAST}, "expires_on"),
    ("qualifications", {"kind": "driver", "cert_no": "Q9", "expires_on": FUTURE,
                        "person_id": 999999}, "person_id"),
    ("fixed_registrations", {"valid_from": FUTURE, "valid_until": PAST}, "valid_until"),
    ("carriers", {"name": "x", "credit_code": "91320600MA1000001A"}, "credit_code"),
    ("materials", {"un_number": "1203X", "name_zh": "x", "hazard_class": "3"}, "un_number"),
    ("materials", {"un_number": "UN1203", "name_zh": "x", "hazard_class": "11"}, "hazard_class"),
    ("enterprises", {"code": "E8", "name": "x", "material_scope": [
        {"direction": "receive", "un_number": "UN9999"}]}, "material_scope.0"),
    ("gates", {"code": "G8", "name": "x", "kind": "plant", "admits": ["tanks"]}, "admits"),
    ("blacklist", {"subject_kind": "vehicle", "plate": "苏A00001", "plate_colour": "blue",
                   "reason": "x"}, "plate"),
    ("blacklist", {"subject_kind": "person", "national_id": national_id(55), "reason": "x"},
     "national_id"),
])
def test_other_validation_rules(client, session_factory, kind, body, field):
    world = make_world(session_factory)
    if kind == "qualifications" and "person_id" not in body:
        body["person_id"] = world.persons["driver"].id
    if kind == "fixed_registrations":
        body.update(vehicle_id=world.vehicles["car"].id,
                    enterprise_id=world.enterprises["E1"].id)
    response = post(client, world, kind, body)
    assert response.status_code == 422, response.json
    assert field in response.json["errors"], response.json["errors"]


def test_unknown_fields_and_wrong_types_are_field_errors(client, session_factory):
    world = make_world(session_factory)
    response = post(client, world, "vehicles", {**BASE_VEHICLE, "plate": "苏E11111",
                                                "wheels": 18, "rated_load_kg": "heavy"})
    assert response.status_code == 422
    assert {"wheels", "rated_load_kg"} <= set(response.json["errors"])


def test_missing_records_are_404(client, session_factory):
    world = make_world(session_factory)
    assert client.get("/api/v1/vehicles/424242",
                      headers=auth(world.tokens["admin"])).status_code == 404
    assert client.get("/api/v1/teapots", headers=auth(world.tokens["admin"])).status_code == 404


# --- enterprise scope ---------------------------------------------------------------------

def linked_carrier(client, world, enterprise="E1", n=1):  # type: ignore[no-untyped-def]
    response = post(client, world, "carriers", {
        "name": f"承运{enterprise}{n}", "credit_code": uscc(100 + n),
        "enterprise_ids": [world.enterprises[enterprise].id]})
    assert response.status_code == 201, response.json
    return response.json["id"]


def test_enterprise_staff_see_and_edit_only_their_carriers_records(client, session_factory):
    world = make_world(session_factory)
    mine = linked_carrier(client, world, "E1", 1)
    theirs = linked_carrier(client, world, "E2", 2)
    token = "logistics_E1"
    ok = post(client, world, "vehicles", {**BASE_VEHICLE, "plate": "苏E22222", "carrier_id": mine},
              token)
    assert ok.status_code == 201, ok.json
    other = post(client, world, "vehicles", {**BASE_VEHICLE, "plate": "苏E33333",
                                             "carrier_id": theirs})
    assert other.status_code == 201
    refused = post(client, world, "vehicles", {**BASE_VEHICLE, "plate": "苏E44444",
                                               "carrier_id": theirs}, token)
    missing = post(client, world, "vehicles", {**BASE_VEHICLE, "plate": "苏E44444",
                                               "carrier_id": 999_999}, token)
    # Another enterprise's carrier answers exactly like one that does not exist.
    assert refused.status_code == missing.status_code == 422
    assert refused.json["errors"] == missing.json["errors"] == {
        "carrier_id": ["记录不存在：承运单位。"]}
    listed = client.get("/api/v1/vehicles", headers=auth(world.tokens[token])).json
    plates = {v["plate"] for v in listed["items"]}
    assert "苏E22222" in plates and "苏E33333" not in plates
    hidden = other.json["id"]
    assert client.get(f"/api/v1/vehicles/{hidden}",
                      headers=auth(world.tokens[token])).status_code == 404
    assert client.patch(f"/api/v1/vehicles/{hidden}", json={"rated_load_kg": 1},
                        headers=auth(world.tokens[token])).status_code == 404
    carriers = client.get("/api/v1/carriers", headers=auth(world.tokens[token])).json
    ids = {c["id"] for c in carriers["items"]}
    assert mine in ids and theirs not in ids


def test_enterprise_staff_register_their_own_carrier_and_crew(client, session_factory):
    world = make_world(session_factory)
    token = "logistics_E1"
    carrier = post(client, world, "carriers", {"name": "自有车队", "credit_code": uscc(7)}, token)
    assert carrier.status_code == 201
    assert carrier.json["enterprise_ids"] == [world.enterprises["E1"].id]
    person = post(client, world, "persons", {"name": "押运员甲", "national_id": national_id(31),
                                             "kinds": ["escort"],
                                             "carrier_id": carrier.json["id"]}, token)
    assert person.status_code == 201, person.json
    qual = post(client, world, "qualifications", {
        "person_id": person.json["id"], "kind": "escort", "cert_no": "YY-1",
        "expires_on": FUTURE}, token)
    assert qual.status_code == 201, qual.json
    theirs = post(client, world, "persons", {"name": "乙厂员工", "national_id": national_id(32),
                                             "kinds": ["employee"],
                                             "enterprise_id": world.enterprises["E2"].id})
    assert theirs.status_code == 201
    stranger = post(client, world, "qualifications", {
        "person_id": theirs.json["id"], "kind": "driver", "cert_no": "YY-2",
        "expires_on": FUTURE}, token)
    assert stranger.status_code == 422  # not their person: as if it did not exist


def test_enterprise_staff_cannot_touch_park_structure_or_blacklist(client, session_factory):
    world = make_world(session_factory)
    token = "logistics_E1"
    assert post(client, world, "gates", {"code": "X", "name": "x", "kind": "perimeter"},
                token).status_code == 403
    assert client.get("/api/v1/blacklist", headers=auth(world.tokens[token])).status_code == 403
    own = client.get("/api/v1/enterprises", headers=auth(world.tokens[token])).json
    assert [e["code"] for e in own["items"]] == ["E1"]


def test_park_can_switch_off_self_service(client, session_factory):
    world = make_world(session_factory)
    with session_factory() as s:
        park = s.get(Park, world.park.id)
        park.policy = {**park.policy, "enterprise_self_service": False}
        s.commit()
    response = post(client, world, "carriers", {"name": "x", "credit_code": uscc(8)},
                    "logistics_E1")
    assert response.status_code == 403 and response.json["code"] == "SELF_SERVICE_DISABLED"


def test_gate_operator_reads_but_does_not_write(client, session_factory):
    world = make_world(session_factory)
    assert client.get("/api/v1/vehicles",
                      headers=auth(world.tokens["gate_operator"])).status_code == 200
    assert post(client, world, "vehicles", {**BASE_VEHICLE, "plate": "苏E55555"},
                "gate_operator").status_code == 403


def test_docks_in_use_cannot_be_removed(client, session_factory):
    world = make_world(session_factory)
    plant = world.plants["E1"]
    from models import Dock

    with session_factory() as s:
        s.scalars(select(Dock).where(Dock.plant_id == plant.id)).one().busy = True
        s.commit()
    response = client.patch(f"/api/v1/plants/{plant.id}", json={"docks": ["D2"]},
                            headers=auth(world.tokens["admin"]))
    assert response.status_code == 422 and "docks" in response.json["errors"]


def test_search_finds_by_plate(client, session_factory):
    world = make_world(session_factory)
    found = client.get("/api/v1/vehicles?q=88888", headers=auth(world.tokens["admin"])).json
    assert [v["plate"] for v in found["items"]] == ["苏A88888"]
