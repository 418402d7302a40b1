"""Response-time indices: answers faster than a reading floor and a speed index against item norms.

Two questions about the time an attempt spent on each item (the app sums the item's view
intervals into one figure per item):

**Rapid responses** (Wise & Kong 2005). An answer given in less time than it takes to read the
item cannot be a considered answer. The threshold of item ``j`` is the reading floor the caller
passes (from the item's length) or, by default, the normative threshold NT10 of Wise & Ma
(2012): 10 % of the item's mean time, capped at 10 s. The index is the count of rapid answers
and its share of the timed items (``1 -`` Wise & Kong's response-time effort, RTE); the flag
rises when the share exceeds :data:`RAPID_SHARE` (RTE below 0.90, Wise & Kong's cut). Rapid
answers at chance accuracy are guessing; rapid answers that are mostly *correct* point to
preknowledge, so the correct ones are counted too.

**Speed index** (van der Linden 2006; Marianti et al. 2014). Under the lognormal response-time
model the log time of attempt ``i`` on item ``j`` is

.. math:: \\ln t_{ij} = β_j - τ_i + ε_{ij},\\qquad ε_{ij} \\sim N(0, α_j^{-2}),

with item time intensity ``β_j``, item precision ``α_j`` and person speed ``τ_i`` (mean 0 over
the attempts). Norms are estimated from the data by alternating maximum likelihood
(:func:`fit_time_norms`): ``β_j = mean_i(ln t_ij + τ_i)``, ``α_j^{-2} = mean_i(ln t_ij - β_j +
τ_i)²``, ``τ_i = Σ_j α_j² (β_j - ln t_ij) / Σ_j α_j²``. The standardized residual
``z_ij = α_j(ln t_ij - β_j + τ_i)`` is how much faster (negative) or slower than expected, at
the attempt's own pace, the item was answered, and Marianti et al.'s person-fit statistic

.. math:: l^t_i = \\sum_j z_{ij}^2 \\sim χ^2_{n_i - 1}

(one degree of freedom spent on ``τ_i``) is large when the pattern of times does not fit the
norms, in either direction. Preknowledge shows as items answered far faster than the
candidate's own pace, so the ``speed`` flag rests on the fast side alone,

.. math:: l^{t-}_i = \\sum_j \\min(z_{ij}, 0)^2,

whose terms are 0 or ``χ²_1`` with even odds: mean ``1/2`` and variance ``5/4`` each, less
``Cov(min(z, 0)², z)² = 2/π`` because estimating ``τ_i`` centres the residuals (the share of
items on the fast side no longer varies with the attempt's overall pace). Satterthwaite's (1946)
two-moment approximation then gives ``l^{t-} ≈ c χ²_ν`` with ``c = v/(2m)`` and ``ν =
2m²/v``, ``m = (n_i - 1)/2``, ``v = (n_i - 1)(5/4 - 2/π)``: ``c ≈ 0.613``, ``ν ≈ 0.815 (n_i
- 1)``. The flag needs its tail below :data:`SPEED_ALPHA` and at least :data:`MIN_FAST_ITEMS`
items with ``z_ij < -`` :data:`FAST_Z`; a candidate who lingered on a few items has a large
``l^t`` but no fast side, and is not flagged as fast.

References
----------
Satterthwaite, F. E. (1946). An approximate distribution of estimates of variance components.
*Biometrics Bulletin* 2, 110-114.
Marianti, S., Fox, J.-P., Avetisyan, M., Veldkamp, B. P. & Tijmstra, J. (2014). Testing for
aberrant behavior in response time modeling. *Journal of Educational and Behavioral
Statistics* 39, 426-451.
van der Linden, W. J. (2006). A lognormal model for response times on test items. *Journal of
Educational and Behavioral Statistics* 31, 181-204.
Wise, S. L. & Kong, X. (2005). Response time effort: a new measure of examinee motivation in
computer-based tests. *Applied Measurement in Education* 18, 163-183.
Wise, S. L. & Ma, L. (2012). Setting response time thresholds for a CAT item pool: the
normative threshold method. Annual meeting of NCME, Vancouver.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import ArrayLike

from scoring.integrity.common import (
    BoolArray,
    FloatArray,
    IntArray,
    IntegrityInputError,
    chi_square_sf_approx,
    readonly,
)

#: Share of the item's mean time below which an answer is rapid (Wise & Ma's NT10).
RAPID_FRACTION: Final = 0.10
#: Cap of the normative rapid threshold, in seconds (Wise & Ma 2012).
RAPID_CAP_SECONDS: Final = 10.0
#: Share of rapid answers above which an attempt is flagged (response-time effort below 0.90).
RAPID_SHARE: Final = 0.10
#: Level of the fast-side test behind the ``speed`` flag.
SPEED_ALPHA: Final = 0.001
#: A residual below ``-FAST_Z`` (one-sided 1 %) marks an item answered unusually fast.
FAST_Z: Final = 2.326
#: Unusually fast items needed, besides a significant ``l^t``, for the ``speed`` flag.
MIN_FAST_ITEMS: Final = 3
#: Times are raised to this floor (seconds) before taking logs: the clock's resolution.
MIN_SECONDS: Final = 0.1
# Satterthwaite's scale and degrees of freedom per item of the fast side, Σ min(z, 0)²: mean
# 1/2 and variance 5/4 - 2/π per item.
_FAST_VARIANCE: Final = 1.25 - 2.0 / math.pi
_FAST_SCALE: Final = _FAST_VARIANCE
_FAST_DF: Final = 0.5 / _FAST_VARIANCE
_NORM_ITERATIONS: Final = 50
_NORM_TOLERANCE: Final = 1e-9
_CHUNK: Final = 8192
_MIN_TIMED_PER_ITEM: Final = 2


@dataclass(frozen=True, slots=True, eq=False)
class TimeNorms:
    """Lognormal norms of the items: time intensity ``beta`` and precision ``alpha`` (per item).

    ``exp(beta_j)`` is the median time of item ``j`` for an attempt of average speed;
    ``1/alpha_j`` the standard deviation of its log times around that.
    """

    beta: FloatArray
    alpha: FloatArray


@dataclass(frozen=True, slots=True, eq=False)
class TimingIndices:
    """Response-time figures of ``N`` attempts on ``J`` items.

    Per item: ``rapid_threshold`` (seconds) and the ``norms`` used (NaN for an item with fewer
    than two timed answers, which the speed index then leaves out). Per attempt: ``n_timed``
    items with a time and ``n_normed`` of them with norms (the items ``l^t`` counts);
    ``rapid_count``, ``rapid_correct`` (rapid and correct; 0 when no correctness was given)
    and ``rapid_share``; ``tau`` the speed (log scale, mean 0; +0.69 is twice as fast as
    average); ``lt`` and ``lt_p`` Marianti et al.'s statistic and its upper tail; ``fast_lt``
    and ``fast_p`` its fast side and that side's tail; ``fast_count`` items with ``z <
    -FAST_Z``; ``rapid_flag`` and ``speed_flag``. ``residuals`` is the ``N × J`` matrix of
    ``z_ij`` (NaN where untimed or without norms), for the answer-time strip of a report.
    """

    norms: TimeNorms
    rapid_threshold: FloatArray
    n_timed: IntArray
    n_normed: IntArray
    rapid_count: IntArray
    rapid_correct: IntArray
    rapid_share: FloatArray
    tau: FloatArray
    lt: FloatArray
    lt_p: FloatArray
    fast_lt: FloatArray
    fast_p: FloatArray
    fast_count: IntArray
    rapid_flag: BoolArray
    speed_flag: BoolArray
    residuals: FloatArray


def _blocks(n: int) -> list[slice]:
    return [slice(start, min(start + _CHUNK, n)) for start in range(0, n, _CHUNK)]


def _log_times(times: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Log seconds (0 where untimed) and the 0/1 timed mask, filled block by block."""
    matrix = np.asarray(times, dtype=np.float64)
    if matrix.ndim != 2:
        raise IntegrityInputError("times must be a 2-D attempts × items matrix (NaN = untimed)")
    log_t = np.empty(matrix.shape)
    mask = np.empty(matrix.shape)
    for rows in _blocks(matrix.shape[0]):
        block = matrix[rows]
        timed = ~np.isnan(block)
        bad = timed & ~(np.isfinite(block) & (block >= 0))
        if bad.any():
            row, col = np.argwhere(bad)[0]
            raise IntegrityInputError(
                f"times[{rows.start + row}, {col}] = {block[row, col]}: not a duration"
            )
        log_t[rows] = np.where(
            timed, np.log(np.maximum(np.where(timed, block, 1.0), MIN_SECONDS)), 0.0
        )
        mask[rows] = timed
    return log_t, mask


