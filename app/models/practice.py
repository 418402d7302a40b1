"""Practice (simulasi) attempts: anonymous, limited per client, purged after a retention time."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base


class PracticeSitting(Base):
    """The one open sitting a practice exam version's attempts run in (its seed draws forms).

    Created with the version's first practice start; live sittings never hold a practice
    attempt and a practice sitting never holds a registration.
    """

    __tablename__ = "practice_sittings"

    exam_id: Mapped[int] = mapped_column(
        ForeignKey("exams.id", ondelete="CASCADE"), primary_key=True
    )
    sitting_id: Mapped[int] = mapped_column(ForeignKey("sittings.id", ondelete="CASCADE"))


class PracticeAttempt(Base):
    """Marks an attempt as a practice one (its ``registration_id`` is null: no roster row).

    ``client_key`` is a keyed hash of the client's address (the address itself is never
    stored): it counts the client's starts and running attempts against the practice limits.
    ``created_at`` is what the retention purge measures.
    """

    __tablename__ = "practice_attempts"
    __table_args__ = (
        Index("ix_practice_attempts_client_created", "client_key", "created_at"),
        Index("ix_practice_attempts_created", "created_at"),
    )

    attempt_id: Mapped[int] = mapped_column(
        ForeignKey("attempts.id", ondelete="CASCADE"), primary_key=True
    )
    exam_id: Mapped[int] = mapped_column(ForeignKey("exams.id", ondelete="CASCADE"))
    client_key: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
