"""`parkgate records …`: import, export, the expiry watch."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .base import (
    _kind,
    _print_row_errors,
    _run_import,
    _session_factory,
    main,
)


@main.group()
def records() -> None:
    """Park records: import, export, the expiry watch."""


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

    from ..database import get_bus

    with unit_of_work(_session_factory(), get_bus()) as uow:
        summary = run_watch(uow, park_date(clock.now()), days if days is not None else 30)
    click.echo(f"{summary['expired']} expired, {summary['expiring']} expiring within "
               f"{summary['within_days']} days, {summary['enterprises']} enterprises told")
