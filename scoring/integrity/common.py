"""Shared inputs and distributions of the integrity indices: response codes, scoring, tails.

Every index takes the final answers as an ``N × J`` integer matrix (attempts × items, items in
one fixed order such as the bank's or the exam version's): the original option index chosen
(``0, 1, ...``), :data:`BLANK` for an item shown but left unanswered and :data:`NOT_PRESENTED`
for an item the attempt's form did not carry (every candidate sits their own form). An item is
*correct* when the chosen option earns the item's highest points: the key of a dichotomous item,
the best-weighted option of a weighted one.

Tail probabilities are computed without SciPy: the normal tail from ``math.erfc`` and the
chi-square tail from :func:`scoring.irt.chi_square_sf`, or, vectorized over many attempts,
from the Wilson–Hilferty cube-root approximation (Wilson & Hilferty 1931; Johnson, Kotz &
Balakrishnan 1994, §18.5). Against the exact tail it errs on the side of larger p-values in
the far tail: at 109 degrees of freedom by 1 % at p = 6e-4 and 15 % at p = 3e-9; at 30 by 3 %
at p = 1e-3 (so a flag at the 0.1 % level is never raised by the approximation alone).

References
----------
Johnson, N. L., Kotz, S. & Balakrishnan, N. (1994). *Continuous Univariate Distributions*, vol. 1,
2nd ed. Wiley.
Wilson, E. B. & Hilferty, M. M. (1931). The distribution of chi-square. *Proceedings of the
National Academy of Sciences* 17, 684-688.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Final, TypeVar

import numpy as np
from numpy.typing import ArrayLike, NDArray

from scoring.errors import ScoringError

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]
ArrayT = TypeVar("ArrayT", bound=np.ndarray[Any, Any])

#: Response code of an item shown to the candidate and left unanswered.
BLANK: Final = -1
#: Response code of an item the attempt's form did not carry.
NOT_PRESENTED: Final = -2


class IntegrityInputError(ScoringError):
    """Arrays handed to an integrity, DIF or comparability function do not fit; says which."""


_erfc = np.frompyfunc(math.erfc, 1, 1)


def normal_sf(z: ArrayLike) -> FloatArray:
    """Upper tail ``P(Z > z) = erfc(z/√2)/2`` of the standard normal, elementwise (NaN kept)."""
    values = np.asarray(z, dtype=np.float64)
    out = np.full(values.shape, math.nan)
    finite = ~np.isnan(values)
    out[finite] = 0.5 * np.asarray(_erfc(values[finite] / math.sqrt(2.0)), dtype=np.float64)
    return out


def normal_isf(p: float) -> float:
    """The ``z`` with ``P(Z > z) = p`` (bisection on ``erfc`` to 1e-12; ``0 < p < 1``)."""
    if not 0.0 < p < 1.0:
        raise ValueError(f"a tail probability must lie strictly between 0 and 1, not {p}")
    low, high = -40.0, 40.0
    for _ in range(200):
        mid = 0.5 * (low + high)
        if 0.5 * math.erfc(mid / math.sqrt(2.0)) > p:
            low = mid
        else:
            high = mid
        if high - low < 1e-12:
            break
    return 0.5 * (low + high)


def chi_square_sf_approx(x: ArrayLike, df: ArrayLike) -> FloatArray:
    """Upper tail of ``χ²_df`` at ``x`` by Wilson–Hilferty, vectorized.

    ``(x/df)^{1/3}`` is close to normal with mean ``1 - 2/(9 df)`` and variance ``2/(9 df)``,
    so ``P(χ² > x) ≈ P(Z > ((x/df)^{1/3} - 1 + 2/(9 df)) / √(2/(9 df)))``. NaN where
    ``df < 1``.
    """
    x_arr = np.asarray(x, dtype=np.float64)
    k = np.asarray(df, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        v = 2.0 / (9.0 * k)
        z = (np.cbrt(np.maximum(x_arr, 0.0) / k) - 1.0 + v) / np.sqrt(v)
    z = np.where(k >= 1, z, math.nan)
    return normal_sf(z)


def as_responses(responses: ArrayLike, name: str = "responses") -> NDArray[np.int16]:
    """The ``N × J`` response matrix as ``int16``, checked: codes ``≥ -2`` only."""
    matrix = np.asarray(responses)
    if matrix.ndim != 2:
        raise IntegrityInputError(f"{name} must be a 2-D attempts × items matrix")
    if matrix.size and not np.issubdtype(matrix.dtype, np.integer):
        raise IntegrityInputError(f"{name} must hold integer option indices, not {matrix.dtype}")
    if matrix.size and int(matrix.min()) < NOT_PRESENTED:
        row, col = np.argwhere(matrix < NOT_PRESENTED)[0]
        raise IntegrityInputError(
            f"{name}[{row}, {col}] = {int(matrix[row, col])}: codes are option indices, "
            f"{BLANK} (blank) or {NOT_PRESENTED} (not presented)"
        )
    return matrix.astype(np.int16, copy=False)


@dataclass(frozen=True, slots=True, eq=False)
class ScoredResponses:
    """0/1 correctness and the presentation mask of a response matrix.

    ``correct[i, j]`` is 1.0 when attempt ``i`` chose the best option of item ``j`` (blank and
    not presented count 0); ``presented[i, j]`` is False where the form did not carry the item.
    """

    correct: FloatArray
    presented: BoolArray

    @property
    def number_correct(self) -> FloatArray:
        """Items answered correctly per attempt."""
        total: FloatArray = self.correct.sum(axis=1)
        return total

    @property
    def n_presented(self) -> IntArray:
        """Items presented per attempt."""
        count: IntArray = self.presented.sum(axis=1).astype(np.int64)
        return count


def best_options(
    n_items: int, keys: ArrayLike | None = None, option_points: ArrayLike | None = None
) -> IntArray:
    """The correct option of each item: ``keys`` or the argmax of each row of ``option_points``.

    Exactly one of ``keys`` (``J`` option indices) and ``option_points`` (``J × K`` points,
    NaN for options an item does not have) must be given.
    """
    if (keys is None) == (option_points is None):
        raise IntegrityInputError("give either keys or option_points (exactly one)")
    if keys is not None:
        best = np.asarray(keys, dtype=np.int64).reshape(-1)
    else:
        points = np.asarray(option_points, dtype=np.float64)
        if points.ndim != 2:
            raise IntegrityInputError("option_points must be an items × options matrix")
        if np.any(np.all(np.isnan(points), axis=1)):
            bad = int(np.flatnonzero(np.all(np.isnan(points), axis=1))[0])
            raise IntegrityInputError(f"option_points row {bad} has no option")
        best = np.nanargmax(points, axis=1).astype(np.int64)
    if best.size != n_items:
        raise IntegrityInputError(f"{best.size} keys for {n_items} items")
    if best.size and int(best.min()) < 0:
        raise IntegrityInputError(f"key of item {int(np.argmin(best))} is negative")
    return best


def score_responses(
    responses: ArrayLike, keys: ArrayLike | None = None, option_points: ArrayLike | None = None
) -> ScoredResponses:
    """Correctness and presentation of every (attempt, item) cell; see :func:`best_options`."""
    matrix = as_responses(responses)
    best = best_options(matrix.shape[1], keys, option_points)
    correct = (matrix == best).astype(np.float64)
    return ScoredResponses(correct, matrix != NOT_PRESENTED)


def score_groups(scores: ArrayLike, n_groups: int) -> IntArray:
    """Groups ``0 .. n_groups - 1`` of nearly equal size by score (ties kept together).

    Group ``g`` holds the attempts whose mid-rank falls in the ``g``-th slice of ``[0, N)``, so
    candidates with the same score always share a group.
    """
    values = np.asarray(scores, dtype=np.float64).reshape(-1)
    if n_groups < 1:
        raise IntegrityInputError("n_groups must be at least 1")
    if values.size == 0:
        return np.zeros(0, dtype=np.int64)
    order = np.argsort(values, kind="stable")
    sorted_values = values[order]
    first = np.searchsorted(sorted_values, sorted_values, side="left")
    last = np.searchsorted(sorted_values, sorted_values, side="right")
    mid_rank = np.empty(values.size)
    mid_rank[order] = 0.5 * (first + last - 1)
    groups: IntArray = np.minimum(
        (mid_rank * n_groups / values.size).astype(np.int64), n_groups - 1
    )
    return groups


def readonly(array: ArrayT) -> ArrayT:
    """``array`` made read-only (results are shared values)."""
    array.setflags(write=False)
    return array
