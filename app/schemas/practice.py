"""Bodies of the practice (simulasi) routes: the public list, a start and the review."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from app.schemas.candidate import RuleView, SectionScoreView


class PracticeSection(BaseModel):
    """A section of a practice exam as the list shows it."""

    code: str
    name: str
    items: int


class PracticeExam(BaseModel):
    """A published practice exam anyone may start."""

    code: str
    title: str
    duration_minutes: int
    sections: list[PracticeSection]
    items: int


class PracticeExamList(BaseModel):
    """Every practice exam open to the public."""

    exams: list[PracticeExam]


class PracticeStart(BaseModel):
    """A started practice attempt: its candidate token, used exactly like a login's."""

    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    attempt_id: int
    exam_code: str


class ReviewOption(BaseModel):
    """One option as the candidate saw it, with its TKP points or whether it is the key."""

    id: str = Field(description="the letter shown (A, B, ...)")
    text: str
    points: float | None = Field(description="weighted (TKP) items: the option's points")
    is_key: bool = Field(description="single-key items: whether this is the correct option")


class ReviewItem(BaseModel):
    """One item of the review: the candidate's answer, the key or points, the explanation."""

    position: int
    section: str
    stem: str
    options: list[ReviewOption]
    answer: str | None = Field(description="the letter the candidate chose (null: blank)")
    key: str | None = Field(description="the key's letter (null for weighted items)")
    correct: bool | None = Field(description="single-key items: whether the answer is the key")
    points: float = Field(description="what the answer scored")
    explanation: str | None = Field(description="the pembahasan (HTML), if the bank has one")


class PracticeScore(BaseModel):
    """The practice attempt's score against the exam's thresholds."""

    sections: list[SectionScoreView]
    total: float
    max_total: float
    passed: bool
    rules: list[RuleView]
    computed_at: datetime


class PracticeReview(BaseModel):
    """The finished practice attempt: its score and every item with its key and explanation."""

    attempt_id: int
    exam_code: str
    exam_title: str
    score: PracticeScore
    items: list[ReviewItem]
