"""How a section turns responses into points: dichotomous (correct/wrong/blank) or weighted."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
from numpy.typing import ArrayLike, NDArray

from scoring.errors import InvalidResponse, ScoringError

#: Version of what the scoring rules *mean*, stored with every result. Bump it when the same
#: exam and the same responses could score differently; never for a refactor or a speed-up.
SCORING_VERSION = "1"

#: Most options an item may have. Mirrors ``item_bank.models.MAX_OPTIONS``: ``scoring`` sits
#: below ``item_bank`` in the import order and cannot import it.
MAX_OPTIONS = 6

#: Fewest options an item may have.
MIN_OPTIONS = 2

#: Column of :attr:`PointsTable.points` holding what an unanswered item earns.
BLANK_COLUMN = MAX_OPTIONS

#: The response code for "no answer" in a responses array.
BLANK = -1

#: Attempts scored per block. Big enough that numpy's per-call overhead disappears, small
#: enough that a block's index and point arrays (12 bytes a position, ~10 MB at 110 positions)
#: do not push the points table out of the CPU cache.
DEFAULT_CHUNK = 8192

# The gather table is 8 columns wide so a response maps to its column with ``response & 7``:
# options 0-5 keep their index and -1 (all bits set) lands on column 7, the blank. Column 6 is
# NaN, like every option an item does not have, so any response that slips past the range
# check turns the section sum into NaN instead of into points.
_LOOKUP_WIDTH = 8
_LOOKUP_SHIFT = 3
_LOOKUP_BLANK = 7


class SectionScoringKind(StrEnum):
    """``dichotomous``: one key per item; ``weighted``: points per option (SKD's TKP)."""

    DICHOTOMOUS = "dichotomous"
    WEIGHTED = "weighted"


class AnnulMode(StrEnum):
    """What annulling an item does: ``award_all`` gives everyone its maximum, ``drop`` removes it.

    ``drop`` makes the item worth 0 to everyone, so the attainable maximum of every form that
    holds it falls by the item's maximum.
    """

    AWARD_ALL = "award_all"
    DROP = "drop"


@dataclass(frozen=True, slots=True)
class SectionScoring:
    """Points a section gives.

    For ``dichotomous`` sections ``correct``/``wrong``/``blank`` apply (``wrong`` may be
    negative: negative marking). For ``weighted`` sections each option's own points apply and
    ``blank`` is what an unanswered item earns (0 in SKD).
    """

    kind: SectionScoringKind
    correct: float = 5.0
    wrong: float = 0.0
    blank: float = 0.0


@dataclass(frozen=True, slots=True)
class SectionRule:
    """A section as scoring sees it: its code, how many items it has and how they score."""

    code: str
    name: str
    item_count: int
    scoring: SectionScoring


@dataclass(frozen=True, slots=True)
class ItemScoringRow:
    """What one item version is worth, as a row of the points table.

    ``key_index`` names the key of a dichotomous item (0-based, original option order).
    ``option_points`` gives each option's points; it is required for weighted items and, when
    set on a dichotomous item, replaces the key (a committee accepting two options, say).
    ``annulled`` is set by a committee's annulment (see :mod:`scoring.correction`).
    """

    section_scoring: SectionScoring
    n_options: int
    key_index: int | None
    option_points: tuple[float, ...] | None
    annulled: AnnulMode | None = None


@dataclass(frozen=True, slots=True, eq=False)
class PointsTable:
    """Points of every response to every item row, ready for vectorized scoring.

    ``points[r, o]`` is what option ``o`` of item row ``r`` earns; ``points[r, BLANK_COLUMN]``
    what leaving it blank earns; option columns an item does not have are NaN. ``max_points[r]``
    is the best achievable on the item: ``max_o points[r, o]`` over its options and the blank.
    Build it with :func:`build_points_table`; all arrays are read-only. ``lookup`` is the
    gather table :func:`score_attempts` reads: ``points`` re-laid 8 columns wide, flattened.
    """

    rows: tuple[ItemScoringRow, ...]
    points: NDArray[np.float64]
    max_points: NDArray[np.float64]
    lookup: NDArray[np.float64] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.points.shape != (len(self.rows), MAX_OPTIONS + 1):
            raise ScoringError(
                f"points table shape {self.points.shape} does not match "
                f"{len(self.rows)} rows x {MAX_OPTIONS + 1} columns"
            )
        lookup = np.full((len(self.rows), _LOOKUP_WIDTH), np.nan)
        lookup[:, :MAX_OPTIONS] = self.points[:, :MAX_OPTIONS]
        lookup[:, _LOOKUP_BLANK] = self.points[:, BLANK_COLUMN]
        flat = lookup.ravel()
        for array in (self.points, self.max_points, flat):
            array.setflags(write=False)
        object.__setattr__(self, "lookup", flat)

    @property
    def n_items(self) -> int:
        """Number of item rows."""
        return len(self.rows)


@dataclass(frozen=True, slots=True, eq=False)
class ScoreMatrix:
    """Scores of many attempts: one row per attempt, one column per section.

    ``total[i] = sum_s section_scores[i, s]`` and ``section_scores[i, s]`` is the sum of the
    points of attempt ``i``'s items in section ``s``. ``item_points`` (attempts x positions)
    is kept only when asked for, for item analysis.
    """

    section_codes: tuple[str, ...]
    section_scores: NDArray[np.float64]
    total: NDArray[np.float64]
    item_points: NDArray[np.float64] | None = None

    def __len__(self) -> int:
        return int(self.total.shape[0])

    def section(self, code: str) -> NDArray[np.float64]:
        """The column of section ``code``."""
        return self.section_scores[:, section_index(self.section_codes, code)]

    def take(self, rows: NDArray[np.intp]) -> ScoreMatrix:
        """The scores of the attempts at ``rows`` only."""
        return ScoreMatrix(
            self.section_codes,
            self.section_scores[rows],
            self.total[rows],
            None if self.item_points is None else self.item_points[rows],
        )


def section_index(section_codes: Sequence[str], code: str) -> int:
    """Column of section ``code``; a :class:`ScoringError` names an unknown code."""
    try:
        return list(section_codes).index(code)
    except ValueError:
        known = ", ".join(section_codes)
        raise ScoringError(f"unknown section {code!r} (sections: {known})") from None


def row_points(row: ItemScoringRow, *, row_index: int = 0) -> NDArray[np.float64]:
    """The ``MAX_OPTIONS + 1`` points of one item row (NaN for options it does not have).

    Dichotomous: ``correct`` at the key, ``wrong`` elsewhere. Weighted (or explicit
    ``option_points``): each option's points. Blank: the section's ``blank``. Annulled with
    ``award_all``: every option and the blank earn the item's maximum; with ``drop``: 0.
    """
    where = f"item row {row_index}"
    scoring = row.section_scoring
    if not MIN_OPTIONS <= row.n_options <= MAX_OPTIONS:
        raise ScoringError(
            f"{where}: {row.n_options} options (allowed {MIN_OPTIONS}-{MAX_OPTIONS})"
        )
    if not all(math.isfinite(v) for v in (scoring.correct, scoring.wrong, scoring.blank)):
        raise ScoringError(f"{where}: section points must be finite numbers")
    out = np.full(MAX_OPTIONS + 1, np.nan)
    if row.option_points is not None:
        if len(row.option_points) != row.n_options:
            raise ScoringError(
                f"{where}: {len(row.option_points)} option points for {row.n_options} options"
            )
        if not all(math.isfinite(p) for p in row.option_points):
            raise ScoringError(f"{where}: option points must be finite numbers")
        out[: row.n_options] = row.option_points
    elif scoring.kind is SectionScoringKind.DICHOTOMOUS:
        if row.key_index is None or not 0 <= row.key_index < row.n_options:
            raise ScoringError(
                f"{where}: key index {row.key_index} is not one of its {row.n_options} options"
            )
        out[: row.n_options] = scoring.wrong
        out[row.key_index] = scoring.correct
    else:
        raise ScoringError(f"{where}: a weighted item needs points for each option")
    out[BLANK_COLUMN] = scoring.blank
    if row.annulled is AnnulMode.AWARD_ALL:
        reachable = ~np.isnan(out)
        out[reachable] = np.nanmax(out)
    elif row.annulled is AnnulMode.DROP:
        out[~np.isnan(out)] = 0.0
    return out


def build_points_table(rows: Sequence[ItemScoringRow]) -> PointsTable:
    """Build the points table of ``rows`` (row ``r`` of the table is ``rows[r]``).

    Raises
    ------
    ScoringError
        Naming the first row that cannot be scored: option count outside 2-6, a missing or
        out-of-range key, option points of the wrong length or not finite.
    """
    frozen_rows = tuple(rows)
    if not frozen_rows:
        raise ScoringError("a points table needs at least one item row")
    points = np.empty((len(frozen_rows), MAX_OPTIONS + 1))
    for index, row in enumerate(frozen_rows):
        points[index] = row_points(row, row_index=index)
    return PointsTable(frozen_rows, points, np.nanmax(points, axis=1))


def section_slices(sections: Sequence[SectionRule]) -> tuple[slice, ...]:
    """Positions of each section in a form: sections follow each other in the spec's order.

    Section ``k`` covers positions ``[sum_{j<k} n_j, sum_{j<=k} n_j)`` where ``n_j`` is
    ``sections[j].item_count``.
    """
    _check_sections(sections)
    out: list[slice] = []
    start = 0
    for section in sections:
        out.append(slice(start, start + section.item_count))
        start += section.item_count
    return tuple(out)


def score_attempts(
    table: PointsTable,
    forms: ArrayLike,
    responses: ArrayLike,
    sections: Sequence[SectionRule],
    *,
    keep_item_points: bool = False,
    chunk_size: int = DEFAULT_CHUNK,
) -> ScoreMatrix:
    """Score many attempts of one exam version at once.

    For attempt ``i`` and position ``j`` the item earns ``x_ij = points[forms[i, j], c_ij]``
    with ``c_ij = responses[i, j]`` for an answer and the blank column for ``-1``. Then
    ``section_scores[i, s] = sum_{j in s} x_ij`` and ``total[i] = sum_s section_scores[i, s]``.

    Parameters
    ----------
    table
        Points of every item row.
    forms
        Integer array (attempts x positions): the table row of the item at each position.
    responses
        Integer array (attempts x positions): the chosen option's index in the item's
        *original* option order, or ``-1`` for blank. ``int8`` is cheapest.
    sections
        The exam's sections in form order; their ``item_count`` must add up to the positions.
    keep_item_points
        Also return ``x_ij`` (8 bytes a position) for item analysis.
    chunk_size
        Attempts per block; only memory and speed depend on it.

    Raises
    ------
    InvalidResponse
        A response below ``-1`` or not one of the item's options, or a form entry that is not a
        table row; names the attempt row and the position.
    ScoringError
        Arrays of the wrong shape or type, or sections that do not match the positions.
    """
    forms_arr, responses_arr = _check_attempt_arrays(forms, responses, sections)
    n_attempts, n_positions = forms_arr.shape
    starts = _section_starts(sections)
    section_scores = np.empty((n_attempts, len(sections)))
    item_points = np.empty((n_attempts, n_positions)) if keep_item_points else None
    for lo, hi in _chunks(n_attempts, chunk_size):
        block_forms = forms_arr[lo:hi]
        block_responses = responses_arr[lo:hi]
        _check_ranges(table, block_forms, block_responses, lo)
        index = block_forms.astype(np.intp)
        index <<= _LOOKUP_SHIFT
        index |= block_responses & (_LOOKUP_WIDTH - 1)
        points = table.lookup.take(index)
        block_scores = np.add.reduceat(points, starts, axis=1)
        if np.isnan(block_scores).any():
            _raise_unscorable(table, block_forms, block_responses, points, lo)
        section_scores[lo:hi] = block_scores
        if item_points is not None:
            item_points[lo:hi] = points
    return ScoreMatrix(
        tuple(s.code for s in sections),
        section_scores,
        section_scores.sum(axis=1),
        item_points,
    )


def section_max_scores(
    table: PointsTable,
    forms: ArrayLike,
    sections: Sequence[SectionRule],
    *,
    chunk_size: int = DEFAULT_CHUNK,
) -> NDArray[np.float64]:
    """Best achievable score of each section of each form (attempts x sections).

    ``max[i, s] = sum_{j in s} max_points[forms[i, j]]``. Equal for every form of an exam
    whose items in a section all share one maximum (SKD: 150, 175, 225); lower for a form that
    holds an item dropped by annulment.
    """
    forms_arr = np.asarray(forms)
    if forms_arr.ndim != 2 or not np.issubdtype(forms_arr.dtype, np.integer):
        raise ScoringError("forms must be a 2-D integer array (attempts x positions)")
    _check_positions(sections, forms_arr.shape[1])
    starts = _section_starts(sections)
    out = np.empty((forms_arr.shape[0], len(sections)))
    for lo, hi in _chunks(forms_arr.shape[0], chunk_size):
        block = forms_arr[lo:hi]
        _check_form_range(table, block, lo)
        out[lo:hi] = np.add.reduceat(table.max_points.take(block), starts, axis=1)
    return out


def apply_afirmasi(
    scores: ArrayLike, maximum: ArrayLike, percent: ArrayLike
) -> NDArray[np.float64]:
    """A section score with affirmative-action points (PPPK *afirmasi*), capped at the maximum.

    ``s' = min(s + p / 100 * m, m)`` where ``p`` is the candidate's cumulative percentage (the
    sum over their listed conditions, see :func:`afirmasi_percent`) and ``m`` the section's
    maximum. The cap means nobody ends above 100 % of the maximum, however many conditions add
    up. A candidate already at or above ``m`` keeps their score.
    """
    s = np.asarray(scores, dtype=np.float64)
    m = np.asarray(maximum, dtype=np.float64)
    p = np.asarray(percent, dtype=np.float64)
    if (p < 0).any() or np.isnan(p).any():
        raise ScoringError("afirmasi percentages must be 0 or more")
    if (m <= 0).any():
        raise ScoringError("a section maximum must be positive")
    result: NDArray[np.float64] = np.where(s >= m, s, np.minimum(s + p / 100.0 * m, m))
    return result


def afirmasi_percent(conditions: Iterable[str], percent_by_condition: Mapping[str, float]) -> float:
    """Cumulative afirmasi percentage of one candidate: the sum over their distinct conditions.

    Raises
    ------
    ScoringError
        For a condition the exam does not list.
    """
    total = 0.0
    for condition in sorted(set(conditions)):
        if condition not in percent_by_condition:
            known = ", ".join(sorted(percent_by_condition))
            raise ScoringError(f"unknown afirmasi condition {condition!r} (known: {known})")
        total += percent_by_condition[condition]
    return total


def _check_sections(sections: Sequence[SectionRule]) -> None:
    if not sections:
        raise ScoringError("an exam needs at least one section")
    codes = [s.code for s in sections]
    if len(set(codes)) != len(codes):
        raise ScoringError(f"section codes repeat: {', '.join(codes)}")
    for section in sections:
        if section.item_count < 1:
            raise ScoringError(f"section {section.code} has {section.item_count} items")


def _check_positions(sections: Sequence[SectionRule], n_positions: int) -> None:
    _check_sections(sections)
    expected = sum(s.item_count for s in sections)
    if n_positions != expected:
        raise ScoringError(
            f"forms have {n_positions} positions but the sections hold {expected} items"
        )


def _section_starts(sections: Sequence[SectionRule]) -> NDArray[np.intp]:
    return np.array([s.start for s in section_slices(sections)], dtype=np.intp)


def _chunks(n: int, size: int) -> Iterator[tuple[int, int]]:
    if size < 1:
        raise ScoringError("chunk size must be at least 1")
    for lo in range(0, n, size):
        yield lo, min(lo + size, n)


def _check_attempt_arrays(
    forms: ArrayLike, responses: ArrayLike, sections: Sequence[SectionRule]
) -> tuple[NDArray[np.integer], NDArray[np.integer]]:
    forms_arr = np.asarray(forms)
    responses_arr = np.asarray(responses)
    if forms_arr.ndim != 2 or not np.issubdtype(forms_arr.dtype, np.integer):
        raise ScoringError("forms must be a 2-D integer array (attempts x positions)")
    if not np.issubdtype(responses_arr.dtype, np.signedinteger):
        raise ScoringError("responses must be a signed integer array (-1 for blank)")
    if responses_arr.shape != forms_arr.shape:
        raise ScoringError(
            f"responses shape {responses_arr.shape} differs from forms shape {forms_arr.shape}"
        )
    _check_positions(sections, forms_arr.shape[1])
    return forms_arr, responses_arr


def _refuse_outside(
    block: NDArray[np.integer], low: int, high: int, lo: int, what: Callable[[int], str]
) -> None:
    # Names the first cell of ``block`` outside ``low <= v < high``: ``what(v)`` says why, after
    # the attempt row (offset by the block's first row ``lo``) and position.
    if block.size == 0 or (block.min() >= low and block.max() < high):
        return
    row, position = (int(v) for v in np.argwhere((block < low) | (block >= high))[0])
    raise InvalidResponse(
        f"attempt row {lo + row}, position {position}: {what(int(block[row, position]))}",
        attempt_row=lo + row,
        position=position,
    )


def _check_form_range(table: PointsTable, block_forms: NDArray[np.integer], lo: int) -> None:
    _refuse_outside(
        block_forms,
        0,
        table.n_items,
        lo,
        lambda v: f"item row {v} is not in the points table ({table.n_items} rows)",
    )


def _check_ranges(
    table: PointsTable,
    block_forms: NDArray[np.integer],
    block_responses: NDArray[np.integer],
    lo: int,
) -> None:
    _check_form_range(table, block_forms, lo)
    _refuse_outside(
        block_responses,
        BLANK,
        MAX_OPTIONS,
        lo,
        lambda v: f"response {v} is neither an option index (0-{MAX_OPTIONS - 1}) nor -1 for blank",
    )


def _raise_unscorable(
    table: PointsTable,
    block_forms: NDArray[np.integer],
    block_responses: NDArray[np.integer],
    points: NDArray[np.float64],
    lo: int,
) -> None:
    row, position = (int(v) for v in np.argwhere(np.isnan(points))[0])
    item_row = int(block_forms[row, position])
    raise InvalidResponse(
        f"attempt row {lo + row}, position {position}: response "
        f"{int(block_responses[row, position])} is not an option of item row {item_row}, "
        f"which has {table.rows[item_row].n_options} options (-1 means blank)",
        attempt_row=lo + row,
        position=position,
    )
