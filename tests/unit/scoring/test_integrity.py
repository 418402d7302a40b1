"""Integrity indices: response codes, response times, answer changes, person fit, evidence."""

from __future__ import annotations

import math

import numpy as np
import pytest

from scoring.integrity.common import (
    BLANK,
    NOT_PRESENTED,
    IntegrityInputError,
    chi_square_sf_approx,
    normal_isf,
    normal_sf,
    score_groups,
    score_responses,
)
from scoring.integrity.erasure import erasure_index
from scoring.integrity.evidence import (
    IntegrityFlagCode,
    analyse_integrity,
    rank_evidence,
)
from scoring.integrity.person_fit import person_fit
from scoring.integrity.timing import fit_time_norms, timing_indices
from scoring.integrity_sim import simulate_sitting
from scoring.irt import ItemParams, chi_square_sf, probability

# ---------------------------------------------------------------------------------------------
# Codes, scoring and tails
# ---------------------------------------------------------------------------------------------


def test_normal_tails_match_tables():
    assert normal_sf([0.0, 1.959964, 3.090232]).tolist() == pytest.approx(
        [0.5, 0.025, 0.001], rel=1e-5
    )
    assert normal_isf(0.001) == pytest.approx(3.090232, abs=1e-6)
    assert math.isnan(normal_sf([math.nan])[0])


def test_wilson_hilferty_tail_is_close_to_the_exact_chi_square():
    for x, df in [(150.0, 109), (130.0, 109), (25.0, 10), (60.0, 40)]:
        exact = chi_square_sf(x, df)
        assert chi_square_sf_approx(x, df)[()] == pytest.approx(exact, rel=0.03)


def test_scoring_uses_the_key_or_the_best_weighted_option():
    responses = [[0, 1, BLANK], [2, NOT_PRESENTED, 1]]
    by_key = score_responses(responses, keys=[0, 1, 1])
    assert by_key.correct.tolist() == [[1, 1, 0], [0, 0, 1]]
    assert by_key.presented.tolist() == [[True, True, True], [True, False, True]]
    points = [[1, 2, 5], [5, 0, np.nan], [3, 4, 1]]
    by_points = score_responses(responses, option_points=points)
    assert by_points.correct.tolist() == [[0, 0, 0], [1, 0, 1]]
    assert by_points.number_correct.tolist() == [0, 2]


def test_a_bad_code_is_named_with_its_cell():
    with pytest.raises(IntegrityInputError, match=r"responses\[1, 2\] = -3"):
        score_responses([[0, 0, 0], [0, 0, -3]], keys=[0, 0, 0])
    with pytest.raises(IntegrityInputError, match="exactly one"):
        score_responses([[0]], keys=[0], option_points=[[1.0]])


def test_score_groups_keep_ties_together_and_split_by_mid_rank():
    scores = np.array([5, 1, 1, 9, 3, 7, 7, 7, 2, 0])
    # Mid-ranks 5, 1.5, 1.5, 9, 4, 7, 7, 7, 3, 0 in thirds of [0, 10): the three 7s stay
    # together in the top group, which leaves the middle group two attempts.
    assert score_groups(scores, 3).tolist() == [1, 0, 0, 2, 1, 2, 2, 2, 0, 0]
    assert score_groups(np.arange(9), 3).tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2]


# ---------------------------------------------------------------------------------------------
# Response times
# ---------------------------------------------------------------------------------------------


def lognormal_times(n: int, n_items: int, seed: int):
    rng = np.random.default_rng(seed)
    beta = rng.normal(math.log(60), 0.4, n_items)
    alpha = rng.uniform(1.5, 2.5, n_items)
    tau = rng.normal(0, 0.3, n)
    tau -= tau.mean()
    times = np.exp(beta - tau[:, None] + rng.standard_normal((n, n_items)) / alpha)
    return times, beta, alpha, tau


def test_norms_recover_the_lognormal_model():
    times, beta, alpha, tau = lognormal_times(2000, 40, seed=1)
    norms, speed = fit_time_norms(times)
    assert np.abs(norms.beta - beta).max() < 0.05
    assert np.abs(norms.alpha / alpha - 1).max() < 0.1
    assert np.corrcoef(speed, tau)[0, 1] > 0.95


