"""Queries of key corrections: the holders of an item, their answers to it, rescored results."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import JSON, Boolean, Float, Integer, String, column, select, text, tuple_, update
from sqlalchemy.orm import Session

from app.models.attempt import Response
from app.models.result import KeyCorrection, Result


@dataclass(frozen=True, slots=True)
class Holder:
    """A finished attempt whose form holds the corrected item, with its stored result."""

    attempt_id: int
    position: int
    category: str
    section_scores: dict[str, float]
    total: float
    passed: bool
    pseudonym: str


@dataclass(frozen=True, slots=True)
class RescoredResult:
    """An attempt's result after a correction: section scores, total, pass and rule outcomes."""

    section_scores: dict[str, float]
    total: float
    passed: bool
    rules: list[dict[str, object]]


_HOLDERS = {
    # A GIN index on item_ids finds the holders; array_position gives the position.
    "postgresql": (
        "SELECT a.id, array_position(a.item_ids, CAST(:item AS integer)), reg.category, "
        "r.section_scores, r.total, r.passed, r.pseudonym FROM attempts a "
        "JOIN registrations reg ON reg.id = a.registration_id "
        "JOIN results r ON r.attempt_id = a.id "
        "WHERE a.exam_id = :exam AND a.status = 'finished' "
        "AND a.item_ids @> ARRAY[CAST(:item AS integer)]"
    ),
    "sqlite": (
        "SELECT a.id, j.key + 1, reg.category, r.section_scores, r.total, r.passed, r.pseudonym "
        "FROM attempts a JOIN registrations reg ON reg.id = a.registration_id "
        "JOIN results r ON r.attempt_id = a.id JOIN json_each(a.item_ids) AS j "
        "WHERE a.exam_id = :exam AND a.status = 'finished' AND j.value = :item"
    ),
}


def holders(session: Session, exam_id: int, item_id: int) -> list[Holder]:
    """Finished attempts of ``exam_id`` whose form holds ``item_id``, with their results."""
    statement = text(_HOLDERS[session.get_bind().dialect.name]).columns(
        column("id", Integer),
        column("position", Integer),
        column("category", String),
        column("section_scores", JSON),
        column("total", Float),
        column("passed", Boolean),
        column("pseudonym", String),
    )
    return [
        Holder(
            int(attempt_id),
            int(position),
            str(category),
            dict(scores),
            float(total),
            bool(passed),
            str(pseudonym),
        )
        for attempt_id, position, category, scores, total, passed, pseudonym in session.execute(
            statement, {"exam": exam_id, "item": item_id}
        )
    ]


def answers_at(session: Session, pairs: Sequence[tuple[int, int]]) -> dict[int, int | None]:
    """The current answer of each (attempt, position) pair, by attempt (one answer each)."""
    found: dict[int, int | None] = {}
    if not pairs:
        return found
    if session.get_bind().dialect.name == "postgresql":
        rows = session.execute(
            text(
                "SELECT r.attempt_id, r.option FROM responses r "
                "JOIN unnest(CAST(:ids AS integer[]), CAST(:positions AS smallint[])) AS t(a, p) "
                "ON r.attempt_id = t.a AND r.position = t.p"
            ),
            {"ids": [a for a, _p in pairs], "positions": [p for _a, p in pairs]},
        )
        return {int(attempt_id): option for attempt_id, option in rows}
    for start in range(0, len(pairs), 400):
        chunk = list(pairs[start : start + 400])
        rows = session.execute(
            select(Response.attempt_id, Response.option).where(
                tuple_(Response.attempt_id, Response.position).in_(chunk)
            )
        )
        found.update({int(attempt_id): option for attempt_id, option in rows})
    return found


def rewrite_results(session: Session, updates: Mapping[int, RescoredResult], revision: int) -> None:
    """Rewrite rescored results in one statement batch (computed_at, the moment the attempt
    finished, stays; the scoring revision records the change)."""
    if not updates:
        return
    if session.get_bind().dialect.name == "postgresql":
        # One UPDATE joined to arrays: 100,000 results in one round trip.
        ids = list(updates)
        session.execute(
            text(
                "UPDATE results AS r SET section_scores = u.s::json, total = u.t, passed = u.p, "
                "rules = u.r::json, scoring_revision = :revision "
                "FROM unnest(CAST(:ids AS integer[]), CAST(:s AS text[]), CAST(:t AS float8[]), "
                "CAST(:p AS boolean[]), CAST(:r AS text[])) AS u(id, s, t, p, r) "
                "WHERE r.attempt_id = u.id"
            ),
            {
                "revision": revision,
                "ids": ids,
                "s": [json.dumps(updates[i].section_scores) for i in ids],
                "t": [updates[i].total for i in ids],
                "p": [updates[i].passed for i in ids],
                "r": [json.dumps(updates[i].rules) for i in ids],
            },
        )
        session.expire_all()
        return
    rows = [
        {
            "attempt_id": attempt_id,
            "section_scores": rescored.section_scores,
            "total": rescored.total,
            "passed": rescored.passed,
            "rules": rescored.rules,
            "scoring_revision": revision,
        }
        for attempt_id, rescored in updates.items()
    ]
    # ORM bulk UPDATE by primary key: one executemany per chunk, no objects loaded.
    for start in range(0, len(rows), 5000):
        session.execute(update(Result), rows[start : start + 5000])
    session.expire_all()


def add_correction(session: Session, correction: KeyCorrection) -> None:
    """Record an applied correction."""
    session.add(correction)
    session.flush()
