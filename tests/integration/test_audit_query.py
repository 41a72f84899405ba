"""Auditors: every search filter, a trip's timeline, streamed exports checked offline
against a signed checkpoint, retention, the roster, unmasking personal data."""

from __future__ import annotations

import base64
import csv
import io
import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from audit import checkpoints as cp
from audit import export, query
from audit.offline import main as offline_main
from audit.offline import verify_rows
from audit.query import AuditFilter
from audit.service import verify_chain
from kernel import clock
from kernel.uow import Actor, unit_of_work
from models import AuditEvent, Carrier, Dock, Passage, PassageImage, Trip
from parkgate.cells import csv_value
from parkgate.signing import public_key_b64
from tests import ROOT
from tests.factories import auth, book, make_world, national_id
from tests.integration.test_gate import JPEG, occupy_docks, read

CROP = base64.b64encode(JPEG).decode()


def drive(client, world, session_factory) -> dict:  # type: ignore[no-untyped-def]
    """A hazmat trip from booking to exit, a car turned away and let in by the
    operator, and a car let in by a gate agent while the centre was unreachable."""
    trip = book(session_factory, world)
    occupy_docks(session_factory, world)
    out = {"trip": trip.id}
    out["divert"] = read(client, world, "P1-IN", crop_jpeg_b64=CROP).json["id"]
    assert read(client, world, "L1-IN", crew_ids=[national_id(1), national_id(2)],
                later=True, crop_jpeg_b64=CROP).json["action"] == "OPEN"
    with session_factory() as s:
        dock_id = s.scalar(select(Dock.id).where(Dock.plant_id == world.plants["E1"].id))
    client.post(f"/api/v1/docks/{dock_id}/free", headers=auth(world.tokens["receiver"]))
    for lane in ("L1-OUT", "P1-IN", "E1-IN", "E1-OUT", "P1-OUT"):
        r = read(client, world, lane, later=True)
        assert r.json["action"] == "OPEN", (lane, r.json["reasons"])
    denied = read(client, world, "P1-IN", plate="苏A88888", plate_colour="blue",
                  trailer_plate=None, trailer_confidence=None, later=True)
    assert denied.json["action"] == "DENY"
    out["denied"] = denied.json["id"]
    out["denied_reasons"] = [r["code"] for r in denied.json["reasons"]]
    r = client.post(f"/api/v1/passages/{out['denied']}/override",
                    json={"action": "OPEN", "reason": "消防检查车辆"},
                    headers=auth(world.tokens["gate_operator"]))
    assert r.status_code == 200, r.json
    offline = read(client, world, "P2-IN", plate="苏A88888", plate_colour="blue",
                   trailer_plate=None, trailer_confidence=None, later=True,
                   offline={"action": "OPEN", "reasons": [],
                            "decided_at": clock.now().isoformat()})
    assert offline.status_code == 201, offline.json
    out["offline"] = offline.json["id"]
    return out


def events(client, world, **params):  # type: ignore[no-untyped-def]
    r = client.get("/api/v1/audit/events", query_string=params,
                   headers=auth(world.tokens["auditor"]))
    assert r.status_code == 200, r.json
    return r.json


def passages(client, world, **params):  # type: ignore[no-untyped-def]
    r = client.get("/api/v1/audit/passages", query_string=params,
                   headers=auth(world.tokens["auditor"]))
    assert r.status_code == 200, r.json
    return r.json["items"]


@pytest.fixture
def scene(client, session_factory):  # type: ignore[no-untyped-def]
    world = make_world(session_factory)
    return world, drive(client, world, session_factory)


