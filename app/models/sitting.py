"""Sittings (sesi), their proctors and their rosters of registered candidates."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, BigInteger, Date, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.attempt import StoredEnum
from app.models.base import Base
from exam_day.status import SittingStatus


class Sitting(Base):
    """One session of one exam version at a site and room, starting at ``starts_at`` (UTC).

    ``timezone`` is the site's own IANA zone (Asia/Jakarta = WIB, Asia/Makassar = WITA,
    Asia/Jayapura = WIT), used only to show times. ``seed`` makes every form of the sitting
    reproducible.
    """

    __tablename__ = "sittings"

    id: Mapped[int] = mapped_column(primary_key=True)
    exam_id: Mapped[int] = mapped_column(ForeignKey("exams.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    site: Mapped[str] = mapped_column(String(200))
    room: Mapped[str] = mapped_column(String(100))
    timezone: Mapped[str] = mapped_column(String(64))
    starts_at: Mapped[datetime]
    status: Mapped[SittingStatus] = mapped_column(StoredEnum(SittingStatus))
    paused_at: Mapped[datetime | None]
    seed: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime]
    # ``proctor`` or ``automatic``; None follows the exam spec's ``device_moves``.
    device_moves: Mapped[str | None] = mapped_column(String(16))
    # CIDR networks the candidates connect from; None or empty admits any address.
    site_networks: Mapped[list[str] | None] = mapped_column(JSON)


class SittingProctor(Base):
    """A proctor assigned to a sitting (proctors may run only their own sittings)."""

    __tablename__ = "sitting_proctors"

    sitting_id: Mapped[int] = mapped_column(
        ForeignKey("sittings.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("staff_users.id", ondelete="CASCADE"), primary_key=True
    )


class Registration(Base):
    """A candidate on a sitting's roster: personal data stays here and in the staff API.

    ``slot`` is the candidate's place in the sitting (0, 1, 2...): with the sitting's seed it
    fixes their form. The PIN is stored only as a keyed hash.
    """

    __tablename__ = "registrations"
    __table_args__ = (
        UniqueConstraint("sitting_id", "nomor_peserta"),
        UniqueConstraint("exam_id", "nomor_peserta"),
        UniqueConstraint("sitting_id", "slot"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sitting_id: Mapped[int] = mapped_column(ForeignKey("sittings.id"), index=True)
    exam_id: Mapped[int] = mapped_column(ForeignKey("exams.id"))
    nomor_peserta: Mapped[str] = mapped_column(String(32), index=True)
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(64))
    formation: Mapped[str] = mapped_column(String(64))
    extra_minutes: Mapped[int] = mapped_column(Integer, default=0)
    grade_average: Mapped[float | None] = mapped_column(Float)
    birth_date: Mapped[date | None] = mapped_column(Date)
    slot: Mapped[int] = mapped_column(Integer)
    pin_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
