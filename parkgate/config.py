"""Settings from the environment. The same code runs embedded and in production;
only DATABASE_URL / REDIS_URL (and secrets) differ."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

DEFAULT_INSTANCE = Path(os.environ.get("PARKGATE_INSTANCE", "instance"))


class ConfigError(RuntimeError):
    pass


@dataclass(frozen=True)
class Settings:
    env: str = "development"  # development | test | production
    database_url: str = ""
    redis_url: str | None = None
    redis_prefix: str = "parkgate"
    secret_key: str = ""
    pii_key: str = ""
    pinned_now: datetime | None = None
    clock_ticking: bool = True
    instance_path: Path = DEFAULT_INSTANCE
    default_locale: str = "zh_Hans_CN"
    # How audit events get into the chain after their commit (audit.sequencer): a
    # thread of the app's own ("background": no request waits for the chain), or right
    # after each commit ("inline": tests read the chain in the next statement).
    audit_linking: str = ""
    # Live-update streams this process holds open at once (0: no limit). Under gunicorn's
    # threaded workers each stream holds a request thread for as long as the page is
    # open; docker/gunicorn.conf.py sets it below the thread count so a worker full of
    # open pages still answers requests.
    sse_max_streams: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        env = dict(os.environ if environ is None else environ)
        instance = Path(env.get("PARKGATE_INSTANCE", str(DEFAULT_INSTANCE)))
        mode = env.get("PARKGATE_ENV", "development")
        pinned = env.get("PARKGATE_PINNED_NOW")
        settings = cls(
            env=mode,
            database_url=env.get("DATABASE_URL") or f"sqlite:///{(instance / 'parkgate.db').resolve()}",
            redis_url=env.get("REDIS_URL") or None,
            redis_prefix=env.get("PARKGATE_REDIS_PREFIX", "parkgate"),
            secret_key=env.get("PARKGATE_SECRET_KEY", ""),
            pii_key=env.get("PARKGATE_PII_KEY", ""),
            pinned_now=datetime.fromisoformat(pinned) if pinned else None,
            clock_ticking=env.get("PARKGATE_PINNED_TICKING", "1") != "0",
            instance_path=instance,
            audit_linking=env.get("PARKGATE_AUDIT_LINKING", ""),
            sse_max_streams=int(env.get("PARKGATE_SSE_MAX_STREAMS", "0") or 0),
            extra={k: v for k, v in {
                "snapshot_key_file": env.get("PARKGATE_SNAPSHOT_KEY_FILE"),
            }.items() if v},
        )
        settings = replace(settings, **overrides)
        return settings.with_secrets()

    @property
    def linking(self) -> str:
        return self.audit_linking or ("inline" if self.env == "test" else "background")

    @property
    def signing_key_path(self) -> Path:
        """The park's Ed25519 key (permit snapshots, audit checkpoints)."""
        configured = self.extra.get("snapshot_key_file")
        return Path(configured) if configured else self.instance_path / "snapshot_ed25519.pem"

    def with_secrets(self) -> Settings:
        """Fill missing secrets for development; production must bring its own."""
        if self.env == "production":
            missing = [n for n in ("secret_key", "pii_key") if not getattr(self, n)]
            if missing:
                raise ConfigError(f"production needs {', '.join(missing)} set in the environment")
            if self.pinned_now is not None:
                raise ConfigError("production never pins the clock (unset PARKGATE_PINNED_NOW)")
            return self
        updates: dict[str, Any] = {}
        for name in ("secret_key", "pii_key"):
            if not getattr(self, name):
                updates[name] = _instance_secret(self.instance_path, name)
        return replace(self, **updates) if updates else self


def _instance_secret(instance: Path, name: str) -> str:
    # Development keys persist in the instance folder so encrypted ID numbers and
    # login sessions survive a restart of the demo.
    instance.mkdir(parents=True, exist_ok=True)
    path = instance / f"{name}.txt"
    if path.exists():
        return path.read_text().strip()
    value = secrets.token_urlsafe(32)
    path.write_text(value)
    path.chmod(0o600)
    return value