def test_each_filter_finds_what_it_names_and_nothing_else(client, session_factory, scene):
    world, s = scene
    trip = s["trip"]
    tractor = events(client, world, plate="苏E12345")["items"]
    # Its gate reads, and its trip's events that carry no plate (booking, lot, release).
    assert tractor and {e["plate"] for e in tractor} == {"苏E12345", None}
    assert all(e["plate"] == "苏E12345" or e["trip_id"] == trip for e in tractor)
    assert {"trip.book", "trip.release", "gate.decision"} <= {e["action"] for e in tractor}
    # The trailer's plate finds the trips it was hitched to.
    trailer = events(client, world, plate="苏E1234挂")["items"]
    assert trailer and {e["trip_id"] for e in trailer} == {trip}
    assert {e["plate"] for e in events(client, world, plate="苏A88888")["items"]} == {"苏A88888"}

    # A person by certificate number, by full ID and by masked ID: their trip's events.
    for who in ("CERT000001", national_id(1), world.persons["driver"].id_masked):
        found = events(client, world, person=who)["items"]
        assert found and {e["trip_id"] for e in found} <= {trip, None}, who
        assert any(e["action"] == "gate.decision" for e in found), who
    assert events(client, world, person="CERT999999")["items"] == []

    e1 = events(client, world, enterprise_id=world.enterprises["E1"].id)["items"]
    assert e1 and all(e["enterprise_id"] == world.enterprises["E1"].id for e in e1)
    e2 = events(client, world, enterprise_id=world.enterprises["E2"].id)["items"]
    assert {e["action"] for e in e2} == {"user.create"}  # its staff account, no trips

    lane = world.lanes["E1-IN"]
    at_lane = events(client, world, lane_id=lane.id)["items"]
    assert at_lane and {e["lane_id"] for e in at_lane} == {lane.id}
    at_gate = events(client, world, gate_id=lane.gate_id)["items"]
    assert {e["lane_id"] for e in at_gate} == {world.lanes["E1-IN"].id, world.lanes["E1-OUT"].id}

    assert {e["action"] for e in events(client, world, action="gate.override")["items"]} \
        == {"gate.override"}
    assert {e["action"] for e in events(client, world, action="trip.*")["items"]} >= {
        "trip.book", "trip.exit_park"}

    denied = passages(client, world, decision="DENY")
    assert [p["id"] for p in denied] == [s["denied"]]
    reason = s["denied_reasons"][0]
    assert [p["id"] for p in passages(client, world, reason=reason)] == [s["denied"]]
    assert {e["subject_id"] for e in events(client, world, reason=reason)["items"]} \
        == {str(s["denied"])}
    assert [p["id"] for p in passages(client, world, override="true")] == [s["denied"]]
    assert s["denied"] not in [p["id"] for p in passages(client, world, override="false")]
    assert [p["id"] for p in passages(client, world, offline="true")] == [s["offline"]]
    assert s["divert"] in [p["id"] for p in passages(client, world, decision="DIVERT_TO_LOT")]

    # A carrier: its vehicles' events.
    with session_factory() as db:
        carrier = Carrier(name="远通运输", credit_code="91320000MA1XXXXX01", licence_no="L1",
                          licence_scope=["3"])
        db.add(carrier)
        db.flush()
        db.get(type(world.vehicles["tractor"]), world.vehicles["tractor"].id).carrier_id = \
            carrier.id
        db.commit()
        carrier_id = carrier.id
    by_carrier = events(client, world, carrier_id=carrier_id)["items"]
    assert by_carrier and {e["plate"] for e in by_carrier} == {"苏E12345"}
    assert {p["plate"] for p in passages(client, world, carrier_id=carrier_id)} == {"苏E12345"}

    # Time range (park time when no zone is given) and paging by key.
    now = clock.now()
    assert events(client, world, since=(now + timedelta(hours=1)).isoformat())["items"] == []
    everything = events(client, world, limit=500)["items"]
    page1 = events(client, world, limit=5)
    page2 = events(client, world, limit=5, before=page1["next_before"])
    assert [e["seq"] for e in page1["items"] + page2["items"]] == \
        [e["seq"] for e in everything[:10]]


def test_a_plate_or_a_person_reaches_the_trail_as_ids_an_index_answers(
        session_factory, scene, monkeypatch):
    """Left as sub-selects ORed with the plate, a plate's trips gave the planner nothing
    to look up, and it walked a year of events backwards for one page (1.2 s at 5 M
    events, bench/audit_query.py). They are looked up first and named by id; past
    MAX_LISTED ids the sub-select comes back, and finds the same."""
    world, _ = scene
    filters = [AuditFilter(plate="苏E12345"), AuditFilter(plate="苏E1234挂"),
               AuditFilter(person="CERT000001"), AuditFilter(person=national_id(1)),
               AuditFilter(person=world.persons["driver"].id_masked),
               AuditFilter(enterprise_id=world.enterprises["E1"].id)]
    with session_factory() as db:
        for f in filters:
            for build, key in ((query.events_statement, AuditEvent.seq),
                               (query.passages_statement, Passage.id)):
                stmt = build(db, f)
                assert str(stmt).count("SELECT") == 1, (f, str(stmt))
                listed = db.scalars(stmt.with_only_columns(key).order_by(key)).all()
                monkeypatch.setattr(query, "MAX_LISTED", 0)
                selected = build(db, f)
                monkeypatch.undo()
                # (An enterprise's events carry its id: nothing to look up.)
                assert str(selected).count("SELECT") > 1 or f.enterprise_id
                assert db.scalars(selected.with_only_columns(key).order_by(key)).all() \
                    == listed, f
                if build is query.events_statement:
                    assert listed, f


