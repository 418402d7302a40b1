"""Results as the public pages read them: stored once when an attempt finishes, then found by
slip serial and by sitting for the live board, with the exam versions they name."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models.attempt import Attempt
from app.models.exam import ExamVersion
from app.models.result import Result
from exam_day import AttemptStatus


def exam_version(session: Session, exam_id: int) -> ExamVersion | None:
    """An exam version by id."""
    return session.get(ExamVersion, exam_id)


def result_by_slip_serial(session: Session, serial: str) -> Result | None:
    """The result a slip serial was issued for."""
    return session.scalars(select(Result).where(Result.slip_code == serial)).one_or_none()


def finished_results(session: Session, sitting_id: int, since: datetime | None) -> list[Result]:
    """Results of a sitting's finished attempts (voided ones excluded) computed at or after
    ``since`` (all when None), oldest first."""
    statement = (
        select(Result)
        .join(Attempt, Attempt.id == Result.attempt_id)
        .where(
            Result.sitting_id == sitting_id,
            Attempt.status == AttemptStatus.FINISHED,
            # Practice attempts (no roster row) never reach a live board.
            Attempt.registration_id.is_not(None),
        )
        .order_by(Result.computed_at, Result.attempt_id)
    )
    if since is not None:
        statement = statement.where(Result.computed_at >= since)
    return list(session.scalars(statement))


def add_result(session: Session, result: Result) -> Result:
    """Insert a result (its slip serial is unique: a clash is an error, never an overwrite)."""
    session.add(result)
    session.flush()
    return result
