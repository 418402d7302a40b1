"""IRT-matched parallel forms and adaptive-section banks, built on the blueprint draw of assembly.

Parallel forms by IRT
---------------------
When a section's items carry IRT parameters, forms can be made parallel in the sense that
matters for number-right scoring: the same expected score at every ability (test characteristic
curve, ``T(θ) = Σ_j P_j(θ)``) and the same precision (test information curve, ``I(θ) =
Σ_j I_j(θ)``; Lord 1980, ch. 13). :func:`draw_matched_form` starts from the blueprint form of
:func:`item_bank.assembly.draw_form` and improves it by swapping items *within a blueprint cell*
(a greedy exchange heuristic in the spirit of the test assembly heuristics of van der Linden
2005, ch. 4): at each step it makes the single swap, among each form item and a pool of unused
items of its cell, that most lowers

.. math:: D = \\frac{1}{K} \\sum_k \\Big(\\frac{T(θ_k) - T^*(θ_k)}{T^*(θ_k)}\\Big)^2
          + \\frac{1}{K} \\sum_k \\Big(\\frac{I(θ_k) - I^*(θ_k)}{I^*(θ_k)}\\Big)^2

over ``K`` abilities ``θ_k`` (either term alone with :class:`MatchCurve`), and stops when no
swap lowers it or after ``max_swaps``. The target ``T*, I*`` is by default the *mean form*, the
expected curves of a form drawn at random by the blueprint (``Σ_cells count × mean over the
cell's items``); a committee may instead give the curves of a reference form (:func:`form_curves`).

What assembly guarantees is kept: every swap stays inside a cell, so the blueprint is met and
the form holds no item twice; the pools are drawn from a PCG64 stream seeded by
``(sitting_seed, slot)`` (raw 64-bit outputs, stable across numpy releases) and the greedy
search is deterministic, so the same spec, snapshot, seed, target and settings give the same
form (:data:`IRT_FORMS_ALGORITHM` names the procedure: store it with the form). What is traded:
swapped-in items come from a pool rather than from the sitting's permutation stream, so forms of
one sitting overlap a little more than assembly's (see ``bench/irt.py``).

Adaptive sections
-----------------
:func:`adaptive_section` turns a section's items into a :class:`scoring.cat.AdaptiveBank` (bank
row ``i`` is snapshot row ``rows[i]``), with the blueprint's topic quotas as the rules' quotas.

References
----------
Lord, F. M. (1980). *Applications of Item Response Theory to Practical Testing Problems*.
Erlbaum.
van der Linden, W. J. (2005). *Linear Models for Optimal Test Design*. Springer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

import numpy as np
from numpy.typing import NDArray

from item_bank.assembly import Form, FormItem, FormSeed, draw_form, draw_forms
from item_bank.blueprint import BankSnapshot
from item_bank.exam_spec import ExamSpec, SectionSpec
from scoring.cat import AdaptiveBank, AdaptiveRules, ThetaGrid
from scoring.irt import ItemParams, information, probability
from scoring.rules import SectionScoringKind

FloatArray = NDArray[np.float64]

#: Names the matching procedure; stored with matched forms beside assembly's algorithm name.
IRT_FORMS_ALGORITHM: Final = "ujian-irt-forms/1"

# Domain-separation word of the pool stream ("ujian" + stream number; assembly uses 1 and 2,
# scoring.cat 3).
_POOL_STREAM: Final = 0x756A69616E04


class MatchCurve(StrEnum):
    """Which curves a matched form is brought to: expected score, information, or both."""

    SCORE = "score"
    INFORMATION = "information"
    BOTH = "both"


@dataclass(frozen=True, slots=True)
class MatchSettings:
    """How forms are matched.

    ``theta_points``: the abilities the curves are compared at. ``pool_per_cell``: unused items
    of each cell offered for swaps, per form. ``max_swaps``: swaps per section at most.
    ``sections``: the section codes to match (``None``: every dichotomous section whose items
    all carry IRT parameters).
    """

    theta_points: tuple[float, ...] = (-2.0, -1.0, 0.0, 1.0, 2.0)
    curve: MatchCurve = MatchCurve.BOTH
    pool_per_cell: int = 24
    max_swaps: int = 60
    sections: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if not self.theta_points:
            raise ValueError("matching needs at least one ability point")
        if self.pool_per_cell < 1 or self.max_swaps < 0:
            raise ValueError("pool_per_cell must be positive and max_swaps non-negative")
        object.__setattr__(self, "curve", MatchCurve(self.curve))


@dataclass(frozen=True, slots=True, eq=False)
class SectionCurves:
    """A section's expected-score and information curves at ``theta`` (read-only arrays)."""

    section: str
    theta: FloatArray
    expected_score: FloatArray
    information: FloatArray


