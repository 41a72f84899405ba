"""Login and logout pages."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from apiflask import APIBlueprint
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import login_user, logout_user

from parkgate.database import get_uow
from parkgate.uow import Actor

from .access import LoginUser, current_principal, public
from .service import AccountLocked, LoginFailed, authenticate

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
    if request.method == "POST":
        username = (request.form.get("username") or "").strip()[:64]
        password = request.form.get("password") or ""
        try:
            user = authenticate(get_uow(), username, password, remote=request.remote_addr)
        except (LoginFailed, AccountLocked) as exc:
            error = gettext(exc.message, **exc.params) if exc.params else gettext(exc.message)
            status = exc.status
        else:
            login_user(LoginUser(user.id))
            return redirect(_safe_next(request.args.get("next")))
    return render_template("login.html", error=error), status


@bp.post("/logout")
@public
def logout() -> Any:
    principal = current_principal()
    if principal is not None:
        uow = get_uow()
        uow.audit("auth.logout", principal.actor if principal else Actor.system(),
                  subject_kind="user", subject_id=str(principal.user_id))
        uow.commit()
    logout_user()
    flash(gettext("You have signed out."))
    return redirect(url_for("auth.login"))


def init_app(app: Any) -> None:
    app.register_blueprint(bp)
