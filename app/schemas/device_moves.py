"""Bodies of device moves approved by the proctor: the requests, the waiting screen's poll and
the sitting's rule."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

MoveState = Literal["pending", "approved", "refused", "superseded"]


class MoveRequestOut(BaseModel):
    """A login on a second PC asking to take over a running attempt."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    attempt_id: int
    nomor_peserta: str
    status: MoveState
    old_client: str | None = Field(description="the PC now writing: client address")
    old_agent: str | None = Field(description="the PC now writing: browser and system")
    new_client: str = Field(description="the PC asking: client address")
    new_agent: str = Field(description="the PC asking: browser and system")
    requested_at: datetime
    decided_at: datetime | None
    decided_by: str | None
    reason: str | None


class MoveStatusIn(BaseModel):
    """The move token the login on the waiting PC was given."""

    move_token: str = Field(min_length=20, max_length=100)


class MoveStatusOut(BaseModel):
    """Where the waiting PC's request stands; ``access_token`` once approved."""

    model_config = ConfigDict(from_attributes=True)

    state: MoveState
    attempt_id: int
    reason: str | None = Field(description="why the proctor refused (refused only)")
    access_token: str | None = Field(description="the candidate token (approved only)")


class DeviceMovesRule(BaseModel):
    """A sitting's device-move rule; ``null`` follows the exam spec's ``device_moves``."""

    device_moves: Literal["proctor", "automatic"] | None
    reason: str = Field(min_length=3, max_length=500)


class DeviceMovesRuleOut(BaseModel):
    """The sitting's own rule (``null``: the exam spec's) and the rule in force."""

    sitting_id: int
    device_moves: Literal["proctor", "automatic"] | None
    effective: Literal["proctor", "automatic"]
