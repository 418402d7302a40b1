"""Mantel–Haenszel DIF: the statistics against hand-computed tables, ETS classes, purification."""

from __future__ import annotations

import math

import numpy as np
import pytest

from scoring.dif import DIFClass, classify, mantel_haenszel_dif
from scoring.integrity.common import IntegrityInputError, ScoredResponses


def scored_from(correct: np.ndarray) -> ScoredResponses:
    return ScoredResponses(correct.astype(float), np.ones(correct.shape, dtype=bool))


def build(tables: list[tuple[int, int, int, int]]):
    """Candidates whose total on two filler items sets the stratum and item 0 the 2 × 2 cell.

    Each ``(A, B, C, D)`` is one score level of the *studied* item: reference right/wrong,
    focal right/wrong. The matching score is the total including item 0, so level ``k``
    candidates get ``k + 1 - x_0`` right answers on the fillers (items 1..3).
    """
    rows, groups = [], []
    for level, counts in enumerate(tables, start=1):
        for group, right, n in (
            ("R", 1, counts[0]),
            ("R", 0, counts[1]),
            ("F", 1, counts[2]),
            ("F", 0, counts[3]),
        ):
            fillers = level - right
            for _ in range(n):
                rows.append([right] + [1] * fillers + [0] * (3 - fillers))
                groups.append(group)
    return np.array(rows), groups


TABLES = [(30, 20, 15, 25), (40, 10, 25, 15), (20, 5, 18, 7)]


def test_statistics_match_the_formulas_on_hand_built_tables():
    correct, groups = build(TABLES)
    result = mantel_haenszel_dif(scored_from(correct), groups, "R", purify=False)
    (comparison,) = result.comparisons
    r = s = sum_a = expected = variance = 0.0
    pr = ps_qr = qs = 0.0
    for a, b, c, d in TABLES:
        n = a + b + c + d
        r_k, s_k = a * d / n, b * c / n
        p_k, q_k = (a + d) / n, (b + c) / n
        r, s = r + r_k, s + s_k
        pr, ps_qr, qs = pr + p_k * r_k, ps_qr + p_k * s_k + q_k * r_k, qs + q_k * s_k
        sum_a += a
        expected += (a + b) * (a + c) / n
        variance += (a + b) * (c + d) * (a + c) * (b + d) / (n * n * (n - 1))
    alpha = r / s
    chi = (abs(sum_a - expected) - 0.5) ** 2 / variance
    se = 2.35 * math.sqrt(pr / (2 * r * r) + ps_qr / (2 * r * s) + qs / (2 * s * s))
    assert comparison.alpha[0] == pytest.approx(alpha)
    assert comparison.delta[0] == pytest.approx(-2.35 * math.log(alpha))
    assert comparison.delta[0] < 0  # harder for the focal group
    assert comparison.chi_square[0] == pytest.approx(chi)
    assert comparison.p_value[0] == pytest.approx(math.erfc(math.sqrt(chi / 2)))
    assert comparison.delta_se[0] == pytest.approx(se)
    assert comparison.n_reference == 125
    assert comparison.n_focal == 105
    assert comparison.n_reference_item[0] == 125


def test_swapping_the_groups_negates_delta_and_keeps_the_test():
    correct, groups = build(TABLES)
    forward = mantel_haenszel_dif(scored_from(correct), groups, "R", purify=False).comparisons[0]
    backward = mantel_haenszel_dif(scored_from(correct), groups, "F", purify=False).comparisons[0]
    np.testing.assert_allclose(backward.delta, -forward.delta)
    np.testing.assert_allclose(backward.delta_se, forward.delta_se)
    np.testing.assert_allclose(backward.chi_square, forward.chi_square)
    assert backward.dif_class == forward.dif_class


