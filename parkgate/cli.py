"""The `parkgate` command: demo, database, audit, records, users and tokens."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import FlaskGroup

import audit as _audit_writer  # noqa: F401  # composition root: registers the chain's writer
import demo as _demo_scenes  # noqa: F401  # and the camera simulator's scenes
import dispatch as _lot_handlers  # noqa: F401  # and the lot's handlers of trip events

from .config import Settings


def _create_app() -> Any:
    from .app import create_app

    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_default_commands=True)
def main() -> None:
    """ParkGate: closed-park access control and hazmat logistics."""


def _settings() -> Settings:
    try:
        return current_app.config["PARKGATE_SETTINGS"]
    except RuntimeError:
        return Settings.from_env()


def _session_factory() -> Any:
    from .database import get_db

    return get_db().session_factory


# --- database -----------------------------------------------------------------------------

@main.group()
def db() -> None:
    """Schema migrations."""


@db.command("upgrade", with_appcontext=False)
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Migrate the database named by DATABASE_URL."""
    from .migrate import upgrade

    settings = Settings.from_env()
    upgrade(settings.database_url, revision)
    click.echo(f"migrated {_safe_url(settings.database_url)} to {revision}")


@db.command("create-if-missing", with_appcontext=False)
def db_create_if_missing() -> None:
    """Create DATABASE_URL's PostgreSQL database if the server lacks it (first start)."""
    from sqlalchemy.engine import make_url

    url = make_url(_settings().database_url)
    if url.get_backend_name() != "postgresql":
        return
    import psycopg

    admin = url.set(database="postgres", drivername="postgresql")
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                        (url.database,)).fetchone() is None:
            conn.execute(f'CREATE DATABASE "{url.database}"')  # a name from our own config
            click.echo(f"created database {url.database}")


@db.command("check", with_appcontext=False)
def db_check() -> None:
    """Fail when the models and the migrated schema differ."""
    from .migrate import check

    check(Settings.from_env().database_url)
    click.echo("no drift between models and migrations")


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


# --- demo ---------------------------------------------------------------------------------

@main.command("demo", with_appcontext=False)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--keep", is_flag=True, help="Keep an existing demo database instead of re-seeding.")
@click.option("--no-serve", is_flag=True, help="Prepare the database and exit (for scripts).")
def demo(host: str, port: int, keep: bool, no_serve: bool) -> None:
    """Migrate and seed an embedded SQLite demo park, then serve it."""
    from demo.runner import prepare_demo, serve_demo

    settings = Settings.from_env()
    prepared = prepare_demo(settings, keep=keep)
    if no_serve:
        click.echo(prepared.banner(host, port))
        return
    serve_demo(settings, prepared, host=host, port=port)


@main.command("seed-demo")
def seed_demo_command() -> None:
    """Seed the demo park into the configured database (must be empty)."""
    from demo.seed import is_seeded, seed_demo
    from kernel.uow import unit_of_work

    settings = _settings()
    production = settings.env == "production"
    with unit_of_work(_session_factory()) as uow:
        if is_seeded(uow):
            click.echo("database already holds a park; nothing done")
            return
        # The demo's well-known passwords never reach a production database.
        seeded = seed_demo(uow, pii_key=settings.pii_key, well_known_passwords=not production)
    click.echo(f"seeded {seeded.counts}")
    if production:
        click.echo("demo users' passwords (shown once; change them after signing in):")
        for username, password in seeded.users.items():
            click.echo(f"  {username}: {password}")


@main.command("scheduler")
def scheduler_command() -> None:
    """Run the periodic jobs (expiry watch, lot deadlines…) until stopped."""
    from .jobs import all_jobs
    from .scheduler import Scheduler

    scheduler = Scheduler(all_jobs(current_app))
    click.echo("scheduler running: " + ", ".join(j.name for j in scheduler.jobs))
    scheduler.run()


@main.group()
def keys() -> None:
    """The park's signing key (permit snapshots, audit checkpoints)."""


@keys.command("ensure", with_appcontext=False)
def keys_ensure() -> None:
    """Make the signing key if there is none; print its public half."""
    from .signing import load_or_create_key, public_key_b64

    click.echo(public_key_b64(load_or_create_key(_settings().signing_key_path)))


# --- audit --------------------------------------------------------------------------------

@main.group()
def audit() -> None:
    """The audit trail."""


