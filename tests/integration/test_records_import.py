"""Importing and exporting records: all or nothing, every bad row reported."""

from __future__ import annotations

import csv
import io
import json

from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from models import AuditEvent, Person, Vehicle
from tests.factories import auth, make_world, national_id

HEADER = "plate,plate_colour,kind,category,road_permit_no,permit_scope,permit_expires_on\n"
GOOD = [
    "苏E60001,yellow,tractor,hazmat,P-1,3;8,2027-06-30",
    "苏E6002挂,yellow,trailer,hazmat,P-2,3,2027-06-30",
    "苏A66666,blue,car,small,,,",
]


def upload(client, world, kind, content: bytes, name="data.csv", **query):  # type: ignore[no-untyped-def]
    qs = "&".join(f"{k}={str(v).lower()}" for k, v in query.items())
    return client.post(f"/api/v1/{kind}/import?{qs}", headers=auth(world.tokens["admin"]),
                       data={"file": (io.BytesIO(content), name)},
                       content_type="multipart/form-data")


def vehicle_count(session_factory) -> int:  # type: ignore[no-untyped-def]
    with session_factory() as s:
        return s.scalar(select(func.count()).select_from(Vehicle))


def test_dry_run_reports_every_bad_row_and_saves_nothing(client, session_factory):
    world = make_world(session_factory)
    before = vehicle_count(session_factory)
    rows = [*GOOD,
            "苏EO0001,yellow,tractor,hazmat,P-3,3,2027-06-30",  # O in a plate
            "苏E60001,yellow,tractor,hazmat,P-4,3,2027-06-30",  # twice in the file
            "苏E12345,yellow,tractor,hazmat,P-5,3,not-a-date",  # bad date
            "苏E60005,purple,tractor,hazmat,P-6,3,2027-06-30"]  # bad colour
    content = (HEADER + "\n".join(rows) + "\n").encode()
    response = upload(client, world, "vehicles", content, dry_run=True)
    assert response.status_code == 422
    report = response.json
    bad = {(e["row"], e["field"]) for e in report["errors"]}
    assert {(4, "plate"), (5, "plate"), (6, "permit_expires_on"), (7, "plate_colour")} <= bad
    assert report["error_count"] == len(report["errors"])
    assert {e["row"] for e in report["errors"]} == {4, 5, 6, 7}
    assert vehicle_count(session_factory) == before


def test_a_bad_row_stops_the_whole_real_import(client, session_factory):
    world = make_world(session_factory)
    before = vehicle_count(session_factory)
    content = (HEADER + "\n".join([*GOOD, "XX,yellow,tractor,hazmat,P,3,2027-01-01"])
               + "\n").encode()
    response = upload(client, world, "vehicles", content)
    assert response.status_code == 422
    assert vehicle_count(session_factory) == before  # nothing half-imported


def test_clean_import_creates_then_updates(client, session_factory):
    world = make_world(session_factory)
    before = vehicle_count(session_factory)
    content = (HEADER + "\n".join(GOOD) + "\n").encode("utf-8-sig")
    dry = upload(client, world, "vehicles", content, dry_run=True)
    assert dry.status_code == 200 and dry.json["created"] == 3
    assert vehicle_count(session_factory) == before
    real = upload(client, world, "vehicles", content)
    assert real.status_code == 200, real.json
    assert real.json["created"] == 3 and real.json["sha256"]
    assert vehicle_count(session_factory) == before + 3
    changed = content.replace(b"P-1,3;8,2027-06-30", b"P-1,3;8,2028-06-30")
    again = upload(client, world, "vehicles", changed)
    assert again.json["updated"] == 1 and again.json["unchanged"] == 2
    with session_factory() as s:
        actions = s.scalars(select(AuditEvent.action).where(AuditEvent.action.in_(
            ["records.import", "record.update"])).order_by(AuditEvent.seq)).all()
        update = s.scalars(select(AuditEvent).where(AuditEvent.action == "record.update")).one()
    assert actions == ["records.import", "record.update", "records.import"]
    assert json.loads(update.payload)["after"] == {"permit_expires_on": "2028-06-30"}


def test_create_only_refuses_existing_records(client, session_factory):
    world = make_world(session_factory)
    content = (HEADER + "苏E12345,yellow,tractor,hazmat,P-1,3,2027-06-30\n").encode()
    response = upload(client, world, "vehicles", content, create_only=True)
    assert response.status_code == 422
    assert response.json["errors"][0]["field"] == "plate"


def test_unknown_columns_and_empty_files(client, session_factory):
    world = make_world(session_factory)
    response = upload(client, world, "vehicles", b"plate,wheels\n\xe8\x8b\x8fE1,18\n")
    assert response.status_code == 422
    assert {k: response.json["errors"][0][k]
                                            for k in ("field", "row")} == {"field": "wheels", "row": 0}
    empty = upload(client, world, "vehicles", HEADER.encode())
    assert empty.status_code == 422
    not_utf8 = upload(client, world, "vehicles", HEADER.encode() + "苏E1".encode("gbk"))
    assert not_utf8.status_code == 422 and not_utf8.json["code"] == "FILE_ENCODING"


