"""The hazmat lot at work (DESIGN §5), as other packages call it: check-in to a
compatible bay, the queue per plant, releases when docks free or (call-forward) so
that a truck reaches its dock as it frees, the dispatcher's hand, deadlines and dwell
alarms.

The database is the source of truth and the lock. Every change to the lot first
locks the lot's row, so bays, queue and docks change in one order (lot → dock → queue
entry → trip) and no two changes deadlock; inside, a release takes a free dock and
the first waiting trip with `FOR UPDATE SKIP LOCKED`, a dock holds one trip (unique),
and a partial unique index allows one active release per trip — the last guards hold
even against code that forgets the first. On SQLite a write transaction holds the
whole database, which serialises the same steps. Every change is audited in its
transaction; the bus only tells the board and the lanes. A bay freed by a release
goes to a truck at the entrance in a transaction of its own, right after the
release commits (the minute watch catches one that did not happen).

The work is split by use case — dispatch.lot (reading and locking the lot),
dispatch.check_in, dispatch.release (releases, admission, docks, what a trip's move
means for the lot), dispatch.commands (the dispatcher's and plants' use cases, each
its own transaction) and dispatch.watch — and this module is what the rest of
ParkGate imports of them.
"""

from __future__ import annotations

from .check_in import CheckIn, check_in, wait_at_entrance
from .commands import (
    acknowledge,
    call_forward,
    check_in_by_hand,
    hold,
    mark_dock,
    release_now,
    reorder,
    report_dock_unloading,
    requeue,
    send_away,
    set_readiness,
)
from .lot import (
    ENTRANCE,
    HELD,
    LEFT,
    OPEN_ENTRY,
    QUEUE_ORDER,
    RELEASED,
    SENT_AWAY,
    WAITING,
    LotError,
    counts_by_status,
    lot_of_park,
    queue_positions,
    room_for,
    room_left,
    zone_views,
)
from .release import (
    admit_from_entrance,
    after_transition,
    call_forward_due,
    due_plants,
    next_call_at,
    release_next,
    set_dock,
    trip_left_plant,
)
from .watch import watch

__all__ = [
    "ENTRANCE", "HELD", "LEFT", "OPEN_ENTRY", "QUEUE_ORDER", "RELEASED", "SENT_AWAY", "WAITING",
    "CheckIn", "LotError", "acknowledge", "admit_from_entrance", "after_transition", "call_forward",
    "call_forward_due", "check_in", "check_in_by_hand", "counts_by_status", "due_plants", "hold",
    "lot_of_park", "mark_dock", "next_call_at", "queue_positions", "release_next", "release_now",
    "reorder", "report_dock_unloading", "requeue", "room_for", "room_left", "send_away",
    "set_dock", "set_readiness", "trip_left_plant", "wait_at_entrance", "watch", "zone_views",
]
