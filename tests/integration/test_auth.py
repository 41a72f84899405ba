"""Signing in and out, lockout, CSRF, tokens, and the role check on every view."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from auth.tokens import revoke_token
from kernel import clock
from kernel.uow import Actor, unit_of_work
from models import ApiToken, AuditEvent
from tests.factories import PASSWORD, auth, csrf_token, login, make_world


def test_login_page_is_chinese_by_default_and_english_on_request(client):
    assert "登录" in client.get("/login").get_data(as_text=True)
    english = client.get("/login?lang=en")
    assert "Sign in" in english.get_data(as_text=True)
    # The choice sticks for later pages.
    assert "Sign in" in client.get("/login").get_data(as_text=True)


def test_sign_in_and_out(client, session_factory):
    make_world(session_factory)
    response = login(client, "admin")
    assert response.status_code == 302
    home = client.get("/", follow_redirects=True)
    assert home.status_code == 200
    token = csrf_token(client, "/trips")
    out = client.post("/logout", data={"csrf_token": token})
    assert out.status_code == 302
    assert client.get("/trips").status_code == 302  # back to the login page
    with session_factory() as s:
        actions = s.scalars(select(AuditEvent.action).where(AuditEvent.action.like("auth.%"))
                            .order_by(AuditEvent.seq)).all()
    assert actions == ["auth.login", "auth.logout"]


def test_wrong_password_is_refused_and_audited(client, session_factory):
    make_world(session_factory)
    response = login(client, "admin", "wrong")
    assert response.status_code == 401
    assert "用户名或密码错误" in response.get_data(as_text=True)
    with session_factory() as s:
        last = s.scalars(select(AuditEvent.action).order_by(AuditEvent.seq.desc())).first()
    assert last == "auth.login_failed"


def test_unknown_user_gets_the_same_answer_as_a_wrong_password(client, session_factory):
    make_world(session_factory)
    a = login(client, "admin", "wrong")
    b = login(client, "nobody-here", "wrong")
    assert a.status_code == b.status_code == 401


def test_failures_slow_the_guesser_only_and_lock_nobody_out(client, app, session_factory):
    make_world(session_factory)
    for _ in range(5):
        assert login(client, "gate_operator", "wrong").status_code == 401
    # The sixth try from the same address waits, right password or not, and an unknown
    # name tried as often gets exactly the same answer (no user enumeration).
    throttled = login(client, "gate_operator", PASSWORD)
    for _ in range(5):
        login(client, "nobody-here", "wrong")
    unknown = login(client, "nobody-here", "wrong")
    assert throttled.status_code == unknown.status_code == 429
    assert int(throttled.headers["Retry-After"]) > 0
    assert _error_text(throttled) == _error_text(unknown).replace(
        unknown.headers["Retry-After"], throttled.headers["Retry-After"])
    # The account's owner at another desk is not slowed at all.
    elsewhere = app.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "10.0.0.7"
    assert login(elsewhere, "gate_operator", PASSWORD).status_code == 302
    # After the delay the guesser's address may try again.
    clock.pin(clock.now() + timedelta(minutes=1))
    assert login(client, "gate_operator", PASSWORD).status_code == 302


def test_delays_grow_with_each_further_failure():
    from auth.throttle import PAIR, delay

    waits = [delay(n, PAIR).total_seconds() for n in range(4, 12)]
    assert waits[0] == 0 and waits[1] == 30
    assert waits == sorted(waits) and waits[-1] == PAIR.most.total_seconds()


def _error_text(response):  # type: ignore[no-untyped-def]
    import re

    return re.search(r'role="alert">([^<]*)<', response.get_data(as_text=True)).group(1)


def test_login_form_needs_its_csrf_token(client, session_factory):
    make_world(session_factory)
    response = client.post("/login", data={"username": "admin", "password": PASSWORD})
    assert response.status_code == 400
    # Said in the reader's language, with what to do; not Flask-WTF's English reason.
    text = response.get_data(as_text=True)
    assert "请刷新页面后重试" in text and "CSRF token" not in text
    api = client.post("/login", data={}, headers={"Accept": "application/json"})
    assert api.status_code == 400 and api.json["code"] == "CSRF_FAILED"


def test_session_cookie_posts_need_csrf_but_tokens_do_not(client, session_factory):
    from tests.factories import book

    world = make_world(session_factory)
    trip = book(session_factory, world, state="PENDING_APPROVAL")
    login(client, "admin")
    no_csrf = client.post(f"/api/v1/trips/{trip.id}/transitions", json={"action": "approve"})
    assert no_csrf.status_code == 400
    with_header = client.post(f"/api/v1/trips/{trip.id}/transitions", json={"action": "approve"},
                              headers={"X-CSRFToken": csrf_token(client, "/trips")})
    assert with_header.status_code == 200
    client.delete_cookie("session")
    by_token = client.post(f"/api/v1/trips/{trip.id}/transitions",
                           json={"action": "cancel", "reason": "r"},
                           headers=auth(world.tokens["admin"]))
    assert by_token.status_code == 200


def test_no_open_redirect_after_login(client, session_factory):
    make_world(session_factory)
    token = csrf_token(client)
    response = client.post("/login?next=//evil.example/x",
                           data={"username": "admin", "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    assert "evil.example" not in response.headers["Location"]


def test_revoked_and_expired_tokens_stop_working(client, session_factory):
    world = make_world(session_factory)
    headers = auth(world.tokens["auditor"])
    assert client.get("/api/v1/audit/verify", headers=headers).status_code == 200
    with unit_of_work(session_factory) as uow:
        token = uow.session.scalars(select(ApiToken).where(ApiToken.name == "test auditor")).one()
        revoke_token(uow, token, Actor.system("tests"))
        uow.commit()
    assert client.get("/api/v1/audit/verify", headers=headers).status_code == 401


def test_a_token_is_looked_up_once_a_while_and_a_revocation_elsewhere_lands_within_it(  # type: ignore[no-untyped-def]
        client, session_factory, database, monkeypatch):
    # A camera sends every read with its token: its principal is kept for
    # PRINCIPAL_TTL_S. A revocation from another process (the CLI, another worker)
    # cannot clear this process's copy; it must land when the copy runs out.
    from sqlalchemy import event, update

    from auth import tokens

    world = make_world(session_factory)
    headers = auth(world.tokens["auditor"])
    now = [1000.0]
    monkeypatch.setattr(tokens, "time", type("Clock", (), {"monotonic": lambda: now[0]}))
    looked_up = []
    event.listen(database.engine, "before_cursor_execute",
                 lambda *a: looked_up.append(1) if "FROM api_tokens" in a[2] else None)
    for _ in range(3):
        assert client.get("/api/v1/audit/verify", headers=headers).status_code == 200
    assert len(looked_up) == 1

    with session_factory() as s:  # as another process would
        s.execute(update(ApiToken).where(ApiToken.name == "test auditor")
                  .values(revoked_at=clock.now()))
        s.commit()
    now[0] += tokens.PRINCIPAL_TTL_S + 0.1
    assert client.get("/api/v1/audit/verify", headers=headers).status_code == 401


def test_a_token_revoked_from_the_command_line_stops_and_the_revocation_is_audited(  # type: ignore[no-untyped-def]
        app, client, session_factory):
    from parkgate.cli import main

    world = make_world(session_factory)
    headers = auth(world.tokens["auditor"])
    assert client.get("/api/v1/audit/verify", headers=headers).status_code == 200
    runner = app.test_cli_runner()
    result = runner.invoke(main, ["tokens", "revoke", "--user", "auditor",
                                  "--name", "test auditor"])
    assert result.exit_code == 0, result.output
    assert "revoked 1" in result.output
    assert client.get("/api/v1/audit/verify", headers=headers).status_code == 401
    with session_factory() as s:
        assert s.scalar(select(AuditEvent).where(AuditEvent.action == "token.revoke"))
    again = runner.invoke(main, ["tokens", "revoke", "--user", "auditor", "--name", "test auditor"])
    assert again.exit_code != 0 and "no token" in again.output


def test_auditor_may_verify_but_gate_operator_may_not(client, session_factory):
    world = make_world(session_factory)
    ok = client.get("/api/v1/audit/verify", headers=auth(world.tokens["auditor"]))
    assert ok.status_code == 200 and ok.json["ok"] is True
    denied = client.get("/api/v1/audit/verify", headers=auth(world.tokens["gate_operator"]))
    assert denied.status_code == 403
    assert denied.json["code"] == "FORBIDDEN"


def test_every_view_declares_who_may_call_it(app):
    """A view without require(...), public or camera_auth would be reachable by anyone."""
    unguarded = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if rule.endpoint in ("static", "openapi.spec"):
            continue
        declared = (
            getattr(view, "public", False)
            or getattr(view, "camera_auth", False)
            or hasattr(view, "required_roles")
        )
        if not declared:
            unguarded.append(rule.rule)
    assert unguarded == []
