"""Login counters kept in the database, so every app process sees the same count."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base


class LoginFailure(Base):
    """Tries of one key in a window: a subject from one client (``candidate:<nomor>@<addr>``,
    ``staff:<name>@<addr>``) or one client on its own (``candidate-client:@<addr>``).

    ``failures`` counts tries reserved before the secret was compared; a try that turns out
    right is given back, so the count is of wrong ones (and of refused ones during a lock).
    """

    __tablename__ = "login_failures"
    __table_args__ = (Index("ix_login_failures_scope_subject", "scope", "subject"),)

    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    #: ``candidate``, ``candidate-client``, ``staff`` or ``staff-client``.
    scope: Mapped[str] = mapped_column(String(16))
    #: The nomor peserta or username ("" for a client's own counter).
    subject: Mapped[str] = mapped_column(String(64))
    #: The client address the tries came from.
    client: Mapped[str] = mapped_column(String(64))
    failures: Mapped[int]
    window_started_at: Mapped[datetime]
    locked_until: Mapped[datetime | None]
