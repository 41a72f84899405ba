"""Conventions every API answer keeps: times in RFC 3339 with their offset, and a
spec that says how each operation is authenticated."""

from __future__ import annotations

from datetime import datetime

from tests.factories import auth, make_world
from tests.integration.test_gate import read


def test_every_api_time_is_rfc3339_with_an_offset(client, session_factory):  # type: ignore[no-untyped-def]
    world = make_world(session_factory)
    read(client, world, "P2-IN", plate="苏A88888", plate_colour="blue", trailer_plate=None,
         trailer_confidence=None)
    items = client.get("/api/v1/audit/passages", headers=auth(world.tokens["auditor"])).json
    row = items["items"][0]
    for key in ("seen_at", "decided_at"):
        parsed = datetime.fromisoformat(row[key])  # RFC 1123 ("Sun, 22 Nov …") fails here
        assert parsed.utcoffset() is not None, row[key]


def test_the_spec_declares_how_each_operation_is_authenticated(client):  # type: ignore[no-untyped-def]
    spec = client.get("/api/v1/openapi.json").json
    schemes = spec["components"]["securitySchemes"]
    assert schemes["bearerToken"]["scheme"] == "bearer"
    assert schemes["sessionCookie"] == {**schemes["sessionCookie"], "in": "cookie"}
    assert spec["paths"]["/VIID/MotorVehicles"]["post"]["security"] == [{"cameraDigest": []}]
    reads = spec["paths"]["/api/v1/lanes/{lane_code}/reads"]["post"]["security"]
    assert {"bearerToken": []} in reads and {"queryToken": []} not in reads
    undeclared = [(path, method) for path, ops in spec["paths"].items()
                  for method, op in ops.items() if isinstance(op, dict) and "security" not in op]
    assert undeclared == []
