"""Item response theory: 1PL/2PL/3PL models, calibration by marginal maximum likelihood, abilities.

The models
----------
A dichotomous item ``j`` answered by a candidate of ability ``θ`` is correct with probability

.. math:: P_j(θ) = c_j + (1 - c_j)\\,σ(a_j(θ - b_j)),\\qquad σ(z) = 1 / (1 + e^{-z})

(Birnbaum's three-parameter logistic model; Lord 1980, eq. 2-1), with discrimination ``a``,
difficulty ``b`` and lower asymptote ("guessing") ``c``. The 2PL fixes ``c = 0``; the 1PL also
gives every item one common ``a``; the Rasch model fixes ``a = 1`` and lets the spread of
abilities be estimated instead. Parameters are on the logistic metric (no ``D = 1.7``), as
girth, catsim and mirt report them. Fisher information of an item (Lord 1980, eq. 5-6; Baker &
Kim 2004, eq. 2.16):

.. math:: I_j(θ) = a_j^2\\,\\frac{(P_j - c_j)^2}{(1 - c_j)^2}\\,\\frac{1 - P_j}{P_j}.

Calibration
-----------
:func:`calibrate` estimates item parameters by marginal maximum likelihood with the EM algorithm
of Bock & Aitkin (1981): abilities are integrated out over ``Q`` equally spaced quadrature nodes
``θ_q`` with standard normal weights ``W_q`` (which fixes the scale). Each E-step computes every
candidate's posterior over the nodes at once, the log-likelihood of all candidates being two
matrix products,

.. math:: \\log L_{iq} = \\sum_j x_{ij} [\\log P_{jq} - \\log Q_{jq}] + \\sum_j m_{ij} \\log Q_{jq},

with ``x`` the 0/1 responses (0 where not presented), ``m`` the presentation mask and
``Q = 1 - P``, so missing responses (every candidate sits their own form) simply drop out. The
expected counts at each node are two more products, ``n_{qj} = Σ_i π_{iq} m_{ij}`` presented and
``r_{qj} = Σ_i π_{iq} x_{ij}`` correct (Baker & Kim 2004, ch. 6). The M-step maximizes, for all
items at once, ``Σ_q r_{qj} \\log P_{jq} + (n_{qj} - r_{qj}) \\log Q_{jq}`` plus the log priors,
by Fisher scoring with step halving in slope-intercept form (``a``, ``d = -a b`` and, for the
3PL, ``γ = logit c``). EM is accelerated by SQUAREM (Varadhan & Roland 2008), which keeps EM's
monotone increase of the (penalized) likelihood by falling back to a plain EM step whenever an
extrapolation would lower it.

The 3PL takes the priors of BILOG-MG (Zimowski et al. 2003; Baker & Kim 2004, ch. 7): ``log a ~
N(0, 0.5²)`` and ``c ~ Beta(20/k + 1, 20(1 - 1/k) + 1)`` for ``k`` options (Beta(5, 17) for five),
so estimates are posterior modes. Standard errors come from each item's block of the observed
information by Louis's (1982) formula, which for a dichotomous item reduces to

.. math:: \\mathcal{I}_j = -\\sum_q w_{qj}\\,\\nabla^2 P_{jq} + \\sum_i g_{ij} g_{ij}^T
          - \\nabla^2 \\log p(ξ_j),\\qquad w_{qj} = \\frac{r_{qj} - n_{qj} P_{jq}}{P_{jq} Q_{jq}},

where ``g_{ij} = Σ_q π_{iq} ∇ \\log P(x_{ij} | θ_q)`` is candidate ``i``'s posterior score for the
item; the blocks treat the other items' parameters as known, as item standard errors usually
do. ``b = -d/a`` and ``c = σ(γ)`` get theirs by the delta method.

Item fit
--------
Two statistics per item. **RMSD** (the root mean squared deviation used in PISA and NAEP) is the
distance between the item's observed and model trace lines, weighted by the posterior density of
the candidates who saw it: ``√(Σ_q n_q (r_q/n_q - P_q)² / Σ_q n_q)``; it does not grow with the
sample, so it is what :data:`RMSD_MISFIT` flags. **Yen's Q1** (Yen 1981) groups the candidates
who saw the item into :data:`FIT_GROUPS` equal groups by ability and compares observed and
expected proportions correct, ``Q1 = Σ_g N_g (O_g - E_g)² / (E_g (1 - E_g))``, referred to a
chi-square with ``groups - parameters`` degrees of freedom. Here ability and expectation come
from each candidate's posterior *without the item's own answer* (see :func:`_item_fit`), so the
statistic keeps its null distribution on short tests; with tens of thousands of candidates its
p-value still rejects trivial misfit, so read it beside RMSD.

Abilities
---------
:func:`estimate_abilities` gives the expected a posteriori estimate (EAP; Bock & Mislevy 1982),
the posterior mean and standard deviation over the quadrature nodes, or the maximum likelihood
estimate (MLE; Lord 1980, ch. 5) by Fisher scoring, with ``SE = 1/√I(θ̂)``. An all-correct or
all-wrong pattern has no finite MLE: it is reported at the bound of the ability range.

References
----------
Baker, F. B. & Kim, S.-H. (2004). *Item Response Theory: Parameter Estimation Techniques*, 2nd ed.
Marcel Dekker.
Bock, R. D. & Aitkin, M. (1981). Marginal maximum likelihood estimation of item parameters:
application of an EM algorithm. *Psychometrika* 46, 443-459.
Bock, R. D. & Mislevy, R. J. (1982). Adaptive EAP estimation of ability in a microcomputer
environment. *Applied Psychological Measurement* 6, 431-444.
Lord, F. M. (1980). *Applications of Item Response Theory to Practical Testing Problems*.
Erlbaum.
Louis, T. A. (1982). Finding the observed information matrix when using the EM algorithm.
*Journal of the Royal Statistical Society B* 44, 226-233.
OECD (2017). *PISA 2015 Technical Report*, ch. 9 (item fit by RMSD).
Press, W. H. et al. (2007). *Numerical Recipes*, 3rd ed., §6.2 (incomplete gamma function).
Varadhan, R. & Roland, C. (2008). Simple and globally convergent methods for accelerating the
convergence of any EM algorithm. *Scandinavian Journal of Statistics* 35, 335-353.
Yen, W. M. (1981). Using simulation results to choose a latent trait model. *Applied
Psychological Measurement* 5, 245-262.
Zimowski, M. F., Muraki, E., Mislevy, R. J. & Bock, R. D. (2003). *BILOG-MG 3*. Scientific
Software International.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final

import numpy as np
from numpy.typing import ArrayLike, NDArray

from scoring.errors import ScoringError

FloatArray = NDArray[np.float64]

#: Quadrature nodes for calibration (mirt's and BILOG's usual 41 over ±6 is ample for 1-D).
DEFAULT_QUADRATURE: Final = 41
#: Ability range covered by the quadrature grid and where MLEs are clipped.
DEFAULT_THETA_BOUND: Final = 6.0
#: Quadrature nodes for ability estimation (a finer grid: the EAP of one candidate is cheap).
ABILITY_QUADRATURE: Final = 121
#: Ability groups of Yen's (1981) Q1 item-fit statistic.
FIT_GROUPS: Final = 10
#: RMSD above which an item is flagged as misfitting (PISA 2015's criterion; OECD 2017, ch. 9).
RMSD_MISFIT: Final = 0.12
#: Weight (in pseudo-observations) of the BILOG-MG default prior on ``c``.
C_PRIOR_WEIGHT: Final = 20.0

# Bounds keep the Newton iterations of degenerate items (everyone right, a stray negative
# discrimination) finite; a parameter at a bound says the data cannot place it.
_A_BOUNDS: Final = (-4.0, 8.0)
_D_BOUND: Final = 30.0
_GAMMA_BOUNDS: Final = (math.log(1e-4 / (1 - 1e-4)), math.log(0.6 / 0.4))
_EPS: Final = 1e-12
_M_STEP_ITERATIONS: Final = 25
_M_STEP_TOLERANCE: Final = 1e-8
_MAX_NEWTON_STEP: Final = 1.0
_HALVINGS: Final = 12
_SQUAREM_MAX_ALPHA: Final = 64.0
_MLE_ITERATIONS: Final = 100
_LOG_FLOOR: Final = -700.0


class CalibrationError(ScoringError):
    """The responses or settings handed to :func:`calibrate` cannot be calibrated."""


class IRTModel(StrEnum):
    """Which logistic model :func:`calibrate` fits.

    ``rasch``: ``a = 1`` for every item, the ability spread estimated (reported as
    :attr:`CalibrationResult.latent_sd`). ``1pl``: one common ``a``, abilities ``N(0, 1)``.
    ``2pl``: ``a`` and ``b`` per item. ``3pl``: ``a``, ``b`` and ``c`` per item, with priors.
    """

    RASCH = "rasch"
    ONE_PL = "1pl"
    TWO_PL = "2pl"
    THREE_PL = "3pl"


class AbilityMethod(StrEnum):
    """How :func:`estimate_abilities` estimates ability: posterior mean or maximum likelihood."""

    EAP = "eap"
    MLE = "mle"


# --------------------------------------------------------------------------------------------
# Item parameters and the model functions
# --------------------------------------------------------------------------------------------


def _frozen(values: ArrayLike, name: str, size: int | None = None) -> FloatArray:
    array = np.array(values, dtype=np.float64, copy=True).reshape(-1)
    if size is not None and array.size != size:
        raise ValueError(f"{name} must hold {size} values, not {array.size}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite")
    array.setflags(write=False)
    return array


@dataclass(frozen=True, slots=True, eq=False)
class ItemParams:
    """Parameters of a bank of dichotomous items as read-only arrays: ``a``, ``b``, ``c``.

    Row ``j`` of each array is item ``j``; ``c`` defaults to zeros (the 2PL). Arrays are copied
    and made read-only, so a value can be shared between requests.
    """

    a: FloatArray
    b: FloatArray
    c: FloatArray = field(default_factory=lambda: np.zeros(0))

    def __post_init__(self) -> None:
        a = _frozen(self.a, "a")
        b = _frozen(self.b, "b", a.size)
        c = np.zeros(a.size) if np.size(self.c) == 0 and a.size else self.c
        c = _frozen(c, "c", a.size)
        if np.any(c < 0) or np.any(c >= 1):
            raise ValueError("c must be in [0, 1)")
        object.__setattr__(self, "a", a)
        object.__setattr__(self, "b", b)
        object.__setattr__(self, "c", c)

    @classmethod
    def from_matrix(cls, matrix: ArrayLike) -> ItemParams:
        """Parameters from a ``(J, 2)`` or ``(J, 3)`` array of ``a, b[, c]`` rows."""
        rows = np.asarray(matrix, dtype=np.float64)
        if rows.ndim != 2 or rows.shape[1] not in (2, 3):
            raise ValueError("an item parameter matrix has rows of a, b or a, b, c")
        c = rows[:, 2] if rows.shape[1] == 3 else np.zeros(rows.shape[0])
        return cls(rows[:, 0], rows[:, 1], c)

    def __len__(self) -> int:
        return int(self.a.size)

    def take(self, rows: ArrayLike) -> ItemParams:
        """The parameters of ``rows`` (in that order)."""
        index = np.asarray(rows, dtype=np.intp)
        return ItemParams(self.a[index], self.b[index], self.c[index])

    def as_matrix(self) -> FloatArray:
        """A ``(J, 3)`` array of ``a, b, c`` rows."""
        return np.column_stack([self.a, self.b, self.c])


def _theta_column(theta: ArrayLike) -> FloatArray:
    return np.asarray(theta, dtype=np.float64).reshape(-1, 1)


def probability(theta: ArrayLike, params: ItemParams) -> FloatArray:
    """Probability of a correct answer, ``P_j(θ) = c_j + (1 - c_j) σ(a_j(θ - b_j))``.

    Parameters
    ----------
    theta
        Abilities, any shape (flattened).
    params
        The items.

    Returns
    -------
    ndarray
        Shape ``(len(theta), len(params))``.
    """
    z = params.a * (_theta_column(theta) - params.b)
    p: FloatArray = params.c + (1.0 - params.c) / (1.0 + np.exp(-z))
    return p


def information(theta: ArrayLike, params: ItemParams) -> FloatArray:
    """Fisher information of each item, ``a² (P - c)² (1 - P) / ((1 - c)² P)`` (Lord 1980, 5-6).

    Returns
    -------
    ndarray
        Shape ``(len(theta), len(params))``.
    """
    p = probability(theta, params)
    lifted = (p - params.c) / (1.0 - params.c)
    info: FloatArray = params.a**2 * lifted**2 * (1.0 - p) / np.maximum(p, _EPS)
    return info


def total_information(theta: ArrayLike, params: ItemParams) -> FloatArray:
    """Test information ``Σ_j I_j(θ)``; its inverse square root is the SE of the MLE there.

    (Not named ``test_information``, which a test runner would collect as a test.)
    """
    total: FloatArray = information(theta, params).sum(axis=1)
    return total


def expected_score(theta: ArrayLike, params: ItemParams) -> FloatArray:
    """Expected number correct (the test characteristic curve), ``Σ_j P_j(θ)``."""
    total: FloatArray = probability(theta, params).sum(axis=1)
    return total


def normal_quadrature(
    n_points: int, bound: float, mean: float = 0.0, sd: float = 1.0
) -> tuple[FloatArray, FloatArray]:
    """Equally spaced nodes on ``[-bound, bound]`` and normalized ``N(mean, sd²)`` log weights.

    Returns
    -------
    (nodes, log_weights)
        ``log_weights`` sum (after ``exp``) to one over the nodes.
    """
    if n_points < 3 or bound <= 0 or sd <= 0:
        raise ValueError("quadrature needs at least 3 points, a positive bound and sd")
    nodes = np.linspace(-bound, bound, n_points)
    log_w = -0.5 * ((nodes - mean) / sd) ** 2
    log_w -= np.log(np.exp(log_w - log_w.max()).sum()) + log_w.max()
    return nodes, log_w


# --------------------------------------------------------------------------------------------
# Priors, settings and the result value
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LogNormalPrior:
    """``log a ~ N(mean, sd²)`` on a discrimination (BILOG-MG's default for the 3PL: 0, 0.5)."""

    mean: float = 0.0
    sd: float = 0.5

    def __post_init__(self) -> None:
        if self.sd <= 0:
            raise ValueError("a prior's sd must be positive")


@dataclass(frozen=True, slots=True)
class BetaPrior:
    """``c ~ Beta(alpha, beta)`` on a lower asymptote (BILOG-MG's default: Beta(5, 17))."""

    alpha: float = 5.0
    beta: float = 17.0

    def __post_init__(self) -> None:
        if self.alpha < 1 or self.beta < 1:
            raise ValueError("a Beta prior on c needs alpha >= 1 and beta >= 1")

    @classmethod
    def for_options(cls, n_options: int) -> BetaPrior:
        """BILOG-MG's prior for ``k`` options: mean near ``1/k``, weight 20 pseudo-responses."""
        if n_options < 2:
            raise ValueError("an item needs at least two options")
        return cls(C_PRIOR_WEIGHT / n_options + 1.0, C_PRIOR_WEIGHT * (1 - 1 / n_options) + 1.0)


@dataclass(frozen=True, slots=True)
class CalibrationSettings:
    """How :func:`calibrate` runs. Stored with a calibration so it can be repeated exactly.

    ``tolerance`` bounds the largest change of any item parameter (``a``, ``d = -ab``,
    ``logit c``) over one EM cycle at convergence. For the 3PL, ``a_prior`` and ``c_prior``
    default to BILOG-MG's (a 3PL without priors is not identified in practice); the other models
    take an ``a_prior`` only if one is given, and never a ``c_prior``. ``diagnostics=False``
    skips standard errors and item fit (they come back ``nan``), for a quick look at estimates.
    """

    model: IRTModel = IRTModel.TWO_PL
    n_quadrature: int = DEFAULT_QUADRATURE
    theta_bound: float = DEFAULT_THETA_BOUND
    max_iterations: int = 500
    tolerance: float = 1e-4
    accelerate: bool = True
    a_prior: LogNormalPrior | None = None
    c_prior: BetaPrior | None = None
    fit_groups: int = FIT_GROUPS
    diagnostics: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "model", IRTModel(self.model))
        if self.n_quadrature < 5 or self.theta_bound <= 0:
            raise ValueError("calibration needs at least 5 quadrature points and a positive bound")
        if self.max_iterations < 1 or self.tolerance <= 0:
            raise ValueError("max_iterations and tolerance must be positive")
        if self.fit_groups < 2:
            raise ValueError("item fit needs at least two ability groups")
        if self.model is IRTModel.THREE_PL:
            if self.a_prior is None:
                object.__setattr__(self, "a_prior", LogNormalPrior())
            if self.c_prior is None:
                object.__setattr__(self, "c_prior", BetaPrior())
        else:
            object.__setattr__(self, "c_prior", None)
            if self.model in (IRTModel.RASCH, IRTModel.ONE_PL):
                object.__setattr__(self, "a_prior", None)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready settings."""
        return {
            "model": str(self.model),
            "n_quadrature": self.n_quadrature,
            "theta_bound": self.theta_bound,
            "max_iterations": self.max_iterations,
            "tolerance": self.tolerance,
            "accelerate": self.accelerate,
            "a_prior": None
            if self.a_prior is None
            else {"kind": "lognormal", "mean": self.a_prior.mean, "sd": self.a_prior.sd},
            "c_prior": None
            if self.c_prior is None
            else {"kind": "beta", "alpha": self.c_prior.alpha, "beta": self.c_prior.beta},
            "fit_groups": self.fit_groups,
            "diagnostics": self.diagnostics,
        }


def _json_float(value: float) -> float | None:
    return None if math.isnan(value) or math.isinf(value) else float(value)


@dataclass(frozen=True, slots=True)
class ItemCalibration:
    """One item's calibration: parameters, standard errors, data and fit.

    ``index`` is the item's column in the response matrix. A standard error is ``nan`` for a
    parameter the model fixes (``c`` outside the 3PL, ``a`` in the Rasch model). ``q1_p`` is
    ``nan`` when the item has too few responses for its ``q1_df`` groups.
    """

    index: int
    a: float
    b: float
    c: float
    se_a: float
    se_b: float
    se_c: float
    n_responses: int
    p_value: float
    rmsd: float
    q1: float
    q1_df: int
    q1_p: float

    @property
    def misfit(self) -> bool:
        """Whether RMSD exceeds :data:`RMSD_MISFIT` (false when fit was not computed)."""
        return self.rmsd > RMSD_MISFIT

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready values (``None`` for a fixed parameter's SE or an undefined p-value)."""
        return {
            "index": self.index,
            "a": self.a,
            "b": self.b,
            "c": self.c,
            "se_a": _json_float(self.se_a),
            "se_b": _json_float(self.se_b),
            "se_c": _json_float(self.se_c),
            "n_responses": self.n_responses,
            "p_value": self.p_value,
            "rmsd": _json_float(self.rmsd),
            "q1": _json_float(self.q1),
            "q1_df": self.q1_df,
            "q1_p": _json_float(self.q1_p),
            "misfit": self.misfit,
        }


