"""Bodies the proctor's console reads: the assigned sittings and the seat list."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class ProctorSittingOut(BaseModel):
    """A sitting this proctor is assigned to."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    site: str
    room: str
    status: str = Field(description="scheduled, open, paused or closed")
    starts_at: datetime
    starts_local: str = Field(description="the start in the site's time zone, as printed")


class SeatSitting(BaseModel):
    """The sitting a seat list belongs to."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    status: str = Field(description="scheduled, open, paused or closed")
    site: str
    room: str
    starts_at: datetime
    timezone: str


class SeatOut(BaseModel):
    """One candidate of the sitting (personal data: the staff API only)."""

    model_config = ConfigDict(from_attributes=True)

    seat: int
    nomor_peserta: str
    name: str
    attempt_id: int | None = Field(description="null: the candidate never logged in")
    status: str = Field(
        description="absent, ready, in_progress, paused (a running attempt whose clock stands "
        "still), finished or voided"
    )
    answered: int = Field(description="positions with an answer")
    items: int = Field(description="positions of the frozen form (0 before the start)")
    remaining_seconds: int | None = Field(description="only while the attempt runs")
    extra_minutes: int = Field(description="the roster's accommodation")
    credit_minutes: int = Field(description="minutes proctors added")
    last_seen_at: datetime | None
    devices: int = Field(description="logins and moves so far (the device generation)")
    paused_by: str | None = Field(description="sitting or proctor, while paused")
    login_locked_until: datetime | None = Field(
        default=None,
        description="while wrong PINs keep this candidate from logging in from some PC: until "
        "when (POST .../candidates/{nomor_peserta}/unlock clears it)",
    )
    login_locked_from: list[str] = Field(
        default_factory=list, description="the client addresses the candidate is locked from"
    )


class SeatsOut(BaseModel):
    """Every seat of a sitting with how many candidates are in each status."""

    model_config = ConfigDict(from_attributes=True)

    sitting: SeatSitting
    counts: dict[str, int] = Field(description="seats per status")
    seats: list[SeatOut]
    server_time: datetime
