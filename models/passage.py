"""Every gate read and the decision taken on it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class Passage(Base):
    """One vehicle or person at one lane: the read(s), the decision, any override.

    Repeated reads of the same plate within the lane's fold window are counted here
    (`read_count`) rather than stored again.
    """

    __tablename__ = "passages"
    __table_args__ = (
        Index("ix_passages_lane_seen", "lane_id", "seen_at"),
        Index("ix_passages_plate_seen", "plate", "seen_at"),
        Index("ix_passages_vehicle_seen", "vehicle_id", "seen_at"),
        Index("ix_passages_person_seen", "person_id", "seen_at"),
        Index("ix_passages_trip", "trip_id"),
        # A window of time as the range of ids it holds (audit.query).
        Index("ix_passages_seen", "seen_at", "id"),
        # The booth's pending list: a lane's holds nobody has resolved yet.
        Index("ix_passages_lane_pending", "lane_id", "action", "resolved_at"),
        # A read id names a read within its lane: two cameras on two lanes may send the
        # same vendor counter, and each gets its own passage (never the other's).
        UniqueConstraint("lane_id", "read_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    read_id: Mapped[str | None] = mapped_column(String(64))
    lane_id: Mapped[int] = mapped_column(ForeignKey("lanes.id"))
    # "park", "lot:<id>" or "plant:<id>": the area a crossing enters or leaves (G07).
    area: Mapped[str] = mapped_column(String(32))
    direction: Mapped[str] = mapped_column(String(4))  # in | out
    source: Mapped[str] = mapped_column(String(16), default="camera")  # camera|manual|vendor|…
    subject_kind: Mapped[str] = mapped_column(String(8))  # vehicle | person
    plate: Mapped[str | None] = mapped_column(String(16))
    plate_colour: Mapped[str | None] = mapped_column(String(12))
    confidence: Mapped[float | None]
    trailer_plate: Mapped[str | None] = mapped_column(String(16))
    vehicle_id: Mapped[int | None] = mapped_column(ForeignKey("vehicles.id"))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))
    trip_id: Mapped[int | None] = mapped_column(ForeignKey("trips.id"))
    seen_at: Mapped[datetime]
    decided_at: Mapped[datetime]
    action: Mapped[str] = mapped_column(String(20))  # OPEN | DENY | DIVERT_TO_LOT | HOLD_FOR_OPERATOR
    reasons: Mapped[list[Any]] = mapped_column(default=list)  # [{"code": …, "rule": …}]
    message_zh: Mapped[str | None] = mapped_column(String(500))
    message_en: Mapped[str | None] = mapped_column(String(500))
    # Whether the subject physically crossed (for anti-passback and the roster).
    crossed: Mapped[bool] = mapped_column(default=False)
    offline: Mapped[bool] = mapped_column(default=False)
    read_count: Mapped[int] = mapped_column(Integer, default=1)
    crop_sha256: Mapped[str | None] = mapped_column(String(64))
    override_action: Mapped[str | None] = mapped_column(String(20))
    override_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    override_reason: Mapped[str | None] = mapped_column(String(500))
    override_at: Mapped[datetime | None]
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # A hold leaves the booth's pending list when someone resolves it: an override
    # ("override"), a check that decided it again ("completed": the new passage names
    # it in details.completes), or crew confirmed at an exit ("crew_confirmed"). A hold
    # replaced by a later read of the same plate at the lane drops out by query.
    resolved_at: Mapped[datetime | None]
    resolution: Mapped[str | None] = mapped_column(String(16))
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class PassageImage(Base):
    """A plate crop, kept apart from the passage so retention can purge images while
    passages and audit events (which hold only the hash) stay."""

    __tablename__ = "passage_images"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    jpeg: Mapped[bytes] = mapped_column(LargeBinary)
    # The newest passage that names the image: retention counts from there.
    created_at: Mapped[datetime] = mapped_column(index=True)


class PassageRead(Base):
    """Every read id the gate has seen at a lane, and the passage it belongs to.

    A retried read finds its passage here (idempotency); reads folded into an
    earlier passage are here too, so a retry of a folded read is not counted again.
    The lane is part of the key: a read id answers only for the lane it was sent to.
    """

    __tablename__ = "passage_reads"

    lane_id: Mapped[int] = mapped_column(ForeignKey("lanes.id"), primary_key=True)
    read_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    passage_id: Mapped[int] = mapped_column(ForeignKey("passages.id"), index=True)
    received_at: Mapped[datetime]


class Presence(Base):
    """Who and what is inside an area now: a row per subject inside, removed on exit."""

    __tablename__ = "presence"
    __table_args__ = (UniqueConstraint("area", "subject_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    area: Mapped[str] = mapped_column(String(32), index=True)
    subject_key: Mapped[str] = mapped_column(String(24))  # "v:<vehicle id>" | "p:<person id>"
    vehicle_id: Mapped[int | None] = mapped_column(ForeignKey("vehicles.id"))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))
    trip_id: Mapped[int | None] = mapped_column(ForeignKey("trips.id"))
    entered_at: Mapped[datetime]
    passage_id: Mapped[int | None] = mapped_column(ForeignKey("passages.id"))


class PassageReason(Base):
    """One reason of one decision, for auditors' look-ups by reason code over time
    (the decision's reasons are also kept in full on the passage)."""

    __tablename__ = "passage_reasons"
    __table_args__ = (Index("ix_passage_reasons_code_at", "code", "decided_at"),)

    passage_id: Mapped[int] = mapped_column(ForeignKey("passages.id"), primary_key=True)
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    decided_at: Mapped[datetime]