@dataclass(frozen=True, slots=True)
class SectionMatch:
    """How close one section of a form came to its target: largest relative deviation of the
    expected score and of the information over the ability points, before and after."""

    section: str
    score_before: float
    score_after: float
    information_before: float
    information_after: float
    swaps: int


@dataclass(frozen=True, slots=True)
class MatchedForm:
    """A form whose IRT sections were matched to their targets, and how well."""

    form: Form
    sections: tuple[SectionMatch, ...]


# --------------------------------------------------------------------------------------------
# Curves and targets
# --------------------------------------------------------------------------------------------


def _params(snapshot: BankSnapshot, rows: NDArray[np.intp]) -> ItemParams:
    irt = snapshot.irt[rows]
    return ItemParams(irt[:, 0], irt[:, 1], irt[:, 2])


def _rows_of(snapshot: BankSnapshot, ids: Sequence[int]) -> NDArray[np.intp]:
    wanted = np.asarray(ids, dtype=np.int64)
    rows = np.searchsorted(snapshot.ids, wanted)
    if np.any(rows >= len(snapshot)) or not np.array_equal(snapshot.ids[rows], wanted):
        raise ValueError("a form holds an item the snapshot does not")
    return rows.astype(np.intp)


def form_curves(
    form: Form, snapshot: BankSnapshot, section: str, theta: Sequence[float]
) -> SectionCurves:
    """Expected score ``Σ P_j(θ)`` and information ``Σ I_j(θ)`` of ``section`` of ``form``.

    Raises
    ------
    ValueError
        If an item of the section has no IRT parameters, or is not in the snapshot.
    """
    rows = _rows_of(snapshot, [item.entry_id for item in form.section_items(section)])
    if np.isnan(snapshot.irt[rows]).any():
        raise ValueError(f"an item of section {section} has no IRT parameters")
    points = np.asarray(theta, dtype=np.float64)
    params = _params(snapshot, rows)
    return _curves(section, points, params)


def _curves(section: str, theta: FloatArray, params: ItemParams) -> SectionCurves:
    score = probability(theta, params).sum(axis=1)
    info = information(theta, params).sum(axis=1)
    for array in (theta, score, info):
        array.setflags(write=False)
    return SectionCurves(section, theta, score, info)


def _matched_sections(
    spec: ExamSpec, snapshot: BankSnapshot, settings: MatchSettings
) -> list[SectionSpec]:
    banded = snapshot.with_bands(spec.difficulty_bands)
    by_code = {s.code: s for s in spec.sections}
    if settings.sections is not None:
        unknown = [c for c in settings.sections if c not in by_code]
        if unknown:
            raise ValueError(f"the spec has no section {', '.join(unknown)}")
        chosen = [by_code[c] for c in settings.sections]
    else:
        chosen = [s for s in spec.sections if s.scoring.kind is not SectionScoringKind.WEIGHTED]
    usable = []
    for section in chosen:
        rows = [banded.rows(section.code, c.topic, c.stratum) for c in section.blueprint.cells]
        complete = all(not np.isnan(banded.irt[r]).any() for r in rows)
        if complete:
            usable.append(section)
        elif settings.sections is not None:
            raise ValueError(f"section {section.code} has items without IRT parameters")
    return usable