def test_an_action_prefix_names_the_actions_the_trail_holds(client, session_factory, scene):
    """`trip.*` becomes the trail's trip actions, which the (action, at) index answers (a
    LIKE it cannot use: a rare prefix walked the whole trail, 0.4 s at 5 M events), and
    a prefix is taken literally (`_` is no wildcard) whatever its case."""
    world, _ = scene
    with session_factory() as db:
        trail = set(db.scalars(select(AuditEvent.action)))
        assert set(query.actions_starting(db, "trip.")) == {
            a for a in trail if a.startswith("trip.")} != set()
        assert "LIKE" not in str(query.events_statement(db, AuditFilter(action="trip.*")))
    assert events(client, world, action="gate_*")["items"] == []
    assert events(client, world, action="TRIP.*", limit=500)["items"] == \
        events(client, world, action="trip.*", limit=500)["items"] != []
    assert {e["action"] for e in events(client, world, action="gate.*", limit=500)["items"]} == {
        a for a in trail if a.startswith("gate.")}


def test_bad_filters_are_clear_400s_and_other_roles_are_refused(client, session_factory):
    world = make_world(session_factory)
    for params in ({"decision": "MAYBE"}, {"since": "yesterday"}, {"limit": 0},
                   {"reason": "x'; drop table audit_events;--"}, {"colour": "red"},
                   {"since": "2026-11-22T10:00", "until": "2026-11-22T09:00"}):
        r = client.get("/api/v1/audit/events", query_string=params,
                       headers=auth(world.tokens["auditor"]))
        assert r.status_code in (400, 422), (params, r.status_code)
        assert r.json.get("code"), r.json
    for role in ("gate_operator", "dispatcher", "logistics_E1", "device"):
        r = client.get("/api/v1/audit/events", headers=auth(world.tokens[role]))
        assert r.status_code == 403, role


def test_the_timeline_shows_a_trip_from_booking_to_exit(client, session_factory, scene):
    world, s = scene
    r = client.get(f"/api/v1/audit/trips/{s['trip']}/timeline",
                   headers=auth(world.tokens["auditor"]))
    assert r.status_code == 200
    entries = r.json["entries"]
    actions = [e["action"] for e in entries]
    assert actions[0] == "trip.book" and actions[-1] in ("trip.exit_park", "passage.crew")
    order = [a for a in actions if a.startswith("trip.")]
    assert order == ["trip.book", "trip.arrive", "trip.check_in_lot", "trip.release",
                     "trip.enter_plant", "trip.leave_plant", "trip.exit_park"]
    decisions = [e for e in entries if e["action"] == "gate.decision"]
    assert [d["passage"]["lane"] for d in decisions] == [
        "P1-IN", "L1-IN", "L1-OUT", "P1-IN", "E1-IN", "E1-OUT", "P1-OUT"]
    assert decisions[0]["passage"]["has_crop"] and decisions[0]["passage"]["action"] \
        == "DIVERT_TO_LOT"
    assert any(e["kind"] == "passage" and e["passage"]["subject_kind"] == "person"
               for e in entries)  # the crew rode along
    assert all(entries[i]["at"] <= entries[i + 1]["at"] for i in range(len(entries) - 1))
    page = client.get(f"/audit/trips/{s['trip']}", headers=auth(world.tokens["auditor"]))
    assert page.status_code == 200 and "trip.release" in page.text
    missing = client.get("/api/v1/audit/trips/999999/timeline",
                         headers=auth(world.tokens["auditor"]))
    assert missing.status_code == 404 and missing.json["code"] == "TRIP_NOT_FOUND"


def _export(client, world, fmt="csv", **params) -> bytes:  # type: ignore[no-untyped-def]
    r = client.get("/api/v1/audit/events/export", query_string={"format": fmt, **params},
                   headers=auth(world.tokens["auditor"]))
    assert r.status_code == 200
    return r.get_data()


def _checkpoint(client, world) -> tuple[str, int]:  # type: ignore[no-untyped-def]
    """A checkpoint signed now (a signed note) and the tree size it signs."""
    made = client.post("/api/v1/audit/checkpoints", headers=auth(world.tokens["admin"]))
    assert made.status_code == 201, made.json
    got = client.get(f"/api/v1/audit/checkpoints/{made.json['id']}",
                     headers=auth(world.tokens["auditor"]))
    assert got.mimetype == "text/plain"
    return got.get_data(as_text=True), made.json["size"]


