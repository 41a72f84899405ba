"""A time range as a range of seq: what lets an auditor's old week cost what today's does.

An auditor's page is newest first by seq, the primary key. Given only a time range,
the planner cannot know that instants follow seq, and walks the whole trail back from
today to the range (about half a second for one day half a year back at 5 M events,
growing with the trail: bench/audit_query.py). Each block of SIZE consecutive events
keeps the earliest and latest instant among them (models.AuditTimeBlock); the blocks
whose span meets the range bound the seq of every event in it, and that bound is a
range the primary key answers. The instant conditions stay: the bound narrows, never
decides.

Instants follow seq only roughly (an event is stamped before its commit and linked
after it, so a long transaction's events land among later ones), which is why a block
keeps a span, not an instant. The sequencer widens the spans of the blocks it links
into, under its lock, and moves the chain's `blocks_through` along (widen). Events
linked without that (an older process still linking during an upgrade) leave
`blocks_through` behind the chain: until the next pass catches up on them, `span`
bounds nothing and the query runs as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Insert, Select, func, insert, select, update
from sqlalchemy.orm import Session

from models import AuditEvent, AuditHead, AuditTimeBlock
from models.base import table

SIZE = 4096  # events per block: a busy park links a few blocks a day


def _block_spans(*where: Any) -> Select[int, datetime, datetime]:
    """Each block's span over the linked events `where` picks."""
    events = table(AuditEvent)
    # Grouped by the output column: the same expression written twice would carry
    # two sets of parameters, which PostgreSQL does not see as one grouping.
    block = ((events.c.seq - 1) // SIZE).label("block")
    return (select(block, func.min(events.c.at), func.max(events.c.at)).where(*where)
            .group_by(block))


def rebuild() -> Insert:
    """The blocks of a chain whose events were written without them (a benchmark's
    bulk load; the migration that added them writes the same)."""
    return insert(table(AuditTimeBlock)).from_select(["block", "first_at", "last_at"],
                                                     _block_spans())


def block_of(seq: int) -> int:
    return (seq - 1) // SIZE


def widen(session: Session, events: Sequence[dict[str, Any]]) -> None:
    """Widen the spans of the blocks `events` (just linked, in seq order: seq, at) fall
    in to cover them, and anything linked before them that the blocks do not cover yet
    (blocks_through behind: a linker that did not keep them); then move blocks_through
    to the last event. The caller holds the sequencer's lock: reads and writes suffice."""
    if not events:
        return
    head = table(AuditHead)
    through = session.scalar(select(head.c.blocks_through).where(head.c.id == 1)) or 0
    before = events[0]["seq"] - 1
    spans: dict[int, tuple[datetime, datetime]] = {}
    if through < before:
        spans.update(_spans_between(session, through, before))
    for event in events:
        block, at = block_of(event["seq"]), event["at"]
        first, last = spans.get(block, (at, at))
        spans[block] = (min(first, at), max(last, at))
    blocks = table(AuditTimeBlock)
    stored = {block: (first, last) for block, first, last in session.execute(
        select(blocks.c.block, blocks.c.first_at, blocks.c.last_at)
        .where(blocks.c.block.in_(sorted(spans))))}
    for block, (first, last) in spans.items():
        if block not in stored:
            session.execute(insert(blocks).values(block=block, first_at=first, last_at=last))
            continue
        was_first, was_last = stored[block]
        if first < was_first or last > was_last:
            session.execute(update(blocks).where(blocks.c.block == block).values(
                first_at=min(first, was_first), last_at=max(last, was_last)))
    session.execute(update(head).where(head.c.id == 1).values(
        blocks_through=events[-1]["seq"]))


def _spans_between(session: Session, after: int, upto: int
                   ) -> dict[int, tuple[datetime, datetime]]:
    seq = table(AuditEvent).c.seq
    return {block: (first, last) for block, first, last in session.execute(
        _block_spans(seq > after, seq <= upto))}


def span(session: Session, since: datetime | None, until: datetime | None
         ) -> tuple[int, int] | None:
    """The seq range (first, last) that holds every linked event stamped in
    [since, until), (1, 0) when none can be; None when the blocks do not cover the
    chain and nothing can be bounded."""
    b = AuditTimeBlock
    meets = [*([b.last_at >= since] if since is not None else []),
             *([b.first_at < until] if until is not None else [])]
    # The watermark first, the blocks after: they cover at least what it says, and
    # an event linked after it was read leaves the chain past it, which unbounds.
    through = session.scalar(select(AuditHead.blocks_through).where(AuditHead.id == 1)) or 0
    lowest, highest = session.execute(select(
        func.min(b.block).filter(*meets), func.max(b.block).filter(*meets))).one()
    if (session.scalar(select(func.max(AuditEvent.seq))) or 0) > through:
        return None
    if lowest is None:
        return (1, 0)
    return (lowest * SIZE + 1, (highest + 1) * SIZE)
