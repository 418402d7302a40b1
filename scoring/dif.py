"""Differential item functioning by Mantel–Haenszel, with the ETS A/B/C classification.

An item shows DIF when candidates of equal ability but of different groups (region, gender,
category) have different chances of answering it correctly. Candidates are matched on their
total score; within each score level ``k`` the 2 × 2 table of group by right/wrong is

==========  ========  ========  =====
group       right     wrong     total
==========  ========  ========  =====
reference   ``A_k``   ``B_k``   ``n_Rk``
focal       ``C_k``   ``D_k``   ``n_Fk``
total       ``m_1k``  ``m_0k``  ``N_k``
==========  ========  ========  =====

and (Mantel & Haenszel 1959; Holland & Thayer 1988):

* the common odds ratio ``α_MH = Σ_k (A_k D_k / N_k) / Σ_k (B_k C_k / N_k)``;
* the ETS delta ``Δ_MH = -2.35 ln α_MH`` (MH D-DIF): negative when the item is harder for the
  focal group than for reference candidates of the same score, positive when easier;
* its standard error ``SE(Δ) = 2.35 √Var(ln α_MH)`` with the variance of Robins, Breslow &
  Greenland (1986): with ``P_k = (A_k + D_k)/N_k``, ``Q_k = (B_k + C_k)/N_k``, ``R_k = A_k D_k
  / N_k``, ``S_k = B_k C_k / N_k``, ``Var = ΣPR / (2(ΣR)²) + Σ(PS + QR) / (2 ΣR ΣS) + ΣQS /
  (2(ΣS)²)``;
* the MH chi-square with continuity correction, ``χ²_MH = (|Σ_k A_k - Σ_k E(A_k)| - 0.5)² /
  Σ_k Var(A_k)``, ``E(A_k) = n_Rk m_1k / N_k``, ``Var(A_k) = n_Rk n_Fk m_1k m_0k / (N_k²
  (N_k - 1))``, on one degree of freedom.

Levels where either group is empty carry no information and drop out. The ETS classification
(Zwick 2012, p. 7-8; Dorans & Holland 1993):

* **A** (negligible): ``|Δ| < 1`` or ``χ²_MH`` not significant at :data:`ALPHA`;
* **C** (large): ``|Δ| ≥ 1.5`` and ``|Δ|`` significantly greater than 1, i.e.
  ``(|Δ| - 1)/SE(Δ) > z`` at one-sided :data:`ALPHA` (``z = 1.645``);
* **B** (moderate): otherwise.

Purification (Holland & Thayer 1988; Zwick 2012, §3.1): the matching score first counts every
item; items classified B or C are then dropped from it and the statistics recomputed, the
studied item always counted in its own matching score (Holland & Thayer's recommendation, which
keeps MH unbiased under the Rasch model). Each focal group is compared with the reference group
on its own; candidates without a group label (``""``) and, per item, candidates not shown the
item are left out.

A flag is a question for item reviewers, not a verdict: DIF says the item measures something
besides the common ability for one group, which may be construct-relevant.

References
----------
Dorans, N. J. & Holland, P. W. (1993). DIF detection and description: Mantel-Haenszel and
standardization. In P. W. Holland & H. Wainer (Eds.), *Differential Item Functioning*
(pp. 35-66). Erlbaum.
Holland, P. W. & Thayer, D. T. (1988). Differential item performance and the Mantel-Haenszel
procedure. In H. Wainer & H. I. Braun (Eds.), *Test Validity* (pp. 129-145). Erlbaum.
Mantel, N. & Haenszel, W. (1959). Statistical aspects of the analysis of data from
retrospective studies of disease. *Journal of the National Cancer Institute* 22, 719-748.
Robins, J., Breslow, N. & Greenland, S. (1986). Estimators of the Mantel-Haenszel variance
consistent in both sparse data and large-strata limiting models. *Biometrics* 42, 311-323.
Zwick, R. (2012). *A Review of ETS Differential Item Functioning Assessment Procedures: Flagging
Rules, Minimum Sample Size Requirements, and Criterion Refinement*. ETS RR-12-08.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

import numpy as np
from numpy.typing import ArrayLike, NDArray

from scoring.integrity.common import IntegrityInputError, ScoredResponses, normal_isf, normal_sf

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

#: The ETS delta scale: ``Δ = -2.35 ln α`` (4 × the normal deviate of the logistic, Holland &
#: Thayer 1988).
DELTA_SCALE: Final = 2.35
#: Significance level of both ETS tests (zero DIF; ``|Δ|`` above 1).
ALPHA: Final = 0.05
#: ``|Δ|`` from which DIF is more than negligible.
B_DELTA: Final = 1.0
#: ``|Δ|`` from which DIF is large.
C_DELTA: Final = 1.5
#: Focal groups smaller than this are reported with ``small_sample`` set (Zwick 2012 reviews
#: minimums of 100-200 focal candidates).
MIN_FOCAL: Final = 100


class DIFClass(StrEnum):
    """ETS DIF category: A negligible, B moderate, C large."""

    A = "A"
    B = "B"
    C = "C"


@dataclass(frozen=True, slots=True, eq=False)
class DIFComparison:
    """One focal group against the reference group, per item.

    ``n_reference`` and ``n_focal`` count the candidates of each group; ``n_reference_item``
    and ``n_focal_item`` those shown each item. ``alpha`` (``α_MH``), ``delta`` (``Δ_MH``,
    negative = harder for the focal group), ``delta_se``, ``chi_square`` and ``p_value`` per
    item (NaN where not estimable: one group always right or always wrong at every level);
    ``dif_class`` the ETS category; ``matching_items`` the items the final matching score
    counted (all of them without purification).
    """

    reference: str
    focal: str
    n_reference: int
    n_focal: int
    n_reference_item: IntArray
    n_focal_item: IntArray
    alpha: FloatArray
    delta: FloatArray
    delta_se: FloatArray
    chi_square: FloatArray
    p_value: FloatArray
    dif_class: tuple[DIFClass, ...]
    matching_items: IntArray
    small_sample: bool

    @property
    def flagged(self) -> IntArray:
        """Items classified B or C."""
        rows: IntArray = np.array(
            [j for j, cls in enumerate(self.dif_class) if cls is not DIFClass.A], dtype=np.int64
        )
        return rows


@dataclass(frozen=True, slots=True, eq=False)
class DIFResult:
    """Every focal group against the reference group; ``purified`` says whether stage 2 ran."""

    reference: str
    comparisons: tuple[DIFComparison, ...]
    purified: bool


@dataclass(frozen=True, slots=True, eq=False)
class _Tables:
    alpha: FloatArray
    delta: FloatArray
    delta_se: FloatArray
    chi_square: FloatArray
    p_value: FloatArray
    n_ref: IntArray
    n_focal: IntArray


def _mantel_haenszel(
    correct: FloatArray,
    presented: BoolArray,
    score: NDArray[np.int64],
    reference: BoolArray,
    focal: BoolArray,
) -> _Tables:
    """MH statistics of every column of ``correct`` with per-row (or per-cell) ``score``."""
    n_items = correct.shape[1]
    levels = int(score.max(initial=0)) + 1
    strata = score if score.ndim == 2 else np.broadcast_to(score[:, None], correct.shape)
    cell = strata * n_items + np.arange(n_items)
    size = levels * n_items

    def table(rows: BoolArray, weights: FloatArray | None) -> FloatArray:
        keep = presented & rows[:, None]
        counted = np.bincount(
            cell[keep], weights=None if weights is None else weights[keep], minlength=size
        )
        return counted.reshape(levels, n_items).astype(np.float64)

    n_r = table(reference, None)
    n_f = table(focal, None)
    a = table(reference, correct)
    c = table(focal, correct)
    b, d = n_r - a, n_f - c
    n = n_r + n_f
    informative = (n_r > 0) & (n_f > 0) & (n > 1)
    safe_n = np.where(informative, n, 1.0)
    m1, m0 = a + c, b + d
    r = np.where(informative, a * d / safe_n, 0.0)
    s = np.where(informative, b * c / safe_n, 0.0)
    p = np.where(informative, (a + d) / safe_n, 0.0)
    q = np.where(informative, (b + c) / safe_n, 0.0)
    sum_r, sum_s = r.sum(axis=0), s.sum(axis=0)
    estimable = (sum_r > 0) & (sum_s > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        alpha = np.where(estimable, sum_r / sum_s, math.nan)
        var_log = (
            (p * r).sum(axis=0) / (2 * sum_r**2)
            + (p * s + q * r).sum(axis=0) / (2 * sum_r * sum_s)
            + (q * s).sum(axis=0) / (2 * sum_s**2)
        )
        expected = np.where(informative, n_r * m1 / safe_n, 0.0).sum(axis=0)
        variance = np.where(
            informative & (n > 1), n_r * n_f * m1 * m0 / (safe_n**2 * (safe_n - 1)), 0.0
        ).sum(axis=0)
        deviation = np.maximum(np.abs(a.sum(axis=0) - expected) - 0.5, 0.0)
        chi = np.where(variance > 0, deviation**2 / variance, math.nan)
    delta = -DELTA_SCALE * np.log(alpha)
    delta_se = np.where(estimable, DELTA_SCALE * np.sqrt(var_log), math.nan)
    return _Tables(
        alpha=alpha,
        delta=delta,
        delta_se=delta_se,
        chi_square=chi,
        p_value=2.0 * normal_sf(np.sqrt(chi)),
        n_ref=n_r.sum(axis=0).astype(np.int64),
        n_focal=n_f.sum(axis=0).astype(np.int64),
    )


def classify(
    delta: ArrayLike, delta_se: ArrayLike, p_value: ArrayLike, alpha: float = ALPHA
) -> tuple[DIFClass, ...]:
    """ETS A/B/C category of each item (rules in the module docstring); NaN Δ is A."""
    d = np.abs(np.asarray(delta, dtype=np.float64))
    se = np.asarray(delta_se, dtype=np.float64)
    p = np.asarray(p_value, dtype=np.float64)
    z = normal_isf(alpha)
    with np.errstate(divide="ignore", invalid="ignore"):
        above_one = (d - B_DELTA) / se > z
    negligible = np.isnan(d) | (d < B_DELTA) | ~(p < alpha)
    large = ~negligible & (d >= C_DELTA) & above_one
    return tuple(
        DIFClass.A if neg else DIFClass.C if big else DIFClass.B
        for neg, big in zip(negligible.tolist(), large.tolist(), strict=True)
    )


def _compare(
    scored: ScoredResponses,
    reference: BoolArray,
    focal: BoolArray,
    purify: bool,
    alpha: float,
) -> tuple[_Tables, tuple[DIFClass, ...], IntArray]:
    correct = scored.correct * scored.presented
    n_items = correct.shape[1]
    total = np.rint(correct.sum(axis=1)).astype(np.int64)
    tables = _mantel_haenszel(correct, scored.presented, total, reference, focal)
    classes = classify(tables.delta, tables.delta_se, tables.p_value, alpha)
    matching = np.arange(n_items, dtype=np.int64)
    if not purify:
        return tables, classes, matching
    dropped = np.array([cls is not DIFClass.A for cls in classes])
    if not dropped.any():
        return tables, classes, matching
    matching = np.flatnonzero(~dropped).astype(np.int64)
    purified = np.rint(correct[:, matching].sum(axis=1)).astype(np.int64)
    # The studied item always counts in its own matching score.
    score = purified[:, None] + np.where(dropped, np.rint(correct).astype(np.int64), 0)
    tables = _mantel_haenszel(correct, scored.presented, score, reference, focal)
    return tables, classify(tables.delta, tables.delta_se, tables.p_value, alpha), matching


def mantel_haenszel_dif(
    scored: ScoredResponses,
    groups: Sequence[str] | ArrayLike,
    reference: str,
    *,
    focal: Sequence[str] | None = None,
    purify: bool = True,
    alpha: float = ALPHA,
    min_focal: int = MIN_FOCAL,
) -> DIFResult:
    """MH DIF of every item for each focal group against ``reference``.

    Parameters
    ----------
    scored
        Correctness and presentation of ``N`` candidates on ``J`` items
        (:func:`scoring.integrity.common.score_responses`).
    groups
        ``N`` group labels (strings; ``""`` = no label, left out).
    reference
        The reference group's label.
    focal
        Focal groups to compare, in order (default: every other label, sorted).
    purify
        Run the second, purified stage.
    alpha, min_focal
        Significance level and the focal size below which ``small_sample`` is set.

    Returns
    -------
    DIFResult
    """
    labels = np.asarray(groups, dtype=str).reshape(-1)
    n_candidates = scored.correct.shape[0]
    if labels.size != n_candidates:
        raise IntegrityInputError(f"{labels.size} group labels for {n_candidates} candidates")
    is_reference = labels == reference
    if not is_reference.any():
        raise IntegrityInputError(f"no candidate is in the reference group {reference!r}")
    present = sorted(set(labels.tolist()) - {reference, ""})
    wanted = present if focal is None else list(focal)
    missing = [name for name in wanted if name not in present]
    if missing:
        raise IntegrityInputError(f"no candidate is in the focal group(s) {missing}")
    comparisons = []
    for name in wanted:
        is_focal = labels == name
        tables, classes, matching = _compare(scored, is_reference, is_focal, purify, alpha)
        comparisons.append(
            DIFComparison(
                reference=reference,
                focal=name,
                n_reference=int(is_reference.sum()),
                n_focal=int(is_focal.sum()),
                n_reference_item=tables.n_ref,
                n_focal_item=tables.n_focal,
                alpha=tables.alpha,
                delta=tables.delta,
                delta_se=tables.delta_se,
                chi_square=tables.chi_square,
                p_value=tables.p_value,
                dif_class=classes,
                matching_items=matching,
                small_sample=int(is_focal.sum()) < min_focal,
            )
        )
    return DIFResult(reference, tuple(comparisons), purify)
