"""The `parkgate` command group and what its command modules share."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import FlaskGroup

from ..config import Settings


def _create_app() -> Any:
    from ..app import create_app

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
    from ..database import get_db

    return get_db().session_factory




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
