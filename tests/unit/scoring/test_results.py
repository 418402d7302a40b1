"""Results of single attempts: what is stored at finish, and its agreement with batch scoring."""

from __future__ import annotations

import json

import numpy as np
import pytest

from scoring.errors import UnknownCategory
from scoring.results import AttemptResult, results_from_scores, score_attempt
from scoring.rules import (
    BLANK,
    SCORING_VERSION,
    ItemScoringRow,
    SectionRule,
    SectionScoring,
    SectionScoringKind,
    build_points_table,
    score_attempts,
)
from scoring.thresholds import Minimum, ThresholdRuleSet, evaluate_thresholds

DICHOTOMOUS = SectionScoring(SectionScoringKind.DICHOTOMOUS, correct=5)
WEIGHTED = SectionScoring(SectionScoringKind.WEIGHTED)
#: A miniature SKD: 2 TWK, 2 TIU and 2 TKP items, forms drawn from 8 table rows.
SECTIONS = (
    SectionRule("TWK", "Tes Wawasan Kebangsaan", 2, DICHOTOMOUS),
    SectionRule("TIU", "Tes Intelegensia Umum", 2, DICHOTOMOUS),
    SectionRule("TKP", "Tes Karakteristik Pribadi", 2, WEIGHTED),
)
ROWS = (
    ItemScoringRow(DICHOTOMOUS, 5, 0, None),  # TWK rows 0-2
    ItemScoringRow(DICHOTOMOUS, 5, 1, None),
    ItemScoringRow(DICHOTOMOUS, 5, 2, None),
    ItemScoringRow(DICHOTOMOUS, 4, 3, None),  # TIU rows 3-4
    ItemScoringRow(DICHOTOMOUS, 4, 0, None),
    ItemScoringRow(WEIGHTED, 5, None, (1, 2, 3, 4, 5)),  # TKP rows 5-7
    ItemScoringRow(WEIGHTED, 5, None, (5, 4, 3, 2, 1)),
    ItemScoringRow(WEIGHTED, 5, None, (3, 5, 1, 2, 4)),
)
RULES = (
    ThresholdRuleSet("umum", (Minimum(("TWK",), 5), Minimum(("TIU",), 10), Minimum(("TKP",), 6))),
    ThresholdRuleSet("cumlaude", (Minimum((), 15), Minimum(("TIU",), 5))),
)


def test_a_finished_attempt_gets_its_scores_rules_and_scoring_version() -> None:
    table = build_points_table(ROWS)
    # TWK: row 2 right (5), row 0 blank; TIU: row 3 right (5), row 4 wrong; TKP: 4 + 5.
    result = score_attempt(
        table, [2, 0, 3, 4, 5, 7], [2, None, 3, 1, 3, 1], SECTIONS, rule_sets=RULES, category="umum"
    )
    assert result.section_scores == {"TWK": 5.0, "TIU": 5.0, "TKP": 9.0}
    assert result.total == 19.0
    assert result.passed is False
    assert [str(r) for r in result.failed_rules] == ["TIU 5 < 10"]
    assert result.scoring_version == SCORING_VERSION


def test_the_same_scores_pass_as_cumlaude() -> None:
    table = build_points_table(ROWS)
    result = score_attempt(
        table,
        [2, 0, 3, 4, 5, 7],
        [2, -1, 3, 1, 3, 1],
        SECTIONS,
        rule_sets=RULES,
        category="cumlaude",
    )
    assert result.passed is True
    assert [str(r) for r in result.rules] == ["total 19 ≥ 15", "TIU 5 ≥ 5"]


def test_an_attempt_of_a_category_without_rules_is_refused() -> None:
    table = build_points_table(ROWS)
    with pytest.raises(UnknownCategory, match="'papua'"):
        score_attempt(table, [0] * 6, [BLANK] * 6, SECTIONS, rule_sets=RULES, category="papua")


def test_a_stored_result_reads_back_unchanged() -> None:
    table = build_points_table(ROWS)
    result = score_attempt(
        table, [1, 0, 4, 3, 6, 5], [1, 0, 0, 3, 0, 4], SECTIONS, rule_sets=RULES, category="umum"
    )
    stored = json.loads(json.dumps(result.as_dict()))
    assert AttemptResult.from_dict(stored) == result
    assert stored["rules"][0] == {"label": "TWK", "value": 10.0, "minimum": 5.0, "passed": True}


def test_batch_results_equal_one_by_one_results() -> None:
    rng = np.random.default_rng(7)
    table = build_points_table(ROWS)
    forms = np.column_stack(
        [
            rng.integers(0, 3, 30),
            rng.integers(0, 3, 30),
            rng.integers(3, 5, (30, 2)),
            rng.integers(5, 8, (30, 2)),
        ]
    )
    responses = rng.integers(-1, 4, forms.shape).astype(np.int8)
    categories = rng.choice(["umum", "cumlaude"], 30)
    scores = score_attempts(table, forms, responses, SECTIONS)
    outcome = evaluate_thresholds(
        scores.section_codes, scores.section_scores, scores.total, RULES, categories
    )
    batch = results_from_scores(scores, outcome)
    one_by_one = [
        score_attempt(table, f, r, SECTIONS, rule_sets=RULES, category=str(c))
        for f, r, c in zip(forms, responses, categories, strict=True)
    ]
    assert batch == one_by_one
    assert {r.passed for r in batch} == {True, False}
