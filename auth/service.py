"""Use cases on users: create, authenticate with lockout."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from models import Role as RoleRecord
from models import User
from parkgate import clock
from parkgate.errors import N_, Conflict, DomainError
from parkgate.uow import Actor, UnitOfWork

from .passwords import hash_password, needs_rehash, verify_password
from .roles import Role

MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)


class LoginFailed(DomainError):
    status = 401
    code = "LOGIN_FAILED"


class AccountLocked(DomainError):
    status = 423
    code = "ACCOUNT_LOCKED"


def ensure_roles(uow: UnitOfWork) -> dict[str, RoleRecord]:
    existing = {r.name: r for r in uow.session.scalars(select(RoleRecord))}
    for role in Role:
        if role.value not in existing:
            record = RoleRecord(name=role.value)
            uow.session.add(record)
            existing[role.value] = record
    uow.session.flush()
    return existing


def create_user(uow: UnitOfWork, actor: Actor, *, username: str, display_name: str,
                password: str | None, roles: list[str], enterprise_id: int | None = None,
                plant_id: int | None = None, locale: str | None = None) -> User:
    if uow.session.scalar(select(User).where(User.username == username)) is not None:
        raise Conflict(N_("The username %(username)s is taken."), code="USERNAME_TAKEN",
                       params={"username": username})
    unknown = [r for r in roles if r not in {x.value for x in Role}]
    if unknown:
        raise Conflict(N_("Unknown role %(role)s."), code="UNKNOWN_ROLE",
                       params={"role": unknown[0]})
    records = ensure_roles(uow)
    user = User(username=username, display_name=display_name,
                password_hash=hash_password(password) if password else None,
                enterprise_id=enterprise_id, plant_id=plant_id, locale=locale,
                created_at=clock.now(), roles=[records[r] for r in roles])
    uow.session.add(user)
    uow.session.flush()
    uow.audit("user.create", actor, subject_kind="user", subject_id=str(user.id),
              enterprise_id=enterprise_id,
              payload={"username": username, "roles": sorted(roles)})
    return user


def authenticate(uow: UnitOfWork, username: str, password: str, *, remote: str | None) -> User:
    """Check a password; count failures and lock the account after MAX_FAILURES.

    Failures are committed (and audited) before the error is raised, so a lockout
    survives the failed request.
    """
    now = clock.now()
    user = uow.session.scalar(select(User).where(User.username == username))
    if user is not None and user.locked_until is not None and user.locked_until > now:
        raise AccountLocked(N_("Too many failed attempts. Try again after %(minutes)s minutes."),
                            params={"minutes": max(1, int((user.locked_until - now)
                                                          .total_seconds() // 60) + 1)})
    ok = verify_password(user.password_hash if user else None, password)
    if user is None or not ok or not user.active:
        actor = Actor(kind="user", id=str(user.id) if user else None, name=username[:100])
        if user is not None:
            user.failed_logins += 1
            if user.failed_logins >= MAX_FAILURES:
                user.locked_until = now + LOCKOUT
                user.failed_logins = 0
                uow.audit("auth.locked", actor, subject_kind="user", subject_id=str(user.id),
                          payload={"remote": remote})
        uow.audit("auth.login_failed", actor, subject_kind="user",
                  subject_id=str(user.id) if user else None, payload={"remote": remote})
        uow.commit()
        raise LoginFailed(N_("Wrong username or password."))
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    if user.password_hash and needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    uow.audit("auth.login", Actor(kind="user", id=str(user.id), name=user.username),
              subject_kind="user", subject_id=str(user.id), payload={"remote": remote})
    uow.commit()
    return user
