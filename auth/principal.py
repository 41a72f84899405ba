"""Who is asking: a logged-in user (cookie session) or a token (device/integration)."""

from __future__ import annotations

from dataclasses import dataclass

from kernel.uow import Actor

from .roles import ENTERPRISE_SCOPED, Role


@dataclass(frozen=True)
class Principal:
    user_id: int
    username: str
    display_name: str
    roles: frozenset[str]
    enterprise_id: int | None = None
    plant_id: int | None = None
    lane_id: int | None = None  # a device token is bound to one lane
    via: str = "session"  # session | token
    locale: str | None = None
    token_id: int | None = None

    def has(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    @property
    def is_admin(self) -> bool:
        return Role.ADMIN in self.roles

    @property
    def enterprise_scoped(self) -> bool:
        """Sees only its own enterprise's records (unless also a park-wide role)."""
        park_wide = {Role.ADMIN, Role.AUDITOR, Role.DISPATCHER, Role.GATE_OPERATOR}
        return bool(self.roles & ENTERPRISE_SCOPED) and not (self.roles & park_wide)

    @property
    def actor(self) -> Actor:
        if self.via == "system":
            return Actor.system(self.username)
        if self.via == "camera":  # a camera known by the registry, not a user
            return Actor(kind="device", id=self.username, name=self.display_name)
        kind = "device" if Role.DEVICE in self.roles else "user"
        return Actor(kind=kind, id=str(self.user_id), name=self.username)

    @property
    def user_ref(self) -> int | None:
        """The users.id to record as author, or None acting for the park (CLI, jobs)."""
        return None if self.via == "system" else self.user_id


def system_principal(name: str) -> Principal:
    """Acting for the park itself: the CLI, scheduled jobs, the demo seed."""
    return Principal(user_id=0, username=name, display_name=name,
                     roles=frozenset({Role.ADMIN.value}), via="system")


def from_user(user: object, *, via: str = "session", lane_id: int | None = None,
              token_id: int | None = None) -> Principal:
    return Principal(
        user_id=user.id,  # type: ignore[attr-defined]
        username=user.username,  # type: ignore[attr-defined]
        display_name=user.display_name,  # type: ignore[attr-defined]
        roles=frozenset(user.role_names),  # type: ignore[attr-defined]
        enterprise_id=user.enterprise_id,  # type: ignore[attr-defined]
        plant_id=user.plant_id,  # type: ignore[attr-defined]
        lane_id=lane_id,
        via=via,
        locale=user.locale,  # type: ignore[attr-defined]
        token_id=token_id,
    )
