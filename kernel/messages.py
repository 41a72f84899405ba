"""Domain events and the handlers that react to them inside the transaction.

An aggregate (a Trip, say) records what happened to it (`record(entity, event)`); the
unit of work collects those events before it commits and hands each to the handlers
subscribed to its type, which may change records (in the same transaction) and
record further events, until none is left — cosmicpython's message bus
(`collect_new_events`). Announcements to pages still go to the bus after COMMIT
(UnitOfWork.publish). The kernel knows no feature package: each subscribes its own
handlers when it is imported (dispatch/__init__.py), and the composition roots
(the app factory, the CLI, the tests) import them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

Handler = Callable[[Any, Any], None]  # (unit of work, event)

_HANDLERS: dict[type, list[Handler]] = {}
_PENDING = "_pending_events"
MAX_ROUNDS = 50  # handlers recording events that call handlers…: a loop is a bug


def subscribe(event_type: type, handler: Handler) -> None:
    handlers = _HANDLERS.setdefault(event_type, [])
    if handler not in handlers:
        handlers.append(handler)


def handlers_for(event: object) -> list[Handler]:
    return list(_HANDLERS.get(type(event), ()))


def record(entity: object, event: object) -> None:
    """`entity` records `event`; its unit of work handles it before committing."""
    pending = entity.__dict__.get(_PENDING)
    if pending is None:
        pending = []
        # Not a mapped attribute: set past SQLAlchemy's instrumentation.
        entity.__dict__[_PENDING] = pending
    pending.append(event)


def collect(entities: Iterable[object]) -> Iterator[object]:
    """Take the events the entities have recorded, in the order each recorded them."""
    for entity in entities:
        pending = entity.__dict__.get(_PENDING)
        if pending:
            entity.__dict__[_PENDING] = []
            yield from pending


def discard(entities: Iterable[object]) -> None:
    for entity in entities:
        if entity.__dict__.get(_PENDING):
            entity.__dict__[_PENDING] = []
