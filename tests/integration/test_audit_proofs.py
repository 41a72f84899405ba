"""Verifiable excerpts: a trip's records proven against a signed checkpoint without
the whole chain; consistency between checkpoints; receipts; checkpoints on demand and
published outside the park; checkpoints of the older format still verify."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text

from audit import checkpoints as cp
from audit import export, merkle, tree, witness
from audit.chain import BODY_COLUMNS, GENESIS_HASH, body, link
from audit.heads import open_checkpoint
from audit.offline import main as offline_main
from audit.offline import verify_receipt, verify_rows
from audit.sequencer import link_all
from kernel import clock
from models import AuditCheckpoint, AuditEvent, AuditTreeNode
from parkgate.signing import public_key_b64, sign
from tests.factories import auth, make_world
from tests.integration.test_audit_query import _rows, _write, drive, split
from tests.integration.test_gate import read


@pytest.fixture
def scene(client, session_factory):  # type: ignore[no-untyped-def]
    world = make_world(session_factory)
    return world, drive(client, world, session_factory)


def _key(client, world) -> str:  # type: ignore[no-untyped-def]
    return client.get("/api/v1/audit/public-key",
                      headers=auth(world.tokens["auditor"])).json["public_key"]


def _excerpt(client, world, **params) -> list[list[str]]:  # type: ignore[no-untyped-def]
    r = client.get("/api/v1/audit/events/export", query_string={"format": "csv", **params},
                   headers=auth(world.tokens["auditor"]))
    assert r.status_code == 200
    return _rows(r.get_data())


def _check(rows: list[list[str]], tmp_path: Path, key: str):  # type: ignore[no-untyped-def]
    path = _write(tmp_path, rows, "excerpt.csv")
    meta, parsed = export.read_export(str(path))
    return verify_rows(parsed, open_checkpoint(meta["checkpoint"], key), meta=meta)


def test_a_trip_excerpt_proves_every_row_and_each_tamper_fails_named(client, scene, tmp_path):
    world, s = scene
    key = _key(client, world)
    rows = _excerpt(client, world, trip_id=s["trip"])
    preamble, header, body_rows = split(rows)
    meta = {k[1:]: v for k, v in preamble}
    assert json.loads(meta["filter"]) == {"trip_id": str(s["trip"])}
    assert int(meta["tree_size"]) >= int(body_rows[-1][0])  # signed now if need be
    (tmp_path / "cp.note").write_text(meta["checkpoint"])
    good = _write(tmp_path, rows, "trip.csv")
    assert offline_main([str(good), "--checkpoint", str(tmp_path / "cp.note"),
                         "--public-key", key]) == 0
    result = _check(rows, tmp_path, key)
    assert result.ok and result.proven == result.rows == len(body_rows) >= 7

    col = {name: i for i, name in enumerate(header)}
    # The back-links are in the hashed rows: each names the trip's event before it.
    links = [r[col["trip_prev_leaf"]] for r in body_rows]
    assert links[0] == export.NULL_CELL
    assert links[1:] == [str(int(r[0]) - 1) for r in body_rows[:-1]]

    def fails(bad: list[list[str]], seq: int, words: str) -> None:
        outcome = _check([*preamble, header, *bad], tmp_path, key)
        assert not outcome.ok and outcome.bad_seq == seq and words in outcome.problem, \
            outcome.problem

    edited = [list(r) for r in body_rows]
    edited[2][col["payload"]] = edited[2][col["payload"]].replace("}", ',"x":1}', 1)
    fails(edited, int(body_rows[2][0]), "edited")

    # An edit re-hashed to fit: the row's hash then is not the leaf the park signed.
    rehashed = [list(r) for r in body_rows]
    r = rehashed[2]
    r[col["plate"]] = "苏A00000"
    r[col["hash"]] = link(r[col["prev_hash"]], body(
        int(r[0]), export.instant(int(r[col["at_us"]])),
        [export.decode(r[col[c]]) for c in BODY_COLUMNS], int(r[col["trip_prev_leaf"]])))
    fails(rehashed, int(r[0]), "inclusion proof")

    swapped = [list(r) for r in body_rows]
    swapped[3], swapped[4] = swapped[4], swapped[3]
    fails(swapped, int(body_rows[4][0]), "back-link")  # the row that moved up

    missing = body_rows[:3] + body_rows[4:]
    fails(missing, int(body_rows[4][0]), "missing or inserted")
    fails(body_rows[1:], int(body_rows[1][0]), "missing")

    # A row of another excerpt, with a valid proof of its own: not of this trip.
    other = split(_excerpt(client, world, plate="苏A88888"))[2][0]
    if int(other[0]) < int(body_rows[-1][0]):
        inserted = sorted([*body_rows, other], key=lambda r: int(r[0]))
        fails(inserted, int(other[0]), "does not belong")
    disguised = list(other)
    disguised[col["trip_id"]] = str(s["trip"])
    inserted = sorted([*body_rows, disguised], key=lambda r: int(r[0]))
    fails(inserted, int(other[0]), "edited")

    # Proofs against one tree do not pass for another checkpoint's.
    meta_wrong = dict(meta, tree_size=str(int(meta["tree_size"]) + 1))
    bad = verify_rows(export.read_rows(str(good)), open_checkpoint(meta["checkpoint"], key),
                      meta=meta_wrong)
    assert not bad.ok and "use that checkpoint" in bad.problem


def test_any_filter_is_an_excerpt_that_says_what_produced_it(client, scene, tmp_path):
    world, _ = scene
    key = _key(client, world)
    lane = client.get("/api/v1/audit/passages", query_string={"plate": "苏A88888"},
                      headers=auth(world.tokens["auditor"])).json["items"][0]
    day = clock.now().date().isoformat()
    for params in ({"plate": "苏a88888"}, {"action": "gate.*", "since": f"{day}T00:00:00"},
                   {"lane_id": str(_lane_id(client, world, lane["lane"]))}):
        rows = _excerpt(client, world, **params)
        result = _check(rows, tmp_path, key)
        assert result.ok and result.rows > 0 and result.proven == result.rows, params
        meta = {k[1:]: v for k, v in split(rows)[0]}
        assert json.loads(meta["filter"]).keys() == params.keys()
    # A row that does not meet the stated filter is named.
    rows = _excerpt(client, world, plate="苏A88888")
    preamble, header, body_rows = split(rows)
    foreign = split(_excerpt(client, world, action="trip.book"))[2][0]
    mixed = sorted([*body_rows, foreign], key=lambda r: int(r[0]))
    outcome = _check([*preamble, header, *mixed], tmp_path, key)
    assert not outcome.ok and outcome.bad_seq == int(foreign[0])


def _lane_id(client, world, code: str) -> int:  # type: ignore[no-untyped-def]
    return world.lanes[code].id


def test_the_stored_tree_matches_the_events_and_catches_up_after_an_upgrade(
        client, scene, session_factory, database):
    with session_factory() as s:
        hashes = list(s.scalars(select(AuditEvent.hash).order_by(AuditEvent.seq)))
        leaves = [tree.leaf_of(h) for h in hashes]
        assert tree.covered(s) == len(hashes) > 30
        for size in (1, 2, 15, 16, 17, 33, len(hashes)):
            assert tree.root(s, size) == merkle.root_of(leaves[:size])
        before = tree.root(s, len(hashes))
    # A database from before the tree: no nodes, nothing covered. The sequencer builds
    # the same tree a slice at a time.
    with session_factory() as s:
        s.execute(AuditTreeNode.__table__.delete())
        s.execute(text("UPDATE audit_head SET tree_size = 0"))
        s.commit()
    link_all(database.engine)
    with session_factory() as s:
        assert tree.covered(s) == len(hashes)
        assert tree.root(s, len(hashes)) == before


def _sign(client, world, role: str = "auditor"):  # type: ignore[no-untyped-def]
    made = client.post("/api/v1/audit/checkpoints", headers=auth(world.tokens[role]))
    assert made.status_code in (200, 201), made.json
    note = client.get(f"/api/v1/audit/checkpoints/{made.json['id']}",
                      headers=auth(world.tokens["auditor"])).get_data(as_text=True)
    return made.json, note


def _more_events(client, world) -> None:  # type: ignore[no-untyped-def]
    """A car turned away at the gate: a few events, the clock where it was."""
    r = read(client, world, "P1-IN", plate="苏A77777", plate_colour="blue", trailer_plate=None,
             trailer_confidence=None)
    assert r.status_code == 201


def test_checkpoints_on_demand_are_rate_limited_and_published(client, scene, session_factory,
                                                              monkeypatch, tmp_path):
    world, _ = scene
    first = client.post("/api/v1/audit/checkpoints", headers=auth(world.tokens["auditor"]))
    assert first.status_code == 201
    again = client.post("/api/v1/audit/checkpoints", headers=auth(world.tokens["auditor"]))
    assert again.status_code == 200 and again.json["id"] == first.json["id"]  # idle park
    _more_events(client, world)
    soon = client.post("/api/v1/audit/checkpoints", headers=auth(world.tokens["auditor"]))
    assert soon.status_code == 429 and soon.json["code"] == "CHECKPOINT_TOO_SOON"
    assert 0 < int(soon.headers["Retry-After"]) <= 61
    clock.advance(timedelta(seconds=61))
    later = client.post("/api/v1/audit/checkpoints", headers=auth(world.tokens["auditor"]))
    assert later.status_code == 201 and later.json["size"] > first.json["size"]
    assert client.post("/api/v1/audit/checkpoints",
                       headers=auth(world.tokens["gate_operator"])).status_code == 403

    # Published outside the park: a file drop and a witness URL, retried until it works.
    drop = tmp_path / "witness"
    monkeypatch.setenv("PARKGATE_WITNESS_DIR", str(drop))
    monkeypatch.setenv("PARKGATE_WITNESS_URL", "https://witness.example/add-checkpoint")
    posted: list[str] = []

    def down(url: str, note: str) -> None:
        raise OSError("connection refused")

    with session_factory() as s:
        assert witness.publish_pending(s, clock.now(), post=down) == {"published": 0,
                                                                      "failed": 2}
        s.commit()
        waiting = s.scalars(select(AuditCheckpoint).where(AuditCheckpoint.root.is_not(None)))
        assert all(c.published_at is None and "refused" in c.publish_error for c in waiting)
    with session_factory() as s:
        result = witness.publish_pending(s, clock.now(),
                                         post=lambda url, note: posted.append(note))
        s.commit()
        assert result == {"published": 2, "failed": 0}
    key = _key(client, world)
    assert [open_checkpoint(n, key).seq for n in posted] == [first.json["size"],
                                                              later.json["size"]]
    assert sorted(p.read_text() for p in drop.glob("*.note")) == sorted(posted)
    with session_factory() as s:
        assert witness.publish_pending(s, clock.now(), post=down)["failed"] == 0  # done


def _rewrite_history(database, seq: int) -> None:  # type: ignore[no-untyped-def]
    """What a park rewriting its own records would do (a DBA past the append-only
    guard): edit an event, re-hash every later one so the chain is consistent in
    itself, rebuild the tree."""
    from tests.integration.test_audit_chain import as_superuser

    with as_superuser(database) as conn:
        rows = conn.execute(select(AuditEvent.__table__).order_by(AuditEvent.seq)).all()
        prev = GENESIS_HASH
        for e in rows:
            payload = e.payload
            if e.seq == seq:
                payload = payload.replace("}", ',"note":"rewritten"}', 1)
            values = [payload if c == "payload" else getattr(e, c) for c in BODY_COLUMNS]
            digest = link(prev, body(e.seq, e.at, values, e.trip_prev_leaf))
            conn.execute(text("UPDATE audit_events SET payload = :pl, prev_hash = :p, hash = :h "
                              "WHERE seq = :s"), {"pl": payload, "p": prev, "h": digest,
                                                 "s": e.seq})
            prev = digest
        conn.execute(AuditTreeNode.__table__.delete())
        conn.execute(text("UPDATE audit_head SET tree_size = 0, hash = :h"), {"h": prev})
    link_all(database.engine)


def test_consistency_proofs_between_checkpoints_and_against_a_rewritten_history(
        app, client, scene, session_factory, database, tmp_path):
    world, _ = scene
    key = _key(client, world)
    old, old_note = _sign(client, world)
    _more_events(client, world)
    clock.advance(timedelta(minutes=2))
    new, new_note = _sign(client, world)
    (tmp_path / "old.note").write_text(old_note)
    (tmp_path / "new.note").write_text(new_note)

    r = client.get("/api/v1/audit/consistency", query_string={"old": old["id"], "new": new["id"]},
                   headers=auth(world.tokens["auditor"]))
    assert r.status_code == 200 and r.json["consistent"] is True
    assert (r.json["old_size"], r.json["new_size"]) == (old["size"], new["size"])
    (tmp_path / "proof.json").write_text(json.dumps(r.json))
    args = ["--proof", str(tmp_path / "proof.json"), "--public-key", key]
    assert offline_main(["consistency", str(tmp_path / "old.note"), str(tmp_path / "new.note"),
                         *args]) == 0
    # The checkpoints swapped, or one hash of the proof changed: refused.
    assert offline_main(["consistency", str(tmp_path / "new.note"), str(tmp_path / "old.note"),
                         *args]) == 1
    forged = dict(r.json, proof=[base64.b64encode(b"\x00" * 32).decode(), *r.json["proof"][1:]])
    (tmp_path / "forged.json").write_text(json.dumps(forged))
    assert offline_main(["consistency", str(tmp_path / "old.note"), str(tmp_path / "new.note"),
                         "--proof", str(tmp_path / "forged.json"), "--public-key", key]) == 1

    from parkgate.cli import main
    runner = app.test_cli_runner()
    ok = runner.invoke(main, ["audit", "consistency", str(tmp_path / "old.note"), str(new["id"]),
                              "--proof-out", str(tmp_path / "cli-proof.json")])
    assert ok.exit_code == 0 and "consistent" in ok.output, ok.output
    kept = client.post("/api/v1/audit/consistency", json={"checkpoint": old_note},
                       headers=auth(world.tokens["auditor"]))
    assert kept.status_code == 200 and kept.json["consistent"] is True
    junk = client.post("/api/v1/audit/consistency", json={"checkpoint": old_note.replace(
        f"\n{old['size']}\n", f"\n{old['size'] + 1}\n")}, headers=auth(world.tokens["auditor"]))
    assert junk.status_code == 400 and junk.json["code"] == "CHECKPOINT_SIGNATURE"
    # Text that is no checkpoint at all is told apart from a forged one.
    garbage = client.post("/api/v1/audit/consistency", json={"checkpoint": "hello, auditor"},
                          headers=auth(world.tokens["auditor"]))
    assert garbage.status_code == 400 and garbage.json["code"] == "CHECKPOINT_UNREADABLE"

    # The park rewrites event #3 and signs its new history: the auditor's kept
    # checkpoint shows it, online and offline.
    _rewrite_history(database, 3)
    clock.advance(timedelta(minutes=2))
    rewritten, rewritten_note = _sign(client, world, "admin")
    kept = client.post("/api/v1/audit/consistency", json={"checkpoint": old_note},
                       headers=auth(world.tokens["auditor"]))
    assert kept.status_code == 200 and kept.json["consistent"] is False
    assert "rewritten" in kept.json["problem"]
    (tmp_path / "rewritten.note").write_text(rewritten_note)
    (tmp_path / "proof2.json").write_text(json.dumps(kept.json))
    assert offline_main(["consistency", str(tmp_path / "old.note"),
                         str(tmp_path / "rewritten.note"), "--proof",
                         str(tmp_path / "proof2.json"), "--public-key", key]) == 1
    bad = runner.invoke(main, ["audit", "consistency", str(old["id"]), str(rewritten["id"])])
    assert bad.exit_code != 0 and "rewritten" in bad.output


def test_a_decision_carries_a_receipt_that_proves_it_offline(client, scene, tmp_path):
    world, s = scene
    key = _key(client, world)
    answer = read(client, world, "P1-IN", plate="苏A66666", plate_colour="blue",
                  trailer_plate=None, trailer_confidence=None, later=True)
    assert answer.status_code == 201
    url = answer.json["receipt"]["url"]
    assert url == f"/api/v1/passages/{answer.json['id']}/receipt"
    one = client.get(f"/api/v1/passages/{answer.json['id']}",
                     headers=auth(world.tokens["gate_operator"])).json["receipt"]
    assert one["status"] == "linked" and one["leaf_index"] is not None
    unsigned = client.get(url, headers=auth(world.tokens["gate_operator"])).json
    assert unsigned["status"] == "linked"  # in the log, no checkpoint covers it yet
    assert unsigned["events"][0]["leaf_index"] == unsigned["events"][0]["seq"] - 1
    _sign(client, world)
    receipt = client.get(url, headers=auth(world.tokens["auditor"])).json
    assert receipt["status"] == "signed" and receipt["events"][0]["proof"]
    one = client.get(f"/api/v1/passages/{answer.json['id']}",
                     headers=auth(world.tokens["gate_operator"])).json["receipt"]
    assert one["status"] == "signed" and one["checkpoint_id"] is not None
    assert verify_receipt(receipt, key) == ([], [])
    (tmp_path / "receipt.json").write_text(json.dumps(receipt))
    assert offline_main(["receipt", str(tmp_path / "receipt.json"), "--public-key", key]) == 0
    changed = json.loads(json.dumps(receipt))
    changed["events"][0]["row"]["plate"] = "苏A66667"
    problems, _ = verify_receipt(changed, key)
    assert problems and "edited" in problems[0]
    other = client.get(f"/api/v1/passages/{s['denied']}/receipt",
                       headers=auth(world.tokens["auditor"])).json
    swapped = dict(receipt, events=other["events"])  # another passage's events
    problems, _ = verify_receipt(swapped, key)
    assert problems and "not passage" in problems[0]
    page = client.get(f"/audit/passages/{answer.json['id']}/receipt",
                      headers=auth(world.tokens["gate_operator"]))
    assert page.status_code == 200 and 'data-status="signed"' in page.text
    # Times on the park's clock (UTC+8), as on every page; the JSON keeps UTC.
    at = datetime.fromisoformat(receipt["events"][0]["at"]).replace(tzinfo=None)
    assert f"<td>{at + timedelta(hours=8):%Y-%m-%d %H:%M:%S}</td>" in page.text
    assert client.get(url, headers=auth(world.tokens["logistics_E1"])).status_code == 403
    missing = client.get("/api/v1/passages/999999/receipt", headers=auth(world.tokens["auditor"]))
    assert missing.status_code == 404


def test_checkpoints_signed_before_the_tree_still_verify(client, app, scene, session_factory,
                                                         tmp_path):
    world, _ = scene
    key = app.extensions["parkgate.snapshot_key"]
    with session_factory() as s:
        head = s.scalar(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1))
        envelope = sign(key, {"kind": "parkgate.audit.checkpoint", "seq": head.seq,
                              "hash": head.hash, "count": head.seq,
                              "at": clock.now().isoformat()})
        legacy = AuditCheckpoint(seq=head.seq, hash=head.hash, at=clock.now(),
                                 envelope=json.dumps(envelope))
        s.add(legacy)
        s.commit()
        legacy_id, size = legacy.id, head.seq
    ok = client.get("/api/v1/audit/verify", query_string={"checkpoint_id": legacy_id},
                    headers=auth(world.tokens["auditor"]))
    assert ok.json["ok"] is True and ok.json["head_seq"] == size
    everything = client.get("/api/v1/audit/verify", headers=auth(world.tokens["auditor"]))
    assert everything.json["ok"] is True and everything.json["checkpoints_checked"] >= 1
    got = client.get(f"/api/v1/audit/checkpoints/{legacy_id}",
                     headers=auth(world.tokens["auditor"]))
    assert got.mimetype == "application/json"
    (tmp_path / "old.json").write_text(got.get_data(as_text=True))
    whole = _write(tmp_path, _excerpt(client, world))
    assert offline_main([str(whole), "--checkpoint", str(tmp_path / "old.json"),
                         "--public-key", public_key_b64(key)]) == 0
    listed = client.get("/api/v1/audit/checkpoints", headers=auth(world.tokens["auditor"])).json
    assert {c["format"] for c in listed["items"]} >= {"signed-json"}
    assert listed["verifier_key"].startswith(cp.origin() + "+")


def test_back_links_hold_when_another_process_linked_in_between(database, session_factory):
    """The sequencer remembers each trip's last event between its passes; when another
    process linked meanwhile (or a pass rolled back) it looks them up again instead of
    trusting what it remembers. The tree's edge lives with the head, so it is right
    whoever linked last."""
    from audit import chain
    from kernel.uow import Actor, unit_of_work

    actor = Actor.system("test")

    def event(trip_id: int) -> int:
        with unit_of_work(session_factory) as uow:
            uow.audit("trip.note", actor, subject_kind="trip", subject_id=str(trip_id),
                      trip_id=trip_id)
            uow.commit()
        with session_factory() as s:
            return s.scalar(select(AuditEvent.seq).order_by(AuditEvent.seq.desc()).limit(1))

    first = event(7)
    mine = dict(chain._TRIP_HEADS)
    chain._TRIP_HEADS.clear()
    theirs = event(7)  # "another process": nothing remembered
    for _ in range(20):
        event(8)
    chain._TRIP_HEADS.clear()
    chain._TRIP_HEADS.update(mine)  # this process again, remembering the old head
    last = event(7)
    with session_factory() as s:
        links = dict(s.execute(select(AuditEvent.seq, AuditEvent.trip_prev_leaf)
                               .where(AuditEvent.trip_id == 7)).all())
        hashes = list(s.scalars(select(AuditEvent.hash).order_by(AuditEvent.seq)))
        assert links == {first: None, theirs: first - 1, last: theirs - 1}
        assert tree.root(s, len(hashes)) == merkle.root_of([tree.leaf_of(h) for h in hashes])
