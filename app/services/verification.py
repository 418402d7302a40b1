"""Results verification: every stored result recomputed from what it was computed from.

A result is stored once, when its attempt finishes, and afterwards changed only by key
corrections, which rescore by difference. Nothing but a recomputation shows that the stored
numbers are still those the raw record gives. :func:`verify` recomputes every finished attempt
of an exam version from

* its answer history (``response_events``: the newest accepted change at each position; the
  ``responses`` table the finish scored from is derived from it and is not trusted here),
* its frozen form: the item at each position, from the forms' item-id column the start writes
  from the :class:`exam_day.FrozenForm` (an adaptive exam decodes each whole form), and
* the exam's current points table: the bank's keys with every applied correction
  (:func:`app.services.runtime.load_runtime`),

with the pure scoring functions, and lists every attempt whose stored result differs, and why.
It also names a result scored before a correction of an item on its form that was never
rescored (even where the numbers happen to agree), a finished attempt without a result and a
result whose attempt is not finished.

Fixed sections are scored all at once with numpy (100,000 attempts in seconds); adaptive
sections are re-estimated attempt by attempt, as at the finish.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from sqlalchemy.orm import Session

from app.errors import Conflict
from app.models.attempt import Attempt
from app.repositories import results as repo
from app.services.exams import published_exam
from app.services.results import compute_result
from app.services.runtime import ExamRuntime, load_runtime
from exam_day import FrozenForm
from exam_day.errors import ExamDayError
from scoring.errors import ScoringError
from scoring.rules import score_attempts
from scoring.thresholds import evaluate_thresholds, format_score

#: Largest difference of two scores still taken as equal. Scores are sums of item points
#: (5, 4, -1, ...) and corrections add differences of them, so stored and recomputed agree
#: exactly unless a result is wrong; the tolerance only absorbs float summation order.
TOLERANCE = 1e-6

#: Attempts named in a refusal's message (all of them are in ``ujian results verify``).
NAMED_IN_REFUSAL = 20


@dataclass(frozen=True)
class Mismatch:
    """One attempt whose stored result is not what its record gives."""

    attempt_id: int
    stored_total: float | None
    recomputed_total: float | None
    stored_passed: bool | None
    recomputed_passed: bool | None
    stored_sections: dict[str, float] | None
    recomputed_sections: dict[str, float] | None
    reasons: tuple[str, ...]

    @property
    def why(self) -> str:
        """The reasons in one line."""
        return "; ".join(self.reasons)


@dataclass(frozen=True)
class Verification:
    """The outcome of verifying every stored result of an exam version."""

    exam: str
    exam_version: int
    scoring_revision: int
    checked: int
    mismatches: tuple[Mismatch, ...]

    @property
    def ok(self) -> bool:
        """Whether every stored result matched its recomputation."""
        return not self.mismatches

    def attempt_ids(self) -> list[int]:
        """The mismatched attempts."""
        return [m.attempt_id for m in self.mismatches]


def verify(session: Session, exam_code: str) -> Verification:
    """Recompute every finished attempt of the newest published version of ``exam_code`` and
    compare with its stored result.

    Runs under the shared lock on the exam's scoring revision (a correction cannot commit
    between reading the results and reading the corrections), so the caller's transaction
    must be a writing one on PostgreSQL.
    """
    exam = published_exam(session, exam_code)
    revision = repo.share_scoring_revision(session, exam.id)
    runtime = load_runtime(session, exam.id)
    columns = repo.finished_with_results(
        session, exam.id, forms=bool(runtime.spec.adaptive_sections)
    )
    history = repo.answer_history(session, exam.id)
    corrections = repo.applied_corrections(session, exam.id)
    mismatches = _compare(runtime, revision, columns, history, corrections)
    mismatches.extend(
        Mismatch(
            attempt_id=attempt_id,
            stored_total=None,
            recomputed_total=None,
            stored_passed=None,
            recomputed_passed=None,
            stored_sections=None,
            recomputed_sections=None,
            reasons=(f"a result is stored but the attempt is {status}, not finished",),
        )
        for attempt_id, status in repo.results_of_unfinished(session, exam.id)
    )
    mismatches.sort(key=lambda m: m.attempt_id)
    return Verification(
        exam=exam.code,
        exam_version=exam.version,
        scoring_revision=revision,
        checked=len(columns.attempt_ids),
        mismatches=tuple(mismatches),
    )


def verify_all(session: Session) -> list[Verification]:
    """:func:`verify` of every exam with a published version."""
    return [verify(session, code) for code in repo.published_exam_codes(session)]


def refuse_on_mismatch(report: Verification, doing: str) -> None:
    """Raise a :class:`Conflict` naming the mismatched attempts, if there are any.

    ``doing`` says what is refused ("publishing the ranking", "the key correction").
    """
    if report.ok:
        return
    ids = report.attempt_ids()
    named = ", ".join(str(i) for i in ids[:NAMED_IN_REFUSAL])
    more = f" and {len(ids) - NAMED_IN_REFUSAL} more" if len(ids) > NAMED_IN_REFUSAL else ""
    msg = (
        f"{doing} refused: the stored results of {len(ids)} attempt(s) of {report.exam} "
        f"v{report.exam_version} do not match their recomputation (attempt {named}{more}); "
        f"`ujian results verify {report.exam}` lists each with the reason"
    )
    raise Conflict(msg, mismatched_attempts=ids[: NAMED_IN_REFUSAL * 5], mismatches=len(ids))


def _form_items(
    stored: Sequence[NDArray[np.int64]], positions: int, reasons: list[list[str]]
) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
    """The frozen forms' item ids (attempts x positions, 0: none there) and which forms are
    whole; read from the forms' item-id column, which the start writes from the frozen form."""
    items = np.zeros((len(stored), positions), dtype=np.int64)
    readable = np.ones(len(stored), dtype=np.bool_)
    for row, ids in enumerate(stored):
        if len(ids) != positions:
            reasons[row].append(f"the frozen form has {len(ids)} positions, the exam {positions}")
            readable[row] = False
            continue
        items[row] = ids
    return items, readable


