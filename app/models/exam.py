"""Exam versions (a frozen spec once published) and the bank pool each published one draws."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base


class ExamVersion(Base):
    """One version of an exam. ``draft`` versions may be replaced; ``published`` ones never change.

    ``scoring_revision`` counts audited key corrections: results name the revision they were
    computed with, so a correction knows exactly which results it must recompute.
    """

    __tablename__ = "exams"
    __table_args__ = (UniqueConstraint("code", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300))
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    spec_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    scoring_revision: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(128))
    published_at: Mapped[datetime | None]
    published_by: Mapped[str | None] = mapped_column(String(128))
    pool_hash: Mapped[str | None] = mapped_column(String(64))
    # A simulasi: a public practice exam anyone may start without a PIN (spec ``practice``).
    practice: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class ExamPoolItem(Base):
    """An item version a published exam version may draw: the bank snapshot of that version.

    The item's IRT parameters are frozen here at publication, so a later calibration never
    changes how an exam already running matches forms or chooses adaptive items (appeals
    replay exactly).
    """

    __tablename__ = "exam_pool_items"

    exam_id: Mapped[int] = mapped_column(
        ForeignKey("exams.id", ondelete="CASCADE"), primary_key=True
    )
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), primary_key=True)
    irt_a: Mapped[float | None] = mapped_column(Float)
    irt_b: Mapped[float | None] = mapped_column(Float)
    irt_c: Mapped[float | None] = mapped_column(Float)