def test_rapid_answers_use_the_normative_threshold_and_count_correct_ones():
    times, *_ = lognormal_times(300, 50, seed=2)
    times[7] = 60.0
    times[7, :20] = 2.0
    correct = np.zeros(times.shape)
    correct[7, :15] = 1
    result = timing_indices(times, correct)
    mean_time = times.mean(axis=0)
    assert result.rapid_threshold.tolist() == pytest.approx(
        np.minimum(10.0, 0.1 * mean_time).tolist()
    )
    assert result.rapid_count[7] == 20
    assert result.rapid_correct[7] == 15
    assert result.rapid_share[7] == pytest.approx(0.4)
    assert result.rapid_flag[7]
    assert result.rapid_flag.sum() == 1


def test_an_explicit_reading_floor_replaces_the_norm():
    times = np.full((4, 3), 30.0)
    times[0, 0] = 12.0
    result = timing_indices(times, reading_floor=[15.0, 5.0, 5.0])
    assert result.rapid_count.tolist() == [1, 0, 0, 0]
    with pytest.raises(IntegrityInputError, match="reading_floor"):
        timing_indices(times, reading_floor=[-1.0, 5.0, 5.0])


def test_preknowledge_shows_in_the_speed_index_but_an_evenly_fast_candidate_does_not():
    times, beta, _, _ = lognormal_times(500, 110, seed=3)
    times[0, :22] = 8.0  # the 2021 case: 8 s per answer on a fifth of the items
    times[1] = np.exp(beta) / 2.5  # fast throughout: the speed parameter absorbs it
    times[2, :3] *= 20  # lingered on three items: slow, not fast
    result = timing_indices(times)
    assert result.speed_flag[0]
    assert result.fast_count[0] >= 18
    assert result.lt_p[0] < 1e-10
    assert not result.speed_flag[1]
    assert result.tau[1] == pytest.approx(math.log(2.5), abs=0.1)
    assert not result.speed_flag[2]
    assert result.lt_p[2] < 0.001  # aberrant, but not fast
    assert result.fast_p[2] > 0.01
    assert result.fast_p[0] < 1e-10
    assert result.speed_flag[3:].mean() <= 0.01
    assert result.residuals.shape == times.shape


def test_an_item_timed_once_has_no_norms_and_drops_out_of_the_speed_index():
    times, *_ = lognormal_times(300, 20, seed=11)
    times[1:, 5] = np.nan  # a bank item only attempt 0's form carried
    result = timing_indices(times)
    assert np.isnan(result.norms.beta[5])
    assert np.isnan(result.norms.alpha[5])
    assert np.isfinite(np.delete(result.norms.beta, 5)).all()
    assert result.n_timed[0] == 20
    assert result.n_normed[0] == 19
    assert np.isnan(result.residuals[0, 5])
    assert np.isfinite(result.lt[0])
    with pytest.raises(IntegrityInputError, match="no item has 2 timed answers"):
        fit_time_norms(np.where(np.eye(3) > 0, 30.0, np.nan))


def test_untimed_items_are_left_out_and_bad_times_named():
    times, *_ = lognormal_times(100, 10, seed=4)
    times[0, :5] = np.nan
    result = timing_indices(times)
    assert result.n_timed[0] == 5
    assert np.isnan(result.residuals[0, :5]).all()
    times[3, 4] = -1.0
    with pytest.raises(IntegrityInputError, match=r"times\[3, 4\]"):
        timing_indices(times)


# ---------------------------------------------------------------------------------------------
# Answer changes
# ---------------------------------------------------------------------------------------------


def test_changes_are_classified_from_the_saved_history():
    # Attempt 0, key of item 0 is 2: 1 -> 2 (WTR), 2 -> 3 (RTW), 3 -> -1 (cleared: WTW-class
    # change from a wrong answer), -1 -> 2 (a new answer after clearing: not a change).
    # Events arrive out of order; time sorts them.
    attempt = [0, 0, 0, 0, 0, 1]
    item = [0, 0, 0, 0, 0, 0]
    option = [3, 1, -1, 2, 2, 4]
    time = [3.0, 1.0, 4.0, 2.0, 5.0, 1.0]
    result = erasure_index(attempt, item, option, time, best_option=[2], total_score=[1, 0])
    assert result.changes.tolist() == [3, 0]
    assert result.wrong_to_right.tolist() == [1, 0]
    assert result.right_to_wrong.tolist() == [1, 0]
    assert result.wrong_to_wrong.tolist() == [1, 0]