@dataclass(frozen=True, slots=True)
class Convergence:
    """How the EM run ended.

    ``iterations`` counts E-steps (SQUAREM spends three per cycle); ``max_change`` is the
    largest parameter change of the last EM step; ``log_likelihood`` is the marginal
    log-likelihood at the estimates and ``log_posterior`` adds the log priors (equal without
    priors); ``history`` holds the log posterior at every E-step, non-decreasing up to rounding
    because SQUAREM falls back to plain EM when an extrapolation would lower it.
    """

    converged: bool
    iterations: int
    max_change: float
    log_likelihood: float
    log_posterior: float
    history: tuple[float, ...]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready values."""
        return {
            "converged": self.converged,
            "iterations": self.iterations,
            "max_change": self.max_change,
            "log_likelihood": self.log_likelihood,
            "log_posterior": self.log_posterior,
            "history": list(self.history),
        }


@dataclass(frozen=True, slots=True)
class CalibrationResult:
    """A calibration: per item parameters, SEs and fit, plus the settings and convergence.

    ``latent_sd`` is the estimated ability standard deviation of the Rasch model (1 for the
    other models, whose scale is fixed by ``θ ~ N(0, 1)``), ``latent_sd_se`` its SE (``nan``
    when fixed). Store :meth:`as_dict`; :attr:`params` feeds :mod:`scoring.cat` and
    :func:`estimate_abilities`.
    """

    settings: CalibrationSettings
    items: tuple[ItemCalibration, ...]
    convergence: Convergence
    n_candidates: int
    latent_sd: float = 1.0
    latent_sd_se: float = math.nan

    @property
    def params(self) -> ItemParams:
        """The estimates as :class:`ItemParams` (rows in response-matrix column order)."""
        return ItemParams(
            np.array([i.a for i in self.items]),
            np.array([i.b for i in self.items]),
            np.array([i.c for i in self.items]),
        )

    @property
    def misfitting(self) -> tuple[int, ...]:
        """Indices of the items whose RMSD exceeds :data:`RMSD_MISFIT`."""
        return tuple(i.index for i in self.items if i.misfit)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready value: settings, convergence, sample size, latent SD and every item."""
        return {
            "model": str(self.settings.model),
            "settings": self.settings.as_dict(),
            "convergence": self.convergence.as_dict(),
            "n_candidates": self.n_candidates,
            "n_items": len(self.items),
            "latent_sd": self.latent_sd,
            "latent_sd_se": _json_float(self.latent_sd_se),
            "items": [item.as_dict() for item in self.items],
        }


