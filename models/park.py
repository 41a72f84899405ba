"""The park and its fixed structure: enterprises, plants, docks, gates, lanes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, ForeignKey, Integer, LargeBinary, String, Table, UniqueConstraint
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
    # L06: when a truck is released. free_dock: once a dock is free (the dock then
    # stands idle for the drive from the lot); call_forward: so that it arrives as the
    # dock is expected to free, from learned unloading and drive times, plus a margin.
    release_timing: Mapped[str] = mapped_column(String(12), default="free_dock",
                                                server_default="free_dock")
    call_margin_min: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
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
    # Call-forward: the truck released to this dock while `trip_id` still holds it (at
    # most one, so a dock that runs late never has trucks piling up at its plant gate),
    # when the dock is expected to free, and when the next truck is due to be called.
    next_trip_id: Mapped[int | None] = mapped_column(ForeignKey("trips.id"), unique=True)
    expected_free_at: Mapped[datetime | None]
    call_at: Mapped[datetime | None] = mapped_column(index=True)
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
    # How far back a camera's buffered resend may date its capture (older: the arrival
    # time is recorded instead, the camera's own kept beside it).
    backlog_hours: Mapped[int] = mapped_column(Integer, default=24)
    # Barrier/LED controller settings: {"kind": "simulated"} or {"kind": "http", "url": …}.
    devices: Mapped[dict[str, Any]] = mapped_column(default=dict)
    retired_at: Mapped[datetime | None]

    gate: Mapped[Gate] = relationship(back_populates="lanes")


class Camera(Base):
    """A camera (or platform) that pushes plate events, and the lane its events are for.

    Devices that identify themselves (Dahua's DeviceID, a GA/T 1400 DeviceID, a
    Hikvision MAC address) are mapped to their lane here; those that authenticate
    with HTTP Digest have their credentials here, kept as the Digest hash of the
    password (HA1 over ParkGate's realm), encrypted with the personal-data key.
    """

    __tablename__ = "cameras"
    __table_args__ = (UniqueConstraint("vendor", "device_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    vendor: Mapped[str] = mapped_column(String(16))  # hikvision | dahua | gat1400
    model: Mapped[str | None] = mapped_column(String(64))
    device_id: Mapped[str] = mapped_column(String(64))  # serial / DeviceID / MAC, as sent
    lane_id: Mapped[int | None] = mapped_column(ForeignKey("lanes.id"), index=True)
    protocol: Mapped[str] = mapped_column(String(16), default="push")  # push | itsapi | viid
    username: Mapped[str | None] = mapped_column(String(64))
    secret_cipher: Mapped[str | None] = mapped_column(String(300))
    # Minutes without an event or heartbeat before the camera counts as silent.
    silent_after_min: Mapped[int] = mapped_column(Integer, default=10)
    # Local time of the camera's clock when it sends times without a zone (minutes east
    # of UTC; China: 480).
    utc_offset_min: Mapped[int] = mapped_column(Integer, default=480)
    last_heard_at: Mapped[datetime | None]
    last_event_at: Mapped[datetime | None]
    registered_at: Mapped[datetime | None]  # GA/T 1400 registration
    registered_from: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]
    retired_at: Mapped[datetime | None]


class VendorRejection(Base):
    """A camera event ParkGate refused, kept as it came (bounded) so an integrator can
    see what the camera sent; purged after the retention period."""

    __tablename__ = "vendor_rejections"

    id: Mapped[int] = mapped_column(primary_key=True)
    received_at: Mapped[datetime] = mapped_column(index=True)
    vendor: Mapped[str] = mapped_column(String(16))
    path: Mapped[str] = mapped_column(String(200))
    camera_id: Mapped[int | None] = mapped_column(ForeignKey("cameras.id"))
    code: Mapped[str] = mapped_column(String(40))
    detail: Mapped[str | None] = mapped_column(String(500))
    content_type: Mapped[str | None] = mapped_column(String(200))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    truncated: Mapped[bool] = mapped_column(default=False)
