"""Classical item analysis of an exam version: difficulty, discrimination, distractors, reliability.

Every candidate sits their own randomized form, so each statistic of an item is computed over the
candidates whose form carried it (sparse incidence), never over a complete candidate x item
matrix. Inputs are the frozen forms, the original option chosen at each position and the points
earned; the result is a tree of frozen values (:class:`ItemAnalysis`) with flags in words that a
committee can act on.

Conventions used throughout (the formulas are repeated where they are computed):

* The *criterion* of an item is the candidate's score on the item's **section** (psychometric
  practice for multi-section exams: TWK items are judged against TWK, not against TKP). The
  *rest score* is that section score minus the points the candidate earned on the item itself,
  which removes the item's own contribution from its discrimination (Henrysson 1963).
* Variances are population variances (divisor *n*); every ratio that uses them (KR-20, alpha,
  correlations) is the same with divisor *n - 1* used on both sides.
* Blank (unanswered) counts as not correct for the p-value and earns the section's blank points.

References
----------
Crocker, L. & Algina, J. (1986). *Introduction to Classical and Modern Test Theory*. Holt,
Rinehart and Winston. Chapters 7 (reliability, SEM) and 14 (item analysis).
Cronbach, L. J. (1951). Coefficient alpha and the internal structure of tests. *Psychometrika*
16, 297-334.
Henrysson, S. (1963). Correction of item-total correlations in item analysis. *Psychometrika*
28, 211-218.
Kelley, T. L. (1939). The selection of upper and lower groups for the validation of test items.
*Journal of Educational Psychology* 30, 17-24.
Kuder, G. F. & Richardson, M. W. (1937). The theory of the estimation of test reliability.
*Psychometrika* 2, 151-160.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

import numpy as np
from numpy.typing import NDArray

from scoring.errors import ScoringError
from scoring.rules import (
    BLANK_COLUMN,
    DEFAULT_CHUNK,
    MAX_OPTIONS,
    ItemScoringRow,
    SectionRule,
    SectionScoringKind,
    build_points_table,
)

#: Labels of options by original index when an item does not name its own.
DEFAULT_OPTION_LABELS = ("A", "B", "C", "D", "E", "F")

#: Share of candidates in each of Kelley's (1939) upper and lower criterion groups.
KELLEY_FRACTION = 0.27
#: Number of criterion-score groups (equal shares of candidates) for option trace lines.
TRACE_GROUPS = 5

#: An item answered correctly by more than this share separates almost nobody.
TOO_EASY_P = 0.95
#: An item answered correctly by fewer than this share is below what guessing gives on 5 options.
TOO_HARD_P = 0.10
#: Corrected item-rest correlation below which an item discriminates poorly (Ebel's rule of thumb
#: puts items under 0.20 up for revision; 0.15 keeps the flag for clear cases).
LOW_DISCRIMINATION_R = 0.15
#: Share of candidates below which an option is "rarely chosen" (a non-functioning distractor).
RARE_OPTION_SHARE = 0.01
#: An item seen by fewer candidates gets only the ``few_responses`` flag: its statistics are noise.
MIN_RESPONSES_FOR_FLAGS = 30
#: A distractor must be chosen by at least this many candidates before its choosers are compared
#: with the key's: the mean score of a handful of choosers is noise.
MISKEY_MIN_CHOOSERS = 10
#: How many standard errors a difference must reach before it raises ``likely_miskey`` or
#: ``weights_reversed`` (one-sided 1 %). Comparing point estimates alone flags two or three
#: sound but hard items in a typical 110-item exam of 500 candidates; with large samples the
#: margin shrinks towards the bare comparison.
MISKEY_Z = 2.326


class ItemAnalysisError(ScoringError):
    """The forms, responses, items or sections handed to :func:`analyse_items` do not fit."""


class FlagCode(StrEnum):
    """Why an item is put before the committee (in the order the report lists them)."""

    LIKELY_MISKEY = "likely_miskey"
    WEIGHTS_REVERSED = "weights_reversed"
    LOW_DISCRIMINATION = "low_discrimination"
    TOO_HARD = "too_hard"
    TOO_EASY = "too_easy"
    RARE_OPTION = "rare_option"
    FEW_RESPONSES = "few_responses"


#: Severity order of flags: lower sorts first in the report.
FLAG_ORDER: Mapping[FlagCode, int] = {code: rank for rank, code in enumerate(FlagCode)}


@dataclass(frozen=True, slots=True)
class ItemSpec:
    """One item version as analysis needs it.

    ``key_index`` is the original index of the key for dichotomous items and ``None`` for
    weighted ones, which carry ``option_points`` (one per option) instead. ``option_labels``
    default to A, B, C, ... by original index. ``section`` is the code of the section whose
    positions carry the item.
    """

    code: str
    section: str
    n_options: int
    key_index: int | None = None
    option_points: tuple[float, ...] = ()
    option_labels: tuple[str, ...] = ()
    version: int | None = None

    @property
    def labels(self) -> tuple[str, ...]:
        """Option labels by original index."""
        return self.option_labels or DEFAULT_OPTION_LABELS[: self.n_options]

    @property
    def label(self) -> str:
        """How the report names the item: ``"TIU-0042 v3"`` (or the code alone)."""
        return self.code if self.version is None else f"{self.code} v{self.version}"


@dataclass(frozen=True, slots=True)
class Flag:
    """A reason to review an item, in words.

    ``suggested_key`` is the original index of the option that the data point to as the key
    (set on ``likely_miskey`` flags when one option stands out), so a key-correction dry run can
    be prefilled with it.
    """

    code: FlagCode
    message: str
    suggested_key: int | None = None


@dataclass(frozen=True, slots=True)
class OptionStats:
    """How the candidates who saw an item used one of its options (or left it blank).

    ``index`` is the original option index (-1 for blank). Shares are over the candidates who
    saw the item; ``share_top``/``share_bottom`` are over those of them in the upper/lower 27 %
    of the section score. ``mean_total`` is the mean section score of the option's choosers and
    ``mean_rest`` the same without the item's own points (``sd_rest`` its standard deviation
    among the choosers). ``r_rest`` is the point-biserial correlation between choosing this
    option and the rest score. ``trace`` holds the share
    choosing the option in each section-score group, lowest group first.
    """

    index: int
    label: str
    points: float
    is_key: bool
    n: int
    share: float
    share_top: float
    share_bottom: float
    mean_total: float
    mean_rest: float
    sd_rest: float
    r_rest: float
    trace: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class ItemStats:
    """Classical statistics of one item version over the candidates whose form carried it.

    ``p_value`` is the share answering correctly (dichotomous) or the mean points as a share of
    the maximum (weighted: facility). ``r_item_rest`` is the corrected item-rest correlation
    (Henrysson 1963) against the item's section. ``discrimination_index`` is Kelley's upper-lower
    index *D*. ``exposure_count`` is how many forms carried the item and ``exposure_rate`` that
    count over the candidates of the exam version. ``n_top`` and ``n_bottom`` count the takers
    in the upper and lower group (fractional where ties straddle a group boundary).
    """

    index: int
    code: str
    label: str
    section: str
    kind: SectionScoringKind
    key_index: int | None
    exposure_count: int
    exposure_rate: float
    n_answered: int
    p_value: float
    mean_points: float
    max_points: float
    r_item_rest: float
    discrimination_index: float
    n_top: float
    n_bottom: float
    options: tuple[OptionStats, ...]
    blank: OptionStats
    flags: tuple[Flag, ...]

    @property
    def needs_review(self) -> bool:
        """Whether any flag other than ``few_responses`` is raised."""
        return any(flag.code is not FlagCode.FEW_RESPONSES for flag in self.flags)

    @property
    def suggested_key(self) -> int | None:
        """The option the data point to as the key, when a miskey flag names one."""
        for flag in self.flags:
            if flag.suggested_key is not None:
                return flag.suggested_key
        return None

    @property
    def severity(self) -> int:
        """Rank of the most severe flag (``len(FlagCode)`` when unflagged); lower is worse."""
        return min((FLAG_ORDER[flag.code] for flag in self.flags), default=len(FlagCode))


@dataclass(frozen=True, slots=True)
class ScoreDistribution:
    """Scores of all candidates on a section or on the total.

    ``bin_edges`` has one more entry than ``counts``; bins are half-open ``[lo, hi)`` and every
    possible score falls inside one. ``thresholds`` are the passing minima to mark on a plot,
    as ``(label, value)``.
    """

    mean: float
    sd: float
    minimum: float
    maximum: float
    max_possible: float
    bin_edges: tuple[float, ...]
    counts: tuple[int, ...]
    thresholds: tuple[tuple[str, float], ...]


@dataclass(frozen=True, slots=True)
class SectionStats:
    """Reliability and score distribution of one section.

    ``reliability`` is KR-20 for dichotomous and Cronbach's alpha for weighted sections (named
    by ``reliability_method``), computed item-wise over sparse forms (see
    :func:`analyse_items`); ``sem`` is the standard error of measurement in section points.
    ``form_difficulty_sd`` is the standard deviation over candidates of the expected score of
    the form they drew (the sum of their items' mean points): how much the luck of the draw
    moves a score; 0 when everybody sat the same items.
    """

    code: str
    name: str
    kind: SectionScoringKind
    n_items_per_form: int
    n_items_seen: int
    reliability: float
    reliability_method: str
    sem: float
    form_difficulty_sd: float
    distribution: ScoreDistribution

    @property
    def mean(self) -> float:
        """Mean section score."""
        return self.distribution.mean

    @property
    def sd(self) -> float:
        """Standard deviation (divisor *n*) of the section score."""
        return self.distribution.sd


@dataclass(frozen=True, slots=True)
class ItemAnalysis:
    """Item analysis of one exam version: per section, per item (only items some form carried)."""

    n_candidates: int
    group_fraction: float
    trace_groups: int
    sections: tuple[SectionStats, ...]
    total: ScoreDistribution
    items: tuple[ItemStats, ...]

    @property
    def flagged(self) -> tuple[ItemStats, ...]:
        """Items that need review, most severe first, then in section and item order."""
        order = {section.code: rank for rank, section in enumerate(self.sections)}
        flagged = [item for item in self.items if item.needs_review]
        return tuple(
            sorted(flagged, key=lambda item: (item.severity, order[item.section], item.index))
        )

    def items_of(self, section: str) -> tuple[ItemStats, ...]:
        """Items of one section, in item-table order."""
        return tuple(item for item in self.items if item.section == section)


def _points_table(
    items: Sequence[ItemSpec], sections: Sequence[SectionRule]
) -> NDArray[np.float64]:
    """Points of each response to each item, shape ``(n_items, MAX_OPTIONS + 1)``.

    Built by :func:`scoring.rules.build_points_table`, so analysis scores exactly as scoring
    does: column *j* is original option *j* (NaN past the item's options), column
    ``BLANK_COLUMN`` the blank.
    """
    by_code = {section.code: section for section in sections}
    rows: list[ItemScoringRow] = []
    for item in items:
        section = by_code.get(item.section)
        if section is None:
            raise ItemAnalysisError(f"item {item.label}: unknown section {item.section!r}")
        if len(item.labels) != item.n_options:
            raise ItemAnalysisError(f"item {item.label}: option labels do not match options")
        weighted = section.scoring.kind is SectionScoringKind.WEIGHTED
        if weighted != (item.key_index is None) or weighted != bool(item.option_points):
            raise ItemAnalysisError(
                f"item {item.label}: a {section.scoring.kind} item of {section.code} needs "
                + ("option points and no key" if weighted else "a key and no option points")
            )
        rows.append(
            ItemScoringRow(
                section_scoring=section.scoring,
                n_options=item.n_options,
                key_index=item.key_index,
                option_points=item.option_points or None,
            )
        )
    if not rows:
        raise ItemAnalysisError("the item table is empty")
    return build_points_table(rows).points


def analyse_items(
    forms: NDArray[np.integer],
    responses: NDArray[np.integer],
    items: Sequence[ItemSpec],
    sections: Sequence[SectionRule],
    *,
    item_points: NDArray[np.float64] | None = None,
    thresholds: Mapping[str, Sequence[tuple[str, float]]] | None = None,
    group_fraction: float = KELLEY_FRACTION,
    trace_groups: int = TRACE_GROUPS,
    chunk_size: int = DEFAULT_CHUNK,
) -> ItemAnalysis:
    """Classical item and section statistics of one exam version, with review flags.

    Parameters
    ----------
    forms
        ``(n_candidates, n_positions)`` indices into ``items``: the item version at each
        position of each candidate's form. Positions are grouped by section in the order of
        ``sections`` (the first ``sections[0].item_count`` positions are the first section's).
    responses
        ``(n_candidates, n_positions)`` original index of the option chosen, -1 for blank.
    items
        The item table (only items some form carried appear in the result).
    sections
        The exam's sections, in position order.
    item_points
        ``(n_candidates, n_positions)`` points earned, as the scoring package computed them;
        computed from the items' keys and points when omitted (e.g. pass
        ``score_attempts(..., keep_item_points=True).item_points``).
    thresholds
        Passing minima to mark on score plots, by section code or ``"total"``.
    group_fraction
        Share of candidates in the upper and the lower criterion group (Kelley's 27 %).
    trace_groups
        Number of equal-share section-score groups for option trace lines.
    chunk_size
        Candidates per block. Two passes run over blocks (sums, then centred sums), so memory
        grows with the block, not with the number of candidates; results do not depend on it
        beyond rounding.

    Returns
    -------
    ItemAnalysis

    Notes
    -----
    For item *i* seen by the candidates *c* in :math:`T_i` (:math:`n_i = |T_i|`), with item
    score :math:`x_{ci}` (1/0 correct for dichotomous items, points for weighted ones) and rest
    score :math:`y_{ci} = S_{c,s(i)} - u_{ci}` (section score minus the points :math:`u_{ci}`
    earned on *i*):

    * p-value (Crocker & Algina 1986, 14.2): :math:`p_i = \\frac{1}{n_i}\\sum_{c} x_{ci}`; for
      weighted items the facility :math:`\\bar u_i / u_i^{max}`.
    * Corrected item-rest correlation (Henrysson 1963), the point-biserial for 0/1 scores:
      :math:`r_i = \\frac{\\sum (x-\\bar x)(y-\\bar y)}{\\sqrt{\\sum (x-\\bar x)^2
      \\sum (y-\\bar y)^2}}` over :math:`T_i`.
    * Upper and lower groups (Kelley 1939): the top and bottom ``group_fraction`` of all
      candidates by section score. Candidates tied across a group boundary belong to it with an
      equal fractional weight, so each group holds exactly ``group_fraction * n`` candidates
      and tied candidates are treated alike. Shares in a group are weighted shares among the
      group's members who saw the item. Discrimination index :math:`D = p_{top} - p_{bottom}`
      (for weighted items the difference of mean points over the maximum).
    * Option-rest correlation: the point-biserial between choosing the option (1/0) and
      :math:`y`, :math:`r_o = \\frac{\\sum_{c \\in o}(y_c - \\bar y)/n}
      {\\sqrt{q_o (1-q_o)}\\,s_y}` with :math:`q_o` the share choosing it.
    * Reliability of section *s* with *k* positions, KR-20 (Kuder & Richardson 1937) for 0/1
      items and coefficient alpha (Cronbach 1951) otherwise, on the points as scored:
      :math:`\\alpha = \\frac{k}{k-1}\\left(1 - \\frac{\\bar V}{\\sigma_S^2}\\right)`,
      :math:`\\bar V = \\frac{1}{N}\\sum_c \\sum_{i \\in form(c)} \\sigma_i^2`. With sparse
      forms the item-variance term is averaged over the forms candidates actually drew (each
      item's variance over its own takers); with one form for everybody (in any position order)
      this is exactly the classical coefficient. Position-wise alpha was rejected: when one
      form is shuffled it mixes items at a position and counts their difference in difficulty
      as error. Differences in difficulty between drawn forms are reported separately as
      ``form_difficulty_sd``.
    * Standard error of measurement (Crocker & Algina 1986, 7.3):
      :math:`SEM = \\sigma_S\\sqrt{1 - \\alpha}`.

    Raises
    ------
    ItemAnalysisError
        On shapes, indices or options that do not fit, or an item carried twice by one form
        (naming the first candidate row concerned).
    """
    if not 0.0 < group_fraction <= 0.5:
        raise ItemAnalysisError("group_fraction must be in (0, 0.5]")
    if trace_groups < 2:
        raise ItemAnalysisError("trace_groups must be at least 2")
    layout = _layout(forms, responses, items, sections, item_points)
    if chunk_size < 1:
        raise ItemAnalysisError("chunk_size must be positive")
    return _analyse(
        layout,
        items=items,
        sections=sections,
        thresholds=thresholds or {},
        group_fraction=group_fraction,
        trace_groups=trace_groups,
        chunk_size=chunk_size,
    )


#: Columns of a points table: the options, then the blank.
_WIDTH = MAX_OPTIONS + 1


@dataclass(frozen=True, slots=True)
class _Layout:
    """Validated shapes of the inputs and what every block needs to look up."""

    forms: NDArray[np.integer]
    responses: NDArray[np.integer]
    item_points: NDArray[np.float64] | None
    table: NDArray[np.float64]
    key: NDArray[np.intp]
    weighted: NDArray[np.bool_]
    n_options: NDArray[np.intp]
    item_section: NDArray[np.intp]
    sizes: NDArray[np.intp]
    starts: NDArray[np.intp]
    position_section: NDArray[np.intp]

    @property
    def n_candidates(self) -> int:
        return int(self.forms.shape[0])

    @property
    def n_items(self) -> int:
        return int(self.table.shape[0])


@dataclass(frozen=True, slots=True)
class _Block:
    """Candidates ``lo:hi``, flattened candidate-major over (candidate, position)."""

    lo: int
    hi: int
    item: NDArray[np.intp]
    slot: NDArray[np.intp]
    points: NDArray[np.float64]
    score: NDArray[np.float64]
    rest: NDArray[np.float64]
    section_scores: NDArray[np.float64]


def _layout(
    forms: NDArray[np.integer],
    responses: NDArray[np.integer],
    items: Sequence[ItemSpec],
    sections: Sequence[SectionRule],
    item_points: NDArray[np.float64] | None,
) -> _Layout:
    forms = np.asarray(forms)
    responses = np.asarray(responses)
    if forms.ndim != 2 or forms.shape != responses.shape:
        raise ItemAnalysisError("forms and responses must be 2-D arrays of the same shape")
    if not np.issubdtype(forms.dtype, np.integer) or not np.issubdtype(responses.dtype, np.integer):
        raise ItemAnalysisError("forms and responses must hold integers")
    n_candidates, n_positions = forms.shape
    if n_candidates < 2:
        raise ItemAnalysisError("item analysis needs at least two candidates")
    if not sections or any(section.item_count < 1 for section in sections):
        raise ItemAnalysisError("every section needs at least one position")
    if len({section.code for section in sections}) != len(sections):
        raise ItemAnalysisError("section codes must be unique")
    sizes = np.array([section.item_count for section in sections], dtype=np.intp)
    if int(sizes.sum()) != n_positions:
        raise ItemAnalysisError(
            f"sections hold {int(sizes.sum())} positions, forms have {n_positions}"
        )
    if item_points is not None:
        item_points = np.asarray(item_points, dtype=np.float64)
        if item_points.shape != forms.shape:
            raise ItemAnalysisError("item_points must have the shape of forms")
    table = _points_table(items, sections)
    key = np.array([-1 if i.key_index is None else i.key_index for i in items], dtype=np.intp)
    codes = [section.code for section in sections]
    return _Layout(
        forms=forms,
        responses=responses,
        item_points=item_points,
        table=table,
        key=key,
        weighted=key < 0,
        n_options=np.array([i.n_options for i in items], dtype=np.intp),
        item_section=np.array([codes.index(i.section) for i in items], dtype=np.intp),
        sizes=sizes,
        starts=np.concatenate(([0], np.cumsum(sizes)[:-1])).astype(np.intp),
        position_section=np.repeat(np.arange(len(sections), dtype=np.intp), sizes),
    )


def _check_block(
    layout: _Layout, forms: NDArray[np.integer], responses: NDArray[np.integer], lo: int
) -> None:
    """Refuse a block whose forms or responses do not fit, naming the first bad candidate row."""

    def first(bad: NDArray[np.bool_]) -> int:
        return lo + int(np.flatnonzero(bad.any(axis=1))[0])

    outside = (forms < 0) | (forms >= layout.n_items)
    if outside.any():
        raise ItemAnalysisError(f"candidate row {first(outside)}: an item outside the item table")
    ordered = np.sort(forms, axis=1)
    twice = ordered[:, 1:] == ordered[:, :-1]
    if twice.any():
        # The same item twice would double its exposure and correlate it with itself.
        raise ItemAnalysisError(
            f"candidate row {first(twice)}: the form carries the same item more than once"
        )
    misplaced = layout.item_section[forms] != layout.position_section
    if misplaced.any():
        raise ItemAnalysisError(
            f"candidate row {first(misplaced)}: the form places an item in a section other "
            "than its own"
        )
    unknown = (responses < -1) | (responses >= layout.n_options[forms])
    if unknown.any():
        raise ItemAnalysisError(
            f"candidate row {first(unknown)}: a response names an option the item does not have"
        )


def _blocks(layout: _Layout, chunk_size: int, *, check: bool) -> Iterator[_Block]:
    """The candidates in blocks of ``chunk_size``, with points, item and rest scores."""
    n_positions = layout.forms.shape[1]
    flat_table = layout.table.ravel()
    for lo in range(0, layout.n_candidates, chunk_size):
        hi = min(lo + chunk_size, layout.n_candidates)
        forms, responses = layout.forms[lo:hi], layout.responses[lo:hi]
        if check:
            _check_block(layout, forms, responses, lo)
        item = forms.astype(np.intp).ravel()
        chosen = responses.astype(np.intp).ravel()
        slot = np.where(chosen < 0, BLANK_COLUMN, chosen)
        if layout.item_points is None:
            points = flat_table[item * _WIDTH + slot]
        else:
            points = layout.item_points[lo:hi].ravel()
            if check and not np.isfinite(points).all():
                raise ItemAnalysisError("item points must be finite")
        by_candidate = points.reshape(hi - lo, n_positions)
        section_scores = np.add.reduceat(by_candidate, layout.starts, axis=1)
        rest = (np.repeat(section_scores, layout.sizes, axis=1) - by_candidate).ravel()
        correct = (slot == layout.key[item]).astype(np.float64)
        score = np.where(layout.weighted[item], points, correct)
        yield _Block(lo, hi, item, slot, points, score, rest, section_scores)


def group_membership(scores: NDArray[np.float64], cuts: NDArray[np.float64]) -> NDArray[np.float64]:
    """Fractional membership of candidates in rank groups, tied candidates treated alike.

    Candidates are ranked by ``scores`` (rank positions ``0 .. n``). Group *g* holds the rank
    interval ``[cuts[g] * n, cuts[g + 1] * n)``. A block of candidates with equal scores
    occupies a rank interval ``[a, b)``; each of them belongs to group *g* with weight
    ``|[a, b) ∩ group g| / (b - a)``. Weights of a candidate sum to 1 over groups covering
    ``[0, 1]``, and a group's weights sum to its exact size.

    Parameters
    ----------
    scores
        ``(n,)`` criterion scores.
    cuts
        Increasing fractions in ``[0, 1]``; ``len(cuts) - 1`` groups.

    Returns
    -------
    NDArray[np.float64]
        ``(n, len(cuts) - 1)`` membership weights.
    """
    start, stop = _tie_ranks(scores)
    bounds = np.asarray(cuts, dtype=np.float64) * scores.shape[0]
    return np.stack(
        [_membership(start, stop, low, high) for low, high in itertools.pairwise(bounds)],
        axis=-1,
    )


def _tie_ranks(scores: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The rank interval ``[start, stop)`` that each score's block of ties occupies."""
    # Scores are coarse, so ranking the distinct values is cheaper than searching per candidate.
    _, tie, ties = np.unique(scores, return_inverse=True, return_counts=True)
    stop = np.cumsum(ties)[tie].astype(np.float64)
    return stop - ties[tie], stop


def _membership(
    start: NDArray[np.float64], stop: NDArray[np.float64], low: float, high: float
) -> NDArray[np.float64]:
    """Weight in the rank group ``[low, high)`` of candidates whose ties span ``[start, stop)``."""
    overlap = np.minimum(stop, high) - np.maximum(start, low)
    weights: NDArray[np.float64] = np.clip(overlap, 0.0, None) / (stop - start)
    return weights


def _sums(
    index: NDArray[np.intp], weights: NDArray[np.float64], length: int
) -> NDArray[np.float64]:
    """``out[j] = sum(weights[index == j])`` for ``j < length`` (one pass, ``np.bincount``)."""
    return np.bincount(index, weights=weights, minlength=length).astype(np.float64, copy=False)


def _analyse(
    layout: _Layout,
    *,
    items: Sequence[ItemSpec],
    sections: Sequence[SectionRule],
    thresholds: Mapping[str, Sequence[tuple[str, float]]],
    group_fraction: float,
    trace_groups: int,
    chunk_size: int,
) -> ItemAnalysis:
    n_candidates, n_items, n_sections = layout.n_candidates, layout.n_items, len(sections)
    n_cells = n_items * _WIDTH
    max_points = np.nanmax(layout.table[:, :MAX_OPTIONS], axis=1)

    # Pass 1: validate, score, and sum per item and per (item, option) cell.
    exposure = np.zeros(n_items, dtype=np.int64)
    sum_score, sum_rest, sum_points = np.zeros(n_items), np.zeros(n_items), np.zeros(n_items)
    cell_n = np.zeros(n_cells, dtype=np.int64)
    cell_rest, cell_points = np.zeros(n_cells), np.zeros(n_cells)
    section_scores = np.empty((n_candidates, n_sections))
    max_possible = np.zeros(n_sections)
    for block in _blocks(layout, chunk_size, check=True):
        item = block.item
        cell = item * _WIDTH + block.slot
        exposure += np.bincount(item, minlength=n_items)
        sum_score += _sums(item, block.score, n_items)
        sum_rest += _sums(item, block.rest, n_items)
        sum_points += _sums(item, block.points, n_items)
        cell_n += np.bincount(cell, minlength=n_cells)
        cell_rest += _sums(cell, block.rest, n_cells)
        cell_points += _sums(cell, block.points, n_cells)
        section_scores[block.lo : block.hi] = block.section_scores
        form_max = np.add.reduceat(
            max_points[item].reshape(block.hi - block.lo, -1), layout.starts, axis=1
        )
        max_possible = np.maximum(max_possible, form_max.max(axis=0))

    seen = exposure > 0
    safe_n = np.where(seen, exposure, 1).astype(np.float64)
    mean_score, mean_rest, mean_points = sum_score / safe_n, sum_rest / safe_n, sum_points / safe_n

    # Criterion groups by section score, over all candidates: Kelley's bottom and top, then
    # the trace-line groups (see group_membership for tied scores).
    ranks = [_tie_ranks(section_scores[:, s]) for s in range(n_sections)]
    rank_start = np.stack([start for start, _ in ranks], axis=1)  # (N, S)
    rank_stop = np.stack([stop for _, stop in ranks], axis=1)
    trace_bounds = np.linspace(0.0, n_candidates, trace_groups + 1)
    groups = [
        (0.0, group_fraction * n_candidates),
        ((1.0 - group_fraction) * n_candidates, float(n_candidates)),
        *itertools.pairwise(trace_bounds.tolist()),
    ]
    n_groups = len(groups)

    # Pass 2: centred sums (exact for large samples), group counts, expected form scores.
    ss_score, ss_rest = np.zeros(n_items), np.zeros(n_items)
    sp_score_rest, ss_points = np.zeros(n_items), np.zeros(n_items)
    cell_d_rest, cell_ss_rest = np.zeros(n_cells), np.zeros(n_cells)
    group_counts = np.zeros((n_groups, n_cells))
    form_expected = np.empty((n_candidates, n_sections))
    for block in _blocks(layout, chunk_size, check=False):
        item = block.item
        cell = item * _WIDTH + block.slot
        d_score = block.score - mean_score[item]
        d_rest = block.rest - mean_rest[item]
        d_points = block.points - mean_points[item]
        ss_score += _sums(item, d_score * d_score, n_items)
        ss_rest += _sums(item, d_rest * d_rest, n_items)
        sp_score_rest += _sums(item, d_score * d_rest, n_items)
        ss_points += _sums(item, d_points * d_points, n_items)
        cell_d_rest += _sums(cell, d_rest, n_cells)
        cell_ss_rest += _sums(cell, d_rest * d_rest, n_cells)
        start, stop = rank_start[block.lo : block.hi], rank_stop[block.lo : block.hi]
        for group, (low, high) in enumerate(groups):
            weights = np.repeat(_membership(start, stop, low, high), layout.sizes, axis=1)
            group_counts[group] += _sums(cell, weights.ravel(), n_cells)
        form_expected[block.lo : block.hi] = np.add.reduceat(
            mean_points[item].reshape(block.hi - block.lo, -1), layout.starts, axis=1
        )

    r_item_rest = _ratio(sp_score_rest, np.sqrt(ss_score * ss_rest))
    shape = (n_items, _WIDTH)
    option_n = cell_n.reshape(shape)
    option_share = option_n / safe_n[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        option_mean_rest = cell_rest.reshape(shape) / option_n
        option_mean_total = option_mean_rest + cell_points.reshape(shape) / option_n
        option_sd_rest = np.sqrt(
            np.clip(
                cell_ss_rest.reshape(shape) / option_n
                - (cell_d_rest.reshape(shape) / option_n) ** 2,
                0.0,
                None,
            )
        )
        rest_sd = np.sqrt(ss_rest / safe_n)
        q = option_share
        option_r = (cell_d_rest.reshape(shape) / safe_n[:, None]) / (
            np.sqrt(q * (1.0 - q)) * rest_sd[:, None]
        )
        counts = group_counts.reshape(n_groups, *shape)
        group_size = counts.sum(axis=2)
        shares = counts / group_size[:, :, None]
    share_bottom, share_top, trace = shares[0], shares[1], shares[2:]

    table_points = np.nan_to_num(layout.table)
    key_column = np.clip(layout.key, 0, None)[:, None]
    key_top = np.take_along_axis(share_top, key_column, 1)[:, 0]
    key_bottom = np.take_along_axis(share_bottom, key_column, 1)[:, 0]
    points_gap = ((share_top - share_bottom) * table_points).sum(axis=1)
    p_value = np.where(layout.weighted, _ratio(mean_points, max_points), mean_score)
    discrimination = np.where(layout.weighted, _ratio(points_gap, max_points), key_top - key_bottom)

    section_stats = tuple(
        _section_stats(
            section,
            scores=section_scores[:, s],
            item_variance=float(ss_points[layout.item_section == s].sum()) / n_candidates,
            form_expected=form_expected[:, s],
            max_possible=float(max_possible[s]),
            n_items_seen=int(np.count_nonzero(seen & (layout.item_section == s))),
            thresholds=thresholds.get(section.code, ()),
        )
        for s, section in enumerate(sections)
    )
    total = _distribution(
        section_scores.sum(axis=1), float(max_possible.sum()), thresholds.get("total", ())
    )

    item_stats: list[ItemStats] = []
    for index in np.flatnonzero(seen).tolist():
        spec = items[index]
        n_seen = int(exposure[index])
        options = tuple(
            OptionStats(
                index=-1 if column == BLANK_COLUMN else column,
                label="blank" if column == BLANK_COLUMN else spec.labels[column],
                points=float(layout.table[index, column]),
                is_key=column == spec.key_index,
                n=int(option_n[index, column]),
                share=float(option_share[index, column]),
                share_top=float(share_top[index, column]),
                share_bottom=float(share_bottom[index, column]),
                mean_total=float(option_mean_total[index, column]),
                mean_rest=float(option_mean_rest[index, column]),
                sd_rest=float(option_sd_rest[index, column]),
                r_rest=float(option_r[index, column]),
                trace=tuple(float(group[index, column]) for group in trace),
            )
            for column in [*range(spec.n_options), BLANK_COLUMN]
        )
        stats = ItemStats(
            index=index,
            code=spec.code,
            label=spec.label,
            section=spec.section,
            kind=sections[int(layout.item_section[index])].scoring.kind,
            key_index=spec.key_index,
            exposure_count=n_seen,
            exposure_rate=n_seen / n_candidates,
            n_answered=n_seen - int(option_n[index, BLANK_COLUMN]),
            p_value=float(p_value[index]),
            mean_points=float(mean_points[index]),
            max_points=float(max_points[index]),
            r_item_rest=float(r_item_rest[index]),
            discrimination_index=float(discrimination[index]),
            n_top=float(group_size[1, index]),
            n_bottom=float(group_size[0, index]),
            options=options[:-1],
            blank=options[-1],
            flags=(),
        )
        item_stats.append(_with_flags(stats, group_fraction))

    return ItemAnalysis(
        n_candidates=n_candidates,
        group_fraction=group_fraction,
        trace_groups=trace_groups,
        sections=section_stats,
        total=total,
        items=tuple(item_stats),
    )


def _ratio(numerator: NDArray[np.float64], denominator: NDArray[np.float64]) -> NDArray[np.float64]:
    """``numerator / denominator`` with NaN where the denominator is 0 (an undefined statistic)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio: NDArray[np.float64] = np.where(
            denominator > 0, numerator / np.where(denominator > 0, denominator, 1), np.nan
        )
    return ratio


def _section_stats(
    section: SectionRule,
    *,
    scores: NDArray[np.float64],
    item_variance: float,
    form_expected: NDArray[np.float64],
    max_possible: float,
    n_items_seen: int,
    thresholds: Sequence[tuple[str, float]],
) -> SectionStats:
    """Reliability, SEM and distribution of one section (``item_variance`` is V-bar, see Notes)."""
    k = section.item_count
    variance = float(scores.var())
    if k > 1 and variance > 0:
        reliability = k / (k - 1) * (1.0 - item_variance / variance)
        sem = math.sqrt(variance * max(0.0, 1.0 - reliability))
    else:
        reliability, sem = math.nan, math.nan
    dichotomous = section.scoring.kind is SectionScoringKind.DICHOTOMOUS
    return SectionStats(
        code=section.code,
        name=section.name,
        kind=section.scoring.kind,
        n_items_per_form=k,
        n_items_seen=n_items_seen,
        reliability=reliability,
        reliability_method="KR-20" if dichotomous else "Cronbach's alpha",
        sem=sem,
        form_difficulty_sd=float(form_expected.std()),
        distribution=_distribution(scores, max_possible, thresholds),
    )


#: Bin widths a score histogram may use (at most about 40 bins).
_NICE_WIDTHS = (1.0, 2.0, 5.0, 10.0, 20.0, 25.0, 50.0, 100.0, 200.0, 250.0, 500.0, 1000.0)
_MAX_BINS = 40


def _distribution(
    scores: NDArray[np.float64], max_possible: float, thresholds: Sequence[tuple[str, float]]
) -> ScoreDistribution:
    low = min(0.0, float(scores.min()))
    high = max(max_possible, float(scores.max()))
    span = max(high - low, 1.0)
    width = next((w for w in _NICE_WIDTHS if span / w <= _MAX_BINS), span / _MAX_BINS)
    first = math.floor(low / width) * width
    # The last edge lies past the highest score, so the top score has a bin of its own.
    n_bins = math.floor((high - first) / width) + 1
    edges = first + width * np.arange(n_bins + 1, dtype=np.float64)
    counts = np.bincount(
        np.clip(np.floor((scores - first) / width).astype(np.intp), 0, n_bins - 1),
        minlength=n_bins,
    )
    return ScoreDistribution(
        mean=float(scores.mean()),
        sd=float(scores.std()),
        minimum=float(scores.min()),
        maximum=float(scores.max()),
        max_possible=max_possible,
        bin_edges=tuple(float(edge) for edge in edges),
        counts=tuple(int(count) for count in counts),
        thresholds=tuple((str(label), float(value)) for label, value in thresholds),
    )


def _percent(share: float) -> str:
    """``0.412`` as ``"41 %"`` (one decimal below 1 % so a rare option does not read as 0 %)."""
    return f"{100 * share:.0f} %" if share >= 0.01 or share == 0 else f"{100 * share:.1f} %"


def _z(difference: float, variance: float) -> float:
    """``difference`` in standard errors; +/-inf when certain (no variance), NaN if unknown."""
    if math.isnan(difference) or math.isnan(variance):
        return math.nan
    if variance > 0:
        return difference / math.sqrt(variance)
    return math.copysign(math.inf, difference) if difference else 0.0


def _correlation_z(r: float, n: int) -> float:
    """The t statistic of a correlation, :math:`r \\sqrt{n-2} / \\sqrt{1-r^2}`."""
    if math.isnan(r) or n < 3:
        return math.nan
    return _z(r * math.sqrt(n - 2), 1.0 - r * r)


def _with_flags(item: ItemStats, group_fraction: float) -> ItemStats:
    """``item`` with its review flags, most severe first (thresholds: the module constants)."""
    n = item.exposure_count
    if n < MIN_RESPONSES_FOR_FLAGS:
        flag = Flag(
            FlagCode.FEW_RESPONSES,
            f"Seen by only {n} candidates (fewer than {MIN_RESPONSES_FOR_FLAGS}); "
            "its statistics are not yet reliable.",
        )
        return replace(item, flags=(flag,))
    flags: list[Flag] = []
    r = item.r_item_rest
    clearly_negative = _correlation_z(r, n) < -MISKEY_Z
    if item.kind is SectionScoringKind.DICHOTOMOUS:
        miskey = _miskey_flag(item, group_fraction, clearly_negative=clearly_negative)
        if miskey is not None:
            flags.append(miskey)
        if item.p_value < TOO_HARD_P:
            flags.append(
                Flag(
                    FlagCode.TOO_HARD,
                    f"Only {_percent(item.p_value)} of the {n} candidates who saw it answer "
                    f"correctly (below {_percent(TOO_HARD_P)}).",
                )
            )
        elif item.p_value > TOO_EASY_P:
            flags.append(
                Flag(
                    FlagCode.TOO_EASY,
                    f"{_percent(item.p_value)} of the {n} candidates who saw it answer correctly "
                    f"(above {_percent(TOO_EASY_P)}); it separates almost nobody.",
                )
            )
    elif clearly_negative:
        flags.append(_reversed_weights_flag(item))
    if r < LOW_DISCRIMINATION_R and not clearly_negative:
        flags.append(
            Flag(
                FlagCode.LOW_DISCRIMINATION,
                f"Item-rest correlation is {r:.2f}"
                + (" (negative, but within chance)" if r < 0 else "")
                + f", below {LOW_DISCRIMINATION_R:.2f}: the item hardly separates strong from "
                f"weak candidates on {item.section}.",
            )
        )
    elif math.isnan(r) and not flags:
        flags.append(
            Flag(
                FlagCode.LOW_DISCRIMINATION,
                "Item-rest correlation cannot be computed: every candidate who saw it earned "
                "the same points on it, or the same rest score.",
            )
        )
    rare = [o for o in item.options if not o.is_key and o.share < RARE_OPTION_SHARE]
    if rare:
        parts = [
            f"option {o.label} is never chosen"
            if o.n == 0
            else f"option {o.label} is chosen by {_percent(o.share)} ({o.n} of {n})"
            for o in rare
        ]
        text = "; ".join(parts)
        role = "a distractor" if item.kind is SectionScoringKind.DICHOTOMOUS else "an option"
        verb = "it does" if len(rare) == 1 else "they do"
        flags.append(
            Flag(FlagCode.RARE_OPTION, f"{text[0].upper()}{text[1:]}: {verb} not work as {role}.")
        )
    return replace(item, flags=tuple(sorted(flags, key=lambda flag: FLAG_ORDER[flag.code])))


def _miskey_flag(item: ItemStats, group_fraction: float, *, clearly_negative: bool) -> Flag | None:
    """A ``likely_miskey`` flag when the data favour a distractor over the key.

    A distractor chosen by at least ``MISKEY_MIN_CHOOSERS`` candidates raises it when, by at
    least ``MISKEY_Z`` standard errors,

    * it is chosen by a larger share of the upper group than the key is:
      :math:`z = (q_d - q_k) / \\sqrt{(q_d + q_k - (q_d - q_k)^2) / n_{top}}` (the variance of a
      difference of two shares of one multinomial sample), or
    * its choosers average a higher rest score than the key's choosers (Welch):
      :math:`z = (\\bar y_d - \\bar y_k) / \\sqrt{s_d^2 / n_d + s_k^2 / n_k}`.

    A clearly negative item-rest correlation raises it too. The suggested key is the triggering
    distractor with the highest option-rest correlation (for a negative correlation alone: the
    distractor with the highest positive one).
    """
    key = next(option for option in item.options if option.is_key)
    top = _percent(group_fraction)
    reasons: list[str] = []
    suspects: list[OptionStats] = []
    for option in item.options:
        if option.is_key or option.n < MISKEY_MIN_CHOOSERS:
            continue
        gap = option.share_top - key.share_top
        by_top = (
            item.n_top > 0
            and _z(gap, (option.share_top + key.share_top - gap * gap) / item.n_top) > MISKEY_Z
        )
        by_mean = (
            key.n >= 2
            and _z(
                option.mean_rest - key.mean_rest,
                option.sd_rest**2 / option.n + key.sd_rest**2 / key.n,
            )
            > MISKEY_Z
        )
        if not (by_top or by_mean):
            continue
        suspects.append(option)
        means = (
            f"its choosers average {option.mean_rest:.1f} on the rest of {item.section} "
            f"against {key.mean_rest:.1f} for the key's"
        )
        if by_top:
            reasons.append(
                f"Option {option.label} is chosen by {_percent(option.share_top)} of the top "
                f"{top} against {_percent(key.share_top)} for the key {key.label}"
                + (f", and {means}." if by_mean else ".")
            )
        else:
            reasons.append(f"Option {option.label} is not the key {key.label}, but {means}.")
    if clearly_negative:
        reasons.append(
            f"Item-rest correlation is {item.r_item_rest:.2f}: candidates who answer it "
            f"correctly score lower on the rest of {item.section}."
        )
        if not suspects:
            suspects = [
                option
                for option in item.options
                if not option.is_key and option.n >= MISKEY_MIN_CHOOSERS and option.r_rest > 0
            ]
    if not reasons:
        return None
    suggested = max(suspects, key=lambda option: option.r_rest, default=None)
    advice = (
        f" The key may be wrong; option {suggested.label} behaves like the key."
        if suggested is not None
        else " The key may be wrong, or the item is ambiguous."
    )
    return Flag(
        FlagCode.LIKELY_MISKEY,
        " ".join(reasons) + advice,
        None if suggested is None else suggested.index,
    )


def _reversed_weights_flag(item: ItemStats) -> Flag:
    """A ``weights_reversed`` flag, naming an option whose points disagree with its choosers."""
    counted = [o for o in item.options if o.n >= MISKEY_MIN_CHOOSERS]
    detail = ""
    if len(counted) >= 2:
        richest = max(counted, key=lambda o: (o.points, o.mean_rest))
        best = max(counted, key=lambda o: o.mean_rest)
        if best.points < richest.points:
            detail = (
                f" Choosers of option {best.label} ({best.points:g} points) average "
                f"{best.mean_rest:.1f} on the rest of {item.section}, above choosers of option "
                f"{richest.label} ({richest.points:g} points) at {richest.mean_rest:.1f}."
            )
    return Flag(
        FlagCode.WEIGHTS_REVERSED,
        "Points run against the section: candidates earning more points on this item score "
        f"lower on the rest of {item.section} (item-rest r = {item.r_item_rest:.2f})."
        + detail
        + " Check the option points.",
    )