def test_many_wrong_to_right_changes_are_flagged_against_the_score_group():
    rng = np.random.default_rng(5)
    n, n_items = 400, 40
    best = rng.integers(0, 5, n_items)
    events = []
    for a in range(n):
        for j in rng.choice(n_items, 3, replace=False):
            first = int(rng.integers(0, 5))
            second = int((first + 1 + rng.integers(0, 4)) % 5)
            events += [(a, j, first, 1.0), (a, j, second, 2.0)]
    # Attempt 0 changed 10 wrong answers to the key.
    for j in range(10):
        events += [(0, 30 + j, (best[30 + j] + 1) % 5, 1.0), (0, 30 + j, best[30 + j], 2.0)]
    ev = np.array(events)
    scores = rng.integers(10, 30, n)
    result = erasure_index(
        ev[:, 0], ev[:, 1], ev[:, 2], ev[:, 3], best_option=best, total_score=scores
    )
    assert result.wrong_to_right[0] >= 10
    assert result.flag[0]
    assert result.z[0] > 4
    assert result.flag[1:].sum() == 0
    assert 0.1 < np.nanmean(result.expected_rate) < 0.35


def test_wrong_to_right_where_the_group_never_corrects_is_beyond_the_model():
    # Three attempts of one score group; only attempt 0 ever changed to the key (three times).
    attempt = [0, 0, 0, 0, 0, 0, 1, 1, 2, 2]
    item = [0, 0, 1, 1, 2, 2, 0, 0, 1, 1]
    option = [1, 0, 1, 0, 1, 0, 1, 2, 2, 3]
    time = [1, 2, 1, 2, 1, 2, 1, 2, 1, 2]
    result = erasure_index(
        attempt, item, option, time, best_option=[0, 0, 0], total_score=[5, 5, 5], n_groups=1
    )
    assert result.expected_rate[0] == 0.0
    assert result.z[0] == math.inf
    assert result.p_value[0] == 0.0
    assert result.flag.tolist() == [True, False, False]


def test_events_naming_unknown_rows_are_refused():
    with pytest.raises(IntegrityInputError, match="event 1 names attempt row 5"):
        erasure_index([0, 5], [0, 0], [1, 2], [1, 2], best_option=[0], total_score=[1, 2])
    with pytest.raises(IntegrityInputError, match="event 0 names item 3"):
        erasure_index([0], [3], [1], [1], best_option=[0], total_score=[1])


# ---------------------------------------------------------------------------------------------
# Person fit
# ---------------------------------------------------------------------------------------------


def test_lz_of_a_small_pattern_matches_the_formula():
    params = ItemParams([1.0, 1.0, 1.0], [-1.0, 0.0, 1.0])
    scored = score_responses([[1, 0, 0]], keys=[0, 0, 0])  # easy wrong, medium and hard right
    fit = person_fit(scored, params, theta=[0.5], corrected=False)
    p = probability([0.5], params)[0]
    x = np.array([0.0, 1.0, 1.0])
    l0 = np.sum(x * np.log(p) + (1 - x) * np.log(1 - p))
    e = np.sum(p * np.log(p) + (1 - p) * np.log(1 - p))
    v = np.sum(p * (1 - p) * np.log(p / (1 - p)) ** 2)
    assert fit.lz[0] == pytest.approx((l0 - e) / math.sqrt(v))
    assert fit.p_value[0] == pytest.approx(normal_sf(-fit.lz)[0])


def test_lz_star_is_standard_normal_under_the_model_and_catches_reversed_patterns():
    rng = np.random.default_rng(6)
    n, n_items = 3000, 80
    params = ItemParams(rng.lognormal(0, 0.3, n_items), rng.normal(0, 1, n_items))
    theta = rng.standard_normal(n)
    right = rng.random((n, n_items)) < probability(theta, params)
    order = np.argsort(params.b)
    # Attempt 0 gets the 25 hardest right and the 25 easiest wrong.
    right[0, order[:25]] = False
    right[0, order[-25:]] = True
    scored = score_responses(np.where(right, 0, 1), keys=np.zeros(n_items, dtype=int))
    fit = person_fit(scored, params)
    honest = fit.lz[1:]
    assert abs(np.nanmean(honest)) < 0.08
    assert abs(np.nanstd(honest) - 1) < 0.08
    assert fit.flag[0]
    assert fit.lz[0] < -5
    assert fit.flag[1:].mean() < 0.015
    plain = person_fit(scored, params, corrected=False)
    assert np.nanstd(plain.lz[1:]) < np.nanstd(honest)  # uncorrected l_z is conservative