def section_targets(
    spec: ExamSpec, snapshot: BankSnapshot, settings: MatchSettings | None = None
) -> dict[str, SectionCurves]:
    """The mean-form target of each matched section: ``Σ_cells count × mean item curve``.

    That is the expected curve of a form drawn at random within the blueprint, the natural
    centre for every form of an exam version.
    """
    settings = settings or MatchSettings()
    banded = snapshot.with_bands(spec.difficulty_bands)
    theta = np.asarray(settings.theta_points, dtype=np.float64)
    targets = {}
    for section in _matched_sections(spec, banded, settings):
        score = np.zeros(theta.size)
        info = np.zeros(theta.size)
        for cell in section.blueprint.cells:
            if cell.count == 0:
                continue
            params = _params(banded, banded.rows(section.code, cell.topic, cell.stratum))
            score += cell.count * probability(theta, params).mean(axis=1)
            info += cell.count * information(theta, params).mean(axis=1)
        for array in (score, info):
            array.setflags(write=False)
        theta_copy = theta.copy()
        theta_copy.setflags(write=False)
        targets[section.code] = SectionCurves(section.code, theta_copy, score, info)
    return targets


# --------------------------------------------------------------------------------------------
# Matching
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, eq=False)
class _SectionPlan:
    """One matched section: its cells' items, every item's curve values, the target, weights.

    Items are numbered ``0..n-1`` in cell order ("local" numbers): cell ``c`` holds local
    numbers ``starts[c] .. starts[c] + sizes[c] - 1``; ``rows[local]`` is the snapshot row.
    """

    spec_index: int
    code: str
    rows: NDArray[np.intp]
    cell_of_local: NDArray[np.int64]
    starts: NDArray[np.int64]
    sizes: NDArray[np.int64]
    local_of_row: NDArray[np.int64]
    curves: FloatArray
    target: FloatArray
    weights: FloatArray
    n_points: int


def _plan(
    spec: ExamSpec,
    snapshot: BankSnapshot,
    targets: Mapping[str, SectionCurves] | None,
    settings: MatchSettings,
) -> list[_SectionPlan]:
    banded = snapshot.with_bands(spec.difficulty_bands)
    theta = np.asarray(settings.theta_points, dtype=np.float64)
    targets = targets if targets is not None else section_targets(spec, banded, settings)
    score_weight = 0.0 if settings.curve is MatchCurve.INFORMATION else 1.0
    info_weight = 0.0 if settings.curve is MatchCurve.SCORE else 1.0
    plans = []
    index_of = {s.code: i for i, s in enumerate(spec.sections)}
    for section in _matched_sections(spec, banded, settings):
        target = targets.get(section.code)
        if target is None:
            continue
        if not np.array_equal(target.theta, theta):
            raise ValueError(f"the target of {section.code} is not at the settings' abilities")
        cells = [
            banded.rows(section.code, c.topic, c.stratum)
            for c in section.blueprint.cells
            if c.count > 0
        ]
        sizes = np.asarray([c.size for c in cells], dtype=np.int64)
        rows = np.concatenate(cells)
        local = np.full(len(banded), -1, dtype=np.int64)
        local[rows] = np.arange(rows.size)
        params = _params(banded, rows)
        curves = np.concatenate(
            [probability(theta, params).T, information(theta, params).T], axis=1
        )
        goal = np.concatenate([target.expected_score, target.information])
        k = theta.size
        weights = np.concatenate([np.full(k, score_weight), np.full(k, info_weight)]) / (
            k * np.maximum(goal, 1e-9) ** 2
        )
        plans.append(
            _SectionPlan(
                spec_index=index_of[section.code],
                code=section.code,
                rows=rows,
                cell_of_local=np.repeat(np.arange(sizes.size), sizes),
                starts=np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64),
                sizes=sizes,
                local_of_row=local,
                curves=curves,
                target=goal,
                weights=weights,
                n_points=k,
            )
        )
    return plans


