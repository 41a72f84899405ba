"""Auditors' pages: search (events and passages), a trip's timeline, verification
with checkpoints."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from pydantic import ValidationError
from sqlalchemy import select

from auth.access import current_principal, require
from auth.roles import Role
from kernel import clock
from kernel.errors import N_, DomainError
from models import (
    AuditCheckpoint,
    Carrier,
    Enterprise,
    Gate,
    Lane,
    Material,
    Person,
    Plant,
    Trip,
    Vehicle,
)
from parkgate.database import get_db, get_session, get_uow
from parkgate.labels import label
from parkgate.problems import error_text
from parkgate.signing import public_key_b64
from rules.documents import park_date

from . import checkpoints, describe, timeline
from .api import ExportIn, PageIn, export_response
from .query import DECISIONS, events_page, passages_page

bp = Blueprint("audit", __name__)

AUDIT_ROLES = (Role.ADMIN, Role.AUDITOR)
TABS = ("events", "passages")


class _Names:
    """Names for the records a page's payloads point at, each looked up once."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, Any], str | None] = {}

    def _get(self, kind: str, key: Any, find: Any) -> str | None:
        if (kind, key) not in self._cache:
            self._cache[(kind, key)] = find()
        return self._cache[(kind, key)]

    def plant(self, plant_id: int) -> str | None:
        return self._get("plant", plant_id, lambda: get_session().scalar(
            select(Plant.name).where(Plant.id == plant_id)))

    def vehicle(self, vehicle_id: int) -> str | None:
        return self._get("vehicle", vehicle_id, lambda: get_session().scalar(
            select(Vehicle.plate).where(Vehicle.id == vehicle_id)))

    def person(self, person_id: int) -> str | None:
        def find() -> str | None:
            person = get_session().get(Person, person_id)
            return f"{person.name} ({person.id_masked})" if person else None
        return self._get("person", person_id, find)

    def material(self, un_number: str) -> str | None:
        from rules.hazard import normalise_un

        try:
            un = normalise_un(un_number)
        except ValueError:
            return None
        return self._get("material", un, lambda: get_session().scalar(
            select(Material.name_zh).where(Material.un_number == un).limit(1)))


def describer() -> Any:
    """The template helpers that show an audit payload and who acted, in the reader's
    language and park time."""
    from parkgate.web import localtime

    names = _Names()

    def details(payload: Any) -> list[describe.Field]:
        data = json.loads(payload) if isinstance(payload, str) else (payload or {})
        if not isinstance(data, dict):
            return [describe.Field("payload", gettext("Details"), str(data))]
        return describe.describe(data, names, gettext,
                                 lambda t: localtime(t, "yyyy-MM-dd HH:mm"))

    def actor(kind: str | None, name: str | None) -> str:
        return describe.actor_text(kind, name, gettext)

    return {"details": details, "actor": actor}


def _choices() -> dict[str, Any]:
    session = get_session()
    return {
        "enterprises": session.execute(select(Enterprise.id, Enterprise.name)
                                       .order_by(Enterprise.name)).all(),
        "carriers": session.execute(select(Carrier.id, Carrier.name)
                                    .order_by(Carrier.name)).all(),
        "gates": session.execute(select(Gate.id, Gate.name).order_by(Gate.code)).all(),
        "lanes": session.execute(select(Lane.id, Lane.code).order_by(Lane.code)).all(),
        "decisions": DECISIONS,
        "actions": _action_choices(),
        "reasons": _reason_choices(),
    }


def _action_choices() -> list[tuple[str, str]]:
    """Every action by its label, each kind's group ("gate.*") first: auditors pick
    what happened, not a code they would have to know."""
    from parkgate.labels import AUDIT_ACTIONS

    out: list[tuple[str, str]] = []
    for group in sorted({code.split(".")[0] for code in AUDIT_ACTIONS}):
        members = sorted(c for c in AUDIT_ACTIONS if c.split(".")[0] == group)
        if len(members) > 1:
            out.append((f"{group}.*", gettext(N_("All of: %(what)s"), what=" / ".join(
                gettext(AUDIT_ACTIONS[c]) for c in members[:3]) + (" …" if len(members) > 3
                                                                   else ""))))
        out += [(c, gettext(AUDIT_ACTIONS[c])) for c in members]
    return out


def _reason_choices() -> list[tuple[str, str]]:
    from gateway.reasons import CATALOG

    return sorted(((code, describe.reason_title(code, gettext)) for code in CATALOG),
                  key=lambda pair: pair[0])


# What a filter field is called on the form, for a message about it.
FILTER_LABELS = {
    "plate": N_("Plate"), "person": N_("Person (masked ID or certificate no.)"),
    "enterprise_id": N_("Enterprise"), "carrier_id": N_("Carrier"), "gate_id": N_("Gate"),
    "lane_id": N_("Lane"), "action": N_("Action"), "decision": N_("Decision"),
    "reason": N_("Reason code"), "override": N_("Override"), "offline": N_("Decided offline"),
    "since": N_("From"), "until": N_("To"), "seq_from": N_("Event # from"),
    "seq_to": N_("to #"), "trip_id": N_("Trip"),
}


