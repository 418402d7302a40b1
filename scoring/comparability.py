"""Comparability of sittings, sites and forms: scores and pass rates by group, and form TCCs.

When candidates of one sitting, site or form score lower or pass less often, the committee
needs to know whether the difference is larger than chance and, where item parameters exist,
whether the forms themselves differed in difficulty.

By group (:func:`compare_groups`)
---------------------------------
* Mean score with a Student-t interval, ``x̄ ± t_{n-1, 1-α/2} s/√n``.
* Pass rate ``p̂ = x/n`` with the Wilson (1927) score interval, which keeps its coverage near 0
  and 1 where the Wald interval fails (Brown, Cai & DasGupta 2001):
  ``(p̂ + z²/2n ± z √(p̂(1 - p̂)/n + z²/4n²)) / (1 + z²/n)``.
* Equality of pass rates: Pearson's chi-square on the ``k × 2`` table,
  ``X² = Σ (O - E)² / E`` on ``k - 1`` degrees of freedom.
* Equality of score distributions: Kruskal–Wallis (1952) ``H = 12/(N(N + 1)) Σ_g R_g²/n_g -
  3(N + 1)``, divided by the tie correction ``1 - Σ(t³ - t)/(N³ - N)``, on ``k - 1`` degrees
  of freedom (no normality assumed), and the one-way ANOVA ``F = (SS_between/(k - 1)) /
  (SS_within/(N - k))`` for the means.

Forms (:func:`compare_forms`)
-----------------------------
With IRT parameters, the expected number correct of a form at ability ``θ`` is its test
characteristic curve ``T_f(θ) = Σ_{j ∈ f} P_j(θ)`` (Lord 1980, eq. 4-5;
:func:`scoring.irt.expected_score`). The difference ``T_f(θ) - T_ref(θ)`` on a grid of
abilities says how many points a candidate of that ability gains or loses by the form, and
its mean weighted by ``N(0, 1)`` the average over a typical population.

Tail probabilities: the chi-square from :func:`scoring.irt.chi_square_sf`; Student's t and F
from the regularized incomplete beta function (continued fraction, Press et al. 2007, §6.4):
``P(|T_ν| > t) = I_{ν/(ν + t²)}(ν/2, 1/2)``, ``P(F_{d1,d2} > f) = I_{d2/(d2 + d1 f)}(d2/2,
d1/2)``.

References
----------
Brown, L. D., Cai, T. T. & DasGupta, A. (2001). Interval estimation for a binomial proportion.
*Statistical Science* 16, 101-133.
Kruskal, W. H. & Wallis, W. A. (1952). Use of ranks in one-criterion variance analysis. *Journal
of the American Statistical Association* 47, 583-621.
Lord, F. M. (1980). *Applications of Item Response Theory to Practical Testing Problems*.
Erlbaum.
Press, W. H. et al. (2007). *Numerical Recipes*, 3rd ed. Cambridge University Press.
Wilson, E. B. (1927). Probable inference, the law of succession, and statistical inference.
*Journal of the American Statistical Association* 22, 209-212.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import ArrayLike, NDArray

from scoring.integrity.common import IntegrityInputError, normal_isf
from scoring.irt import ItemParams, chi_square_sf, expected_score

FloatArray = NDArray[np.float64]

#: Confidence level of every interval.
CONFIDENCE: Final = 0.95
#: Default ability grid of the form comparison.
THETA_GRID: Final = tuple(np.round(np.arange(-3.0, 3.01, 0.5), 2).tolist())
_BETA_ITERATIONS: Final = 300


def _beta_continued_fraction(a: float, b: float, x: float) -> float:
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (tiny if abs(d) < tiny else d)
    h = d
    for m in range(1, _BETA_ITERATIONS):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (tiny if abs(d) < tiny else d)
        c = 1.0 + aa / c
        c = tiny if abs(c) < tiny else c
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (tiny if abs(d) < tiny else d)
        c = 1.0 + aa / c
        c = tiny if abs(c) < tiny else c
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-15:
            break
    return h


def incomplete_beta(a: float, b: float, x: float) -> float:
    """Regularized incomplete beta ``I_x(a, b)`` (Press et al. 2007, §6.4)."""
    if a <= 0 or b <= 0:
        raise ValueError("the incomplete beta needs positive a and b")
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _beta_continued_fraction(a, b, x) / a
    return 1.0 - math.exp(log_front) * _beta_continued_fraction(b, a, 1.0 - x) / b


def t_two_sided_p(t: float, df: float) -> float:
    """``P(|T_df| > |t|)`` for Student's t."""
    if df <= 0:
        raise ValueError("Student's t needs positive degrees of freedom")
    return incomplete_beta(df / 2.0, 0.5, df / (df + t * t))


