"""The trips API: transitions, problem+json errors, roles and enterprise scope."""

from __future__ import annotations

from sqlalchemy import select

from audit.service import verify_chain
from models import AuditEvent, Trip
from tests.factories import auth, book, make_world


def transition(client, token, trip_id, **body):
    return client.post(f"/api/v1/trips/{trip_id}/transitions", json=body, headers=auth(token))


def test_unauthenticated_api_call_is_a_401_problem(client):
    response = client.get("/api/v1/trips/1")
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert response.json["code"] == "UNAUTHENTICATED"


def test_bogus_token_is_rejected(client):
    response = client.get("/api/v1/trips/1", headers=auth("pgt_not-a-real-token"))
    assert response.status_code == 401


def test_cancel_records_state_and_audit_event_together(client, session_factory, database):
    world = make_world(session_factory)
    trip = book(session_factory, world)
    response = transition(client, world.tokens["logistics_E1"], trip.id, action="cancel",
                          reason="客户取消")
    assert response.status_code == 200, response.json
    assert response.json["state"] == "CANCELLED"
    with session_factory() as s:
        assert s.get(Trip, trip.id).state == "CANCELLED"
        events = s.scalars(select(AuditEvent).where(AuditEvent.trip_id == trip.id)
                           .order_by(AuditEvent.seq)).all()
        assert [e.action for e in events] == ["trip.book", "trip.cancel"]
        assert events[-1].actor_name == "logistics_e1"
        assert '"reason":"客户取消"' in events[-1].payload
    assert verify_chain(database.engine).ok


def test_illegal_transition_is_a_409_with_a_stable_code(client, session_factory):
    world = make_world(session_factory)
    trip = book(session_factory, world, state="CLOSED")
    response = transition(client, world.tokens["admin"], trip.id, action="approve")
    assert response.status_code == 409
    assert response.mimetype == "application/problem+json"
    body = response.json
    assert body["code"] == "TRIP_TRANSITION_NOT_ALLOWED"
    assert body["state"] == "CLOSED" and body["allowed"] == []
    # A human message: the state and the action by their labels, not their codes.
    assert body["detail"] == "行程处于“已结束”状态，不能执行：批准。", body["detail"]


def test_failed_precondition_is_a_409_naming_the_reason(client, session_factory):
    world = make_world(session_factory)
    trip = book(session_factory, world)
    response = transition(client, world.tokens["admin"], trip.id, action="cancel")
    assert response.status_code == 409
    assert response.json["code"] == "TRIP_PRECONDITION_FAILED"
    assert response.json["reason"] == "REASON_REQUIRED"


def test_failed_transition_changes_nothing(client, session_factory):
    world = make_world(session_factory)
    trip = book(session_factory, world, state="CLOSED")
    transition(client, world.tokens["admin"], trip.id, action="approve")
    with session_factory() as s:
        assert s.get(Trip, trip.id).state == "CLOSED"
        assert s.scalars(select(AuditEvent.action).where(AuditEvent.trip_id == trip.id)).all() \
            == ["trip.book"]


def test_role_without_the_action_gets_403(client, session_factory):
    world = make_world(session_factory)
    trip = book(session_factory, world, state="PENDING_APPROVAL")
    response = transition(client, world.tokens["dispatcher"], trip.id, action="approve")
    assert response.status_code == 403
    assert response.json["code"] == "ACTION_NOT_PERMITTED"


def test_enterprise_user_gets_404_for_another_enterprises_trip(client, session_factory):
    world = make_world(session_factory)
    trip = book(session_factory, world, enterprise="E1")
    own = client.get(f"/api/v1/trips/{trip.id}", headers=auth(world.tokens["logistics_E1"]))
    other = client.get(f"/api/v1/trips/{trip.id}", headers=auth(world.tokens["logistics_E2"]))
    missing = client.get("/api/v1/trips/999999", headers=auth(world.tokens["logistics_E2"]))
    assert own.status_code == 200
    assert other.status_code == 404 and missing.status_code == 404
    # Indistinguishable from a trip that does not exist.
    assert other.json["code"] == missing.json["code"] == "NOT_FOUND"
    assert other.json["detail"] == missing.json["detail"]
    cancel = transition(client, world.tokens["logistics_E2"], trip.id, action="cancel", reason="x")
    assert cancel.status_code == 404


def test_plant_receiver_sees_only_its_plant(client, session_factory):
    world = make_world(session_factory)
    mine = book(session_factory, world, enterprise="E1")
    assert client.get(f"/api/v1/trips/{mine.id}",
                      headers=auth(world.tokens["receiver"])).status_code == 200
    theirs = book(session_factory, world, enterprise="E2")
    assert client.get(f"/api/v1/trips/{theirs.id}",
                      headers=auth(world.tokens["receiver"])).status_code == 404


def test_validation_errors_name_the_field(client, session_factory):
    world = make_world(session_factory)
    trip = book(session_factory, world)
    response = transition(client, world.tokens["admin"], trip.id, reason="x", colour="red")
    assert response.status_code == 422
    body = response.json
    assert body["code"] == "VALIDATION_FAILED"
    assert "action" in body["errors"] and "colour" in body["errors"]


def test_malformed_json_is_a_400_problem(client, session_factory):
    world = make_world(session_factory)
    trip = book(session_factory, world)
    response = client.post(f"/api/v1/trips/{trip.id}/transitions", data="{not json",
                           headers={**auth(world.tokens["admin"]),
                                    "Content-Type": "application/json"})
    assert 400 <= response.status_code < 500
    assert response.mimetype == "application/problem+json"


def test_huge_ids_are_404_not_500(client, session_factory):
    world = make_world(session_factory)
    response = client.get("/api/v1/trips/99999999999999999999", headers=auth(world.tokens["admin"]))
    assert response.status_code == 404


def test_openapi_is_served_and_describes_the_trip_api(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = response.json
    assert "/api/v1/trips/{trip_id}/transitions" in spec["paths"]
    assert "TransitionIn" in spec["components"]["schemas"]
