"""Simulated adaptive sections: how length and stopping rules trade precision and exposure.

A committee choosing the length and the stopping rule of an adaptive section runs simulated
candidates through it: known abilities, answers drawn from the item response model, the same
selection, update and stopping as a real attempt (:mod:`scoring.cat`), and a comparison of the
final estimates with the truth. :func:`simulate` runs one configuration; the default is the
set-up of catsim's documentation (Barrada et al. 2010 bank: 1,000 3PL items with ``a ~ N(1.2,
0.25²)``, ``b ~ N(0, 1)``, ``c ~ N(0.25, 0.02²)``; 1,000 examinees; 30 items by maximum
information). :func:`standard_scenarios` adds the alternatives a committee usually weighs.

All simulated candidates advance together, one step at a time, through the vectorized core
:func:`scoring.cat.choose_batch`, so each simulated choice is exactly the choice
:func:`scoring.cat.next_item` makes for that candidate's seed and answers (a test replays them).

How to read a report
--------------------
* ``rmse`` and ``bias``: ``√(mean (θ̂ - θ)²)`` and ``mean (θ̂ - θ)`` over examinees, on the
  ability scale (multiply by the scale's sd for scale points). EAP estimates shrink towards the
  prior mean, so the bias is negative at high abilities and positive at low ones; ``bands``
  shows it by true ability.
* ``mean_se``: the mean reported standard error; close to ``rmse`` when the SEs are honest.
* ``mean_length`` and the lengths' range: what an SE target costs or saves.
* Exposure: an item's exposure rate is the share of examinees who saw it. ``max_exposure`` is
  the highest (the items a leaked-item ring would target), ``never_used`` the share of the bank
  nobody saw (money spent on items that do nothing), and ``overlap_rate`` the expected share of
  a test that two random examinees share, ``Σ_j e_j(e_j - 1) / (N(N - 1)) / L̄`` (``e_j``
  examinees saw item ``j``; for fixed length ``L̄ = L``, Chen, Ankenmann & Spray 2003).
  Randomesque selection (``k > 1``) lowers all three at a small cost in ``rmse``.

References
----------
Barrada, J. R., Olea, J., Ponsoda, V. & Abad, F. J. (2010). A method for the comparison of item
selection rules in computerized adaptive testing. *Applied Psychological Measurement* 34,
438-452.
Chen, S.-Y., Ankenmann, R. D. & Spray, J. A. (2003). The relationship between item exposure and
test overlap in computerized adaptive testing. *Journal of Educational Measurement* 40, 129-145.
Kingsbury, G. G. & Zara, A. R. (1989). Procedures for selecting items for computerized adaptive
tests. *Applied Measurement in Education* 2, 359-375.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
from numpy.typing import ArrayLike, NDArray

from scoring.cat import (
    ATTEMPT_SEED_LIMIT,
    AdaptiveBank,
    AdaptiveRules,
    ScoreScale,
    StopReason,
    ThetaGrid,
    check_rules,
    choose_batch,
    posterior_moments,
    seed_keys,
)
from scoring.irt import ItemParams

FloatArray = NDArray[np.float64]

#: Exposure rate above which an item counts as over-exposed (the usual Sympson-Hetter target).
DEFAULT_EXPOSURE_LIMIT: Final = 0.2

#: Limits of the true-ability bands a report breaks its figures down by.
DEFAULT_THETA_BANDS: Final = (-2.0, -1.0, 0.0, 1.0, 2.0)


@dataclass(frozen=True, slots=True)
class BankDesign:
    """A synthetic bank: parameter distributions (defaults: catsim's, after Barrada et al. 2010).

    ``a ~ N(a_mean, a_sd²)`` (negative draws shifted up, as catsim does), ``b ~ N(b_mean,
    b_sd²)``, ``c ~ N(c_mean, c_sd²)`` clipped at 0 (``c_mean = 0`` gives a 2PL bank), items
    spread round-robin over ``n_topics`` topics.
    """

    n_items: int = 1000
    a_mean: float = 1.2
    a_sd: float = 0.25
    b_mean: float = 0.0
    b_sd: float = 1.0
    c_mean: float = 0.25
    c_sd: float = 0.02
    n_topics: int = 1

    def __post_init__(self) -> None:
        if self.n_items < 1 or self.n_topics < 1:
            raise ValueError("a bank design needs items and at least one topic")

    def draw(self, rng: np.random.Generator) -> tuple[ItemParams, NDArray[np.int32]]:
        """Parameters and topics of one bank drawn from ``rng``."""
        b = rng.normal(self.b_mean, self.b_sd, self.n_items)
        a = rng.normal(self.a_mean, self.a_sd, self.n_items)
        if a.min() < 0:
            a = a - a.min()
        a = np.maximum(a, 1e-3)
        c = np.zeros(self.n_items)
        if self.c_mean > 0:
            c = np.clip(rng.normal(self.c_mean, self.c_sd, self.n_items), 0.0, 0.99)
        topics = (np.arange(self.n_items) % self.n_topics).astype(np.int32)
        return ItemParams(a, b, c), topics


@dataclass(frozen=True, slots=True)
class SimulationConfig:
    """One simulated administration of an adaptive section.

    ``rules`` are the section's rules (default: catsim's set-up, 30 items by maximum
    information, ``k = 1``); abilities are ``N(theta_mean, theta_sd²)``; ``seed`` seeds the
    whole run (bank, abilities, attempt seeds, answers).
    """

    name: str = "catsim set-up: 30 items, maximum information"
    n_examinees: int = 1000
    rules: AdaptiveRules = field(default_factory=lambda: AdaptiveRules(30, randomesque=1))
    bank: BankDesign = field(default_factory=BankDesign)
    theta_mean: float = 0.0
    theta_sd: float = 1.0
    grid: ThetaGrid = field(default_factory=ThetaGrid)
    scale: ScoreScale = field(default_factory=ScoreScale)
    seed: int = 0
    exposure_limit: float = DEFAULT_EXPOSURE_LIMIT
    theta_bands: tuple[float, ...] = DEFAULT_THETA_BANDS

    def __post_init__(self) -> None:
        if self.n_examinees < 2:
            raise ValueError("a simulation needs at least two examinees")
        if self.theta_sd <= 0:
            raise ValueError("the ability sd must be positive")

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready configuration."""
        return {
            "name": self.name,
            "n_examinees": self.n_examinees,
            "rules": self.rules.as_dict(),
            "bank": {
                "n_items": self.bank.n_items,
                "a": [self.bank.a_mean, self.bank.a_sd],
                "b": [self.bank.b_mean, self.bank.b_sd],
                "c": [self.bank.c_mean, self.bank.c_sd],
                "n_topics": self.bank.n_topics,
            },
            "theta": [self.theta_mean, self.theta_sd],
            "grid": [self.grid.n_points, self.grid.bound, self.grid.prior_mean, self.grid.prior_sd],
            "scale": [self.scale.mean, self.scale.sd],
            "seed": self.seed,
        }


