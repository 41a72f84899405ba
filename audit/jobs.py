"""Scheduled jobs of the audit trail: signed checkpoints and image retention."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import time, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kernel import clock
from kernel.uow import Actor
from parkgate.scheduler import Job

from . import checkpoints, witness
from .retention import purge_images


def jobs(new_uow: Callable[[], Any], key: Ed25519PrivateKey) -> list[Job]:
    def checkpoint() -> dict[str, Any]:
        with new_uow() as uow:
            # What waits in the queue is linked first: the checkpoint signs it too.
            from .sequencer import link_all

            link_all(uow.session.get_bind())
            issued = checkpoints.issue(uow, key, Actor.system("audit.checkpoint"), clock.now())
            uow.commit()
            published = witness.publish_pending(uow.session, clock.now())
            uow.commit()
            return {"seq": issued.seq if issued else None, **published}

    def publish() -> dict[str, Any]:
        with new_uow() as uow:
            published = witness.publish_pending(uow.session, clock.now())
            uow.commit()
            return published

    def retention() -> dict[str, Any]:
        with new_uow() as uow:
            deleted = purge_images(uow, Actor.system("retention"), clock.now())
            uow.commit()
            return {"images_deleted": deleted}

    every = timedelta(minutes=int(os.environ.get("PARKGATE_CHECKPOINT_EVERY_MIN", "60") or 60))
    return [Job("audit.checkpoint", checkpoint, every=every, run_at_start=True),
            Job("audit.publish", publish, every=timedelta(minutes=1)),
            Job("audit.retention", retention, daily_at=time(3, 30))]
