"""API tokens: shown once at creation, stored as SHA-256."""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from kernel import clock
from kernel.uow import Actor, UnitOfWork
from models import ApiToken, User
from models.base import table

PREFIX = "pgt_"
_TOUCH_EVERY = timedelta(minutes=1)
# A camera sends every read with its token; looking the token up each time was a
# tenth of a gate decision. A valid token's principal is kept this long per process.
# Revoked here, it stops at once (revoke_token); revoked by another process (the CLI,
# another worker), within this many seconds, as a lane's structure does (gateway.runtime).
PRINCIPAL_TTL_S = 5.0
_PRINCIPALS_MAX = 10_000  # valid tokens only are kept, so this is never reached in a park


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def issue_token(uow: UnitOfWork, user: User, name: str, actor: Actor, *,
                lane_id: int | None = None, expires_at: datetime | None = None) -> str:
    raw = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(name=name, token_hash=_digest(raw), user_id=user.id, lane_id=lane_id,
                     created_at=clock.now(), expires_at=expires_at)
    uow.session.add(token)
    uow.session.flush()
    uow.audit("token.issue", actor, subject_kind="api_token", subject_id=str(token.id),
              lane_id=lane_id, payload={"name": name, "user": user.username})
    return raw


def _principal_statement() -> Any:
    from models import Role, user_roles

    # Over tables, not mapped classes: the ORM's compile step would cost more than the
    # answer, on every device request.
    tokens, users, roles = ApiToken.__table__, User.__table__, Role.__table__
    return (select(tokens.c.id, tokens.c.lane_id, tokens.c.expires_at, tokens.c.revoked_at,
                   tokens.c.last_used_at, users.c.id.label("user_id"), users.c.username,
                   users.c.display_name, users.c.enterprise_id, users.c.plant_id,
                   users.c.locale, users.c.active, roles.c.name)
            .select_from(tokens.join(users, users.c.id == tokens.c.user_id)
                         .outerjoin(user_roles, user_roles.c.user_id == users.c.id)
                         .outerjoin(roles, roles.c.id == user_roles.c.role_id))
            .where(tokens.c.token_hash == bindparam("token_hash")))


# Every device request asks this; built once (building costs about what answering does).
_PRINCIPAL = _principal_statement()
_TOUCH = update(table(ApiToken)).where(ApiToken.__table__.c.id == bindparam("token_id")).values(
    last_used_at=bindparam("now"))


class _KnownTokens:
    """Principals of valid tokens by digest, each until its deadline (monotonic)."""

    def __init__(self) -> None:
        self._entries: dict[str, tuple[float, Any, datetime | None]] = {}
        self._lock = threading.Lock()

    def get(self, digest: str, now: datetime) -> Any:
        with self._lock:
            hit = self._entries.get(digest)
        if hit is None or hit[0] <= time.monotonic():
            return None
        _, principal, expires_at = hit
        return principal if expires_at is None or expires_at > now else None

    def keep(self, digest: str, principal: Any, expires_at: datetime | None) -> None:
        with self._lock:
            if len(self._entries) >= _PRINCIPALS_MAX:
                self._entries.clear()
            self._entries[digest] = (time.monotonic() + PRINCIPAL_TTL_S, principal, expires_at)

    def forget(self, digest: str) -> None:
        with self._lock:
            self._entries.pop(digest, None)

    def forget_user(self, user_id: int) -> None:
        with self._lock:
            for digest in [d for d, (_, p, _) in self._entries.items() if p.user_id == user_id]:
                del self._entries[digest]


known_tokens = _KnownTokens()


def forget_user(user_id: int) -> None:
    """A user's roles or status changed: their tokens are looked up afresh here (other
    processes follow within PRINCIPAL_TTL_S)."""
    known_tokens.forget_user(user_id)


def resolve_principal(session: Session, raw: str) -> Any:
    """The principal a bearer token stands for, or None: from known_tokens, else in
    one query."""
    if not raw.startswith(PREFIX) or len(raw) > 200:
        return None
    digest, now = _digest(raw), clock.now()
    principal = known_tokens.get(digest, now)
    if principal is None:
        principal, expires_at = _look_up(session, digest, now)
        if principal is not None:
            known_tokens.keep(digest, principal, expires_at)
    return principal


def _look_up(session: Session, digest: str, now: datetime) -> tuple[Any, datetime | None]:
    from .principal import Principal

    rows = session.execute(_PRINCIPAL, {"token_hash": digest}).all()
    if not rows:
        return None, None
    first = rows[0]
    if first.revoked_at is not None or not first.active or (
            first.expires_at is not None and first.expires_at <= now):
        return None, None
    if first.last_used_at is None or now - first.last_used_at > _TOUCH_EVERY:
        session.execute(_TOUCH, {"token_id": first.id, "now": now})
    return Principal(user_id=first.user_id, username=first.username, display_name=first.display_name,
                     roles=frozenset(r.name for r in rows if r.name), enterprise_id=first.enterprise_id,
                     plant_id=first.plant_id, lane_id=first.lane_id, via="token",
                     locale=first.locale, token_id=first.id), first.expires_at


def resolve_token(session: Session, raw: str) -> ApiToken | None:
    if not raw.startswith(PREFIX) or len(raw) > 200:
        return None
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(raw)))
    now = clock.now()
    if token is None or token.revoked_at is not None:
        return None
    if token.expires_at is not None and token.expires_at <= now:
        return None
    if not token.user.active:
        return None
    if token.last_used_at is None or now - token.last_used_at > _TOUCH_EVERY:
        # Recorded at most once a minute so a busy lane does not write on every read.
        token.last_used_at = now
    return token


def revoke_token(uow: UnitOfWork, token: ApiToken, actor: Actor) -> None:
    token.revoked_at = clock.now()
    digest = token.token_hash
    uow.after_commit(lambda: known_tokens.forget(digest))
    uow.audit("token.revoke", actor, subject_kind="api_token", subject_id=str(token.id),
              lane_id=token.lane_id, payload={"name": token.name})
