"""Retention of plate crops and scene pictures: images go after the park's image retention period;
passages and audit events stay (they hold the image's SHA-256, never the image, so
the chain is untouched by a purge)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, select

from kernel.uow import Actor, UnitOfWork, use_case
from models import Park, PassageImage
from registry.read_model import park_policy


def retention_days(uow: UnitOfWork) -> int:
    park_id = uow.session.scalar(select(Park.id).order_by(Park.id).limit(1))
    return park_policy(uow.session, park_id).image_retention_days if park_id else 90


@use_case
def purge_images(uow: UnitOfWork, actor: Actor, now: datetime, days: int | None = None) -> int:
    """Delete crops older than the retention period; the purge itself is audited."""
    days = retention_days(uow) if days is None else days
    if days < 1:
        raise ValueError("retention must be at least one day")
    cutoff = now - timedelta(days=days)
    session = uow.session
    count = session.scalar(select(func.count()).select_from(PassageImage)
                           .where(PassageImage.created_at < cutoff)) or 0
    if count:
        session.execute(delete(PassageImage).where(PassageImage.created_at < cutoff))
        uow.audit("retention.purge_images", actor, subject_kind="passage_images",
                  payload={"deleted": count, "older_than": cutoff.isoformat(), "days": days})
    return count
