"""Body of the health route."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class HealthOut(BaseModel):
    """The service answers and so does its database."""

    status: Literal["ok"]
    database: str = Field(description="the database backend: sqlite or postgresql")
