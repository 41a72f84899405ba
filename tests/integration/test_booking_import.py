"""Many bookings from one file: every bad row reported, nothing half-imported, rows
booked in order; the CLI; the daily watch for papers expiring before a trip."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from kernel import clock
from models import AuditEvent, EnterpriseMaterialScope, Trip, Vehicle
from tests.factories import auth, make_world, national_id

HEADER = "plate,plate_colour,trailer_plate,driver,escort,plant,window_start,window_end,cargo," \
         "waybill_no,waybill_consignee\n"


@pytest.fixture
def world(session_factory):  # type: ignore[no-untyped-def]
    world = make_world(session_factory)
    with session_factory() as s:
        s.add(EnterpriseMaterialScope(enterprise_id=world.enterprises["E1"].id,
                                      direction="receive", un_number="UN1203", max_qty_kg=30000))
        s.add(EnterpriseMaterialScope(enterprise_id=world.enterprises["E1"].id,
                                      direction="receive", hazard_class="8"))
        s.commit()
    return world


def row(hours: int, *, plate: str = "苏E12345", escort: str = "CERT000002",
        cargo: str = "UN1203:20t", plant: str = "E1-P", waybill: str | None = None) -> str:
    # Park-local times (UTC+8), as people write them.
    start = (clock.now() + timedelta(hours=hours + 8)).strftime("%Y-%m-%d %H:%M")
    end = (clock.now() + timedelta(hours=hours + 11)).strftime("%Y-%m-%d %H:%M")
    return f"{plate},yellow,苏E1234挂,{national_id(1)},{escort},{plant},{start},{end},{cargo}," \
           f"{waybill or f'WB{hours}'},企业E1\n"


def upload(client, world, text: str, *, dry_run: bool = False):  # type: ignore[no-untyped-def]
    return client.post(f"/api/v1/bookings/import?dry_run={'true' if dry_run else 'false'}",
                       data={"file": (io.BytesIO(text.encode()), "bookings.csv")},
                       headers=auth(world.tokens["logistics_E1"]),
                       content_type="multipart/form-data")


def count(session_factory) -> int:  # type: ignore[no-untyped-def]
    with session_factory() as s:
        return s.scalar(select(func.count()).select_from(Trip)) or 0


def test_a_good_file_books_every_row(client, world, session_factory):  # type: ignore[no-untyped-def]
    text = HEADER + row(1) + row(5) + row(9, cargo="1830:500kg; UN1203:1t")
    r = upload(client, world, text, dry_run=True)
    assert r.status_code == 200 and r.json["ok"] and r.json["rows"] == 3
    assert count(session_factory) == 0  # dry run
    r = upload(client, world, text)
    assert r.status_code == 200 and r.json["booked"] == 3 and len(r.json["codes"]) == 3
    assert count(session_factory) == 3
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "trip.book")) == 3
        assert s.scalar(select(AuditEvent).where(AuditEvent.action == "bookings.import"))


def test_bad_rows_are_all_reported_and_nothing_is_saved(client, world, session_factory):  # type: ignore[no-untyped-def]
    text = HEADER + row(1) + row(2) + row(9, plate="苏Z99999") + row(20, escort="") + \
        row(30, cargo="UN1203=20t") + row(40, plant="NOPE")
    r = upload(client, world, text)
    assert r.status_code == 422 and not r.json["ok"]
    # Like every 4xx: a code to branch on, a sentence to read.
    assert r.json["code"] == "IMPORT_ROWS_INVALID"
    assert r.json["detail"] == f"发现 {r.json['error_count']} 个问题；未保存任何内容。"
    by_row: dict[int, list[str]] = {}
    for e in r.json["errors"]:
        by_row.setdefault(e["row"], []).append(e["field"])
    # Row 2 overlaps row 1 (the same truck and crew): rows are booked in order.
    assert any("TRIP_OVERLAP" in f for f in by_row[2])
    assert by_row[3] == ["plate"]
    assert by_row[4] == ["G13 ESCORT_MISSING"]
    assert by_row[5] == ["cargo"] and by_row[6] == ["plant"]
    assert 1 not in by_row
    assert all(e["message"] for e in r.json["errors"])
    assert count(session_factory) == 0


def fields_by_row(response) -> dict[int, list[str]]:  # type: ignore[no-untyped-def]
    by_row: dict[int, list[str]] = {}
    for e in response.json["errors"]:
        by_row.setdefault(e["row"], []).append(e["field"])
    return by_row


def test_a_waybill_named_twice_in_one_file_is_refused_on_its_second_row(client, world):  # type: ignore[no-untyped-def]
    """The file's rows are checked against the rows before them (G14), although none
    is written until the whole file has passed."""
    r = upload(client, world, HEADER + row(1, waybill="WB-SAME") + row(30, waybill="WB-SAME"))
    assert r.status_code == 422
    assert fields_by_row(r) == {2: ["G14 WAYBILL_USED"]}


def test_a_file_is_checked_against_the_trips_and_bans_the_park_holds(  # type: ignore[no-untyped-def]
        client, world, session_factory):
    from models import BlacklistEntry

    assert upload(client, world, HEADER + row(1, waybill="WB-STORED")).json["booked"] == 1
    with session_factory() as s:
        today = (clock.now() + timedelta(hours=8)).date()
        # The driver is banned until the day after tomorrow (park time): the rows that
        # start by then are refused, the rows days later are not.
        s.add(BlacklistEntry(subject_kind="person", person_id=world.persons["driver"].id,
                             reason="违章", until_on=today + timedelta(days=2),
                             created_at=clock.now()))
        s.commit()
    text = HEADER + row(2) + row(150, waybill="WB-STORED") + row(40) + row(100)
    r = upload(client, world, text)
    by_row = fields_by_row(r)
    assert any("TRIP_OVERLAP" in f for f in by_row[1])  # the stored trip holds the truck
    assert by_row[2] == ["G14 WAYBILL_USED"]  # the stored trip holds the waybill
    assert any("BLACKLISTED" in f for f in by_row[3])
    assert 4 not in by_row
    assert count(session_factory) == 1


def test_rows_in_later_slices_of_a_long_file_see_the_rows_before_them(  # type: ignore[no-untyped-def]
        client, world, session_factory, monkeypatch):
    """A long file is checked a slice at a time: a row still sees every row before
    it, in its own slice or an earlier one; a dry run and a bad file save nothing."""
    from booking import imports

    monkeypatch.setattr(imports, "SLICE_ROWS", 2)
    good = HEADER + row(1) + row(5) + row(9) + row(13, waybill="WB-X")
    assert upload(client, world, good, dry_run=True).json["ok"]
    assert count(session_factory) == 0
    bad = good + row(30) + row(6) + row(60, waybill="WB-X")
    r = upload(client, world, bad)
    by_row = fields_by_row(r)
    assert any("TRIP_OVERLAP" in f for f in by_row[6])  # overlaps row 2 (slice 1)
    assert by_row[7] == ["G14 WAYBILL_USED"]  # row 4's waybill (slice 2)
    assert set(by_row) == {6, 7}
    assert count(session_factory) == 0
    r = upload(client, world, good)
    assert r.json["booked"] == 4 and len(set(r.json["codes"])) == 4
    assert count(session_factory) == 4


def test_a_file_that_is_not_a_table_is_a_clear_error(client, world):  # type: ignore[no-untyped-def]
    r = client.post("/api/v1/bookings/import", data={"file": (io.BytesIO(b"\xff\xfe\x00"),
                                                               "x.pdf")},
                    headers=auth(world.tokens["logistics_E1"]),
                    content_type="multipart/form-data")
    assert r.status_code == 422 and r.json["code"] == "FILE_TYPE"
    r = client.post("/api/v1/bookings/import", headers=auth(world.tokens["logistics_E1"]))
    assert r.status_code == 422 and r.json["code"] == "FILE_MISSING"


def test_the_cli_imports_with_a_progress_bar(app, world, session_factory, tmp_path):  # type: ignore[no-untyped-def]
    from parkgate.cli import main

    path = tmp_path / "bookings.csv"
    path.write_text(HEADER + row(1) + row(5), encoding="utf-8")
    runner = app.test_cli_runner()
    result = runner.invoke(main, ["bookings", "import", str(path), "--as", "logistics_e1"])
    assert result.exit_code == 0, result.output
    assert "2 rows: 2 booked" in result.output
    assert count(session_factory) == 2
    path.write_text(HEADER + row(50, plate="苏Z99999"), encoding="utf-8")
    result = runner.invoke(main, ["bookings", "import", str(path)])
    assert result.exit_code == 1 and "NOTHING saved" in result.output
    assert "row 1: plate" in result.output


def test_the_watch_flags_bookings_whose_papers_will_have_expired(app, world, session_factory,  # type: ignore[no-untyped-def]
                                                                  bus, client):
    from booking.jobs import expiring_papers
    from kernel.uow import unit_of_work

    r = upload(client, world, HEADER + row(1))
    assert r.status_code == 200
    notices = bus.subscribe([f"enterprise:{world.enterprises['E1'].id}"])
    with session_factory() as s:  # the trailer's inspection turns out to have lapsed
        s.get(Vehicle, world.vehicles["trailer"].id).inspection_expires_on = \
            clock.now().date() - timedelta(days=1)
        s.commit()
    with unit_of_work(session_factory, bus) as uow:
        result = expiring_papers(uow)
    assert result == {"checked": 1, "flagged": 1}
    event = notices.get(timeout=10)
    assert event is not None and event.type == "booking.documents_expiring"
    assert event.data["failures"] == ["INSPECTION_EXPIRED"]


def test_an_id_number_is_found_however_its_check_letter_is_written(  # type: ignore[no-untyped-def]
        app, world, session_factory):
    """A file may spell one driver's number with x on one row and X on another: both
    rows name the driver, as the booking page's look-up does."""
    from auth.principal import system_principal
    from booking.forms import find_people, find_person
    from kernel.uow import unit_of_work
    from tests.factories import make_person

    with unit_of_work(session_factory) as uow:
        driver = make_person(uow, 10, "赵师傅", "driver", expires_on=clock.now().date())
        uow.commit()
    upper = national_id(10)
    assert upper.endswith("X")
    lower = upper[:-1] + "x"
    principal = system_principal("tests")
    with session_factory() as s:
        found = find_people(s, [upper, lower, "CERT000010", "赵师傅"], principal)
        assert {text: [p.id for p in people] for text, people in found.items()} == {
            upper: [driver.id], lower: [driver.id], "CERT000010": [driver.id],
            "赵师傅": [driver.id]}
        assert [p.id for p in find_person(s, lower, principal)] == [driver.id]