def _person_speed(log_t: FloatArray, mask: FloatArray, norms: TimeNorms) -> FloatArray:
    """``τ_i = Σ_j α_j² (β_j - ln t_ij) / Σ_j α_j²`` over the timed items (matrix-vector)."""
    precision = norms.alpha**2
    total = mask @ precision
    with np.errstate(invalid="ignore", divide="ignore"):
        tau: FloatArray = (mask @ (precision * norms.beta) - log_t @ precision) / total
    return np.where(total > 0, tau, math.nan)


def fit_time_norms(times: ArrayLike) -> tuple[TimeNorms, FloatArray]:
    """Norms ``β``, ``α`` and speeds ``τ`` of the lognormal model by alternating ML.

    Every step is a handful of matrix-vector products: with ``L`` the log times (0 where
    untimed) and ``M`` the timed mask, ``Σ_i M(L + τ - β)²`` expands into column sums of
    ``L²``, ``Lᵀτ``, ``Mᵀτ`` and ``Mᵀτ²``, so no attempts × items temporary is built per step.

    Parameters
    ----------
    times
        ``N × J`` seconds per item, NaN where the item was not answered or not presented.

    Returns
    -------
    (TimeNorms, tau)
        ``tau`` has mean 0 over the attempts with a time (the model's identification). An item
        with fewer than two timed answers (a bank item few forms carried) has no norms (NaN)
        and is left out of every ``τ``; with no item timed twice the norms cannot be estimated
        and :class:`IntegrityInputError` says so.
    """
    return _fit(*_log_times(times))