def _rows(data: bytes) -> list[list[str]]:
    """The export's CSV rows: the preamble's `#key,value` rows, the header, the events."""
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def split(rows: list[list[str]]) -> tuple[list[list[str]], list[str], list[list[str]]]:
    start = next(i for i, r in enumerate(rows) if r and not r[0].startswith("#"))
    return rows[:start], rows[start], rows[start + 1:]


def _write(tmp_path: Path, rows: list[list[str]], name: str = "export.csv") -> Path:
    path = tmp_path / name
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)
    return path


def test_an_export_checks_offline_against_a_signed_checkpoint(client, app, session_factory,
                                                               scene, tmp_path):
    world, _ = scene
    note, size = _checkpoint(client, world)
    key = client.get("/api/v1/audit/public-key", headers=auth(world.tokens["auditor"])
                     ).json["public_key"]
    (tmp_path / "cp.note").write_text(note)
    rows = _rows(_export(client, world))
    preamble, header, body = split(rows)
    assert tuple(header) == export.COLUMNS and len(body) > 20
    assert dict(preamble)["#filter"] == "{}"  # a whole export: a run of the chain
    args = ["--checkpoint", str(tmp_path / "cp.note"), "--public-key", key]
    assert offline_main([str(_write(tmp_path, rows)), *args]) == 0

    # The events a checkpoint covers, as linked from the verify page: an excerpt.
    up_to = _rows(_export(client, world, seq_to=size))
    assert int(up_to[-1][0]) == size
    assert offline_main([str(_write(tmp_path, up_to)), *args]) == 0

    # XLSX carries the same rows.
    (tmp_path / "e.xlsx").write_bytes(_export(client, world, "xlsx"))
    assert offline_main([str(tmp_path / "e.xlsx"), *args]) == 0

    plate = header.index("plate")
    edited = [list(r) for r in body]
    edited[3][plate] = "苏A00000"
    payload = header.index("payload")
    tampered_payload = [list(r) for r in body]
    diverted = next(r for r in tampered_payload if '"DIVERT_TO_LOT"' in r[payload])
    diverted[payload] = diverted[payload].replace('"DIVERT_TO_LOT"', '"OPEN"')
    reordered = [list(r) for r in body]
    reordered[4], reordered[5] = reordered[5], reordered[4]
    for bad in (edited, body[:6] + body[7:], reordered, tampered_payload):
        assert offline_main([str(_write(tmp_path, [*preamble, header, *bad])), *args]) == 1

    # Re-hashing the whole chain after an edit does not match what the park signed.
    from audit.chain import GENESIS_HASH, link
    from audit.chain import body as chain_body
    from audit.heads import open_checkpoint
    rewritten, prev = [], GENESIS_HASH
    hashed = export.COLUMNS[3:export.COLUMNS.index("trip_prev_leaf")]
    for r in edited:
        cells = dict(zip(header, r, strict=True))
        trip_prev = export.decode(cells["trip_prev_leaf"])
        digest = link(prev, chain_body(int(cells["seq"]), export.instant(int(cells["at_us"])),
                                       [export.decode(cells[c]) for c in hashed],
                                       int(trip_prev) if trip_prev else None))
        at = header.index("prev_hash")
        rewritten.append([*r[:at], prev, digest, *r[at + 2:]])
        prev = digest
    result = verify_rows(export.read_rows(str(_write(tmp_path, [header, *rewritten]))),
                         open_checkpoint(note, key))
    assert not result.ok and result.problem == "does not match the signed checkpoint"

    # A forged checkpoint (signed by another key) is refused.
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from audit import note as notes
    head = open_checkpoint(note, key).head
    assert head is not None
    (tmp_path / "forged.note").write_text(notes.sign(head, Ed25519PrivateKey.generate()))
    assert offline_main([str(_write(tmp_path, rows)), "--checkpoint",
                         str(tmp_path / "forged.note"), "--public-key", key]) == 1

    # A filtered export is an excerpt: every row proven, the filter in its preamble.
    filtered = _rows(_export(client, world, action="trip.*"))
    assert json.loads(dict(split(filtered)[0])["#filter"]) == {"action": "trip.*"}
    assert offline_main([str(_write(tmp_path, filtered)), *args]) == 0


