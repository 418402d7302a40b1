"""Bodies of the key-correction, calibration, ranking publication and final-selection routes."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class CorrectionIn(BaseModel):
    """Correct one item's key, set its option points, or annul it; always with a reason."""

    item_code: str = Field(min_length=1, max_length=64)
    kind: Literal["correct_key", "set_points", "annul"]
    key: str | None = Field(
        default=None, max_length=8, description="correct_key: the bank's option label, e.g. C"
    )
    points: list[float] | None = Field(default=None, description="set_points: one value per option")
    mode: Literal["award_all", "drop"] | None = Field(default=None, description="annul: how")
    reason: str = Field(min_length=3, max_length=1000)


class CalibrationIn(BaseModel):
    """Which IRT model to fit, and whether the items take the new parameters."""

    model: Literal["rasch", "1pl", "2pl", "3pl"] = "2pl"
    apply: bool = False


class StageBody(BaseModel):
    """One stage of a final selection."""

    exam: str = Field(min_length=1, max_length=64)
    weight: float = Field(gt=0, le=100, description="percent of the final score")
    label: str | None = Field(default=None, pattern=r"^[A-Za-z][A-Za-z0-9_]{0,15}$")


class CombinedIn(BaseModel):
    """A final selection: its public code, the stages and (optionally) the tie-breaks."""

    code: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")
    stages: list[StageBody] = Field(min_length=2, max_length=5)
    tie_breaks: list[str] | None = Field(
        default=None,
        description="e.g. SKD, SKD.TKP, SKD.TIU, SKD.TWK, grade_average, birth_date:ascending",
    )
    publish: bool = False


class RankingPublished(BaseModel):
    """One formation's outcome of a ranking publication."""

    formation: str
    outcome: Literal["published", "unchanged"]
    number: int | None = Field(description="the snapshot now in force")
    content_hash: str | None
    changes: int = Field(description="rows whose rank or status changed")


class RankingRowOut(BaseModel):
    """One row of a ranking: rank (none for TH and T/L), pseudonym, status code, scores."""

    rank: int | None
    pseudonym: str
    status: str
    total: float | None
    sections: dict[str, float | None]


class CombinedStageOut(BaseModel):
    """One stage as the final selection used it."""

    exam: str
    label: str
    weight: float


class CombinedFormationOut(BaseModel):
    """One formation's final ranking (a preview: nothing published)."""

    formation: str
    rows: list[RankingRowOut]


class CombinedPublishedOut(BaseModel):
    """One formation's published final ranking snapshot."""

    formation: str
    outcome: Literal["published", "unchanged"]
    number: int | None


class CombinedPreview(BaseModel):
    """A final selection computed but not published."""

    code: str
    stages: list[CombinedStageOut]
    tie_breaks: list[str]
    formations: list[CombinedFormationOut]


class CombinedPublication(BaseModel):
    """A final selection published under its code."""

    code: str
    stages: list[CombinedStageOut]
    tie_breaks: list[str]
    published: list[CombinedPublishedOut]
