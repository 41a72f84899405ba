"""`parkgate users …` and `parkgate tokens …`."""

from __future__ import annotations

from typing import Any

import click

from .base import (
    _session_factory,
    main,
)


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
