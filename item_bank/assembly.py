"""Form assembly: each candidate's ordered items and option orders, drawn by blueprint from seeds.

A form is a pure function of three things: the exam spec, the bank snapshot and a
:class:`FormSeed` of two integers, ``(sitting_seed, slot)``. The app stores the two integers
with the attempt (beside the frozen form and :attr:`Form.bank_digest`), so a staff replay
redraws exactly what the candidate saw, in order.

How a form is drawn
-------------------
*Items.* Each blueprint cell (a section's topic, stratum, or topic-and-stratum quota of ``k``
items out of the ``m`` items the bank holds for it) is read as an endless stream of its items:
a pseudo-random permutation of the cell for pass 0, a fresh one for pass 1, and so on, each
keyed by the sitting seed. The candidate in slot ``j`` takes the ``k`` stream positions from
``j·k``. So, within a pass, slots take disjoint items: neighbouring candidates share nothing
until the cell is used up. A window that spans two passes takes the first items of the next
pass that it does not already hold, and the window after it takes the ones it skipped, so
every item still comes exactly once per pass: over a sitting, the items of a cell are shown
equally often, to within one: the least mean overlap between two forms that any drawing
keeping the blueprint can reach. A fresh permutation per pass means two candidates of one
sitting do not get the same items merely because the cell wrapped around. (A cell holding
fewer than ``2k - 1`` items is instead read as a cycle through one permutation per
``lcm(m, k)`` positions; see :func:`_select`.) The permutation is a keyed Feistel network
with cycle walking (Black & Rogaway, "Ciphers with arbitrary finite domains", CT-RSA 2002),
so a draw costs O(items drawn), not O(bank): no cell is ever shuffled whole.

*Parallel forms.* Cells with strata fix how many easy, medium and hard items every form gets,
so forms differ in difficulty only within strata: stratified random sampling, whose variance
excludes the between-strata term (Cochran, *Sampling Techniques*, 3rd ed., 1977, §5.3).
:func:`random_form` is the plain random baseline it is measured against (``bench/forms.py``).

*Order.* Sections keep the spec's order. With ``shuffle_items`` a section's items are
shuffled; without it they follow the blueprint's cells, ascending id within a cell. With
``shuffle_options`` each item's options get their own permutation, which an item's
:class:`OptionLayout` then restricts: an item with ``shuffle`` false keeps its written order,
and options marked ``fixed`` keep their index while the others take the remaining positions in
the order the permutation gave them (:func:`honour_layout`). An item with the default layout
keeps exactly the permutation it always had, so forms drawn before layouts existed replay
unchanged. In a section with ``keep_stimulus_items_together``, the items of one passage that the
form drew are moved next to the first of them (an item set shown as one block); which items are
drawn is still the blueprint's choice, so a set may be drawn in part. Both come from the raw
64-bit words of the form's stream (:func:`scoring.prng.raw_words` of ``FORM_ORDER, sitting_seed,
slot``); permutations are argsorts of those words, because numpy keeps bit-generator streams
stable across releases but not the ``Generator`` methods built on them (NEP 19), and a replay
must not change when numpy does. Every random word of this module comes from
:mod:`scoring.prng`.

Extending
---------
Selection lives in :func:`_select`, one cell at a time, from a :class:`_SittingPlan` prepared
once per sitting. Parallel forms by IRT information (choosing, within a cell, the items that
bring a form's test information curve to a target) would replace the window taken from the
stream for sections that ask for it; an adaptive section would carry no fixed items in
:class:`Form` and be served item by item by its own module. Both would be chosen per section
by the spec. Changing how an existing seed draws must change :data:`ASSEMBLY_ALGORITHM`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

import numpy as np
from numpy.typing import NDArray

from item_bank.blueprint import BankSnapshot, check_blueprint
from item_bank.errors import BlueprintShortfall, Shortfall
from item_bank.exam_spec import ExamSpec
from item_bank.models import MAX_OPTIONS, Item
from scoring.prng import FORM_ORDER, FORM_SELECTION, GOLDEN, mix, raw_words

#: Names the drawing procedure; stored with forms. A change that draws differently from the
#: same seed and bank must change it, since stored seeds would no longer replay.
ASSEMBLY_ALGORITHM: Final = "ujian-forms/1"

#: Sitting seeds are 0 <= seed < 2**63, so they fit a signed 64-bit database column.
SITTING_SEED_LIMIT: Final = 2**63

#: Slots are 0 <= slot < 2**31 (a signed 32-bit column).
SLOT_LIMIT: Final = 2**31

# Feistel rounds: four give a pseudo-random permutation from a pseudo-random round function
# (Luby & Rackoff 1988); six leave a margin for small domains.
_ROUNDS: Final = 6

_UINT64_MAX: Final = np.uint64(2**64 - 1)

_OPTION_COLUMNS: Final = np.arange(MAX_OPTIONS)

# Slots whose selections are computed together by draw_forms: large enough that numpy's
# per-call overhead vanishes, small enough to keep the working arrays in cache.
_BATCH_SLOTS: Final = 256


@dataclass(frozen=True, slots=True)
class FormSeed:
    """What a form is drawn from: the sitting's seed and the candidate's slot in it.

    ``sitting_seed`` is chosen once per sitting, unpredictably (``secrets.randbelow(2**63)``),
    and kept from candidates until the sitting is over; ``slot`` numbers the candidates of the
    sitting 0, 1, 2, ... (one slot per candidate, never reused). Candidates in one sitting
    share as few items as the bank allows; sittings are independent of one another.
    """

    sitting_seed: int
    slot: int

    def __post_init__(self) -> None:
        for name, value, limit in (
            ("sitting_seed", self.sitting_seed, SITTING_SEED_LIMIT),
            ("slot", self.slot, SLOT_LIMIT),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < limit:
                raise ValueError(f"{name} must be an integer in [0, {limit})")


@dataclass(frozen=True, slots=True)
class OptionLayout:
    """How one item's options may move on a form (from `Item.shuffle` and `Option.fixed`).

    ``fixed`` holds the indexes (in the item's written order) of the options that keep their
    position whatever the permutation.
    """

    shuffle: bool = True
    fixed: frozenset[int] = frozenset()

    @classmethod
    def of(cls, item: Item) -> OptionLayout:
        """The layout ``item`` asks for."""
        return cls(item.shuffle, frozenset(i for i, o in enumerate(item.options) if o.fixed))

    @property
    def is_default(self) -> bool:
        """Whether every option may move (the layout of every item before layouts existed)."""
        return self.shuffle and not self.fixed


DEFAULT_LAYOUT: Final = OptionLayout()


def honour_layout(order: Sequence[int], layout: OptionLayout) -> tuple[int, ...]:
    """``order`` (a permutation of an item's option indexes) restricted to ``layout``.

    No shuffle: the written order. Fixed options: each at its own index, the other options in
    the remaining positions in the relative order ``order`` gave them. The default layout
    returns ``order`` itself.
    """
    if not layout.shuffle:
        return tuple(range(len(order)))
    if not layout.fixed:
        return tuple(order)
    moving = iter([index for index in order if index not in layout.fixed])
    return tuple(
        position if position in layout.fixed else next(moving) for position in range(len(order))
    )


@dataclass(frozen=True, slots=True)
class FormExtras:
    """What assembly needs of items beyond the snapshot's columns, by item version id.

    ``layouts``: items whose options may not all move (absent: every option moves);
    ``stimuli``: the passage code of items that have one (for item sets).
    """

    layouts: Mapping[int, OptionLayout] = field(default_factory=dict)
    stimuli: Mapping[int, str] = field(default_factory=dict)

    @classmethod
    def of(cls, items: Mapping[int, Item]) -> FormExtras:
        """The extras of ``items`` (item version id -> item)."""
        layouts = {i: OptionLayout.of(item) for i, item in items.items()}
        return cls(
            {i: layout for i, layout in layouts.items() if not layout.is_default},
            {i: item.stimulus_ref for i, item in items.items() if item.stimulus_ref is not None},
        )


NO_EXTRAS: Final = FormExtras()


@dataclass(frozen=True, slots=True)
class FormItem:
    """One position of a form: the item version, its section and how its options are shown.

    ``option_order[k]`` is the original index of the option shown in display position ``k``.
    """

    entry_id: int
    section: str
    option_order: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Form:
    """A candidate's items in the order they are shown, sections in spec order.

    ``seed`` is what the form was drawn from (``None`` for a :func:`random_form` baseline) and
    ``bank_digest`` the :attr:`~item_bank.blueprint.BankSnapshot.digest` of the bank it was
    drawn from.
    """

    items: tuple[FormItem, ...]
    seed: FormSeed | None
    bank_digest: str

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[FormItem]:
        return iter(self.items)

    @property
    def entry_ids(self) -> tuple[int, ...]:
        """Item version ids in display order."""
        return tuple(item.entry_id for item in self.items)

    def section_items(self, code: str) -> tuple[FormItem, ...]:
        """The items of section ``code``, in display order."""
        return tuple(item for item in self.items if item.section == code)


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def draw_form(
    spec: ExamSpec, snapshot: BankSnapshot, seed: FormSeed, extras: FormExtras = NO_EXTRAS
) -> Form:
    """The form of the candidate in ``seed.slot`` of the sitting seeded ``seed.sitting_seed``.

    Each blueprint cell is drawn as a window into a stream of keyed permutations of the cell
    (see the module documentation), then items are ordered and options permuted from a PCG64
    stream seeded by ``(sitting_seed, slot)``. The same spec, snapshot and seed always give the
    same form: that is how a replay shows what the candidate saw.

    Parameters
    ----------
    spec
        The exam version; its blueprints, shuffling flags and difficulty bands apply.
    snapshot
        The active items the form is drawn from (re-stratified by the spec's bands if needed).
    seed
        The sitting's seed and the candidate's slot in the sitting.
    extras
        Option layouts and passages of the items (see `FormExtras`); items absent from it
        draw as they always did.

    Returns
    -------
    Form
        Items in display order, each with its option order; ``bank_digest`` names the
        snapshot.

    Raises
    ------
    BlueprintShortfall
        When the bank cannot fill a cell, naming every such cell.
    """
    plan = _plan(spec, snapshot, seed.sitting_seed, extras)
    return _draw(plan, [seed.slot])[0]


def draw_forms(
    spec: ExamSpec,
    snapshot: BankSnapshot,
    sitting_seed: int,
    n: int,
    *,
    first_slot: int = 0,
    extras: FormExtras = NO_EXTRAS,
) -> list[Form]:
    """Forms of slots ``first_slot .. first_slot + n - 1`` of one sitting.

    Equal, form for form, to :func:`draw_form` for each slot, and faster: the sitting's plan is
    prepared once and the permutations of up to 256 slots are evaluated together.

    Parameters
    ----------
    spec, snapshot
        As for :func:`draw_form`.
    sitting_seed
        The sitting's seed, ``0 <= sitting_seed < 2**63``.
    n
        How many forms.
    first_slot
        Slot of the first form (to add late registrations to a sitting already drawn).
    extras
        As for :func:`draw_form`.

    Returns
    -------
    list of Form
        One form per slot, in slot order.

    Raises
    ------
    BlueprintShortfall
        When the bank cannot fill a cell, naming every such cell.
    """
    if n < 0:
        raise ValueError("n cannot be negative")
    FormSeed(sitting_seed, first_slot)  # validate the whole slot range up front
    FormSeed(sitting_seed, first_slot + max(n - 1, 0))
    plan = _plan(spec, snapshot, sitting_seed, extras)
    forms: list[Form] = []
    for batch_start in range(first_slot, first_slot + n, _BATCH_SLOTS):
        batch_end = min(batch_start + _BATCH_SLOTS, first_slot + n)
        forms.extend(_draw(plan, range(batch_start, batch_end)))
    return forms


def random_form(
    spec: ExamSpec,
    snapshot: BankSnapshot,
    rng: np.random.Generator,
    extras: FormExtras = NO_EXTRAS,
) -> Form:
    """A plain random form: the baseline that drawing by strata is measured against.

    Simple random sampling without replacement within each topic quota (summed over strata;
    the whole section when the blueprint has no topics), ignoring strata and other
    candidates. Items and options are ordered as :func:`draw_form` orders them.

    Parameters
    ----------
    spec, snapshot
        As for :func:`draw_form`.
    rng
        Where the randomness comes from.

    Returns
    -------
    Form
        With ``seed=None``: a baseline form is not meant to be replayed.

    Raises
    ------
    BlueprintShortfall
        When a topic (or section) holds fewer items than its quota.
    """
    banded = snapshot.with_bands(spec.difficulty_bands)
    shortfalls: list[Shortfall] = []
    chosen: list[list[NDArray[np.intp]]] = []
    for section in spec.sections:
        by_topic = section.blueprint.topic_quotas()
        quotas: list[tuple[str | None, int]] = (
            list(by_topic.items()) if by_topic else [(None, section.item_count)]
        )
        cells: list[NDArray[np.intp]] = []
        for topic, count in quotas:
            rows = banded.rows(section.code, topic)
            if rows.size < count:
                shortfalls.append(Shortfall(section.code, topic, None, count, int(rows.size)))
                continue
            picked = rng.choice(rows, size=count, replace=False)
            cells.append(np.asarray(picked, dtype=np.intp))
        chosen.append(cells)
    if shortfalls:
        raise BlueprintShortfall(shortfalls)

    def raw(size: int) -> NDArray[np.uint64]:
        return rng.integers(0, _UINT64_MAX, size=size, dtype=np.uint64, endpoint=True)

    return _assemble(spec, banded, chosen, raw, seed=None, extras=extras)


def exposure_counts(forms: Sequence[Form], snapshot: BankSnapshot) -> NDArray[np.int64]:
    """How many of ``forms`` hold each item, by snapshot row (``ValueError`` for an item the
    snapshot does not hold)."""
    counts = np.zeros(len(snapshot), dtype=np.int64)
    for form in forms:
        ids = np.fromiter(form.entry_ids, np.int64, len(form))
        rows = np.searchsorted(snapshot.ids, ids)
        if np.any(rows >= len(snapshot)) or not np.array_equal(snapshot.ids[rows], ids):
            raise ValueError("a form holds an item the snapshot does not")
        counts[rows] += 1  # an item appears at most once per form
    return counts


def mean_pairwise_overlap(exposures: NDArray[np.int64], n_forms: int) -> float:
    """Mean number of items two forms share, over all pairs of ``n_forms`` forms.

    Each item held by ``e`` forms is shared by ``e(e-1)/2`` pairs, so the mean overlap is
    ``Σ e(e-1)/2 / (n(n-1)/2)``, computed from the exposure counts without comparing pairs.
    """
    if n_forms < 2:
        return 0.0
    e = exposures.astype(np.float64)
    return float(np.sum(e * (e - 1.0)) / (n_forms * (n_forms - 1.0)))


# --------------------------------------------------------------------------------------------
# The sitting plan and the keyed permutation
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, eq=False)
class _Cell:
    """One non-empty blueprint cell of a sitting: where its items are and its round keys."""

    section: int
    count: int
    rows: NDArray[np.intp]
    half_bits: int
    keys: NDArray[np.uint64]
    cycle: int


@dataclass(frozen=True, slots=True, eq=False)
class _SittingPlan:
    """What every form of one sitting shares: the banded snapshot and the cells' keys."""

    spec: ExamSpec
    snapshot: BankSnapshot
    sitting_seed: int
    extras: FormExtras
    cells: tuple[_Cell, ...]
    sizes: NDArray[np.uint64]
    half_bits: NDArray[np.uint64]
    keys: NDArray[np.uint64]


def _plan(
    spec: ExamSpec, snapshot: BankSnapshot, sitting_seed: int, extras: FormExtras
) -> _SittingPlan:
    FormSeed(sitting_seed, 0)
    banded = snapshot.with_bands(spec.difficulty_bands)
    shortfalls = check_blueprint(spec, banded)
    if shortfalls:
        raise BlueprintShortfall(shortfalls)
    listed = [
        (index, section, cell)
        for index, section in enumerate(spec.sections)
        for cell in section.blueprint.cells
    ]
    keys = raw_words(FORM_SELECTION, sitting_seed)(len(listed) * _ROUNDS).reshape(
        len(listed), _ROUNDS
    )
    cells = []
    for number, (index, section, cell) in enumerate(listed):
        if cell.count == 0:
            continue
        rows = banded.rows(section.code, cell.topic, cell.stratum)
        half_bits = max(1, ((rows.size - 1).bit_length() + 1) // 2)
        # A cell of fewer than 2k - 1 items is read as a cycle (see _select); 0 otherwise.
        cycle = math.lcm(rows.size, cell.count) if rows.size < 2 * cell.count - 1 else 0
        cells.append(_Cell(index, cell.count, rows, half_bits, keys[number], cycle))
    return _SittingPlan(
        spec,
        banded,
        sitting_seed,
        extras,
        tuple(cells),
        sizes=np.asarray([c.rows.size for c in cells], dtype=np.uint64),
        half_bits=np.asarray([c.half_bits for c in cells], dtype=np.uint64),
        keys=np.stack([c.keys for c in cells]),
    )


def _feistel(
    x: NDArray[np.uint64],
    half: NDArray[np.uint64],
    mask: NDArray[np.uint64],
    keys: NDArray[np.uint64],
) -> NDArray[np.uint64]:
    """A balanced Feistel network on ``2·half`` bits per element; round ``r`` keyed ``keys[:, r]``.

    Each round swaps the halves and mixes the keyed right half into the left (Feistel 1973;
    Luby & Rackoff 1988); any round function gives a bijection.
    """
    left = x >> half
    right = x & mask
    for r in range(_ROUNDS):
        left, right = right, left ^ (mix(right ^ keys[:, r]) & mask)
    return (left << half) | right


def _permute(
    x: NDArray[np.uint64],
    size: NDArray[np.uint64],
    half: NDArray[np.uint64],
    keys: NDArray[np.uint64],
) -> NDArray[np.uint64]:
    """``π(x)`` for a keyed pseudo-random permutation ``π`` of ``[0, size)``, per element.

    The Feistel network permutes ``[0, 4**half)`` with ``4**half < 4·size``; cycle walking
    re-applies it until the value falls back into ``[0, size)``, which restricts the
    permutation to the domain (Black & Rogaway 2002, §4). On average fewer than four passes.
    """
    mask = (np.uint64(1) << half) - np.uint64(1)
    out = _feistel(x, half, mask, keys)
    todo = np.flatnonzero(out >= size)
    while todo.size:
        again = _feistel(out[todo], half[todo], mask[todo], keys[todo])
        out[todo] = again
        todo = todo[again >= size[todo]]
    return out


def _select(plan: _SittingPlan, slots: Sequence[int]) -> list[list[list[NDArray[np.intp]]]]:
    """Snapshot rows each of ``slots`` draws, per section and cell in blueprint order.

    First every permutation value the windows need is listed and computed in one vectorized
    pass (a few dozen numpy calls whether one form is drawn or a few hundred); then each window
    is put together. A window is one of four kinds:

    ``plain``: ``k`` positions inside one pass. ``straddle``: the last ``r`` positions of pass
    ``e`` and the first ``k - r`` items of pass ``e + 1`` that it does not already hold.
    ``after``: the window that follows a straddle; it starts with the items of pass ``e + 1``
    the straddle skipped (they were its own tail), so every item still comes once per pass.
    ``cycle``: a cell holding fewer than ``2k - 1`` items, where a straddle and the window
    after it could overlap; such a cell is read as a cycle through one permutation for
    ``lcm(m, k)`` positions (``k`` consecutive positions of a cycle never repeat an item).
    """
    cell_of: list[int] = []
    positions: list[int] = []
    epochs: list[int] = []

    def need(cell: int, epoch: int, first: int, count: int) -> slice:
        start = len(positions)
        positions.extend(range(first, first + count))
        epochs.extend([epoch] * count)
        cell_of.extend([cell] * count)
        return slice(start, start + count)

    windows: list[list[tuple[str, slice, slice, slice]]] = []
    nothing = slice(0, 0)
    for slot in slots:
        per_cell = []
        for number, cell in enumerate(plan.cells):
            k, m = cell.count, int(cell.rows.size)
            if cell.cycle:
                epoch, offset = divmod(slot * k, cell.cycle)
                first = offset % m
                wrap = min(k, m - first)
                per_cell.append(
                    (
                        "cycle",
                        need(number, epoch, first, wrap),
                        need(number, epoch, 0, k - wrap),
                        nothing,
                    )
                )
                continue
            epoch, offset = divmod(slot * k, m)
            taken = min(k, m - offset)
            own = need(number, epoch, offset, taken)
            tail = (epoch * m) % k  # what the window before took from the end of pass e - 1
            if taken < k:
                per_cell.append(("straddle", own, need(number, epoch + 1, 0, k), nothing))
            elif epoch and tail and offset == k - tail:
                tail_of_previous = need(number, epoch - 1, m - tail, tail)
                per_cell.append(("after", own, tail_of_previous, need(number, epoch, 0, k)))
            else:
                per_cell.append(("plain", own, nothing, nothing))
        windows.append(per_cell)

    which = np.asarray(cell_of, dtype=np.intp)
    epoch_words = mix((np.asarray(epochs, dtype=np.uint64) + np.uint64(1)) * GOLDEN)
    keys = mix(plan.keys[which] ^ epoch_words[:, None])
    permuted = _permute(
        np.asarray(positions, dtype=np.uint64), plan.sizes[which], plan.half_bits[which], keys
    ).astype(np.intp)

    out: list[list[list[NDArray[np.intp]]]] = []
    for per_cell in windows:
        drawn: list[list[NDArray[np.intp]]] = [[] for _ in plan.spec.sections]
        for cell, (kind, own, second, third) in zip(plan.cells, per_cell, strict=True):
            picked = permuted[own]
            if kind == "cycle":
                picked = np.concatenate([picked, permuted[second]])
            elif kind == "straddle":
                head = permuted[second]
                head = head[~np.isin(head, picked)][: cell.count - picked.size]
                picked = np.concatenate([picked, head])
            elif kind == "after":
                # Pass e + 1 begins with the items the straddle took, minus those it already
                # held from pass e; those it skipped come first here, the rest is unchanged.
                held = permuted[second]
                pass_start = permuted[third]
                fresh = ~np.isin(pass_start, held)
                begins = cell.count - held.size
                reordered_to = int(np.flatnonzero(fresh)[begins - 1]) + 1
                skipped = pass_start[:reordered_to][~fresh[:reordered_to]]
                picked = np.concatenate([skipped, picked[reordered_to - begins :]])
            drawn[cell.section].append(cell.rows[picked])
        out.append(drawn)
    return out


def _draw(plan: _SittingPlan, slots: Sequence[int]) -> list[Form]:
    forms = []
    for slot, chosen in zip(slots, _select(plan, slots), strict=True):
        raw = raw_words(FORM_ORDER, plan.sitting_seed, slot)
        seed = FormSeed(plan.sitting_seed, slot)
        forms.append(_assemble(plan.spec, plan.snapshot, chosen, raw, seed, extras=plan.extras))
    return forms


def _assemble(
    spec: ExamSpec,
    snapshot: BankSnapshot,
    chosen: list[list[NDArray[np.intp]]],
    raw: Callable[[int], NDArray[np.uint64]],
    seed: FormSeed | None,
    *,
    extras: FormExtras = NO_EXTRAS,
) -> Form:
    """Order the chosen rows of each section and permute options, drawing from ``raw``.

    Layouts and item sets only rearrange what the words drawn gave; they draw no word, so the
    stream (and every other item's order) is the same with or without them.
    """
    ordered: list[NDArray[np.intp]] = []
    codes: list[str] = []
    display: list[int] = []
    for section, cells in zip(spec.sections, chosen, strict=True):
        if spec.shuffle_items:
            rows = np.concatenate(cells) if cells else np.empty(0, dtype=np.intp)
            rows = rows[np.argsort(raw(rows.size), kind="stable")]
        else:
            rows = np.concatenate([np.sort(c) for c in cells]) if cells else np.empty(0, np.intp)
        # Item sets move after options are drawn, so each item keeps the option order it
        # would have had: the block only changes where items stand.
        start = sum(r.size for r in ordered)
        if section.keep_stimulus_items_together and extras.stimuli:
            display.extend(start + k for k in _item_sets_together(rows, snapshot, extras.stimuli))
        else:
            display.extend(range(start, start + rows.size))
        ordered.append(rows)
        codes.extend([section.code] * rows.size)
    all_rows = np.concatenate(ordered)
    n_options = snapshot.n_options[all_rows].astype(np.intp)
    if spec.shuffle_options:
        sort_keys = raw(all_rows.size * MAX_OPTIONS).reshape(all_rows.size, MAX_OPTIONS)
        # Options an item lacks sort last; stable sorting keeps them behind real options even
        # if a real key happens to be the maximum too.
        sort_keys[_OPTION_COLUMNS[None, :] >= n_options[:, None]] = _UINT64_MAX
        orders = np.argsort(sort_keys, axis=1, kind="stable").tolist()
    else:
        orders = [list(range(MAX_OPTIONS))] * all_rows.size
    ids = snapshot.ids[all_rows].tolist()
    layouts = extras.layouts
    drawn = tuple(
        FormItem(
            entry_id, code, honour_layout(order[:count], layouts.get(entry_id, DEFAULT_LAYOUT))
        )
        for entry_id, code, order, count in zip(ids, codes, orders, n_options.tolist(), strict=True)
    )
    return Form(tuple(drawn[k] for k in display), seed, snapshot.digest)


def _item_sets_together(
    rows: NDArray[np.intp], snapshot: BankSnapshot, stimuli: Mapping[int, str]
) -> list[int]:
    """Positions of ``rows`` in display order: each passage's items moved up behind the first
    of them. Items without a passage keep their relative order; so do the items of a passage.
    """
    ids = snapshot.ids[rows].tolist()
    members: dict[str, list[int]] = {}
    for position, item_id in enumerate(ids):
        code = stimuli.get(item_id)
        if code is not None:
            members.setdefault(code, []).append(position)
    placed: list[int] = []
    done: set[str] = set()
    for position, item_id in enumerate(ids):
        code = stimuli.get(item_id)
        if code is None:
            placed.append(position)
        elif code not in done:
            done.add(code)
            placed.extend(members[code])
    return placed
