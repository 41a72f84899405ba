"""Login and logout pages."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from apiflask import APIBlueprint
from flask import abort, flash, redirect, render_template, request, url_for
from flask import session as flask_session
from flask_babel import gettext
from flask_login import current_user, login_user, logout_user

from kernel.errors import DomainError
from parkgate.database import get_uow
from parkgate.problems import error_text

from .access import LoginUser, current_principal, public, require
from .service import (
    LoginFailed,
    LoginThrottled,
    authenticate,
    begin_session,
    end_session,
    set_password,
)

bp = APIBlueprint("auth", __name__, enable_openapi=False)


def _safe_next(target: str | None) -> str:
    # Only same-site paths: an open redirect after login is a phishing aid.
    if not target:
        return url_for("web.home")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("web.home")
    return target


@bp.route("/login", methods=["GET", "POST"])
@public
def login() -> Any:
    error = None
    status = 200
    headers: dict[str, str] = {}
    if request.method == "POST":
        username = (request.form.get("username") or "").strip()[:64]
        password = request.form.get("password") or ""
        uow = get_uow()
        try:
            user = authenticate(uow, username, password, remote=request.remote_addr)
        except (LoginFailed, LoginThrottled) as exc:
            error = error_text(exc)
            status = exc.status
            if "retry_after" in exc.extra:
                headers["Retry-After"] = str(exc.extra["retry_after"])
        else:
            # A fresh cookie session: nothing set before signing in carries over.
            next_url = _safe_next(request.args.get("next"))
            flask_session.clear()
            session_id = begin_session(uow, user, remote=request.remote_addr)
            login_user(LoginUser(user.id, session_id))
            return redirect(next_url)
    return render_template("login.html", error=error), status, headers


@bp.post("/logout")
@public
def logout() -> Any:
    principal = current_principal()
    if principal is not None and principal.via == "session" and current_user.is_authenticated:
        end_session(get_uow(), current_user.session_id, principal.actor, principal.user_id)
    logout_user()
    flash(gettext("You have signed out."))
    return redirect(url_for("auth.login"))


@bp.route("/account", methods=["GET", "POST"])
@require()
def account() -> Any:
    """A signed-in user changes their own password; every session of theirs ends
    (this one included), so they sign in again with the new one."""
    principal = current_principal()
    assert principal is not None
    errors: dict[str, list[str]] = {}
    status = 200
    if principal.via != "session":
        abort(404)
    if request.method == "POST":
        new, again = request.form.get("new") or "", request.form.get("again") or ""
        if new != again:
            errors["again"] = [gettext("The two new passwords differ.")]
            status = 422
        else:
            uow = get_uow()
            try:
                set_password(uow, principal.actor, principal.username, new,
                             current=request.form.get("current") or "")
            except DomainError as exc:
                errors = {"new" if name == "password" else name: [gettext(m) for m in messages]
                          for name, messages in exc.fields.items()} or \
                    {"new": [gettext(exc.message)]}
                status = 422
            else:
                logout_user()
                flash(gettext("Password changed. Sign in with the new one."))
                return redirect(url_for("auth.login"))
    return render_template("account.html", errors=errors), status


def init_app(app: Any) -> None:
    app.register_blueprint(bp)