@audit.command("verify")
@click.option("--from", "start", default=1, show_default=True, type=int)
@click.option("--to", "end", default=None, type=int)
@click.option("--checkpoint", "checkpoint_id", default=None, type=int,
              help="Verify up to this signed checkpoint and check its hash and signature.")
def audit_verify(start: int, end: int | None, checkpoint_id: int | None) -> None:
    """Recompute the hash chain; exit 1 naming the first bad event."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn
    from sqlalchemy import text

    from audit import checkpoints

    from .database import get_db, get_session, release_session
    from .signing import public_key_b64

    engine = get_db().engine
    checkpoint = checkpoints.get(get_session(), checkpoint_id) if checkpoint_id else None
    release_session()  # verifying reads on a connection of its own; hold no lock meanwhile
    if checkpoint is not None:
        start, end = 1, checkpoint.seq
    with engine.connect() as conn:
        total = conn.execute(text("SELECT count(*) FROM audit_events WHERE seq >= :s"),
                             {"s": start}).scalar_one()
    with Progress("[progress.description]{task.description}", BarColumn(),
                  MofNCompleteColumn(), TimeRemainingColumn(), transient=True) as progress:
        task = progress.add_task("verifying", total=total if end is None else end - start + 1)

        def advance(n: int) -> None:
            progress.update(task, completed=n)

        key = public_key_b64(current_app.extensions["parkgate.snapshot_key"])
        if checkpoint is not None:
            result = checkpoints.verify_against(engine, checkpoint, key, progress=advance)
        else:
            # Every signed checkpoint in range too: a chain re-hashed after an edit is
            # consistent in itself; only what the park signed earlier shows it.
            result = checkpoints.verify_all(engine, get_session(), key, start_seq=start,
                                            end_seq=end, progress=advance)
    if result.ok:
        click.echo(f"chain intact: {result.checked} events, head #{result.head_seq} "
                   f"{result.head_hash}; {result.checkpoints_checked} signed checkpoint(s) "
                   f"match; {result.waiting} event(s) wait to be linked")
        return
    click.echo(f"chain BROKEN at event #{result.first_bad_seq}: {result.problem}", err=True)
    if result.checkpoint_range:
        first, last = result.checkpoint_range
        click.echo(f"signed checkpoint {result.checkpoint_id} covers events #{first}–#{last}",
                   err=True)
    sys.exit(1)


@audit.command("checkpoint")
def audit_checkpoint() -> None:
    """Sign a checkpoint (the Merkle tree's head) now and print it (a signed note)."""
    from audit import checkpoints
    from kernel import clock
    from kernel.uow import Actor

    from .database import get_uow

    uow = get_uow()
    issued = checkpoints.issue(uow, current_app.extensions["parkgate.snapshot_key"],
                               Actor.system("cli"), clock.now(), force=True)
    uow.commit()
    if issued is None:
        raise click.ClickException("the audit trail is empty")
    click.echo(issued.envelope, nl=False)


@audit.command("consistency")
@click.argument("old")
@click.argument("new", required=False)
@click.option("--proof-out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the proof here (JSON, for python -m audit.offline consistency).")
def audit_consistency(old: str, new: str | None, proof_out: Path | None) -> None:
    """Prove the NEW checkpoint's tree extends the OLD one's (each a checkpoint id or a
    kept note file; NEW defaults to the latest)."""
    from audit import checkpoints
    from audit.consistency import proof_between
    from audit.heads import SignedHead, open_checkpoint
    from parkgate.signing import SignatureRejected, public_key_b64

    from .database import get_session

    session = get_session()
    key = public_key_b64(current_app.extensions["parkgate.snapshot_key"])

    def opened(ref: str | None) -> SignedHead:
        try:
            if ref is None:
                latest = checkpoints.latest_tree_head(session)
                if latest is None:
                    raise click.ClickException("no checkpoint has been signed yet")
                return open_checkpoint(latest.envelope, key)
            if Path(ref).is_file():
                return open_checkpoint(Path(ref).read_text(encoding="utf-8"), key)
            if not ref.isdigit():
                raise click.ClickException(f"{ref}: neither a checkpoint id nor a file")
            return open_checkpoint(checkpoints.get(session, int(ref)).envelope, key)
        except SignatureRejected as exc:
            raise click.ClickException(f"{ref}: {exc}") from exc

    before, after = opened(old), opened(new)
    if before.root is None or after.root is None:
        raise click.ClickException("consistency is proven between tree heads (signed notes) only")
    if before.seq > after.seq:
        raise click.ClickException(f"the old checkpoint signs {before.seq} events, the new "
                                   f"one {after.seq}: events were removed")
    result = proof_between(session, before, after)
    if proof_out:
        proof_out.write_text(json.dumps(result, indent=1), encoding="utf-8")
    if not result["consistent"]:
        raise click.ClickException(result["problem"])
    click.echo(f"consistent: the tree of {after.seq} extends the tree of {before.seq} "
               f"({len(result['proof'])} hashes)")


@audit.command("export")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="A .csv or .xlsx file.")
@click.option("--plate")
@click.option("--trip-id", type=int)
@click.option("--action")
@click.option("--since", type=click.DateTime(), help="Park time.")
@click.option("--until", type=click.DateTime(), help="Park time.")
def audit_export(output: Path, plate: str | None, trip_id: int | None, action: str | None,
                 since: Any, until: Any) -> None:
    """Export events (all, or filtered) with their chain positions and hashes; a
    filtered export is an excerpt whose rows carry proofs against a signed checkpoint."""
    from audit import excerpt, export
    from audit.query import AuditFilter
    from kernel import clock
    from kernel.uow import Actor
    from rules.documents import PARK_TZ

    from .database import get_uow, read_session

    f = AuditFilter(plate=plate, trip_id=trip_id, action=action,
                    since=since.replace(tzinfo=PARK_TZ) if since else None,
                    until=until.replace(tzinfo=PARK_TZ) if until else None)
    checkpoint = None
    if not f.is_empty:
        uow = get_uow()
        checkpoint = excerpt.checkpoint_for(uow, f, current_app.extensions["parkgate.snapshot_key"],
                                            Actor.system("cli"), clock.now())
        uow.commit()
    meta = excerpt.preamble(f, checkpoint)
    session = read_session()
    count = 0

    def rows() -> Any:
        nonlocal count
        for cells in excerpt.cells(session, f, checkpoint.seq if checkpoint else None):
            count += 1
            yield cells

    try:
        if output.suffix.lower() == ".xlsx":
            with output.open("wb") as handle:
                for chunk in export.xlsx_chunks(rows(), meta):
                    handle.write(chunk)
        else:
            with output.open("w", encoding="utf-8", newline="") as text_out:
                text_out.writelines(export.csv_chunks(rows(), meta))
    finally:
        session.close()
    click.echo(f"{count} events written to {output}")


