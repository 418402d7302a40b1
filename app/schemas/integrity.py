"""Bodies of the integrity routes: the committee's report, its decisions, and DIF."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.schemas.candidate import MAX_VIEWS, ItemViewed


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class FlagOut(_Out):
    """One piece of evidence: its kind, reason in both languages, strength and figures."""

    code: str
    reason_id: str
    reason_en: str
    strength: float | None = Field(description="-log10 p (capped at 16); null for counts")
    figures: dict[str, float]


class DecisionOut(_Out):
    """The standing committee decision on an attempt."""

    decision: str
    reason: str
    actor: str
    decided_at: datetime


class AttemptEvidenceOut(_Out):
    """A flagged attempt, most evidence first."""

    rank: int
    attempt_id: int
    nomor_peserta: str
    name: str
    sitting_id: int
    sitting_name: str
    seat: int | None
    strength: float
    flags: list[FlagOut]
    decision: DecisionOut | None
    replay_url: str
    time_strip_svg: str


class GroupRowOut(_Out):
    """Scores and pass rate of one sitting or site, with 95 % intervals."""

    group: str
    n: int
    mean: float
    sd: float
    mean_low: float
    mean_high: float
    passed: int
    pass_rate: float
    pass_low: float
    pass_high: float


class ComparabilityOut(_Out):
    """Sittings or sites compared, with tests of equality."""

    by: str
    groups: list[GroupRowOut]
    anova_p: float
    kruskal_wallis_p: float
    pass_rates_p: float | None


class FormRowOut(_Out):
    """A distinct form against the most common one (F1), by IRT expected scores."""

    form: str
    attempts: int
    sites: list[str]
    items: int
    max_abs_difference: float = Field(description="largest |expected-score difference| on θ")
    mean_difference: float = Field(description="difference averaged over N(0, 1) abilities")


class IntegrityReportOut(_Out):
    """The committee's integrity report of an exam (or one sitting)."""

    exam_code: str
    exam_title: str
    sitting_id: int | None
    attempts_analysed: int
    items: int
    row_length: int
    flagged: list[AttemptEvidenceOut]
    room_map_svg: str
    comparability: list[ComparabilityOut]
    forms: list[FormRowOut]


class DecisionIn(BaseModel):
    """A committee member's decision on a flagged attempt, always with a reason."""

    decision: Literal["cleared", "referred", "disqualified_by_committee"]
    reason: str = Field(min_length=3, max_length=2000)


class ViewsIn(BaseModel):
    """Items shown since the last acknowledged save, sent by the heartbeat when no save was."""

    views: list[ItemViewed] = Field(
        min_length=1,
        max_length=MAX_VIEWS,
        description="[position, ms before this request was sent], oldest first",
    )


class ViewsAck(BaseModel):
    """How many views were stored (with the server's time of arrival)."""

    stored: int


class DIFItemOut(_Out):
    """One item's Mantel-Haenszel DIF for one focal group (delta < 0: harder for it)."""

    code: str
    focal: str
    n_reference: int
    n_focal: int
    delta: float | None
    delta_se: float | None
    p_value: float | None
    dif_class: str
    correction_url: str


class DIFReportOut(_Out):
    """DIF of every item for the groups of a roster field."""

    exam_code: str
    group_field: str
    reference: str
    group_sizes: dict[str, int]
    small_sample: list[str]
    items: list[DIFItemOut]
    flagged: list[DIFItemOut]
