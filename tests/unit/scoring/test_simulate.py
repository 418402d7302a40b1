"""Simulated adaptive sections: accuracy, exposure, overlap, and agreement with serving."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from scoring.cat import AdaptiveRules, StopReason, replay
from scoring.simulate import (
    BankDesign,
    SimulationConfig,
    report,
    run,
    simulate,
    standard_scenarios,
)

SMALL_BANK = BankDesign(n_items=300)


def config(
    rules: AdaptiveRules, *, seed: int = 5, n: int = 300, bank: BankDesign = SMALL_BANK
) -> SimulationConfig:
    return SimulationConfig(name="test", n_examinees=n, rules=rules, bank=bank, seed=seed)


@pytest.fixture(scope="module")
def randomesque_run():  # type: ignore[no-untyped-def]
    return run(config(AdaptiveRules(20, randomesque=5)))


def test_simulated_choices_are_the_choices_served_to_a_candidate(randomesque_run):
    result = randomesque_run
    for row in range(0, result.theta.size, 37):
        length = int(result.lengths[row])
        choices = replay(
            result.bank,
            result.config.rules,
            int(result.attempt_seeds[row]),
            result.responses[row, :length].tolist(),
        )
        assert [c.item for c in choices] == result.items[row, :length].tolist()


@pytest.mark.parametrize(
    "rules",
    [
        AdaptiveRules(12, randomesque=3, topic_quotas=(6, 4, 2)),
        AdaptiveRules(12, randomesque=4, topic_quotas=(6, 4, 2), balance_topics=False),
        AdaptiveRules(25, min_items=5, se_target=0.4, randomesque=2, topic_quotas=(9, 8, 8)),
    ],
)
def test_every_simulated_examinee_replays_under_content_rules(rules):
    result = run(config(rules, n=60, bank=BankDesign(n_items=120, n_topics=3)))
    for row in range(result.theta.size):
        length = int(result.lengths[row])
        choices = replay(
            result.bank, rules, int(result.attempt_seeds[row]), result.responses[row, :length]
        )
        assert [c.item for c in choices] == result.items[row, :length].tolist()


def test_the_catsim_setup_estimates_ability_to_about_a_third_of_a_sd():
    figures = simulate(SimulationConfig(n_examinees=400, bank=BankDesign(n_items=500)))
    assert figures.n_examinees == 400
    assert figures.bank_size == 500
    assert figures.rmse < 0.36
    assert abs(figures.bias) < 0.05
    assert figures.correlation > 0.93
    assert figures.mean_length == 30 == figures.min_length == figures.max_length
    # Honest SEs: the mean reported SE is close to the actual error.
    assert figures.mean_se == pytest.approx(figures.rmse, rel=0.2)


def test_longer_tests_measure_more_precisely():
    short = simulate(config(AdaptiveRules(8, randomesque=1)))
    long = simulate(config(AdaptiveRules(30, randomesque=1)))
    assert long.rmse < 0.8 * short.rmse
    assert long.scale_rmse == pytest.approx(100 * long.rmse)


def test_randomesque_spreads_exposure_at_a_small_cost_in_precision(randomesque_run):
    greedy = simulate(config(AdaptiveRules(20, randomesque=1)))
    spread = report(randomesque_run)
    assert greedy.max_exposure == 1.0  # everyone starts with the same item
    # k = 5 splits the first item five ways, but later steps still favour a few items: it
    # lowers the maximum exposure without capping it.
    assert spread.max_exposure < 0.9
    assert spread.never_used < greedy.never_used
    assert spread.overlap_rate < greedy.overlap_rate
    assert spread.rmse < greedy.rmse + 0.05


def test_se_target_shortens_tests_and_every_stop_meets_it():
    rules = AdaptiveRules(40, min_items=5, se_target=0.35, randomesque=3)
    result = run(config(rules))
    figures = report(result)
    stopped = np.array([r is StopReason.SE_TARGET for r in result.stop_reasons])
    assert stopped.mean() > 0.8
    assert np.all(result.se[stopped] <= 0.35)
    assert np.all(result.lengths[~stopped] == 40)
    assert figures.min_length >= 5
    assert figures.mean_length < 30
    assert dict(figures.stop_reasons)["se_target"] == int(stopped.sum())


def test_overlap_rate_is_the_mean_share_of_items_two_examinees_share():
    result = run(config(AdaptiveRules(10, randomesque=2), n=40))
    sets = [set(row[row >= 0].tolist()) for row in result.items]
    pairs = [len(a & b) / 10 for a, b in itertools.combinations(sets, 2)]
    assert report(result).overlap_rate == pytest.approx(np.mean(pairs))


def test_exposure_figures_match_the_administered_items(randomesque_run):
    result = randomesque_run
    counts = result.exposure_counts()
    assert counts.sum() == result.lengths.sum()
    figures = report(result)
    assert figures.max_exposure == pytest.approx(counts.max() / result.theta.size)
    assert figures.never_used == pytest.approx(np.mean(counts == 0))
    assert figures.over_exposed == pytest.approx(np.mean(counts / result.theta.size > 0.2))


def test_bands_break_the_error_down_by_true_ability(randomesque_run):
    figures = report(randomesque_run)
    assert sum(b.n for b in figures.bands) == figures.n_examinees
    # EAP shrinks towards the prior: estimates are too low at the top, too high at the bottom.
    assert figures.bands[0].bias > 0 > figures.bands[-1].bias
    stored = figures.as_dict()
    assert stored["bands"][0]["low"] is None
    assert stored["rules"]["randomesque"] == 5


def test_topic_quotas_are_met_by_every_simulated_examinee():
    rules = AdaptiveRules(12, randomesque=3, topic_quotas=(6, 4, 2))
    result = run(config(rules, bank=BankDesign(n_items=300, n_topics=3)))
    topics = result.bank.topics[result.items]
    for topic, quota in enumerate((6, 4, 2)):
        assert np.all((topics == topic).sum(axis=1) == quota)


def test_a_run_is_reproducible_from_its_seed():
    rules = AdaptiveRules(10, randomesque=4)
    assert simulate(config(rules)) == simulate(config(rules))
    assert simulate(config(rules, seed=6)).rmse != simulate(config(rules)).rmse


def test_a_given_bank_and_abilities_are_used_as_given():
    params, _ = SMALL_BANK.draw(np.random.default_rng(0))
    truth = np.linspace(-2, 2, 50)
    result = run(config(AdaptiveRules(15)), params=params, true_theta=truth)
    assert np.array_equal(result.true_theta, truth)
    assert np.array_equal(result.bank.params.a, params.a)


def test_standard_scenarios_cover_lengths_and_stopping_rules():
    scenarios = standard_scenarios(seed=1, n_examinees=100)
    assert len({s.name for s in scenarios}) == len(scenarios)
    assert scenarios[0].rules == AdaptiveRules(30, randomesque=1)
    assert any(s.rules.se_target is not None for s in scenarios)
    assert all(s.seed == 1 and s.n_examinees == 100 for s in scenarios)
