"""Body of the committee's replay of an attempt: the form as served, with every answer change.

Read from the replay service's values by attribute (or from a mapping of the same fields).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class AnswerChange(BaseModel):
    """One stored save of a position, as the candidate's letter."""

    model_config = ConfigDict(from_attributes=True)

    at: datetime
    seq: int
    option: str | None = Field(description="the letter shown to the candidate; null: cleared")
    flagged: bool
    device: int = Field(description="the device generation that sent it")


class ReplayOption(BaseModel):
    """An option in the candidate's order, with its bank label and points."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    text: str
    original_label: str
    points: float | None


class ReplayItem(BaseModel):
    """One position of the served form."""

    model_config = ConfigDict(from_attributes=True)

    position: int
    item: str = Field(description="item code and version, e.g. TWK-001 v2")
    section: str
    stem: str
    options: list[ReplayOption]
    key: str | None = Field(description="the key's letter in the candidate's order")
    history: list[AnswerChange]
    stimulus: str | None = Field(
        default=None, description="the passage read beside the item (a key of `stimuli`)"
    )
    shown_at: list[datetime] = Field(
        default_factory=list, description="when the screen showed the item (server time)"
    )


class ReplayPassage(BaseModel):
    """A passage as the candidate read it beside its items."""

    model_config = ConfigDict(from_attributes=True)

    code: str
    version: int
    title: str
    content: str


class ReplayOut(BaseModel):
    """What a candidate saw and did, redrawn from the stored seed and checked against it."""

    model_config = ConfigDict(from_attributes=True)

    attempt_id: int
    nomor_peserta: str
    exam: str
    form_seed: dict[str, Any]
    matches_served_form: bool
    status: str
    started_at: datetime | None
    finished_at: datetime | None
    items: list[ReplayItem]
    viewer: str
    stimuli: dict[str, ReplayPassage] = Field(
        default_factory=dict, description="passages by code@version, each sent once"
    )