def _worst(values: FloatArray, target: FloatArray, k: int) -> tuple[float, float]:
    relative = np.abs(values - target) / np.maximum(target, 1e-9)
    return float(relative[:k].max()), float(relative[k:].max())


def _pool(
    plan: _SectionPlan, chosen: NDArray[np.int64], pool_per_cell: int, bits: np.random.PCG64
) -> NDArray[np.int64]:
    """Up to ``pool_per_cell`` unused items per cell (local numbers, cell by cell).

    Cell ``c`` with ``w_c = min(pool_per_cell, spare items)`` reads ``2w_c + 8`` raw outputs of
    the stream, maps each to an item of the cell (``raw mod size``), drops the form's items and
    repeats, and keeps the first ``w_c`` in drawing order.
    """
    taken = np.bincount(plan.cell_of_local[chosen], minlength=plan.sizes.size)
    want = np.minimum(pool_per_cell, plan.sizes - taken)
    want = np.maximum(want, 0)
    draws = np.where(want > 0, 2 * want + 8, 0)
    cell = np.repeat(np.arange(plan.sizes.size), draws)
    raw = bits.random_raw(int(draws.sum()))
    picks = plan.starts[cell] + (raw % plan.sizes[cell].astype(np.uint64)).astype(np.int64)
    in_form = np.zeros(plan.rows.size, dtype=bool)
    in_form[chosen] = True
    picks = picks[~in_form[picks]]
    _, first = np.unique(picks, return_index=True)
    picks = picks[np.sort(first)]
    owner = plan.cell_of_local[picks]
    # Picks are grouped by cell in cell order; rank each within its cell.
    rank = np.arange(picks.size) - np.searchsorted(owner, owner, side="left")
    kept: NDArray[np.int64] = picks[rank < want[owner]]
    return kept


def _match(
    spec: ExamSpec,
    snapshot: BankSnapshot,
    plans: list[_SectionPlan],
    settings: MatchSettings,
    form: Form,
) -> MatchedForm:
    """Greedy within-cell exchanges bringing each matched section to its target.

    With ``e = T(ξ) - T*`` the curves' error and ``Δ_p`` the change a swap ``p`` makes to the
    curves, the new objective is ``D + 2 Σ W e Δ_p + Σ W Δ_p²``: one matrix-vector product
    ranks every swap; after a swap only the swaps sharing one of its two items change.
    """
    seed = form.seed
    if seed is None:
        raise ValueError("only seeded forms can be matched reproducibly")
    bits = np.random.PCG64(np.random.SeedSequence([_POOL_STREAM, seed.sitting_seed, seed.slot]))
    items = list(form.items)
    reports = []
    for plan in plans:
        positions = [i for i, item in enumerate(items) if item.section == plan.code]
        rows = _rows_of(snapshot, [items[i].entry_id for i in positions])
        chosen = plan.local_of_row[rows].copy()
        pool = _pool(plan, chosen, settings.pool_per_cell, bits)
        same = plan.cell_of_local[chosen][:, None] == plan.cell_of_local[pool][None, :]
        pair_chosen, pair_pool = np.nonzero(same)
        total = plan.curves[chosen].sum(axis=0)
        before = _worst(total, plan.target, plan.n_points)
        delta = plan.curves[pool[pair_pool]] - plan.curves[chosen[pair_chosen]]
        squared = (delta * delta) @ plan.weights
        error = total - plan.target
        objective = float(np.sum(plan.weights * error * error))
        swaps = 0
        while swaps < settings.max_swaps and pair_chosen.size:
            scores = objective + delta @ (2.0 * plan.weights * error) + squared
            best = int(np.argmin(scores))
            if scores[best] >= objective * (1.0 - 1e-9):
                break
            i, j = int(pair_chosen[best]), int(pair_pool[best])
            chosen[i], pool[j] = pool[j], chosen[i]
            total = total + delta[best]
            error = total - plan.target
            objective = float(np.sum(plan.weights * error * error))
            changed = (pair_chosen == i) | (pair_pool == j)
            delta[changed] = (
                plan.curves[pool[pair_pool[changed]]] - plan.curves[chosen[pair_chosen[changed]]]
            )
            squared[changed] = (delta[changed] * delta[changed]) @ plan.weights
            swaps += 1
        after = _worst(plan.curves[chosen].sum(axis=0), plan.target, plan.n_points)
        reports.append(SectionMatch(plan.code, before[0], after[0], before[1], after[1], swaps))
        if swaps:
            items = _replace_section(
                items=items,
                positions=positions,
                old_rows=rows,
                plan=plan,
                chosen=chosen,
                snapshot=snapshot,
                spec=spec,
                bits=bits,
            )
    return MatchedForm(Form(tuple(items), form.seed, form.bank_digest), tuple(reports))


