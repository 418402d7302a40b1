"""Queries of finished attempts' forms and answers, read in bulk for analysis and calibration."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models.attempt import Attempt, Response
from exam_day import AttemptStatus, FrozenForm


def finished_forms(session: Session, exam_id: int) -> list[tuple[int, FrozenForm]]:
    """Every finished live attempt of an exam version with its frozen form, by attempt id."""
    rows = session.execute(
        select(Attempt.id, Attempt.form)
        .where(
            Attempt.exam_id == exam_id,
            Attempt.status == AttemptStatus.FINISHED,
            # Practice attempts (no roster row) never enter item statistics or calibration.
            Attempt.registration_id.is_not(None),
        )
        .order_by(Attempt.id)
    )
    return [(int(attempt_id), FrozenForm.decode(form)) for attempt_id, form in rows]


def chosen_options(
    session: Session, attempt_ids: Sequence[int], batch: int = 2000
) -> Iterator[tuple[int, int, int]]:
    """(attempt, position, option) of every answered position of ``attempt_ids``."""
    for start in range(0, len(attempt_ids), batch):
        chunk = list(attempt_ids[start : start + batch])
        for attempt_id, position, option in session.execute(
            select(Response.attempt_id, Response.position, Response.option).where(
                Response.attempt_id.in_(chunk), Response.option.is_not(None)
            )
        ):
            if option is not None:
                yield int(attempt_id), int(position), int(option)
