"""`parkgate db …`: migrate, create, check the database."""

from __future__ import annotations

import click

from ..config import Settings
from .base import (
    _settings,
    main,
)


@main.group()
def db() -> None:
    """Schema migrations."""


@db.command("upgrade", with_appcontext=False)
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Migrate the database named by DATABASE_URL."""
    from ..migrate import upgrade

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
    from ..migrate import check

    check(Settings.from_env().database_url)
    click.echo("no drift between models and migrations")


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
