"""The audit trail: queue events with each change, link them into the hash chain,
verify it, query and export it."""

from __future__ import annotations

from typing import Any


def _committed(bind: Any) -> None:
    from . import sequencer

    sequencer.committed(getattr(bind, "engine", bind))


def _queue(session: Any, pending: Any) -> Any:
    from .chain import queue_events

    return queue_events(session, pending)


def _register() -> None:
    from parkgate.uow import register_audit

    register_audit(_queue, _committed)


_register()
