"""Seat similarity: neighbours from seats, exact and saddlepoint tails, and planted copying."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from scoring.integrity.common import BLANK, IntegrityInputError
from scoring.integrity.similarity import (
    answer_similarity,
    fit_option_model,
    generalized_binomial_tail,
    neighbour_pairs,
    weighted_bernoulli_tail,
)
from scoring.integrity_sim import simulate_sitting


def test_row_layout_pairs_left_right_and_front_back_within_a_sitting():
    # Sitting 1: seats 1-6 in rows of 3 (1 2 3 / 4 5 6), seat 5 empty. Sitting 2: seats 1, 2.
    sitting = [1, 1, 1, 1, 1, 2, 2]
    seat = [1, 2, 3, 4, 6, 1, 2]
    pairs = neighbour_pairs(sitting, seat, row_length=3)
    by_seat = {(*tuple(sorted((seat[a], seat[b]))), sitting[a]) for a, b in pairs.tolist()}
    assert by_seat == {(1, 2, 1), (2, 3, 1), (1, 4, 1), (3, 6, 1), (1, 2, 2)}
    assert (pairs[:, 0] < pairs[:, 1]).all()


def test_diagonals_and_a_seat_map_override_the_layout_for_their_sitting():
    sitting = [1, 1, 1, 1, 2, 2, 2]
    seat = [1, 2, 3, 4, 1, 2, 9]
    diagonal = neighbour_pairs(sitting, seat, row_length=2, diagonal=True)
    assert [0, 3] in diagonal.tolist()
    assert [1, 2] in diagonal.tolist()
    mapped = neighbour_pairs(sitting, seat, row_length=2, seat_map={2: [[1, 9], [2, 7]]})
    assert [4, 6] in mapped.tolist()
    assert [4, 5] not in mapped.tolist()  # the map, not the rows, rules sitting 2
    assert len([p for p in mapped.tolist() if p[0] >= 4]) == 1  # seat 7 is empty


def test_two_attempts_in_one_seat_are_refused():
    with pytest.raises(IntegrityInputError, match="two attempts in seat 3 of sitting 8"):
        neighbour_pairs([8, 8], [3, 3], row_length=5)
    with pytest.raises(IntegrityInputError, match="row_length, a seat_map"):
        neighbour_pairs([1], [1])


def brute_force_tail(weights, pi, observed):
    total = 0.0
    for bits in itertools.product([0, 1], repeat=len(pi)):
        value = sum(w * b for w, b in zip(weights, bits, strict=True))
        if value >= observed - 1e-12:
            total += math.prod(p if b else 1 - p for p, b in zip(pi, bits, strict=True))
    return total


def test_generalized_binomial_tail_is_exact():
    rng = np.random.default_rng(1)
    pi = rng.uniform(0.05, 0.9, (3, 10))
    observed = np.array([2, 6, 10])
    tails = generalized_binomial_tail(pi, observed)
    for row in range(3):
        expected = brute_force_tail(np.ones(10), pi[row], observed[row])
        assert tails[row] == pytest.approx(expected, rel=1e-10)
    assert generalized_binomial_tail(pi[:1], [0])[0] == 1.0


def test_saddlepoint_tail_is_close_to_exact_in_the_far_tail():
    rng = np.random.default_rng(2)
    pi = rng.uniform(0.05, 0.8, 14)
    weights = np.log1p(0.3 / (0.7 * pi))
    for quantile in (0.9, 0.99):
        # an observed sum whose exact tail is small
        sums = np.sort([weights @ (rng.random(14) < pi) for _ in range(4000)])
        observed = sums[int(quantile * sums.size)] + 1.0
        exact = brute_force_tail(weights, pi, observed)
        approx = weighted_bernoulli_tail(weights[None], pi[None], [observed - 1e-9])[0]
        assert approx == pytest.approx(exact, rel=0.25)
    everything = weighted_bernoulli_tail(weights[None], pi[None], [weights.sum() - 1e-9])[0]
    assert everything == pytest.approx(np.prod(pi))


def test_option_model_shares_follow_the_score_groups():
    responses = np.array([[0, 1], [0, 1], [1, 1], [2, BLANK]] * 5)
    correct = (responses == [0, 1]).astype(float)
    model = fit_option_model(responses, correct, n_options=3, n_groups=2, smoothing=0.0)
    high = model.groups[0]
    assert model.groups[2] == model.groups[3] != high
    assert model.probs[high, 0].tolist() == [1.0, 0.0, 0.0]
    low = model.groups[2]
    assert model.probs[low, 1].tolist() == [0.0, 0.5, 0.0]  # half left item 1 blank


def test_a_planted_copier_is_flagged_with_its_neighbour_and_the_figures():
    rng = np.random.default_rng(3)
    sitting = simulate_sitting(500, 110, rng)
    responses = sitting.responses.copy()
    copier = int(np.flatnonzero(sitting.seat == 15)[0])
    source = int(np.flatnonzero(sitting.seat == 16)[0])
    copied = rng.choice(110, 40, replace=False)
    responses[copier, copied] = responses[source, copied]
    pairs = neighbour_pairs(np.zeros(500, dtype=int), sitting.seat, row_length=10)
    result = answer_similarity(responses, pairs, keys=sitting.keys)
    assert result.attempt_flag[copier]
    assert result.attempt_flag[source]
    assert result.neighbour[copier] == source
    assert result.neighbour[source] == copier
    pair = result.pair[copier]
    same = (responses[copier] == responses[source]) & (responses[copier] >= 0)
    assert result.matches[pair] == same.sum()
    assert result.identical_wrong[pair] == (same & (responses[copier] != sitting.keys)).sum()
    assert result.compared[pair] == 110
    assert np.nanmax(result.omega[pair]) > 3
    assert np.nanmin(result.gbt_p[pair]) < 1e-3
    honest = np.ones(500, dtype=bool)
    honest[[copier, source]] = False
    # One sitting of 500 is a small sample of the false-alarm rate (the simulations measure it).
    assert result.attempt_flag[honest].mean() <= 0.02
    assert np.isnan(result.gbt_p[~result.flag]).all()  # the exact test runs on flagged pairs


def test_pairs_outside_the_responses_are_refused():
    with pytest.raises(IntegrityInputError, match=r"outside 0\.\.1"):
        answer_similarity([[0, 1], [1, 0]], [[0, 2]], keys=[0, 1])
