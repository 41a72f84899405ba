"""`parkgate lot …`: what call-forward has learned, rebuilt from the unloading history."""

from __future__ import annotations

import click

from .base import main


@main.group()
def lot() -> None:
    """The hazmat lot."""


@lot.command("relearn")
@click.option("--plant", "plant_codes", multiple=True, help="Only these plants (codes).")
def lot_relearn(plant_codes: tuple[str, ...]) -> None:
    """Rebuild the learned unloading and drive times from the recorded unloadings
    (after importing history from another system, or a plant's rebuilt docks)."""
    from sqlalchemy import select

    from dispatch import forecast, learning
    from kernel.uow import Actor
    from models import Plant

    from ..database import get_uow

    uow = get_uow()
    session = uow.session
    plants = {p.id: p for p in session.scalars(select(Plant).where(Plant.retired_at.is_(None)))}
    if plant_codes:
        wanted = {p.id for p in plants.values() if p.code in plant_codes}
        if unknown := set(plant_codes) - {plants[i].code for i in wanted}:
            raise click.ClickException(f"no such plant: {', '.join(sorted(unknown))}")
    read = learning.relearn(session, wanted if plant_codes else None)
    uow.audit("lot.relearn", Actor.system("cli"), subject_kind="lot",
              payload={"plants": sorted(plant_codes), "unloadings": read})
    uow.commit()
    click.echo(f"learned from {read} unloadings")
    for plant_id, plant in sorted(plants.items(), key=lambda kv: kv[1].code):
        if plant_codes and plant.code not in plant_codes:
            continue
        learned = learning.estimates_of(session, plant_id)
        overall = learned.get((forecast.UNLOAD, forecast.ANY_CLASS, forecast.ANY_BAND))
        drive = learned.get(forecast.DRIVE_KEY)
        click.echo(f"{plant.code}: unloading "
                   f"{f'{overall.mean_min:.1f} min ({overall.samples})' if overall else '—'}, "
                   f"drive {f'{drive.mean_min:.1f} min ({drive.samples})' if drive else '—'}")
