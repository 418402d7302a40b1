"""Queries of results, candidates to rank, published ranking snapshots, and the bulk reads and
locks that keep results right (verification, corrections racing finishes)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import psycopg
from numpy.typing import NDArray
from psycopg import postgres
from psycopg.abc import Buffer
from psycopg.adapt import Loader
from psycopg.pq import Format
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

    ``item_ids`` holds each form's item ids by position (0: an adaptive position never given);
    ``forms`` the stored frozen forms as JSON text, read only when asked for (adaptive exams).
    ``section_scores`` is the stored JSON text; a result column is None where no result is
    stored, ``categories`` where the attempt has no roster row (practice).
    """

    attempt_ids: list[int]
    item_ids: list[NDArray[np.int64]]
    forms: list[str | None]
    categories: list[str | None]
    section_scores: list[str | None]
    totals: list[float | None]
    passed: list[bool | None]
    revisions: list[int | None]


_FINISHED = (
    "SELECT a.id, a.item_ids, {form}, reg.category, CAST(r.section_scores AS text), "
    "r.total, r.passed, r.scoring_revision FROM attempts a "
    "LEFT JOIN registrations reg ON reg.id = a.registration_id "
    "LEFT JOIN results r ON r.attempt_id = a.id "
    "WHERE a.exam_id = {exam} AND a.status = 'finished' ORDER BY a.id"
)


def finished_with_results(session: Session, exam_id: int, *, forms: bool) -> FinishedColumns:
    """Finished attempts of ``exam_id`` and their results in one plain-column query (a
    national exam verifies 100,000 of them). On PostgreSQL the forms' item-id arrays arrive
    in binary and become numpy arrays directly; JSON stays text until the caller decodes it."""
    statement = _FINISHED.format(
        form="CAST(a.form AS text)" if forms else "NULL", exam=int(exam_id)
    )
    if session.get_bind().dialect.name == "postgresql":
        rows = _binary_rows(session, statement)
    else:
        rows = [
            (i, np.array(json.loads(ids) if ids else [], dtype=np.int64), *rest)
            for i, ids, *rest in session.execute(
                text(statement.replace("a.item_ids", "CAST(a.item_ids AS text)"))
            )
        ]
    if not rows:
        return FinishedColumns([], [], [], [], [], [], [], [])
    ids, items, texts, categories, scores, totals, passed, revisions = (
        list(c) for c in zip(*rows, strict=True)
    )
    return FinishedColumns(
        [int(i) for i in ids],
        items,
        texts,
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
    """Every accepted answer change of an exam version's finished attempts, as arrays (usually
    grouped by attempt and position; the caller checks)."""

    attempt_ids: NDArray[np.integer[Any]]
    positions: NDArray[np.integer[Any]]
    options: NDArray[np.integer[Any]]  # -1: cleared
    seqs: NDArray[np.integer[Any]]


# Grouped by attempt so the driver hands over one row of three arrays per attempt rather
# than a Python row per answer change (11 million of them at 100,000 attempts). The inner
# order is the index's (attempt, position), so PostgreSQL streams it without sorting; the
# caller orders by sequence within a position (and checks the order it relies on).
_HISTORY = (
    "SELECT s.attempt_id, array_agg(s.position), array_agg(s.option), array_agg(s.seq) "
    "FROM (SELECT e.attempt_id, e.position, COALESCE(e.option, CAST(-1 AS smallint)) AS option, "
    "e.seq FROM response_events e JOIN attempts a ON a.id = e.attempt_id "
    "WHERE a.exam_id = {exam} AND a.status = 'finished' ORDER BY e.attempt_id, e.position) s "
    "GROUP BY s.attempt_id"
)


def answer_history(session: Session, exam_id: int) -> AnswerHistory:
    """The answer history (``response_events``) of the finished attempts of ``exam_id``."""
    statement = _HISTORY.format(exam=int(exam_id))
    if session.get_bind().dialect.name != "postgresql":
        flat = session.execute(
            text(
                "SELECT e.attempt_id, e.position, COALESCE(e.option, -1), e.seq "
                "FROM response_events e JOIN attempts a ON a.id = e.attempt_id "
                "WHERE a.exam_id = :exam AND a.status = 'finished' "
                "ORDER BY e.attempt_id, e.position, e.seq"
            ),
            {"exam": exam_id},
        ).all()
        table = np.array(flat, dtype=np.int64).reshape(len(flat), 4)
        return AnswerHistory(table[:, 0], table[:, 1], table[:, 2], table[:, 3])
    rows = _binary_rows(session, statement)
    if not rows:
        empty = np.zeros(0, dtype=np.int64)
        return AnswerHistory(empty, empty, empty, empty)
    positions = [r[1] for r in rows]
    return AnswerHistory(
        np.repeat(np.array([r[0] for r in rows], dtype=np.int64), [len(p) for p in positions]),
        np.concatenate(positions),
        np.concatenate([r[2] for r in rows]),
        np.concatenate([r[3] for r in rows]),
    )


# PostgreSQL's binary array: ndim, has-null flag, element type, then (length, lower bound) per
# dimension, then (length, value) per element. Integer arrays without nulls (item ids, the
# aggregated history) become numpy arrays in one frombuffer each.
_ARRAY_ELEMENTS = {
    "int2": np.dtype([("length", ">i4"), ("value", ">i2")]),
    "int4": np.dtype([("length", ">i4"), ("value", ">i4")]),
    "int8": np.dtype([("length", ">i4"), ("value", ">i8")]),
}


def _array_loader(element: np.dtype[Any]) -> type[Loader]:
    class NumpyArrayLoader(Loader):
        format = Format.BINARY

        def load(self, data: Buffer) -> NDArray[np.integer[Any]]:
            raw = bytes(data)
            dimensions = int.from_bytes(raw[0:4], "big")
            if dimensions == 0:
                return np.zeros(0, dtype=np.int64)
            if dimensions != 1 or int.from_bytes(raw[4:8], "big"):
                msg = "expected a one-dimensional integer array without nulls"
                raise ValueError(msg)
            cells = np.frombuffer(raw, dtype=element, offset=20)
            return cells["value"].astype(cells["value"].dtype.newbyteorder("="))

    return NumpyArrayLoader


def _binary_rows(session: Session, statement: str) -> list[tuple[Any, ...]]:
    """Rows of ``statement`` fetched in binary through the session's psycopg connection, its
    integer arrays as numpy arrays."""
    driver = session.connection().connection.driver_connection
    assert isinstance(driver, psycopg.Connection)
    with driver.cursor(binary=True) as cursor:
        for name, element in _ARRAY_ELEMENTS.items():
            array_oid = postgres.types[name].array_oid
            cursor.adapters.register_loader(array_oid, _array_loader(element))
        cursor.execute(statement)
        return list(cursor.fetchall())


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
