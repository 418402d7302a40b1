"""Bodies of the public routes: rankings, slips and the live board.

Every model reads a service's frozen value (``from_attributes``). Candidates appear only by
pseudonym.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class ExamRefOut(_Out):
    """An exam by code and title."""

    code: str
    title: str


class RankedExamOut(ExamRefOut):
    """The exam of a ranking; ``version`` is null when no version is published."""

    version: int | None


class SectionRefOut(_Out):
    """A section (or, for a final selection, a stage) column."""

    code: str
    name: str


class ScoredSectionOut(SectionRefOut):
    """A section column with its maximum score."""

    max: float


class FormationOut(_Out):
    """A formation: the agency, the position, how many openings and the cut (openings x N)."""

    code: str
    agency: str
    position: str
    openings: int | None
    cut: int | None


class RankChangeOut(_Out):
    """How one candidate moved since the superseded snapshot, and why."""

    pseudonym: str
    old_rank: int | None
    new_rank: int | None
    old_status: str | None
    new_status: str | None
    old_total: float | None
    new_total: float | None
    reason: str


class SnapshotOut(_Out):
    """A published, signed snapshot."""

    number: int
    published_at: str = Field(description="e.g. 2026-12-01 09:30:00.123456+00:00")
    content_hash: str = Field(description="SHA-256 of the snapshot's content")
    signature: str = Field(description="the server's HMAC of the content hash")
    cause: str
    supersedes: bool = Field(description="whether it replaced an earlier snapshot")
    changes: list[RankChangeOut]


class RankingRowOut(_Out):
    """One candidate of a ranking."""

    rank: int | None = Field(description="null: outside the cut, failed or absent")
    pseudonym: str
    status: str = Field(description="P/L, P, T/L or TH")
    total: float | None
    sections: dict[str, float | None]


class PublishedFormationOut(_Out):
    """The newest snapshot of one formation and its rows."""

    formation: FormationOut
    snapshot: SnapshotOut
    rows: list[RankingRowOut]


class RankingPageOut(_Out):
    """The published rankings of an exam, per formation."""

    exam: RankedExamOut
    sections: list[SectionRefOut]
    query: str | None = Field(description="the pseudonym searched for, normalized")
    formations: list[PublishedFormationOut]


class SlipSectionOut(_Out):
    """A section score on a slip."""

    code: str
    name: str
    score: float | None
    max: float


class SlipRuleOut(_Out):
    """A threshold applied to the candidate ("TWK 75 < 80")."""

    label: str
    value: float
    minimum: float
    passed: bool
    text: str


class SlipOut(_Out):
    """The scores on file for a slip's result."""

    exam: ExamRefOut
    pseudonym: str
    sections: list[SlipSectionOut]
    total: float
    max_total: float | None
    passed: bool
    rules: list[SlipRuleOut]
    computed_at: datetime


class SlipVerificationOut(_Out):
    """Whether a slip code is authentic; the valid scores whenever the code names a result."""

    authentic: bool
    reason: str
    reason_code: str = Field(description="authentic, altered, unknown or malformed")
    slip: SlipOut | None


class BoardSittingOut(_Out):
    """The sitting of a live board."""

    id: int
    name: str
    site: str
    room: str
    status: str


class BoardRowOut(_Out):
    """One finished candidate on the live board."""

    pseudonym: str
    sections: dict[str, float]
    total: float
    passed: bool
    finished_at: str = Field(description="ISO 8601 with the offset")


class LiveBoardOut(_Out):
    """Every finished candidate of a sitting so far."""

    sitting: BoardSittingOut
    exam: ExamRefOut
    sections: list[ScoredSectionOut]
    rows: list[BoardRowOut]
