"""The park and its fixed structure: enterprises, plants, docks, gates, lanes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, ForeignKey, Integer, String, Table, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base


class Park(Base):
    __tablename__ = "parks"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    # Per-park policy knobs (grace minutes, dwell limits, opening hours, approval mode…);
    # rules read them through rules.policy.ParkPolicy so defaults live in one place.
    policy: Mapped[dict[str, Any]] = mapped_column(default=dict)


enterprise_carriers = Table(
    "enterprise_carriers",
    Base.metadata,
    Column("enterprise_id", ForeignKey("enterprises.id", ondelete="CASCADE"), primary_key=True),
    Column("carrier_id", ForeignKey("carriers.id", ondelete="CASCADE"), primary_key=True),
)


class Enterprise(Base):
    __tablename__ = "enterprises"

    id: Mapped[int] = mapped_column(primary_key=True)
    park_id: Mapped[int] = mapped_column(ForeignKey("parks.id"), index=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    credit_code: Mapped[str | None] = mapped_column(String(18))  # 统一社会信用代码
    retired_at: Mapped[datetime | None]

    plants: Mapped[list[Plant]] = relationship(back_populates="enterprise")
    material_scope: Mapped[list[EnterpriseMaterialScope]] = relationship(
        back_populates="enterprise", cascade="all, delete-orphan"
    )


class EnterpriseMaterialScope(Base):
    """One line of what an enterprise may receive or ship, with a per-trip cap.

    A line names either one UN number or a whole hazard class (un_number empty).
    """

    __tablename__ = "enterprise_material_scope"

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(
        ForeignKey("enterprises.id", ondelete="CASCADE"), index=True
    )
    direction: Mapped[str] = mapped_column(String(8))  # receive | ship
    un_number: Mapped[str | None] = mapped_column(String(8))
    hazard_class: Mapped[str | None] = mapped_column(String(8))
    max_qty_kg: Mapped[float | None]

    enterprise: Mapped[Enterprise] = relationship(back_populates="material_scope")


class Plant(Base):
    __tablename__ = "plants"

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # {"mon": [["08:00", "18:00"]], ...}; an interval may span midnight.
    receiving_hours: Mapped[dict[str, Any]] = mapped_column(default=dict)
    release_mode: Mapped[str] = mapped_column(String(8), default="auto")  # auto | propose
    # L06: the plant says it can receive; a quality hold makes it not ready while its
    # docks are free, and nothing is released to it until it is ready again.
    ready: Mapped[bool] = mapped_column(default=True)
    ready_note: Mapped[str | None] = mapped_column(String(200))
    ready_changed_at: Mapped[datetime | None]
    arrival_deadline_min: Mapped[int] = mapped_column(Integer, default=30)
    max_dwell_min: Mapped[int] = mapped_column(Integer, default=240)
    retired_at: Mapped[datetime | None]

    enterprise: Mapped[Enterprise] = relationship(back_populates="plants")
    docks: Mapped[list[Dock]] = relationship(back_populates="plant", order_by="Dock.code")


class Dock(Base):
    __tablename__ = "docks"
    __table_args__ = (UniqueConstraint("plant_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plant_id: Mapped[int] = mapped_column(ForeignKey("plants.id"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    busy: Mapped[bool] = mapped_column(default=False)
    trip_id: Mapped[int | None] = mapped_column(ForeignKey("trips.id"), unique=True)
    retired_at: Mapped[datetime | None]

    plant: Mapped[Plant] = relationship(back_populates="docks")


class Gate(Base):
    __tablename__ = "gates"

    id: Mapped[int] = mapped_column(primary_key=True)
    park_id: Mapped[int] = mapped_column(ForeignKey("parks.id"), index=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))  # perimeter | lot | plant
    # Vehicle categories this gate admits (DOMAIN §1): hazmat, hazwaste, goods, small,
    # pedestrian, emergency.
    admits: Mapped[list[str]] = mapped_column(default=list)
    plant_id: Mapped[int | None] = mapped_column(ForeignKey("plants.id"))
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("lots.id"))
    retired_at: Mapped[datetime | None]

    lanes: Mapped[list[Lane]] = relationship(back_populates="gate", order_by="Lane.code")


class Lane(Base):
    __tablename__ = "lanes"

    id: Mapped[int] = mapped_column(primary_key=True)
    gate_id: Mapped[int] = mapped_column(ForeignKey("gates.id"), index=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    direction: Mapped[str] = mapped_column(String(4))  # in | out
    confidence_threshold: Mapped[float] = mapped_column(default=0.85)
    antipassback: Mapped[str] = mapped_column(String(8), default="deny")  # deny | hold | off
    fold_window_s: Mapped[int] = mapped_column(Integer, default=30)
    # Barrier/LED controller settings: {"kind": "simulated"} or {"kind": "http", "url": …}.
    devices: Mapped[dict[str, Any]] = mapped_column(default=dict)
    retired_at: Mapped[datetime | None]

    gate: Mapped[Gate] = relationship(back_populates="lanes")