def _replace_section(
    *,
    items: list[FormItem],
    positions: list[int],
    old_rows: NDArray[np.intp],
    plan: _SectionPlan,
    chosen: NDArray[np.int64],
    snapshot: BankSnapshot,
    spec: ExamSpec,
    bits: np.random.PCG64,
) -> list[FormItem]:
    """Put the matched items in the section's positions, keeping assembly's conventions.

    Kept items keep their option order. With ``shuffle_items`` a swapped-in item takes the
    place of the item it replaced; without it the section is listed cell by cell in blueprint
    order, ascending id within a cell, as assembly lists it. A swapped-in item's options are
    permuted from the pool stream when ``shuffle_options`` is set.
    """
    new_rows = [int(r) for r in plan.rows[chosen].tolist()]
    kept = {int(r): items[p] for r, p in zip(old_rows.tolist(), positions, strict=True)}
    code = plan.code

    def item_for(row: int) -> FormItem:
        if row in kept:
            return kept[row]
        count = int(snapshot.n_options[row])
        if spec.shuffle_options:
            order = tuple(int(i) for i in np.argsort(bits.random_raw(count), kind="stable"))
        else:
            order = tuple(range(count))
        return FormItem(int(snapshot.ids[row]), code, order)

    out = list(items)
    if spec.shuffle_items:
        new_set = set(new_rows)
        incoming = [r for r in new_rows if r not in kept]
        leaving = [i for i, r in enumerate(old_rows.tolist()) if r not in new_set]
        for slot, row in zip(leaving, incoming, strict=True):
            out[positions[slot]] = item_for(row)
        return out
    cell_of = plan.cell_of_local[plan.local_of_row[np.asarray(new_rows, dtype=np.intp)]].tolist()
    ordered = sorted(
        zip(cell_of, new_rows, strict=True), key=lambda pair: (pair[0], int(snapshot.ids[pair[1]]))
    )
    for position, (_, row) in zip(positions, ordered, strict=True):
        out[position] = item_for(row)
    return out


def draw_matched_form(
    spec: ExamSpec,
    snapshot: BankSnapshot,
    seed: FormSeed,
    *,
    targets: Mapping[str, SectionCurves] | None = None,
    settings: MatchSettings | None = None,
) -> MatchedForm:
    """The blueprint form of ``seed``, its IRT sections matched to their targets.

    Parameters
    ----------
    spec, snapshot, seed
        As for :func:`item_bank.assembly.draw_form`.
    targets
        Curves per section code, at ``settings.theta_points`` (default: the mean form of
        :func:`section_targets`); sections without a target are left as drawn.
    settings
        Ability points, curves, pool size, swap limit and sections.

    Returns
    -------
    MatchedForm
        The form (same seed and bank digest as the blueprint form) and, per matched section,
        the largest relative deviations from the target before and after, and the swaps made.

    Raises
    ------
    BlueprintShortfall
        When the bank cannot fill a cell.
    ValueError
        When ``settings.sections`` names a section without IRT parameters for every item.
    """
    settings = settings or MatchSettings()
    plans = _plan(spec, snapshot, targets, settings)
    banded = snapshot.with_bands(spec.difficulty_bands)
    return _match(spec, banded, plans, settings, draw_form(spec, snapshot, seed))


