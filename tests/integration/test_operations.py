"""Operations: metrics, JSON logs with request ids, rate limits (also across app
instances through Redis), and one read at a time per lane."""

from __future__ import annotations

import contextlib
import json
import logging
import threading

import pytest
from sqlalchemy import func, select

from models import Passage, PassageRead
from parkgate.app import create_app
from parkgate.logs import JsonFormatter
from tests.conftest import make_settings
from tests.factories import auth, book, make_world
from tests.integration.test_gate import read


def test_metrics_count_decisions_and_stay_on_the_park_network(client, session_factory):
    world = make_world(session_factory)
    book(session_factory, world)
    read(client, world, "P1-IN")
    text = client.get("/metrics").get_data(as_text=True)
    assert 'parkgate_gate_decisions_total{action="DIVERT_TO_LOT",offline="false"}' in text
    assert "parkgate_gate_decision_seconds_bucket" in text
    assert "parkgate_http_requests_total" in text
    outside = client.get("/metrics", environ_overrides={"REMOTE_ADDR": "203.0.113.9"},
                         headers={"Accept": "application/json"})
    assert outside.status_code == 403 and outside.json["code"] == "METRICS_FORBIDDEN"


def test_metrics_show_the_lot_queue_per_plant(client, session_factory):
    from tests.e2e.test_lot_board import lot_with_two_trucks

    lot_with_two_trucks(session_factory)
    text = client.get("/metrics").get_data(as_text=True)
    assert 'parkgate_lot_queue_length{plant="E1-P"} 2.0' in text


def test_json_log_lines_carry_the_request_id(client, session_factory, caplog):
    make_world(session_factory)
    formatter = JsonFormatter()
    with caplog.at_level(logging.INFO, logger="parkgate.request"):
        response = client.get("/healthz", headers={"X-Request-ID": "req-42"})
        client.get("/login", headers={"X-Request-ID": "req-43"})
    assert response.headers["X-Request-ID"] == "req-42"
    lines = [json.loads(formatter.format(r)) for r in caplog.records
             if r.name == "parkgate.request"]
    assert lines and lines[-1]["request_id"] == "req-43"
    assert lines[-1]["path"] == "/login" and lines[-1]["status"] == 200
    assert isinstance(lines[-1]["ms"], float)


def test_a_caller_over_its_limit_gets_429_and_others_do_not(client, session_factory,
                                                            monkeypatch):
    monkeypatch.setenv("PARKGATE_RATE_LIMIT_PER_MIN", "5")
    monkeypatch.setattr("parkgate.ratelimit._now", lambda: 1_800_000_010.0)  # one minute
    world = make_world(session_factory)
    statuses = [client.get("/api/v1/lot", headers=auth(world.tokens["dispatcher"])).status_code
                for _ in range(7)]
    assert statuses[:5] == [200] * 5 and statuses[5:] == [429, 429]
    limited = client.get("/api/v1/lot", headers=auth(world.tokens["dispatcher"]))
    assert limited.json["code"] == "RATE_LIMITED" and int(limited.headers["Retry-After"]) > 0
    assert client.get("/api/v1/lot", headers=auth(world.tokens["admin"])).status_code == 200
    assert client.get("/healthz").status_code == 200  # probes are never limited


@pytest.mark.redis
def test_the_limit_holds_across_workers_through_redis(database, tmp_path, bus, redis_url,
                                                      redis_prefix, session_factory,
                                                      monkeypatch):
    monkeypatch.setenv("PARKGATE_RATE_LIMIT_PER_MIN", "6")
    monkeypatch.setattr("parkgate.ratelimit._now", lambda: 1_800_000_010.0)  # one minute
    world = make_world(session_factory)
    settings = make_settings(database, tmp_path, redis_url=redis_url, redis_prefix=redis_prefix)
    workers = [create_app(settings, database=database, bus=bus).test_client() for _ in range(2)]
    statuses = [workers[i % 2].get("/api/v1/lot", headers=auth(world.tokens["dispatcher"]))
                .status_code for i in range(8)]
    assert statuses.count(200) == 6 and statuses[-2:] == [429, 429]


def test_a_lost_redis_never_blocks_a_request(database, tmp_path, bus, session_factory,
                                             monkeypatch):
    """The limiter's store is unreachable (nothing listens there): requests go through."""
    monkeypatch.setenv("PARKGATE_RATE_LIMIT_PER_MIN", "2")
    world = make_world(session_factory)
    settings = make_settings(database, tmp_path, redis_url="redis://127.0.0.1:1/0")
    client = create_app(settings, database=database, bus=bus).test_client()
    statuses = {client.get("/api/v1/lot", headers=auth(world.tokens["dispatcher"])).status_code
                for _ in range(4)}
    assert statuses == {200}


@pytest.mark.postgres
@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
def test_two_workers_reading_one_plate_on_one_lane_fold_into_one_passage(app, session_factory,
                                                                        monkeypatch):
    """Four reads of one car on one lane, each in its own transaction (as four gunicorn
    workers would run them): one decision, three folded into it."""
    from auth.principal import from_user
    from gateway import service
    from kernel import clock
    from kernel.uow import unit_of_work
    from models import User

    world = make_world(session_factory)
    with session_factory() as s:
        operator = from_user(s.get(User, world.users["gate_operator"].id))
    # Widen the race: each transaction waits (up to a second) for the others just
    # before it looks for a passage to fold into. Without the lane lock all four find
    # none there and record four passages.
    at_fold = threading.Barrier(4)
    fold_target = service._fold_target

    def slow_fold_target(*args, **kwargs):  # type: ignore[no-untyped-def]
        with contextlib.suppress(threading.BrokenBarrierError):
            at_fold.wait(timeout=1)
        return fold_target(*args, **kwargs)

    monkeypatch.setattr(service, "_fold_target", slow_fold_target)
    runtime = app.extensions["parkgate.gate"]
    results: list[service.GateResult] = []

    def process(n: int) -> None:
        req = service.ReadRequest(lane="P2-IN", read_id=f"w{n}", plate="苏A88888",
                                  colour="blue", confidence=0.97, seen_at=clock.now())
        with unit_of_work(session_factory) as uow:
            results.append(service.process_read_once(uow, operator, req, runtime))

    threads = [threading.Thread(target=process, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.folded for r in results) == [False, True, True, True]
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(Passage)) == 1
        assert s.scalar(select(Passage.read_count)) == 4
        assert s.scalar(select(func.count()).select_from(PassageRead)) == 4
