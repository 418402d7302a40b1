"""Adaptive sections: choose each next item by maximum information, update the EAP, stop.

A computerized adaptive test (CAT) section serves one item at a time. After each answer the
candidate's ability posterior on a grid is updated and its mean (the EAP, Bock & Mislevy 1982)
becomes the working estimate ``θ̂``; the next item is the most informative at ``θ̂`` (Lord 1980,
ch. 10) among those the content rules still allow, drawn at random from the ``k`` most
informative (the *randomesque* exposure control of Kingsbury & Zara 1989) so that the best
items are not shown to everybody. The section stops at a fixed length or once the posterior
standard deviation reaches a target, between a minimum and a maximum length. There is no going
back: an answered item is final.

Everything is a pure function of values. :class:`AdaptiveBank` holds the precomputed tables of
a bank (read-only, shareable, cacheable per bank version); :class:`AdaptiveState` is a frozen
value passed in and returned by :func:`record`, never kept on a shared object; :func:`next_item`
reads a state and returns a choice. A server can rebuild the state of an attempt from the
stored items and responses with :func:`restore`, and :func:`replay` re-derives every choice from
the attempt's seed and the responses alone, which is what an appeal checks.

How a step works
----------------
*Tables.* On a grid of ``G`` abilities ``θ_g`` (:class:`ThetaGrid`) the bank stores ``log P_j``
and ``log(1 - P_j)`` (``J × G``) for the posterior. On a finer selection grid ``θ_s`` (step 0.05
by default) it stores Fisher information ``I_j(θ_s)`` (Lord 1980, eq. 5-6) and, for every node,
the items in order of decreasing information (ties: lower bank row first), within each topic
and overall. Information is evaluated at the selection node nearest ``θ̂`` (at most half a step
away, far below the width of any information curve). Since at most ``n`` items have been given
after ``n`` answers, the ``k`` most informative allowed items are among the first ``k + n`` of a
sorted list, so a step reads ``k + n`` entries: O(k + n) per candidate, whatever the bank size.

*Posterior.* ``log π(θ_g) = log φ(θ_g) + Σ_t log P(x_t | θ_g)``, updated by adding one table row
per answer; ``θ̂ = Σ θ_g π_g / Σ π_g`` and ``SE = √(Σ (θ_g - θ̂)² π_g / Σ π_g)``.

*Content.* With topic quotas, a topic that has reached its quota is closed. With
``balance_topics`` (Kingsbury & Zara 1989) the next item must come from the open topic furthest
behind its share: ``argmax_t (q_t / Σq)·(n + 1) - n_t`` (lowest topic index on ties), so the
blueprint's proportions hold at every length and exactly at the maximum length, since the
quotas sum to it. Without it, the most informative item of any open topic is taken. This is the
simplest form of constrained CAT; van der Linden's shadow tests (van der Linden 2005, ch. 9)
optimize over all constraints at once and are the way to go for many overlapping constraints.

*Randomesque choice.* The ``k`` most informative allowed items are ordered by information
(ties: lower bank row first) and one of them is taken by a uniform draw ``u`` from a counter-
based generator keyed by the attempt's seed and read at the step number: SplitMix64 (Steele,
Lea & Flood 2014), ``u = mix(key + (step + 1)·γ)``, ``key = mix(seed ⊕ stream)``, position
``⌊k·u / 2⁶⁴⌋`` (:mod:`scoring.prng`, stream ``ADAPTIVE_CHOICE``). It is plain 64-bit integer
arithmetic, so a replay years later gives the same choice whatever numpy release runs it, and a
simulation draws the choices of a thousand candidates in one vector operation.

References
----------
Bock, R. D. & Mislevy, R. J. (1982). Adaptive EAP estimation of ability in a microcomputer
environment. *Applied Psychological Measurement* 6, 431-444.
Kingsbury, G. G. & Zara, A. R. (1989). Procedures for selecting items for computerized adaptive
tests. *Applied Measurement in Education* 2, 359-375.
Lord, F. M. (1980). *Applications of Item Response Theory to Practical Testing Problems*.
Erlbaum.
Steele, G. L., Lea, D. & Flood, C. H. (2014). Fast splittable pseudorandom number generators.
*OOPSLA 2014*, 453-472.
van der Linden, W. J. (2005). *Linear Models for Optimal Test Design*. Springer.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final

import numpy as np
from numpy.typing import ArrayLike, NDArray

from scoring.errors import ScoringError
from scoring.irt import ItemParams, information, probability
from scoring.prng import (
    ADAPTIVE_CHOICE,
    below,
    below_int,
    counter_word,
    counter_words,
    stream_key,
    stream_keys,
)

FloatArray = NDArray[np.float64]

#: Names the selection procedure; stored with an adaptive attempt. A change that chooses
#: differently from the same bank, rules, seed and responses must change it.
ADAPTIVE_ALGORITHM: Final = "ujian-cat/1"

#: Attempt seeds are 0 <= seed < 2**63 (a signed 64-bit database column).
ATTEMPT_SEED_LIMIT: Final = 2**63

_EPS: Final = 1e-12


class AdaptiveError(ScoringError):
    """An adaptive step that cannot be taken: an item given twice, an answer after the end."""


class StopReason(StrEnum):
    """Why an adaptive section ended.

    ``max_items``: the maximum length was reached. ``se_target``: the standard error reached
    the target after at least ``min_items``. ``exhausted``: no allowed item was left.
    ``incomplete``: the section ended before its rules did (the time ran out, the candidate
    finished the exam).
    """

    MAX_ITEMS = "max_items"
    SE_TARGET = "se_target"
    EXHAUSTED = "exhausted"
    INCOMPLETE = "incomplete"


@dataclass(frozen=True, slots=True)
class ThetaGrid:
    """The ability grid of the posterior and the information tables, and the prior on it.

    ``n_points`` equally spaced abilities over ``[-bound, bound]`` (default 101 over ±5, a step
    of 0.1) carry the posterior, with an ``N(prior_mean, prior_sd²)`` prior; items are chosen
    on a grid of step ``selection_step`` over the same range.
    """

    n_points: int = 101
    bound: float = 5.0
    prior_mean: float = 0.0
    prior_sd: float = 1.0
    selection_step: float = 0.05

    def __post_init__(self) -> None:
        if self.n_points < 3 or self.bound <= 0 or self.prior_sd <= 0:
            raise ValueError("a grid needs 3+ points, a positive bound and a positive prior sd")
        if not 0 < self.selection_step <= self.bound:
            raise ValueError("the selection step must be positive and at most the bound")

    def selection_nodes(self) -> FloatArray:
        """The abilities items are chosen at: ``-bound, -bound + step, ..., bound``."""
        count = round(2 * self.bound / self.selection_step) + 1
        return np.linspace(-self.bound, self.bound, count)


@dataclass(frozen=True, slots=True)
class AdaptiveRules:
    """How an adaptive section runs, as the exam spec states it.

    Parameters
    ----------
    max_items
        Longest test; with ``se_target=None`` every candidate gets exactly this many items.
    min_items
        Shortest test when an SE target may stop it earlier (default: 1).
    se_target
        Stop once the posterior SD is at most this (after ``min_items``); ``None`` for a
        fixed length.
    randomesque
        ``k``: the next item is drawn from the ``k`` most informative allowed items (1: always
        the most informative).
    topic_quotas
        Most items per topic, indexed like :attr:`AdaptiveBank.topics` (``None``: no content
        rule). The quotas must add up to ``max_items``.
    balance_topics
        With quotas, serve the topic furthest behind its share first (Kingsbury & Zara 1989),
        so every length keeps the blueprint's proportions.
    """

    max_items: int
    min_items: int = 1
    se_target: float | None = None
    randomesque: int = 5
    topic_quotas: tuple[int, ...] | None = None
    balance_topics: bool = True

    def __post_init__(self) -> None:
        if self.max_items < 1:
            raise ValueError("an adaptive section needs max_items >= 1")
        if not 1 <= self.min_items <= self.max_items:
            raise ValueError("min_items must be between 1 and max_items")
        if self.se_target is not None and self.se_target <= 0:
            raise ValueError("the SE target must be positive")
        if self.randomesque < 1:
            raise ValueError("randomesque k must be at least 1")
        if self.topic_quotas is not None:
            quotas = tuple(int(q) for q in self.topic_quotas)
            if any(q < 0 for q in quotas) or sum(quotas) != self.max_items:
                raise ValueError("topic quotas must be non-negative and add up to max_items")
            object.__setattr__(self, "topic_quotas", quotas)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready rules (store them with the section)."""
        return {
            "max_items": self.max_items,
            "min_items": self.min_items,
            "se_target": self.se_target,
            "randomesque": self.randomesque,
            "topic_quotas": None if self.topic_quotas is None else list(self.topic_quotas),
            "balance_topics": self.balance_topics,
        }