def _forms(texts: Sequence[str | None], reasons: list[list[str]]) -> list[FrozenForm | None]:
    """Each attempt's decoded frozen form (None where it cannot be read)."""
    forms: list[FrozenForm | None] = []
    for row, stored in enumerate(texts):
        try:
            forms.append(FrozenForm.decode(json.loads(stored) if stored is not None else None))
        except (ExamDayError, ValueError) as damaged:
            reasons[row].append(f"the frozen form cannot be read: {damaged}")
            forms.append(None)
    return forms


def _answers(
    history: repo.AnswerHistory,
    attempt_ids: NDArray[np.int64],
    positions: int,
    reasons: list[list[str]],
) -> NDArray[np.int64]:
    """The newest accepted answer at each position (attempts x positions, -1: blank).

    The history usually comes grouped by attempt and position (the index's order), so the
    newest change of each position is found in one pass without sorting 11 million changes.
    """
    answers = np.full((len(attempt_ids), positions), -1, dtype=np.int64)
    if not len(history.attempt_ids) or not len(attempt_ids):
        return answers
    rows = np.searchsorted(attempt_ids, history.attempt_ids)
    rows = np.minimum(rows, len(attempt_ids) - 1)
    # An attempt finished after the attempts were read has history but is not verified now.
    known = attempt_ids[rows] == history.attempt_ids
    at = history.positions.astype(np.int64)
    outside = known & ((at < 1) | (at > positions))
    for row, position in zip(rows[outside].tolist(), at[outside].tolist(), strict=True):
        reasons[row].append(
            f"the answer history names position {position}, the form has {positions}"
        )
    keep = known & ~outside
    key = rows[keep] * positions + (at[keep] - 1)
    seqs = history.seqs[keep].astype(np.int64)
    options = history.options[keep]
    if len(key) > 1 and not (key[1:] >= key[:-1]).all():
        order = np.lexsort((seqs, key))  # not grouped as read: order it here
        key, seqs, options = key[order], seqs[order], options[order]
    # Each (attempt, position) is one run; its newest change is the one with the run's
    # highest sequence number (a change is accepted only with a higher one).
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    highest = np.maximum.reduceat(seqs, starts)
    lengths = np.diff(np.r_[starts, len(key)])
    newest = seqs == np.repeat(highest, lengths)
    answers.flat[key[newest]] = options[newest]
    return answers