@audit.command("purge-images")
@click.option("--days", type=int, default=None, help="Retention in days (default: park policy).")
def audit_purge_images(days: int | None) -> None:
    """Delete plate crops older than the retention period (the events stay)."""
    from audit.retention import purge_images
    from kernel import clock
    from kernel.uow import Actor

    from .database import get_uow

    uow = get_uow()
    deleted = purge_images(uow, Actor.system("cli"), clock.now(), days)
    uow.commit()
    click.echo(f"{deleted} images deleted")


# --- records ------------------------------------------------------------------------------

@main.group()
def records() -> None:
    """Park records: import, export, the expiry watch."""


def _kind(name: str) -> Any:
    from registry.service import REGISTRY

    if name not in REGISTRY:
        raise click.BadParameter(f"one of {', '.join(sorted(REGISTRY))}", param_hint="KIND")
    return REGISTRY[name]


def _run_import(path: Path, label: str, run: Any) -> Any:
    """Run an import over a file with a progress bar; `run(uow, reader, rows, progress)`."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

    from kernel.uow import unit_of_work
    from registry.imports import HashingReader, read_rows

    size = path.stat().st_size
    with path.open("rb") as raw, unit_of_work(_session_factory()) as uow, Progress(
            "[progress.description]{task.description}", BarColumn(), DownloadColumn(),
            "{task.fields[rows]} rows", TimeRemainingColumn()) as progress:
        task = progress.add_task(label, total=size, rows=0)
        reader = HashingReader(raw)
        report = run(uow, reader, read_rows(reader, path.name),
                     lambda n: progress.update(task, completed=reader.consumed, rows=n))
        progress.update(task, completed=size, rows=report.rows)
    return report


def _print_row_errors(report: Any) -> None:
    from parkgate.problems import translate_message

    for err in report.errors:
        message = translate_message(err.message, os.environ.get("PARKGATE_CLI_LOCALE", "zh_Hans_CN"))
        click.echo(f"row {err.row}: {err.field}: {message}", err=True)
    if report.error_count > len(report.errors):
        click.echo(f"… and {report.error_count - len(report.errors)} more", err=True)


@records.command("import")
@click.argument("kind")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check every row and report; save nothing.")
@click.option("--create-only", is_flag=True, help="Rows naming existing records are errors.")
def records_import(kind: str, path: Path, dry_run: bool, create_only: bool) -> None:
    """Import KIND (vehicles, persons, materials…) from a CSV or XLSX file, all or nothing."""
    from auth.principal import system_principal
    from registry.imports import import_rows

    resource = _kind(kind)
    report = _run_import(path, kind, lambda uow, reader, rows, progress: import_rows(
        uow, resource, system_principal("cli"), rows, dry_run=dry_run, create_only=create_only,
        progress=progress, sha256=lambda: reader.sha256.hexdigest()))
    _print_row_errors(report)
    verdict = "dry run, nothing saved" if dry_run else ("saved" if report.ok else "NOTHING saved")
    click.echo(f"{report.rows} rows: {report.created} new, {report.updated} changed, "
               f"{report.unchanged} unchanged, {report.error_count} problems — {verdict}")
    if not report.ok:
        sys.exit(1)


@records.command("export")
@click.argument("kind")
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx"]), default="csv")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
def records_export(kind: str, fmt: str, output: Path) -> None:
    """Export every active record of KIND."""
    from auth.principal import system_principal
    from registry import service
    from registry.imports import csv_lines, export_columns, xlsx_bytes

    resource = _kind(kind)
    session = _session_factory()()
    try:
        rows = (service.serialize(session, resource, r)
                for r in service.iter_records(session, resource, system_principal("cli")))
        columns = export_columns(resource)
        if fmt == "xlsx":
            output.write_bytes(xlsx_bytes(columns, rows, kind))
        else:
            with output.open("w", encoding="utf-8", newline="") as f:
                for piece in csv_lines(columns, rows):
                    f.write(piece)
    finally:
        session.close()
    click.echo(f"wrote {output}")


@records.command("expiry-watch")
@click.option("--days", default=None, type=int, help="Warning period (default: park policy).")
def records_expiry_watch(days: int | None) -> None:
    """The daily job: announce expired and soon-expiring papers on the event bus."""
    from kernel import clock
    from kernel.uow import unit_of_work
    from registry.expiry import run_watch
    from rules.documents import park_date

    from .database import get_bus

    with unit_of_work(_session_factory(), get_bus()) as uow:
        summary = run_watch(uow, park_date(clock.now()), days if days is not None else 30)
    click.echo(f"{summary['expired']} expired, {summary['expiring']} expiring within "
               f"{summary['within_days']} days, {summary['enterprises']} enterprises told")


# --- users and tokens ---------------------------------------------------------------------

@main.group()
def users() -> None:
    """People who sign in."""


@users.command("create")
@click.argument("username")
@click.option("--name", "display_name", required=True)
@click.option("--role", "roles", multiple=True, required=True)
@click.option("--enterprise-id", type=int)
@click.option("--plant-id", type=int)
@click.password_option()
def users_create(username: str, display_name: str, roles: tuple[str, ...],
                 enterprise_id: int | None, plant_id: int | None, password: str) -> None:
    from auth.service import create_user
    from kernel.uow import Actor, unit_of_work

    with unit_of_work(_session_factory()) as uow:
        create_user(uow, Actor.system("cli"), username=username, display_name=display_name,
                    password=password, roles=list(roles), enterprise_id=enterprise_id,
                    plant_id=plant_id)
        uow.commit()
    click.echo(f"created {username}")


def _user_change(change: Any, username: str, *args: Any) -> int:
    from kernel.errors import DomainError
    from kernel.uow import Actor, unit_of_work

    with unit_of_work(_session_factory()) as uow:
        try:
            ended = change(uow, Actor.system("cli"), username, *args)
        except DomainError as exc:
            raise click.ClickException(str(exc)) from None
        uow.commit()
    return ended


@users.command("set-password")
@click.argument("username")
@click.password_option()
def users_set_password(username: str, password: str) -> None:
    """Set a user's password (policy-checked); their sessions end."""
    from auth.service import set_password

    ended = _user_change(set_password, username, password)
    click.echo(f"password of {username} set; {ended} session(s) ended")


