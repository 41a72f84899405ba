"""Publishing checkpoints outside the park, so the park cannot quietly rewrite its own
history: every signed tree head is dropped into a directory (a share, a sync folder,
a regulator's drop box) and/or POSTed to a witness URL, as transparency logs hand
their checkpoints to witnesses. A failed publication is retried every minute until
it succeeds; the page shows which checkpoints wait.

    PARKGATE_WITNESS_DIR   a directory to write <size>.note files into
    PARKGATE_WITNESS_URL   an http(s) URL that accepts the note as text/plain POST
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import tempfile
import urllib.request
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import AuditCheckpoint

log = logging.getLogger(__name__)
BATCH = 20
TIMEOUT_S = 5.0

Post = Callable[[str, str], None]


def _post(url: str, note: str) -> None:
    if not re.match(r"^https?://", url):
        raise ValueError(f"the witness URL must be http(s): {url!r}")
    # The scheme is checked above: no file: or custom handlers.
    request = urllib.request.Request(url, data=note.encode(), method="POST",  # noqa: S310
                                     headers={"Content-Type": "text/plain; charset=utf-8"})
    with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:  # noqa: S310 # nosec B310
        if response.status >= 300:
            raise OSError(f"the witness answered {response.status}")


def _drop(directory: Path, checkpoint: AuditCheckpoint) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / f"checkpoint-{checkpoint.seq:012d}-{checkpoint.id}.note"
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".note-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(checkpoint.envelope)
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def configured() -> bool:
    return bool(os.environ.get("PARKGATE_WITNESS_DIR") or os.environ.get("PARKGATE_WITNESS_URL"))


def publish_pending(session: Session, now: datetime, post: Post = _post) -> dict[str, int]:
    """Publish the tree heads not published yet, oldest first; the caller commits."""
    directory = os.environ.get("PARKGATE_WITNESS_DIR")
    url = os.environ.get("PARKGATE_WITNESS_URL")
    if not directory and not url:
        return {"published": 0, "failed": 0}
    waiting = list(session.scalars(
        select(AuditCheckpoint).where(AuditCheckpoint.root.is_not(None),
                                      AuditCheckpoint.published_at.is_(None))
        .order_by(AuditCheckpoint.id).limit(BATCH)))
    published = failed = 0
    for checkpoint in waiting:
        try:
            if directory:
                _drop(Path(directory), checkpoint)
            if url:
                post(url, checkpoint.envelope)
        except (OSError, ValueError) as exc:
            checkpoint.publish_error = f"{type(exc).__name__}: {exc}"[:500]
            failed += 1
            log.warning("checkpoint %s not published (retrying): %s", checkpoint.id, exc)
            continue
        checkpoint.published_at, checkpoint.publish_error = now, None
        published += 1
    return {"published": published, "failed": failed}