def _score_fixed(
    runtime: ExamRuntime,
    items: NDArray[np.int64],
    answers: NDArray[np.int64],
    readable: NDArray[np.bool_],
    reasons: list[list[str]],
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Section scores and totals of exams without adaptive sections, all attempts at once."""
    known_ids = np.array(sorted(runtime.row_of), dtype=np.int64)
    lookup = np.full(int(known_ids.max()) + 1 if len(known_ids) else 1, -1, dtype=np.int64)
    lookup[known_ids] = [runtime.row_of[int(i)] for i in known_ids]
    inside = (items >= 0) & (items < len(lookup))
    table_rows = np.where(inside, lookup[np.where(inside, items, 0)], -1)
    foreign = readable[:, None] & (table_rows < 0)
    for row, column in zip(*np.nonzero(foreign), strict=True):
        reasons[int(row)].append(
            f"position {int(column) + 1} holds item id {int(items[row, column])}, "
            "which is not in the exam's pool"
        )
    unscorable = ~readable | foreign.any(axis=1)
    table_rows[unscorable] = 0
    n_options = np.array([r.n_options for r in runtime.table.rows], dtype=np.int64)
    allowed = n_options[table_rows]
    wrong = ~unscorable[:, None] & ((answers < -1) | (answers >= allowed))
    for row, column in zip(*np.nonzero(wrong), strict=True):
        item = runtime.items[int(items[row, column])]
        reasons[int(row)].append(
            f"the answer at position {int(column) + 1} is option {int(answers[row, column])}, "
            f"which {item.code} v{item.version} does not have"
        )
    scored_answers = np.where(wrong | unscorable[:, None], -1, answers).astype(np.int8)
    scores = score_attempts(runtime.table, table_rows, scored_answers, runtime.spec.rules)
    return scores.section_scores, scores.total


def _score_adaptive(
    runtime: ExamRuntime,
    forms: Sequence[FrozenForm | None],
    answers: NDArray[np.int64],
    categories: Sequence[str],
    reasons: list[list[str]],
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Section scores and totals of an exam with adaptive sections, as each finish did."""
    codes = runtime.spec.section_codes
    sections = np.full((len(forms), len(codes)), np.nan)
    totals = np.full(len(forms), np.nan)
    for row, form in enumerate(forms):
        if form is None:
            continue
        given = [None if a < 0 else int(a) for a in answers[row].tolist()]
        try:
            # A transient row (never added to the session): the scorer reads only its form.
            scored, _abilities = compute_result(
                runtime, Attempt(form=form.encode()), given, categories[row]
            )
        except (ScoringError, ExamDayError, KeyError, IndexError) as failed:
            reasons[row].append(f"the record cannot be scored: {failed}")
            continue
        sections[row] = [scored.section_scores[c] for c in codes]
        totals[row] = scored.total
    return sections, totals


def _categories(
    runtime: ExamRuntime, stored: Sequence[str | None], reasons: list[list[str]]
) -> tuple[list[str], NDArray[np.intp]]:
    """Each attempt's category and its rule set's index (a practice attempt, which has no
    roster row, is scored by the first rule set, as at its finish)."""
    rule_sets = [r.category for r in runtime.spec.categories]
    first = rule_sets[0] if rule_sets else ""
    names = [first if c is None else c for c in stored]
    index = np.zeros(len(names), dtype=np.intp)
    if not rule_sets:
        return names, index
    position = {name: k for k, name in enumerate(rule_sets)}
    for row, name in enumerate(names):
        found = position.get(name)
        if found is None:
            reasons[row].append(f"category {name!r} has no threshold rule set in the exam")
            continue
        index[row] = found
    return names, index


def _stored_sections(texts: Sequence[str | None], codes: Sequence[str]) -> NDArray[np.float64]:
    out = np.full((len(texts), len(codes)), np.nan)
    for row, stored in enumerate(texts):
        if stored is None:
            continue
        values = json.loads(stored)
        out[row] = [float(values[c]) if values.get(c) is not None else np.nan for c in codes]
    return out


def _differs(a: NDArray[np.float64], b: NDArray[np.float64]) -> NDArray[np.bool_]:
    both_nan = np.isnan(a) & np.isnan(b)
    result: NDArray[np.bool_] = ~both_nan & ~(np.abs(a - b) <= TOLERANCE)
    return result


def _compare(
    runtime: ExamRuntime,
    revision: int,
    columns: repo.FinishedColumns,
    history: repo.AnswerHistory,
    corrections: Sequence[tuple[int, int, str]],
) -> list[Mismatch]:
    n = len(columns.attempt_ids)
    if n == 0:
        return []
    spec = runtime.spec
    codes = spec.section_codes
    positions = sum(s.item_count for s in spec.sections)
    reasons: list[list[str]] = [[] for _ in range(n)]
    attempt_ids = np.array(columns.attempt_ids, dtype=np.int64)
    items, readable = _form_items(columns.item_ids, positions, reasons)
    answers = _answers(history, attempt_ids, positions, reasons)
    names, category_index = _categories(runtime, columns.categories, reasons)
    if spec.adaptive_sections:
        forms = _forms(columns.forms, reasons)
        sections, totals = _score_adaptive(runtime, forms, answers, names, reasons)
    else:
        sections, totals = _score_fixed(runtime, items, answers, readable, reasons)
    scorable = ~np.isnan(totals)
    outcome = evaluate_thresholds(
        codes,
        np.where(scorable[:, None], sections, 0.0),
        np.where(scorable, totals, 0.0),
        spec.categories,
        category_index,
    )
    passed = outcome.passed

    has_result = np.array([t is not None for t in columns.totals], dtype=np.bool_)
    stored_sections = _stored_sections(columns.section_scores, codes)
    stored_totals = np.array([np.nan if t is None else t for t in columns.totals], dtype=np.float64)
    stored_passed = np.array([bool(p) for p in columns.passed], dtype=np.bool_)
    stored_revisions = np.array([-1 if r is None else r for r in columns.revisions], dtype=np.int64)
    compared = has_result & scorable
    section_off = compared[:, None] & _differs(stored_sections, sections)
    total_off = compared & _differs(stored_totals, totals)
    passed_off = compared & (stored_passed != passed)
    ahead = has_result & (stored_revisions > revision)
    missed: dict[int, str] = {}
    for correction_revision, item_id, label in corrections:
        stale = has_result & (stored_revisions < correction_revision) & (items == item_id).any(1)
        for row in np.nonzero(stale)[0].tolist():
            missed[row] = (
                f"scored at revision {int(stored_revisions[row])}, before correction "
                f"{correction_revision} ({label}) and never rescored by it"
            )
    flagged = (
        ~has_result
        | section_off.any(axis=1)
        | total_off
        | passed_off
        | ahead
        | np.array([bool(r) for r in reasons], dtype=np.bool_)
    )
    flagged[list(missed)] = True

    out: list[Mismatch] = []
    for row in np.nonzero(flagged)[0].tolist():
        why = list(reasons[row])
        if not has_result[row]:
            why.append("the attempt is finished but no result is stored")
        for k in np.nonzero(section_off[row])[0].tolist():
            why.append(
                f"{codes[k]}: stored {_number(stored_sections[row, k])}, "
                f"recomputed {_number(sections[row, k])}"
            )
        if total_off[row]:
            why.append(
                f"total: stored {_number(stored_totals[row])}, recomputed {_number(totals[row])}"
            )
        if passed_off[row]:
            why.append(
                f"passed: stored {_yes(bool(stored_passed[row]))}, "
                f"recomputed {_yes(bool(passed[row]))}"
            )
        if ahead[row]:
            why.append(
                f"scored at revision {int(stored_revisions[row])}, "
                f"later than the exam's revision {revision}"
            )
        if row in missed:
            why.append(missed[row])
        out.append(
            Mismatch(
                attempt_id=int(attempt_ids[row]),
                stored_total=None if not has_result[row] else float(stored_totals[row]),
                recomputed_total=float(totals[row]) if scorable[row] else None,
                stored_passed=columns.passed[row],
                recomputed_passed=bool(passed[row]) if scorable[row] else None,
                stored_sections=(
                    None
                    if not has_result[row]
                    else {
                        c: float(stored_sections[row, k])
                        for k, c in enumerate(codes)
                        if not np.isnan(stored_sections[row, k])
                    }
                ),
                recomputed_sections=(
                    {c: float(sections[row, k]) for k, c in enumerate(codes)}
                    if scorable[row]
                    else None
                ),
                reasons=tuple(why),
            )
        )
    return out


def _number(number: np.float64) -> str:
    return "nothing" if np.isnan(number) else format_score(float(number))


def _yes(value: bool) -> str:
    return "pass" if value else "fail"