@users.command("set-roles")
@click.argument("username")
@click.option("--role", "roles", multiple=True, required=True)
def users_set_roles(username: str, roles: tuple[str, ...]) -> None:
    """Replace a user's roles; their sessions end."""
    from auth.service import set_roles

    ended = _user_change(set_roles, username, list(roles))
    click.echo(f"roles of {username}: {', '.join(sorted(roles))}; {ended} session(s) ended")


@users.command("disable")
@click.argument("username")
def users_disable(username: str) -> None:
    """Stop a user signing in; their sessions and tokens stop working."""
    from auth.service import set_active

    ended = _user_change(set_active, username, False)
    click.echo(f"{username} disabled; {ended} session(s) ended")


@users.command("enable")
@click.argument("username")
def users_enable(username: str) -> None:
    from auth.service import set_active

    _user_change(set_active, username, True)
    click.echo(f"{username} enabled")


@main.group()
def tokens() -> None:
    """API tokens for devices and integrations."""


@tokens.command("issue")
@click.option("--user", "username", required=True)
@click.option("--name", required=True)
@click.option("--lane", "lane_code", help="Bind the token to one lane (devices).")
def tokens_issue(username: str, name: str, lane_code: str | None) -> None:
    """Issue a token; it is printed once and only its hash is stored."""
    from sqlalchemy import select

    from auth.tokens import issue_token
    from kernel.uow import Actor, unit_of_work
    from models import Lane, User

    with unit_of_work(_session_factory()) as uow:
        user = uow.session.scalar(select(User).where(User.username == username))
        if user is None:
            raise click.ClickException(f"no user {username}")
        lane_id = None
        if lane_code:
            lane = uow.session.scalar(select(Lane).where(Lane.code == lane_code))
            if lane is None:
                raise click.ClickException(f"no lane {lane_code}")
            lane_id = lane.id
        raw = issue_token(uow, user, name, Actor.system("cli"), lane_id=lane_id)
        uow.commit()
    click.echo(raw)


