"""Reaching the real PostgreSQL and Redis services for tests.

Locally a missing service skips the tests that need it; with CI=true it fails them,
so a CI run can never pass by silently testing less.
"""

from __future__ import annotations

import os
import uuid

import pytest

POSTGRES_ADMIN_URL = os.environ.get(
    "PARKGATE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("PARKGATE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def unavailable(what: str, error: Exception) -> None:
    message = f"{what} is not reachable: {type(error).__name__}: {error}"
    if IN_CI:
        pytest.fail(message + " (CI=true: a missing service fails, it does not skip)")
    pytest.skip(message)


def unique_name(prefix: str) -> str:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    return f"{prefix}_{worker}_{uuid.uuid4().hex[:10]}"


def postgres_reachable() -> Exception | None:
    import psycopg

    try:
        with psycopg.connect(POSTGRES_ADMIN_URL, connect_timeout=3):
            return None
    except Exception as exc:  # noqa: BLE001
        return exc


def redis_reachable() -> Exception | None:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
        return None
    except Exception as exc:  # noqa: BLE001
        return exc