def _args(*drop: str) -> dict[str, str]:
    # `lang` is the page's language switch, not a filter.
    return {k: v for k, v in request.args.items()
            if k not in drop and k != "lang" and v != ""}


def _filter_problems(exc: Exception) -> list[str]:
    """What is wrong with the filter, in the reader's words: the fields by their labels
    on the form, or the rule it broke (a time range that ends before it starts)."""
    if isinstance(exc, ValidationError):
        names = sorted({str(e["loc"][0]) for e in exc.errors() if e["loc"]})
        return [gettext(FILTER_LABELS[n]) if n in FILTER_LABELS else n for n in names] \
            or [gettext(N_("the filter"))]
    if isinstance(exc, DomainError):
        return [error_text(exc)]
    return [str(exc)]


def _link(**changes: Any) -> dict[str, Any]:
    """This search's parameters with some changed (None drops one): tab, page, export."""
    return {k: v for k, v in (_args("before") | changes).items() if v is not None}


@bp.get("/audit")
@require(*AUDIT_ROLES)
def search_page() -> Any:
    tab = request.args.get("tab", "events")
    tab = tab if tab in TABS else "events"
    try:
        query = PageIn.model_validate(_args("tab"))
        f = query.to_filter()
    except (ValidationError, ValueError, DomainError) as exc:
        return render_template("audit/search.html", tab=tab, rows=[], next_before=None,
                               args=_args("before"), error=_filter_problems(exc),
                               link=_link, lane_codes={}, **_choices(), **describer()), 400
    session = get_session()
    page = events_page if tab == "events" else passages_page
    rows, next_before = page(session, f, before=query.before, limit=query.limit)
    choices = _choices()
    return render_template("audit/search.html", tab=tab, rows=rows, next_before=next_before,
                           args=_args("before"), error=None, link=_link,
                           lane_codes=dict(choices["lanes"]), **choices, **describer())


@bp.get("/audit/export")
@require(*AUDIT_ROLES)
def export_page() -> Any:
    try:
        query = ExportIn.model_validate(_args("tab", "before", "limit"))
        f = query.to_filter()
    except (ValidationError, ValueError, DomainError):
        flash(gettext("The filter is not valid; nothing was exported."), "error")
        return redirect(url_for("audit.search_page"))
    return export_response(f, query.format)


