"""Use cases on users: create, authenticate (throttled, never locked out), sessions,
passwords, roles and status; a change of access ends the user's sessions."""

from __future__ import annotations

from sqlalchemy import select

from kernel import clock
from kernel.errors import N_, Conflict, DomainError, NotFound
from kernel.uow import Actor, UnitOfWork, use_case
from models import Role as RoleRecord
from models import User

from . import sessions, throttle
from .passwords import hash_password, needs_rehash, policy_problem, verify_password
from .roles import Role


class LoginFailed(DomainError):
    status = 401
    code = "LOGIN_FAILED"


class LoginThrottled(DomainError):
    status = 429
    code = "LOGIN_THROTTLED"


class PasswordRejected(DomainError):
    status = 422
    code = "PASSWORD_POLICY"


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
                plant_id: int | None = None, locale: str | None = None,
                enforce_policy: bool = True) -> User:
    """A user (audited). The password policy holds unless `enforce_policy` is off: only
    the development demo seeds its well-known passwords that way."""
    if uow.session.scalar(select(User).where(User.username == username)) is not None:
        raise Conflict(N_("The username %(username)s is taken."), code="USERNAME_TAKEN",
                       params={"username": username})
    unknown = [r for r in roles if r not in {x.value for x in Role}]
    if unknown:
        raise Conflict(N_("Unknown role %(role)s."), code="UNKNOWN_ROLE",
                       params={"role": unknown[0]})
    if password is not None and enforce_policy:
        check_password_policy(password, username=username, display_name=display_name)
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


def check_password_policy(password: str, *, username: str, display_name: str = "") -> None:
    problem = policy_problem(password, username=username, display_name=display_name)
    if problem is not None:
        raise PasswordRejected(problem, fields={"password": [problem]})


def authenticate(uow: UnitOfWork, username: str, password: str, *, remote: str | None) -> User:
    """Check a password. Failures are counted per (name, address) and per address
    (auth.throttle): past an allowance each attempt waits longer, for that pair or
    address only; there is no account lock-out anybody could trigger. An unknown
    name, a wrong password and a disabled account get the same answer; so does a
    throttled attempt, whatever the name.

    Failures are committed (and audited) before the error is raised, so the count
    survives the failed request.
    """
    session = uow.session
    now = clock.now()
    until = throttle.blocked_until(session, username, remote, now)
    if until is not None:
        seconds = max(1, int((until - now).total_seconds()) + 1)
        raise LoginThrottled(N_("Too many failed attempts from here. Try again in %(seconds)s "
                                "seconds."), params={"seconds": seconds},
                             extra={"retry_after": seconds})
    user = session.scalar(select(User).where(User.username == username))
    ok = verify_password(user.password_hash if user else None, password)
    if user is None or not ok or not user.active:
        throttle.failed(session, username, remote, now)
        actor = Actor(kind="user", id=str(user.id) if user else None, name=username[:100])
        uow.audit("auth.login_failed", actor, subject_kind="user",
                  subject_id=str(user.id) if user else None, payload={"remote": remote})
        uow.commit()
        raise LoginFailed(N_("Wrong username or password."))
    throttle.succeeded(session, username, remote)
    user.last_login_at = now
    if user.password_hash and needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    uow.audit("auth.login", Actor(kind="user", id=str(user.id), name=user.username),
              subject_kind="user", subject_id=str(user.id), payload={"remote": remote})
    return user


def begin_session(uow: UnitOfWork, user: User, *, remote: str | None) -> str:
    """A new server-side session for a user who signed in (committed); its id."""
    raw = sessions.start(uow.session, user.id, clock.now(), remote=remote)
    uow.commit()
    return raw


def end_session(uow: UnitOfWork, raw: str, actor: Actor, user_id: int) -> None:
    sessions.end(uow.session, raw, clock.now(), "logout")
    uow.audit("auth.logout", actor, subject_kind="user", subject_id=str(user_id))
    uow.commit()


def _user(uow: UnitOfWork, username: str) -> User:
    user = uow.session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(N_("No such user."), code="USER_UNKNOWN")
    return user


@use_case
def set_password(uow: UnitOfWork, actor: Actor, username: str, password: str, *,
                 current: str | None = None) -> int:
    """Set a user's password under the policy (`current` checked when a user changes
    their own); every session of theirs ends. How many sessions were ended."""
    user = _user(uow, username)
    if current is not None and not verify_password(user.password_hash, current):
        raise LoginFailed(N_("The current password is wrong."), code="PASSWORD_WRONG",
                          fields={"current": [N_("The current password is wrong.")]})
    check_password_policy(password, username=user.username, display_name=user.display_name)
    user.password_hash = hash_password(password)
    ended = sessions.end_all(uow.session, user.id, clock.now(), "password")
    uow.audit("user.password", actor, subject_kind="user", subject_id=str(user.id),
              payload={"sessions_ended": ended})
    return ended


def set_roles(uow: UnitOfWork, actor: Actor, username: str, roles: list[str]) -> int:
    user = _user(uow, username)
    unknown = [r for r in roles if r not in {x.value for x in Role}]
    if unknown:
        raise Conflict(N_("Unknown role %(role)s."), code="UNKNOWN_ROLE",
                       params={"role": unknown[0]})
    records = ensure_roles(uow)
    before = sorted(user.role_names)
    user.roles = [records[r] for r in sorted(set(roles))]
    ended = sessions.end_all(uow.session, user.id, clock.now(), "roles")
    _forget_tokens(uow, user.id)
    uow.audit("user.roles", actor, subject_kind="user", subject_id=str(user.id),
              payload={"before": before, "after": sorted(set(roles)), "sessions_ended": ended})
    return ended


def set_active(uow: UnitOfWork, actor: Actor, username: str, active: bool) -> int:
    user = _user(uow, username)
    user.active = active
    ended = 0 if active else sessions.end_all(uow.session, user.id, clock.now(), "disabled")
    _forget_tokens(uow, user.id)
    uow.audit("user.enable" if active else "user.disable", actor, subject_kind="user",
              subject_id=str(user.id), payload={"sessions_ended": ended})
    return ended


def _forget_tokens(uow: UnitOfWork, user_id: int) -> None:
    # A token's principal (with its roles) is cached per process for a few seconds.
    from .tokens import forget_user

    uow.after_commit(lambda: forget_user(user_id))
