"""Queries of results, candidates to rank, published ranking snapshots, and the bulk reads and
locks that keep results right (verification, corrections racing finishes)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from app.models.attempt import Attempt
from app.models.bank import ItemVersion
from app.models.exam import ExamVersion
from app.models.result import KeyCorrection, RankingSnapshot, Result
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


def hold_scoring_revision(session: Session, exam_id: int) -> int:
    """The exam version's scoring revision, locked exclusively to the end of the transaction.

    A key correction takes this before it reads the attempts it rescores: a finish in progress
    (which holds :func:`share_scoring_revision`) commits first and is then among the attempts
    read; a later finish waits for the correction and scores with the new key. ``FOR NO KEY
    UPDATE``: logins and starts, whose inserts only check the exam row exists (``KEY SHARE``),
    are not held up. (SQLite: a writer holds the whole database from BEGIN already.)
    """
    revision = session.scalar(
        select(ExamVersion.scoring_revision)
        .where(ExamVersion.id == exam_id)
        .with_for_update(key_share=True)
    )
    if revision is None:
        msg = f"no exam version with id {exam_id}"
        raise LookupError(msg)
    return int(revision)


def share_scoring_revision(session: Session, exam_id: int) -> int:
    """The exam version's scoring revision under a shared lock held to the end of the
    transaction (a finish scores under it): finishes share it with one another and only wait
    for a key correction being applied (:func:`hold_scoring_revision`)."""
    revision = session.scalar(
        select(ExamVersion.scoring_revision)
        .where(ExamVersion.id == exam_id)
        .with_for_update(read=True)
    )
    if revision is None:
        msg = f"no exam version with id {exam_id}"
        raise LookupError(msg)
    return int(revision)


@dataclass(frozen=True, slots=True)
class FinishedColumns:
    """Every finished attempt of an exam version with its stored result, as parallel columns
    (attempt order): what a verification recomputes and compares, read in one query.

    ``forms`` and ``section_scores`` are the stored JSON texts; a result column is None where
    no result is stored, ``categories`` where the attempt has no roster row (practice).
    """

    attempt_ids: list[int]
    forms: list[str | None]
    categories: list[str | None]
    section_scores: list[str | None]
    totals: list[float | None]
    passed: list[bool | None]
    revisions: list[int | None]


def finished_with_results(session: Session, exam_id: int) -> FinishedColumns:
    """Finished attempts of ``exam_id`` and their results, one plain-column query (a national
    exam verifies 100,000 of them; JSON stays text until the caller decodes it)."""
    rows = session.execute(
        text(
            "SELECT a.id, CAST(a.form AS text), reg.category, CAST(r.section_scores AS text), "
            "r.total, r.passed, r.scoring_revision FROM attempts a "
            "LEFT JOIN registrations reg ON reg.id = a.registration_id "
            "LEFT JOIN results r ON r.attempt_id = a.id "
            "WHERE a.exam_id = :exam AND a.status = :finished ORDER BY a.id"
        ),
        {"exam": exam_id, "finished": AttemptStatus.FINISHED.value},
    ).all()
    if not rows:
        return FinishedColumns([], [], [], [], [], [], [])
    ids, forms, categories, scores, totals, passed, revisions = (
        list(c) for c in zip(*rows, strict=True)
    )
    return FinishedColumns(
        [int(i) for i in ids],
        forms,
        categories,
        scores,
        [None if t is None else float(t) for t in totals],
        [None if p is None else bool(p) for p in passed],
        [None if r is None else int(r) for r in revisions],
    )


def results_of_unfinished(session: Session, exam_id: int) -> list[tuple[int, str]]:
    """(attempt id, status) of every stored result whose attempt is not finished."""
    rows = session.execute(
        select(Result.attempt_id, Attempt.status)
        .join(Attempt, Attempt.id == Result.attempt_id)
        .where(Result.exam_id == exam_id, Attempt.status != AttemptStatus.FINISHED)
        .order_by(Result.attempt_id)
    )
    return [(int(attempt_id), str(status)) for attempt_id, status in rows]


def applied_corrections(session: Session, exam_id: int) -> list[tuple[int, int, str]]:
    """(scoring revision, item id, item "CODE vN") of each applied correction, oldest first."""
    rows = session.execute(
        select(
            KeyCorrection.scoring_revision,
            KeyCorrection.item_id,
            ItemVersion.code,
            ItemVersion.version,
        )
        .join(ItemVersion, ItemVersion.id == KeyCorrection.item_id)
        .where(KeyCorrection.exam_id == exam_id)
        .order_by(KeyCorrection.scoring_revision)
    )
    return [(int(rev), int(item), f"{code} v{version}") for rev, item, code, version in rows]


@dataclass(frozen=True, slots=True)
class AnswerHistory:
    """Every accepted answer change of an exam version's finished attempts, as arrays."""

    attempt_ids: NDArray[np.int64]
    positions: NDArray[np.int64]
    options: NDArray[np.int64]  # -1: cleared
    seqs: NDArray[np.int64]


_HISTORY = (
    "SELECT e.attempt_id, e.position, COALESCE(e.option, CAST(-1 AS smallint)), e.seq "
    "FROM response_events e JOIN attempts a ON a.id = e.attempt_id "
    "WHERE a.exam_id = {exam} AND a.status = 'finished'"
)

# One row of the binary COPY above: field count, then (length, value) per column.
_COPY_ROW = np.dtype(
    [
        ("fields", ">i2"),
        ("l_attempt", ">i4"),
        ("attempt", ">i4"),
        ("l_position", ">i4"),
        ("position", ">i2"),
        ("l_option", ">i4"),
        ("option", ">i2"),
        ("l_seq", ">i4"),
        ("seq", ">i8"),
    ]
)
_COPY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"


def answer_history(session: Session, exam_id: int) -> AnswerHistory:
    """The answer history (``response_events``) of the finished attempts of ``exam_id``.

    PostgreSQL: one binary ``COPY`` read straight into a numpy record array (11 million events
    of 100,000 attempts in seconds, no Python object per event). SQLite: a plain query.
    """
    statement = _HISTORY.format(exam=int(exam_id))
    if session.get_bind().dialect.name != "postgresql":
        rows = session.execute(text(statement)).all()
        table = np.array(rows, dtype=np.int64).reshape(len(rows), 4)
        return AnswerHistory(table[:, 0], table[:, 1], table[:, 2], table[:, 3])
    driver = session.connection().connection.driver_connection
    assert driver is not None
    chunks: list[bytes] = []
    with (
        driver.cursor() as cursor,
        cursor.copy(f"COPY ({statement}) TO STDOUT (FORMAT binary)") as copy,
    ):
        chunks.extend(bytes(block) for block in copy)
    data = b"".join(chunks)
    if not data.startswith(_COPY_SIGNATURE):
        msg = "the database answered the answer-history COPY in an unknown format"
        raise RuntimeError(msg)
    extension = int.from_bytes(data[15:19], "big")
    body = data[19 + extension : len(data) - 2]  # the trailer is a field count of -1
    records = np.frombuffer(body, dtype=_COPY_ROW)
    return AnswerHistory(
        records["attempt"].astype(np.int64),
        records["position"].astype(np.int64),
        records["option"].astype(np.int64),
        records["seq"].astype(np.int64),
    )


def published_exam_codes(session: Session) -> list[str]:
    """The code of every exam with a published version, in order."""
    return list(
        session.scalars(
            select(ExamVersion.code)
            .where(ExamVersion.status == "published")
            .distinct()
            .order_by(ExamVersion.code)
        )
    )
