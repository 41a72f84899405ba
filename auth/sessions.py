"""Browser sessions the server knows about, so it can end them (logout, a password,
role or status change) and a copied cookie stops working at once.

The signed cookie holds the user id and a random session id; the database holds
only the session id's SHA-256, with the user and when it ends.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from models import UserSession

LIFETIME = timedelta(hours=12)


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def start(session: Session, user_id: int, now: datetime, *, remote: str | None) -> str:
    """A new session for a user who just signed in; returns the id for the cookie."""
    raw = secrets.token_urlsafe(32)
    session.add(UserSession(id_hash=_digest(raw), user_id=user_id, created_at=now,
                            expires_at=now + LIFETIME, remote=(remote or "")[:64] or None))
    return raw


def is_live(session: Session, user_id: int, raw: str, now: datetime) -> bool:
    row = session.get(UserSession, _digest(raw))
    return row is not None and row.user_id == user_id and row.ended_at is None \
        and row.expires_at > now


def end(session: Session, raw: str, now: datetime, reason: str) -> None:
    session.execute(update(UserSession).where(UserSession.id_hash == _digest(raw),
                                              UserSession.ended_at.is_(None))
                    .values(ended_at=now, end_reason=reason))


def end_all(session: Session, user_id: int, now: datetime, reason: str) -> int:
    """End every open session of a user; how many were open."""
    open_ids = list(session.scalars(select(UserSession.id_hash).where(
        UserSession.user_id == user_id, UserSession.ended_at.is_(None))))
    if open_ids:
        session.execute(update(UserSession).where(UserSession.id_hash.in_(open_ids))
                        .values(ended_at=now, end_reason=reason))
    return len(open_ids)
