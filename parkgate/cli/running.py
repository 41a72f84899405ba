"""`parkgate demo`, `seed-demo`, `scheduler` and `keys`: running the park."""

from __future__ import annotations

import click
from flask import current_app

from ..config import Settings
from .base import (
    _session_factory,
    _settings,
    main,
)


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
    from ..jobs import all_jobs
    from ..scheduler import Scheduler

    scheduler = Scheduler(all_jobs(current_app))
    click.echo("scheduler running: " + ", ".join(j.name for j in scheduler.jobs))
    scheduler.run()


@main.group()
def keys() -> None:
    """The park's signing key (permit snapshots, audit checkpoints)."""


@keys.command("ensure", with_appcontext=False)
def keys_ensure() -> None:
    """Make the signing key if there is none; print its public half."""
    from ..signing import load_or_create_key, public_key_b64

    click.echo(public_key_b64(load_or_create_key(_settings().signing_key_path)))