def _finite(norms: TimeNorms) -> TimeNorms:
    """Norms with items that have none (NaN) at ``α = 0``: weight 0 in every sum."""
    usable = np.isfinite(norms.beta) & np.isfinite(norms.alpha)
    return TimeNorms(np.where(usable, norms.beta, 0.0), np.where(usable, norms.alpha, 0.0))


def _fit(log_t: FloatArray, mask: FloatArray) -> tuple[TimeNorms, FloatArray]:
    per_item = mask.sum(axis=0)
    usable = per_item >= _MIN_TIMED_PER_ITEM
    if not usable.any():
        raise IntegrityInputError(
            f"no item has {_MIN_TIMED_PER_ITEM} timed answers, so no time norms can be "
            "estimated (pass norms from an earlier sitting instead)"
        )
    if not usable.all():
        mask = mask * usable
    count = np.where(usable, per_item, 1.0)
    n_items = log_t.shape[1]
    sum_log = log_t.sum(axis=0) * usable
    sum_log_sq = np.zeros(n_items)
    for rows in _blocks(log_t.shape[0]):
        sum_log_sq += (log_t[rows] ** 2).sum(axis=0)
    sum_log_sq *= usable
    has_time = mask.sum(axis=1) > 0
    tau = np.zeros(log_t.shape[0])
    alpha = np.ones(n_items)
    beta = np.zeros(n_items)
    for _ in range(_NORM_ITERATIONS):
        mt, mt2, lt = mask.T @ tau, mask.T @ tau**2, (log_t.T @ tau) * usable
        beta = (sum_log + mt) / count
        squares = sum_log_sq + 2 * lt - 2 * beta * sum_log + mt2 - 2 * beta * mt + beta**2 * count
        alpha = np.where(usable, 1.0 / np.sqrt(np.maximum(squares / count, 1e-6)), 0.0)
        updated = _person_speed(log_t, mask, TimeNorms(beta, alpha))
        centre = float(updated[has_time].mean()) if has_time.any() else 0.0
        updated = np.where(has_time, updated - centre, 0.0)
        beta = beta - centre
        change = float(np.abs(updated - tau).max(initial=0.0))
        tau = updated
        if change < _NORM_TOLERANCE:
            break
    norms = TimeNorms(
        readonly(np.where(usable, beta, math.nan)), readonly(np.where(usable, alpha, math.nan))
    )
    return norms, _person_speed(log_t, mask, _finite(norms))


