"""The result of one attempt: section scores, total, each threshold rule with its numbers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from scoring.errors import ScoringError
from scoring.rules import (
    BLANK,
    SCORING_VERSION,
    PointsTable,
    ScoreMatrix,
    SectionRule,
    score_attempts,
)
from scoring.thresholds import (
    RuleResult,
    ThresholdOutcome,
    ThresholdRuleSet,
    explain,
    rule_set_for,
)


@dataclass(frozen=True, slots=True)
class AttemptResult:
    """What a finished attempt scored, as stored and shown.

    ``passed`` is true when every rule in ``rules`` passed (always true for an exam without
    thresholds). ``scoring_version`` is :data:`scoring.rules.SCORING_VERSION` at scoring time;
    the exam version is stored beside it by the caller.
    """

    section_scores: dict[str, float]
    total: float
    passed: bool
    rules: tuple[RuleResult, ...]
    scoring_version: str = SCORING_VERSION

    @property
    def failed_rules(self) -> tuple[RuleResult, ...]:
        """The rules the candidate did not meet, e.g. ``("TIU 75 < 80",)`` as strings."""
        return tuple(r for r in self.rules if not r.passed)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready form for storage; :meth:`from_dict` reads it back unchanged."""
        return {
            "section_scores": dict(self.section_scores),
            "total": self.total,
            "passed": self.passed,
            "rules": [
                {"label": r.label, "value": r.value, "minimum": r.minimum, "passed": r.passed}
                for r in self.rules
            ],
            "scoring_version": self.scoring_version,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AttemptResult:
        """Read back what :meth:`as_dict` wrote."""
        return cls(
            section_scores={str(k): float(v) for k, v in data["section_scores"].items()},
            total=float(data["total"]),
            passed=bool(data["passed"]),
            rules=tuple(
                RuleResult(
                    str(r["label"]), float(r["value"]), float(r["minimum"]), bool(r["passed"])
                )
                for r in data["rules"]
            ),
            scoring_version=str(data["scoring_version"]),
        )


def score_attempt(
    table: PointsTable,
    form: ArrayLike,
    responses: Sequence[int | None] | ArrayLike,
    sections: Sequence[SectionRule],
    *,
    rule_sets: Sequence[ThresholdRuleSet],
    category: str,
) -> AttemptResult:
    """Score one attempt the moment it finishes, with its category's thresholds.

    ``form`` lists the table row of each position; ``responses`` the chosen option's original
    index per position (``None`` or ``-1`` for blank). Same rules as
    :func:`scoring.rules.score_attempts`; the thresholds are those of
    :func:`scoring.thresholds.explain` (none when the exam has no rule sets).
    """
    if isinstance(responses, Sequence) and not isinstance(responses, str | bytes):
        answered = [BLANK if r is None else r for r in responses]
    else:
        answered = list(np.asarray(responses).ravel())
    try:
        response_row = np.asarray([answered], dtype=np.int64)
    except (TypeError, ValueError, OverflowError):
        raise ScoringError("responses must be option indices, -1 or None") from None
    scores = score_attempts(table, np.asarray([form]), response_row, sections)
    section_scores = {
        code: float(scores.section_scores[0, k]) for k, code in enumerate(scores.section_codes)
    }
    total = float(scores.total[0])
    rules = (
        tuple(explain(rule_set_for(rule_sets, category), section_scores, total))
        if rule_sets
        else ()
    )
    return AttemptResult(section_scores, total, all(r.passed for r in rules), rules)


def results_from_scores(scores: ScoreMatrix, outcome: ThresholdOutcome) -> list[AttemptResult]:
    """One :class:`AttemptResult` per row of a batch scored by ``score_attempts``.

    ``outcome`` is :func:`scoring.thresholds.evaluate_thresholds` applied to ``scores``.
    """
    if outcome.passed.shape[0] != len(scores) or outcome.section_codes != scores.section_codes:
        raise ScoringError("threshold outcome and scores describe different candidates")
    section_rows = scores.section_scores.tolist()
    totals = scores.total.tolist()
    passed = outcome.passed.tolist()
    return [
        AttemptResult(
            dict(zip(scores.section_codes, section_rows[i], strict=True)),
            totals[i],
            passed[i],
            outcome.rule_results(i),
        )
        for i in range(len(scores))
    ]
