"""Thresholds by category: the SKD categories as worked examples, vectorized and explained."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring.errors import ScoringError, UnknownCategory
from scoring.thresholds import (
    Minimum,
    RuleResult,
    ThresholdRuleSet,
    evaluate_thresholds,
    explain,
    format_score,
)

PROPERTY = settings(max_examples=80, deadline=None, derandomize=True)
SKD = ("TWK", "TIU", "TKP")
UMUM = ThresholdRuleSet(
    "umum", (Minimum(("TWK",), 65), Minimum(("TIU",), 80), Minimum(("TKP",), 166))
)
CUMLAUDE = ThresholdRuleSet("cumlaude", (Minimum((), 311), Minimum(("TIU",), 85)))
DIASPORA = ThresholdRuleSet("diaspora", (Minimum((), 311), Minimum(("TIU",), 85)))
DISABILITAS = ThresholdRuleSet("disabilitas", (Minimum((), 286), Minimum(("TIU",), 60)))
PAPUA = ThresholdRuleSet("papua", (Minimum((), 286), Minimum(("TIU",), 60)))
UMUM_2019 = ThresholdRuleSet(
    "umum", (Minimum(("TWK",), 65), Minimum(("TIU",), 80), Minimum(("TKP",), 126))
)
SKD_2024 = (UMUM, CUMLAUDE, DIASPORA, DISABILITAS, PAPUA)


def judge(rule_set: ThresholdRuleSet, twk: float, tiu: float, tkp: float) -> list[str]:
    """The explanation lines of one SKD candidate under ``rule_set``."""
    scores = {"TWK": twk, "TIU": tiu, "TKP": tkp}
    return [str(r) for r in explain(rule_set, scores, twk + tiu + tkp)]


def test_umum_passes_exactly_at_every_minimum() -> None:
    assert judge(UMUM, 65, 80, 166) == ["TWK 65 ≥ 65", "TIU 80 ≥ 80", "TKP 166 ≥ 166"]


def test_umum_fails_on_one_section_even_with_a_high_total() -> None:
    # Total 425 would clear any category's total, but TIU 75 is under umum's 80.
    assert judge(UMUM, 150, 75, 200) == ["TWK 150 ≥ 65", "TIU 75 < 80", "TKP 200 ≥ 166"]


def test_cumlaude_needs_total_and_tiu_but_no_twk_minimum() -> None:
    # TWK 40 would fail umum; a cumlaude candidate with total 311 and TIU 85 passes.
    assert judge(CUMLAUDE, 40, 85, 186) == ["total 311 ≥ 311", "TIU 85 ≥ 85"]
    assert judge(CUMLAUDE, 40, 85, 185) == ["total 310 < 311", "TIU 85 ≥ 85"]
    assert judge(DIASPORA, 60, 80, 200) == ["total 340 ≥ 311", "TIU 80 < 85"]


def test_disabilitas_and_papua_need_total_286_and_tiu_60() -> None:
    for rule_set in (DISABILITAS, PAPUA):
        assert judge(rule_set, 60, 60, 166) == ["total 286 ≥ 286", "TIU 60 ≥ 60"]
        assert judge(rule_set, 80, 55, 180) == ["total 315 ≥ 286", "TIU 55 < 60"]


def test_the_same_scores_pass_or_fail_by_category() -> None:
    # TWK 60, TIU 85, TKP 170: total 315. Fails umum on TWK; passes every other category.
    scores = np.array([[60.0, 85.0, 170.0]] * 5)
    outcome = evaluate_thresholds(
        SKD, scores, scores.sum(axis=1), SKD_2024, [r.category for r in SKD_2024]
    )
    assert outcome.passed.tolist() == [False, True, True, True, True]
    assert [str(r) for r in outcome.rule_results(0)] == [
        "TWK 60 < 65",
        "TIU 85 ≥ 80",
        "TKP 170 ≥ 166",
    ]


def test_2019_umum_had_a_lower_tkp_minimum() -> None:
    assert judge(UMUM_2019, 65, 80, 126) == ["TWK 65 ≥ 65", "TIU 80 ≥ 80", "TKP 126 ≥ 126"]
    assert judge(UMUM, 65, 80, 126)[2] == "TKP 126 < 166"


def test_pppk_minimum_over_a_sum_of_sections() -> None:
    pppk = ThresholdRuleSet(
        "umum",
        (Minimum(("manajerial", "sosial_kultural"), 117), Minimum(("wawancara",), 24)),
    )
    scores = {"teknis": 400.0, "manajerial": 70.0, "sosial_kultural": 46.0, "wawancara": 30.0}
    results = explain(pppk, scores, sum(scores.values()))
    assert [str(r) for r in results] == [
        "manajerial+sosial_kultural 116 < 117",
        "wawancara 30 ≥ 24",
    ]


def test_scores_print_without_needless_decimals_and_never_round_up_to_the_minimum() -> None:
    assert str(RuleResult("total", 310.5, 311, False)) == "total 310.5 < 311"
    assert str(RuleResult("TIU", 79.99999, 80, False)) == "TIU 79.99999 < 80"
    assert format_score(-0.0) == "0"
    assert format_score(75.25) == "75.25"


def test_an_unknown_category_is_named() -> None:
    scores = np.array([[65.0, 80.0, 166.0], [65.0, 80.0, 166.0]])
    with pytest.raises(UnknownCategory, match="unknown candidate category 'pppk_guru'") as raised:
        evaluate_thresholds(SKD, scores, scores.sum(axis=1), SKD_2024, ["umum", "pppk_guru"])
    assert raised.value.category == "pppk_guru"
    with pytest.raises(UnknownCategory, match="#5"):
        evaluate_thresholds(SKD, scores, scores.sum(axis=1), SKD_2024, np.array([0, 5]))


def test_a_rule_on_an_unknown_section_is_refused() -> None:
    broken = ThresholdRuleSet("umum", (Minimum(("TPA",), 10),))
    with pytest.raises(ScoringError, match="unknown section 'TPA'"):
        evaluate_thresholds(SKD, np.zeros((1, 3)), np.zeros(1), [broken], ["umum"])


def test_an_exam_without_thresholds_passes_everyone() -> None:
    # SKB has no threshold: no rule sets, whatever the categories say.
    outcome = evaluate_thresholds(("SKB",), np.zeros((2, 1)), np.zeros(2), [], ["umum", "x"])
    assert outcome.passed.tolist() == [True, True]
    assert outcome.rule_results(0) == ()


@PROPERTY
@given(
    st.lists(
        st.tuples(
            st.integers(0, 30).map(lambda k: 5.0 * k),
            st.integers(0, 35).map(lambda k: 5.0 * k),
            st.integers(45, 225).map(float),
            st.sampled_from([r.category for r in SKD_2024]),
        ),
        max_size=40,
    ),
    st.booleans(),
)
def test_vectorized_outcome_agrees_with_each_candidates_explanation(
    candidates: list[tuple[float, float, float, str]], by_index: bool
) -> None:
    scores = np.array([c[:3] for c in candidates]).reshape(len(candidates), 3)
    names = [c[3] for c in candidates]
    categories = (
        np.array([[r.category for r in SKD_2024].index(c) for c in names], dtype=np.int64)
        if by_index
        else np.array(names)
    )
    outcome = evaluate_thresholds(SKD, scores, scores.sum(axis=1), SKD_2024, categories)
    for i, (twk, tiu, tkp, category) in enumerate(candidates):
        rule_set = next(r for r in SKD_2024 if r.category == category)
        expected = explain(rule_set, {"TWK": twk, "TIU": tiu, "TKP": tkp}, twk + tiu + tkp)
        assert list(outcome.rule_results(i)) == expected
        assert bool(outcome.passed[i]) == all(r.passed for r in expected)
        assert bool(outcome.failed[i].any()) == (not outcome.passed[i])
