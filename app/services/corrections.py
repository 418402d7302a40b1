"""Key correction and annulment: a dry run that lists every affected attempt and every ranking
change, and an audited application that rescores them all in one transaction and republishes.

Only the corrected item's contribution changes, so each affected attempt is rescored by the
difference of that item's points under the old and the new points table (exact: a section
score is a sum of item points). This needs one answer per attempt, not every answer of every
attempt, which keeps a correction touching 100,000 attempts within seconds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    Integer,
    String,
    column,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.orm import Session

from app.errors import AppError, Conflict, NotFound
from app.models.attempt import Response
from app.models.exam import ExamVersion
from app.models.result import KeyCorrection, RankingSnapshot, Result
from app.services import audit, rankings
from app.services.exams import published_exam
from app.services.results import rule_dict
from app.services.runtime import correction_action, load_runtime
from scoring.correction import apply_corrections
from scoring.ranking import diff_rankings
from scoring.rules import BLANK_COLUMN
from scoring.thresholds import explain, rule_set_for


@dataclass(frozen=True)
class CorrectionRequest:
    """What the committee asks: correct the key of, set the points of, or annul one item."""

    item_code: str
    kind: str  # correct_key | set_points | annul
    key: str | None = None  # the bank's option label, e.g. "C"
    points: tuple[float, ...] | None = None
    mode: str | None = None  # award_all | drop
    reason: str = ""


@dataclass
class AttemptChange:
    """One affected attempt's scores before and after."""

    attempt_id: int
    pseudonym: str
    old_sections: dict[str, float]
    new_sections: dict[str, float]
    old_total: float
    new_total: float
    old_passed: bool
    new_passed: bool


@dataclass
class CorrectionPlan:
    """A dry run's (or an application's) full account."""

    exam_code: str
    exam_version: int
    item: str
    action: dict[str, Any]
    reason: str
    attempts_with_item: int = 0
    changes: list[AttemptChange] = field(default_factory=list)
    ranking_changes: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    applied: bool = False
    scoring_revision: int | None = None

    def as_dict(self, limit: int | None = None) -> dict[str, Any]:
        """JSON view; ``limit`` caps the listed attempts (counts stay exact)."""
        changed = [
            c for c in self.changes if c.old_total != c.new_total or c.old_passed != c.new_passed
        ]
        listed = changed if limit is None else changed[:limit]
        return {
            "exam": self.exam_code,
            "exam_version": self.exam_version,
            "item": self.item,
            "action": self.action,
            "reason": self.reason,
            "applied": self.applied,
            "scoring_revision": self.scoring_revision,
            "attempts_with_item": self.attempts_with_item,
            "attempts_changed": len(changed),
            "pass_changes": sum(1 for c in changed if c.old_passed != c.new_passed),
            "attempts": [
                {
                    "attempt_id": c.attempt_id,
                    "pseudonym": c.pseudonym,
                    "old_total": c.old_total,
                    "new_total": c.new_total,
                    "old_sections": c.old_sections,
                    "new_sections": c.new_sections,
                    "old_passed": c.old_passed,
                    "new_passed": c.new_passed,
                }
                for c in listed
            ],
            "ranking_changes": self.ranking_changes,
        }


def _action_dict(
    request: CorrectionRequest, labels: tuple[str, ...], n_options: int
) -> dict[str, Any]:
    if request.kind == "correct_key":
        if request.key not in labels:
            options = ", ".join(labels)
            msg = f"key: {request.key!r} is not an option of {request.item_code} ({options})"
            raise AppError(msg)
        return {"kind": "correct_key", "key": request.key, "key_index": labels.index(request.key)}
    if request.kind == "set_points":
        if request.points is None or len(request.points) != n_options:
            msg = f"points: give {n_options} values, one per option ({', '.join(labels)})"
            raise AppError(msg)
        return {"kind": "set_points", "points": [float(p) for p in request.points]}
    if request.kind == "annul":
        if request.mode not in ("award_all", "drop"):
            msg = (
                "mode: award_all (everyone gets the item's points) or drop (it leaves every total)"
            )
            raise AppError(msg)
        return {"kind": "annul", "mode": request.mode}
    msg = f"kind must be correct_key, set_points or annul, not {request.kind!r}"
    raise AppError(msg)


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


