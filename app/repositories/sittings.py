"""Queries of one sitting as its proctors see it: the sitting, its running attempts, its seats,
and who may run it."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models.attempt import Attempt, Response
from app.models.exam import ExamVersion
from app.models.sitting import Registration, Sitting
from exam_day import AttemptStatus


def sitting(session: Session, sitting_id: int) -> Sitting | None:
    """A sitting by id."""
    return session.get(Sitting, sitting_id)


def sitting_and_exam(session: Session, sitting_id: int) -> tuple[Sitting, ExamVersion] | None:
    """A sitting and the exam version it runs, in one query (None: no such sitting)."""
    row = session.execute(
        select(Sitting, ExamVersion)
        .join(ExamVersion, ExamVersion.id == Sitting.exam_id)
        .where(Sitting.id == sitting_id)
    ).one_or_none()
    return None if row is None else (row[0], row[1])


def sitting_of_attempt(session: Session, attempt_id: int) -> int | None:
    """The sitting an attempt belongs to (None: no such attempt)."""
    return session.scalar(select(Attempt.sitting_id).where(Attempt.id == attempt_id))


def running_attempts_for_update(session: Session, sitting_id: int) -> list[Attempt]:
    """The sitting's running attempts, locked in id order (the order every locker uses, so two
    sitting-wide actions never deadlock)."""
    return list(
        session.scalars(
            select(Attempt)
            .where(Attempt.sitting_id == sitting_id, Attempt.status == AttemptStatus.IN_PROGRESS)
            .order_by(Attempt.id)
            .with_for_update()
        )
    )


def seats(session: Session, sitting_id: int) -> list[tuple[Registration, Attempt | None]]:
    """Every registration of a sitting by slot, with its attempt (None: never logged in)."""
    rows = session.execute(
        select(Registration, Attempt)
        .outerjoin(Attempt, Attempt.registration_id == Registration.id)
        .where(Registration.sitting_id == sitting_id)
        .order_by(Registration.slot)
    ).all()
    return [(registration, attempt) for registration, attempt in rows]


def answered_counts(session: Session, sitting_id: int) -> dict[int, int]:
    """How many positions each attempt of a sitting has answered (blank answers not counted)."""
    rows = session.execute(
        select(Response.attempt_id, func.count())
        .join(Attempt, Attempt.id == Response.attempt_id)
        .where(Attempt.sitting_id == sitting_id, Response.option.is_not(None))
        .group_by(Response.attempt_id)
    ).all()
    return {int(attempt_id): int(count) for attempt_id, count in rows}
