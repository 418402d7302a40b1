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
norms. Preknowledge shows as a handful of items answered far faster than the candidate's own
pace: the ``speed`` flag needs both ``l^t`` beyond :data:`SPEED_ALPHA` and at least
:data:`MIN_FAST_ITEMS` items with ``z_ij < -`` :data:`FAST_Z`, so a candidate who merely
lingered on a few items is not flagged as fast.

References
----------
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
#: One-sided level of the ``l^t`` test behind the ``speed`` flag.
SPEED_ALPHA: Final = 0.001
#: A residual below ``-FAST_Z`` (one-sided 1 %) marks an item answered unusually fast.
FAST_Z: Final = 2.326
#: Unusually fast items needed, besides a significant ``l^t``, for the ``speed`` flag.
MIN_FAST_ITEMS: Final = 3
#: Times are raised to this floor (seconds) before taking logs: the clock's resolution.
MIN_SECONDS: Final = 0.1
_NORM_ITERATIONS: Final = 25
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

    Per item: ``rapid_threshold`` (seconds) and the ``norms`` used. Per attempt: ``n_timed``
    items with a time; ``rapid_count``, ``rapid_correct`` (rapid and correct; 0 when no
    correctness was given) and ``rapid_share``; ``tau`` the speed (log scale, mean 0; +0.69 is
    twice as fast as average); ``lt`` and ``lt_p`` Marianti et al.'s statistic and its upper
    tail; ``fast_count`` items with ``z < -FAST_Z``; ``rapid_flag`` and ``speed_flag``.
    ``residuals`` is the ``N × J`` matrix of ``z_ij`` (NaN where untimed), for the answer-time
    strip of a report.
    """

    norms: TimeNorms
    rapid_threshold: FloatArray
    n_timed: IntArray
    rapid_count: IntArray
    rapid_correct: IntArray
    rapid_share: FloatArray
    tau: FloatArray
    lt: FloatArray
    lt_p: FloatArray
    fast_count: IntArray
    rapid_flag: BoolArray
    speed_flag: BoolArray
    residuals: FloatArray


def _log_times(times: ArrayLike) -> tuple[FloatArray, BoolArray]:
    matrix = np.asarray(times, dtype=np.float64)
    if matrix.ndim != 2:
        raise IntegrityInputError("times must be a 2-D attempts × items matrix (NaN = untimed)")
    timed = ~np.isnan(matrix)
    if np.any(matrix[timed] < 0) or np.any(np.isinf(matrix[timed])):
        row, col = np.argwhere(timed & ~(np.isfinite(matrix) & (matrix >= 0)))[0]
        raise IntegrityInputError(f"times[{row}, {col}] = {matrix[row, col]}: not a duration")
    log_t = np.log(np.maximum(np.where(timed, matrix, 1.0), MIN_SECONDS))
    return log_t, timed


def _person_speed(log_t: FloatArray, timed: BoolArray, norms: TimeNorms) -> FloatArray:
    weight = np.where(timed, norms.alpha**2, 0.0)
    total = weight.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        tau: FloatArray = (weight * (norms.beta - log_t)).sum(axis=1) / total
    return np.where(total > 0, tau, math.nan)


def fit_time_norms(times: ArrayLike) -> tuple[TimeNorms, FloatArray]:
    """Norms ``β``, ``α`` and speeds ``τ`` of the lognormal model by alternating ML.

    Parameters
    ----------
    times
        ``N × J`` seconds per item, NaN where the item was not answered or not presented.

    Returns
    -------
    (TimeNorms, tau)
        ``tau`` has mean 0 over the attempts with a time (the model's identification).
    """
    log_t, timed = _log_times(times)
    per_item = timed.sum(axis=0)
    if np.any(per_item < _MIN_TIMED_PER_ITEM):
        item = int(np.argmax(per_item < _MIN_TIMED_PER_ITEM))
        raise IntegrityInputError(
            f"item {item} has {int(per_item[item])} timed answers; norms need at least "
            f"{_MIN_TIMED_PER_ITEM} per item (pass norms from an earlier sitting instead)"
        )
    n_items = log_t.shape[1]
    tau = np.zeros(log_t.shape[0])
    alpha = np.ones(n_items)
    beta = np.zeros(n_items)
    for _ in range(_NORM_ITERATIONS):
        shifted = np.where(timed, log_t + tau[:, None], 0.0)
        beta = shifted.sum(axis=0) / per_item
        resid = np.where(timed, log_t - beta + tau[:, None], 0.0)
        alpha = 1.0 / np.sqrt(np.maximum((resid**2).sum(axis=0) / per_item, 1e-6))
        tau = _person_speed(log_t, timed, TimeNorms(beta, alpha))
        centre = float(np.nanmean(tau)) if np.any(~np.isnan(tau)) else 0.0
        tau = np.where(np.isnan(tau), 0.0, tau - centre)
        beta = beta - centre
    norms = TimeNorms(readonly(beta), readonly(alpha))
    return norms, _person_speed(log_t, timed, norms)


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
    log_t, timed = _log_times(times)
    n_attempts, n_items = log_t.shape
    seconds = np.where(timed, np.exp(log_t), math.nan)
    if norms is None:
        norms, tau = fit_time_norms(times)
    else:
        if norms.beta.size != n_items or norms.alpha.size != n_items:
            raise IntegrityInputError(f"norms are for {norms.beta.size} items, times for {n_items}")
        tau = _person_speed(log_t, timed, norms)
    if reading_floor is None:
        with np.errstate(invalid="ignore"):
            mean_time = np.nanmean(np.where(timed, seconds, math.nan), axis=0)
        threshold = np.minimum(rapid_cap, rapid_fraction * np.nan_to_num(mean_time))
    else:
        threshold = np.broadcast_to(np.asarray(reading_floor, dtype=np.float64), (n_items,))
        threshold = np.array(threshold)
        if np.any(~np.isfinite(threshold)) or np.any(threshold < 0):
            raise IntegrityInputError("reading_floor must be finite seconds ≥ 0 per item")
    rapid = timed & (np.where(timed, seconds, np.inf) < threshold)
    n_timed = timed.sum(axis=1).astype(np.int64)
    rapid_count = rapid.sum(axis=1).astype(np.int64)
    if correct is None:
        rapid_correct = np.zeros(n_attempts, dtype=np.int64)
    else:
        right = np.asarray(correct, dtype=np.float64)
        if right.shape != log_t.shape:
            raise IntegrityInputError(f"correct is {right.shape}, times {log_t.shape}")
        rapid_correct = (rapid & (right > 0)).sum(axis=1).astype(np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(n_timed > 0, rapid_count / np.maximum(n_timed, 1), math.nan)
    z = np.where(timed, norms.alpha * (log_t - norms.beta + tau[:, None]), math.nan)
    lt = np.where(n_timed > 0, np.nansum(np.where(timed, z * z, 0.0), axis=1), math.nan)
    lt_p = chi_square_sf_approx(lt, n_timed - 1)
    fast_count = (np.where(timed, z, 0.0) < -fast_z).sum(axis=1).astype(np.int64)
    return TimingIndices(
        norms=norms,
        rapid_threshold=readonly(threshold),
        n_timed=n_timed,
        rapid_count=rapid_count,
        rapid_correct=rapid_correct,
        rapid_share=share,
        tau=tau,
        lt=lt,
        lt_p=lt_p,
        fast_count=fast_count,
        rapid_flag=np.nan_to_num(share) > rapid_share,
        speed_flag=(np.nan_to_num(lt_p, nan=1.0) < speed_alpha) & (fast_count >= min_fast_items),
        residuals=z,
    )
