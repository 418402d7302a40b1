"""Bodies of the candidate routes. Response models list every field a candidate may see:
anything else (a key, option points) is dropped even if a service put it there by mistake."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import pydantic_core
from pydantic import BaseModel, ConfigDict, Field


class CandidateLogin(BaseModel):
    """Nomor peserta and the sitting's PIN."""

    nomor_peserta: str = Field(min_length=1, max_length=32)
    pin: str = Field(min_length=1, max_length=32)


class CandidateToken(BaseModel):
    """A token bound to the candidate's attempt and this device."""

    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    attempt_id: int
    moved: bool = Field(description="true when this login moved the attempt from another PC")


class OptionView(BaseModel):
    """An option as shown: ``id`` is the letter in the candidate's own order."""

    id: str
    text: str


class ItemView(BaseModel):
    """One item of the candidate's form with the saved answer."""

    position: int
    section: str
    stem: str
    options: list[OptionView]
    option: str | None
    flagged: bool
    adaptive: bool = Field(default=False, description="chosen for this candidate as they go")
    locked: bool = Field(default=False, description="an answered adaptive item: final")
    pending: bool = Field(
        default=False,
        description="an adaptive position whose item comes once the one before is answered",
    )


class PassageView(BaseModel):
    """A passage (text, tables, images, formulas) items of the form are read with, sent once
    for all of them: ``positions`` are the form positions of the items that read it."""

    title: str
    content: str
    positions: list[int]


class SectionView(BaseModel):
    """A section of the exam."""

    code: str
    name: str
    items: int


class RuleView(BaseModel):
    """One threshold rule and its outcome ("TIU 75 < 80")."""

    model_config = ConfigDict(extra="ignore")

    label: str
    value: float
    minimum: float
    passed: bool
    text: str


class SectionScoreView(BaseModel):
    """A section's score."""

    code: str
    name: str
    score: float
    max: float


class ResultView(BaseModel):
    """The result shown at the end, with the slip's verification code."""

    sections: list[SectionScoreView]
    total: float
    max_total: float
    passed: bool
    rules: list[RuleView]
    pseudonym: str
    slip_code: str
    computed_at: datetime


class ExamRef(BaseModel):
    """The exam's public name."""

    title: str
    code: str


class SittingRef(BaseModel):
    """The sitting (sesi)."""

    id: int
    name: str
    status: str


class CandidateState(BaseModel):
    """Everything the candidate screen needs; ``remaining_seconds`` comes from the server."""

    attempt_id: int
    status: str
    nomor_peserta: str
    name: str
    exam: ExamRef
    sitting: SittingRef
    paused: bool
    remaining_seconds: int | None
    duration_seconds: int | None
    deadline_at: datetime | None
    server_time: datetime
    last_seq: int
    sections: list[SectionView]
    items: list[ItemView]
    stimuli: dict[str, PassageView] = Field(
        default_factory=dict,
        description="the passages of the form's items, each once, with the positions reading it",
    )
    result: ResultView | None


class ClockView(BaseModel):
    """The attempt's clock only: cheap to poll while paused or between saves."""

    status: str
    paused: bool
    remaining_seconds: int | None
    last_seq: int
    server_time: datetime


#: Most item views one save may carry (the screen keeps only its newest ones).
MAX_VIEWS = 64
#: ``[position, milliseconds before the request was sent]``: the server stamps its own time on
#: arrival and uses the client's figures only as durations within the batch.
ItemViewed = tuple[Annotated[int, Field(ge=1, le=1000)], Annotated[int, Field(ge=0, le=86_400_000)]]


class SaveBody(BaseModel):
    """One answer: the shown option letter (or null to clear), the ragu-ragu flag, a sequence."""

    option: str | None = Field(default=None, pattern=r"^[A-F]$")
    flagged: bool = False
    seq: int = Field(ge=1, le=2**62, description="grows with every save from this attempt")
    views: list[ItemViewed] | None = Field(
        default=None,
        max_length=MAX_VIEWS,
        description="items shown since the last acknowledged save: [position, ms before this "
        "request was sent], oldest first (optional; stored for the integrity report)",
    )


class SaveAck(BaseModel):
    """Sent only after the answer is durable. ``applied`` is false for a stale ``seq``."""

    position: int
    option: str | None
    flagged: bool
    seq: int
    applied: bool
    remaining_seconds: int
    saved_at: datetime
    next_position: int | None = Field(
        default=None, description="adaptive sections: the position of the item chosen next"
    )


class FinishBody(BaseModel):
    """The candidate confirms finishing (Selesai Ujian → Ya)."""

    confirm: bool = Field(description="must be true: finishing cannot be undone")


def state_model(state: dict[str, Any]) -> CandidateState:
    """Validate a service's state dict into the public model (drops unknown fields)."""
    return CandidateState.model_validate(state)


_STATE_KEYS = frozenset(CandidateState.model_fields)
_ITEM_KEYS = frozenset(ItemView.model_fields)
_OPTION_KEYS = frozenset(OptionView.model_fields)
_SECTION_KEYS = frozenset(SectionView.model_fields)
_EXAM_KEYS = frozenset(ExamRef.model_fields)
_SITTING_KEYS = frozenset(SittingRef.model_fields)
_PASSAGE_KEYS = frozenset(PassageView.model_fields)


def _exact_shape(state: dict[str, Any]) -> bool:
    """Whether every object of an unfinished state has exactly its model's fields."""
    return (
        state.keys() == _STATE_KEYS
        and state["result"] is None
        and state["exam"].keys() == _EXAM_KEYS
        and state["sitting"].keys() == _SITTING_KEYS
        and all(s.keys() == _SECTION_KEYS for s in state["sections"])
        and all(
            item.keys() == _ITEM_KEYS and all(o.keys() == _OPTION_KEYS for o in item["options"])
            for item in state["items"]
        )
        and all(p.keys() == _PASSAGE_KEYS for p in state["stimuli"].values())
    )


def state_json(state: dict[str, Any]) -> bytes:
    """The state as the JSON of :class:`CandidateState`.

    Validating a whole form's nested dicts (110 items, 550 options) into models costs more CPU
    than building them, on the requests a synchronized start sends all at once. When every
    object already has exactly its model's fields (no more, no fewer; checked here) the dict is
    written by pydantic's own serializer unvalidated, which gives the same JSON; anything else
    (a result, a field a model does not list) goes through the model, which drops what a
    candidate must not see.
    """
    if _exact_shape(state):
        return pydantic_core.to_json(state)
    model = state_model(state)
    return model.__pydantic_serializer__.to_json(model)
