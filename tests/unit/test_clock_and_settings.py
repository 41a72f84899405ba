"""The one clock and the settings that pin it (never in production)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kernel import clock
from parkgate.config import ConfigError, Settings

T = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)


def test_pinned_clock_stands_still_until_advanced():
    clock.pin(T)
    assert clock.now() == T
    clock.advance(timedelta(minutes=5))
    assert clock.now() == T + timedelta(minutes=5)
    clock.unpin()
    assert clock.now() > T.replace(year=2000)


def test_ticking_pin_moves_on_from_the_instant():
    clock.pin(T, ticking=True)
    assert T <= clock.now() < T + timedelta(seconds=5)


def test_naive_instants_are_refused():
    with pytest.raises(ValueError, match="aware"):
        clock.pin(datetime(2026, 1, 1))


def test_settings_pin_the_clock_from_the_environment(tmp_path):
    settings = Settings.from_env({"PARKGATE_PINNED_NOW": "2026-11-22T16:00:00+08:00",
                                  "PARKGATE_INSTANCE": str(tmp_path)})
    assert settings.pinned_now == T


def test_production_refuses_a_pinned_clock(tmp_path):
    with pytest.raises(ConfigError, match="never pins"):
        Settings.from_env({"PARKGATE_ENV": "production", "PARKGATE_SECRET_KEY": "s",
                           "PARKGATE_PII_KEY": "p", "PARKGATE_PINNED_NOW": T.isoformat(),
                           "PARKGATE_INSTANCE": str(tmp_path)})


def test_production_needs_its_own_secrets(tmp_path):
    with pytest.raises(ConfigError, match="secret_key"):
        Settings.from_env({"PARKGATE_ENV": "production", "PARKGATE_INSTANCE": str(tmp_path)})


def test_development_keys_persist_across_restarts(tmp_path):
    first = Settings.from_env({"PARKGATE_INSTANCE": str(tmp_path)})
    second = Settings.from_env({"PARKGATE_INSTANCE": str(tmp_path)})
    assert first.pii_key == second.pii_key and len(first.pii_key) > 30


def test_default_database_is_the_embedded_sqlite_file(tmp_path):
    settings = Settings.from_env({"PARKGATE_INSTANCE": str(tmp_path)})
    assert settings.database_url == f"sqlite:///{tmp_path.resolve()}/parkgate.db"
    assert settings.redis_url is None
