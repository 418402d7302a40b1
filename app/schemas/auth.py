"""Bodies of the staff authentication routes."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from app.models.staff import Role


class TokenRequest(BaseModel):
    """Staff credentials (JSON, or the OAuth2 password form for /docs)."""

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class TokenResponse(BaseModel):
    """A bearer token, shown once."""

    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_at: datetime
    role: Role


class Me(BaseModel):
    """Who the token belongs to."""

    username: str
    role: Role


class LoginUnlocked(BaseModel):
    """A subject's login locks after an unlock."""

    subject: str = Field(description="the username or nomor peserta")
    clients: list[str] = Field(
        description="the client addresses it was locked from (empty: nothing was locked)"
    )
