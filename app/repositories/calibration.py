"""Queries of IRT calibrations: store a run with its item estimates, apply it, list runs."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.models.bank import ItemVersion
from app.models.calibration import Calibration, CalibrationItem


def add(session: Session, record: Calibration, items: Sequence[CalibrationItem]) -> Calibration:
    """Store a calibration run and its item estimates (the items get the run's id)."""
    session.add(record)
    session.flush()
    for item in items:
        item.calibration_id = record.id
    session.add_all(items)
    session.flush()
    return record


def set_item_parameters(
    session: Session, item_id: int, *, a: float, b: float, c: float, calibration_id: int
) -> None:
    """Give an item version the IRT parameters of a calibration."""
    session.execute(
        update(ItemVersion)
        .where(ItemVersion.id == item_id)
        .values(irt_a=a, irt_b=b, irt_c=c, calibration_id=calibration_id)
    )


def of_exams(session: Session, exam_ids: Sequence[int]) -> list[Calibration]:
    """Every calibration run on the exam versions ``exam_ids``, newest first."""
    return list(
        session.scalars(
            select(Calibration)
            .where(Calibration.exam_id.in_(list(exam_ids)))
            .order_by(Calibration.id.desc())
        )
    )