@dataclass(frozen=True, slots=True, eq=False)
class AbilityEstimates:
    """Ability estimates with standard errors, one per candidate (read-only arrays).

    ``at_bound`` marks MLEs that stopped at the edge of the ability range (an all-correct or
    all-wrong pattern has no finite MLE); it is all false for EAP.
    """

    method: AbilityMethod
    theta: FloatArray
    se: FloatArray
    at_bound: NDArray[np.bool_]


# --------------------------------------------------------------------------------------------
# Responses
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, eq=False)
class _Responses:
    """0/1 responses (0 where not presented), the presentation mask, and their summaries.

    ``both`` holds ``[x | mask]`` side by side (``N × 2J``); ``x`` and ``mask`` are views of it,
    so the E-step needs one matrix product each way instead of two.
    """

    both: FloatArray
    x: FloatArray
    mask: FloatArray
    complete: bool
    n_per_item: FloatArray
    correct_per_item: FloatArray


def _responses(responses: ArrayLike, mask: ArrayLike | None) -> _Responses:
    data = np.asarray(responses, dtype=np.float64)
    if data.ndim != 2 or data.shape[0] < 1 or data.shape[1] < 1:
        raise CalibrationError("responses must be a candidates × items matrix")
    presented = ~np.isnan(data)
    if mask is not None:
        given = np.asarray(mask, dtype=bool)
        if given.shape != data.shape:
            raise CalibrationError("the mask must have the shape of the responses")
        presented = given
        if np.any(np.isnan(data[presented])):
            raise CalibrationError("a presented response is missing (NaN)")
    values = np.where(presented, data, 0.0)
    if np.any((values != 0.0) & (values != 1.0)):
        raise CalibrationError("responses must be scored 0 or 1 (NaN where not presented)")
    n_items = values.shape[1]
    both = np.empty((values.shape[0], 2 * n_items))
    both[:, :n_items] = values
    both[:, n_items:] = presented
    x, m = both[:, :n_items], both[:, n_items:]
    return _Responses(
        both=both,
        x=x,
        mask=m,
        complete=bool(presented.all()),
        n_per_item=m.sum(axis=0),
        correct_per_item=x.sum(axis=0),
    )