def timing_indices(
    times: ArrayLike,
    correct: ArrayLike | None = None,
    *,
    norms: TimeNorms | None = None,
    reading_floor: ArrayLike | None = None,
    rapid_fraction: float = RAPID_FRACTION,
    rapid_cap: float = RAPID_CAP_SECONDS,
    rapid_share: float = RAPID_SHARE,
    speed_alpha: float = SPEED_ALPHA,
    fast_z: float = FAST_Z,
    min_fast_items: int = MIN_FAST_ITEMS,
) -> TimingIndices:
    """Rapid-response and speed indices of every attempt (see the module for the formulas).

    Parameters
    ----------
    times
        ``N × J`` seconds spent on each item, NaN where not answered or not presented.
    correct
        Optional ``N × J`` 0/1 correctness (e.g. :attr:`ScoredResponses.correct`), to count
        rapid answers that were right.
    norms
        Item norms from a reference sitting; estimated from ``times`` when omitted.
    reading_floor
        Seconds per item (or one figure for all) below which an answer is rapid; default
        NT10: ``min(rapid_cap, rapid_fraction × mean time of the item)``.
    rapid_fraction, rapid_cap, rapid_share, speed_alpha, fast_z, min_fast_items
        The thresholds documented as module constants.

    Returns
    -------
    TimingIndices
    """
    log_t, mask = _log_times(times)
    n_attempts, n_items = log_t.shape
    if norms is None:
        norms, tau = _fit(log_t, mask)
    else:
        if norms.beta.size != n_items or norms.alpha.size != n_items:
            raise IntegrityInputError(f"norms are for {norms.beta.size} items, times for {n_items}")
        tau = _person_speed(log_t, mask, _finite(norms))
    usable = np.isfinite(norms.beta) & np.isfinite(norms.alpha)
    model = _finite(norms)
    model_mask = mask if usable.all() else mask * usable
    n_normed = model_mask.sum(axis=1).astype(np.int64)
    right = None
    if correct is not None:
        right = np.asarray(correct)
        if right.shape != log_t.shape:
            raise IntegrityInputError(f"correct is {right.shape}, times {log_t.shape}")
    per_item = mask.sum(axis=0)
    if reading_floor is None:
        total_time = np.zeros(n_items)
        for rows in _blocks(n_attempts):
            total_time += (np.exp(log_t[rows]) * mask[rows]).sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean_time = np.where(per_item > 0, total_time / per_item, 0.0)
        threshold = np.minimum(rapid_cap, rapid_fraction * mean_time)
    else:
        threshold = np.array(
            np.broadcast_to(np.asarray(reading_floor, dtype=np.float64), (n_items,))
        )
        if np.any(~np.isfinite(threshold)) or np.any(threshold < 0):
            raise IntegrityInputError("reading_floor must be finite seconds ≥ 0 per item")
    with np.errstate(divide="ignore"):
        log_threshold = np.log(np.maximum(threshold, 0.0))
    n_timed = mask.sum(axis=1).astype(np.int64)
    rapid_count = np.zeros(n_attempts, dtype=np.int64)
    rapid_correct = np.zeros(n_attempts, dtype=np.int64)
    lt = np.zeros(n_attempts)
    fast_lt = np.zeros(n_attempts)
    fast_count = np.zeros(n_attempts, dtype=np.int64)
    z = np.empty(log_t.shape)
    speed = np.where(np.isnan(tau), 0.0, tau)
    for rows in _blocks(n_attempts):
        timed = mask[rows] > 0
        block_log = log_t[rows]
        rapid = timed & (block_log < log_threshold)
        rapid_count[rows] = rapid.sum(axis=1)
        if right is not None:
            rapid_correct[rows] = (rapid & (right[rows] > 0)).sum(axis=1)
        resid = model.alpha * (block_log - model.beta + speed[rows, None]) * model_mask[rows]
        lt[rows] = (resid * resid).sum(axis=1)
        fast = np.minimum(resid, 0.0)
        fast_lt[rows] = (fast * fast).sum(axis=1)
        fast_count[rows] = (resid < -fast_z).sum(axis=1)
        z[rows] = np.where(model_mask[rows] > 0, resid, math.nan)
    none = n_normed == 0
    lt = np.where(none, math.nan, lt)
    fast_lt = np.where(none, math.nan, fast_lt)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(n_timed == 0, math.nan, rapid_count / np.maximum(n_timed, 1))
    lt_p = chi_square_sf_approx(lt, n_normed - 1)
    fast_p = chi_square_sf_approx(fast_lt / _FAST_SCALE, _FAST_DF * (n_normed - 1))
    return TimingIndices(
        norms=norms,
        rapid_threshold=readonly(threshold),
        n_timed=n_timed,
        n_normed=n_normed,
        rapid_count=rapid_count,
        rapid_correct=rapid_correct,
        rapid_share=share,
        tau=tau,
        lt=lt,
        lt_p=lt_p,
        fast_lt=fast_lt,
        fast_p=fast_p,
        fast_count=fast_count,
        rapid_flag=np.nan_to_num(share) > rapid_share,
        speed_flag=(np.nan_to_num(fast_p, nan=1.0) < speed_alpha) & (fast_count >= min_fast_items),
        residuals=z,
    )
