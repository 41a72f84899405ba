"""The one place that decides who may call a view.

Every view is decorated with `require(...)` (roles) or `public` (login, health,
static). A test walks the URL map and fails on any view that has neither.
Enterprise-scoped users get 404, not 403, for another enterprise's records, so IDs
cannot be probed.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, TypeVarTuple

from flask import Flask, abort, g, request
from flask_login import LoginManager, UserMixin, current_user
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import ColumnElement, Select, false

from kernel import clock
from kernel.errors import N_, NotFound
from models import User
from parkgate.database import get_session

from . import sessions
from .principal import Principal, from_user
from .roles import Role
from .tokens import resolve_principal

F = TypeVar("F", bound=Callable[..., Any])

csrf = CSRFProtect()
login_manager = LoginManager()


class LoginUser(UserMixin):
    """What Flask-Login keeps in the cookie session: the user id and the server-side
    session id (auth.sessions), as "<user id>:<session id>"."""

    def __init__(self, user_id: int, session_id: str) -> None:
        self.user_id = user_id
        self.session_id = session_id
        self.id = f"{user_id}:{session_id}"


@login_manager.user_loader
def _load_user(cookie_id: str) -> LoginUser | None:
    """Only a session the server still holds open: one ended by logout or by a change
    of the user's access is refused, even from a copied cookie."""
    user_part, _, session_id = (cookie_id or "").partition(":")
    if not user_part.isdigit() or not session_id or len(session_id) > 100:
        return None
    if not sessions.is_live(get_session(), int(user_part), session_id, clock.now()):
        return None
    return LoginUser(int(user_part), session_id)


Row = TypeVarTuple("Row")


def current_principal() -> Principal:
    """Who is asking, in a view behind require() (401 if nobody is signed in)."""
    principal = g.get("principal")
    if principal is None:
        abort(401)
    return principal  # type: ignore[no-any-return]


def maybe_principal() -> Principal | None:
    """Who is asking, if anyone (navigation, templates, the rate limiter)."""
    return g.get("principal")  # type: ignore[no-any-return]


def _resolve_principal() -> None:
    g.principal = None
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        principal = resolve_principal(get_session(), header[7:].strip())
        if principal is None:
            abort(401)
        g.principal = principal
        return
    raw = request.args.get("token")
    if raw and _accepts_query_token():
        principal = resolve_principal(get_session(), raw)
        if principal is None:
            abort(401)
        g.principal = principal
        return
    if current_user.is_authenticated:
        user = get_session().get(User, current_user.user_id)
        if user is not None and user.active:
            g.principal = from_user(user)


def _protect_forms() -> None:
    # CSRF guards cookie sessions only; a bearer token cannot be sent by another site.
    principal = g.get("principal")
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    if principal is not None and principal.via == "token":
        return
    if principal is None and request.path.startswith("/api/"):
        return  # nobody signed in: the view answers 401, there is no session to forge
    if _view_attribute("camera_auth"):
        return  # a device signs each request itself (HTTP Digest): no session to forge
    csrf.protect()


def require(*roles: str) -> Callable[[F], F]:
    """Allow principals holding any of `roles` (none given: any signed-in person).

    A device (a camera's or gate agent's token) reaches only views that name the
    device role: a token bound to a lane is for that lane's device endpoints, never
    for reading the park's records."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            principal = current_principal()  # 401 when nobody is signed in
            if roles and not principal.has(*roles):
                abort(403)
            if is_device_only(principal) and Role.DEVICE not in roles:
                abort(403)
            return view(*args, **kwargs)

        wrapper.required_roles = roles  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


def is_device_only(principal: Principal) -> bool:
    return principal.roles <= {Role.DEVICE.value}


def query_token(view: F) -> F:
    """Also accept the bearer token as ?token=: vendor cameras can be given a push URL
    but not an Authorization header. Only for views a device pushes to."""
    view.query_token = True  # type: ignore[attr-defined]
    return view


def _accepts_query_token() -> bool:
    return _view_attribute("query_token")


def _view_attribute(name: str) -> bool:
    from flask import current_app

    view = current_app.view_functions.get(request.endpoint or "")
    return bool(getattr(view, name, False))


def public(view: F) -> F:
    view.public = True  # type: ignore[attr-defined]
    return view


def camera_auth(view: F) -> F:
    """A view a camera signs with HTTP Digest (gateway.cameras): no session or token
    principal reaches it; the view authenticates the device and acts at its lane."""
    view.camera_auth = True  # type: ignore[attr-defined]
    return view


def ensure_in_scope(principal: Principal, enterprise_id: int | None) -> None:
    if principal.enterprise_scoped and enterprise_id != principal.enterprise_id:
        raise NotFound(N_("No such record."))


def scope_filter(principal: Principal, column: Any) -> ColumnElement[bool] | None:
    """A WHERE clause limiting an enterprise-scoped principal to its own enterprise."""
    if not principal.enterprise_scoped:
        return None
    if principal.enterprise_id is None:
        return false()
    return column == principal.enterprise_id


def scoped(stmt: Select[*Row], principal: Principal, column: Any
           ) -> Select[*Row]:
    clause = scope_filter(principal, column)
    return stmt if clause is None else stmt.where(clause)


def init_app(app: Flask) -> None:
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "strong"
    app.before_request(_resolve_principal)
    app.before_request(_protect_forms)

    @app.context_processor
    def _inject_principal() -> dict[str, Any]:
        return {"principal": maybe_principal()}