# --------------------------------------------------------------------------------------------
# Calibration: curves and their derivatives in slope-intercept form
# --------------------------------------------------------------------------------------------
# Internally an item is xi = (a, d, gamma): P = c + (1 - c) s, s = sigma(a theta + d),
# c = sigma(gamma) for the 3PL and 0 otherwise. Arrays over (nodes, items) are Q x J.


def _sigmoid(z: FloatArray) -> FloatArray:
    s: FloatArray = 0.5 * (1.0 + np.tanh(0.5 * z))
    return s


def _asymptote(xi: FloatArray, model: IRTModel) -> FloatArray:
    if model is IRTModel.THREE_PL:
        return _sigmoid(xi[:, 2])
    return np.zeros(xi.shape[0])


def _n_free(model: IRTModel) -> int:
    return 3 if model is IRTModel.THREE_PL else 2


def _curves(xi: FloatArray, model: IRTModel, nodes: FloatArray) -> tuple[FloatArray, FloatArray]:
    """``P`` and ``s = σ(aθ + d)``, both ``Q × J``."""
    s = _sigmoid(nodes[:, None] * xi[:, 0] + xi[:, 1])
    c = _asymptote(xi, model)
    p = np.clip(c + (1.0 - c) * s, _EPS, 1.0 - _EPS)
    return p, s


def _first_derivatives(
    xi: FloatArray, model: IRTModel, nodes: FloatArray, s: FloatArray
) -> list[FloatArray]:
    """``∂P/∂a, ∂P/∂d[, ∂P/∂γ]``, each ``Q × J``."""
    c = _asymptote(xi, model)
    ds = (1.0 - c) * s * (1.0 - s)
    first = [ds * nodes[:, None], ds]
    if model is IRTModel.THREE_PL:
        first.append((1.0 - s) * c * (1.0 - c))
    return first


def _second_derivatives(
    xi: FloatArray, model: IRTModel, nodes: FloatArray, s: FloatArray
) -> dict[tuple[int, int], FloatArray]:
    """``∂²P/∂ξ_k∂ξ_l`` for ``k <= l``, each ``Q × J``."""
    c = _asymptote(xi, model)
    t = nodes[:, None]
    ds = s * (1.0 - s)
    dds = (1.0 - c) * ds * (1.0 - 2.0 * s)
    second = {(0, 0): dds * t * t, (0, 1): dds * t, (1, 1): dds}
    if model is IRTModel.THREE_PL:
        cc = c * (1.0 - c)
        second[(0, 2)] = -cc * ds * t
        second[(1, 2)] = -cc * ds
        second[(2, 2)] = (1.0 - s) * cc * (1.0 - 2.0 * c)
    return second


def _log_prior(xi: FloatArray, settings: CalibrationSettings) -> FloatArray:
    """Log prior density of each item's parameters (up to a constant)."""
    total = np.zeros(xi.shape[0])
    if settings.a_prior is not None:
        a = np.maximum(xi[:, 0], _EPS)
        z = (np.log(a) - settings.a_prior.mean) / settings.a_prior.sd
        total += -np.log(a) - 0.5 * z * z
    if settings.c_prior is not None:
        c = np.clip(_sigmoid(xi[:, 2]), _EPS, 1.0 - _EPS)
        total += (settings.c_prior.alpha - 1.0) * np.log(c) + (settings.c_prior.beta - 1.0) * (
            np.log1p(-c)
        )
    return total


def _prior_derivatives(
    xi: FloatArray, settings: CalibrationSettings
) -> tuple[FloatArray, FloatArray]:
    """Gradient and (diagonal) Hessian of the log prior, both ``J × 3``."""
    grad = np.zeros_like(xi)
    hess = np.zeros_like(xi)
    if settings.a_prior is not None:
        a = np.maximum(xi[:, 0], _EPS)
        mu, var = settings.a_prior.mean, settings.a_prior.sd**2
        log_a = np.log(a)
        grad[:, 0] = -1.0 / a - (log_a - mu) / (var * a)
        hess[:, 0] = 1.0 / a**2 - (1.0 - log_a + mu) / (var * a**2)
    if settings.c_prior is not None:
        c = _sigmoid(xi[:, 2])
        alpha, beta = settings.c_prior.alpha, settings.c_prior.beta
        grad[:, 2] = (alpha - 1.0) * (1.0 - c) - (beta - 1.0) * c
        hess[:, 2] = -(alpha + beta - 2.0) * c * (1.0 - c)
    return grad, hess


def _expected_loglik(
    xi: FloatArray, r: FloatArray, n: FloatArray, nodes: FloatArray, settings: CalibrationSettings
) -> FloatArray:
    """Per item ``Σ_q r log P + (n - r) log Q`` plus the log prior (the M-step's objective)."""
    p, _ = _curves(xi, settings.model, nodes)
    value: FloatArray = (r * np.log(p) + (n - r) * np.log1p(-p)).sum(axis=0)
    return value + _log_prior(xi, settings)