def test_the_live_chain_verifies_against_its_checkpoint(client, app, database, session_factory,
                                                        scene):
    world, _ = scene
    _, size = _checkpoint(client, world)
    checkpoint_id = client.get("/api/v1/audit/checkpoints", headers=auth(world.tokens["auditor"])
                               ).json["items"][0]["id"]
    ok = client.get("/api/v1/audit/verify", query_string={"checkpoint_id": checkpoint_id},
                    headers=auth(world.tokens["auditor"]))
    assert ok.json["ok"] is True and ok.json["head_seq"] == size
    assert ok.json["checkpoints_checked"] == 1  # the one it was held against
    ranged = client.get("/api/v1/audit/verify", query_string={"from": 3, "to": 9},
                        headers=auth(world.tokens["auditor"]))
    assert ranged.json["ok"] is True and ranged.json["checked"] == 7
    backwards = client.get("/api/v1/audit/events", query_string={"seq_from": 50, "seq_to": 10},
                           headers=auth(world.tokens["auditor"]))
    assert backwards.status_code == 400 and backwards.json["code"] == "SEQ_RANGE"
    # A range past the chain's head proves nothing: it is refused, not passed.
    past = client.get("/api/v1/audit/verify", query_string={"from": 5000},
                      headers=auth(world.tokens["auditor"]))
    assert past.status_code == 400 and past.json["code"] == "VERIFY_RANGE_EMPTY"
    page = client.post("/audit/verify", data={"from": "5000"},
                       headers=auth(world.tokens["auditor"]))
    assert page.status_code == 400 and "#5000" in page.get_data(as_text=True)
    # A checkpoint whose stored statement was altered no longer verifies.
    with session_factory() as s:
        row = cp.get(s, checkpoint_id)
        lines = row.envelope.split("\n")
        lines[1] = str(int(lines[1]) - 1)  # the signed size, altered
        row.envelope = "\n".join(lines)
        s.commit()
    bad = client.get("/api/v1/audit/verify", query_string={"checkpoint_id": checkpoint_id},
                     headers=auth(world.tokens["auditor"]))
    assert bad.json["ok"] is False and "signature" in bad.json["problem"]


def test_the_checkpoint_job_signs_only_when_the_chain_moved(app, session_factory):
    make_world(session_factory)
    key = app.extensions["parkgate.snapshot_key"]
    with unit_of_work(session_factory) as uow:
        first = cp.issue(uow, key, Actor.system("t"), clock.now())
        uow.commit()
    with unit_of_work(session_factory) as uow:
        idle = cp.issue(uow, key, Actor.system("t"), clock.now())
        uow.commit()
    assert first is not None and idle is None
    from audit.heads import open_checkpoint
    signed = open_checkpoint(first.envelope, public_key_b64(key))
    assert signed.seq == first.seq and signed.chain_hash == first.hash
    assert signed.root is not None and signed.root.hex() == first.root


# Measured in a process of its own: tracemalloc's peak counts every allocation in the
# process, and inside a full test run something else in the worker once added ~10 MB to
# the window (a CI failure the export alone never shows), so the figure was not the
# export's.
_EXPORT_PEAK = """
import sys, tracemalloc
from audit import excerpt
from audit.query import AuditFilter
from models.db import make_engine, make_session_factory

sessions = make_session_factory(make_engine(sys.argv[1]))

def run(f):
    with sessions() as s:
        return sum(len(chunk) for chunk in excerpt.csv_text(s, f, None, {}))

run(AuditFilter(seq_to=10))  # imports and statement compilation out of the window
tracemalloc.start()
total = run(AuditFilter())
print(total, tracemalloc.get_traced_memory()[1])
"""


# Texts an export must carry through unchanged: formulas, the NULL marker and
# backslashes, quotes and commas, a quote at the start, Chinese, the empty text.
TRICKY = ("=HYPERLINK(\"http://x\")", "+86 138", "-2+3", "@SUM(A1)", "'quoted", "\\N",
          "\\\\share", "a,b", 'say "hi"', "苏E12345,挂", "", " lead", "x'y", "-")


