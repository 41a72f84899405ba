"""Shared fixtures: a throw-away database per test on SQLite and PostgreSQL, the app,
a real Redis with its own key prefix, and the pinned clock."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

import dispatch  # noqa: F401  # the lot's handlers of trip events, as the app registers them
import models
from audit.chain import GENESIS_HASH
from auth.passwords import use_cheap_parameters_for_tests
from kernel import clock
from kernel.bus import InProcessBus
from parkgate.app import create_app
from parkgate.config import Settings
from parkgate.database import Database
from parkgate.migrate import upgrade
from tests.services import (
    IN_CI,
    POSTGRES_ADMIN_URL,
    REDIS_URL,
    postgres_reachable,
    redis_reachable,
    unavailable,
    unique_name,
)

PG_PARAM = pytest.param("postgresql", marks=pytest.mark.postgres)

use_cheap_parameters_for_tests()


@pytest.fixture(autouse=True)
def _unpinned_clock() -> Iterator[None]:
    yield
    clock.unpin()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A database of our own on the real PostgreSQL service, dropped afterwards."""
    error = postgres_reachable()
    if error is not None:
        unavailable("PostgreSQL", error)
    import psycopg

    name = unique_name("parkgate_t")
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
    url = f"{base}/{name}"
    upgrade(url)
    yield url
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _truncate_all(database: Database) -> None:
    from dispatch.lot import STRUCTURE

    tables = ", ".join(f'"{t.name}"' for t in models.Base.metadata.sorted_tables)
    with database.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE TABLE {tables} RESTART IDENTITY CASCADE"))
        conn.execute(text("INSERT INTO audit_head (id, seq, prev_hash, hash) "
                          "VALUES (1, 0, :g, :g)"), {"g": GENESIS_HASH})
    # The lot's structure is cached per process and database URL for a minute; the
    # worker's PostgreSQL database keeps its URL from test to test, but not its rows.
    STRUCTURE.clear()


def _sqlite_database(template: Path, tmp_path: Path) -> Database:
    path = tmp_path / "parkgate.db"
    shutil.copyfile(template, path)
    return Database(f"sqlite:///{path}")


@pytest.fixture(params=["sqlite", PG_PARAM])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A migrated, empty database: once on SQLite, once on PostgreSQL."""
    if request.param == "sqlite":
        db = _sqlite_database(request.getfixturevalue("sqlite_template"), tmp_path)
    else:
        db = Database(request.getfixturevalue("postgres_url"))
        _truncate_all(db)
    yield db
    db.dispose()


@pytest.fixture
def sqlite_database(sqlite_template: Path, tmp_path: Path) -> Iterator[Database]:
    db = _sqlite_database(sqlite_template, tmp_path)
    yield db
    db.dispose()


@pytest.fixture
def pg_database(postgres_url: str) -> Iterator[Database]:
    db = Database(postgres_url)
    _truncate_all(db)
    yield db
    db.dispose()


@pytest.fixture
def redis_url() -> str:
    error = redis_reachable()
    if error is not None:
        unavailable("Redis", error)
    return REDIS_URL


@pytest.fixture
def redis_prefix(redis_url: str) -> Iterator[str]:
    import redis

    prefix = unique_name("pgtest")
    yield prefix
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(f"{prefix}:*"))
    if keys:
        client.delete(*keys)


@pytest.fixture
def bus() -> InProcessBus:
    return InProcessBus()


def make_settings(database: Database, tmp_path: Path, **overrides: object) -> Settings:
    return Settings(env="test", database_url=database.url, secret_key="test-secret-key",
                    pii_key="test-pii-key", instance_path=tmp_path, **overrides)  # type: ignore[arg-type]


@pytest.fixture
def settings(database: Database, tmp_path: Path) -> Settings:
    return make_settings(database, tmp_path)


@pytest.fixture
def app(settings: Settings, database: Database, bus: InProcessBus):  # type: ignore[no-untyped-def]
    return create_app(settings, database=database, bus=bus)


@pytest.fixture
def client(app):  # type: ignore[no-untyped-def]
    return app.test_client()


@pytest.fixture
def session_factory(database: Database):  # type: ignore[no-untyped-def]
    return database.session_factory


@pytest.fixture(scope="module")
def font() -> str:
    """Noto Sans CJK, for rendered plates: a failure under CI, a skip on a bare laptop."""
    from camera_adapters.synthetic import FontMissing, font_path

    try:
        return font_path()
    except FontMissing as exc:
        if IN_CI:
            pytest.fail(f"{exc} (scripts/install.sh --for-tests installs it)")
        pytest.skip(str(exc))