@dataclass(frozen=True, slots=True)
class ScoreScale:
    """The reported scale score, a linear transform of ability: ``mean + sd·θ``.

    Rounded half up to ``decimals`` and clipped to ``[minimum, maximum]`` when given; its
    standard error is ``sd·SE(θ)``. The default puts the calibration population at mean 500 and
    standard deviation 100.
    """

    mean: float = 500.0
    sd: float = 100.0
    decimals: int = 0
    minimum: float | None = None
    maximum: float | None = None

    def __post_init__(self) -> None:
        if self.sd <= 0 or self.decimals < 0:
            raise ValueError("a scale needs a positive sd and non-negative decimals")
        if self.minimum is not None and self.maximum is not None and self.minimum > self.maximum:
            raise ValueError("the scale's minimum exceeds its maximum")

    def score(self, theta: float) -> float:
        """``mean + sd·θ``, rounded half up to ``decimals``, clipped to the bounds."""
        factor = 10.0**self.decimals
        value = math.floor((self.mean + self.sd * theta) * factor + 0.5) / factor
        if self.minimum is not None:
            value = max(value, self.minimum)
        if self.maximum is not None:
            value = min(value, self.maximum)
        return value

    def standard_error(self, se: float) -> float:
        """``sd·SE(θ)`` (not rounded)."""
        return self.sd * se


