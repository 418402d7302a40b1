"""Attempts (one candidate's sitting of one exam), their answers, and every answer change."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from app.models.base import Base
from exam_day.status import AttemptStatus, FinishReason, PausedBy

E = TypeVar("E", bound=StrEnum)


class StoredEnum(TypeDecorator[E]):
    """A ``StrEnum`` stored as its plain string (``VARCHAR(16)``, exactly as before the enum).

    Rows come back as members; a value that is not a member is refused on the way in, naming the
    enum, instead of being stored.
    """

    impl = String(16)
    cache_ok = True

    def __init__(self, enum: type[E]) -> None:
        super().__init__()
        self.enum = enum

    def process_bind_param(self, value: E | str | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return self.enum(value).value

    def process_result_value(self, value: Any, dialect: Dialect) -> E | None:
        return None if value is None else self.enum(value)


class Attempt(Base):
    """A candidate's attempt: the frozen form, the server-owned clock and the status.

    ``deadline_at`` is the moment time runs out, already moved by every pause and time credit;
    while ``paused_at`` is set the clock stands still (remaining = deadline - paused_at).
    ``device_generation`` grows at each login: only the newest device's token may write.
    ``form`` is ``[[item_id, [option order...]], ...]`` in the candidate's order: read and
    written only through :class:`exam_day.form.FrozenForm`. ``status``, ``paused_by`` and
    ``finish_reason`` are :mod:`exam_day.status` enums stored as their plain strings.
    """

    __tablename__ = "attempts"
    __table_args__ = (
        Index("ix_attempts_status_deadline", "status", "deadline_at"),
        Index(
            "ix_attempts_item_ids",
            "item_ids",
            postgresql_using="gin",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # None only for a practice attempt (see PracticeAttempt): it has no roster row at all.
    registration_id: Mapped[int | None] = mapped_column(ForeignKey("registrations.id"), unique=True)
    sitting_id: Mapped[int] = mapped_column(ForeignKey("sittings.id"), index=True)
    exam_id: Mapped[int] = mapped_column(ForeignKey("exams.id"), index=True)
    status: Mapped[AttemptStatus] = mapped_column(StoredEnum(AttemptStatus))
    device_generation: Mapped[int] = mapped_column(Integer, default=1)
    form: Mapped[list[Any] | None] = mapped_column(JSON)
    # The form's item version ids by position (0: an adaptive position not given yet), so a key
    # correction finds the attempts holding an item by index instead of reading every form.
    item_ids: Mapped[list[int] | None] = mapped_column(
        postgresql.ARRAY(Integer).with_variant(JSON, "sqlite")
    )
    form_seed: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    started_at: Mapped[datetime | None]
    deadline_at: Mapped[datetime | None]
    paused_at: Mapped[datetime | None]
    paused_by: Mapped[PausedBy | None] = mapped_column(StoredEnum(PausedBy))
    credit_seconds: Mapped[int] = mapped_column(Integer, default=0)
    finished_at: Mapped[datetime | None]
    finish_reason: Mapped[FinishReason | None] = mapped_column(StoredEnum(FinishReason))
    last_seen_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    # The PC now allowed to write (client address, user-agent summary): what a proctor compares
    # with the PC asking to take the attempt over.
    device_client: Mapped[str | None] = mapped_column(String(64))
    device_agent: Mapped[str | None] = mapped_column(String(120))


class DeviceMoveRequest(Base):
    """A login on a second PC asking to take over a running attempt, until its proctor approves
    or refuses it. The waiting PC holds a random move token (only its SHA-256 is stored);
    ``generation`` is the device generation the approval gave it."""

    __tablename__ = "device_move_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(
        ForeignKey("attempts.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    old_client: Mapped[str | None] = mapped_column(String(64))
    old_agent: Mapped[str | None] = mapped_column(String(120))
    new_client: Mapped[str] = mapped_column(String(64))
    new_agent: Mapped[str] = mapped_column(String(120))
    requested_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]
    decided_by: Mapped[str | None] = mapped_column(String(100))
    reason: Mapped[str | None] = mapped_column(String(500))
    generation: Mapped[int | None] = mapped_column(Integer)


class Response(Base):
    """The current answer at one position: derived from the newest accepted change."""

    __tablename__ = "responses"

    attempt_id: Mapped[int] = mapped_column(
        ForeignKey("attempts.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    option: Mapped[int | None] = mapped_column(SmallInteger)
    flagged: Mapped[bool] = mapped_column(Boolean)
    seq: Mapped[int] = mapped_column(BigInteger)
    saved_at: Mapped[datetime]


class ResponseEvent(Base):
    """Every accepted answer change, with server time: the record an appeal is decided on."""

    __tablename__ = "response_events"
    __table_args__ = (Index("ix_response_events_attempt_position", "attempt_id", "position"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(SmallInteger)
    option: Mapped[int | None] = mapped_column(SmallInteger)
    flagged: Mapped[bool] = mapped_column(Boolean)
    seq: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[datetime]
    device_generation: Mapped[int] = mapped_column(Integer)
