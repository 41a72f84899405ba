"""`parkgate bookings import`: many bookings, all or nothing."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from .base import (
    _print_row_errors,
    _run_import,
    main,
)


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
