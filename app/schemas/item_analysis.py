"""Body of the item-analysis route: the statistics of ``scoring.stats`` as plain JSON.

Field for field the frozen values of :class:`scoring.stats.ItemAnalysis` (enums as their
strings, tuples as lists), with ``null`` for a statistic that is undefined (too few answers),
and the additions of :func:`app.reports.item_report.analysis_to_json`.
"""

from __future__ import annotations

from pydantic import BaseModel

#: A statistic that may be undefined (NaN in the analysis, ``null`` in JSON).
Statistic = float | None


class FlagOut(BaseModel):
    """A reason to review an item."""

    code: str
    message: str
    suggested_key: int | None


class OptionStatsOut(BaseModel):
    """How one option (or the blank) was chosen, and by whom."""

    index: int
    label: str
    points: Statistic
    is_key: bool
    n: int
    share: Statistic
    share_top: Statistic
    share_bottom: Statistic
    mean_total: Statistic
    mean_rest: Statistic
    sd_rest: Statistic
    r_rest: Statistic
    trace: list[Statistic]


class ItemStatsOut(BaseModel):
    """One item's statistics, options and review flags."""

    index: int
    code: str
    label: str
    section: str
    kind: str
    key_index: int | None
    exposure_count: int
    exposure_rate: Statistic
    n_answered: int
    p_value: Statistic
    mean_points: Statistic
    max_points: Statistic
    r_item_rest: Statistic
    discrimination_index: Statistic
    n_top: Statistic
    n_bottom: Statistic
    options: list[OptionStatsOut]
    blank: OptionStatsOut
    flags: list[FlagOut]
    needs_review: bool
    suggested_key: int | None


class ScoreDistributionOut(BaseModel):
    """A score distribution with its histogram and the thresholds marked on it."""

    mean: Statistic
    sd: Statistic
    minimum: Statistic
    maximum: Statistic
    max_possible: Statistic
    bin_edges: list[Statistic]
    counts: list[int]
    thresholds: list[tuple[str, Statistic]]


class SectionStatsOut(BaseModel):
    """One section's reliability and score distribution."""

    code: str
    name: str
    kind: str
    n_items_per_form: int
    n_items_seen: int
    reliability: Statistic
    reliability_method: str
    sem: Statistic
    form_difficulty_sd: Statistic
    distribution: ScoreDistributionOut


class ItemAnalysisOut(BaseModel):
    """Item analysis of an exam version, with the flag thresholds in force."""

    n_candidates: int
    group_fraction: float
    trace_groups: int
    sections: list[SectionStatsOut]
    total: ScoreDistributionOut
    items: list[ItemStatsOut]
    flagged: list[str]
    flag_thresholds: dict[str, float]