# --------------------------------------------------------------------------------------------
# The bank's tables
# --------------------------------------------------------------------------------------------


def _readonly(array: NDArray[Any]) -> NDArray[Any]:
    array.setflags(write=False)
    return array


@dataclass(frozen=True, slots=True, eq=False)
class AdaptiveBank:
    """An item bank prepared for adaptive testing: parameters, topics and tables on a grid.

    Build it with :meth:`build`; every array is read-only, so one value per bank version can be
    cached and shared by all requests. :attr:`digest` names everything a choice depends on:
    store it with an attempt to prove a replay used the same bank.
    """

    params: ItemParams
    topics: NDArray[np.int32]
    n_topics: int
    grid: ThetaGrid
    nodes: FloatArray
    log_prior: FloatArray
    log_p: FloatArray
    log_q: FloatArray
    selection_nodes: FloatArray
    info: FloatArray
    order: NDArray[np.int32]
    order_by_topic: NDArray[np.int32]
    topic_starts: NDArray[np.int64]
    topic_sizes: NDArray[np.int64]
    digest: str = field(default="")

    @classmethod
    def build(
        cls,
        params: ItemParams,
        topics: ArrayLike | None = None,
        *,
        n_topics: int | None = None,
        grid: ThetaGrid | None = None,
    ) -> AdaptiveBank:
        """Tables of ``params`` on ``grid``: O(J·G log J) once per bank version.

        Parameters
        ----------
        params
            The items, one row each (the bank row is the item's index everywhere in this module).
        topics
            Topic index ``0..n_topics-1`` per item (default: all in topic 0).
        n_topics
            How many topics the rules may name (default: ``max(topics) + 1``).
        grid
            The ability grid and prior (default :class:`ThetaGrid`).
        """
        grid = grid or ThetaGrid()
        size = len(params)
        if size == 0:
            raise ValueError("an adaptive bank needs items")
        topic_of = np.zeros(size, np.int32) if topics is None else np.asarray(topics, np.int32)
        if topic_of.shape != (size,) or (size and topic_of.min() < 0):
            raise ValueError("topics must give one non-negative index per item")
        count = int(topic_of.max()) + 1 if n_topics is None else n_topics
        if topic_of.max() >= count:
            raise ValueError("a topic index is not below n_topics")
        nodes = np.linspace(-grid.bound, grid.bound, grid.n_points)
        log_prior = -0.5 * ((nodes - grid.prior_mean) / grid.prior_sd) ** 2
        p = np.clip(probability(nodes, params), _EPS, 1.0 - _EPS)  # G x J
        log_p = np.ascontiguousarray(np.log(p).T)
        log_q = np.ascontiguousarray(np.log1p(-p).T)
        selection_nodes = grid.selection_nodes()
        info = np.ascontiguousarray(information(selection_nodes, params))  # S x J
        # A stable sort of -information keeps equal items in bank-row order; a stable sort of
        # that order by topic then lists each topic's items in the same order, topic by topic.
        order = np.argsort(-info, axis=1, kind="stable").astype(np.int32)
        if count == 1:
            order_by_topic = order
        else:
            topic_rank = np.argsort(topic_of[order], axis=1, kind="stable")
            order_by_topic = np.take_along_axis(order, topic_rank, axis=1)
        sizes = np.bincount(topic_of, minlength=count).astype(np.int64)
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        digest = hashlib.sha256(f"{ADAPTIVE_ALGORITHM}\n".encode())
        digest.update(repr((grid.n_points, grid.bound, grid.prior_mean, grid.prior_sd)).encode())
        digest.update(np.ascontiguousarray(params.as_matrix(), dtype="<f8").tobytes())
        digest.update(np.ascontiguousarray(topic_of, dtype="<i4").tobytes())
        digest.update(str(count).encode())
        digest.update(repr(grid.selection_step).encode())
        return cls(
            params=params,
            topics=_readonly(topic_of),
            n_topics=count,
            grid=grid,
            nodes=_readonly(nodes),
            log_prior=_readonly(log_prior),
            log_p=_readonly(log_p),
            log_q=_readonly(log_q),
            selection_nodes=_readonly(selection_nodes),
            info=_readonly(info),
            order=_readonly(order),
            order_by_topic=_readonly(order_by_topic),
            topic_starts=_readonly(starts),
            topic_sizes=_readonly(sizes),
            digest=digest.hexdigest(),
        )

    def __len__(self) -> int:
        return len(self.params)


