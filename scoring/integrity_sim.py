"""Simulations that measure the power and false-positive rate of the integrity and DIF indices.

Each scenario draws honest candidates from a known model, plants one kind of misconduct (or one
unfair item) in a known set of attempts, runs the same functions a real sitting goes through
and counts: the **power** is the share of planted attempts (or DIF items) flagged, the
**false-positive rate** the share of uninvolved attempts (or no-DIF items) flagged.

Honest candidates
-----------------
Abilities ``θ ~ N(0, 1)``. Items (``n_items``, five options): a 3PL model with ``a ~
lognormal(0, 0.3)`` clipped to ``[0.4, 2.5]``, ``b ~ N(0, 1)`` clipped to ``[-2.5, 2.5]``,
``c = 0.2``; a wrong answer picks a distractor by the item's own attractiveness shares
(``Dirichlet(1, 1, 1, 1)``), as real distractors differ in pull; 1 % of answers are left blank.
Response times follow the lognormal model (van der Linden 2006): ``ln t = β_j - τ_i + ε``,
``β_j ~ N(ln 60, 0.4²)`` (a minute per item), ``α_j ~ U(1.5, 2.5)``, ``τ_i ~ N(0, 0.3²)``.
Seats are assigned at random in rows of :data:`ROW_LENGTH`.

Planted misconduct
------------------
* **Copying**: ``n_cheaters`` candidates (no two of them neighbours) each copy a random
  ``copy_share`` of their answers from one random neighbour. Uninvolved = neither a copier nor
  a source: a source's similarity to their copier is real, and the report names both.
* **Preknowledge**: ``n_cheaters`` candidates know the answers to the same compromised
  ``item_share`` of the items and answer them correctly in ``lognormal(ln 8, 0.3)`` seconds
  (the 8 s per answer of the 2021 case).
* **Rapid guessing**: ``n_cheaters`` candidates answer ``item_share`` of the items at random in
  ``lognormal(ln 4, 0.3)`` seconds.
* **DIF**: a reference and a focal group (``θ ~ N(0, 1)`` and ``N(-0.5, 1)``), the studied item
  a Rasch item ``dif_shift`` logits harder for the focal group, so that ``Δ_MH ≈ -2.35 ×
  dif_shift`` (Holland & Thayer 1988); every other item is the same for both groups.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

import numpy as np
from numpy.typing import NDArray

from scoring.dif import DIFClass, mantel_haenszel_dif
from scoring.integrity.common import BLANK, ScoredResponses, score_responses
from scoring.integrity.person_fit import person_fit
from scoring.integrity.similarity import answer_similarity, neighbour_pairs
from scoring.integrity.timing import timing_indices

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: Seats per row of the simulated rooms.
ROW_LENGTH: Final = 10
#: Lower asymptote of every simulated item (a blind guess among five options).
GUESSING: Final = 0.2
#: Options per simulated item.
N_OPTIONS: Final = 5
#: Share of answers left blank by honest candidates.
BLANK_SHARE: Final = 0.01


class Scenario(StrEnum):
    """Planted misconduct of an integrity simulation."""

    COPYING = "copying"
    PREKNOWLEDGE = "preknowledge"
    RAPID_GUESSING = "rapid_guessing"


@dataclass(frozen=True, slots=True)
class DetectionRow:
    """Power and false-positive rate of one index in one scenario, over all replications.

    ``planted`` and ``uninvolved`` count attempts summed over replications; ``power`` and
    ``false_positive_rate`` are ``flagged / planted`` and ``false alarms / uninvolved``.
    """

    scenario: str
    index: str
    replications: int
    planted: int
    detected: int
    uninvolved: int
    false_alarms: int

    @property
    def power(self) -> float:
        """Share of planted attempts flagged."""
        return self.detected / self.planted if self.planted else math.nan

    @property
    def false_positive_rate(self) -> float:
        """Share of uninvolved attempts flagged."""
        return self.false_alarms / self.uninvolved if self.uninvolved else math.nan


@dataclass(frozen=True, slots=True)
class DIFRow:
    """How often the DIF item and the no-DIF items were classified B or C (and C alone)."""

    replications: int
    n_per_group: int
    dif_shift: float
    dif_item_c: int
    dif_item_flagged: int
    null_items: int
    null_flagged: int
    mean_delta: float

    @property
    def power_c(self) -> float:
        """Share of replications in which the DIF item was classified C."""
        return self.dif_item_c / self.replications

    @property
    def power(self) -> float:
        """Share of replications in which the DIF item was classified B or C."""
        return self.dif_item_flagged / self.replications

    @property
    def false_positive_rate(self) -> float:
        """Share of no-DIF item classifications that were B or C."""
        return self.null_flagged / self.null_items if self.null_items else math.nan


@dataclass(frozen=True, slots=True, eq=False)
class SimulatedSitting:
    """Honest answers of a sitting: responses, keys, times, seats and the true parameters."""

    responses: NDArray[np.int16]
    keys: IntArray
    times: FloatArray
    seat: IntArray
    theta: FloatArray
    a: FloatArray
    b: FloatArray
    pull: FloatArray


def _items(
    rng: np.random.Generator, n_items: int
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    a = np.clip(rng.lognormal(0.0, 0.3, n_items), 0.4, 2.5)
    b = np.clip(rng.normal(0.0, 1.0, n_items), -2.5, 2.5)
    c = np.full(n_items, GUESSING)
    pull = rng.dirichlet(np.ones(N_OPTIONS - 1), n_items)
    return a, b, c, pull


def _answers(
    rng: np.random.Generator,
    theta: FloatArray,
    *,
    a: FloatArray,
    b: FloatArray,
    pull: FloatArray,
    keys: IntArray,
    c: FloatArray,
) -> NDArray[np.int16]:
    n, n_items = theta.size, a.size
    p = c + (1.0 - c) / (1.0 + np.exp(-a * (theta[:, None] - b)))
    right = rng.random((n, n_items)) < p
    cumulative = np.cumsum(pull, axis=1)
    draw = rng.random((n, n_items))
    # Inverse CDF one threshold at a time: no n × items × options array at national scale.
    distractor = np.zeros((n, n_items), dtype=np.int64)
    for option in range(N_OPTIONS - 2):
        distractor += draw > cumulative[:, option]
    wrong = (keys + 1 + distractor) % N_OPTIONS
    answers = np.where(right, keys, wrong)
    answers = np.where(rng.random((n, n_items)) < BLANK_SHARE, BLANK, answers)
    return answers.astype(np.int16)


def simulate_sitting(n_candidates: int, n_items: int, rng: np.random.Generator) -> SimulatedSitting:
    """Honest candidates of one sitting (model in the module docstring)."""
    theta = rng.standard_normal(n_candidates)
    a, b, c, pull = _items(rng, n_items)
    keys = rng.integers(0, N_OPTIONS, n_items).astype(np.int64)
    responses = _answers(rng, theta, a=a, b=b, pull=pull, keys=keys, c=c)
    beta = rng.normal(math.log(60.0), 0.4, n_items)
    alpha = rng.uniform(1.5, 2.5, n_items)
    tau = rng.normal(0.0, 0.3, n_candidates)
    noise = rng.standard_normal((n_candidates, n_items)) / alpha
    times = np.exp(beta - tau[:, None] + noise)
    seat = rng.permutation(n_candidates).astype(np.int64) + 1
    return SimulatedSitting(responses, keys, times, seat, theta, a, b, pull)


def simulate_responses(
    n_candidates: int, n_items: int, rng: np.random.Generator, *, chunk: int = 50_000
) -> tuple[NDArray[np.int16], IntArray]:
    """Honest answers and keys only (no times), drawn in blocks: for national-scale benches."""
    a, b, c, pull = _items(rng, n_items)
    keys = rng.integers(0, N_OPTIONS, n_items).astype(np.int64)
    responses = np.empty((n_candidates, n_items), dtype=np.int16)
    for start in range(0, n_candidates, chunk):
        stop = min(start + chunk, n_candidates)
        theta = rng.standard_normal(stop - start)
        responses[start:stop] = _answers(rng, theta, a=a, b=b, pull=pull, keys=keys, c=c)
    return responses, keys


def _seat_neighbours(seat: IntArray) -> list[list[int]]:
    pairs = neighbour_pairs(np.zeros(seat.size, dtype=np.int64), seat, row_length=ROW_LENGTH)
    near: list[list[int]] = [[] for _ in range(seat.size)]
    for first, second in pairs.tolist():
        near[first].append(second)
        near[second].append(first)
    return near


def _plant_copying(
    rng: np.random.Generator, sitting: SimulatedSitting, n_cheaters: int, copy_share: float
) -> tuple[NDArray[np.int16], IntArray, IntArray]:
    near = _seat_neighbours(sitting.seat)
    responses = sitting.responses.copy()
    n_items = responses.shape[1]
    copiers: list[int] = []
    sources: list[int] = []
    blocked: set[int] = set()
    for candidate in rng.permutation(responses.shape[0]).tolist():
        if len(copiers) == n_cheaters:
            break
        if candidate in blocked or not near[candidate]:
            continue
        source = int(rng.choice(near[candidate]))
        copied = rng.choice(n_items, round(copy_share * n_items), replace=False)
        responses[candidate, copied] = sitting.responses[source, copied]
        copiers.append(candidate)
        sources.append(source)
        blocked.update([candidate, source, *near[candidate]])
    return responses, np.array(copiers, dtype=np.int64), np.array(sources, dtype=np.int64)


def integrity_power(
    scenario: Scenario | str,
    *,
    n_candidates: int = 500,
    n_items: int = 110,
    n_cheaters: int = 10,
    share: float = 0.3,
    replications: int = 20,
    seed: int = 0,
) -> tuple[DetectionRow, ...]:
    """Power and false-positive rate of the indices that answer ``scenario``.

    Parameters
    ----------
    scenario
        ``copying`` (``share`` of answers copied from a neighbour), ``preknowledge`` or
        ``rapid_guessing`` (on ``share`` of the items).
    n_candidates, n_items, n_cheaters, replications, seed
        Size of each simulated sitting, planted attempts per sitting, repetitions, seed.

    Returns
    -------
    tuple of DetectionRow
        One row per index (and ``any`` for copying: the attempt flagged by any index).
    """
    kind = Scenario(scenario)
    rng = np.random.default_rng(seed)
    tallies: dict[str, list[int]] = {}

    def tally(index: str, flag: NDArray[np.bool_], planted: IntArray, excluded: IntArray) -> None:
        honest = np.ones(flag.size, dtype=bool)
        honest[planted] = False
        honest[excluded] = False
        row = tallies.setdefault(index, [0, 0, 0, 0])
        row[0] += planted.size
        row[1] += int(flag[planted].sum())
        row[2] += int(honest.sum())
        row[3] += int(flag[honest].sum())

    for _ in range(replications):
        sitting = simulate_sitting(n_candidates, n_items, rng)
        times = sitting.times.copy()
        if kind is Scenario.COPYING:
            responses, planted, sources = _plant_copying(rng, sitting, n_cheaters, share)
        else:
            responses = sitting.responses.copy()
            planted = rng.choice(n_candidates, n_cheaters, replace=False).astype(np.int64)
            sources = np.zeros(0, dtype=np.int64)
            items = rng.choice(n_items, round(share * n_items), replace=False)
            rows, cols = np.ix_(planted, items)
            centre = 8.0 if kind is Scenario.PREKNOWLEDGE else 4.0
            times[rows, cols] = np.exp(
                rng.normal(math.log(centre), 0.3, (planted.size, items.size))
            )
            if kind is Scenario.PREKNOWLEDGE:
                responses[rows, cols] = sitting.keys[items]
            else:
                responses[rows, cols] = rng.integers(0, N_OPTIONS, (planted.size, items.size))
        scored = score_responses(responses, keys=sitting.keys)
        if kind is Scenario.COPYING:
            pairs = neighbour_pairs(
                np.zeros(n_candidates, dtype=np.int64), sitting.seat, row_length=ROW_LENGTH
            )
            similar = answer_similarity(responses, pairs, keys=sitting.keys)
            tally("seat similarity (LR)", similar.attempt_flag, planted, sources)
        else:
            timing = timing_indices(times, scored.correct)
            tally("speed index (fast side)", timing.speed_flag, planted, sources)
            tally("rapid responses", timing.rapid_flag, planted, sources)
            fit = person_fit(scored, guessing=1.0 / N_OPTIONS)
            tally("person fit (l_z*)", fit.flag, planted, sources)
            any_flag = timing.speed_flag | timing.rapid_flag | fit.flag
            tally("any of them", any_flag, planted, sources)
    return tuple(
        DetectionRow(kind.value, index, replications, *counts) for index, counts in tallies.items()
    )


def dif_power(
    *,
    n_per_group: int = 1000,
    n_items: int = 40,
    dif_shift: float = 0.9,
    focal_mean: float = -0.5,
    replications: int = 100,
    seed: int = 0,
) -> DIFRow:
    """How often Mantel–Haenszel with purification finds a planted DIF item (item 0).

    Parameters
    ----------
    n_per_group
        Candidates in each of the reference and focal groups.
    n_items
        Items of the test; item 0 is ``dif_shift`` logits harder for the focal group.
    dif_shift, focal_mean
        Size of the DIF and the focal group's mean ability (reference: 0).
    replications, seed
        Repetitions and seed.

    Returns
    -------
    DIFRow
    """
    rng = np.random.default_rng(seed)
    c_count = flagged = null_flagged = 0
    deltas: list[float] = []
    n = 2 * n_per_group
    groups = np.repeat(np.array(["reference", "focal"]), n_per_group)
    for _ in range(replications):
        theta = rng.standard_normal(n)
        theta[n_per_group:] += focal_mean
        a, b, _, _ = _items(rng, n_items)
        a[0] = 1.0
        difficulty = np.broadcast_to(b, (n, n_items)).copy()
        difficulty[n_per_group:, 0] += dif_shift
        p = 1.0 / (1.0 + np.exp(-a * (theta[:, None] - difficulty)))
        correct = (rng.random((n, n_items)) < p).astype(np.float64)
        scored = ScoredResponses(correct, np.ones(correct.shape, dtype=bool))
        result = mantel_haenszel_dif(scored, groups, reference="reference")
        table = result.comparisons[0]
        classes = table.dif_class
        c_count += int(classes[0] is DIFClass.C)
        flagged += int(classes[0] is not DIFClass.A)
        null_flagged += sum(1 for cls in classes[1:] if cls is not DIFClass.A)
        deltas.append(float(table.delta[0]))
    return DIFRow(
        replications=replications,
        n_per_group=n_per_group,
        dif_shift=dif_shift,
        dif_item_c=c_count,
        dif_item_flagged=flagged,
        null_items=replications * (n_items - 1),
        null_flagged=null_flagged,
        mean_delta=float(np.mean(deltas)) if deltas else math.nan,
    )


def markdown_table(rows: tuple[DetectionRow, ...]) -> str:
    """Integrity rows as a markdown table (power and false-positive rate with their counts)."""
    lines = [
        "| scenario | index | power | false-positive rate |",
        "|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row.scenario} | {row.index} | {row.power:.1%} ({row.detected}/{row.planted}) "
            f"| {row.false_positive_rate:.2%} ({row.false_alarms}/{row.uninvolved}) |"
        )
    return "\n".join(lines)


def dif_markdown_table(rows: tuple[DIFRow, ...]) -> str:
    """DIF rows as a markdown table."""
    lines = [
        "| groups | DIF shift (logits) | mean Δ_MH | DIF item C | DIF item B or C "
        "| no-DIF items B or C |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| 2 × {row.n_per_group:,} | {row.dif_shift:.2f} | {row.mean_delta:.2f} "
            f"| {row.power_c:.1%} ({row.dif_item_c}/{row.replications}) "
            f"| {row.power:.1%} ({row.dif_item_flagged}/{row.replications}) "
            f"| {row.false_positive_rate:.2%} ({row.null_flagged}/{row.null_items}) |"
        )
    return "\n".join(lines)