def test_the_database_writes_the_export_python_writes_byte_for_byte(database,
                                                                   session_factory):
    """A whole export's rows are rendered by the database (audit.export_sql); an auditor
    must get exactly the file the cell-by-cell path writes, tricky texts included."""
    from datetime import UTC, datetime

    from audit import excerpt
    from audit.query import AuditFilter, iter_events

    for i, t in enumerate(TRICKY):
        # Whole seconds too: isoformat() then writes no fraction.
        clock.pin(datetime(2026, 3, 1, 8, 0, i, 0 if i % 2 else 250_000 + i, tzinfo=UTC))
        with unit_of_work(session_factory) as uow:
            uow.audit(t or "x", Actor(kind="user", id=t or None, name=t), subject_kind=t[:32],
                      subject_id=t, plate=t[:16] or None, trip_id=-i if i % 3 else i,
                      lane_id=None if i % 2 else i, payload={"t": t, "n": [i, None]})
            uow.commit()
    clock.unpin()
    with session_factory() as s:
        rendered = "".join(excerpt.csv_text(s, AuditFilter(), None, {}))
        cells = (export.event_cells(e) for e in iter_events(s, AuditFilter()))
        written = "".join(export.csv_chunks(cells, {}))
        part = "".join(excerpt.csv_text(s, AuditFilter(seq_from=3, seq_to=5), None, {}))
    assert rendered == written
    lines = rendered.splitlines()
    assert len(lines) == len(export.PREAMBLE) + 1 + len(TRICKY)
    assert "'=HYPERLINK" in rendered and ',\\\\N,' in rendered and '"a,b"' in rendered
    head = len(export.PREAMBLE) + 1
    assert part.splitlines()[head:] == [ln for ln in lines[head:]
                                        if ln.split(",")[0] in ("3", "4", "5")]
    body = list(csv.reader(io.StringIO(rendered)))[head:]
    assert [export.decode(csv_value(r[export.COLUMNS.index("actor_name")]))
            for r in body] == list(TRICKY)


def test_export_memory_stays_flat_however_many_events(database, session_factory):
    """A year of events must stream: the peak for 6000 events is about the peak for
    2000 (both fill whole batches), not three times it."""
    make_world(session_factory)

    def grow_to(n_events: int) -> None:
        with session_factory() as s:
            have = s.scalar(select(AuditEvent.seq).order_by(AuditEvent.seq.desc()).limit(1))
        while have < n_events:
            with unit_of_work(session_factory) as uow:
                for _ in range(min(500, n_events - have)):
                    uow.audit("record.update", Actor.system("t"), subject_kind="vehicle",
                              subject_id="1", plate="苏E12345",
                              payload={"before": {"note": "x" * 80}, "after": {"note": "y"}})
                    have += 1
                uow.commit()

    def peak(n_events: int) -> int:
        grow_to(n_events)
        out = subprocess.run([sys.executable, "-c", _EXPORT_PEAK, database.url], cwd=ROOT,
                             capture_output=True, text=True, check=True).stdout.split()
        total, top = int(out[0]), int(out[1])
        assert total > n_events * 100
        return top

    small = peak(2000)
    large = peak(6000)
    assert large < small * 1.5, (small, large)


def test_retention_purges_old_crops_and_the_chain_stays_valid(client, database, session_factory,
                                                              scene):
    world, s = scene
    with session_factory() as db:
        assert db.scalar(select(PassageImage.sha256)) is not None
    clock.advance(timedelta(days=91))
    r = client.post("/api/v1/audit/retention/purge", json={},
                    headers=auth(world.tokens["admin"]))
    assert r.status_code == 200 and r.json["images_deleted"] == 1
    with session_factory() as db:
        assert db.scalar(select(PassageImage.sha256)) is None
        passage = db.get(Passage, s["divert"])
        assert passage.crop_sha256 is not None  # the hash stays on record
        purge = db.scalar(select(AuditEvent).where(AuditEvent.action == "retention.purge_images"))
        assert json.loads(purge.payload)["deleted"] == 1
    assert verify_chain(database.engine).ok
    crop = client.get(f"/api/v1/passages/{s['divert']}/crop.jpg",
                      headers=auth(world.tokens["auditor"]))
    assert crop.status_code == 404
    timeline = client.get(f"/api/v1/audit/trips/{s['trip']}/timeline",
                          headers=auth(world.tokens["auditor"])).json
    first = next(e for e in timeline["entries"] if e["action"] == "gate.decision")
    assert first["passage"]["has_crop"] is False and first["passage"]["crop_sha256"]
    assert client.post("/api/v1/audit/retention/purge", json={},
                       headers=auth(world.tokens["auditor"])).status_code == 403


