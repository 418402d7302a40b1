"""Queries of results, candidates to rank and published ranking snapshots."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models.attempt import Attempt
from app.models.result import RankingSnapshot, Result
from app.models.sitting import Registration
from exam_day import AttemptStatus


@dataclass(frozen=True, slots=True)
class CandidateRow:
    """What ranking needs of one registration: roster fields, attempt status and result."""

    nomor_peserta: str
    category: str
    formation: str
    grade_average: float | None
    birth_date: date | None
    status: str | None  # None: never logged in
    total: float | None
    section_scores: dict[str, float] | None
    passed: bool | None


def candidates_of_exam(session: Session, exam_id: int) -> list[CandidateRow]:
    """Every registration of an exam version with its attempt status and result (if any).

    Plain columns, no ORM objects: a national exam ranks hundreds of thousands of rows.
    """
    rows = session.execute(
        select(
            Registration.nomor_peserta,
            Registration.category,
            Registration.formation,
            Registration.grade_average,
            Registration.birth_date,
            Attempt.status,
            Result.total,
            Result.section_scores,
            Result.passed,
        )
        .outerjoin(Attempt, Attempt.registration_id == Registration.id)
        .outerjoin(Result, Result.attempt_id == Attempt.id)
        .where(Registration.exam_id == exam_id)
        .order_by(Registration.id)
    )
    return [CandidateRow(*row) for row in rows]


def running_attempts(session: Session, exam_id: int) -> int:
    """How many attempts of an exam version are still running."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(Attempt)
            .where(Attempt.exam_id == exam_id, Attempt.status == AttemptStatus.IN_PROGRESS)
        )
        or 0
    )


def latest_snapshot(session: Session, exam_code: str, formation: str) -> RankingSnapshot | None:
    """The newest published snapshot of one formation."""
    return session.scalars(
        select(RankingSnapshot)
        .where(RankingSnapshot.exam_code == exam_code, RankingSnapshot.formation == formation)
        .order_by(RankingSnapshot.number.desc())
        .limit(1)
    ).first()


def latest_snapshots(session: Session, exam_code: str) -> list[RankingSnapshot]:
    """The newest snapshot of every formation of an exam, by formation."""
    newest = (
        select(RankingSnapshot.formation, func.max(RankingSnapshot.number).label("number"))
        .where(RankingSnapshot.exam_code == exam_code)
        .group_by(RankingSnapshot.formation)
        .subquery()
    )
    return list(
        session.scalars(
            select(RankingSnapshot)
            .join(
                newest,
                (RankingSnapshot.formation == newest.c.formation)
                & (RankingSnapshot.number == newest.c.number),
            )
            .where(RankingSnapshot.exam_code == exam_code)
            .order_by(RankingSnapshot.formation)
        )
    )


def published_formations(session: Session, exam_code: str) -> set[str]:
    """Formations of ``exam_code`` that have at least one published snapshot."""
    return set(
        session.scalars(
            select(RankingSnapshot.formation)
            .where(RankingSnapshot.exam_code == exam_code)
            .distinct()
        )
    )


def add_snapshot(session: Session, snapshot: RankingSnapshot) -> RankingSnapshot:
    """Insert a snapshot."""
    session.add(snapshot)
    session.flush()
    return snapshot


def jsonable(value: Any) -> Any:
    """NaN becomes None (JSON has no NaN)."""
    if isinstance(value, float) and value != value:  # noqa: PLR0124 - NaN test
        return None
    return value
