"""IRT calibration and abilities: known values, recovery, SEs, fit, missing data."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

from scoring.irt import (
    RMSD_MISFIT,
    AbilityMethod,
    BetaPrior,
    CalibrationError,
    CalibrationSettings,
    IRTModel,
    ItemParams,
    LogNormalPrior,
    calibrate,
    chi_square_sf,
    estimate_abilities,
    expected_score,
    information,
    marginal_log_likelihood,
    probability,
    total_information,
)


def simulate_responses(
    seed: int, n: int, params: ItemParams, theta_sd: float = 1.0
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    rng = np.random.default_rng(seed)
    theta = rng.normal(0.0, theta_sd, n)
    p = probability(theta, params)
    return (rng.random(p.shape) < p).astype(np.float64), theta


def two_pl_bank(seed: int, j: int) -> ItemParams:
    rng = np.random.default_rng(seed)
    return ItemParams(rng.lognormal(0.0, 0.25, j), rng.normal(0.0, 1.0, j))


@pytest.fixture(scope="module")
def two_pl() -> tuple[ItemParams, NDArray[np.float64]]:
    params = two_pl_bank(11, 30)
    x, _ = simulate_responses(12, 3000, params)
    return params, x


@pytest.fixture(scope="module")
def two_pl_fit(two_pl):  # type: ignore[no-untyped-def]
    return calibrate(two_pl[1])


# --------------------------------------------------------------------------------------------
# The model functions
# --------------------------------------------------------------------------------------------


def test_probability_at_the_difficulty_is_halfway_above_the_asymptote():
    params = ItemParams(np.array([1.3, 0.7]), np.array([0.5, -1.0]), np.array([0.0, 0.2]))
    assert probability([0.5], params)[0, 0] == pytest.approx(0.5)
    assert probability([-1.0], params)[0, 1] == pytest.approx(0.2 + 0.8 * 0.5)


def test_two_pl_information_peaks_at_b_with_a_squared_over_four():
    params = ItemParams(np.array([1.6]), np.array([0.3]))
    grid = np.linspace(-3, 3, 6001)
    info = information(grid, params)[:, 0]
    assert grid[np.argmax(info)] == pytest.approx(0.3, abs=1e-3)
    assert info.max() == pytest.approx(1.6**2 / 4, rel=1e-6)


def test_three_pl_information_peaks_above_b_where_birnbaum_says():
    # Lord (1980), eq. 10-4: the 3PL information is largest at b + ln((1 + √(1 + 8c)) / 2) / a.
    a, b, c = 1.2, 0.0, 0.25
    params = ItemParams(np.array([a]), np.array([b]), np.array([c]))
    grid = np.linspace(-3, 3, 60001)
    peak = grid[np.argmax(information(grid, params)[:, 0])]
    assert peak == pytest.approx(b + math.log((1 + math.sqrt(1 + 8 * c)) / 2) / a, abs=1e-3)


@settings(max_examples=60, deadline=None)
@given(
    a=st.floats(0.2, 3.0),
    b=st.floats(-3.0, 3.0),
    c=st.floats(0.0, 0.4),
    theta=st.lists(st.floats(-6.0, 6.0), min_size=2, max_size=8),
)
def test_probabilities_stay_above_the_asymptote_and_rise_with_ability(a, b, c, theta):
    params = ItemParams(np.array([a]), np.array([b]), np.array([c]))
    ordered = np.sort(np.asarray(theta))
    p = probability(ordered, params)[:, 0]
    assert np.all(p >= c)
    assert np.all(p <= 1.0)
    assert np.all(np.diff(p) >= -1e-15)
    assert np.all(information(ordered, params) >= 0.0)


def test_curves_add_up_over_items():
    params = two_pl_bank(1, 7)
    theta = np.array([-1.0, 0.0, 2.0])
    assert np.allclose(expected_score(theta, params), probability(theta, params).sum(axis=1))
    assert np.allclose(total_information(theta, params), information(theta, params).sum(axis=1))


def test_item_params_are_read_only_and_validated():
    params = ItemParams.from_matrix([[1.0, 0.0], [1.5, 1.0]])
    assert len(params) == 2
    assert np.all(params.c == 0.0)
    with pytest.raises(ValueError, match="read-only"):
        params.a[0] = 2.0
    with pytest.raises(ValueError, match="c must be"):
        ItemParams(np.array([1.0]), np.array([0.0]), np.array([1.0]))
    with pytest.raises(ValueError, match="b must hold"):
        ItemParams(np.array([1.0, 1.0]), np.array([0.0]))


# --------------------------------------------------------------------------------------------
# The chi-square tail used by Q1
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("x", "df", "p"),
    [(3.841458820694124, 1, 0.05), (18.307038053275146, 10, 0.05), (20.090235029663233, 8, 0.01)],
)
def test_chi_square_tail_matches_table_values(x, df, p):
    assert chi_square_sf(x, df) == pytest.approx(p, rel=1e-9)


@pytest.mark.parametrize("x", [0.1, 1.0, 2.9, 3.1, 10.0, 60.0])
def test_chi_square_tail_with_two_degrees_is_exponential(x):
    # Both branches (series below s + 1, continued fraction above) against the closed form.
    assert chi_square_sf(x, 2) == pytest.approx(math.exp(-x / 2), rel=1e-12)


# --------------------------------------------------------------------------------------------
# Calibration
# --------------------------------------------------------------------------------------------


def test_two_pl_calibration_recovers_the_generating_parameters(two_pl, two_pl_fit):
    params, _ = two_pl
    fit = two_pl_fit.params
    assert two_pl_fit.convergence.converged
    assert np.corrcoef(fit.a, params.a)[0, 1] > 0.95
    assert np.sqrt(np.mean((fit.a - params.a) ** 2)) < 0.1
    assert np.sqrt(np.mean((fit.b - params.b) ** 2)) < 0.12
    assert np.all(fit.c == 0.0)


def test_standard_errors_describe_the_actual_estimation_error(two_pl, two_pl_fit):
    params, _ = two_pl
    fit = two_pl_fit.params
    se_a = np.array([i.se_a for i in two_pl_fit.items])
    se_b = np.array([i.se_b for i in two_pl_fit.items])
    # If the SEs are honest, errors divided by them have a standard deviation near one.
    assert 0.7 < np.std((fit.a - params.a) / se_a) < 1.4
    assert 0.7 < np.std((fit.b - params.b) / se_b) < 1.4
    assert all(math.isnan(i.se_c) for i in two_pl_fit.items)


def test_the_estimates_fit_better_than_the_generating_parameters(two_pl, two_pl_fit):
    params, x = two_pl
    at_estimates = marginal_log_likelihood(x, two_pl_fit.params)
    assert at_estimates == pytest.approx(two_pl_fit.convergence.log_likelihood, rel=1e-12)
    assert at_estimates > marginal_log_likelihood(x, params)


def test_em_never_lowers_the_likelihood(two_pl_fit):
    history = np.array(two_pl_fit.convergence.history)
    assert np.all(np.diff(history) > -1e-6 * abs(history[-1]))
    assert two_pl_fit.convergence.log_likelihood == pytest.approx(history[-1])


def test_acceleration_reaches_the_same_estimates_in_fewer_e_steps(two_pl, two_pl_fit):
    plain = calibrate(two_pl[1], CalibrationSettings(accelerate=False, tolerance=1e-5))
    assert plain.convergence.converged
    assert np.allclose(plain.params.a, two_pl_fit.params.a, atol=2e-3)
    assert np.allclose(plain.params.b, two_pl_fit.params.b, atol=2e-3)
    assert two_pl_fit.convergence.iterations < plain.convergence.iterations


def test_diagnostics_can_be_skipped_for_a_quick_look(two_pl, two_pl_fit):
    quick = calibrate(two_pl[1], CalibrationSettings(diagnostics=False))
    assert np.array_equal(quick.params.a, two_pl_fit.params.a)
    assert all(math.isnan(i.se_b) and math.isnan(i.rmsd) for i in quick.items)
    stored = json.loads(json.dumps(quick.as_dict(), allow_nan=False))
    assert stored["items"][0]["rmsd"] is None
    assert stored["settings"]["diagnostics"] is False


def test_iteration_limit_is_reported_as_not_converged(two_pl):
    result = calibrate(two_pl[1], CalibrationSettings(max_iterations=3, accelerate=False))
    assert not result.convergence.converged
    assert result.convergence.iterations == 4  # three EM steps and the final E-step
    assert result.convergence.max_change > 1e-4


def test_missing_responses_are_left_out_not_counted_wrong():
    params = two_pl_bank(21, 24)
    x, _ = simulate_responses(22, 4000, params)
    rng = np.random.default_rng(23)
    # Every candidate sits one of three overlapping 16-item forms.
    forms = [np.r_[0:16], np.r_[8:24], np.r_[0:8, 16:24]]
    shown = np.zeros(x.shape, dtype=bool)
    for row, form in enumerate(rng.integers(0, 3, x.shape[0])):
        shown[row, forms[form]] = True
    sparse = np.where(shown, x, np.nan)
    result = calibrate(sparse)
    assert [i.n_responses for i in result.items] == shown.sum(axis=0).tolist()
    rmse_b = np.sqrt(np.mean((result.params.b - params.b) ** 2))
    assert rmse_b < 0.12
    assert np.corrcoef(result.params.a, params.a)[0, 1] > 0.9
    # Counting the items a candidate never saw as wrong answers wrecks the calibration.
    as_wrong = calibrate(np.where(shown, x, 0.0))
    assert np.sqrt(np.mean((as_wrong.params.b - params.b) ** 2)) > 4 * rmse_b
    # A mask says the same as NaN.
    masked = calibrate(np.where(shown, x, 7.0), mask=shown)
    assert np.array_equal(masked.params.a, result.params.a)


def test_three_pl_with_priors_recovers_the_lower_asymptote():
    rng = np.random.default_rng(31)
    params = ItemParams(
        rng.lognormal(0.1, 0.2, 25), rng.normal(0.3, 0.9, 25), rng.uniform(0.1, 0.3, 25)
    )
    x, _ = simulate_responses(32, 5000, params)
    result = calibrate(x, CalibrationSettings(model=IRTModel.THREE_PL))
    fit = result.params
    assert result.convergence.converged
    assert np.sqrt(np.mean((fit.c - params.c) ** 2)) < 0.06
    assert np.corrcoef(fit.b, params.b)[0, 1] > 0.95
    assert all(not math.isnan(i.se_c) and i.se_c > 0 for i in result.items)
    stored = result.as_dict()["settings"]
    assert stored["c_prior"] == {"kind": "beta", "alpha": 5.0, "beta": 17.0}
    assert stored["a_prior"] == {"kind": "lognormal", "mean": 0.0, "sd": 0.5}


def test_rasch_reports_unit_discrimination_and_estimates_the_ability_spread():
    rng = np.random.default_rng(41)
    b = rng.normal(0.0, 1.0, 20)
    x, _ = simulate_responses(42, 3000, ItemParams(np.ones(20), b), theta_sd=1.4)
    result = calibrate(x, CalibrationSettings(model=IRTModel.RASCH))
    assert np.all(result.params.a == 1.0)
    assert all(math.isnan(i.se_a) for i in result.items)
    assert result.latent_sd == pytest.approx(1.4, abs=0.07)
    assert 0 < result.latent_sd_se < 0.05
    assert np.sqrt(np.mean((result.params.b - b) ** 2)) < 0.1


def test_one_pl_estimates_one_common_discrimination():
    rng = np.random.default_rng(51)
    params = ItemParams(np.full(20, 1.7), rng.normal(0.0, 1.0, 20))
    x, _ = simulate_responses(52, 3000, params)
    result = calibrate(x, CalibrationSettings(model=IRTModel.ONE_PL))
    a = result.params.a
    assert np.all(a == a[0])
    assert a[0] == pytest.approx(1.7, abs=0.1)
    assert result.items[0].se_a == pytest.approx(result.items[5].se_a)


def test_a_non_logistic_item_is_flagged_and_the_others_are_not():
    params = two_pl_bank(61, 20)
    x, theta = simulate_responses(62, 4000, params)
    rng = np.random.default_rng(63)
    # Item 7 is answered correctly by the weakest and the strongest, rarely by the middle.
    u_shaped = np.where(np.abs(theta) > 0.8, 0.9, 0.15)
    x[:, 7] = (rng.random(theta.size) < u_shaped).astype(np.float64)
    result = calibrate(x)
    assert result.misfitting == (7,)
    assert result.items[7].rmsd > RMSD_MISFIT
    assert result.items[7].q1_p < 1e-6
    assert result.items[7].q1_df == 8
    assert np.median([i.q1_p for i in result.items if i.index != 7]) > 0.05


def test_result_is_strict_json_for_storage(two_pl_fit):
    stored = json.loads(json.dumps(two_pl_fit.as_dict(), allow_nan=False))
    assert stored["model"] == "2pl"
    assert stored["n_candidates"] == 3000
    assert stored["n_items"] == 30
    assert stored["convergence"]["converged"] is True
    first = stored["items"][0]
    assert set(first) >= {"a", "b", "c", "se_a", "se_b", "se_c", "rmsd", "q1", "q1_p", "misfit"}
    assert first["se_c"] is None


@pytest.mark.parametrize(
    ("responses", "message"),
    [
        (np.array([[1.0, 2.0], [0.0, 1.0]]), "scored 0 or 1"),
        (np.array([[1.0, np.nan], [0.0, np.nan]]), "presented to nobody"),
        (np.array([1.0, 0.0]), "candidates × items"),
    ],
)
def test_unusable_responses_are_refused(responses, message):
    with pytest.raises(CalibrationError, match=message):
        calibrate(responses)


def test_settings_refuse_nonsense_and_keep_priors_only_where_they_apply():
    with pytest.raises(ValueError, match="quadrature"):
        CalibrationSettings(n_quadrature=2)
    two_pl = CalibrationSettings(c_prior=BetaPrior(), a_prior=LogNormalPrior(0.0, 0.3))
    assert two_pl.c_prior is None
    assert two_pl.a_prior == LogNormalPrior(0.0, 0.3)
    assert BetaPrior.for_options(4) == BetaPrior(6.0, 16.0)


# --------------------------------------------------------------------------------------------
# Abilities
# --------------------------------------------------------------------------------------------


def test_mle_is_close_on_a_long_test_and_its_se_is_the_inverse_root_information():
    params = two_pl_bank(71, 60)
    x, theta = simulate_responses(72, 400, params)
    mle = estimate_abilities(x, params, AbilityMethod.MLE)
    inner = ~mle.at_bound
    assert np.corrcoef(mle.theta[inner], theta[inner])[0, 1] > 0.95
    expected_se = 1 / np.sqrt(total_information(mle.theta[inner], params))
    assert np.allclose(mle.se[inner], expected_se)


def test_eap_shrinks_towards_the_prior_mean_and_mle_does_not():
    params = two_pl_bank(81, 10)
    pattern = np.array([[1, 1, 1, 1, 1, 1, 1, 1, 0, 1]], dtype=np.float64)
    eap = estimate_abilities(pattern, params)
    mle = estimate_abilities(pattern, params, AbilityMethod.MLE)
    assert 0 < eap.theta[0] < mle.theta[0]
    assert eap.se[0] < mle.se[0]


def test_perfect_and_empty_patterns():
    params = two_pl_bank(91, 5)
    patterns = np.array([[1.0] * 5, [0.0] * 5, [np.nan] * 5])
    mle = estimate_abilities(patterns, params, AbilityMethod.MLE)
    assert mle.theta[0] == 6.0
    assert mle.theta[1] == -6.0
    assert mle.at_bound.tolist() == [True, True, False]
    assert math.isnan(mle.theta[2])
    eap = estimate_abilities(patterns, params, prior_mean=0.5, prior_sd=0.8)
    # With no answer the EAP is the prior.
    assert eap.theta[2] == pytest.approx(0.5, abs=1e-6)
    assert eap.se[2] == pytest.approx(0.8, abs=1e-4)
