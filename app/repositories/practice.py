"""Queries of practice (simulasi) exams and their anonymous attempts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from app.models.attempt import Attempt, Response, ResponseEvent
from app.models.bank import ItemVersion
from app.models.exam import ExamPoolItem, ExamVersion
from app.models.practice import PracticeAttempt, PracticeSitting
from app.models.result import Result
from app.models.sitting import Registration, Sitting
from exam_day import AttemptStatus

#: Statuses of an attempt that still counts as running against a client's limit.
LIVE_STATUSES = (AttemptStatus.READY, AttemptStatus.IN_PROGRESS)


def published_practice_exams(session: Session) -> list[ExamVersion]:
    """The newest published version of every practice exam, by code."""
    newest = (
        select(ExamVersion.code, func.max(ExamVersion.version).label("version"))
        .where(ExamVersion.status == "published")
        .group_by(ExamVersion.code)
        .subquery()
    )
    return list(
        session.scalars(
            select(ExamVersion)
            .join(
                newest,
                (newest.c.code == ExamVersion.code) & (newest.c.version == ExamVersion.version),
            )
            .where(ExamVersion.practice.is_(True))
            .order_by(ExamVersion.code)
        )
    )


def practice_sitting(session: Session, exam_id: int) -> Sitting | None:
    """The practice sitting of an exam version, if it has one yet."""
    return session.scalars(
        select(Sitting)
        .join(PracticeSitting, PracticeSitting.sitting_id == Sitting.id)
        .where(PracticeSitting.exam_id == exam_id)
    ).first()


def add_practice_sitting(session: Session, exam_id: int, sitting: Sitting) -> Sitting:
    """Store a new sitting as the practice sitting of ``exam_id``."""
    session.add(sitting)
    session.flush()
    session.add(PracticeSitting(exam_id=exam_id, sitting_id=sitting.id))
    session.flush()
    return sitting


def lock_exam(session: Session, exam_id: int) -> None:
    """Lock an exam version's row (two first starts must not create two practice sittings)."""
    session.execute(select(ExamVersion.id).where(ExamVersion.id == exam_id).with_for_update())


def add_attempt(
    session: Session, *, exam_id: int, sitting_id: int, client_key: str, now: datetime
) -> Attempt:
    """Insert a ready practice attempt (no registration) and its practice row."""
    attempt = Attempt(
        registration_id=None,
        sitting_id=sitting_id,
        exam_id=exam_id,
        status=AttemptStatus.READY,
        device_generation=1,
        credit_seconds=0,
        created_at=now,
    )
    session.add(attempt)
    session.flush()
    session.add(
        PracticeAttempt(
            attempt_id=attempt.id, exam_id=exam_id, client_key=client_key, created_at=now
        )
    )
    session.flush()
    return attempt


def is_practice(session: Session, attempt_id: int) -> bool:
    """Whether an attempt is a practice one."""
    return session.get(PracticeAttempt, attempt_id) is not None


def starts_since(session: Session, client_key: str, since: datetime) -> list[datetime]:
    """When a client started practice attempts at or after ``since``, oldest first."""
    return list(
        session.scalars(
            select(PracticeAttempt.created_at)
            .where(PracticeAttempt.client_key == client_key, PracticeAttempt.created_at >= since)
            .order_by(PracticeAttempt.created_at)
        )
    )


def running_of_client(session: Session, client_key: str) -> int:
    """How many of a client's practice attempts are ready or running."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(PracticeAttempt)
            .join(Attempt, Attempt.id == PracticeAttempt.attempt_id)
            .where(PracticeAttempt.client_key == client_key, Attempt.status.in_(LIVE_STATUSES))
        )
        or 0
    )


def running_total(session: Session) -> int:
    """How many practice attempts are ready or running on the installation."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(PracticeAttempt)
            .join(Attempt, Attempt.id == PracticeAttempt.attempt_id)
            .where(Attempt.status.in_(LIVE_STATUSES))
        )
        or 0
    )


def created_before(session: Session, cutoff: datetime, limit: int) -> list[int]:
    """Practice attempts created before ``cutoff`` (oldest first), at most ``limit``; a running
    one is left to finish (the answer path may still be writing to it)."""
    return list(
        session.scalars(
            select(PracticeAttempt.attempt_id)
            .join(Attempt, Attempt.id == PracticeAttempt.attempt_id)
            .where(
                PracticeAttempt.created_at < cutoff,
                Attempt.status != AttemptStatus.IN_PROGRESS,
            )
            .order_by(PracticeAttempt.created_at)
            .limit(limit)
        )
    )


def delete_attempts(session: Session, attempt_ids: Sequence[int]) -> None:
    """Delete practice attempts with everything stored of them (children first: SQLite may run
    without foreign-key cascades)."""
    ids = list(attempt_ids)
    if not ids:
        return
    for model in (Response, ResponseEvent, Result, PracticeAttempt):
        session.execute(delete(model).where(model.attempt_id.in_(ids)))
    session.execute(delete(Attempt).where(Attempt.id.in_(ids), Attempt.registration_id.is_(None)))


def shared_item_codes(session: Session, item_ids: Sequence[int], *, practice: bool) -> list[str]:
    """Codes of ``item_ids`` that a published exam of the other kind (live when ``practice``,
    practice otherwise) also draws, in any version of the item, sorted."""
    if not item_ids:
        return []
    mine = select(ItemVersion.code).where(ItemVersion.id.in_(list(item_ids)))
    theirs = (
        select(ItemVersion.code)
        .join(ExamPoolItem, ExamPoolItem.item_id == ItemVersion.id)
        .join(ExamVersion, ExamVersion.id == ExamPoolItem.exam_id)
        .where(ExamVersion.status == "published", ExamVersion.practice.is_(not practice))
    )
    return sorted(set(session.scalars(mine.where(ItemVersion.code.in_(theirs.scalar_subquery())))))


def items(session: Session, item_ids: Sequence[int]) -> dict[int, ItemVersion]:
    """Item versions by id."""
    rows = session.scalars(select(ItemVersion).where(ItemVersion.id.in_(list(item_ids))))
    return {row.id: row for row in rows}


def anonymous_seat(
    session: Session, attempt: Attempt, category: str = ""
) -> tuple[Registration, Sitting]:
    """A practice attempt's stand-in roster row and its sitting.

    The row is never added to the session (nothing of it is stored): no name, no extra time,
    a number made of the attempt's id (pseudonyms need one), the attempt's id as its slot (so
    every practice form is drawn from its own seed) and ``category`` (the exam's first
    threshold rule set) to be scored by.
    """
    sitting = session.get(Sitting, attempt.sitting_id)
    assert sitting is not None  # the attempt's sitting exists (foreign key)
    seat = Registration(
        sitting_id=attempt.sitting_id,
        exam_id=attempt.exam_id,
        nomor_peserta=f"SIMULASI-{attempt.id}",
        name="",
        category=category,
        formation="",
        extra_minutes=0,
        slot=attempt.id,
        pin_hash="",
    )
    return seat, sitting