# --------------------------------------------------------------------------------------------
# State, choices and results
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, eq=False)
class AdaptiveState:
    """Where an adaptive section stands: what was asked, what was answered, the posterior.

    ``items`` are bank rows in the order given, ``responses`` 1 (correct) or 0 (wrong or
    blank); ``log_posterior`` is the unnormalized log posterior on the bank's grid (read-only);
    ``theta`` and ``se`` its mean and standard deviation; ``topic_counts`` items given per topic.
    """

    items: tuple[int, ...]
    responses: tuple[int, ...]
    log_posterior: FloatArray
    theta: float
    se: float
    topic_counts: tuple[int, ...]

    @property
    def n_items(self) -> int:
        """Items answered so far."""
        return len(self.items)


@dataclass(frozen=True, slots=True)
class ItemChoice:
    """The next item of an adaptive section and how it was chosen.

    ``item`` is the bank row, ``step`` its 0-based position in the section, ``theta`` the
    estimate it was chosen at, ``shortlist`` the randomesque candidates (most informative
    first) and ``information`` the chosen item's information at the selection node nearest
    ``theta``. Store at least
    ``item``; the rest explains the choice to a committee.
    """

    item: int
    step: int
    theta: float
    shortlist: tuple[int, ...]
    information: float


@dataclass(frozen=True, slots=True)
class AdaptiveScore:
    """The result of an adaptive section: ability with SE, and its scale score with SE."""

    theta: float
    se: float
    scale_score: float
    scale_se: float
    n_items: int
    stop_reason: StopReason

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready values."""
        return {
            "theta": self.theta,
            "se": self.se,
            "scale_score": self.scale_score,
            "scale_se": self.scale_se,
            "n_items": self.n_items,
            "stop_reason": str(self.stop_reason),
        }


# --------------------------------------------------------------------------------------------
# Public API: one candidate
# --------------------------------------------------------------------------------------------


def start(bank: AdaptiveBank) -> AdaptiveState:
    """The state before the first item: the prior."""
    theta, se = _posterior_moments(bank.log_prior[None, :], bank.nodes)
    return AdaptiveState(
        items=(),
        responses=(),
        log_posterior=bank.log_prior,
        theta=float(theta[0]),
        se=float(se[0]),
        topic_counts=(0,) * bank.n_topics,
    )


def record(state: AdaptiveState, bank: AdaptiveBank, item: int, correct: bool) -> AdaptiveState:
    """The state after ``item`` was answered (``correct``: true if right; blank counts wrong).

    Adds the item's row of ``log P`` or ``log(1 - P)`` to the log posterior: O(G).

    Raises
    ------
    AdaptiveError
        If ``item`` is not a bank row or was already given (there is no going back).
    """
    if not 0 <= item < len(bank):
        raise AdaptiveError(f"item {item} is not in the bank")
    if item in state.items:
        raise AdaptiveError(f"item {item} was already given in this section")
    row = bank.log_p[item] if correct else bank.log_q[item]
    log_post = state.log_posterior + row
    log_post -= log_post.max()
    theta, se = _posterior_moments(log_post[None, :], bank.nodes)
    counts = list(state.topic_counts)
    counts[int(bank.topics[item])] += 1
    return AdaptiveState(
        items=(*state.items, int(item)),
        responses=(*state.responses, 1 if correct else 0),
        log_posterior=_readonly(log_post),
        theta=float(theta[0]),
        se=float(se[0]),
        topic_counts=tuple(counts),
    )


def restore(bank: AdaptiveBank, items: Sequence[int], responses: Sequence[int]) -> AdaptiveState:
    """The state after ``items`` were answered with ``responses`` (1/0), e.g. from storage.

    Bit for bit the state :func:`record` reaches answer by answer (the same additions and
    renormalizations, in the same order), with the posterior moments computed once at the end.

    Raises
    ------
    AdaptiveError
        If the lengths differ, or an item is not in the bank or repeated.
    """
    if len(items) != len(responses):
        raise AdaptiveError("items and responses differ in length")
    rows = [int(i) for i in items]
    if any(not 0 <= row < len(bank) for row in rows):
        raise AdaptiveError("an item is not in the bank")
    if len(set(rows)) != len(rows):
        raise AdaptiveError("an item was given twice in this section")
    log_post = bank.log_prior
    counts = [0] * bank.n_topics
    for row, response in zip(rows, responses, strict=True):
        log_post = log_post + (bank.log_p[row] if response else bank.log_q[row])
        log_post -= log_post.max()
        counts[int(bank.topics[row])] += 1
    theta, se = _posterior_moments(log_post[None, :], bank.nodes)
    return AdaptiveState(
        items=tuple(rows),
        responses=tuple(1 if r else 0 for r in responses),
        log_posterior=_readonly(np.array(log_post)),
        theta=float(theta[0]),
        se=float(se[0]),
        topic_counts=tuple(counts),
    )


def stop_reason(
    state: AdaptiveState, bank: AdaptiveBank, rules: AdaptiveRules
) -> StopReason | None:
    """Why the section is over, or ``None`` while another item is due.

    Over at ``max_items``; at the SE target once ``min_items`` are given; when no item the
    content rules allow is left.
    """
    check_rules(bank, rules)
    if state.n_items >= rules.max_items:
        return StopReason.MAX_ITEMS
    if (
        rules.se_target is not None
        and state.n_items >= rules.min_items
        and state.se <= rules.se_target
    ):
        return StopReason.SE_TARGET
    if not _open_topic_list(bank, rules, state.topic_counts):
        return StopReason.EXHAUSTED
    return None


def next_item(
    state: AdaptiveState, bank: AdaptiveBank, rules: AdaptiveRules, attempt_seed: int
) -> ItemChoice | None:
    """The next item of the section, or ``None`` when it is over (see :func:`stop_reason`).

    Maximum information at the current EAP among the items the content rules allow,
    randomesque over the ``k`` best, the draw keyed by ``(attempt_seed, step)``: the same state,
    bank, rules and seed always give the same choice. Reads ``k + n`` entries of the bank's
    sorted tables (see :func:`choose_batch`); the only O(J) work is marking the items given.

    Parameters
    ----------
    state
        The candidate's state (from :func:`start`, :func:`record` or :func:`restore`).
    bank
        The bank's tables.
    rules
        Length, stopping, randomesque and content rules.
    attempt_seed
        The attempt's seed, ``0 <= seed < 2**63``, drawn once when the attempt starts and
        stored with it.
    """
    _check_seed(attempt_seed)
    if stop_reason(state, bank, rules) is not None:
        return None
    # The same choice as choose_batch makes for a batch of one, in plain Python: a request
    # touches k + n table entries and a few scalars.
    k = rules.randomesque
    node = _selection_node(bank, state.theta)
    given = set(state.items)
    width = k + state.n_items
    if rules.topic_quotas is None:
        windows = [(bank.order, 0, len(bank))]
    else:
        open_topics = _open_topic_list(bank, rules, state.topic_counts)
        if rules.balance_topics:
            total = sum(rules.topic_quotas)
            best, best_deficit = -1, -math.inf
            for topic in open_topics:
                share = rules.topic_quotas[topic] / total
                deficit = share * (state.n_items + 1) - state.topic_counts[topic]
                if deficit > best_deficit:
                    best, best_deficit = topic, deficit
            open_topics = [best]
        windows = [
            (
                bank.order_by_topic,
                int(bank.topic_starts[t]),
                int(bank.topic_starts[t] + bank.topic_sizes[t]),
            )
            for t in open_topics
        ]
    candidates: list[int] = []
    for table, first, end in windows:
        entries = table[node, first : min(first + width, end)].tolist()
        candidates.extend(item for item in entries if item not in given)
    if len(windows) > 1:
        values = bank.info[node, candidates].tolist()
        ranked = sorted(zip(candidates, values, strict=True), key=lambda pair: (-pair[1], pair[0]))
        candidates = [item for item, _ in ranked]
    shortlist = tuple(candidates[:k])
    position = _draw_position(seed_key(attempt_seed), state.n_items, len(shortlist))
    item = shortlist[position]
    return ItemChoice(
        item=item,
        step=state.n_items,
        theta=state.theta,
        shortlist=shortlist,
        information=float(bank.info[node, item]),
    )


def replay(
    bank: AdaptiveBank, rules: AdaptiveRules, attempt_seed: int, responses: Sequence[int]
) -> tuple[ItemChoice, ...]:
    """Every choice of an attempt, re-derived from its seed and its responses alone.

    The items an appeal sees must equal the stored ones, position by position.

    Raises
    ------
    AdaptiveError
        If there are more responses than the rules would have asked for.
    """
    state = start(bank)
    choices: list[ItemChoice] = []
    for response in responses:
        choice = next_item(state, bank, rules, attempt_seed)
        if choice is None:
            raise AdaptiveError(f"the section was over after {state.n_items} responses")
        choices.append(choice)
        state = record(state, bank, choice.item, bool(response))
    return tuple(choices)


def finish(
    state: AdaptiveState,
    bank: AdaptiveBank,
    rules: AdaptiveRules,
    scale: ScoreScale | None = None,
) -> AdaptiveScore:
    """The section's score: EAP ``θ̂`` and SE, and the scale score ``mean + sd·θ̂`` with SE.

    A section ended early by the clock or the candidate is scored on what was answered, with
    stop reason ``incomplete``.
    """
    scale = scale or ScoreScale()
    reason = stop_reason(state, bank, rules)
    return AdaptiveScore(
        theta=state.theta,
        se=state.se,
        scale_score=scale.score(state.theta),
        scale_se=scale.standard_error(state.se),
        n_items=state.n_items,
        stop_reason=reason if reason is not None else StopReason.INCOMPLETE,
    )


# --------------------------------------------------------------------------------------------
# The vectorized core, shared by next_item and scoring.simulate
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, eq=False)
class BatchChoice:
    """Choices for ``B`` candidates at once: items, shortlists (padded with -1), information."""

    items: NDArray[np.int64]
    shortlists: NDArray[np.int64]
    shortlist_sizes: NDArray[np.int64]
    information: FloatArray


def seed_keys(attempt_seeds: ArrayLike) -> NDArray[np.uint64]:
    """SplitMix64 keys of attempt seeds: ``mix(seed ⊕ stream)``."""
    seeds = np.asarray(attempt_seeds, dtype=np.uint64).reshape(-1)
    return stream_keys(seeds, ADAPTIVE_CHOICE)


def draw_positions(
    keys: NDArray[np.uint64], steps: NDArray[np.uint64], sizes: NDArray[np.int64]
) -> NDArray[np.int64]:
    """Uniform positions ``⌊size·u / 2⁶⁴⌋`` with ``u = mix(key + (step + 1)·γ)`` per candidate.

    The top 32 bits of ``u`` are used (``((u >> 32)·size) >> 32``), which is uniform to within
    ``size / 2³²`` for any shortlist size.
    """
    return below(counter_words(keys, steps), sizes)


def selection_node(bank: AdaptiveBank, theta: FloatArray) -> NDArray[np.intp]:
    """Index of the selection node nearest each ``θ`` (clipped to the grid)."""
    nodes = bank.selection_nodes
    step = nodes[1] - nodes[0]
    position = np.rint((np.asarray(theta) - nodes[0]) / step)
    index: NDArray[np.intp] = np.clip(position, 0, nodes.size - 1).astype(np.intp)
    return index


def choose_batch(
    bank: AdaptiveBank,
    rules: AdaptiveRules,
    *,
    theta: FloatArray,
    given: NDArray[np.bool_],
    topic_counts: NDArray[np.int64],
    steps: NDArray[np.uint64],
    keys: NDArray[np.uint64],
) -> BatchChoice:
    """The next item for each of ``B`` candidates (the vectorized form of :func:`next_item`).

    Callers must have checked that each candidate still has an allowed item. ``given`` marks
    the items each has had (``B × J``); ``topic_counts`` is ``B × n_topics``; ``steps`` and
    ``keys`` (:func:`seed_keys`) key the randomesque draw.

    Each candidate reads a window of ``k + n`` entries (``n``: the most items any of them has
    had) from the sorted lists of its selection node: of the whole bank without quotas, of the
    topic it must serve with balancing, of every open topic otherwise. The allowed entries are
    ranked by (information descending, bank row ascending) and the first ``k`` form the
    shortlist.
    """
    k = rules.randomesque
    node = selection_node(bank, theta)
    width = k + int(topic_counts.sum(axis=1).max(initial=0))
    batch = theta.shape[0]
    if rules.topic_quotas is None:
        table = bank.order
        starts = np.zeros((batch, 1), dtype=np.int64)
        ends = np.full((batch, 1), len(bank), dtype=np.int64)
    else:
        table = bank.order_by_topic
        open_topics = _open_topics(bank, rules, topic_counts)
        if rules.balance_topics:
            quotas = np.asarray(rules.topic_quotas, dtype=np.float64)
            n_given = topic_counts.sum(axis=1, keepdims=True)
            deficit = quotas / quotas.sum() * (n_given + 1) - topic_counts
            deficit = np.where(open_topics, deficit, -np.inf)
            topic = np.argmax(deficit, axis=1)  # first maximum: lowest topic index on ties
            starts = bank.topic_starts[topic][:, None]
            ends = starts + bank.topic_sizes[topic][:, None]
        else:
            starts = np.broadcast_to(bank.topic_starts, open_topics.shape)
            ends = np.where(open_topics, starts + bank.topic_sizes, starts)
    offsets = starts[:, :, None] + np.arange(width)
    inside = offsets < ends[:, :, None]
    offsets = np.minimum(offsets, len(bank) - 1).reshape(batch, -1)
    inside = inside.reshape(batch, -1)
    where = node[:, None]
    candidates = table[where, offsets].astype(np.int64)
    usable = inside & ~np.take_along_axis(given, candidates, axis=1)
    values = bank.info[where, candidates]
    order = np.lexsort((candidates, -values, ~usable), axis=-1)[:, :k]
    shortlist = np.take_along_axis(candidates, order, axis=1)
    ranked = np.take_along_axis(values, order, axis=1)
    sizes = np.minimum(usable.sum(axis=1), k).astype(np.int64)
    shortlist = np.where(np.arange(shortlist.shape[1])[None, :] < sizes[:, None], shortlist, -1)
    position = draw_positions(keys, steps, np.maximum(sizes, 1))
    rows = np.arange(batch)
    return BatchChoice(
        items=shortlist[rows, position],
        shortlists=shortlist,
        shortlist_sizes=sizes,
        information=ranked[rows, position],
    )


def posterior_moments(
    log_posterior: FloatArray, nodes: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """EAP and posterior SD of each row of a ``B × G`` log posterior (Bock & Mislevy 1982)."""
    return _posterior_moments(log_posterior, nodes)


def _posterior_moments(log_post: FloatArray, nodes: FloatArray) -> tuple[FloatArray, FloatArray]:
    # Row sums rather than a matrix product: BLAS may sum in a different order for one row than
    # for many, and a simulated candidate must get the estimate next_item computes, bit for bit.
    weights = np.exp(log_post - log_post.max(axis=1, keepdims=True))
    total = weights.sum(axis=1)
    mean = (weights * nodes).sum(axis=1) / total
    second = (weights * (nodes * nodes)).sum(axis=1) / total
    return mean, np.sqrt(np.maximum(second - mean * mean, 0.0))


def check_rules(bank: AdaptiveBank, rules: AdaptiveRules) -> None:
    """Refuse rules whose topic quotas do not name the bank's topics one for one."""
    if rules.topic_quotas is not None and len(rules.topic_quotas) != bank.n_topics:
        raise AdaptiveError(
            f"the rules give {len(rules.topic_quotas)} topic quotas for {bank.n_topics} topics"
        )


