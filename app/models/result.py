"""Results of finished attempts, published ranking snapshots and key corrections."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base


class Result(Base):
    """An attempt's scores and threshold outcome, computed when it finished.

    Recomputed only by an audited rescoring, which bumps ``scoring_revision``.
    """

    __tablename__ = "results"

    attempt_id: Mapped[int] = mapped_column(
        ForeignKey("attempts.id", ondelete="CASCADE"), primary_key=True
    )
    exam_id: Mapped[int] = mapped_column(ForeignKey("exams.id"), index=True)
    sitting_id: Mapped[int] = mapped_column(ForeignKey("sittings.id"), index=True)
    section_scores: Mapped[dict[str, float]] = mapped_column(JSON)
    total: Mapped[float] = mapped_column(Float)
    passed: Mapped[bool] = mapped_column(Boolean)
    rules: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    scoring_version: Mapped[str] = mapped_column(String(32))
    scoring_revision: Mapped[int] = mapped_column(Integer)
    pseudonym: Mapped[str] = mapped_column(String(32), index=True)
    slip_code: Mapped[str] = mapped_column(String(64), unique=True)
    computed_at: Mapped[datetime]
    # Adaptive sections: ability estimate, its SE, the scale score and why the section ended.
    abilities: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class RankingSnapshot(Base):
    """A published, immutable ranking of one formation; a later one supersedes it with a diff."""

    __tablename__ = "ranking_snapshots"
    __table_args__ = (UniqueConstraint("exam_code", "formation", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    exam_code: Mapped[str] = mapped_column(String(64), index=True)
    exam_id: Mapped[int] = mapped_column(ForeignKey("exams.id"))
    formation: Mapped[str] = mapped_column(String(64))
    number: Mapped[int] = mapped_column(Integer)
    rows: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    content_hash: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(64))
    cause: Mapped[str] = mapped_column(Text)
    diff: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("ranking_snapshots.id"))
    published_at: Mapped[datetime]
    published_by: Mapped[str] = mapped_column(String(128))


class KeyCorrection(Base):
    """An applied key correction or annulment of one item in one exam version."""

    __tablename__ = "key_corrections"

    id: Mapped[int] = mapped_column(primary_key=True)
    exam_id: Mapped[int] = mapped_column(ForeignKey("exams.id"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    action: Mapped[dict[str, Any]] = mapped_column(JSON)
    reason: Mapped[str] = mapped_column(Text)
    scoring_revision: Mapped[int] = mapped_column(Integer)
    affected: Mapped[int] = mapped_column(Integer)
    applied_at: Mapped[datetime]
    applied_by: Mapped[str] = mapped_column(String(128))
