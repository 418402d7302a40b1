"""Bodies of the committee and proctor routes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class ExamOut(BaseModel):
    """An exam version."""

    id: int
    code: str
    version: int
    title: str
    status: str
    spec_hash: str
    created_at: datetime
    published_at: datetime | None
    scoring_revision: int
    outcome: str | None = Field(default=None, description="created, updated or unchanged")
    spec: dict[str, Any] | None = None


class SittingIn(BaseModel):
    """A sitting to schedule: local time at the site, or ISO with an offset."""

    exam: str = Field(
        min_length=1, max_length=64, description="exam code; its newest published version is used"
    )
    name: str = Field(min_length=1, max_length=200)
    starts_at: str = Field(
        max_length=64, description="e.g. 2026-12-01T08:00 (site time) or ...+07:00"
    )
    site: str = Field(default="", max_length=200)
    room: str = Field(default="", max_length=100)
    timezone: str = Field(
        default="Asia/Jakarta",
        max_length=64,
        description="Asia/Jakarta (WIB), Asia/Makassar (WITA), Asia/Jayapura (WIT)",
    )


class SittingOut(BaseModel):
    """A sitting."""

    id: int
    exam_id: int
    exam: str
    name: str
    site: str
    room: str
    timezone: str
    starts_at: datetime
    starts_local: str
    status: str


class PinOut(BaseModel):
    """A one-time PIN, shown once."""

    nomor_peserta: str
    name: str
    pin: str
    seat: int


class RosterOut(BaseModel):
    """Candidates registered by a roster import, with their PINs."""

    registered: int
    pins: list[PinOut]


class ProctorIn(BaseModel):
    """A proctor account to assign."""

    username: str = Field(min_length=1, max_length=64)


class Reason(BaseModel):
    """Why (recorded in the audit log)."""

    reason: str = Field(min_length=3, max_length=500)


class Extension(BaseModel):
    """Extra minutes for one candidate, and why."""

    minutes: int = Field(ge=1, le=240)
    reason: str = Field(min_length=3, max_length=500)


class PinReissue(BaseModel):
    """New PINs for the whole roster, or one candidate."""

    nomor_peserta: str | None = Field(default=None, min_length=1, max_length=32)
    reason: str = Field(min_length=3, max_length=500)


class AttemptControl(BaseModel):
    """An attempt after a proctor's action."""

    attempt_id: int
    status: str
    paused: bool
    remaining_seconds: int | None
    deadline_at: datetime | None


class SittingControl(BaseModel):
    """A sitting after a proctor's action."""

    sitting_id: int
    status: str
    attempts_affected: int = 0