def _holders(session: Session, exam_id: int, item_id: int) -> list[Any]:
    """Finished attempts whose form holds ``item_id``: id, position, category, stored result."""
    statement = text(_HOLDERS[session.get_bind().dialect.name]).columns(
        column("id", Integer),
        column("position", Integer),
        column("category", String),
        column("section_scores", JSON),
        column("total", Float),
        column("passed", Boolean),
        column("pseudonym", String),
    )
    return list(session.execute(statement, {"exam": exam_id, "item": item_id}))


def _answers_at(session: Session, pairs: list[tuple[int, int]]) -> dict[int, int | None]:
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
        chunk = pairs[start : start + 400]
        rows = session.execute(
            select(Response.attempt_id, Response.option).where(
                tuple_(Response.attempt_id, Response.position).in_(chunk)
            )
        )
        found.update({int(attempt_id): option for attempt_id, option in rows})
    return found


#: An attempt's rescored section scores, total, pass and rule outcomes.
Rescored = tuple[dict[str, float], float, bool, list[dict[str, Any]]]


def plan_correction(
    session: Session, exam_code: str, request: CorrectionRequest
) -> tuple[CorrectionPlan, dict[int, Rescored], ExamVersion]:
    """The dry run: every affected attempt's old and new scores (nothing is written)."""
    exam = published_exam(session, exam_code)
    if len(request.reason.strip()) < 3:
        msg = "reason: say why the key is corrected (it is published with the new ranking)"
        raise AppError(msg)
    runtime = load_runtime(session, exam.id)
    matches = [c for c in runtime.items.values() if c.code == request.item_code]
    if not matches:
        msg = f"item {request.item_code!r} is not in the pool of {exam_code} v{exam.version}"
        raise NotFound(msg)
    item = max(matches, key=lambda c: c.version)
    if runtime.spec.section(item.section).adaptive is not None:
        msg = (
            f"{item.code} is in the adaptive section {item.section}: its score is an ability "
            "estimate, not a sum of item points; retire the item and recalibrate instead"
        )
        raise Conflict(msg)
    action = _action_dict(request, item.option_labels, len(item.options))
    row = runtime.row_of[item.id]
    new_table = apply_corrections(runtime.table, [correction_action(action, row)])
    section = item.section
    plan = CorrectionPlan(
        exam.code, exam.version, f"{item.code} v{item.version}", action, request.reason.strip()
    )

    holders = [
        (attempt_id, position, category, stored)
        for attempt_id, position, category, *stored in _holders(session, exam.id, item.id)
    ]
    plan.attempts_with_item = len(holders)
    answers = _answers_at(session, [(a, p) for a, p, _c, _r in holders])
    chosen = [answers.get(a) for a, _p, _c, _r in holders]
    columns = np.array([BLANK_COLUMN if c is None else int(c) for c in chosen], dtype=np.intp)
    delta = (
        new_table.points[row, columns] - runtime.table.points[row, columns]
        if holders
        else np.zeros(0)
    )
    updates: dict[int, Rescored] = {}
    for (attempt_id, _position, category, stored), change in zip(
        holders, delta.tolist(), strict=True
    ):
        old_sections, old_total, old_passed, pseudonym = stored
        new_sections = dict(old_sections)
        new_sections[section] = float(new_sections.get(section, 0.0)) + change
        new_total = float(old_total) + change
        rules = (
            explain(rule_set_for(runtime.spec.categories, category), new_sections, new_total)
            if runtime.spec.categories
            else []
        )
        new_passed = all(r.passed for r in rules)
        plan.changes.append(
            AttemptChange(
                attempt_id,
                pseudonym,
                dict(old_sections),
                new_sections,
                float(old_total),
                new_total,
                bool(old_passed),
                new_passed,
            )
        )
        updates[attempt_id] = (
            new_sections,
            new_total,
            new_passed,
            [
                rule_dict(
                    {"label": r.label, "value": r.value, "minimum": r.minimum, "passed": r.passed}
                )
                for r in rules
            ],
        )
    return plan, updates, exam


