"""What happens to a trip, as its state machine records it (kernel.messages)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kernel.actor import Actor


@dataclass(frozen=True)
class TripMoved:
    """A trip went through `action` from `before` to `after`. `trip` is the record
    itself, in the transaction that moved it: handlers change what follows from the
    move (the lot's dock and release) before that transaction commits."""

    trip: Any
    action: str
    before: str
    after: str
    actor: Actor
    at: datetime