@tokens.command("revoke")
@click.option("--user", "username", required=True)
@click.option("--name", required=True)
def tokens_revoke(username: str, name: str) -> None:
    """Revoke a user's tokens of this name (a lost or stolen camera's, say). The
    centre's workers stop accepting them within auth.tokens.PRINCIPAL_TTL_S."""
    from sqlalchemy import select

    from auth.tokens import revoke_token
    from kernel.uow import Actor, unit_of_work
    from models import ApiToken, User

    with unit_of_work(_session_factory()) as uow:
        found = uow.session.scalars(
            select(ApiToken).join(User, User.id == ApiToken.user_id)
            .where(User.username == username, ApiToken.name == name,
                   ApiToken.revoked_at.is_(None))).all()
        if not found:
            raise click.ClickException(f"no token {name!r} of {username} to revoke")
        for token in found:
            revoke_token(uow, token, Actor.system("cli"))
        uow.commit()
    click.echo(f"revoked {len(found)}")



# --- bookings -----------------------------------------------------------------------------

@main.group()
def bookings() -> None:
    """Bookings: bulk import."""


@bookings.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check every row and report; save nothing.")
@click.option("--as", "username", help="Book as this user (an enterprise's logistics staff); "
              "default: the park, with the enterprise taken from each row or its plant.")
def bookings_import(path: Path, dry_run: bool, username: str | None) -> None:
    """Import bookings from a CSV or XLSX file, all or nothing (see the booking import page
    for the columns)."""
    from sqlalchemy import select

    from auth.principal import from_user, system_principal
    from booking.imports import import_bookings
    from models import User

    def run(uow: Any, reader: Any, rows: Any, progress: Any) -> Any:
        principal = system_principal("cli")
        if username:
            user = uow.session.scalar(select(User).where(User.username == username))
            if user is None:
                raise click.BadParameter(f"no user {username}", param_hint="--as")
            principal = from_user(user)
        return import_bookings(uow, principal, rows, dry_run=dry_run, progress=progress)

    report = _run_import(path, "bookings", run)
    _print_row_errors(report)
    verdict = "dry run, nothing saved" if dry_run else ("saved" if report.ok else "NOTHING saved")
    click.echo(f"{report.rows} rows: {report.booked} booked, {report.pending} waiting for "
               f"approval, {report.error_count} problems — {verdict}")
    if not report.ok:
        sys.exit(1)


# --- plates (no app needed) ---------------------------------------------------------------

def _add_plates() -> None:
    from camera_adapters.cli import plates

    main.add_command(plates)


_add_plates()


if __name__ == "__main__":  # after every group above, so `python -m parkgate.cli` has them all
    main()
