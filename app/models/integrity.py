"""Integrity evidence kept beside the attempt: item views, roster details, committee decisions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base


class ItemViewBatch(Base):
    """One batch of item views reported by the candidate screen, stamped on arrival.

    ``views`` is packed ``[[position, ms before the batch was sent], ...]``; ``received_at`` is
    the server's time on arrival, so a view happened at ``received_at - ms`` (the client's
    clock is used only for durations within one batch, never as a time of day). One row per
    batch keeps a 110-item sitting at a few rows per attempt.
    """

    __tablename__ = "item_view_batches"
    __table_args__ = (Index("ix_item_view_batches_attempt_received", "attempt_id", "received_at"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id", ondelete="CASCADE"))
    received_at: Mapped[datetime]
    views: Mapped[list[Any]] = mapped_column(JSON)


class RosterDetail(Base):
    """Optional roster columns of a registration: seat number and the DIF group fields.

    Kept beside the registration so that rosters without them cost nothing; ``category`` is
    the registration's own column.
    """

    __tablename__ = "roster_details"

    registration_id: Mapped[int] = mapped_column(
        ForeignKey("registrations.id", ondelete="CASCADE"), primary_key=True
    )
    seat: Mapped[int | None] = mapped_column(Integer)
    region: Mapped[str | None] = mapped_column(String(64))
    gender: Mapped[str | None] = mapped_column(String(16))


class IntegrityDecision(Base):
    """A committee member's decision on a flagged attempt (the newest one stands).

    Flags are evidence only: nothing here is written automatically. Every decision is also an
    event on the attempt's audit chain.
    """

    __tablename__ = "integrity_decisions"
    __table_args__ = (Index("ix_integrity_decisions_attempt", "attempt_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id", ondelete="CASCADE"))
    decision: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(128))
    decided_at: Mapped[datetime]
