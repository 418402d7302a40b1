"""Adaptive sections: choice by information, randomesque replay, stopping, quotas, scores."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring.cat import (
    AdaptiveBank,
    AdaptiveError,
    AdaptiveRules,
    AdaptiveState,
    ScoreScale,
    StopReason,
    ThetaGrid,
    draw_positions,
    finish,
    next_item,
    record,
    replay,
    restore,
    start,
    stop_reason,
)
from scoring.irt import ItemParams, estimate_abilities, information, probability


def bank_params(seed: int, n: int = 300) -> ItemParams:
    rng = np.random.default_rng(seed)
    return ItemParams(
        rng.normal(1.2, 0.25, n).clip(0.3), rng.normal(0.0, 1.0, n), rng.uniform(0.1, 0.3, n)
    )


@pytest.fixture(scope="module")
def bank() -> AdaptiveBank:
    return AdaptiveBank.build(bank_params(1))


def sit(
    bank: AdaptiveBank, rules: AdaptiveRules, seed: int, theta: float, answers_seed: int = 0
) -> AdaptiveState:
    """One simulated candidate of true ability ``theta`` through the section."""
    rng = np.random.default_rng(answers_seed)
    state = start(bank)
    while (choice := next_item(state, bank, rules, seed)) is not None:
        p = probability([theta], bank.params.take([choice.item]))[0, 0]
        state = record(state, bank, choice.item, bool(rng.random() < p))
    return state


def test_the_first_item_is_the_most_informative_at_the_prior_mean(bank):
    choice = next_item(start(bank), bank, AdaptiveRules(10, randomesque=1), attempt_seed=5)
    assert choice is not None
    info_at_zero = information([0.0], bank.params)[0]
    assert choice.item == int(np.argmax(info_at_zero))
    assert choice.information == pytest.approx(info_at_zero.max())
    assert choice.step == 0
    assert choice.shortlist == (choice.item,)


def test_randomesque_draws_from_the_k_most_informative(bank):
    rules = AdaptiveRules(10, randomesque=5)
    best_five = set(np.argsort(-information([0.0], bank.params)[0])[:5].tolist())
    firsts = set()
    for seed in range(200):
        choice = next_item(start(bank), bank, rules, seed)
        assert choice is not None
        assert set(choice.shortlist) == best_five
        info = [information([0.0], bank.params.take([i]))[0, 0] for i in choice.shortlist]
        assert info == sorted(info, reverse=True)
        firsts.add(choice.item)
    assert firsts == best_five  # every one of the five gets shown to someone


def test_the_estimate_follows_the_answers(bank):
    rules = AdaptiveRules(25, randomesque=1)
    strong = sit(bank, rules, seed=1, theta=2.0)
    weak = sit(bank, rules, seed=1, theta=-2.0)
    assert strong.theta > 1.0
    assert weak.theta < -1.0
    # Items get harder for the strong candidate as the test goes on.
    assert np.mean(bank.params.b[list(strong.items[-10:])]) > 1.0


def test_the_posterior_mean_is_the_eap_of_scoring_irt(bank):
    state = sit(bank, AdaptiveRules(15, randomesque=3), seed=9, theta=0.7)
    responses = np.full((1, len(bank)), np.nan)
    responses[0, list(state.items)] = state.responses
    eap = estimate_abilities(responses, bank.params, n_quadrature=101, theta_bound=5.0)
    assert state.theta == pytest.approx(eap.theta[0], abs=1e-9)
    assert state.se == pytest.approx(eap.se[0], abs=1e-9)


def test_replay_from_seed_and_responses_reproduces_every_choice(bank):
    rules = AdaptiveRules(20, randomesque=5)
    state = sit(bank, rules, seed=123_456_789, theta=0.3, answers_seed=4)
    choices = replay(bank, rules, 123_456_789, state.responses)
    assert tuple(c.item for c in choices) == state.items
    assert restore(bank, state.items, state.responses).theta == state.theta
    other = replay(bank, rules, 987_654_321, state.responses)
    assert tuple(c.item for c in other) != state.items  # the seed matters


def test_replay_refuses_more_answers_than_the_section_asks(bank):
    with pytest.raises(AdaptiveError, match="over after 3"):
        replay(bank, AdaptiveRules(3), 1, [1, 0, 1, 1])


def test_there_is_no_going_back(bank):
    state = record(start(bank), bank, 17, True)
    with pytest.raises(AdaptiveError, match="already given"):
        record(state, bank, 17, False)
    with pytest.raises(AdaptiveError, match="not in the bank"):
        record(state, bank, len(bank), False)
    for _ in range(8):
        choice = next_item(state, bank, AdaptiveRules(10), 77)
        assert choice is not None
        assert choice.item not in state.items
        state = record(state, bank, choice.item, False)


def test_fixed_length_stops_at_the_maximum(bank):
    state = sit(bank, AdaptiveRules(12), seed=3, theta=0.0)
    assert state.n_items == 12
    assert stop_reason(state, bank, AdaptiveRules(12)) is StopReason.MAX_ITEMS


def test_se_target_stops_early_but_not_before_the_minimum(bank):
    rules = AdaptiveRules(60, min_items=8, se_target=0.35)
    state = sit(bank, rules, seed=3, theta=0.0)
    assert 8 <= state.n_items < 60
    assert state.se <= 0.35
    assert restore(bank, state.items[:-1], state.responses[:-1]).se > 0.35
    loose = AdaptiveRules(60, min_items=8, se_target=0.95)
    assert sit(bank, loose, seed=3, theta=0.0).n_items == 8


def test_a_small_bank_runs_out(bank):
    tiny = AdaptiveBank.build(bank.params.take(range(6)))
    state = sit(tiny, AdaptiveRules(10), seed=1, theta=0.0)
    assert state.n_items == 6
    assert finish(state, tiny, AdaptiveRules(10)).stop_reason is StopReason.EXHAUSTED


def test_topic_quotas_hold_at_every_length_and_exactly_at_the_end():
    params = bank_params(2, 400)
    topics = np.arange(400) % 4
    bank = AdaptiveBank.build(params, topics)
    quotas = (8, 6, 4, 2)
    rules = AdaptiveRules(20, randomesque=3, topic_quotas=quotas)
    state = sit(bank, rules, seed=11, theta=1.0)
    counts = np.zeros(4)
    share = np.asarray(quotas) / 20
    for n, item in enumerate(state.items, start=1):
        counts[topics[item]] += 1
        assert np.all(np.abs(counts - share * n) < 1.0 + 1e-9)
    assert tuple(counts.astype(int)) == quotas
    assert state.topic_counts == quotas


def test_quotas_without_balancing_only_cap_each_topic():
    params = bank_params(3, 200)
    topics = (np.arange(200) % 2).astype(np.int32)
    bank = AdaptiveBank.build(params, topics)
    rules = AdaptiveRules(10, randomesque=1, topic_quotas=(7, 3), balance_topics=False)
    state = sit(bank, rules, seed=2, theta=0.0)
    assert state.topic_counts == (7, 3)
    with pytest.raises(AdaptiveError, match="2 topics"):
        next_item(start(bank), bank, AdaptiveRules(10, topic_quotas=(10,)), 1)


def test_ties_go_to_the_lower_bank_row():
    same = ItemParams(np.full(6, 1.0), np.zeros(6))
    bank = AdaptiveBank.build(same)
    choice = next_item(start(bank), bank, AdaptiveRules(3, randomesque=3), 0)
    assert choice is not None
    assert choice.shortlist == (0, 1, 2)


def test_the_randomesque_draw_is_splitmix64():
    # SplitMix64 seeded with 0 first returns 0xE220A8397B1DCDAF (Vigna's splitmix64.c); with a
    # shortlist of 2**32 the position is the top half of that word.
    zero = np.zeros(1, dtype=np.uint64)
    assert draw_positions(zero, zero, np.array([2**32]))[0] == 0xE220A839


def test_the_randomesque_draw_is_uniform():
    keys = np.arange(50_000, dtype=np.uint64)
    counts = np.bincount(
        draw_positions(keys, np.full(keys.size, 7, np.uint64), np.full(keys.size, 5)), minlength=5
    )
    chi2 = np.sum((counts - 10_000) ** 2 / 10_000)
    assert chi2 < 18.5  # 0.1 % critical value, 4 df


@given(theta=st.floats(-4.0, 4.0), mean=st.floats(0, 1000), sd=st.floats(1, 200))
@settings(max_examples=50, deadline=None)
def test_scale_score_is_the_documented_linear_transform(theta, mean, sd):
    scale = ScoreScale(mean=mean, sd=sd, decimals=1)
    assert abs(scale.score(theta) - (mean + sd * theta)) <= 0.05 + 1e-9
    assert scale.standard_error(0.3) == pytest.approx(0.3 * sd)


def test_scale_score_rounds_half_up_and_clips():
    scale = ScoreScale(500, 100, decimals=0, minimum=200, maximum=800)
    assert scale.score(0.125) == 513.0
    assert scale.score(0.135) == 514.0  # 513.5 rounds up, not to even
    assert scale.score(-4.0) == 200
    assert scale.score(4.0) == 800


def test_finish_reports_theta_and_scale_score(bank):
    rules = AdaptiveRules(30, min_items=5, se_target=0.4)
    state = sit(bank, rules, seed=21, theta=-0.5)
    score = finish(state, bank, rules)
    assert score.theta == state.theta
    assert score.se == state.se
    assert score.scale_score == round(500 + 100 * state.theta)
    assert score.scale_se == pytest.approx(100 * state.se)
    assert score.stop_reason is StopReason.SE_TARGET
    early = restore(bank, state.items[:2], state.responses[:2])
    assert finish(early, bank, rules).stop_reason is StopReason.INCOMPLETE
    assert score.as_dict()["stop_reason"] == "se_target"


def test_bank_tables_are_read_only_and_named_by_digest(bank):
    with pytest.raises(ValueError, match="read-only"):
        bank.info[0, 0] = 1.0
    assert bank.digest == AdaptiveBank.build(bank_params(1)).digest
    other = AdaptiveBank.build(bank_params(1), grid=ThetaGrid(prior_mean=0.5))
    assert other.digest != bank.digest


def test_rules_and_seeds_are_validated(bank):
    with pytest.raises(ValueError, match="add up"):
        AdaptiveRules(10, topic_quotas=(5, 4))
    with pytest.raises(ValueError, match="min_items"):
        AdaptiveRules(10, min_items=11)
    with pytest.raises(ValueError, match="attempt_seed"):
        next_item(start(bank), bank, AdaptiveRules(5), -1)
    assert math.isfinite(start(bank).se)


def test_restore_reaches_the_state_of_recording_answer_by_answer(bank):
    state = sit(bank, AdaptiveRules(30, randomesque=4), seed=31, theta=1.2, answers_seed=8)
    restored = restore(bank, state.items, state.responses)
    assert restored.theta == state.theta
    assert restored.se == state.se
    assert np.array_equal(restored.log_posterior, state.log_posterior)
    assert restored.topic_counts == state.topic_counts
    with pytest.raises(AdaptiveError, match="twice"):
        restore(bank, [3, 3], [1, 0])
