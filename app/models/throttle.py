"""Failed-login counters kept in the database, so every app process sees the same count."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base


class LoginFailure(Base):
    """Failures of one key (``staff:<name>``, ``candidate:<nomor>``, ``ip:<addr>``) in a window."""

    __tablename__ = "login_failures"

    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    failures: Mapped[int]
    window_started_at: Mapped[datetime]
    locked_until: Mapped[datetime | None]