def _clip_params(xi: FloatArray, model: IRTModel) -> FloatArray:
    out = xi.copy()
    low = _EPS if model is not IRTModel.TWO_PL else _A_BOUNDS[0]
    out[:, 0] = np.clip(out[:, 0], low, _A_BOUNDS[1])
    out[:, 1] = np.clip(out[:, 1], -_D_BOUND, _D_BOUND)
    if model is IRTModel.THREE_PL:
        out[:, 2] = np.clip(out[:, 2], *_GAMMA_BOUNDS)
    if model in (IRTModel.RASCH, IRTModel.ONE_PL):
        out[:, 0] = out[0, 0]
    return out


def _m_step(
    xi: FloatArray, r: FloatArray, n: FloatArray, nodes: FloatArray, settings: CalibrationSettings
) -> FloatArray:
    """Maximize the expected complete-data log posterior for all items at once.

    Fisher scoring: the Hessian of the objective is replaced by minus its expectation,
    ``-Σ_q n_q ∇P ∇Pᵀ / (P Q)`` (plus the negative part of the prior's curvature), which is
    negative definite; each step is capped and halved per item until the objective does not
    decrease. For the 1PL the common ``a`` couples the items: its Newton system is an arrowhead
    (one row and column for ``a``, a diagonal for the ``d_j``) solved in closed form.
    """
    model = settings.model
    k = _n_free(model)
    common = model in (IRTModel.RASCH, IRTModel.ONE_PL)
    value = _expected_loglik(xi, r, n, nodes, settings)
    for _ in range(_M_STEP_ITERATIONS):
        p, s = _curves(xi, model, nodes)
        first = _first_derivatives(xi, model, nodes, s)
        weight = (r - n * p) / (p * (1.0 - p))
        fisher_weight = n / (p * (1.0 - p))
        grad = np.stack([(weight * d).sum(axis=0) for d in first], axis=1)
        info = np.empty((xi.shape[0], k, k))
        for row in range(k):
            for col in range(row, k):
                entry = (fisher_weight * first[row] * first[col]).sum(axis=0)
                info[:, row, col] = entry
                info[:, col, row] = entry
        prior_grad, prior_hess = _prior_derivatives(xi, settings)
        grad += prior_grad[:, :k]
        info[:, range(k), range(k)] += np.maximum(-prior_hess[:, :k], 0.0)
        step = np.zeros_like(xi)
        if common:
            step[:, :2] = _arrowhead_step(grad, info)
        else:
            info[:, range(k), range(k)] += 1e-10
            step[:, :k] = np.linalg.solve(info, grad[..., None])[..., 0]
        largest = np.abs(step).max(axis=1, keepdims=True)
        if common:
            largest = np.full_like(largest, largest.max())
        step *= np.minimum(1.0, _MAX_NEWTON_STEP / np.maximum(largest, _EPS))
        trial = _clip_params(xi + step, model)
        trial_value = _expected_loglik(trial, r, n, nodes, settings)
        for _ in range(_HALVINGS):
            worse = (
                np.full(xi.shape[0], trial_value.sum() < value.sum() - 1e-10)
                if common
                else trial_value < value - 1e-10
            )
            if not worse.any():
                break
            step[worse] *= 0.5
            trial = np.where(worse[:, None], _clip_params(xi + step, model), trial)
            trial_value = np.where(
                worse, _expected_loglik(trial, r, n, nodes, settings), trial_value
            )
        moved = float(np.abs(trial - xi).max())
        improved = trial_value >= value - 1e-10
        if common:
            improved = np.full(xi.shape[0], trial_value.sum() >= value.sum() - 1e-10)
        xi = np.where(improved[:, None], trial, xi)
        value = np.where(improved, trial_value, value)
        if moved < _M_STEP_TOLERANCE:
            break
    return xi


def _arrowhead_step(grad: FloatArray, info: FloatArray) -> FloatArray:
    """Solve ``H Δ = g`` for ``(a, d_1..d_J)`` when ``a`` is shared by every item.

    ``H`` has ``h = Σ_j H_j[0,0]`` in the corner, ``u_j = H_j[0,1]`` along the border and
    ``D_j = H_j[1,1]`` on the diagonal, so ``Δa = (Σ g_a - Σ u_j g_j / D_j) / (h - Σ u_j² / D_j)``
    and ``Δd_j = (g_j - u_j Δa) / D_j``.
    """
    diag = info[:, 1, 1] + 1e-10
    border = info[:, 0, 1]
    corner = info[:, 0, 0].sum() - (border**2 / diag).sum()
    delta_a = (grad[:, 0].sum() - (border * grad[:, 1] / diag).sum()) / max(corner, 1e-10)
    step = np.empty((grad.shape[0], 2))
    step[:, 0] = delta_a
    step[:, 1] = (grad[:, 1] - border * delta_a) / diag
    return step


# --------------------------------------------------------------------------------------------
# Calibration: the E-step and the EM loop
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, eq=False)
class _Posterior:
    r: FloatArray
    n: FloatArray
    log_likelihood: float
    weights: FloatArray | None


def _e_step(
    xi: FloatArray,
    data: _Responses,
    nodes: FloatArray,
    log_w: FloatArray,
    model: IRTModel,
    *,
    keep: bool = False,
) -> _Posterior:
    """Posterior of every candidate over the nodes, and the expected counts ``r`` and ``n``.

    ``log L = X (log P - log Q)ᵀ + M (log Q)ᵀ`` (``N × Q``, two matrix products); with no
    missing responses the second product is the same row for everybody and ``n`` is the
    posterior mass at each node for every item.
    """
    p, _ = _curves(xi, model, nodes)
    log_p, log_q = np.log(p), np.log1p(-p)
    if data.complete:
        log_l = data.x @ (log_p - log_q).T + (log_q.sum(axis=1) + log_w)
    else:
        log_l = data.both @ np.concatenate([(log_p - log_q).T, log_q.T]) + log_w
    top = log_l.max(axis=1, keepdims=True)
    # Flooring at e^-700 keeps negligible weights out of the subnormal range, where every
    # floating-point operation on them (the products below) is many times slower.
    post = np.exp(np.maximum(log_l - top, _LOG_FLOOR, out=log_l), out=log_l)
    total = post.sum(axis=1, keepdims=True)
    post /= total
    log_likelihood = float((np.log(total) + top).sum())
    n_items = data.x.shape[1]
    if data.complete:
        r = post.T @ data.x
        n = np.repeat(post.sum(axis=0)[:, None], n_items, axis=1)
    else:
        counts = post.T @ data.both
        r, n = counts[:, :n_items], counts[:, n_items:]
    return _Posterior(r, n, log_likelihood, post if keep else None)


