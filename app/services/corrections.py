"""Key correction and annulment: a dry run that lists every affected attempt and every ranking
change, and an audited application that rescores them all in one transaction and republishes.

Only the corrected item's contribution changes, so each affected attempt is rescored by the
difference of that item's points under the old and the new points table (exact: a section
score is a sum of item points). This needs one answer per attempt, not every answer of every
attempt, which keeps a correction touching 100,000 attempts within seconds.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Literal, cast

import numpy as np
from sqlalchemy.orm import Session

from app.errors import AppError, Conflict, NotFound
from app.models.exam import ExamVersion
from app.models.result import KeyCorrection
from app.repositories import corrections as repo
from app.repositories import results as result_repo
from app.repositories.corrections import RescoredResult
from app.services import audit, rankings, verification
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


# Keyword-only so that ``kind`` comes first, as stored and answered.
@dataclass(frozen=True, kw_only=True)
class CorrectKeyAction:
    """Score the item against another option (the bank's label and its index)."""

    kind: Literal["correct_key"] = "correct_key"
    key: str
    key_index: int


@dataclass(frozen=True, kw_only=True)
class SetPointsAction:
    """Give each option of the item these points."""

    kind: Literal["set_points"] = "set_points"
    points: tuple[float, ...]


@dataclass(frozen=True, kw_only=True)
class AnnulAction:
    """Annul the item: everyone gets its points (``award_all``) or it leaves every total."""

    kind: Literal["annul"] = "annul"
    mode: Literal["award_all", "drop"]


#: What a correction does to its item, as stored, audited and answered.
CorrectionAction = CorrectKeyAction | SetPointsAction | AnnulAction


def action_record(action: CorrectionAction) -> dict[str, object]:
    """The stored form of an action (``{"kind": ..., ...}``, the kind first)."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(action).items()}


@dataclass(frozen=True)
class AttemptChange:
    """One affected attempt's scores before and after."""

    attempt_id: int
    pseudonym: str
    old_total: float
    new_total: float
    old_sections: dict[str, float]
    new_sections: dict[str, float]
    old_passed: bool
    new_passed: bool


@dataclass(frozen=True)
class RankMove:
    """One candidate whose rank or status a correction changes."""

    pseudonym: str
    old_rank: int | None
    new_rank: int | None
    old_status: str | None
    new_status: str | None
    reason: str


@dataclass(frozen=True)
class CorrectionReport:
    """A dry run's (or an application's) account as committees read it: exact counts, and
    the changed attempts listed up to a limit."""

    exam: str
    exam_version: int
    item: str
    action: CorrectionAction
    reason: str
    applied: bool
    scoring_revision: int | None
    attempts_with_item: int
    attempts_changed: int
    pass_changes: int
    attempts: tuple[AttemptChange, ...]
    ranking_changes: dict[str, tuple[RankMove, ...]]


@dataclass
class CorrectionPlan:
    """A dry run's (or an application's) full account, filled in as the correction runs."""

    exam_code: str
    exam_version: int
    item: str
    action: CorrectionAction
    reason: str
    attempts_with_item: int = 0
    changes: list[AttemptChange] = field(default_factory=list)
    ranking_changes: dict[str, tuple[RankMove, ...]] = field(default_factory=dict)
    applied: bool = False
    scoring_revision: int | None = None

    def changed(self) -> list[AttemptChange]:
        """The attempts whose total or pass changes."""
        return [
            c for c in self.changes if c.old_total != c.new_total or c.old_passed != c.new_passed
        ]

    def report(self, limit: int | None = None) -> CorrectionReport:
        """The account; ``limit`` caps the listed attempts (counts stay exact)."""
        changed = self.changed()
        return CorrectionReport(
            exam=self.exam_code,
            exam_version=self.exam_version,
            item=self.item,
            action=self.action,
            reason=self.reason,
            applied=self.applied,
            scoring_revision=self.scoring_revision,
            attempts_with_item=self.attempts_with_item,
            attempts_changed=len(changed),
            pass_changes=sum(1 for c in changed if c.old_passed != c.new_passed),
            attempts=tuple(changed if limit is None else changed[:limit]),
            ranking_changes=self.ranking_changes,
        )

    def as_dict(self, limit: int | None = None) -> dict[str, Any]:
        """:meth:`report` as plain JSON values, for scripts (the key-correction benchmark)."""
        return asdict(self.report(limit))


def _action(
    request: CorrectionRequest, labels: tuple[str, ...], n_options: int
) -> CorrectionAction:
    if request.kind == "correct_key":
        if request.key is None or request.key not in labels:
            options = ", ".join(labels)
            msg = f"key: {request.key!r} is not an option of {request.item_code} ({options})"
            raise AppError(msg)
        return CorrectKeyAction(key=request.key, key_index=labels.index(request.key))
    if request.kind == "set_points":
        if request.points is None or len(request.points) != n_options:
            msg = f"points: give {n_options} values, one per option ({', '.join(labels)})"
            raise AppError(msg)
        return SetPointsAction(points=tuple(float(p) for p in request.points))
    if request.kind == "annul":
        if request.mode in ("award_all", "drop"):
            return AnnulAction(mode=cast("Literal['award_all', 'drop']", request.mode))
        msg = "mode: award_all (everyone gets the item's points) or drop (it leaves every total)"
        raise AppError(msg)
    msg = f"kind must be correct_key, set_points or annul, not {request.kind!r}"
    raise AppError(msg)


def plan_correction(
    session: Session, exam_code: str, request: CorrectionRequest
) -> tuple[CorrectionPlan, dict[int, RescoredResult], ExamVersion]:
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
    action = _action(request, item.option_labels, len(item.options))
    row = runtime.row_of[item.id]
    new_table = apply_corrections(runtime.table, [correction_action(action_record(action), row)])
    section = item.section
    plan = CorrectionPlan(
        exam.code, exam.version, f"{item.code} v{item.version}", action, request.reason.strip()
    )

    holders = repo.holders(session, exam.id, item.id)
    plan.attempts_with_item = len(holders)
    answers = repo.answers_at(session, [(h.attempt_id, h.position) for h in holders])
    chosen = [answers.get(h.attempt_id) for h in holders]
    columns = np.array([BLANK_COLUMN if c is None else int(c) for c in chosen], dtype=np.intp)
    delta = (
        new_table.points[row, columns] - runtime.table.points[row, columns]
        if holders
        else np.zeros(0)
    )
    updates: dict[int, RescoredResult] = {}
    for holder, change in zip(holders, delta.tolist(), strict=True):
        new_sections = dict(holder.section_scores)
        new_sections[section] = float(new_sections.get(section, 0.0)) + change
        new_total = holder.total + change
        rules = (
            explain(rule_set_for(runtime.spec.categories, holder.category), new_sections, new_total)
            if runtime.spec.categories
            else []
        )
        new_passed = all(r.passed for r in rules)
        plan.changes.append(
            AttemptChange(
                attempt_id=holder.attempt_id,
                pseudonym=holder.pseudonym,
                old_total=holder.total,
                new_total=new_total,
                old_sections=dict(holder.section_scores),
                new_sections=new_sections,
                old_passed=holder.passed,
                new_passed=new_passed,
            )
        )
        updates[holder.attempt_id] = RescoredResult(
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
) -> dict[str, tuple[RankMove, ...]]:
    after = rankings.compute(session, exam, secret)
    return {
        code: tuple(
            RankMove(
                pseudonym=str(c.key),
                old_rank=c.old_rank,
                new_rank=c.new_rank,
                old_status=c.old_status,
                new_status=c.new_status,
                reason=c.reason,
            )
            for c in diff_rankings(before.rankings[code], new, cause).changes
        )
        for code, new in after.rankings.items()
    }


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

    Applying locks the exam's scoring revision (finishes wait for the correction, which sees
    every attempt finished before it), refuses when any stored result does not match its
    recomputation (:func:`app.services.verification.verify`, naming the attempts), then
    records the correction, bumps the scoring revision, rescores every affected result, writes
    one audit event and republishes every formation that had a published ranking, with a diff
    naming the correction as its cause.
    """
    if apply:
        # The scoring revision is locked before anything is read: a finish that has read the
        # old revision (under its shared lock) commits first and is among the attempts read
        # below; a finish after this waits and scores with the new key. Then the stored
        # results are checked, since a correction rescores by difference and would carry a
        # wrong stored score forward.
        exam = published_exam(session, exam_code)
        result_repo.hold_scoring_revision(session, exam.id)
        session.refresh(exam)
        verification.refuse_on_mismatch(
            verification.verify(session, exam_code), "the key correction"
        )
    plan, updates, exam = plan_correction(session, exam_code, request)
    cause = f"key correction of {plan.item}: {plan.reason}"
    before = rankings.compute(session, exam, secret)
    savepoint = session.begin_nested()
    revision = exam.scoring_revision + 1
    repo.rewrite_results(session, updates, revision)
    plan.ranking_changes = _ranking_changes(session, exam, secret, cause, before)
    if not apply:
        savepoint.rollback()
        return plan
    item_id = next(
        i.id
        for i in load_runtime(session, exam.id).items.values()
        if f"{i.code} v{i.version}" == plan.item
    )
    stored_action = action_record(plan.action)
    repo.add_correction(
        session,
        KeyCorrection(
            exam_id=exam.id,
            item_id=item_id,
            action=stored_action,
            reason=plan.reason,
            scoring_revision=revision,
            affected=len(updates),
            applied_at=now,
            applied_by=actor,
        ),
    )
    exam.scoring_revision = revision
    savepoint.commit()
    plan.applied = True
    plan.scoring_revision = revision
    summary = plan.report(limit=0)
    audit.record(
        session,
        at=now,
        actor=actor,
        action="exam.key_correction",
        subject=f"exam:{exam.code}:v{exam.version}",
        payload={
            "item": plan.item,
            "action": stored_action,
            "reason": plan.reason,
            "scoring_revision": revision,
            "attempts_with_item": summary.attempts_with_item,
            "attempts_changed": summary.attempts_changed,
            "pass_changes": summary.pass_changes,
        },
    )
    published = result_repo.published_formations(session, exam.code)
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