@pytest.mark.parametrize(
    ("delta", "se", "p", "expected"),
    [
        (-0.9, 0.1, 1e-9, DIFClass.A),  # small
        (-2.5, 0.1, 0.2, DIFClass.A),  # not significant
        (-1.2, 0.1, 1e-6, DIFClass.B),  # moderate
        (1.6, 0.1, 1e-9, DIFClass.C),  # large and clearly above 1
        (-1.6, 0.5, 1e-4, DIFClass.B),  # large but not significantly above 1
        (float("nan"), float("nan"), float("nan"), DIFClass.A),
    ],
)
def test_ets_classification(delta, se, p, expected):
    assert classify([delta], [se], [p]) == (expected,)


def simulated(n_per_group: int, n_items: int, shifts: dict[int, float], seed: int):
    rng = np.random.default_rng(seed)
    theta = np.concatenate(
        [rng.standard_normal(n_per_group), rng.standard_normal(n_per_group) - 0.5]
    )
    b = rng.normal(0, 1, (2 * n_per_group, n_items))[0] * np.ones((2 * n_per_group, 1))
    for item, shift in shifts.items():
        b[n_per_group:, item] += shift
    right = rng.random(b.shape) < 1 / (1 + np.exp(-(theta[:, None] - b)))
    groups = ["ref"] * n_per_group + ["focal"] * n_per_group
    return right, groups


def test_purification_drops_flagged_items_from_the_matching_score():
    right, groups = simulated(1500, 30, {0: 1.2, 1: 1.2, 2: -1.2, 3: 1.2}, seed=4)
    one_stage = mantel_haenszel_dif(scored_from(right), groups, "ref", purify=False)
    two_stage = mantel_haenszel_dif(scored_from(right), groups, "ref")
    final = two_stage.comparisons[0]
    assert set(final.flagged.tolist()) >= {0, 1, 2, 3}
    assert not {0, 1, 2, 3} & set(final.matching_items.tolist())
    assert final.dif_class[2] is DIFClass.C
    assert final.delta[2] > 0
    # Contamination pushes clean items the other way; purification pulls them back to zero.
    clean = np.arange(4, 30)
    assert np.abs(final.delta[clean]).mean() < np.abs(one_stage.comparisons[0].delta[clean]).mean()
    assert len(one_stage.comparisons[0].matching_items) == 30


def test_every_focal_group_is_compared_and_unlabelled_candidates_left_out():
    right, groups = simulated(400, 20, {}, seed=5)
    labels = list(groups)
    labels[400:500] = ["small"] * 100
    labels[500:520] = [""] * 20
    result = mantel_haenszel_dif(scored_from(right), labels, "ref")
    assert [c.focal for c in result.comparisons] == ["focal", "small"]
    assert [c.n_focal for c in result.comparisons] == [280, 100]
    assert [c.small_sample for c in result.comparisons] == [False, False]
    only = mantel_haenszel_dif(scored_from(right), labels, "ref", focal=["small"], min_focal=200)
    assert only.comparisons[0].small_sample


def test_unknown_groups_are_refused_by_name():
    right, groups = simulated(50, 5, {}, seed=6)
    with pytest.raises(IntegrityInputError, match="reference group 'west'"):
        mantel_haenszel_dif(scored_from(right), groups, "west")
    with pytest.raises(IntegrityInputError, match=r"focal group\(s\) \['east'\]"):
        mantel_haenszel_dif(scored_from(right), groups, "ref", focal=["east"])
    with pytest.raises(IntegrityInputError, match="3 group labels for 100"):
        mantel_haenszel_dif(scored_from(right), ["ref"] * 3, "ref")


def test_items_not_shown_leave_their_candidates_out():
    right, groups = simulated(300, 10, {}, seed=7)
    presented = np.ones(right.shape, dtype=bool)
    presented[:100, 0] = False
    scored = ScoredResponses(right.astype(float), presented)
    comparison = mantel_haenszel_dif(scored, groups, "ref").comparisons[0]
    assert comparison.n_reference_item[0] == 200
    assert comparison.n_reference_item[1] == 300