def draw_matched_forms(
    spec: ExamSpec,
    snapshot: BankSnapshot,
    sitting_seed: int,
    n: int,
    *,
    first_slot: int = 0,
    targets: Mapping[str, SectionCurves] | None = None,
    settings: MatchSettings | None = None,
) -> list[MatchedForm]:
    """Matched forms of slots ``first_slot .. first_slot + n - 1``; equal, form for form, to
    :func:`draw_matched_form` for each slot, with the targets and tables prepared once."""
    settings = settings or MatchSettings()
    plans = _plan(spec, snapshot, targets, settings)
    banded = snapshot.with_bands(spec.difficulty_bands)
    forms = draw_forms(spec, snapshot, sitting_seed, n, first_slot=first_slot)
    return [_match(spec, banded, plans, settings, form) for form in forms]


# --------------------------------------------------------------------------------------------
# Adaptive sections
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, eq=False)
class AdaptiveSection:
    """A section's items as an adaptive bank.

    Bank row ``i`` is snapshot row ``rows[i]`` (item version ``ids[i]``); topic ``t`` of the bank
    is ``topic_names[t]``; ``quotas`` are the blueprint's topic quotas in that order (``None``
    when the blueprint names no topics).
    """

    section: str
    bank: AdaptiveBank
    rows: NDArray[np.intp]
    ids: NDArray[np.int64]
    topic_names: tuple[str, ...]
    quotas: tuple[int, ...] | None
    max_items: int

    def rules(
        self, *, min_items: int = 1, se_target: float | None = None, randomesque: int = 5
    ) -> AdaptiveRules:
        """Rules of the section: its item count as the maximum, its topic quotas."""
        return AdaptiveRules(
            self.max_items,
            min_items=min_items,
            se_target=se_target,
            randomesque=randomesque,
            topic_quotas=self.quotas,
        )


def adaptive_section(
    spec: ExamSpec, snapshot: BankSnapshot, section: str, *, grid: ThetaGrid | None = None
) -> AdaptiveSection:
    """The adaptive bank of ``section``: its items that carry IRT parameters.

    With topic quotas in the blueprint only items of those topics are taken and the quotas
    become the rules' quotas; difficulty strata of the blueprint do not apply (the adaptive
    choice sets the difficulty).

    Raises
    ------
    ValueError
        If the spec has no such section or none of its items carries IRT parameters.
    """
    found = [s for s in spec.sections if s.code == section]
    if not found:
        raise ValueError(f"the spec has no section {section}")
    blueprint = found[0].blueprint
    quotas = blueprint.topic_quotas()
    rows = snapshot.rows(section)
    rows = rows[~np.isnan(snapshot.irt[rows]).any(axis=1)]
    if quotas:
        names = tuple(quotas)
        code_of = {
            snapshot.topic_names.index(n): i
            for i, n in enumerate(names)
            if n in snapshot.topic_names
        }
        topic_codes = snapshot.topics[rows]
        keep = np.isin(topic_codes, list(code_of))
        rows = rows[keep]
        topics = np.asarray([code_of[int(t)] for t in topic_codes[keep]], dtype=np.int32)
    else:
        names = ()
        topics = np.zeros(rows.size, dtype=np.int32)
    if rows.size == 0:
        raise ValueError(f"no item of section {section} carries IRT parameters")
    bank = AdaptiveBank.build(
        _params(snapshot, rows), topics, n_topics=max(len(names), 1), grid=grid
    )
    return AdaptiveSection(
        section=section,
        bank=bank,
        rows=rows,
        ids=snapshot.ids[rows].copy(),
        topic_names=names,
        quotas=tuple(quotas.values()) if quotas else None,
        max_items=found[0].item_count,
    )
