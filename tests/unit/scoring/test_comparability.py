"""Comparability: distributions against table values, group summaries and tests, form TCCs."""

from __future__ import annotations

import math

import numpy as np
import pytest

from scoring.comparability import (
    compare_forms,
    compare_groups,
    f_sf,
    incomplete_beta,
    t_quantile,
    wilson_interval,
)
from scoring.integrity.common import IntegrityInputError
from scoring.irt import ItemParams


def test_distributions_match_printed_tables():
    assert t_quantile(0.975, 10) == pytest.approx(2.228139, abs=1e-6)
    assert t_quantile(0.025, 3) == pytest.approx(-3.182446, abs=1e-6)
    assert t_quantile(0.995, 1000) == pytest.approx(2.580755, abs=1e-5)
    assert f_sf(4.0847, 1, 40) == pytest.approx(0.05, abs=1e-4)  # F(0.95; 1, 40) = 4.0847
    assert f_sf(2.8387, 3, 40) == pytest.approx(0.05, abs=1e-4)  # F(0.95; 3, 40) = 2.8387
    assert incomplete_beta(2.0, 3.0, 0.4) == pytest.approx(0.5248)  # 1 - (0.6^4 + 4*0.4*0.6^3)


def test_wilson_interval_matches_brown_cai_dasgupta():
    low, high = wilson_interval(3, 20)
    assert (low, high) == pytest.approx((0.05237, 0.36042), abs=1e-5)
    assert wilson_interval(0, 10)[0] == 0.0
    assert wilson_interval(10, 10)[1] == 1.0
    assert all(math.isnan(v) for v in wilson_interval(0, 0))
    with pytest.raises(IntegrityInputError, match="11 successes out of 10"):
        wilson_interval(11, 10)


def sample_groups():
    rng = np.random.default_rng(0)
    scores = np.round(rng.normal(size=90) * 3)
    scores[60:] += 1.5
    groups = np.repeat(["a", "b", "c"], 30)
    return scores, groups


def test_group_tests_match_reference_values():
    scores, groups = sample_groups()
    result = compare_groups(scores, groups, passed=scores > 0)
    # Reference values computed from these data with scipy.stats 1.17
    # (kruskal, f_oneway, chi2_contingency without correction).
    assert result.kruskal_wallis.statistic == pytest.approx(8.429974938172549)
    assert result.kruskal_wallis.p_value == pytest.approx(0.014772506878936914)
    assert result.anova.statistic == pytest.approx(5.18167195388946)
    assert result.anova.p_value == pytest.approx(0.007479697918592479)
    assert result.anova.df == (2.0, 87.0)
    assert result.pass_rates is not None
    assert result.pass_rates.statistic == pytest.approx(8.69089099054256)
    assert result.pass_rates.p_value == pytest.approx(0.012965730789192952)


def test_group_summaries_give_intervals_and_quartiles():
    scores, groups = sample_groups()
    result = compare_groups(scores, groups, passed=scores > 0)
    first = result.groups[0]
    values = scores[:30]
    assert first.group == "a"
    assert first.n == 30
    assert first.mean == pytest.approx(values.mean())
    half = 2.045230 * values.std(ddof=1) / math.sqrt(30)  # t(0.975; 29)
    assert first.mean_ci == pytest.approx((values.mean() - half, values.mean() + half), abs=1e-5)
    assert first.quartiles == tuple(np.percentile(values, [25, 50, 75]).tolist())
    assert first.passed == int((values > 0).sum())
    assert first.pass_ci == wilson_interval(first.passed, 30)


def test_without_pass_data_or_labels():
    scores, groups = sample_groups()
    labels = groups.copy()
    labels[:5] = ""
    result = compare_groups(scores, labels)
    assert result.pass_rates is None
    assert [g.n for g in result.groups] == [25, 30, 30]
    single = compare_groups([1.0, 2.0, 3.0], ["x", "x", "x"])
    assert math.isnan(single.kruskal_wallis.p_value)
    with pytest.raises(IntegrityInputError, match="2 group labels for 3 scores"):
        compare_groups([1.0, 2.0, 3.0], ["x", "y"])


def test_forms_are_compared_on_their_test_characteristic_curves():
    params = ItemParams(np.ones(6), [-1.0, 0.0, 1.0, -1.0, 0.0, 2.0])
    forms = {"A": [0, 1, 2], "B": [3, 4, 5], "C": [2, 1, 0]}
    result = compare_forms(params, forms, theta=[-1.0, 0.0, 1.0])
    assert result.forms == ("A", "B", "C")
    assert result.n_items == (3, 3, 3)
    np.testing.assert_allclose(result.difference[2], 0.0, atol=1e-12)  # same items, other order
    # B swaps the b = 1 item for a b = 2 one: lower expected score everywhere.
    expected_gap = 1 / (1 + np.exp(-(np.array([-1.0, 0.0, 1.0]) - 2))) - 1 / (
        1 + np.exp(-(np.array([-1.0, 0.0, 1.0]) - 1))
    )
    np.testing.assert_allclose(result.difference[1], expected_gap)
    assert result.max_abs_difference[1] == pytest.approx(np.abs(expected_gap).max())
    weights = np.exp(-0.5 * np.array([1.0, 0.0, 1.0]))
    assert result.mean_difference[1] == pytest.approx(expected_gap @ (weights / weights.sum()))
    assert compare_forms(params, forms, reference="B").forms[0] == "B"
    with pytest.raises(IntegrityInputError, match="form 'X' names items outside the bank"):
        compare_forms(params, {"X": [0, 9]})
