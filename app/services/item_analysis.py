"""Item analysis of an exam version from its stored answers (for `ujian report items` and the
committee page)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import urlencode

import numpy as np
import numpy.typing as npt
from sqlalchemy.orm import Session

from app.errors import Conflict
from app.repositories import answers as answers_repo
from app.services.adaptive import section_blocks
from app.services.exams import published_exam
from app.services.runtime import ExamRuntime, load_runtime
from scoring.integrity.common import IntegrityInputError
from scoring.rules import score_attempts
from scoring.stats import ItemAnalysis, ItemSpec, analyse_items

if TYPE_CHECKING:
    from app.services.integrity import DIFReport


def load_answers(
    session: Session, runtime: ExamRuntime
) -> tuple[list[int], npt.NDArray[np.int64], npt.NDArray[np.int8]]:
    """Finished attempts: ids, forms as points-table rows (-1: not given), answers (-1 blank)."""
    attempts = answers_repo.finished_forms(session, runtime.exam_id)
    ids = [attempt_id for attempt_id, _form in attempts]
    positions = runtime.spec.item_count
    forms = np.zeros((len(ids), positions), dtype=np.int64)
    responses = np.full((len(ids), positions), -1, dtype=np.int8)
    index = {attempt_id: i for i, attempt_id in enumerate(ids)}
    for i, (_attempt_id, form) in enumerate(attempts):
        # -1: a position of an adaptive section that was never given.
        forms[i] = [-1 if entry is None else runtime.row_of[entry.item_id] for entry in form]
    for attempt_id, position, option in answers_repo.chosen_options(session, ids):
        responses[index[attempt_id], position - 1] = option
    return ids, forms, responses


def item_specs(runtime: ExamRuntime) -> list[ItemSpec]:
    """The analysis table, row for row the exam's points table."""
    by_row = sorted(runtime.row_of.items(), key=lambda pair: pair[1])
    specs = []
    for item_id, _row in by_row:
        content = runtime.items[item_id]
        weighted = runtime.spec.section(content.section).scoring.kind.value == "weighted"
        specs.append(
            ItemSpec(
                code=content.code,
                section=content.section,
                n_options=len(content.options),
                key_index=None if weighted else content.key_index,
                option_points=content.option_points or () if weighted else (),
                option_labels=content.option_labels,
                version=content.version,
            )
        )
    return specs


def section_thresholds(runtime: ExamRuntime) -> dict[str, list[tuple[str, float]]]:
    """Minima on single sections (and the total) to mark on the histograms."""
    marks: dict[str, list[tuple[str, float]]] = {}
    for rule_set in runtime.spec.categories:
        for minimum in rule_set.minima:
            target = (
                minimum.sections[0]
                if len(minimum.sections) == 1
                else ("total" if not minimum.sections else None)
            )
            if target is not None:
                marks.setdefault(target, []).append((rule_set.category, float(minimum.minimum)))
    return marks


def analyse_exam(session: Session, exam_code: str) -> tuple[ExamRuntime, ItemAnalysis]:
    """Item analysis of the newest published version of ``exam_code``."""
    exam = published_exam(session, exam_code)
    runtime = load_runtime(session, exam.id)
    _ids, forms, responses = load_answers(session, runtime)
    if forms.shape[0] == 0:
        msg = f"no finished attempts of {exam_code} yet"
        raise Conflict(msg)
    # Classical statistics cover the fixed sections (an adaptive section's items differ in
    # number and difficulty by design; its quality shows in its calibration).
    fixed = [s for s in runtime.spec.sections if s.adaptive is None]
    if len(fixed) < len(runtime.spec.sections):
        blocks = section_blocks(runtime)
        keep = [p - 1 for s in fixed for p in range(*blocks[s.code])]
        forms, responses = forms[:, keep], responses[:, keep]
    rules = [s.rule for s in fixed]
    scores = score_attempts(runtime.table, forms, responses, rules, keep_item_points=True)
    analysis = analyse_items(
        forms,
        responses,
        item_specs(runtime),
        rules,
        item_points=scores.item_points,
        thresholds=section_thresholds(runtime),
    )
    return runtime, analysis


def dif_reports(session: Session, exam_code: str) -> list[DIFReport]:
    """DIF by every roster group field that has at least two groups (for the item report)."""
    from app.services.integrity import GROUP_FIELDS, dif_report

    found = []
    for field in GROUP_FIELDS:
        try:
            found.append(dif_report(session, exam_code, field))
        except IntegrityInputError:
            continue  # fewer than two groups of this field: nothing to compare
    return found


def correction_link(exam_code: str) -> Callable[[str, int | None], str]:
    """Links from a flagged item to the committee's key-correction dry run."""

    def link(item_code: str, suggested: int | None) -> str:
        query: dict[str, str | int] = {"exam": exam_code, "item": item_code}
        if suggested is not None:
            query["key_index"] = suggested
        return f"/committee/corrections?{urlencode(query)}"

    return link
