"""Erasure index: answers changed from wrong to right more often than candidates like them do.

Ujian keeps every answer change with its server time. A change is a move from one chosen
option to another (or to blank); the first answer to an item is not a change. A change is
*wrong-to-right* (WTR) when it leaves an option that does not earn the item's highest points for
the one that does. Honest candidates change answers too, and better candidates' changes are
more often WTR, so an attempt's WTR count is compared with the WTR rate of the changes made by
the other attempts of its score group (:data:`SCORE_GROUPS` groups by number correct, the
attempt itself left out):

.. math:: z_i = \\frac{W_i - 0.5 - e_i π_{g(i)}}{\\sqrt{e_i π_{g(i)} (1 - π_{g(i)})}},

with ``W_i`` its WTR count, ``e_i`` its changes from an answered option and ``π_g`` the share of
WTR among the other changes of group ``g``; ``-0.5`` is the continuity correction of the
binomial. This is the standardized WTR count of the erasure-analysis literature (Bishop &
Egan 2017) with the reference rate conditioned on score, as Wollack, Cohen & Eckerly (2015)
condition on ability. The flag needs ``z`` above :data:`ERASURE_Z` (one-sided 0.1 %) and at
least :data:`MIN_WTR` WTR changes: two lucky corrections are never evidence.

References
----------
Bishop, S. & Egan, K. (2017). Detecting erasures and unusual gain scores. In G. J. Cizek &
J. A. Wollack (Eds.), *Handbook of Quantitative Methods for Detecting Cheating on Tests*
(pp. 193-213). Routledge.
Wollack, J. A., Cohen, A. S. & Eckerly, C. A. (2015). Detecting test tampering using item
response theory. *Educational and Psychological Measurement* 75, 931-953.
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
    normal_sf,
    score_groups,
)

#: Score groups within which the WTR rate is compared.
SCORE_GROUPS: Final = 10
#: ``z`` above which the erasure flag rises (one-sided 0.1 % of the normal).
ERASURE_Z: Final = 3.09
#: Fewest wrong-to-right changes that can raise the flag.
MIN_WTR: Final = 3


@dataclass(frozen=True, slots=True, eq=False)
class Erasures:
    """Answer changes of ``N`` attempts.

    ``changes`` from an answered option (to another option or to blank), of which
    ``wrong_to_right``, ``right_to_wrong`` and ``wrong_to_wrong``; ``expected_rate`` the WTR
    share of the other changes in the attempt's score group; ``z`` and ``p_value`` (upper
    normal tail); ``flag``.
    """

    changes: IntArray
    wrong_to_right: IntArray
    right_to_wrong: IntArray
    wrong_to_wrong: IntArray
    expected_rate: FloatArray
    z: FloatArray
    p_value: FloatArray
    flag: BoolArray


def erasure_index(
    event_attempt: ArrayLike,
    event_item: ArrayLike,
    event_option: ArrayLike,
    event_time: ArrayLike,
    *,
    best_option: ArrayLike,
    total_score: ArrayLike,
    n_groups: int = SCORE_GROUPS,
    z_critical: float = ERASURE_Z,
    min_wtr: int = MIN_WTR,
) -> Erasures:
    """WTR counts and the erasure index of every attempt (formula in the module docstring).

    Parameters
    ----------
    event_attempt, event_item, event_option, event_time
        One entry per saved answer: the attempt row, the item column, the option chosen
        (-1 when the answer was cleared) and its server time (any increasing number). Events
        need not be sorted.
    best_option
        ``J`` correct options (:func:`scoring.integrity.common.best_options`).
    total_score
        ``N`` final scores (number correct), which define the score groups and ``N``.
    n_groups, z_critical, min_wtr
        The thresholds documented as module constants.

    Returns
    -------
    Erasures
    """
    attempt = np.asarray(event_attempt, dtype=np.int64).reshape(-1)
    item = np.asarray(event_item, dtype=np.int64).reshape(-1)
    option = np.asarray(event_option, dtype=np.int64).reshape(-1)
    when = np.asarray(event_time, dtype=np.float64).reshape(-1)
    best = np.asarray(best_option, dtype=np.int64).reshape(-1)
    scores = np.asarray(total_score, dtype=np.float64).reshape(-1)
    n_attempts = scores.size
    if not attempt.size == item.size == option.size == when.size:
        raise IntegrityInputError("event arrays differ in length")
    if attempt.size and (attempt.min() < 0 or attempt.max() >= n_attempts):
        bad = int(np.flatnonzero((attempt < 0) | (attempt >= n_attempts))[0])
        raise IntegrityInputError(f"event {bad} names attempt row {attempt[bad]} of {n_attempts}")
    if item.size and (item.min() < 0 or item.max() >= best.size):
        bad = int(np.flatnonzero((item < 0) | (item >= best.size))[0])
        raise IntegrityInputError(f"event {bad} names item {item[bad]} of {best.size}")
    if option.size and option.min() < -1:
        bad = int(np.argmin(option))
        raise IntegrityInputError(f"event {bad} has option {option[bad]} (options ≥ 0, -1 clear)")
    # Only (attempt, item) cells saved more than once can hold a change: sort just those.
    cell = attempt * best.size + item
    repeated = np.bincount(cell, minlength=n_attempts * best.size)[cell] > 1
    keep = np.flatnonzero(repeated)
    order = keep[np.lexsort((when[keep], cell[keep]))]
    attempt, item, option = attempt[order], item[order], option[order]
    same_cell = (attempt[1:] == attempt[:-1]) & (item[1:] == item[:-1])
    before, after = option[:-1], option[1:]
    change = same_cell & (before >= 0) & (before != after)
    was_right = before == best[item[:-1]]
    now_right = after == best[item[:-1]]
    who = attempt[:-1]

    def count(mask: BoolArray) -> IntArray:
        counted: IntArray = np.bincount(who[mask], minlength=n_attempts).astype(np.int64)
        return counted

    changes = count(change)
    wtr = count(change & ~was_right & now_right)
    rtw = count(change & was_right)
    wtw = changes - wtr - rtw
    groups = score_groups(scores, n_groups)
    n_g = int(groups.max(initial=0)) + 1
    group_wtr = np.bincount(groups, weights=wtr, minlength=n_g)[groups]
    group_changes = np.bincount(groups, weights=changes, minlength=n_g)[groups]
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = (group_wtr - wtr) / (group_changes - changes)
        rate = np.where(group_changes - changes > 0, rate, math.nan)
        spread = np.sqrt(changes * rate * (1.0 - rate))
        z = np.where((changes > 0) & (spread > 0), (wtr - 0.5 - changes * rate) / spread, math.nan)
        # Nobody else in the group ever changed to the key: any WTR change is beyond the model.
        z = np.where((rate == 0) & (wtr > 0), math.inf, z)
    return Erasures(
        changes=changes,
        wrong_to_right=wtr,
        right_to_wrong=rtw,
        wrong_to_wrong=wtw,
        expected_rate=rate,
        z=z,
        p_value=normal_sf(z),
        flag=(np.nan_to_num(z, nan=-np.inf) > z_critical) & (wtr >= min_wtr),
    )