def test_person_fit_without_parameters_uses_prox_and_skips_perfect_patterns():
    sitting = simulate_sitting(400, 60, np.random.default_rng(7))
    responses = sitting.responses.copy()
    responses[0] = sitting.keys  # all correct: no finite ability
    scored = score_responses(responses, keys=sitting.keys)
    fit = person_fit(scored, guessing=0.2)
    assert np.isnan(fit.lz[0])
    assert not fit.flag[0]
    assert fit.params.c.tolist() == [0.2] * 60
    p_values = scored.correct[1:].mean(axis=0)
    assert np.corrcoef(fit.params.b, -p_values)[0, 1] > 0.95
    assert fit.flag.mean() < 0.02


# ---------------------------------------------------------------------------------------------
# Evidence
# ---------------------------------------------------------------------------------------------


def test_the_ranking_puts_more_kinds_of_evidence_first_and_explains_each():
    times, *_ = lognormal_times(300, 60, seed=8)
    times[10, :15] = 2.0
    times[20, :30] = 1.0
    timing = timing_indices(times)
    moves = np.zeros(300, dtype=int)
    moves[20] = 2
    moves[30] = 1
    ranking = rank_evidence(300, timing=timing, device_moves=moves)
    rows = [entry.attempt for entry in ranking]
    assert rows[0] == 20  # rapid, speed and device moves
    assert set(rows) == {10, 20, 30}
    assert rows.index(10) < rows.index(30)  # two timing flags outrank one device move
    top = ranking[0]
    assert IntegrityFlagCode.DEVICE_MOVES in top.codes
    rapid = next(f for f in top.flags if f.code is IntegrityFlagCode.RAPID_RESPONSES)
    assert rapid.reason("en").startswith("30 of 60 answers were given faster")
    assert rapid.reason("id").startswith("30 dari 60 jawaban diberikan lebih cepat")
    assert rapid.reason_key == "integrity.flag.rapid_responses"
    moved = next(f for f in top.flags if f.code is IntegrityFlagCode.DEVICE_MOVES)
    assert moved.reason("en") == "The attempt moved to another device 2 times."
    assert moved.strength is None
    with pytest.raises(IntegrityInputError, match="no reason text in 'fr'"):
        moved.reason("fr")


def test_audit_counts_flag_from_their_thresholds_and_must_fit():
    ranking = rank_evidence(4, pauses=[0, 1, 2, 5], network_refusals=[0, 0, 0, 1])
    assert [(e.attempt, e.codes) for e in ranking] == [
        (3, (IntegrityFlagCode.PAUSES, IntegrityFlagCode.NETWORK_REFUSALS)),
        (2, (IntegrityFlagCode.PAUSES,)),
    ]
    with pytest.raises(IntegrityInputError, match="pauses has 2 counts for 4 attempts"):
        rank_evidence(4, pauses=[1, 2])


def test_analyse_integrity_runs_every_index_whose_inputs_are_given():
    rng = np.random.default_rng(9)
    sitting = simulate_sitting(300, 50, rng)
    responses = sitting.responses.copy()
    neighbour = int(np.flatnonzero(sitting.seat == sitting.seat[0] + 1)[0])
    if sitting.seat[0] % 10 == 0:  # seat 0 ends its row: copy from the seat behind instead
        neighbour = int(np.flatnonzero(sitting.seat == sitting.seat[0] + 10)[0])
    responses[0] = responses[neighbour]
    analysis = analyse_integrity(
        responses,
        keys=sitting.keys,
        times=sitting.times,
        sitting=np.zeros(300, dtype=int),
        seat=sitting.seat,
        row_length=10,
        guessing=0.2,
    )
    assert analysis.timing is not None
    assert analysis.similarity is not None
    assert analysis.erasures is None
    with_history = analyse_integrity(
        responses[:20],
        keys=sitting.keys,
        events=([0, 0], [3, 3], [(sitting.keys[3] + 1) % 5, sitting.keys[3]], [1.0, 2.0]),
    )
    assert with_history.erasures is not None
    assert with_history.erasures.wrong_to_right[0] == 1
    assert with_history.timing is None
    flagged = {entry.attempt: entry for entry in analysis.ranking}
    assert 0 in flagged
    assert neighbour in flagged
    similar = next(f for f in flagged[0].flags if f.code is IntegrityFlagCode.SIMILAR_NEIGHBOUR)
    assert similar.figures["neighbour"] == neighbour
    assert similar.figures["matches"] == np.sum(responses[0] >= 0)
    assert "identical to the neighbouring attempt" in similar.reason("en")