def _start(data: _Responses, settings: CalibrationSettings) -> FloatArray:
    """Starting values from the p-values: ``a`` at the prior median (1), ``c`` at the prior mean,
    ``d`` from the logistic-normal approximation ``E σ(aθ + d) ≈ σ(d / √(1 + πa²/8))``."""
    j = data.x.shape[1]
    xi = np.zeros((j, 3))
    a0 = 1.0 if settings.a_prior is None else math.exp(settings.a_prior.mean)
    c0 = 0.0
    if settings.c_prior is not None:
        c0 = settings.c_prior.alpha / (settings.c_prior.alpha + settings.c_prior.beta)
        xi[:, 2] = math.log(c0 / (1.0 - c0))
    p = (data.correct_per_item + 0.5) / (data.n_per_item + 1.0)
    p_star = np.clip((p - c0) / (1.0 - c0), 0.02, 0.98)
    xi[:, 0] = a0
    xi[:, 1] = np.log(p_star / (1.0 - p_star)) * math.sqrt(1.0 + math.pi * a0**2 / 8.0)
    return _clip_params(xi, settings.model)


def calibrate(
    responses: ArrayLike,
    settings: CalibrationSettings | None = None,
    *,
    mask: ArrayLike | None = None,
) -> CalibrationResult:
    """Calibrate dichotomous items by marginal maximum likelihood (Bock & Aitkin 1981).

    EM over the quadrature grid (see the module documentation), accelerated by SQUAREM
    (Varadhan & Roland 2008, scheme S3): from ``ξ_0`` two EM steps give ``ξ_1, ξ_2``; with
    ``r = ξ_1 - ξ_0``, ``v = ξ_2 - 2ξ_1 + ξ_0`` and ``α = max(1, ‖r‖/‖v‖)`` the extrapolation
    ``ξ' = ξ_0 + 2αr + α²v`` is followed by one EM step, and kept only if the log posterior at
    ``ξ'`` is at least that at ``ξ_1`` (else the cycle ends at ``ξ_2``). It stops when one EM
    step moves no parameter by more than ``settings.tolerance``.

    Parameters
    ----------
    responses
        ``N × J`` scored responses: 1 correct, 0 wrong (a blank counts as wrong: score it before
        calling), ``NaN`` where the item was not presented to the candidate.
    settings
        Model, quadrature, convergence and priors (default: 2PL, 41 nodes over ±6, tolerance
        1e-4, SQUAREM on).
    mask
        Optional ``N × J`` booleans, true where presented; when given, ``responses`` may hold
        anything where it is false.

    Returns
    -------
    CalibrationResult
        Per item ``a, b, c`` with SEs, the count and share of correct responses, RMSD and Yen's
        Q1; the settings; convergence (E-steps, last change, log-likelihood history).

    Raises
    ------
    CalibrationError
        For a response other than 0, 1 or NaN, or an item nobody was presented.
    """
    settings = settings or CalibrationSettings()
    data = _responses(responses, mask)
    if np.any(data.n_per_item == 0):
        empty = np.flatnonzero(data.n_per_item == 0).tolist()
        raise CalibrationError(f"items {empty} were presented to nobody")
    model = settings.model
    nodes, log_w = normal_quadrature(settings.n_quadrature, settings.theta_bound)
    evaluations = 0

    def em_map(xi: FloatArray) -> tuple[FloatArray, float]:
        nonlocal evaluations
        evaluations += 1
        post = _e_step(xi, data, nodes, log_w, model)
        objective = post.log_likelihood + float(_log_prior(xi, settings).sum())
        return _m_step(xi, post.r, post.n, nodes, settings), objective

    history: list[float] = []
    xi = _start(data, settings)
    converged = False
    change = math.inf
    while evaluations < settings.max_iterations:
        xi1, value0 = em_map(xi)
        history.append(value0)
        change = float(np.abs(xi1 - xi).max())
        if change < settings.tolerance:
            xi, converged = xi1, True
            break
        if not settings.accelerate or evaluations + 2 > settings.max_iterations:
            xi = xi1
            continue
        xi2, value1 = em_map(xi1)
        history.append(value1)
        r_vec = xi1 - xi
        v_vec = xi2 - xi1 - r_vec
        v_norm = float(np.linalg.norm(v_vec))
        if v_norm == 0.0:
            xi = xi2
            continue
        alpha = min(max(1.0, float(np.linalg.norm(r_vec)) / v_norm), _SQUAREM_MAX_ALPHA)
        extrapolated = _clip_params(xi + 2.0 * alpha * r_vec + alpha**2 * v_vec, model)
        xi3, value_ext = em_map(extrapolated)
        if math.isfinite(value_ext) and value_ext >= value1:
            history.append(value_ext)
            xi = xi3
        else:
            xi = xi2

    final = _e_step(xi, data, nodes, log_w, model, keep=True)
    assert final.weights is not None
    log_prior = float(_log_prior(xi, settings).sum())
    if settings.diagnostics:
        covariance = _item_covariances(xi, data, final, nodes, settings)
        fit = _item_fit(xi, data, final, nodes, settings)
    else:
        j = xi.shape[0]
        covariance = np.full((j, 3, 3), math.nan)
        fit = _Fit(np.full(j, math.nan), np.full(j, math.nan), np.zeros(j, dtype=np.int64))
    return _result(
        xi=xi,
        cov=covariance,
        fit=fit,
        data=data,
        settings=settings,
        convergence=Convergence(
            converged=converged,
            iterations=evaluations + 1,
            max_change=change,
            log_likelihood=final.log_likelihood,
            log_posterior=final.log_likelihood + log_prior,
            history=(*history, final.log_likelihood + log_prior),
        ),
    )


def _item_covariances(
    xi: FloatArray,
    data: _Responses,
    post: _Posterior,
    nodes: FloatArray,
    settings: CalibrationSettings,
) -> FloatArray:
    """Per item covariance of ``(a, d[, γ])`` from its block of Louis's observed information.

    ``𝓘_j = -Σ_q w_q ∇²P_q + Σ_i g_ij g_ijᵀ - ∇² log p(ξ_j)`` with the candidates' posterior
    scores ``g_ij = x_ij (π A)_ij - (m_ij - x_ij)(π B)_ij``, ``A = ∇P / P``, ``B = ∇P / Q``
    (``π`` the ``N × Q`` posterior), so the sum over candidates costs two matrix products per
    parameter. For the 1PL the blocks share ``a`` and are combined into the arrowhead matrix of
    ``(a, d_1..d_J)``, inverted in closed form; the result then holds
    ``[[var a, cov(a, d_j)], [cov(a, d_j), var d_j]]`` per item.
    """
    assert post.weights is not None
    model = settings.model
    k = _n_free(model)
    p, s = _curves(xi, model, nodes)
    first = _first_derivatives(xi, model, nodes, s)
    second = _second_derivatives(xi, model, nodes, s)
    weight = (post.r - post.n * p) / (p * (1.0 - p))
    wrong = data.mask - data.x
    scores = [
        data.x * (post.weights @ (d / p)) - wrong * (post.weights @ (d / (1.0 - p))) for d in first
    ]
    info = np.empty((xi.shape[0], k, k))
    for row in range(k):
        for col in range(row, k):
            entry = -(weight * second[(row, col)]).sum(axis=0) + (scores[row] * scores[col]).sum(
                axis=0
            )
            info[:, row, col] = entry
            info[:, col, row] = entry
    _, prior_hess = _prior_derivatives(xi, settings)
    info[:, range(k), range(k)] -= prior_hess[:, :k]
    if model in (IRTModel.RASCH, IRTModel.ONE_PL):
        diag = info[:, 1, 1]
        border = info[:, 0, 1]
        schur = info[:, 0, 0].sum() - (border**2 / diag).sum()
        var_a = 1.0 / schur if schur > 0 else math.nan
        cov = np.empty((xi.shape[0], 2, 2))
        cov[:, 0, 0] = var_a
        cov[:, 0, 1] = cov[:, 1, 0] = -border / diag * var_a
        cov[:, 1, 1] = 1.0 / diag + (border / diag) ** 2 * var_a
        return cov
    cov = np.full_like(info, math.nan)
    ok = np.linalg.det(info) > 0
    cov[ok] = np.linalg.inv(info[ok])
    return cov


