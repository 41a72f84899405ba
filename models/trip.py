"""The spine: a booked trip and its cargo lines (DESIGN §1)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base


class Trip(Base):
    """One vehicle with one crew carrying cargo to one plant in a booked window.

    A booking is a trip that has not arrived yet; state changes go through
    trips.state_machine only, which writes the audit event with them.
    """

    __tablename__ = "trips"
    __table_args__ = (
        Index("ix_trips_vehicle_state", "vehicle_id", "state"),
        Index("ix_trips_trailer_state", "trailer_id", "state"),
        Index("ix_trips_driver_state", "driver_id", "state"),
        Index("ix_trips_escort_state", "escort_id", "state"),
        Index("ix_trips_enterprise_window", "enterprise_id", "window_start"),
        Index("ix_trips_plant_state", "plant_id", "state"),
        Index("ix_trips_waybill", "waybill_no"),  # one waybill, one trip (G14)
        # A client's Idempotency-Key: a retried booking request finds the first one.
        UniqueConstraint("enterprise_id", "client_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)  # on the driver's pass
    client_key: Mapped[str | None] = mapped_column(String(64))
    park_id: Mapped[int] = mapped_column(ForeignKey("parks.id"))
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"))
    plant_id: Mapped[int] = mapped_column(ForeignKey("plants.id"))
    direction: Mapped[str] = mapped_column(String(8))  # deliver | collect
    category: Mapped[str] = mapped_column(String(12))  # hazmat | hazwaste | goods | small
    vehicle_id: Mapped[int] = mapped_column(ForeignKey("vehicles.id"))
    trailer_id: Mapped[int | None] = mapped_column(ForeignKey("vehicles.id"))
    driver_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))
    escort_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))
    window_start: Mapped[datetime]
    window_end: Mapped[datetime]
    priority: Mapped[int] = mapped_column(Integer, default=0)
    waybill_no: Mapped[str | None] = mapped_column(String(64))
    waybill_consignor: Mapped[str | None] = mapped_column(String(200))
    waybill_consignee: Mapped[str | None] = mapped_column(String(200))
    # The plates the waybill was issued for (G14: one waybill, one vehicle, one trip).
    waybill_vehicle: Mapped[str | None] = mapped_column(String(16))
    waybill_trailer: Mapped[str | None] = mapped_column(String(16))
    manifest_no: Mapped[str | None] = mapped_column(String(64))  # 危险废物转移联单
    toxic_pass_no: Mapped[str | None] = mapped_column(String(64))  # 剧毒化学品道路运输通行证
    toxic_pass_valid_from: Mapped[date | None]  # G19: the pass's dates and vehicle
    toxic_pass_valid_until: Mapped[date | None]
    toxic_pass_vehicle: Mapped[str | None] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(20), index=True)
    state_changed_at: Mapped[datetime]
    state_reason: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    crew_confirmed_at: Mapped[datetime | None]
    arrived_at: Mapped[datetime | None]
    lot_checked_in_at: Mapped[datetime | None]
    released_at: Mapped[datetime | None]
    release_deadline: Mapped[datetime | None]
    entered_park_at: Mapped[datetime | None]
    plant_in_at: Mapped[datetime | None]
    plant_out_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]

    cargo: Mapped[list[CargoLine]] = relationship(
        back_populates="trip", cascade="all, delete-orphan", order_by="CargoLine.position"
    )


class CargoLine(Base):
    """A cargo line as booked; material facts are copied so the gate decides on what
    was booked even if the material list is corrected later."""

    __tablename__ = "cargo_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    trip_id: Mapped[int] = mapped_column(ForeignKey("trips.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    un_number: Mapped[str] = mapped_column(String(8))
    name_zh: Mapped[str] = mapped_column(String(200))
    hazard_class: Mapped[str] = mapped_column(String(8))
    subsidiary_risks: Mapped[list[str]] = mapped_column(default=list)
    packing_group: Mapped[str | None] = mapped_column(String(4))
    highly_toxic: Mapped[bool] = mapped_column(default=False)
    quantity: Mapped[float]
    unit: Mapped[str] = mapped_column(String(4))  # kg | L | pkg
    quantity_kg: Mapped[float]
    packages: Mapped[int | None]
    # limited | excepted | None (fully regulated), DOMAIN G21
    special_provision: Mapped[str | None] = mapped_column(String(10))

    trip: Mapped[Trip] = relationship(back_populates="cargo")