def seed_key(attempt_seed: int) -> int:
    """The SplitMix64 key of one attempt seed, as a Python integer (see :func:`seed_keys`)."""
    return stream_key(attempt_seed, ADAPTIVE_CHOICE)


def _draw_position(key: int, step: int, size: int) -> int:
    """:func:`draw_positions` for one candidate, in Python integers."""
    return below_int(counter_word(key, step), size)


def _selection_node(bank: AdaptiveBank, theta: float) -> int:
    """:func:`selection_node` for one ``θ`` (Python's ``round`` also rounds half to even)."""
    nodes = bank.selection_nodes
    first = float(nodes[0])
    step = float(nodes[1]) - first
    return min(max(round((theta - first) / step), 0), nodes.size - 1)


def _open_topic_list(
    bank: AdaptiveBank, rules: AdaptiveRules, topic_counts: tuple[int, ...]
) -> list[int]:
    """Topics below their quota that still hold an item not yet given, in index order."""
    quotas = rules.topic_quotas
    return [
        t
        for t, count in enumerate(topic_counts)
        if count < bank.topic_sizes[t] and (quotas is None or count < quotas[t])
    ]


def _open_topics(
    bank: AdaptiveBank, rules: AdaptiveRules, topic_counts: NDArray[np.int64]
) -> NDArray[np.bool_]:
    """``B × n_topics``: topics below their quota that still hold an item not yet given."""
    has_items = topic_counts < bank.topic_sizes[None, :]
    if rules.topic_quotas is None:
        return has_items
    quotas = np.asarray(rules.topic_quotas, dtype=np.int64)
    return has_items & (topic_counts < quotas[None, :])


def _check_seed(seed: int) -> None:
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < ATTEMPT_SEED_LIMIT:
        raise ValueError(f"attempt_seed must be an integer in [0, {ATTEMPT_SEED_LIMIT})")