@dataclass(frozen=True, slots=True, eq=False)
class _Fit:
    rmsd: FloatArray
    q1: FloatArray
    q1_df: NDArray[np.int64]


def _item_fit(
    xi: FloatArray,
    data: _Responses,
    post: _Posterior,
    nodes: FloatArray,
    settings: CalibrationSettings,
) -> _Fit:
    """RMSD from the expected counts, and Q1 over ``fit_groups`` groups by rest-EAP.

    RMSD: ``√(Σ_q (r_q - n_q P_q)² / n_q / Σ_q n_q)``. Q1 (Yen 1981, in its posterior-predictive
    form): for item ``j`` each candidate's *rest posterior* ``π_iq / P(x_ij | θ_q)``
    (normalized) leaves the item's own answer out. Candidates who saw the item are put in
    order of their rest-posterior mean and cut into equal groups; ``O_g`` is the group's share
    correct and ``E_g`` the mean of ``Σ_q π^{(-j)}_iq P_jq``, which under the model is the
    expected answer given the other answers, so ``O_g`` and ``E_g`` agree in every group
    whatever the test length (grouping by an EAP that includes the item, or taking ``P`` at a
    point estimate, makes a short test reject sound items). ``Q1 = Σ_g N_g (O_g - E_g)² /
    (E_g (1 - E_g))``. The rest-posterior sums are matrix products (see the comments), so no
    ``N × J × Q`` array is ever formed.
    """
    assert post.weights is not None
    model = settings.model
    p, _ = _curves(xi, model, nodes)
    used = post.n > 1e-10
    residual = np.where(used, (post.r - post.n * p) ** 2 / np.where(used, post.n, 1.0), 0.0)
    rmsd = np.sqrt(residual.sum(axis=0) / post.n.sum(axis=0))

    # Rest posterior of candidate i for item j: π_iq / L_ijq, with L = P where right and Q where
    # wrong. Its total, its θ-moment and its expectation of P are sums over q of π_iq times
    # 1/P, θ/P (right) or 1/Q, θ/Q, P/Q (wrong): five N × J matrix products.
    post_w = post.weights
    x = data.x
    wrong = data.mask - x
    theta = nodes[:, None]
    inv_p, inv_q = 1.0 / p, 1.0 / (1.0 - p)
    total = x * (post_w @ inv_p) + wrong * (post_w @ inv_q)
    moment = x * (post_w @ (theta * inv_p)) + wrong * (post_w @ (theta * inv_q))
    # Right: Σ π P / P = Σ π = 1; wrong: Σ π P / Q.
    expected_sum = x + wrong * (post_w @ (p * inv_q))
    shown = data.mask > 0
    safe_total = np.where(shown, total, 1.0)
    rest_eap = np.where(shown, moment / safe_total, np.inf)
    expected = np.where(shown, expected_sum / safe_total, 0.0)

    groups = settings.fit_groups
    n_cand, n_items = x.shape
    order = np.argsort(rest_eap, axis=0, kind="stable")
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(n_cand)[:, None], axis=0)
    group = (rank * groups) // np.maximum(data.n_per_item.astype(np.int64), 1)
    flat = (group * n_items + np.arange(n_items))[shown]
    size = groups * n_items
    count = np.bincount(flat, minlength=size).reshape(groups, n_items)
    observed = np.bincount(flat, weights=x[shown], minlength=size).reshape(groups, n_items)
    model_sum = np.bincount(flat, weights=expected[shown], minlength=size)
    model_sum = model_sum.reshape(groups, n_items)
    filled = count > 0
    safe = np.where(filled, count, 1)
    o_share = observed / safe
    e_share = np.clip(model_sum / safe, _EPS, 1.0 - _EPS)
    terms = np.where(filled, count * (o_share - e_share) ** 2 / (e_share * (1 - e_share)), 0)
    q1 = terms.sum(axis=0)
    df = (filled.sum(axis=0) - _fit_parameters(model)).astype(np.int64)
    return _Fit(rmsd, q1, df)


def _fit_parameters(model: IRTModel) -> int:
    return {IRTModel.RASCH: 1, IRTModel.ONE_PL: 1, IRTModel.TWO_PL: 2, IRTModel.THREE_PL: 3}[model]


def _result(
    *,
    xi: FloatArray,
    cov: FloatArray,
    fit: _Fit,
    data: _Responses,
    settings: CalibrationSettings,
    convergence: Convergence,
) -> CalibrationResult:
    """Report ``(a, b, c)`` with delta-method SEs: ``b = -d/a``, ``c = σ(γ)``.

    ``var b = (d/a²)² var a + var d / a² - 2 (d/a³) cov(a, d)``; ``se c = c(1 - c) se γ``. The
    Rasch model (fitted as the 1PL with ``θ ~ N(0, 1)``) is reported with ``a = 1``,
    ``b = -d`` and ``latent_sd = a``, since ``σ(aθ* + d) = σ(θ - b)`` with ``θ = aθ*``.
    """
    model = settings.model
    a, d = xi[:, 0], xi[:, 1]
    var_a, var_d, cov_ad = cov[:, 0, 0], cov[:, 1, 1], cov[:, 0, 1]
    c = _asymptote(xi, model)
    se_c = np.full(a.size, math.nan)
    if model is IRTModel.THREE_PL:
        se_c = c * (1.0 - c) * np.sqrt(cov[:, 2, 2])
    latent_sd, latent_sd_se = 1.0, math.nan
    if model is IRTModel.RASCH:
        latent_sd, latent_sd_se = float(a[0]), float(np.sqrt(var_a[0]))
        b = -d
        se_b = np.sqrt(var_d)
        a_out = np.ones(a.size)
        se_a = np.full(a.size, math.nan)
    else:
        b = -d / a
        var_b = (d / a**2) ** 2 * var_a + var_d / a**2 - 2.0 * (d / a**3) * cov_ad
        se_b = np.sqrt(np.maximum(var_b, 0.0))
        a_out = a
        se_a = np.sqrt(var_a)
    p_value = data.correct_per_item / data.n_per_item
    items = tuple(
        ItemCalibration(
            index=j,
            a=float(a_out[j]),
            b=float(b[j]),
            c=float(c[j]),
            se_a=float(se_a[j]),
            se_b=float(se_b[j]),
            se_c=float(se_c[j]),
            n_responses=int(data.n_per_item[j]),
            p_value=float(p_value[j]),
            rmsd=float(fit.rmsd[j]),
            q1=float(fit.q1[j]),
            q1_df=int(fit.q1_df[j]),
            q1_p=chi_square_sf(float(fit.q1[j]), int(fit.q1_df[j]))
            if fit.q1_df[j] > 0
            else math.nan,
        )
        for j in range(a.size)
    )
    return CalibrationResult(
        settings=settings,
        items=items,
        convergence=convergence,
        n_candidates=int(data.x.shape[0]),
        latent_sd=latent_sd,
        latent_sd_se=latent_sd_se,
    )


