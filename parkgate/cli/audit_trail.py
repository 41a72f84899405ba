"""`parkgate audit …`: verify, checkpoint, consistency, export, purge images."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
from flask import current_app

from kernel.errors import DomainError

from .base import (
    main,
)


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

    from ..database import get_db, get_session, release_session
    from ..signing import public_key_b64

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
            try:
                result = checkpoints.verify_all(engine, get_session(), key, start_seq=start,
                                                end_seq=end, progress=advance)
            except DomainError as exc:
                raise click.UsageError(exc.message % exc.params) from exc
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

    from ..database import get_uow

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

    from ..database import get_session

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

    from ..database import get_uow, read_session

    f = AuditFilter(plate=plate, trip_id=trip_id, action=action,
                    since=since.replace(tzinfo=PARK_TZ) if since else None,
                    until=until.replace(tzinfo=PARK_TZ) if until else None)
    checkpoint = None
    if not f.is_empty:
        uow = get_uow()
        checkpoint = excerpt.checkpoint_for(uow, f, current_app.extensions["parkgate.snapshot_key"],
                                            Actor.system("cli"), clock.now())
    meta = excerpt.preamble(f, checkpoint)
    session = read_session()
    size = checkpoint.seq if checkpoint else None
    count = 0
    try:
        if output.suffix.lower() == ".xlsx":
            def rows() -> Any:
                nonlocal count
                for cells in excerpt.cells(session, f, size):
                    count += 1
                    yield cells

            with output.open("wb") as handle:
                for chunk in export.xlsx_chunks(rows(), meta):
                    handle.write(chunk)
        else:
            with output.open("w", encoding="utf-8", newline="") as text_out:
                pieces = excerpt.csv_text(session, f, size, meta)
                text_out.write(next(pieces))  # the head: preamble and column names
                for piece in pieces:
                    # One line per event: no cell holds a line break (audit.chain.clean).
                    count += piece.count(export.CSV_LINE_END)
                    text_out.write(piece)
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

    from ..database import get_uow

    uow = get_uow()
    deleted = purge_images(uow, Actor.system("cli"), clock.now(), days)
    uow.commit()
    click.echo(f"{deleted} images deleted")
