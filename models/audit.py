"""The append-only, hash-chained audit trail (DESIGN §6)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, LargeBinary, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class EventBody:
    """What an audited change records: the same columns queued (AuditPending) and
    linked (AuditEvent)."""

    at: Mapped[datetime]
    actor_kind: Mapped[str] = mapped_column(String(8))  # user | device | system
    actor_id: Mapped[str | None] = mapped_column(String(64))
    actor_name: Mapped[str | None] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(64))
    subject_kind: Mapped[str | None] = mapped_column(String(32))
    subject_id: Mapped[str | None] = mapped_column(String(64))
    trip_id: Mapped[int | None] = mapped_column(BigInteger)
    vehicle_id: Mapped[int | None] = mapped_column(BigInteger)
    person_id: Mapped[int | None] = mapped_column(BigInteger)
    enterprise_id: Mapped[int | None] = mapped_column(BigInteger)
    lane_id: Mapped[int | None] = mapped_column(BigInteger)
    plate: Mapped[str | None] = mapped_column(String(16))
    payload: Mapped[str] = mapped_column(Text)  # canonical JSON, hashed as stored


class AuditEvent(EventBody, Base):
    """One audited state change.

    `seq` is the position in the chain (1, 2, …, no gaps); `hash` is SHA-256 over the
    canonical encoding of every other column plus `prev_hash` (audit.chain). The
    subject columns are plain values, not foreign keys: the trail outlives records.
    """

    __tablename__ = "audit_events"
    # Every index costs each append; most events leave most subject columns empty,
    # so subject indexes are partial, and time (append-ordered) is a BRIN range index
    # on PostgreSQL. No unique index on `hash`: verify() already catches duplicates.
    __table_args__ = (
        Index("ix_audit_at", "at", postgresql_using="brin"),
        Index("ix_audit_action_at", "action", "at"),
        Index("ix_audit_subject_at", "subject_kind", "subject_id", "at",
              postgresql_where=text("subject_id IS NOT NULL"),
              sqlite_where=text("subject_id IS NOT NULL")),
        *(
            Index(f"ix_audit_{column}_at", column, "at",
                  postgresql_where=text(f"{column} IS NOT NULL"),
                  sqlite_where=text(f"{column} IS NOT NULL"))
            for column in ("plate", "enterprise_id", "person_id", "lane_id")
        ),
        Index("ix_audit_trip", "trip_id", "seq", postgresql_where=text("trip_id IS NOT NULL"),
              sqlite_where=text("trip_id IS NOT NULL")),
    )

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    # The Merkle leaf index (seq - 1) of the trip's event before this one, NULL for a
    # trip's first (and for events linked before back-links existed). Hashed: a trip
    # excerpt missing a row shows as a broken back-link (audit.excerpt).
    trip_prev_leaf: Mapped[int | None] = mapped_column(BigInteger)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditPending(EventBody, Base):
    """An audited change committed but not yet linked into the chain: written in the
    change's own transaction (an INSERT, no lock), moved into audit_events in commit
    order by the sequencer (audit.sequencer), which deletes it here in the same
    transaction. What waits here is counted by verification, never lost: a crash
    between commit and linking leaves it for the sequencer's next pass."""

    __tablename__ = "audit_pending"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                    primary_key=True, autoincrement=True)


class AuditHead(Base):
    """The chain's head, one row (id = 1), moved only by the sequencer under its lock
    (audit.sequencer); a convenience for linking, never trusted by verification."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    # Leaves the Merkle tree's stored nodes cover (audit.tree); behind `seq` only while
    # a database from before the tree catches up.
    tree_size: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # The tree's right edge at tree_size (audit.tree.Edge): what the next extension
    # needs, read with the head in the same statement whichever process linked last.
    tree_edge: Mapped[bytes | None] = mapped_column(LargeBinary)
    # Events up to this seq are covered by audit_time_blocks (audit.time_blocks): a
    # linker that did not keep the blocks (older code during an upgrade) leaves it
    # behind `seq`, and time ranges go unbounded until the next pass catches up.
    blocks_through: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


class AuditTreeNode(Base):
    """A complete subtree of the Merkle tree over the chain (audit.tree): 2^level
    leaves from index·2^level, keyed level << 48 | index. Derived data, written once
    by the sequencer; a wrong node only makes proofs fail, never pass."""

    __tablename__ = "audit_tree"

    key: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class AuditTimeBlock(Base):
    """The earliest and latest instant among the events of one block of seq (block b
    holds seq b·SIZE+1 … (b+1)·SIZE, audit.time_blocks): what turns a time range into
    a range of seq the primary key answers. Instants follow seq only roughly (stamped
    before commit, linked after), so a block keeps its span, not one instant. Derived
    data, widened by the sequencer as it links; a wider span only costs a longer scan."""

    __tablename__ = "audit_time_blocks"

    block: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    first_at: Mapped[datetime]
    last_at: Mapped[datetime]


class AuditCheckpoint(Base):
    """A signed statement of the chain's head at an instant (seq, hash): anyone with the
    park's public key can check an export or the live chain against it offline."""

    __tablename__ = "audit_checkpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, index=True)
    hash: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]
    # As issued: a signed note (tree head) or, before the Merkle tree, signed JSON.
    envelope: Mapped[str] = mapped_column(Text)
    root: Mapped[str | None] = mapped_column(String(64))  # tree head's root (hex)
    # Publication outside the park (audit.witness): when it last succeeded, and the
    # last failure while it has not.
    published_at: Mapped[datetime | None]
    publish_error: Mapped[str | None] = mapped_column(String(500))