def t_quantile(probability: float, df: float) -> float:
    """The ``t`` with ``P(T_df ≤ t) = probability`` (bisection on :func:`t_two_sided_p`)."""
    if not 0.0 < probability < 1.0:
        raise ValueError("a quantile needs a probability strictly between 0 and 1")
    upper = probability > 0.5
    target = 2.0 * (1.0 - probability if upper else probability)
    low, high = 0.0, 1.0
    while t_two_sided_p(high, df) > target:
        high *= 2.0
    for _ in range(200):
        mid = 0.5 * (low + high)
        if t_two_sided_p(mid, df) > target:
            low = mid
        else:
            high = mid
        if high - low < 1e-12 * max(1.0, high):
            break
    value = 0.5 * (low + high)
    return value if upper else -value


def f_sf(f: float, df1: float, df2: float) -> float:
    """``P(F_{df1, df2} > f)``."""
    if df1 <= 0 or df2 <= 0:
        raise ValueError("F needs positive degrees of freedom")
    if f <= 0:
        return 1.0
    return incomplete_beta(df2 / 2.0, df1 / 2.0, df2 / (df2 + df1 * f))


def wilson_interval(
    successes: int, trials: int, confidence: float = CONFIDENCE
) -> tuple[float, float]:
    """Wilson's score interval for a proportion (formula in the module docstring)."""
    if trials <= 0:
        return (math.nan, math.nan)
    if not 0 <= successes <= trials:
        raise IntegrityInputError(f"{successes} successes out of {trials} trials")
    z = normal_isf((1.0 - confidence) / 2.0)
    p = successes / trials
    denominator = 1.0 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return (max(0.0, centre - half), min(1.0, centre + half))


@dataclass(frozen=True, slots=True)
class GroupSummary:
    """Scores and passes of one group.

    ``mean_ci`` the Student-t interval of the mean (NaN for fewer than two candidates),
    ``quartiles`` the 25th, 50th and 75th percentiles, ``pass_ci`` Wilson's interval of the pass
    rate (NaN without pass data).
    """

    group: str
    n: int
    mean: float
    sd: float
    mean_ci: tuple[float, float]
    quartiles: tuple[float, float, float]
    minimum: float
    maximum: float
    passed: int
    pass_rate: float
    pass_ci: tuple[float, float]


@dataclass(frozen=True, slots=True)
class EqualityTest:
    """A test that every group is alike: its statistic, degrees of freedom and p-value."""

    name: str
    statistic: float
    df: tuple[float, ...]
    p_value: float


@dataclass(frozen=True, slots=True)
class GroupComparison:
    """Per-group summaries and the equality tests (``pass_rates`` is None without pass data)."""

    groups: tuple[GroupSummary, ...]
    pass_rates: EqualityTest | None
    kruskal_wallis: EqualityTest
    anova: EqualityTest