def test_retention_keeps_a_picture_a_newer_passage_still_names(client, session_factory):
    world = make_world(session_factory)
    book(session_factory, world)
    first = read(client, world, "P1-IN", crop_jpeg_b64=CROP).json["id"]
    clock.advance(timedelta(days=60))
    # The same bytes again (a camera resending its frame), two months later.
    second = read(client, world, "P1-IN", crop_jpeg_b64=CROP).json["id"]
    assert first != second
    clock.advance(timedelta(days=31))  # the first passage is past 90 days, the second not
    r = client.post("/api/v1/audit/retention/purge", json={},
                    headers=auth(world.tokens["admin"]))
    assert r.status_code == 200 and r.json["images_deleted"] == 0
    crop = client.get(f"/api/v1/passages/{second}/crop.jpg",
                      headers=auth(world.tokens["auditor"]))
    assert crop.status_code == 200 and crop.data == JPEG
    clock.advance(timedelta(days=60))
    r = client.post("/api/v1/audit/retention/purge", json={},
                    headers=auth(world.tokens["admin"]))
    assert r.json["images_deleted"] == 1


def test_the_roster_after_entries_and_exits_including_offline_ones(client, session_factory):
    world = make_world(session_factory)
    trip = book(session_factory, world)
    occupy_docks(session_factory, world)
    read(client, world, "P1-IN")
    read(client, world, "L1-IN", crew_ids=[national_id(1), national_id(2)], later=True)
    read(client, world, "P2-IN", plate="苏A88888", plate_colour="blue", trailer_plate=None,
         trailer_confidence=None, later=True,
         offline={"action": "OPEN", "reasons": [], "decided_at": clock.now().isoformat()})
    roster = client.get("/api/v1/roster", headers=auth(world.tokens["auditor"])).json
    where = {v["plate"]: v for v in roster["vehicles"]}
    assert set(where) == {"苏E12345", "苏A88888"}
    assert where["苏E12345"]["location"].startswith("lot:")
    assert "A区" in where["苏E12345"]["location_name"] or " · A" in where["苏E12345"][
        "location_name"]  # its lot zone and bay
    assert where["苏E12345"]["cargo"] and where["苏E12345"]["cargo"][0]["quantity_kg"] > 0
    assert where["苏A88888"]["location"] == "park"
    assert {p["name"] for p in roster["persons"]} == {"王师傅", "李押运"}
    assert all("*" in p["id_masked"] for p in roster["persons"])
    read(client, world, "P2-OUT", plate="苏A88888", plate_colour="blue", trailer_plate=None,
         trailer_confidence=None, later=True,
         offline={"action": "OPEN", "reasons": [], "decided_at": clock.now().isoformat()})
    roster = client.get("/api/v1/roster", headers=auth(world.tokens["auditor"])).json
    assert {v["plate"] for v in roster["vehicles"]} == {"苏E12345"}
    with session_factory() as s:
        assert s.get(Trip, trip.id).state == "IN_LOT"


def test_unmasking_is_for_roles_that_need_it_and_is_audited(client, session_factory):
    world = make_world(session_factory)
    driver = world.persons["driver"]
    page = client.get(f"/api/v1/persons/{driver.id}", headers=auth(world.tokens["admin"]))
    assert national_id(1) not in page.text and "*" in page.json["id_masked"]
    for role in ("auditor", "dispatcher", "logistics_E1"):
        r = client.post(f"/api/v1/persons/{driver.id}/unmask", json={"reason": "核对"},
                        headers=auth(world.tokens[role]))
        assert r.status_code == 403, role
    no_reason = client.post(f"/api/v1/persons/{driver.id}/unmask", json={"reason": ""},
                            headers=auth(world.tokens["admin"]))
    assert no_reason.status_code in (400, 422)
    r = client.post(f"/api/v1/persons/{driver.id}/unmask", json={"reason": "公安协查"},
                    headers=auth(world.tokens["gate_operator"]))
    assert r.status_code == 200 and r.json["national_id"] == national_id(1)
    with session_factory() as s:
        events_ = s.scalars(select(AuditEvent).where(AuditEvent.action == "pii.unmask")).all()
    assert len(events_) == 1 and events_[0].person_id == driver.id
    assert json.loads(events_[0].payload)["reason"] == "公安协查"
    assert events_[0].actor_name == "gate_operator"
    assert national_id(1) not in events_[0].payload


