"""Answer similarity between neighbouring seats: Wollack's ω, the GBT and a likelihood ratio.

Who sat next to whom
--------------------
:func:`neighbour_pairs` turns seat numbers into pairs of attempt rows. Seats are numbered from 1
in rows of ``row_length`` (seat ``s`` is in row ``(s - 1) // row_length``, column ``(s - 1) %
row_length``); neighbours are left-right in a row and front-back in a column (and the diagonals
on request). A room laid out otherwise passes a seat map, the explicit list of neighbouring seat
pairs, per sitting. Only attempts of the same sitting are paired.

How similar is too similar
--------------------------
For a *copier* ``c`` and a *source* ``s``, let ``m_j = 1`` when both gave the same (non-blank)
answer to item ``j``. Under independent work ``c`` matches ``s`` on item ``j`` with probability
``π_j = P(c chooses x_sj on item j)``. Wollack (1997) takes it from the nominal response model
at ``c``'s ability; here it comes from the data, as in Frary, Tideman & Watts' (1977) ``g_2``:
the share of the attempts in ``c``'s score group (:data:`SCORE_GROUPS` groups of equal size by
proportion correct) that chose that option, smoothed by half a count per option
(:class:`OptionModel`). Three figures follow.

**Wollack's ω** (1997, eq. 3), the standardized number of matches ``h = Σ_j m_j``:

.. math:: ω_{cs} = \\frac{h - \\sum_j π_j}{\\sqrt{\\sum_j π_j (1 - π_j)}}.

**The generalized binomial test** (van der Linden & Sotaridona 2006): ``h`` referred to its
exact null distribution, the sum of independent Bernoulli(``π_j``), ``P(H ≥ h)``, computed by
the convolution ``f_j(k) = f_{j-1}(k)(1 - π_j) + f_{j-1}(k - 1) π_j``
(:func:`generalized_binomial_tail`). It costs ``J²`` per pair and is reported for flagged pairs.

**The likelihood-ratio statistic**, which raises the flag. ω and the GBT count a match on an
answer nearly everyone gives as much as a shared rare wrong answer. If ``c`` copied each item
with probability ``γ``, a match has probability ``γ + (1 - γ)π_j``, and by the Neyman–Pearson
lemma (Lehmann & Romano 2005, §3.2) the most powerful test against that alternative rejects for
large

.. math:: S_{cs} = \\sum_j m_j w_j,\\qquad w_j = \\ln\\left(1 + \\frac{γ}{(1 - γ) π_j}\\right),

so a shared answer that only 5 % of candidates like ``c`` would give weighs about five times a
match on the key that 80 % would give (``γ`` = :data:`COPY_SHARE`). ``S`` is a weighted sum
of independent Bernoulli variables, skewed to the right. Directions less than
:data:`SADDLE_SCREEN_Z` standard deviations above its mean are nowhere near a flag and are
reported as p = 1; for the others the upper tail is taken by the saddlepoint approximation of
Lugannani & Rice (1980) with cumulant generating function ``K(t) = Σ_j ln(1 - π_j + π_j e^{t
w_j})``: solve ``K'(t̂) = S``, then

.. math:: P(S' ≥ S) ≈ 1 - Φ(r) + φ(r)\\left(\\frac1u - \\frac1r\\right),\\quad
          r = \\operatorname{sign}(t̂)\\sqrt{2(t̂ S - K(t̂))},\\quad u = t̂\\sqrt{K''(t̂)}

(Butler 2007, §1.2), accurate in the far tail where a normal approximation is not.

Which of two neighbours copied is not known, so both directions are tested and the pair's
p-value is ``min(1, 2 min(p_cs, p_sc))`` (Bonferroni over the two directions). A pair is
flagged below :data:`PAIR_ALPHA`; both attempts of a flagged pair are flagged, and the report
names the neighbour. The count of identical *wrong* answers is reported beside it because a
committee reads it at once (Holland 1996): copying shows in shared mistakes.

References
----------
Butler, R. W. (2007). *Saddlepoint Approximations with Applications*. Cambridge University
Press.
Frary, R. B., Tideman, T. N. & Watts, T. M. (1977). Indices of cheating on multiple-choice tests.
*Journal of Educational Statistics* 2, 235-256.
Holland, P. W. (1996). *Assessing unusual agreement between the incorrect answers of two
examinees using the K-index*. ETS Program Statistics Research TR 96-4.
Lehmann, E. L. & Romano, J. P. (2005). *Testing Statistical Hypotheses*, 3rd ed. Springer.
Lugannani, R. & Rice, S. (1980). Saddle point approximation for the distribution of the sum of
independent random variables. *Advances in Applied Probability* 12, 475-490.
van der Linden, W. J. & Sotaridona, L. (2006). Detecting answer copying when the regular
response process follows a known response model. *Journal of Educational and Behavioral
Statistics* 31, 283-304.
Wollack, J. A. (1997). A nominal response model approach for detecting answer copying. *Applied
Psychological Measurement* 21, 307-320.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import ArrayLike, NDArray

from scoring.integrity.common import (
    NOT_PRESENTED,
    BoolArray,
    FloatArray,
    IntArray,
    IntegrityInputError,
    as_responses,
    best_options,
    normal_sf,
    score_groups,
)

#: Score groups of the option model (groups of equal size by proportion correct).
SCORE_GROUPS: Final = 10
#: Pseudo-count added to every option of an item in a score group.
SMOOTHING: Final = 0.5
#: Share of answers copied that the likelihood-ratio statistic is most powerful against.
COPY_SHARE: Final = 0.3
#: A pair of neighbours is flagged when its two-direction p-value is below this. Chosen by the
#: simulations of :mod:`scoring.integrity_sim`: with about four neighbours per seat it keeps
#: the share of uninvolved candidates flagged under 1 %.
PAIR_ALPHA: Final = 0.004
#: Directions whose likelihood-ratio statistic is below this many standard deviations above its
#: mean get no tail computation: the sum is skewed to the right, so their tail exceeds the
#: normal 2.3 %, ten times the per-direction flagging level (reported as p = 1).
SADDLE_SCREEN_Z: Final = 2.0
_SADDLE_ITERATIONS: Final = 60
_SADDLE_MIN_T: Final = 1e-3
_CHUNK: Final = 2048
_MODEL_CHUNK: Final = 16_384


@dataclass(frozen=True, slots=True, eq=False)
class OptionModel:
    """Option choices by score group: ``counts[g, j, k]`` attempts of group ``g`` chose option
    ``k`` of item ``j``, ``seen[g, j]`` were shown it; ``groups[i]`` is attempt ``i``'s group.
    """

    counts: FloatArray
    seen: FloatArray
    groups: IntArray
    smoothing: float

    @property
    def probs(self) -> FloatArray:
        """``probs[g, j, k] = (counts + smoothing) / (seen + smoothing K)``."""
        k = self.counts.shape[2]
        shares: FloatArray = (self.counts + self.smoothing) / (
            self.seen[:, :, None] + self.smoothing * k
        )
        return shares


@dataclass(frozen=True, slots=True, eq=False)
class Similarity:
    """Similarity of neighbouring pairs and, per attempt, its most similar neighbour.

    Per pair (rows of ``pairs``, two attempt rows each): ``matches`` identical non-blank
    answers, ``identical_wrong`` identical wrong answers, ``compared`` items both were shown,
    ``omega[:, 0]`` for the first attempt copying from the second and ``omega[:, 1]`` the
    reverse, ``gbt_p`` the GBT's exact p-values in the same two directions (flagged pairs
    only, NaN elsewhere), ``p_value`` the pair's two-direction p-value of the likelihood-ratio
    statistic, ``flag``. Per attempt: ``neighbour`` (row of the neighbour in the
    most similar pair, -1 if none), ``pair`` (that pair's index), ``best_p`` and ``flag``.
    """

    pairs: IntArray
    matches: IntArray
    identical_wrong: IntArray
    compared: IntArray
    omega: FloatArray
    gbt_p: FloatArray
    p_value: FloatArray
    flag: BoolArray
    neighbour: IntArray
    pair: IntArray
    best_p: FloatArray
    attempt_flag: BoolArray


def neighbour_pairs(
    sitting: ArrayLike,
    seat: ArrayLike,
    *,
    row_length: int | None = None,
    seat_map: Mapping[int, ArrayLike] | None = None,
    diagonal: bool = False,
) -> IntArray:
    """Pairs of attempt rows seated next to each other in the same sitting.

    Parameters
    ----------
    sitting
        Sitting id of each attempt (integers).
    seat
        Seat number of each attempt (from 1; 0 or negative = no seat, never paired).
    row_length
        Seats per row of the row layout, used for sittings without a seat map.
    seat_map
        Per sitting id, a ``Q × 2`` array of neighbouring seat-number pairs.
    diagonal
        Also pair diagonal neighbours in the row layout.

    Returns
    -------
    ndarray
        ``P × 2`` attempt rows, first < second, sorted.
    """
    sittings = np.asarray(sitting, dtype=np.int64).reshape(-1)
    seats = np.asarray(seat, dtype=np.int64).reshape(-1)
    if sittings.size != seats.size:
        raise IntegrityInputError(f"{sittings.size} sittings for {seats.size} seats")
    if row_length is None and not seat_map:
        raise IntegrityInputError("give row_length, a seat_map, or both")
    if row_length is not None and row_length < 1:
        raise IntegrityInputError("row_length must be at least 1")
    seated = np.flatnonzero(seats > 0)
    if seated.size == 0:
        return np.zeros((0, 2), dtype=np.int64)
    top_seat = int(seats.max()) + 2
    codes, sitting_code = np.unique(sittings[seated], return_inverse=True)
    key = sitting_code.astype(np.int64) * top_seat + seats[seated]
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    duplicate = np.flatnonzero(sorted_key[1:] == sorted_key[:-1])
    if duplicate.size:
        row = int(seated[order[duplicate[0]]])
        raise IntegrityInputError(
            f"two attempts in seat {int(seats[row])} of sitting {int(sittings[row])}"
        )

    def lookup(code: IntArray, seat_no: IntArray) -> IntArray:
        wanted = code * top_seat + seat_no
        at = np.minimum(np.searchsorted(sorted_key, wanted), sorted_key.size - 1)
        found = (sorted_key[at] == wanted) & (seat_no > 0) & (seat_no < top_seat)
        rows: IntArray = np.where(found, seated[order[at]], -1)
        return rows

    mapped = np.zeros(codes.size, dtype=bool)
    found_pairs: list[IntArray] = []
    for sitting_id, seat_pairs in (seat_map or {}).items():
        where = np.searchsorted(codes, sitting_id)
        if where >= codes.size or codes[where] != sitting_id:
            continue
        mapped[where] = True
        listed = np.asarray(seat_pairs, dtype=np.int64)
        if listed.size == 0:
            continue
        if listed.ndim != 2 or listed.shape[1] != 2:
            raise IntegrityInputError(f"seat map of sitting {sitting_id} must be Q × 2 seats")
        code = np.full(listed.shape[0], where, dtype=np.int64)
        found_pairs.append(
            np.column_stack([lookup(code, listed[:, 0]), lookup(code, listed[:, 1])])
        )
    if row_length is not None:
        layout = ~mapped[sitting_code]
        rows_here = seated[layout]
        code = sitting_code[layout].astype(np.int64)
        seat_no = seats[rows_here]
        column = (seat_no - 1) % row_length
        steps = [(1, column < row_length - 1), (row_length, np.ones(seat_no.size, dtype=bool))]
        if diagonal:
            steps += [(row_length + 1, column < row_length - 1), (row_length - 1, column > 0)]
        for step, allowed in steps:
            other = lookup(code, np.where(allowed, seat_no + step, -1))
            found_pairs.append(np.column_stack([rows_here, other]))
    if not found_pairs:
        return np.zeros((0, 2), dtype=np.int64)
    pairs = np.concatenate(found_pairs)
    pairs = pairs[(pairs[:, 0] >= 0) & (pairs[:, 1] >= 0) & (pairs[:, 0] != pairs[:, 1])]
    pairs = np.sort(pairs, axis=1)
    unique: IntArray = np.unique(pairs, axis=0)
    return unique


def fit_option_model(
    responses: ArrayLike,
    correct: ArrayLike,
    *,
    n_options: int | None = None,
    n_groups: int = SCORE_GROUPS,
    smoothing: float = SMOOTHING,
) -> OptionModel:
    """Option choice shares by score group (see the module docstring).

    ``probs[g, j, k] = (n_gjk + smoothing) / (n_gj + smoothing K)``: ``n_gjk`` attempts of
    score group ``g`` chose option ``k`` of item ``j``, ``n_gj`` were shown the item (so the
    shares of the options leave room for blanks).

    Parameters
    ----------
    responses
        ``N × J`` response codes.
    correct
        ``N × J`` 0/1 correctness; the proportion correct over the items shown defines the
        score groups.
    n_options
        Options per item (default: the largest option index seen, plus one).
    n_groups, smoothing
        Score groups and the pseudo-count per option.
    """
    matrix = as_responses(responses)
    n_items = matrix.shape[1]
    k = int(matrix.max(initial=0)) + 1 if n_options is None else n_options
    if k < 1 or int(matrix.max(initial=0)) >= k:
        raise IntegrityInputError(f"responses use options beyond n_options = {k}")
    right_answers = np.asarray(correct)
    if right_answers.shape != matrix.shape:
        raise IntegrityInputError(f"correct is {right_answers.shape}, responses {matrix.shape}")
    n_shown = np.zeros(matrix.shape[0])
    right = np.zeros(matrix.shape[0])
    for start in range(0, matrix.shape[0], _MODEL_CHUNK):
        shown = matrix[start : start + _MODEL_CHUNK] != NOT_PRESENTED
        n_shown[start : start + _MODEL_CHUNK] = shown.sum(axis=1)
        right[start : start + _MODEL_CHUNK] = (
            (right_answers[start : start + _MODEL_CHUNK] > 0) & shown
        ).sum(axis=1)
    groups = score_groups(np.where(n_shown > 0, right / np.maximum(n_shown, 1), 0.0), n_groups)
    n_g = int(groups.max(initial=0)) + 1
    counts = np.zeros(n_g * n_items * k)
    seen = np.zeros(n_g * n_items)
    offsets = np.arange(n_items)
    for start in range(0, matrix.shape[0], _MODEL_CHUNK):
        block = matrix[start : start + _MODEL_CHUNK]
        cell = groups[start : start + _MODEL_CHUNK, None] * n_items + offsets
        answered = block >= 0
        counts += np.bincount(cell[answered] * k + block[answered], minlength=n_g * n_items * k)
        seen += np.bincount(cell[block != NOT_PRESENTED], minlength=n_g * n_items)
    counts = counts.reshape(n_g, n_items, k)
    return OptionModel(counts, seen.reshape(n_g, n_items), groups, smoothing)


def _cells(
    copier: NDArray[np.int16],
    source: NDArray[np.int16],
    copier_group: IntArray,
    shape: tuple[int, ...],
) -> IntArray:
    """Flat indices into ``(group, item, option)`` tables of each cell; 0 where it does not
    count (the tables hold a zero in front, at index 0)."""
    n_items, k = shape[1], shape[2]
    base = (copier_group * (n_items * k) + 1)[:, None] + np.arange(n_items) * k
    cell: IntArray = base + source
    cell[(source < 0) | (copier == NOT_PRESENTED)] = 0
    return cell


def _direction(
    copier: NDArray[np.int16], source: NDArray[np.int16], copier_group: IntArray, probs: FloatArray
) -> FloatArray:
    """``π_j`` of every item for each (copier, source) row; 0 where the item does not count."""
    n_items, k = probs.shape[1], probs.shape[2]
    valid = (source >= 0) & (copier != NOT_PRESENTED)
    cell = (copier_group[:, None] * n_items + np.arange(n_items)) * k + np.maximum(source, 0)
    pi: FloatArray = np.where(valid, probs.reshape(-1)[cell], 0.0)
    return pi


def generalized_binomial_tail(pi: FloatArray, observed: ArrayLike) -> FloatArray:
    """``P(H ≥ h)`` for ``H`` a sum of independent Bernoulli(``π_j``), row by row.

    Parameters
    ----------
    pi
        ``P × J`` success probabilities (0 for items that do not count).
    observed
        ``P`` observed counts ``h``.
    """
    probs = np.atleast_2d(np.asarray(pi, dtype=np.float64))
    h = np.asarray(observed, dtype=np.int64).reshape(-1)
    n_rows, n_items = probs.shape
    dist = np.zeros((n_rows, n_items + 1))
    dist[:, 0] = 1.0
    for j in range(n_items):
        p = probs[:, j : j + 1]
        updated = dist[:, : j + 2] * (1.0 - p)
        updated[:, 1:] += dist[:, : j + 1] * p
        dist[:, : j + 2] = updated
    upper = np.cumsum(dist[:, ::-1], axis=1)[:, ::-1]
    tail: FloatArray = np.clip(upper[np.arange(n_rows), np.clip(h, 0, n_items)], 0.0, 1.0)
    return np.where(h <= 0, 1.0, tail)


def weighted_bernoulli_tail(weights: FloatArray, pi: FloatArray, observed: ArrayLike) -> FloatArray:
    """``P(Σ_j w_j B_j ≥ s)`` for independent ``B_j ~`` Bernoulli(``π_j``), row by row.

    Lugannani–Rice saddlepoint approximation (module docstring); the normal approximation
    where ``s`` is within a hair of the mean (``t̂ < 1e-3``), and the exact ``Π π_j`` when ``s``
    is the largest value the sum can take.

    Parameters
    ----------
    weights, pi
        ``P × J`` non-negative weights and probabilities (``π = 0`` drops an item).
    observed
        ``P`` observed sums.
    """
    w = np.atleast_2d(np.asarray(weights, dtype=np.float64))
    p = np.clip(np.atleast_2d(np.asarray(pi, dtype=np.float64)), 0.0, 1.0 - 1e-12)
    x = np.asarray(observed, dtype=np.float64).reshape(-1)
    counted = p > 0
    w = np.where(counted, w, 0.0)
    mean = (w * p).sum(axis=1)
    variance = (w * w * p * (1.0 - p)).sum(axis=1)
    top = w.sum(axis=1)
    t = np.zeros(x.size)
    active = x > mean
    for _ in range(_SADDLE_ITERATIONS):
        e = np.exp(np.clip(t[:, None] * w, -700.0, 700.0))
        q = p * e / (1.0 - p + p * e)
        k1 = (w * q).sum(axis=1)
        k2 = (w * w * q * (1.0 - q)).sum(axis=1)
        step = np.where(active, np.clip((x - k1) / np.maximum(k2, 1e-300), -2.0, 2.0), 0.0)
        t = np.maximum(t + step, 0.0)
        if float(np.abs(step).max(initial=0.0)) < 1e-10:
            break
    e = np.exp(np.clip(t[:, None] * w, -700.0, 700.0))
    cgf = np.where(counted, np.log1p(p * (e - 1.0)), 0.0).sum(axis=1)
    q = p * e / (1.0 - p + p * e)
    k2 = (w * w * q * (1.0 - q)).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.sqrt(np.maximum(2.0 * (t * x - cgf), 0.0))
        u = t * np.sqrt(k2)
        density = np.exp(-0.5 * r * r) / math.sqrt(2.0 * math.pi)
        saddle = normal_sf(r) + density * (1.0 / u - 1.0 / r)
        normal = normal_sf((x - mean) / np.sqrt(variance))
    tail = np.where(active & (t > _SADDLE_MIN_T) & (r > 0), saddle, normal)
    all_matched = np.where(counted, np.log(np.maximum(p, 1e-300)), 0.0).sum(axis=1)
    tail = np.where(x >= top - 1e-9, np.exp(all_matched), tail)
    tail = np.where(variance > 0, tail, np.where(x <= mean, 1.0, 0.0))
    result: FloatArray = np.clip(np.nan_to_num(tail, nan=1.0), 0.0, 1.0)
    return result


def answer_similarity(
    responses: ArrayLike,
    pairs: ArrayLike,
    *,
    keys: ArrayLike | None = None,
    option_points: ArrayLike | None = None,
    model: OptionModel | None = None,
    pair_alpha: float = PAIR_ALPHA,
    copy_share: float = COPY_SHARE,
) -> Similarity:
    """ω and GBT for every pair of neighbours (formulas in the module docstring).

    Parameters
    ----------
    responses
        ``N × J`` response codes of every attempt of the exam (the option model is estimated
        from all of them, so pass the whole exam, not one room).
    pairs
        ``P × 2`` attempt rows (:func:`neighbour_pairs`).
    keys, option_points
        The correct options (exactly one of them).
    model
        A fitted :class:`OptionModel`; estimated from ``responses`` when omitted.
    pair_alpha, copy_share
        Flagging level of a pair and the ``γ`` of the likelihood-ratio statistic.

    Returns
    -------
    Similarity
    """
    matrix = as_responses(responses)
    n_attempts, n_items = matrix.shape
    best = best_options(n_items, keys, option_points)
    pair_rows = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    if pair_rows.size and (pair_rows.min() < 0 or pair_rows.max() >= n_attempts):
        raise IntegrityInputError(f"pairs name attempt rows outside 0..{n_attempts - 1}")
    if model is None:
        model = fit_option_model(
            matrix,
            matrix == best,
            n_options=max(int(matrix.max(initial=0)), int(best.max(initial=0))) + 1,
        )
    if model.groups.size != n_attempts or model.counts.shape[1] != n_items:
        raise IntegrityInputError("the option model was fitted on other responses")
    if not 0.0 < copy_share < 1.0:
        raise IntegrityInputError(f"copy_share must lie strictly between 0 and 1, not {copy_share}")
    probs = model.probs
    # Index 0 of the flat tables is the "does not count" cell (π = 0, w = 0).
    flat_probs = np.concatenate([[0.0], probs.reshape(-1)])
    flat_weights = np.concatenate(
        [[0.0], np.log1p(copy_share / ((1.0 - copy_share) * probs.reshape(-1)))]
    )
    n_pairs = pair_rows.shape[0]
    matches = np.zeros(n_pairs, dtype=np.int64)
    wrong = np.zeros(n_pairs, dtype=np.int64)
    compared = np.zeros(n_pairs, dtype=np.int64)
    omega = np.full((n_pairs, 2), math.nan)
    p_dir = np.ones((n_pairs, 2))
    for start in range(0, n_pairs, _CHUNK):
        rows = pair_rows[start : start + _CHUNK]
        first, second = matrix[rows[:, 0]], matrix[rows[:, 1]]
        same = (first == second) & (first >= 0)
        h = same.sum(axis=1)
        chunk = slice(start, start + rows.shape[0])
        matches[chunk] = h
        wrong[chunk] = (same & (first != best)).sum(axis=1)
        compared[chunk] = ((first != NOT_PRESENTED) & (second != NOT_PRESENTED)).sum(axis=1)
        groups = model.groups[rows]
        same_f = same.astype(np.float64)
        for side, (copier, source) in enumerate(((first, second), (second, first))):
            cell = _cells(copier, source, groups[:, side], probs.shape)
            pi = flat_probs[cell]
            weight = flat_weights[cell]
            pq = pi - pi * pi
            with np.errstate(divide="ignore", invalid="ignore"):
                omega[chunk, side] = (h - pi.sum(axis=1)) / np.sqrt(pq.sum(axis=1))
            statistic = np.einsum("ij,ij->i", same_f, weight)
            mean = np.einsum("ij,ij->i", weight, pi)
            spread = np.sqrt(np.einsum("ij,ij->i", weight * weight, pq))
            with np.errstate(divide="ignore", invalid="ignore"):
                z = np.where(spread > 0, (statistic - mean) / spread, -np.inf)
            # The sum is skewed to the right, so its tail is heavier than the normal one: a
            # direction below SADDLE_SCREEN_Z is nowhere near a flag and keeps p = 1.
            screened = np.flatnonzero(z >= SADDLE_SCREEN_Z)
            if screened.size:
                # A relative hair below the observed sum keeps the atom inside the upper tail.
                p_dir[start + screened, side] = weighted_bernoulli_tail(
                    weight[screened],
                    pi[screened],
                    statistic[screened] * (1.0 - 1e-12) - 1e-12,
                )
    p_value = np.minimum(1.0, 2.0 * p_dir.min(axis=1)) if n_pairs else np.zeros(0)
    flag = p_value < pair_alpha
    gbt = np.full((n_pairs, 2), math.nan)
    for start in range(0, int(flag.sum()), _CHUNK):
        rows_at = np.flatnonzero(flag)[start : start + _CHUNK]
        first, second = matrix[pair_rows[rows_at, 0]], matrix[pair_rows[rows_at, 1]]
        h = ((first == second) & (first >= 0)).sum(axis=1)
        groups = model.groups[pair_rows[rows_at]]
        for side, (copier, source) in enumerate(((first, second), (second, first))):
            pi = _direction(copier, source, groups[:, side], probs)
            gbt[rows_at, side] = generalized_binomial_tail(pi, h)
    neighbour = np.full(n_attempts, -1, dtype=np.int64)
    pair_of = np.full(n_attempts, -1, dtype=np.int64)
    best_p = np.full(n_attempts, math.nan)
    if n_pairs:
        ends = np.concatenate([pair_rows[:, 0], pair_rows[:, 1]])
        others = np.concatenate([pair_rows[:, 1], pair_rows[:, 0]])
        index = np.concatenate([np.arange(n_pairs), np.arange(n_pairs)])
        p_both = np.concatenate([p_value, p_value])
        order = np.lexsort((p_both, ends))
        first_of, at = np.unique(ends[order], return_index=True)
        neighbour[first_of] = others[order[at]]
        pair_of[first_of] = index[order[at]]
        best_p[first_of] = p_both[order[at]]
    return Similarity(
        pairs=pair_rows,
        matches=matches,
        identical_wrong=wrong,
        compared=compared,
        omega=omega,
        gbt_p=gbt,
        p_value=p_value,
        flag=flag,
        neighbour=neighbour,
        pair=pair_of,
        best_p=best_p,
        attempt_flag=np.nan_to_num(best_p, nan=1.0) < pair_alpha,
    )