def _summary(
    name: str, values: FloatArray, passes: NDArray[np.bool_] | None, confidence: float
) -> GroupSummary:
    n = values.size
    mean = float(values.mean())
    sd = float(values.std(ddof=1)) if n > 1 else math.nan
    if n > 1:
        half = t_quantile(1.0 - (1.0 - confidence) / 2.0, n - 1) * sd / math.sqrt(n)
        mean_ci = (mean - half, mean + half)
    else:
        mean_ci = (math.nan, math.nan)
    q1, q2, q3 = np.percentile(values, [25, 50, 75]).tolist()
    if passes is None:
        passed, rate, pass_ci = 0, math.nan, (math.nan, math.nan)
    else:
        passed = int(passes.sum())
        rate = passed / n
        pass_ci = wilson_interval(passed, n, confidence)
    return GroupSummary(
        group=name,
        n=n,
        mean=mean,
        sd=sd,
        mean_ci=mean_ci,
        quartiles=(q1, q2, q3),
        minimum=float(values.min()),
        maximum=float(values.max()),
        passed=passed,
        pass_rate=rate,
        pass_ci=pass_ci,
    )


def _kruskal_wallis(values: FloatArray, codes: NDArray[np.int64], k: int) -> EqualityTest:
    n = values.size
    order = np.argsort(values, kind="stable")
    sorted_values = values[order]
    first = np.searchsorted(sorted_values, sorted_values, side="left")
    last = np.searchsorted(sorted_values, sorted_values, side="right")
    ranks = np.empty(n)
    ranks[order] = 0.5 * (first + last + 1)
    rank_sums = np.bincount(codes, weights=ranks, minlength=k)
    sizes = np.bincount(codes, minlength=k)
    h = 12.0 / (n * (n + 1)) * float((rank_sums**2 / sizes).sum()) - 3.0 * (n + 1)
    _, ties = np.unique(values, return_counts=True)
    correction = 1.0 - float((ties**3 - ties).sum()) / (n**3 - n) if n > 1 else 0.0
    if correction <= 0:
        return EqualityTest("kruskal_wallis", math.nan, (k - 1.0,), math.nan)
    h /= correction
    return EqualityTest("kruskal_wallis", h, (k - 1.0,), chi_square_sf(h, k - 1))


def _anova(values: FloatArray, codes: NDArray[np.int64], k: int) -> EqualityTest:
    n = values.size
    sizes = np.bincount(codes, minlength=k)
    means = np.bincount(codes, weights=values, minlength=k) / sizes
    grand = float(values.mean())
    between = float((sizes * (means - grand) ** 2).sum())
    within = float(((values - means[codes]) ** 2).sum())
    df1, df2 = k - 1.0, float(n - k)
    if df2 <= 0 or within <= 0:
        return EqualityTest("anova", math.nan, (df1, df2), math.nan)
    f = (between / df1) / (within / df2)
    return EqualityTest("anova", f, (df1, df2), f_sf(f, df1, df2))


def _pass_chi_square(passes: NDArray[np.bool_], codes: NDArray[np.int64], k: int) -> EqualityTest:
    sizes = np.bincount(codes, minlength=k).astype(np.float64)
    passed = np.bincount(codes, weights=passes.astype(np.float64), minlength=k)
    observed = np.column_stack([passed, sizes - passed])
    expected = np.outer(sizes, observed.sum(axis=0)) / sizes.sum()
    if np.any(expected.sum(axis=0) == 0):
        return EqualityTest("pass_rate_chi_square", 0.0, (k - 1.0,), 1.0)
    x2 = float((((observed - expected) ** 2) / expected).sum())
    return EqualityTest("pass_rate_chi_square", x2, (k - 1.0,), chi_square_sf(x2, k - 1))


