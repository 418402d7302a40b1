"""Person fit: the standardized log-likelihood ``l_z`` of an answer pattern, and Snijders' ``l_z*``.

A pattern that fits the item response model gets the easy items right and misses the hard ones;
a candidate who knew the answers to some hard items in advance, or copied them, gets hard items
right and easy ones wrong. Drasgow, Levine & Williams (1985) standardize the log-likelihood of
the 0/1 pattern ``x`` at the ability ``θ̂``:

.. math::

    l_0 = \\sum_j [x_j \\ln P_j + (1 - x_j) \\ln Q_j],\\quad
    E = \\sum_j [P_j \\ln P_j + Q_j \\ln Q_j],\\quad
    V = \\sum_j P_j Q_j \\left(\\ln \\frac{P_j}{Q_j}\\right)^2,\\quad
    l_z = \\frac{l_0 - E}{\\sqrt V},

over the items presented (blank counts wrong), ``P_j = P_j(θ̂)``, ``Q_j = 1 - P_j``. Large
negative ``l_z`` means misfit. With ``θ̂`` estimated from the same answers, ``l_z``'s variance
is below 1 and the test is conservative; Snijders (2001) corrects it. For the maximum likelihood
``θ̂`` (``r_0 = 0``; Magis, Raîche & Béland 2012, eq. 9-12):

.. math::

    w_j = \\ln \\frac{P_j}{Q_j},\\quad r_j = \\frac{P'_j}{P_j Q_j},\\quad
    c_n = \\frac{\\sum_j P'_j w_j}{\\sum_j P'_j r_j},\\quad
    l_z^* = \\frac{\\sum_j (x_j - P_j) w_j}{\\sqrt{\\sum_j (w_j - c_n r_j)^2 P_j Q_j}},

with ``P'_j = a_j (P_j - c_j) Q_j / (1 - c_j)`` for the 3PL. Both are referred to the standard
normal; the flag rises below ``-`` :data:`LZ_CRITICAL` (one-sided 0.5 %).

Without IRT parameters the items get Rasch difficulties from their p-values by the PROX normal
approximation (Wright & Stone 1979, ch. 2; Linacre 1994): ``b_j = μ + X (logit_j - mean
logit)``, ``logit_j = ln((1 - p_j)/p_j)``, ``X = √(1 + V/2.89)`` with ``V`` the variance of
the attempts' score logits ``ln(r_i/(n_i - r_i))``; abilities are then the Rasch ML estimates.
Multiple-choice items can be guessed: pass ``guessing`` (``1/options``) to give the PROX items
that lower asymptote, or the flag rises for low scorers who guessed well.
All-correct and all-wrong patterns have no finite ML ability and carry no ``l_z`` (NaN).

References
----------
Drasgow, F., Levine, M. V. & Williams, E. A. (1985). Appropriateness measurement with
polychotomous item response models and standardized indices. *British Journal of Mathematical
and Statistical Psychology* 38, 67-86.
Linacre, J. M. (1994). PROX with missing data, or known item or person measures. *Rasch
Measurement Transactions* 8, 378.
Magis, D., Raîche, G. & Béland, S. (2012). A didactic presentation of Snijders's l_z* index of
person fit with emphasis on response model selection and ability estimation. *Journal of
Educational and Behavioral Statistics* 37, 57-81.
Snijders, T. A. B. (2001). Asymptotic null distribution of person fit statistics with estimated
person parameter. *Psychometrika* 66, 331-342.
Wright, B. D. & Stone, M. H. (1979). *Best Test Design*. MESA Press.
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
    IntegrityInputError,
    ScoredResponses,
    normal_sf,
)
from scoring.irt import DEFAULT_THETA_BOUND, ItemParams, probability

#: ``l_z`` (or ``l_z*``) below minus this is flagged: one-sided 0.5 % of the standard normal.
#: The lower tail of ``l_z*`` on about a hundred items is heavier than the normal one (the
#: simulations of :mod:`scoring.integrity_sim` flag about 1 % of honest attempts at the
#: nominal 1 % level's 2.326), so the nominal level is halved.
LZ_CRITICAL: Final = 2.576
_P_CLIP: Final = 1e-9
_PROX_P_CLIP: Final = 0.5
_MLE_ITERATIONS: Final = 100
_MLE_TOLERANCE: Final = 1e-7
_CHUNK: Final = 8192


@dataclass(frozen=True, slots=True, eq=False)
class PersonFit:
    """Person-fit figures of ``N`` attempts.

    ``theta`` the ML ability used (NaN when none is finite), ``lz`` the statistic (``l_z*`` when
    ``corrected``), ``p_value`` its lower normal tail, ``flag`` ``lz < -critical``, ``params``
    the item parameters used (PROX Rasch difficulties when none were given).
    """

    theta: FloatArray
    lz: FloatArray
    p_value: FloatArray
    flag: BoolArray
    corrected: bool
    params: ItemParams


def prox_difficulties(scored: ScoredResponses, guessing: float = 0.0) -> ItemParams:
    """Rasch difficulties from classical p-values by PROX (see the module docstring).

    With ``guessing = c > 0`` every item gets the lower asymptote ``c`` and the p-values and
    proportions correct are first corrected for it, ``(p - c)/(1 - c)`` (the classical
    correction for guessing; Lord 1980, eq. 2-2), so low scorers' lucky guesses on hard items
    are not read as misfit.
    """
    if not 0.0 <= guessing < 1.0:
        raise IntegrityInputError(f"guessing must lie in [0, 1), not {guessing}")
    presented = scored.presented
    seen = presented.sum(axis=0)
    if np.any(seen == 0):
        raise IntegrityInputError(f"item {int(np.argmax(seen == 0))} was presented to nobody")
    right = (scored.correct * presented).sum(axis=0)
    p = (right / seen - guessing) / (1.0 - guessing)
    p = np.clip(p, _PROX_P_CLIP / seen, 1.0 - _PROX_P_CLIP / seen)
    logit = np.log((1.0 - p) / p)
    n = scored.n_presented.astype(np.float64)
    r = (scored.number_correct - guessing * n) / (1.0 - guessing)
    r = np.clip(r, 0.5, np.maximum(n - 0.5, 0.5))
    with np.errstate(divide="ignore", invalid="ignore"):
        person_logit = np.log(r / np.maximum(n - r, 1e-9))
    usable = n > 1
    spread = float(np.var(person_logit[usable])) if np.any(usable) else 0.0
    expansion = math.sqrt(1.0 + spread / 2.89)
    b = expansion * (logit - logit.mean())
    return ItemParams(np.ones(b.size), b, np.full(b.size, guessing))


def _ml_abilities(x: FloatArray, mask: FloatArray, items: ItemParams) -> FloatArray:
    """Maximum likelihood abilities by Fisher scoring (Lord 1980, ch. 5), NaN without one.

    ``θ ← θ + Σ_j a_j (x_j - P_j)(P_j - c_j)/(P_j(1 - c_j)) / I(θ)``, steps capped at 1, from
    the logit of the proportion correct; an attempt leaves the iteration once its step is below
    1e-7. All-correct, all-wrong and runaway patterns (beyond ``±`` the bound) get NaN.
    """
    n_seen = mask.sum(axis=1)
    right = (x * mask).sum(axis=1)
    theta = np.full(x.shape[0], math.nan)
    active = np.flatnonzero((right > 0) & (right < n_seen))
    share = (right[active] + 0.5) / (n_seen[active] + 1.0)
    current = float(np.mean(items.b)) + np.log(share / (1.0 - share))
    c = items.c
    for _ in range(_MLE_ITERATIONS):
        if active.size == 0:
            break
        p = np.clip(probability(current, items), _P_CLIP, 1.0 - _P_CLIP)
        lifted = (p - c) / (1.0 - c)
        m = mask[active]
        score = (m * items.a * (x[active] - p) * lifted / p).sum(axis=1)
        info = (m * items.a**2 * lifted**2 * (1.0 - p) / p).sum(axis=1)
        step = np.clip(score / np.maximum(info, 1e-12), -1.0, 1.0)
        current = current + step
        done = (np.abs(step) < _MLE_TOLERANCE) | (np.abs(current) > DEFAULT_THETA_BOUND)
        theta[active[done]] = current[done]
        active, current = active[~done], current[~done]
    theta[active] = current
    return np.where(np.abs(theta) > DEFAULT_THETA_BOUND, math.nan, theta)


def _lz(
    x: FloatArray, mask: FloatArray, ability: FloatArray, items: ItemParams, corrected: bool
) -> FloatArray:
    finite = np.isfinite(ability)
    p = np.clip(probability(np.where(finite, ability, 0.0), items), _P_CLIP, 1.0 - _P_CLIP)
    q = 1.0 - p
    w = np.log(p / q)
    numerator = (mask * (x - p) * w).sum(axis=1)
    if corrected:
        c = items.c
        slope = items.a * (p - c) * q / (1.0 - c)
        r = slope / (p * q)
        c_n = (mask * slope * w).sum(axis=1) / np.maximum((mask * slope * r).sum(axis=1), 1e-300)
        variance = (mask * (w - c_n[:, None] * r) ** 2 * p * q).sum(axis=1)
    else:
        variance = (mask * p * q * w * w).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        lz: FloatArray = np.where(finite & (variance > 0), numerator / np.sqrt(variance), math.nan)
    return lz


def person_fit(
    scored: ScoredResponses,
    params: ItemParams | None = None,
    *,
    theta: ArrayLike | None = None,
    corrected: bool = True,
    critical: float = LZ_CRITICAL,
    guessing: float = 0.0,
) -> PersonFit:
    """``l_z`` or ``l_z*`` of every attempt (formulas in the module docstring).

    Parameters
    ----------
    scored
        Correctness and presentation (:func:`scoring.integrity.common.score_responses`).
    params
        IRT parameters of the ``J`` items; PROX Rasch difficulties from the data when omitted.
    theta
        Abilities to use; the ML estimates when omitted (Fisher scoring as in
        :func:`scoring.irt.estimate_abilities`, by blocks of attempts). ``l_z*`` assumes ML
        abilities.
    corrected
        Snijders' ``l_z*`` (default) or the plain ``l_z``.
    critical
        Flag below ``-critical``.
    guessing
        Lower asymptote of the PROX items when ``params`` is omitted (``1/options`` for
        multiple-choice items answered by blind guessing; 0 for weighted items).

    Returns
    -------
    PersonFit
    """
    items = prox_difficulties(scored, guessing) if params is None else params
    if len(items) != scored.correct.shape[1]:
        raise IntegrityInputError(
            f"{len(items)} item parameters for {scored.correct.shape[1]} items"
        )
    n_attempts = scored.correct.shape[0]
    if theta is not None:
        given = np.asarray(theta, dtype=np.float64).reshape(-1)
        if given.size != n_attempts:
            raise IntegrityInputError(f"{given.size} abilities for {n_attempts} attempts")
    ability = np.full(n_attempts, math.nan)
    lz = np.full(n_attempts, math.nan)
    for start in range(0, n_attempts, _CHUNK):
        rows = slice(start, min(start + _CHUNK, n_attempts))
        x = scored.correct[rows]
        mask = scored.presented[rows].astype(np.float64)
        block = _ml_abilities(x, mask, items) if theta is None else given[rows]
        ability[rows] = block
        lz[rows] = _lz(x, mask, block, items, corrected)
    p_value = normal_sf(-lz)
    return PersonFit(
        theta=ability,
        lz=lz,
        p_value=p_value,
        flag=np.nan_to_num(lz, nan=0.0) < -critical,
        corrected=corrected,
        params=items,
    )
