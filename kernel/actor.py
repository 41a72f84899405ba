"""Who did something, as the audit trail and domain events name them: a user, a device
or the system. Plain data, so the pure rules and their events can carry it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    kind: str  # user | device | system
    id: str | None = None
    name: str | None = None

    @classmethod
    def system(cls, name: str = "system") -> Actor:
        return cls(kind="system", id=None, name=name)