def test_the_audit_cli_signs_exports_verifies_and_purges(app, client, session_factory, scene,
                                                         tmp_path):
    from parkgate.cli import main

    world, _ = scene
    runner = app.test_cli_runner()
    signed = runner.invoke(main, ["audit", "checkpoint"])
    assert signed.exit_code == 0, signed.output
    (tmp_path / "cp.note").write_text(signed.output)
    out = tmp_path / "all.xlsx"
    exported = runner.invoke(main, ["audit", "export", "-o", str(out)])
    assert exported.exit_code == 0 and "events written" in exported.output
    key = public_key_b64(app.extensions["parkgate.snapshot_key"])
    assert offline_main([str(out), "--checkpoint", str(tmp_path / "cp.note"),
                         "--public-key", key]) == 0
    # The CSV is written by the database (audit.export_sql); the count is its rows'.
    as_csv = tmp_path / "all.csv"
    exported = runner.invoke(main, ["audit", "export", "-o", str(as_csv)])
    rows = list(export.read_rows(str(as_csv)))
    assert exported.exit_code == 0 and f"{len(rows)} events written" in exported.output
    assert len(rows) > 20 and offline_main([str(as_csv), "--checkpoint",
                                            str(tmp_path / "cp.note"), "--public-key", key]) == 0
    checkpoint_id = client.get("/api/v1/audit/checkpoints", headers=auth(world.tokens["auditor"])
                               ).json["items"][0]["id"]
    verified = runner.invoke(main, ["audit", "verify", "--checkpoint", str(checkpoint_id)])
    assert verified.exit_code == 0 and "chain intact" in verified.output
    kept = runner.invoke(main, ["audit", "purge-images"])
    assert kept.exit_code == 0 and kept.output.startswith("0 images")  # within 90 days
    clock.advance(timedelta(days=2))
    purged = runner.invoke(main, ["audit", "purge-images", "--days", "1"])
    assert purged.exit_code == 0 and purged.output.startswith("1 images")


def test_the_readable_report_shows_what_the_search_page_shows_in_the_readers_language(
        client, session_factory, scene):
    from openpyxl import load_workbook

    world, s = scene
    r = client.get(f"/audit/report?trip_id={s['trip']}", headers=auth(world.tokens["auditor"]))
    assert r.status_code == 200 and r.headers["Content-Disposition"].endswith('.xlsx"')
    book = load_workbook(io.BytesIO(r.data), read_only=True)
    sheet = book.worksheets[0]
    rows = [[c if c is not None else "" for c in row] for row in sheet.iter_rows(values_only=True)]
    assert rows[0][:4] == ["事件号", "时间（园区时间，UTC+8）", "操作人", "操作"]
    assert f"-trip-{s['trip']}-" in r.headers["Content-Disposition"]
    # What the report covers, on a sheet of its own.
    about = dict(book["报表说明"].iter_rows(values_only=True))
    assert about["筛选"] == f"行程: {s['trip']}" and about["事件"] == str(len(rows) - 1)
    assert about["生成人"] == "auditor" and "不用于核验" in about["报表"]
    body = rows[1:]
    seqs = [row[0] for row in body]
    assert seqs == sorted(seqs) and len(seqs) > 3  # chain order, the whole trip
    with session_factory() as db:
        expected = [e.seq for e in db.scalars(select(AuditEvent).where(
            AuditEvent.trip_id == s["trip"]).order_by(AuditEvent.seq))]
    assert seqs == expected
    decision = next(row for row in body if row[3] == "道闸判定")
    assert decision[5] == "P1-IN" and decision[6] == "苏E12345"
    with session_factory() as db:
        assert decision[7] == db.get(Trip, s["trip"]).code  # the booking code people use
    # Details are labelled fields, never the stored JSON.
    assert "结果: " in decision[8], decision[8]
    assert '{"' not in "".join(str(row[8]) for row in body)
    # The time is park time (UTC+8), as the page shows it.
    assert decision[1].startswith(str(clock.now().year))
    # A bad filter goes back to the search page with a message, as the export does.
    bad = client.get("/audit/report?since=not-a-time", headers=auth(world.tokens["auditor"]))
    assert bad.status_code == 302
    assert client.get("/audit/report", headers=auth(world.tokens["logistics_E1"])
                      ).status_code in (302, 403)


def test_auditors_pick_actions_and_reasons_by_name_not_by_code(client, session_factory, scene):
    world, s = scene
    page = client.get("/audit?action=gate.*", headers=auth(world.tokens["auditor"])
                      ).get_data(as_text=True)
    assert '<option value="gate.decision" >道闸判定</option>' in page
    assert '<option value="gate.*" selected>' in page
    assert 'value="NO_BOOKING_IN_WINDOW"' in page
    # A code typed in lower case through the API means the same code.
    lower = client.get("/api/v1/audit/passages", query_string={"reason": "no_booking_in_window"},
                       headers=auth(world.tokens["auditor"]))
    assert lower.status_code == 200 and [p["id"] for p in lower.json["items"]] == [s["denied"]]
