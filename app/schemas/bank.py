"""Bodies of the item bank routes."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field


class OptionOut(BaseModel):
    """An option as stored: the bank's label, its text, its points (weighted items), and
    whether it keeps its position when the item's options are shuffled."""

    label: str
    text: str
    points: float | None = None
    fixed: bool = False


class ItemSummary(BaseModel):
    """A stored item version as admins see it (keys and points included: staff only)."""

    id: int
    code: str
    version: int
    section: str
    topic: str
    stem: str
    scoring: str
    key: str | None
    options: list[OptionOut]
    p_value: float | None
    level: str | None
    status: str
    content_hash: str
    created_at: datetime
    shuffle: bool = True
    stimulus_ref: str | None = None


class ItemPage(BaseModel):
    """One page of a search."""

    total: int
    offset: int
    limit: int
    items: list[ItemSummary]


class ItemStatusChange(BaseModel):
    """Retire or (re)activate an item, saying why."""

    status: Literal["active", "retired", "draft"]
    reason: str = Field(default="", max_length=500)


class SectionIn(BaseModel):
    """A section code items may use."""

    code: str = Field(pattern=r"^[A-Za-z0-9_]{1,32}$")
    name: str = Field(min_length=1, max_length=200)


class SectionOut(BaseModel):
    """A known section."""

    code: str
    name: str
