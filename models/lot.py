"""The hazmat lot: zones, bays, the queue per plant, releases and alarms (DESIGN §5)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base


class Lot(Base):
    __tablename__ = "lots"

    id: Mapped[int] = mapped_column(primary_key=True)
    park_id: Mapped[int] = mapped_column(ForeignKey("parks.id"), index=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    max_wait_min: Mapped[int] = mapped_column(Integer, default=480)
    excluded_classes: Mapped[list[str]] = mapped_column(default=list)  # DOMAIN L04
    # L05: how many vehicles the park lets the lot hold (staff, fire safety), which may
    # be fewer than its bays; None: as many as it has bays.
    capacity: Mapped[int | None] = mapped_column(Integer)
    retired_at: Mapped[datetime | None]

    zones: Mapped[list[Zone]] = relationship(back_populates="lot", order_by="Zone.code")


class Zone(Base):
    __tablename__ = "zones"

    id: Mapped[int] = mapped_column(primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    accepted_classes: Mapped[list[str]] = mapped_column(default=list)
    fire_class: Mapped[str | None] = mapped_column(String(4))  # 甲 | 乙 | 丙
    # Drawing hints for the lot map: {"x": …, "y": …, "w": …, "h": …}.
    layout: Mapped[dict[str, Any]] = mapped_column(default=dict)
    retired_at: Mapped[datetime | None]

    lot: Mapped[Lot] = relationship(back_populates="zones")
    bays: Mapped[list[Bay]] = relationship(back_populates="zone", order_by="Bay.code")


class Bay(Base):
    __tablename__ = "bays"

    id: Mapped[int] = mapped_column(primary_key=True)
    zone_id: Mapped[int] = mapped_column(ForeignKey("zones.id"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    trip_id: Mapped[int | None] = mapped_column(ForeignKey("trips.id"), unique=True)
    out_of_service: Mapped[bool] = mapped_column(default=False)

    zone: Mapped[Zone] = relationship(back_populates="bays")


class QueueEntry(Base):
    """A trip waiting in the lot for its plant (one per trip)."""

    __tablename__ = "queue_entries"
    __table_args__ = (Index("ix_queue_plant_status", "plant_id", "status"),
                      # The entrance queue in arrival order, read a page at a time.
                      Index("ix_queue_lot_status_arrived", "lot_id", "status", "arrived_at",
                            "id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    trip_id: Mapped[int] = mapped_column(ForeignKey("trips.id"), unique=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id"))
    plant_id: Mapped[int] = mapped_column(ForeignKey("plants.id"))
    zone_id: Mapped[int | None] = mapped_column(ForeignKey("zones.id"))
    bay_id: Mapped[int | None] = mapped_column(ForeignKey("bays.id"))
    priority: Mapped[int] = mapped_column(Integer, default=0)
    window_start: Mapped[datetime]
    arrived_at: Mapped[datetime]
    # waiting | held | released | sent_away | left
    status: Mapped[str] = mapped_column(String(12), default="waiting")
    manual_rank: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(String(500))


class Release(Base):
    """Permission for a waiting trip to drive to its plant before a deadline."""

    __tablename__ = "releases"
    __table_args__ = (
        Index("ix_releases_trip_status", "trip_id", "status"),
        # No trip is ever released twice: one active release per trip, whatever races.
        Index("uq_releases_active_trip", "trip_id", unique=True,
              postgresql_where=text("status = 'active'"), sqlite_where=text("status = 'active'")),
        Index("ix_releases_status_deadline", "status", "deadline"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    trip_id: Mapped[int] = mapped_column(ForeignKey("trips.id"))
    plant_id: Mapped[int] = mapped_column(ForeignKey("plants.id"))
    dock_id: Mapped[int | None] = mapped_column(ForeignKey("docks.id"))
    token: Mapped[str] = mapped_column(String(32), unique=True)
    released_at: Mapped[datetime]
    deadline: Mapped[datetime]
    released_by: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(10), default="active")  # active|used|overdue|cancelled
    used_at: Mapped[datetime | None]


class Unloading(Base):
    """One truck at a dock: released, at the plant gate, unloading, done. The history
    call-forward learns from, and the day's dock figures."""

    __tablename__ = "unloadings"
    __table_args__ = (Index("ix_unloadings_plant_ended", "plant_id", "ended_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    trip_id: Mapped[int] = mapped_column(ForeignKey("trips.id"), unique=True)
    plant_id: Mapped[int] = mapped_column(ForeignKey("plants.id"))
    dock_id: Mapped[int | None] = mapped_column(ForeignKey("docks.id"))
    hazard_class: Mapped[str] = mapped_column(String(8))
    quantity_kg: Mapped[float]
    released_at: Mapped[datetime | None]
    called_forward: Mapped[bool] = mapped_column(default=False)
    arrived_at: Mapped[datetime | None]  # the plant gate's read
    started_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    predicted_min: Mapped[float | None]  # the unloading time expected when it started


class DispatchEstimate(Base):
    """What the park has learned: a mean unloading time per plant × hazard class ×
    quantity band (class "*" and band -1: the plant's whole history), and a mean drive
    from the lot per plant (kind "drive")."""

    __tablename__ = "dispatch_estimates"

    plant_id: Mapped[int] = mapped_column(ForeignKey("plants.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)  # unload | drive
    hazard_class: Mapped[str] = mapped_column(String(8), primary_key=True)
    band: Mapped[int] = mapped_column(Integer, primary_key=True)
    samples: Mapped[int] = mapped_column(Integer)
    mean_min: Mapped[float]


class Alarm(Base):
    __tablename__ = "alarms"
    __table_args__ = (Index("ix_alarms_open", "resolved_at", "raised_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    trip_id: Mapped[int | None] = mapped_column(ForeignKey("trips.id"), index=True)
    vehicle_id: Mapped[int | None] = mapped_column(ForeignKey("vehicles.id"))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))
    lane_id: Mapped[int | None] = mapped_column(ForeignKey("lanes.id"))
    camera_id: Mapped[int | None] = mapped_column(ForeignKey("cameras.id"))
    raised_at: Mapped[datetime]
    # A message template (an msgid) and the values it names, as JSON; rendered in each
    # reader's language (dispatch.alarms.alarm_text). Alarms from before 0014 hold
    # their English text and no values.
    message: Mapped[str] = mapped_column(String(500))
    message_args: Mapped[str | None] = mapped_column(Text)
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resolved_at: Mapped[datetime | None]