def compare_groups(
    scores: ArrayLike,
    groups: Sequence[str] | ArrayLike,
    *,
    passed: ArrayLike | None = None,
    confidence: float = CONFIDENCE,
) -> GroupComparison:
    """Summaries and equality tests of scores (and passes) across groups.

    Parameters
    ----------
    scores
        ``N`` scores.
    groups
        ``N`` labels (sitting, site or form); ``""`` = left out.
    passed
        ``N`` booleans, True where the candidate passed (optional).
    confidence
        Level of the intervals.

    Returns
    -------
    GroupComparison
        Groups sorted by label; tests need at least two groups (NaN otherwise).
    """
    values = np.asarray(scores, dtype=np.float64).reshape(-1)
    labels = np.asarray(groups, dtype=str).reshape(-1)
    if labels.size != values.size:
        raise IntegrityInputError(f"{labels.size} group labels for {values.size} scores")
    if np.any(~np.isfinite(values)):
        raise IntegrityInputError(f"score {int(np.argmax(~np.isfinite(values)))} is not finite")
    passes = None
    if passed is not None:
        passes = np.asarray(passed, dtype=bool).reshape(-1)
        if passes.size != values.size:
            raise IntegrityInputError(f"{passes.size} pass results for {values.size} scores")
    keep = labels != ""
    values, labels = values[keep], labels[keep]
    passes = None if passes is None else passes[keep]
    if values.size == 0:
        raise IntegrityInputError("no labelled scores to compare")
    names, codes = np.unique(labels, return_inverse=True)
    codes = codes.astype(np.int64)
    k = names.size
    summaries = tuple(
        _summary(
            str(name),
            values[codes == g],
            None if passes is None else passes[codes == g],
            confidence,
        )
        for g, name in enumerate(names)
    )
    if k < 2:
        none = EqualityTest("kruskal_wallis", math.nan, (0.0,), math.nan)
        return GroupComparison(
            summaries,
            None
            if passes is None
            else EqualityTest("pass_rate_chi_square", math.nan, (0.0,), math.nan),
            none,
            EqualityTest("anova", math.nan, (0.0, 0.0), math.nan),
        )
    return GroupComparison(
        summaries,
        None if passes is None else _pass_chi_square(passes, codes, k),
        _kruskal_wallis(values, codes, k),
        _anova(values, codes, k),
    )


@dataclass(frozen=True, slots=True, eq=False)
class FormComparison:
    """Test characteristic curves of forms on an ability grid.

    ``forms`` the labels (the reference first), ``theta`` the grid, ``expected[f, g]`` the
    expected number correct of form ``f`` at ``theta[g]``, ``difference`` the same minus the
    reference form's, ``max_abs_difference`` and ``mean_difference`` (weighted by ``N(0, 1)``
    over the grid) per form, ``n_items`` per form.
    """

    forms: tuple[str, ...]
    theta: FloatArray
    expected: FloatArray
    difference: FloatArray
    max_abs_difference: FloatArray
    mean_difference: FloatArray
    n_items: tuple[int, ...]


def compare_forms(
    params: ItemParams,
    forms: Mapping[str, ArrayLike],
    *,
    reference: str | None = None,
    theta: ArrayLike = THETA_GRID,
) -> FormComparison:
    """Expected-score differences between forms (see the module docstring).

    Parameters
    ----------
    params
        Item parameters of the bank.
    forms
        Label → indices into ``params`` of the form's items.
    reference
        The form the others are compared with (default: the first).
    theta
        The ability grid.

    Returns
    -------
    FormComparison
    """
    if not forms:
        raise IntegrityInputError("no forms to compare")
    labels = list(forms)
    base = labels[0] if reference is None else reference
    if base not in forms:
        raise IntegrityInputError(f"reference form {base!r} is not among the forms")
    ordered = [base, *(label for label in labels if label != base)]
    grid = np.asarray(theta, dtype=np.float64).reshape(-1)
    rows = []
    sizes = []
    for label in ordered:
        items = np.asarray(forms[label], dtype=np.int64).reshape(-1)
        if items.size and (items.min() < 0 or items.max() >= len(params)):
            raise IntegrityInputError(f"form {label!r} names items outside the bank")
        rows.append(expected_score(grid, params.take(items)))
        sizes.append(int(items.size))
    expected = np.vstack(rows)
    difference = expected - expected[0]
    weights = np.exp(-0.5 * grid**2)
    weights /= weights.sum()
    return FormComparison(
        forms=tuple(ordered),
        theta=grid,
        expected=expected,
        difference=difference,
        max_abs_difference=np.abs(difference).max(axis=1),
        mean_difference=difference @ weights,
        n_items=tuple(sizes),
    )