@dataclass(frozen=True, slots=True, eq=False)
class SimulationRun:
    """Everything a run produced, per examinee: for reports, plots and replay checks.

    ``items`` and ``responses`` are ``N × max_items``, padded with -1 after each test's end.
    """

    config: SimulationConfig
    bank: AdaptiveBank
    true_theta: FloatArray
    theta: FloatArray
    se: FloatArray
    lengths: NDArray[np.int64]
    items: NDArray[np.int64]
    responses: NDArray[np.int8]
    attempt_seeds: NDArray[np.int64]
    stop_reasons: tuple[StopReason, ...]

    def exposure_counts(self) -> NDArray[np.int64]:
        """How many examinees saw each item."""
        shown = self.items[self.items >= 0]
        return np.bincount(shown, minlength=len(self.bank)).astype(np.int64)


@dataclass(frozen=True, slots=True)
class ThetaBand:
    """Figures for the examinees whose true ability is in ``(low, high]``."""

    low: float
    high: float
    n: int
    rmse: float
    bias: float
    mean_se: float
    mean_length: float


@dataclass(frozen=True, slots=True)
class SimulationReport:
    """What a committee reads off a simulation (see the module documentation)."""

    name: str
    n_examinees: int
    bank_size: int
    rules: AdaptiveRules
    rmse: float
    bias: float
    correlation: float
    mean_se: float
    scale_rmse: float
    mean_length: float
    min_length: int
    max_length: int
    stop_reasons: tuple[tuple[str, int], ...]
    max_exposure: float
    never_used: float
    over_exposed: float
    exposure_limit: float
    overlap_rate: float
    bands: tuple[ThetaBand, ...]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready report."""
        return {
            "name": self.name,
            "n_examinees": self.n_examinees,
            "bank_size": self.bank_size,
            "rules": self.rules.as_dict(),
            "rmse": self.rmse,
            "bias": self.bias,
            "correlation": self.correlation,
            "mean_se": self.mean_se,
            "scale_rmse": self.scale_rmse,
            "mean_length": self.mean_length,
            "min_length": self.min_length,
            "max_length": self.max_length,
            "stop_reasons": dict(self.stop_reasons),
            "max_exposure": self.max_exposure,
            "never_used": self.never_used,
            "over_exposed": self.over_exposed,
            "exposure_limit": self.exposure_limit,
            "overlap_rate": self.overlap_rate,
            "bands": [
                {
                    "low": None if math.isinf(b.low) else b.low,
                    "high": None if math.isinf(b.high) else b.high,
                    "n": b.n,
                    "rmse": b.rmse,
                    "bias": b.bias,
                    "mean_se": b.mean_se,
                    "mean_length": b.mean_length,
                }
                for b in self.bands
            ],
        }


def simulate(
    config: SimulationConfig | None = None,
    *,
    params: ItemParams | None = None,
    topics: ArrayLike | None = None,
    true_theta: ArrayLike | None = None,
) -> SimulationReport:
    """Run ``config`` and summarize it (see :func:`run` for the arguments)."""
    return report(run(config, params=params, topics=topics, true_theta=true_theta))


def run(
    config: SimulationConfig | None = None,
    *,
    params: ItemParams | None = None,
    topics: ArrayLike | None = None,
    true_theta: ArrayLike | None = None,
) -> SimulationRun:
    """Simulate ``config.n_examinees`` adaptive sections, all examinees a step at a time.

    Parameters
    ----------
    config
        The simulation (default: catsim's set-up).
    params, topics
        A real bank to simulate on instead of one drawn from ``config.bank``.
    true_theta
        The examinees' abilities instead of draws from ``N(theta_mean, theta_sd²)``.

    Returns
    -------
    SimulationRun
        Per examinee: true and estimated ability, SE, length, items, answers, seed, stop reason.

    Notes
    -----
    One ``numpy.random.Generator`` seeded by ``config.seed`` draws, in this order, the bank (if
    not given), the abilities (if not given), one attempt seed per examinee, then one uniform
    per examinee still testing at each step for the answer (correct when ``u < P(θ)``).
    """
    config = config or SimulationConfig()
    rng = np.random.default_rng(config.seed)
    if params is None:
        params, drawn_topics = config.bank.draw(rng)
        topics = drawn_topics if topics is None else topics
    bank = AdaptiveBank.build(params, topics, grid=config.grid)
    rules = config.rules
    check_rules(bank, rules)
    if true_theta is None:
        truth = rng.normal(config.theta_mean, config.theta_sd, config.n_examinees)
    else:
        truth = np.asarray(true_theta, dtype=np.float64).reshape(-1)
    n = truth.size
    seeds = rng.integers(0, ATTEMPT_SEED_LIMIT, size=n, dtype=np.int64)
    keys = seed_keys(seeds)

    j = len(bank)
    given = np.zeros((n, j), dtype=bool)
    counts = np.zeros((n, bank.n_topics), dtype=np.int64)
    log_post = np.repeat(bank.log_prior[None, :], n, axis=0)
    theta, se = posterior_moments(log_post, bank.nodes)
    lengths = np.zeros(n, dtype=np.int64)
    items = np.full((n, rules.max_items), -1, dtype=np.int64)
    answers = np.full((n, rules.max_items), -1, dtype=np.int8)
    reasons: list[StopReason | None] = [None] * n
    active = np.ones(n, dtype=bool)
    a, b, c = params.a, params.b, params.c
    quotas = None if rules.topic_quotas is None else np.asarray(rules.topic_quotas)
    for step in range(rules.max_items + 1):
        has_item = counts < bank.topic_sizes[None, :]
        if quotas is not None:
            has_item &= counts < quotas[None, :]
        stops = {
            StopReason.MAX_ITEMS: lengths >= rules.max_items,
            StopReason.SE_TARGET: (lengths >= rules.min_items) & (se <= rules.se_target)
            if rules.se_target is not None
            else np.zeros(n, dtype=bool),
            StopReason.EXHAUSTED: ~has_item.any(axis=1),
        }
        for reason, hit in stops.items():
            for row in np.flatnonzero(active & hit).tolist():
                reasons[row] = reason
            active &= ~hit
        rows = np.flatnonzero(active)
        if rows.size == 0:
            break
        choice = choose_batch(
            bank,
            rules,
            theta=theta[rows],
            given=given[rows],
            topic_counts=counts[rows],
            steps=np.full(rows.size, step, dtype=np.uint64),
            keys=keys[rows],
        )
        chosen = choice.items
        p = c[chosen] + (1.0 - c[chosen]) / (1.0 + np.exp(-a[chosen] * (truth[rows] - b[chosen])))
        correct = rng.random(rows.size) < p
        given[rows, chosen] = True
        np.add.at(counts, (rows, bank.topics[chosen]), 1)
        updated = log_post[rows] + np.where(
            correct[:, None], bank.log_p[chosen], bank.log_q[chosen]
        )
        updated -= updated.max(axis=1, keepdims=True)
        log_post[rows] = updated
        theta[rows], se[rows] = posterior_moments(updated, bank.nodes)
        items[rows, step] = chosen
        answers[rows, step] = correct
        lengths[rows] += 1
    done = tuple(r if r is not None else StopReason.MAX_ITEMS for r in reasons)
    return SimulationRun(
        config=config,
        bank=bank,
        true_theta=truth,
        theta=theta,
        se=se,
        lengths=lengths,
        items=items,
        responses=answers,
        attempt_seeds=seeds,
        stop_reasons=done,
    )


def report(result: SimulationRun) -> SimulationReport:
    """Summarize a run: accuracy overall and by true-ability band, length, exposure, overlap."""
    config = result.config
    error = result.theta - result.true_theta
    n = error.size
    exposure = result.exposure_counts().astype(np.float64)
    rates = exposure / n
    mean_length = float(result.lengths.mean())
    shared = float(np.sum(exposure * (exposure - 1.0))) / (n * (n - 1.0))
    edges = (-math.inf, *config.theta_bands, math.inf)
    bands = []
    for low, high in itertools.pairwise(edges):
        inside = (result.true_theta > low) & (result.true_theta <= high)
        if not inside.any():
            continue
        bands.append(
            ThetaBand(
                low=low,
                high=high,
                n=int(inside.sum()),
                rmse=float(np.sqrt(np.mean(error[inside] ** 2))),
                bias=float(error[inside].mean()),
                mean_se=float(result.se[inside].mean()),
                mean_length=float(result.lengths[inside].mean()),
            )
        )
    reasons = {str(r): 0 for r in StopReason}
    for reason in result.stop_reasons:
        reasons[str(reason)] += 1
    rmse = float(np.sqrt(np.mean(error**2)))
    return SimulationReport(
        name=config.name,
        n_examinees=n,
        bank_size=len(result.bank),
        rules=config.rules,
        rmse=rmse,
        bias=float(error.mean()),
        correlation=float(np.corrcoef(result.theta, result.true_theta)[0, 1]),
        mean_se=float(result.se.mean()),
        scale_rmse=config.scale.sd * rmse,
        mean_length=mean_length,
        min_length=int(result.lengths.min()),
        max_length=int(result.lengths.max()),
        stop_reasons=tuple((k, v) for k, v in reasons.items() if v),
        max_exposure=float(rates.max()),
        never_used=float(np.mean(exposure == 0)),
        over_exposed=float(np.mean(rates > config.exposure_limit)),
        exposure_limit=config.exposure_limit,
        overlap_rate=shared / mean_length if mean_length else 0.0,
        bands=tuple(bands),
    )


def standard_scenarios(seed: int = 0, n_examinees: int = 1000) -> tuple[SimulationConfig, ...]:
    """Catsim's set-up and the alternatives a committee usually weighs, on one bank and seed.

    Fixed 30 items by maximum information (catsim's); fixed 30, 20 and 40 items randomesque
    ``k = 5``; SE targets 0.30 and 0.25 (10 to 40 and 10 to 50 items, ``k = 5``).
    """

    def config(name: str, rules: AdaptiveRules) -> SimulationConfig:
        return SimulationConfig(name=name, n_examinees=n_examinees, rules=rules, seed=seed)

    return (
        config("fixed 30, maximum information (catsim)", AdaptiveRules(30, randomesque=1)),
        config("fixed 30, randomesque k=5", AdaptiveRules(30, randomesque=5)),
        config("fixed 20, randomesque k=5", AdaptiveRules(20, randomesque=5)),
        config("fixed 40, randomesque k=5", AdaptiveRules(40, randomesque=5)),
        config(
            "SE <= 0.30, 10-40 items, k=5",
            AdaptiveRules(40, min_items=10, se_target=0.30, randomesque=5),
        ),
        config(
            "SE <= 0.25, 10-50 items, k=5",
            AdaptiveRules(50, min_items=10, se_target=0.25, randomesque=5),
        ),
    )
