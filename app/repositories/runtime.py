"""Queries that build an exam version's runtime: its frozen pool, key corrections, revision."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models.bank import ItemVersion
from app.models.exam import ExamPoolItem, ExamVersion
from app.models.result import KeyCorrection


def pool_with_frozen_irt(
    session: Session, exam_id: int
) -> list[tuple[ItemVersion, float | None, float | None, float | None]]:
    """The exam version's pool, by item version id, with the IRT parameters frozen at
    publication (a, b, c; None where the item had none)."""
    rows = session.execute(
        select(ItemVersion, ExamPoolItem.irt_a, ExamPoolItem.irt_b, ExamPoolItem.irt_c)
        .join(ExamPoolItem, ExamPoolItem.item_id == ItemVersion.id)
        .where(ExamPoolItem.exam_id == exam_id)
        .order_by(ItemVersion.id)
    )
    return [(row, a, b, c) for row, a, b, c in rows]


def key_corrections(session: Session, exam_id: int) -> list[KeyCorrection]:
    """The exam version's key corrections in the order they were applied."""
    return list(
        session.scalars(
            select(KeyCorrection)
            .where(KeyCorrection.exam_id == exam_id)
            .order_by(KeyCorrection.scoring_revision)
        )
    )


def scoring_revision(session: Session, exam_id: int) -> int | None:
    """The exam version's current scoring revision (None: no such version)."""
    return session.scalar(select(ExamVersion.scoring_revision).where(ExamVersion.id == exam_id))