@bp.get("/audit/report")
@require(*AUDIT_ROLES)
def report_page() -> Any:
    """The matching events as a spreadsheet people read (the search page's columns,
    in the reader's language); the export beside it is the one that verifies."""
    from parkgate.web import localtime

    from . import report
    from .query import iter_events

    try:
        f = ExportIn.model_validate({**_args("tab", "before", "limit", "format")}).to_filter()
    except (ValidationError, ValueError, DomainError):
        flash(gettext("The filter is not valid; nothing was exported."), "error")
        return redirect(url_for("audit.search_page"))
    helpers = describer()
    lanes = dict(get_session().execute(select(Lane.id, Lane.code)).all())
    rows: list[list[Any]] = []
    more: str | None = None
    for row in iter_events(get_session(), f, batch=2000):
        if len(rows) == report.ROWS_MAX:
            more = gettext(N_("More events match than a report holds (%(n)s): narrow the "
                              "filter, or use the CSV/XLSX export."), n=report.ROWS_MAX)
            break
        rows.append(report.report_cells(
            row, when=lambda at: localtime(at, "yyyy-MM-dd HH:mm:ss"), who=helpers["actor"],
            action=lambda code: gettext(label(code)),
            subject=lambda kind: gettext(label(kind)) if kind else "",
            lane=lambda lane_id: lanes.get(lane_id, "") if lane_id else "",
            details=lambda payload: helpers["details"](payload)))
    # A trip by its booking code, as people and papers name it.
    trip_ids = {row[7] for row in rows if row[7]}
    codes = dict(get_session().execute(select(Trip.id, Trip.code).where(
        Trip.id.in_(trip_ids))).all()) if trip_ids else {}
    rows = [[*row[:7], codes.get(row[7], row[7]), *row[8:]] for row in rows]
    header = [gettext(h) for h in report.HEADER]
    params = f.as_params()
    if f.lane_id:
        params["lane_id"] = lanes.get(f.lane_id, params["lane_id"])
    shown = {gettext(FILTER_LABELS[k]) if k in FILTER_LABELS else k: v
             for k, v in params.items()}
    about = [
        (gettext(N_("Report")), gettext(N_("ParkGate audit events, readable (not for "
                                           "verification: use the CSV/XLSX export)"))),
        (gettext(N_("Filter")), "; ".join(f"{k}: {v}" for k, v in shown.items())
         or gettext(N_("none (every event)"))),
        (gettext(N_("Events")), str(len(rows)) + (" +" if more else "")),
        (gettext(N_("Made at")), localtime(clock.now(), "yyyy-MM-dd HH:mm:ss")),
        (gettext(N_("Made by")), current_principal().display_name),
    ]
    subject = f"trip-{f.trip_id}-" if f.trip_id else ""
    name = f"audit-report-{subject}{park_date(clock.now()).isoformat()}.xlsx"
    body = b"".join(report.xlsx_report(rows, header, gettext(N_("Audit events")), more,
                                       about, gettext(N_("About this report"))))
    return current_app.response_class(
        body, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.get("/audit/trips/<id:trip_id>")
@require(*AUDIT_ROLES)
def timeline_page(trip_id: int) -> Any:
    return render_template("audit/timeline.html", t=timeline.build(get_session(), trip_id),
                           **describer())


@bp.get("/audit/passages/<id:passage_id>/receipt")
@require(Role.ADMIN, Role.AUDITOR, Role.GATE_OPERATOR, Role.DISPATCHER)
def receipt_page(passage_id: int) -> Any:
    """A decision's receipt for whoever disputes it: print it or download it."""
    from . import receipts

    receipt = receipts.for_passage(get_session(), passage_id)
    return render_template("audit/receipt.html", r=receipt)


@bp.route("/audit/verify", methods=["GET", "POST"])
@require(*AUDIT_ROLES)
def verify_page() -> Any:
    session = get_session()
    result = None
    error = None
    status = 200
    key = public_key_b64(current_app.extensions["parkgate.snapshot_key"])
    if request.method == "POST":
        engine = get_db().engine
        checkpoint_id = request.form.get("checkpoint_id", type=int)
        start = max(1, request.form.get("from", type=int) or 1)
        end = request.form.get("to", type=int)
        if checkpoint_id:
            checkpoint = checkpoints.get(session, checkpoint_id)
            session.commit()  # verifying reads on its own connection: hold no lock meanwhile
            result = checkpoints.verify_against(engine, checkpoint, key)
        elif end is not None and end < start:
            error, status = gettext("The range ends (#%(end)s) before it starts (#%(start)s).",
                                    end=end, start=start), 422
        else:
            try:
                result = checkpoints.verify_all(engine, session, key, start_seq=start,
                                                end_seq=end)
            except DomainError as exc:
                error, status = error_text(exc), exc.status
    return _verify_template(session, key, result=result, error=error), status


def _verify_template(session: Any, key: str, **context: Any) -> str:
    from .api import _verifier_key

    rows = list(session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.id.desc())
                                .limit(50)))
    context.setdefault("result", None)
    context.setdefault("error", None)
    return render_template("audit/verify.html", checkpoints=rows, public_key=key,
                           verifier_key=_verifier_key(), form=request.form,
                           tree_heads=[c for c in rows if checkpoints.is_tree_head(c)],
                           **context)


@bp.post("/audit/consistency")
@require(*AUDIT_ROLES)
def consistency_page() -> Any:
    """Check a kept checkpoint (pasted) or an earlier one from the list against a later
    one: the page shows whether the later tree extends it and offers the proof."""
    from kernel.errors import DomainError

    from . import consistency

    session = get_session()
    key = public_key_b64(current_app.extensions["parkgate.snapshot_key"])
    kept = (request.form.get("kept") or "").strip()
    try:
        if kept:
            outcome = consistency.check_kept(session, kept.replace("\r\n", "\n") + "\n", key)
        else:
            old = checkpoints.get(session, request.form.get("old", type=int) or 0)
            new_id = request.form.get("new", type=int)
            new = checkpoints.get(session, new_id) if new_id \
                else checkpoints.latest_tree_head(session)
            outcome = consistency.between(session, old, new, key)
    except DomainError as err:
        return _verify_template(session, key, consistency_error=gettext(
            err.message, **err.params)), err.status
    return _verify_template(session, key, consistency=outcome)


@bp.post("/audit/checkpoints")
@require(*AUDIT_ROLES)
def checkpoint_now() -> Any:
    from kernel.errors import TooManyRequests

    uow = get_uow()
    try:
        checkpoints.issue_on_demand(uow, current_app.extensions["parkgate.snapshot_key"],
                                    current_principal().actor, clock.now())
    except TooManyRequests as err:
        flash(gettext(err.message, **err.params), "error")
        return redirect(url_for("audit.verify_page"))
    flash(gettext("Checkpoint signed."), "ok")
    return redirect(url_for("audit.verify_page"))


def init_app(app: Any) -> None:
    from parkgate.web import register_nav

    from .api import bp as api_bp

    app.register_blueprint(bp)
    app.register_blueprint(api_bp)
    register_nav("audit.search_page", N_("Audit"), AUDIT_ROLES, order=80)