def _ranking_changes(
    session: Session, exam: ExamVersion, secret: bytes, cause: str, before: rankings.Computed
) -> dict[str, list[dict[str, Any]]]:
    after = rankings.compute(session, exam, secret)
    out: dict[str, list[dict[str, Any]]] = {}
    for code, new in after.rankings.items():
        changes = diff_rankings(before.rankings[code], new, cause).changes
        out[code] = [
            {
                "pseudonym": c.key,
                "old_rank": c.old_rank,
                "new_rank": c.new_rank,
                "old_status": c.old_status,
                "new_status": c.new_status,
                "reason": c.reason,
            }
            for c in changes
        ]
    return out


def _write(session: Session, updates: dict[int, Rescored], revision: int) -> None:
    """Rewrite the rescored results in one statement batch (computed_at, the moment the
    attempt finished, stays; the scoring revision records the change)."""
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
                "s": [json.dumps(updates[i][0]) for i in ids],
                "t": [updates[i][1] for i in ids],
                "p": [updates[i][2] for i in ids],
                "r": [json.dumps(updates[i][3]) for i in ids],
            },
        )
        session.expire_all()
        return
    rows = [
        {
            "attempt_id": attempt_id,
            "section_scores": sections,
            "total": total,
            "passed": passed,
            "rules": rules,
            "scoring_revision": revision,
        }
        for attempt_id, (sections, total, passed, rules) in updates.items()
    ]
    # ORM bulk UPDATE by primary key: one executemany per chunk, no objects loaded.
    for start in range(0, len(rows), 5000):
        session.execute(update(Result), rows[start : start + 5000])
    session.expire_all()


def correct(
    session: Session,
    exam_code: str,
    request: CorrectionRequest,
    *,
    secret: bytes,
    actor: str,
    now: datetime,
    apply: bool,
) -> CorrectionPlan:
    """Dry run (``apply=False``: computed in a savepoint that is rolled back) or apply.

    Applying records the correction, bumps the exam's scoring revision, rescores every affected
    result, writes one audit event and republishes every formation that had a published
    ranking, with a diff naming the correction as its cause.
    """
    plan, updates, exam = plan_correction(session, exam_code, request)
    cause = f"key correction of {plan.item}: {plan.reason}"
    before = rankings.compute(session, exam, secret)
    savepoint = session.begin_nested()
    revision = exam.scoring_revision + 1
    _write(session, updates, revision)
    plan.ranking_changes = _ranking_changes(session, exam, secret, cause, before)
    if not apply:
        savepoint.rollback()
        return plan
    locked = session.scalars(
        select(ExamVersion).where(ExamVersion.id == exam.id).with_for_update()
    ).one()
    if locked.scoring_revision != exam.scoring_revision:
        savepoint.rollback()
        msg = "another correction was applied meanwhile; run the dry run again"
        raise Conflict(msg)
    item_id = next(
        i.id
        for i in load_runtime(session, exam.id).items.values()
        if f"{i.code} v{i.version}" == plan.item
    )
    session.add(
        KeyCorrection(
            exam_id=exam.id,
            item_id=item_id,
            action=plan.action,
            reason=plan.reason,
            scoring_revision=revision,
            affected=len(updates),
            applied_at=now,
            applied_by=actor,
        )
    )
    locked.scoring_revision = revision
    savepoint.commit()
    plan.applied = True
    plan.scoring_revision = revision
    summary = plan.as_dict(limit=0)
    audit.record(
        session,
        at=now,
        actor=actor,
        action="exam.key_correction",
        subject=f"exam:{exam.code}:v{exam.version}",
        payload={
            "item": plan.item,
            "action": plan.action,
            "reason": plan.reason,
            "scoring_revision": revision,
            "attempts_with_item": summary["attempts_with_item"],
            "attempts_changed": summary["attempts_changed"],
            "pass_changes": summary["pass_changes"],
        },
    )
    published = set(
        session.scalars(
            select(RankingSnapshot.formation)
            .where(RankingSnapshot.exam_code == exam.code)
            .distinct()
        )
    )
    if published:
        # One ranking computation republishes every formation that had been published.
        rankings.publish(
            session,
            exam.code,
            secret=secret,
            actor=actor,
            now=now,
            formations=published,
            cause=cause,
        )
    return plan
