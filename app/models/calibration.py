"""IRT calibrations of item versions: parameters estimated from an exam's answers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base


class Calibration(Base):
    """One calibration run: the model, settings, data size, convergence and every item's fit.

    Content never changes: applying a calibration sets the item versions' IRT parameters
    (used by exams published afterwards; published exams keep the parameters they froze).
    """

    __tablename__ = "calibrations"

    id: Mapped[int] = mapped_column(primary_key=True)
    exam_id: Mapped[int] = mapped_column(ForeignKey("exams.id"), index=True)
    model: Mapped[str] = mapped_column(String(8))
    settings: Mapped[dict[str, Any]] = mapped_column(JSON)
    result: Mapped[dict[str, Any]] = mapped_column(JSON)
    n_candidates: Mapped[int] = mapped_column(Integer)
    n_items: Mapped[int] = mapped_column(Integer)
    converged: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(128))
    applied_at: Mapped[datetime | None]


class CalibrationItem(Base):
    """One item version's estimates in a calibration."""

    __tablename__ = "calibration_items"

    calibration_id: Mapped[int] = mapped_column(
        ForeignKey("calibrations.id", ondelete="CASCADE"), primary_key=True
    )
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), primary_key=True)
    a: Mapped[float] = mapped_column(Float)
    b: Mapped[float] = mapped_column(Float)
    c: Mapped[float] = mapped_column(Float)
    se_a: Mapped[float | None] = mapped_column(Float)
    se_b: Mapped[float | None] = mapped_column(Float)
    se_c: Mapped[float | None] = mapped_column(Float)
    rmsd: Mapped[float | None] = mapped_column(Float)
    n_responses: Mapped[int] = mapped_column(Integer)
