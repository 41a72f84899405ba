"""Who and what may cross the fence: carriers, vehicles, people and their papers."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base


class Carrier(Base):
    """A road transport company and its dangerous-goods transport licence."""

    __tablename__ = "carriers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    credit_code: Mapped[str] = mapped_column(String(18), unique=True)
    licence_no: Mapped[str | None] = mapped_column(String(64))  # 道路危险货物运输经营许可证
    licence_scope: Mapped[list[str]] = mapped_column(default=list)
    licence_expires_on: Mapped[date | None]
    contact_phone_masked: Mapped[str | None] = mapped_column(String(32))
    retired_at: Mapped[datetime | None]


class Vehicle(Base):
    """A tractor, trailer, rigid truck or car; (plate, plate colour) is its identity."""

    __tablename__ = "vehicles"
    __table_args__ = (UniqueConstraint("plate", "plate_colour"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plate: Mapped[str] = mapped_column(String(16), index=True)
    plate_colour: Mapped[str] = mapped_column(String(12))
    kind: Mapped[str] = mapped_column(String(8))  # tractor | trailer | rigid | car
    category: Mapped[str] = mapped_column(String(12))  # hazmat | hazwaste | goods | small | emergency
    carrier_id: Mapped[int | None] = mapped_column(ForeignKey("carriers.id"), index=True)
    rated_load_kg: Mapped[float | None]
    is_tank: Mapped[bool] = mapped_column(default=False)
    tank_media: Mapped[list[str]] = mapped_column(default=list)  # approved UN numbers
    road_permit_no: Mapped[str | None] = mapped_column(String(64))  # 道路运输证
    permit_issued_on: Mapped[date | None]
    # Business scope by class/division; "toxic" marks 剧毒化学品 (DOMAIN G11).
    permit_scope: Mapped[list[str]] = mapped_column(default=list)
    permit_expires_on: Mapped[date | None]
    review_expires_on: Mapped[date | None]  # 审验
    inspection_expires_on: Mapped[date | None]  # 安全技术检验
    tank_inspection_expires_on: Mapped[date | None]
    insurance_expires_on: Mapped[date | None]  # 承运人责任险
    gps_unit_id: Mapped[str | None] = mapped_column(String(64))
    gps_last_fix_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    retired_at: Mapped[datetime | None]

    carrier: Mapped[Carrier | None] = relationship()


class Person(Base):
    """A person who may pass a gate.

    The national ID is never stored in clear: `id_hash` is a keyed hash used for
    look-up and uniqueness, `id_cipher` the encrypted number for roles allowed to see
    it, `id_masked` what every page shows.
    """

    __tablename__ = "persons"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), index=True)
    id_hash: Mapped[str] = mapped_column(String(64), unique=True)
    id_cipher: Mapped[str] = mapped_column(Text)
    id_masked: Mapped[str] = mapped_column(String(32))
    phone_cipher: Mapped[str | None] = mapped_column(Text)
    phone_masked: Mapped[str | None] = mapped_column(String(32))
    kinds: Mapped[list[str]] = mapped_column(default=list)  # driver, escort, visitor, …
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprises.id"), index=True)
    carrier_id: Mapped[int | None] = mapped_column(ForeignKey("carriers.id"), index=True)
    created_at: Mapped[datetime]
    retired_at: Mapped[datetime | None]

    qualifications: Mapped[list[Qualification]] = relationship(
        back_populates="person", order_by="Qualification.id"
    )


class Qualification(Base):
    """A certificate a person holds, e.g. a dangerous-goods driver's 从业资格证."""

    __tablename__ = "qualifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # driver | escort | loader
    cert_no: Mapped[str] = mapped_column(String(64), index=True)
    classes: Mapped[list[str]] = mapped_column(default=list)
    issued_on: Mapped[date | None]
    expires_on: Mapped[date]
    retired_at: Mapped[datetime | None]

    person: Mapped[Person] = relationship(back_populates="qualifications")


class FixedRegistration(Base):
    """A standing pass for a vehicle (e.g. an enterprise's own car for a year), DOMAIN G02."""

    __tablename__ = "fixed_registrations"

    id: Mapped[int] = mapped_column(primary_key=True)
    vehicle_id: Mapped[int] = mapped_column(ForeignKey("vehicles.id"), index=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    valid_from: Mapped[date]
    valid_until: Mapped[date]
    note: Mapped[str | None] = mapped_column(String(200))
    retired_at: Mapped[datetime | None]


class Material(Base):
    """One entry of the dangerous-goods list (GB 12268 / UN Model Regulations)."""

    __tablename__ = "materials"
    __table_args__ = (UniqueConstraint("un_number", "name_zh"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    un_number: Mapped[str] = mapped_column(String(8), index=True)
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(300))
    hazard_class: Mapped[str] = mapped_column(String(8))
    subsidiary_risks: Mapped[list[str]] = mapped_column(default=list)
    packing_group: Mapped[str | None] = mapped_column(String(4))
    highly_toxic: Mapped[bool] = mapped_column(default=False)  # 剧毒化学品
    retired_at: Mapped[datetime | None]


class BlacklistEntry(Base):
    __tablename__ = "blacklist_entries"
    __table_args__ = (
        Index("ix_blacklist_vehicle_active", "vehicle_id", "lifted_at"),
        Index("ix_blacklist_person_active", "person_id", "lifted_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_kind: Mapped[str] = mapped_column(String(8))  # vehicle | person
    vehicle_id: Mapped[int | None] = mapped_column(ForeignKey("vehicles.id"))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))
    reason: Mapped[str] = mapped_column(String(500))
    # Last day of the ban, park local time (DOMAIN G04); None: until lifted.
    until_on: Mapped[date | None]
    created_at: Mapped[datetime]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    lifted_at: Mapped[datetime | None]