def chi_square_sf(x: float, df: int) -> float:
    """Upper tail ``P(χ²_df > x)``: the regularized incomplete gamma ``Q(df/2, x/2)``.

    A series for ``x < s + 1`` and Lentz's continued fraction otherwise (Press et al. 2007,
    §6.2), to about 1e-14.
    """
    if df <= 0:
        raise ValueError("a chi-square needs positive degrees of freedom")
    if x <= 0:
        return 1.0
    s, half = df / 2.0, x / 2.0
    log_front = -half + s * math.log(half) - math.lgamma(s)
    if half < s + 1.0:
        term = total = 1.0 / s
        for n in range(1, 10_000):
            term *= half / (s + n)
            total += term
            if abs(term) < abs(total) * 1e-15:
                break
        return max(0.0, 1.0 - total * math.exp(log_front))
    tiny = 1e-300
    b = half + 1.0 - s
    c = 1.0 / tiny
    d = 1.0 / b
    h = d
    for i in range(1, 10_000):
        an = -i * (i - s)
        b += 2.0
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-15:
            break
    return math.exp(log_front) * h


# --------------------------------------------------------------------------------------------
# Abilities
# --------------------------------------------------------------------------------------------


def estimate_abilities(
    responses: ArrayLike,
    params: ItemParams,
    method: AbilityMethod = AbilityMethod.EAP,
    *,
    mask: ArrayLike | None = None,
    prior_mean: float = 0.0,
    prior_sd: float = 1.0,
    n_quadrature: int = ABILITY_QUADRATURE,
    theta_bound: float = DEFAULT_THETA_BOUND,
) -> AbilityEstimates:
    """Abilities of ``N`` candidates on ``J`` items whose parameters are known.

    EAP (Bock & Mislevy 1982): with nodes ``θ_q`` and prior weights ``W_q`` (``N(prior_mean,
    prior_sd²)``; pass a Rasch calibration's ``latent_sd``), ``θ̂ = Σ θ_q L_q W_q / Σ L_q W_q``
    and ``SE = √(Σ (θ_q - θ̂)² L_q W_q / Σ L_q W_q)``. MLE (Lord 1980, ch. 5): Fisher scoring
    from the EAP, ``θ ← θ + Σ_j a_j (x_j - P_j)(P_j - c_j)/(P_j(1 - c_j)) / I(θ)``, steps capped
    at 1, ``SE = 1/√I(θ̂)``; all-correct and all-wrong patterns sit at ``±theta_bound`` with
    ``at_bound`` set, as do estimates that reach the bound. A candidate with no response gets the
    prior (EAP) or ``nan`` (MLE).

    Parameters
    ----------
    responses
        ``N × J`` of 0/1, ``NaN`` where not presented (or give ``mask``).
    params
        The items' parameters, one row per column of ``responses``.
    method
        EAP or MLE.
    mask, prior_mean, prior_sd, n_quadrature, theta_bound
        Presentation mask; the EAP prior and grid; the range of abilities.

    Returns
    -------
    AbilityEstimates
    """
    data = _responses(responses, mask)
    if data.x.shape[1] != len(params):
        raise CalibrationError("responses and parameters hold different numbers of items")
    nodes, log_w = normal_quadrature(n_quadrature, theta_bound, prior_mean, prior_sd)
    p = np.clip(probability(nodes, params), _EPS, 1.0 - _EPS)
    log_p, log_q = np.log(p), np.log1p(-p)
    log_l = data.x @ (log_p - log_q).T + data.mask @ log_q.T + log_w
    post = np.exp(log_l - log_l.max(axis=1, keepdims=True))
    post /= post.sum(axis=1, keepdims=True)
    eap = post @ nodes
    eap_se = np.sqrt(np.maximum(post @ nodes**2 - eap**2, 0.0))
    n_seen = data.mask.sum(axis=1)
    if AbilityMethod(method) is AbilityMethod.EAP:
        return AbilityEstimates(
            AbilityMethod.EAP,
            _readonly(eap),
            _readonly(eap_se),
            _readonly(np.zeros(eap.size, bool)),
        )
    theta = eap.copy()
    for _ in range(_MLE_ITERATIONS):
        score, info = _score_and_information(theta, data, params)
        step = np.clip(score / np.maximum(info, _EPS), -1.0, 1.0)
        theta = np.clip(theta + step, -theta_bound, theta_bound)
        if np.abs(step).max(initial=0.0) < 1e-8:
            break
    n_right = data.x.sum(axis=1)
    theta = np.where(n_right == n_seen, theta_bound, theta)
    theta = np.where(n_right == 0, -theta_bound, theta)
    _, info = _score_and_information(theta, data, params)
    se = 1.0 / np.sqrt(np.maximum(info, _EPS))
    at_bound = np.abs(theta) >= theta_bound - 1e-9
    none = n_seen == 0
    theta = np.where(none, math.nan, theta)
    se = np.where(none, math.nan, se)
    return AbilityEstimates(
        AbilityMethod.MLE, _readonly(theta), _readonly(se), _readonly(at_bound & ~none)
    )


def marginal_log_likelihood(
    responses: ArrayLike,
    params: ItemParams,
    *,
    mask: ArrayLike | None = None,
    n_quadrature: int = DEFAULT_QUADRATURE,
    theta_bound: float = DEFAULT_THETA_BOUND,
) -> float:
    """``Σ_i log Σ_q W_q Π_j P_j(θ_q)^x_ij Q_j(θ_q)^(1 - x_ij)`` over the items each saw.

    The quantity :func:`calibrate` maximizes (with the same default quadrature, standard normal
    weights), so estimates from any program can be compared on it: the larger, the better
    they fit these responses.
    """
    data = _responses(responses, mask)
    if data.x.shape[1] != len(params):
        raise CalibrationError("responses and parameters hold different numbers of items")
    nodes, log_w = normal_quadrature(n_quadrature, theta_bound)
    p = np.clip(probability(nodes, params), _EPS, 1.0 - _EPS)
    log_p, log_q = np.log(p), np.log1p(-p)
    log_l = data.x @ (log_p - log_q).T + data.mask @ log_q.T + log_w
    top = log_l.max(axis=1, keepdims=True)
    return float((np.log(np.exp(log_l - top).sum(axis=1)) + top[:, 0]).sum())


def _score_and_information(
    theta: FloatArray, data: _Responses, params: ItemParams
) -> tuple[FloatArray, FloatArray]:
    """Per candidate ``∂ log L/∂θ`` and test information at ``θ`` over the items they saw."""
    p = np.clip(probability(theta, params), _EPS, 1.0 - _EPS)
    c = params.c
    lifted = (p - c) / (1.0 - c)
    score = (data.mask * params.a * (data.x - p) * lifted / p).sum(axis=1)
    info = (data.mask * params.a**2 * lifted**2 * (1.0 - p) / p).sum(axis=1)
    return score, info


def _readonly(array: NDArray[Any]) -> NDArray[Any]:
    array.setflags(write=False)
    return array
