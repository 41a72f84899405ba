"""The audit trail: queue events with each change, link them into the hash chain,
verify it, query and export it."""

from __future__ import annotations

from typing import Any


def _committed(bind: Any) -> None:
    from . import sequencer

    sequencer.committed(getattr(bind, "engine", bind))


def _commit_with(session: Any, pending: Any) -> Any:
    from .chain import queue_and_commit

    return queue_and_commit(session, pending)


def _register() -> None:
    from kernel.uow import register_audit

    register_audit(_commit_with, _committed)


_register()
