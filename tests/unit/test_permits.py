"""The agent's permit snapshot: signed, versioned, refused when tampered or stale."""

from __future__ import annotations

import copy
from dataclasses import replace
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gateway.agent.offline import OfflineDecider
from gateway.permits import PermitSnapshot, SnapshotRejected, public_key_b64, sign, verify
from gateway.snapshot import PlateReadIn, ReleaseView, to_jsonable
from rules.policy import ParkPolicy
from tests.unit.test_decide import DRIVER, ESCORT, NOW, PERIMETER_IN, PLANT_IN, READ, TRACTOR, TRAILER, TRIP


def body(lane=PERIMETER_IN, trip=TRIP, generated=NOW):  # type: ignore[no-untyped-def]
    return {"format": 1, "generated_at": generated.isoformat(), "lane": to_jsonable(lane),
            "policy": to_jsonable(ParkPolicy()),
            "vehicles": [to_jsonable(TRACTOR), to_jsonable(TRAILER)],
            "trips": [to_jsonable(trip)], "persons": [to_jsonable(DRIVER), to_jsonable(ESCORT)]}


KEY = Ed25519PrivateKey.generate()


def test_signed_snapshot_round_trips():
    envelope = sign(KEY, body())
    permit = PermitSnapshot.from_body(verify(envelope, public_key_b64(KEY)))
    assert permit.trips[TRIP.id] == TRIP
    assert permit.by_plate["苏E12345"][0] == TRACTOR


def test_tampered_or_foreign_snapshots_are_refused():
    envelope = sign(KEY, body())
    forged = copy.deepcopy(envelope)
    forged["body"]["vehicles"][0]["blacklist"] = None
    forged["body"]["trips"][0]["state"] = "RELEASED"
    with pytest.raises(SnapshotRejected):
        verify(forged, public_key_b64(KEY))
    with pytest.raises(SnapshotRejected):
        verify(envelope, public_key_b64(Ed25519PrivateKey.generate()))


def test_offline_hazmat_needs_a_valid_cached_release():
    permit = PermitSnapshot.from_body(body(lane=PLANT_IN, trip=replace(
        TRIP, state="RELEASED", release=ReleaseView(7, NOW + timedelta(minutes=20), "active"))))
    assert OfflineDecider(permit).decide(READ, NOW).action == "OPEN"
    expired = NOW + timedelta(minutes=21)
    late = OfflineDecider(permit).decide(replace(READ, seen_at=expired), expired)
    assert late.action != "OPEN"


def test_a_stale_copy_decides_nothing():
    permit = PermitSnapshot.from_body(body(generated=NOW - timedelta(hours=13)))
    d = OfflineDecider(permit).decide(PlateReadIn("苏E12345", "yellow", 0.99, NOW), NOW)
    assert d.action == "HOLD_FOR_OPERATOR" and d.codes == ["OFFLINE_SNAPSHOT_STALE"]
