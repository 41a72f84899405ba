"""Audit API and page (the chain's verification; querying grows here)."""

from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint
from flask import render_template, request
from pydantic import BaseModel

from auth.access import require
from auth.roles import Role
from parkgate.database import get_db
from parkgate.errors import N_

from .service import verify_chain

bp = APIBlueprint("audit", __name__, tag="Audit")

AUDIT_ROLES = (Role.ADMIN, Role.AUDITOR)


class VerifyOut(BaseModel):
    ok: bool
    checked: int
    head_seq: int
    head_hash: str
    first_bad_seq: int | None
    problem: str | None


@bp.get("/api/v1/audit/verify")
@require(*AUDIT_ROLES)
@bp.output(VerifyOut)
@bp.doc(summary="Recompute the audit chain and name the first bad event")
def api_verify() -> Any:
    return verify_chain(get_db().engine).as_dict()


@bp.route("/audit/verify", methods=["GET", "POST"])
@require(*AUDIT_ROLES)
def verify_page() -> Any:
    result = verify_chain(get_db().engine) if request.method == "POST" else None
    return render_template("audit/verify.html", result=result)


def init_app(app: Any) -> None:
    from parkgate.web import register_nav

    app.register_blueprint(bp)
    register_nav("audit.verify_page", N_("Audit"), AUDIT_ROLES, order=80)