def test_wrong_file_type_is_refused(client, session_factory):
    world = make_world(session_factory)
    response = upload(client, world, "vehicles", b"\x89PNG", name="photo.png")
    assert response.status_code == 422 and response.json["code"] == "FILE_TYPE"
    missing = client.post("/api/v1/vehicles/import", headers=auth(world.tokens["admin"]))
    assert missing.status_code == 422 and missing.json["code"] == "FILE_MISSING"


def test_xlsx_import_of_persons_keeps_ids_secret(client, session_factory):
    world = make_world(session_factory)
    book = Workbook()
    sheet = book.active
    sheet.append(["name", "national_id", "kinds", "phone"])
    sheet.append(["押运员乙", national_id(301), "escort", "13900002222"])
    sheet.append(["司机丙", national_id(302), "driver; escort", None])
    buffer = io.BytesIO()
    book.save(buffer)
    response = upload(client, world, "persons", buffer.getvalue(), name="people.xlsx")
    assert response.status_code == 200, response.json
    assert response.json["created"] == 2
    with session_factory() as s:
        names = set(s.scalars(select(Person.name)))
        stored = " ".join(p.id_cipher + p.id_hash + p.id_masked for p in s.scalars(select(Person)))
    assert {"押运员乙", "司机丙"} <= names
    assert national_id(301) not in stored
    again = upload(client, world, "persons", buffer.getvalue(), name="people.xlsx")
    assert again.json["unchanged"] == 2  # same ID numbers: the same people


def test_export_csv_and_xlsx(client, session_factory):
    world = make_world(session_factory)
    response = client.get("/api/v1/vehicles/export?format=csv",
                          headers=auth(world.tokens["admin"]))
    assert response.status_code == 200 and response.mimetype == "text/csv"
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    assert {r["plate"] for r in rows} == {"苏E12345", "苏E1234挂", "苏A88888"}
    assert next(r for r in rows if r["plate"] == "苏E12345")["permit_scope"] == "3;8"
    xlsx = client.get("/api/v1/persons/export?format=xlsx", headers=auth(world.tokens["admin"]))
    sheet = load_workbook(io.BytesIO(xlsx.data)).active
    header = [c.value for c in next(sheet.iter_rows(max_row=1))]
    assert "national_id" not in header and "id_masked" in header
    assert sheet.max_row == 3  # header + driver + escort


def test_exported_vehicles_import_back_unchanged(client, session_factory):
    world = make_world(session_factory)
    exported = client.get("/api/v1/vehicles/export?format=csv",
                          headers=auth(world.tokens["admin"])).get_data()
    text = exported.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    keep = ["plate", "plate_colour", "kind", "category", "road_permit_no", "permit_scope",
            "permit_expires_on", "inspection_expires_on"]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=keep, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    response = upload(client, world, "vehicles", out.getvalue().encode())
    assert response.status_code == 200, response.json
    assert response.json["unchanged"] == 3


def test_enterprise_import_is_scoped(client, session_factory):
    world = make_world(session_factory)
    content = (HEADER + GOOD[0] + "\n").encode()
    response = client.post("/api/v1/vehicles/import",
                           headers=auth(world.tokens["logistics_E1"]),
                           data={"file": (io.BytesIO(content), "v.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 422  # no carrier of theirs named: out of scope
    assert response.json["errors"][0]["field"] == "_row"


LANES = "code,gate_id,direction,name,confidence_threshold,antipassback\n"


def test_a_lane_code_in_lower_case_is_the_same_lane_and_a_blank_keeps_its_value(
        client, session_factory):
    world = make_world(session_factory)
    lane = world.lanes["E1-IN"]
    client.patch(f"/api/v1/lanes/{lane.id}", json={"confidence_threshold": 0.93},
                 headers=auth(world.tokens["admin"]))
    # Blank cells in columns that hold no NULL (threshold, anti-passback): the stored
    # values stay. Before, they reached the database as NULL and the import was a 500.
    content = f"{LANES}e1-in,{lane.gate_id},in,东门入口,,\n".encode()
    response = upload(client, world, "lanes", content)
    assert response.status_code == 200, response.json
    assert (response.json["updated"], response.json["created"]) == (1, 0)
    lanes = client.get("/api/v1/lanes", query_string={"q": "E1-IN"},
                       headers=auth(world.tokens["admin"])).json["items"]
    assert [(x["code"], x["name"], x["confidence_threshold"], x["antipassback"])
            for x in lanes] == [("E1-IN", "东门入口", 0.93, "hold")]


def test_one_code_twice_in_two_cases_is_a_row_error_with_a_code_not_a_500(
        client, session_factory):
    world = make_world(session_factory)
    gate_id = world.lanes["E1-IN"].gate_id
    content = f"{LANES}z9-in,{gate_id},in,a,,\nZ9-IN,{gate_id},in,b,,\n".encode()
    response = upload(client, world, "lanes", content)
    assert response.status_code == 422
    assert [(e["row"], e["field"]) for e in response.json["errors"]] == [(2, "code")]
    assert response.json["code"] == "IMPORT_ROWS_INVALID"
    assert response.json["detail"] == "发现 1 个问题；未保存任何内容。"
    ok = upload(client, world, "lanes", f"{LANES}z9-in,{gate_id},in,a,,\n".encode())
    assert ok.status_code == 200 and ok.json["code"] is None
