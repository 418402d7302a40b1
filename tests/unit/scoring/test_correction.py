"""Key corrections and annulments: a worked example computed by hand, then properties."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring.correction import (
    AnnulItem,
    CorrectionAction,
    CorrectKey,
    SetOptionPoints,
    apply_corrections,
    rescore_impact,
)
from scoring.errors import ScoringError
from scoring.ranking import (
    Formation,
    Ranking,
    RankInput,
    TieBreakKey,
    diff_rankings,
    rank_formation,
)
from scoring.rules import (
    ItemScoringRow,
    ScoreMatrix,
    SectionRule,
    SectionScoring,
    SectionScoringKind,
    build_points_table,
    score_attempts,
)
from scoring.thresholds import Minimum, ThresholdRuleSet, evaluate_thresholds

PROPERTY = settings(max_examples=60, deadline=None, derandomize=True)
FIVE_ZERO = SectionScoring(SectionScoringKind.DICHOTOMOUS, correct=5)
WEIGHTED = SectionScoring(SectionScoringKind.WEIGHTED)
SECTIONS = (
    SectionRule("TWK", "Tes Wawasan Kebangsaan", 3, FIVE_ZERO),
    SectionRule("TKP", "Tes Karakteristik Pribadi", 2, WEIGHTED),
)
ROWS = (
    ItemScoringRow(FIVE_ZERO, 4, 0, None),  # row 0, key A
    ItemScoringRow(FIVE_ZERO, 4, 1, None),  # row 1, key B
    ItemScoringRow(FIVE_ZERO, 4, 2, None),  # row 2, key C
    ItemScoringRow(FIVE_ZERO, 4, 3, None),  # row 3, key D
    ItemScoringRow(WEIGHTED, 4, None, (1, 2, 3, 4)),  # row 4
    ItemScoringRow(WEIGHTED, 4, None, (4, 3, 2, 1)),  # row 5
)
FORMS = np.array(
    [[0, 1, 2, 4, 5], [1, 2, 3, 4, 5], [3, 0, 1, 5, 4], [0, 3, 1, 4, 5]], dtype=np.int32
)
RESPONSES = np.array(
    [[0, 1, 0, 3, 0], [1, 2, 2, 0, 3], [-1, 0, 0, 1, 2], [2, 3, 1, -1, -1]], dtype=np.int8
)
# Before any correction, by hand:
#   a0: TWK 5 + 5 + 0 = 10, TKP 4 + 4 = 8, total 18
#   a1: TWK 5 + 5 + 0 = 10, TKP 1 + 1 = 2, total 12
#   a2: TWK 0 + 5 + 0 = 5,  TKP 3 + 3 = 6, total 11
#   a3: TWK 0 + 5 + 5 = 10, TKP 0 + 0 = 0, total 10


def impact_of(*actions: CorrectionAction) -> tuple[list[int], list[list[float]], list[list[float]]]:
    """Affected attempts, their old and new section scores."""
    table = build_points_table(ROWS)
    impact = rescore_impact(table, apply_corrections(table, actions), FORMS, RESPONSES, SECTIONS)
    return (
        impact.attempts.tolist(),
        impact.old.section_scores.tolist(),
        impact.new.section_scores.tolist(),
    )


def test_scores_before_correction_match_the_hand_computation() -> None:
    scores = score_attempts(build_points_table(ROWS), FORMS, RESPONSES, SECTIONS)
    assert scores.section_scores.tolist() == [[10, 8], [10, 2], [5, 6], [10, 0]]


def test_key_correction_by_hand() -> None:
    # Row 2's key becomes A. a0 answered A (now right: TWK 10 → 15); a1 answered C (now
    # wrong: TWK 10 → 5). a2 and a3 never saw row 2.
    attempts, old, new = impact_of(CorrectKey(item_row=2, new_key_index=0))
    assert attempts == [0, 1]
    assert old == [[10, 8], [10, 2]]
    assert new == [[15, 8], [5, 2]]


def test_annulment_dropping_the_item_lowers_scores_and_maxima_by_hand() -> None:
    # Row 3 dropped: a1 (wrong) and a2 (blank) keep their scores, a3 (right) loses 5; the
    # best TWK score of those three forms falls from 15 to 10.
    table = build_points_table(ROWS)
    impact = rescore_impact(
        table, apply_corrections(table, [AnnulItem(3, "drop")]), FORMS, RESPONSES, SECTIONS
    )
    assert impact.attempts.tolist() == [1, 2, 3]
    assert impact.new.section_scores.tolist() == [[10, 2], [5, 6], [5, 0]]
    assert impact.score_changed.tolist() == [False, False, True]
    assert impact.old_max.tolist() == [[15, 8]] * 3
    assert impact.new_max.tolist() == [[10, 8]] * 3


def test_annulment_awarding_everyone_by_hand() -> None:
    # Row 3 awarded: wrong (a1) and blank (a2) gain 5; right (a3) stays.
    attempts, _, new = impact_of(AnnulItem(3, "award_all"))
    assert attempts == [1, 2, 3]
    assert new == [[15, 2], [10, 6], [10, 0]]


def test_option_point_corrections_by_hand() -> None:
    # Row 5's option D goes from 1 to 2 (a1 chose it: TKP 2 → 3). Row 0 accepts A and C
    # (a3 chose C: TWK 10 → 15).
    attempts, _, new = impact_of(SetOptionPoints(5, (4, 3, 2, 2)), SetOptionPoints(0, (5, 0, 5, 0)))
    assert attempts == [0, 1, 2, 3]
    assert new == [[10, 8], [10, 3], [5, 6], [15, 0]]


def test_dry_run_lists_ranking_changes_by_hand() -> None:
    # Umum needs TWK >= 10; one opening x 2. Before: a0 18 (1, P/L), a1 12 (2, P/L),
    # a3 10 (3, P), a2 T/L (TWK 5). After row 2's key becomes A: a0 23, a1 falls to TWK 5
    # (T/L), so a3 moves into the cut.
    rules = (ThresholdRuleSet("umum", (Minimum(("TWK",), 10),)),)
    formation = Formation("F-1", "Kementerian Contoh", "Penyuluh", openings=1, cut_multiplier=2)
    keys = np.array(["a0", "a1", "a2", "a3"])
    old_table = build_points_table(ROWS)
    new_table = apply_corrections(old_table, [CorrectKey(2, 0)])
    impact = rescore_impact(old_table, new_table, FORMS, RESPONSES, SECTIONS)
    old_scores = score_attempts(old_table, FORMS, RESPONSES, SECTIONS)
    new_scores = impact.apply_to(old_scores)

    def ranking(scores: ScoreMatrix) -> Ranking:
        outcome = evaluate_thresholds(
            scores.section_codes, scores.section_scores, scores.total, rules, ["umum"] * 4
        )
        candidates = RankInput(
            keys,
            scores.section_codes,
            scores.section_scores,
            scores.total,
            outcome.passed,
            np.ones(4, dtype=np.bool_),
        )
        return rank_formation(candidates, formation, (TieBreakKey(("TKP",)), TieBreakKey(("TWK",))))

    diff = diff_rankings(ranking(old_scores), ranking(new_scores), cause="key correction")
    assert [(c.key, c.reasons) for c in diff.changes] == [
        ("a0", ("total 18 → 23 after key correction", "TWK 10 → 15")),
        ("a3", ("rank 3 → 2 (others' scores changed)", "status P → P/L (moved inside the cut)")),
        (
            "a1",
            (
                "total 12 → 7 after key correction",
                "TWK 10 → 5",
                "status P/L → T/L (no longer meets the thresholds)",
            ),
        ),
    ]


@pytest.mark.parametrize(
    ("action", "message"),
    [
        (CorrectKey(4, 1), "scores by option points"),
        (CorrectKey(0, 0), "already item row 0's key"),
        (CorrectKey(9, 0), "item row 9 is not in the points table"),
        (CorrectKey(0, 4), "key index 4 is not one of its 4 options"),
        (SetOptionPoints(4, (1, 2)), "2 option points for 4 options"),
    ],
)
def test_impossible_corrections_are_refused(action: CorrectionAction, message: str) -> None:
    with pytest.raises(ScoringError, match=message):
        apply_corrections(build_points_table(ROWS), [action])


def test_an_item_is_annulled_once_and_modes_are_checked() -> None:
    table = build_points_table(ROWS)
    with pytest.raises(ScoringError, match="already annulled"):
        apply_corrections(table, [AnnulItem(1, "drop"), CorrectKey(1, 0)])
    with pytest.raises(ScoringError, match="neither award_all nor drop"):
        AnnulItem(1, "void")
    assert table.points[1].tolist()[:4] == [0, 5, 0, 0]  # the original table is untouched


actions_strategy = st.lists(
    st.one_of(
        st.builds(CorrectKey, st.integers(0, 39), st.integers(0, 3)),
        st.builds(
            SetOptionPoints,
            st.integers(0, 39),
            st.tuples(*[st.integers(0, 5).map(float)] * 4),
        ),
        st.builds(AnnulItem, st.integers(0, 39), st.sampled_from(["award_all", "drop"])),
    ),
    min_size=1,
    max_size=4,
    unique_by=lambda a: a.item_row,
)


@PROPERTY
@given(actions_strategy)
def test_applying_a_correction_equals_rescoring_everyone(actions: list[CorrectionAction]) -> None:
    rng = np.random.default_rng(11)
    rows = [ItemScoringRow(FIVE_ZERO, 4, int(rng.integers(4)), None) for _ in range(20)]
    rows += [ItemScoringRow(WEIGHTED, 4, None, (1.0, 2.0, 3.0, 4.0)) for _ in range(20)]
    sections = (SectionRule("A", "A", 4, FIVE_ZERO), SectionRule("B", "B", 3, WEIGHTED))
    forms = np.column_stack([rng.integers(0, 20, (200, 4)), rng.integers(20, 40, (200, 3))])
    responses = rng.integers(-1, 4, forms.shape).astype(np.int8)
    old_table = build_points_table(rows)
    # Key corrections only apply to dichotomous rows; weighted rows get option points instead.
    fitted = [
        SetOptionPoints(a.item_row, (0.0, 1.0, 2.0, 3.0))
        if isinstance(a, CorrectKey) and a.item_row >= 20
        else CorrectKey(a.item_row, (rows[a.item_row].key_index or 0) + 1 & 3)
        if isinstance(a, CorrectKey)
        else a
        for a in actions
    ]
    new_table = apply_corrections(old_table, fitted)
    impact = rescore_impact(old_table, new_table, forms, responses, sections)
    full_new = score_attempts(new_table, forms, responses, sections)
    old_scores = score_attempts(old_table, forms, responses, sections)
    assert impact.apply_to(old_scores).section_scores.tolist() == full_new.section_scores.tolist()
    touched = {
        a.item_row
        for a in fitted
        if not np.array_equal(
            old_table.points[a.item_row], new_table.points[a.item_row], equal_nan=True
        )
    }
    assert impact.attempts.tolist() == [
        i for i, form in enumerate(forms.tolist()) if touched & set(form)
    ]
