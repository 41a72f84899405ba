"""The lot's reactions to trip events (kernel.messages), run in the transaction
that moved the trip: entering its plant uses the trip's release; leaving frees its
dock and calls the next truck."""

from __future__ import annotations

from typing import Any


def on_trip_moved(uow: Any, event: Any) -> None:
    from .release import after_transition

    after_transition(uow, event.trip, event.action, event.actor, event.at)
