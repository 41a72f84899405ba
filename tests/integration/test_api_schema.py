"""Schemathesis against our own OpenAPI spec: generated requests to every operation
(as the park admin) never get a 500, and every documented response matches its schema."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance

from kernel.bus import InProcessBus
from parkgate.app import create_app
from tests.conftest import make_settings
from tests.factories import auth, make_world


@pytest.fixture
def fuzz_app(database, tmp_path):  # type: ignore[no-untyped-def]
    """The app on SQLite and on PostgreSQL: each fails differently on bad values."""
    world = make_world(database.session_factory)
    app = create_app(make_settings(database, tmp_path), database=database, bus=InProcessBus())
    app.config["RATE_LIMITS_OFF"] = True  # the fuzzer calls far faster than any client
    app.config["PROPAGATE_EXCEPTIONS"] = False  # a crash must be the 500 a client sees
    app.config["TEST_TOKEN"] = world.tokens["admin"]
    return app


def test_no_server_errors_and_responses_match_the_spec(fuzz_app):  # type: ignore[no-untyped-def]
    # Driven by hand rather than through schemathesis' pytest plugin, which does not
    # run under this pytest; each operation gets its own derandomized examples.
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", fuzz_app)
    headers = auth(fuzz_app.config["TEST_TOKEN"])
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        _fuzz(operation, headers, failures)
    assert operations > 50
    assert failures == []


def _fuzz(operation, headers, failures):  # type: ignore[no-untyped-def]
    seen: set[str] = set()

    @given(case=operation.as_strategy())
    @settings(max_examples=8, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def run(case) -> None:  # type: ignore[no-untyped-def]
        response = case.call(headers=headers)
        try:
            case.validate_response(response, checks=[not_a_server_error,
                                                     response_schema_conformance])
        except (Exception, BaseExceptionGroup) as failure:  # noqa: BLE001 - failure groups
            inner = getattr(failure, "exceptions", None) or [failure]
            first = "; ".join(f"{type(e).__name__}: {str(e).strip()[:300]}" for e in inner)
            if first not in seen:  # recorded, not raised: one report lists everything
                seen.add(first)
                failures.append(f"{operation.label}: {first} <- {case.path_parameters} "
                                f"{case.query} {str(case.body)[:200]}")

    run()
