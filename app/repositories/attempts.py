"""Queries of sittings, registrations, attempts and their answers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.models.attempt import Attempt, Response, ResponseEvent
from app.models.sitting import Registration, Sitting
from app.repositories.common import dialect_insert
from exam_day.status import SittingStatus

OPEN_STATUSES = ("open", "paused")


def open_registrations(session: Session, nomor_peserta: str) -> list[tuple[Registration, Sitting]]:
    """Registrations of ``nomor_peserta`` in sittings that are open right now."""
    rows = session.execute(
        select(Registration, Sitting)
        .join(Sitting, Sitting.id == Registration.sitting_id)
        .where(Registration.nomor_peserta == nomor_peserta, Sitting.status.in_(OPEN_STATUSES))
    ).all()
    return [(r, s) for r, s in rows]


def attempt_for_update(session: Session, attempt_id: int) -> Attempt | None:
    """The attempt, locked until the end of the transaction (PostgreSQL row lock)."""
    return session.scalars(
        select(Attempt).where(Attempt.id == attempt_id).with_for_update()
    ).one_or_none()


def open_attempt_on_device(
    session: Session, registration: Registration, now: datetime
) -> tuple[int, int]:
    """Create the registration's attempt, or take over the existing one, for a new device: one
    statement that returns the attempt id and the device generation now allowed to write (1 for
    the first login; every later login ends the previous device's token)."""
    table = Attempt.__table__
    statement = (
        dialect_insert(session, Attempt)
        .values(
            registration_id=registration.id,
            sitting_id=registration.sitting_id,
            exam_id=registration.exam_id,
            status="ready",
            device_generation=1,
            credit_seconds=0,
            created_at=now,
        )
        .on_conflict_do_update(
            index_elements=["registration_id"],
            set_={"device_generation": table.c.device_generation + 1},
        )
        .returning(table.c.id, table.c.device_generation)
    )
    attempt_id, generation = session.execute(statement).one()
    return int(attempt_id), int(generation)


def bump_generation(session: Session, attempt_id: int) -> int:
    """Make a new device the only one allowed to write; returns its generation."""
    generation = session.execute(
        update(Attempt)
        .where(Attempt.id == attempt_id)
        .values(device_generation=Attempt.device_generation + 1)
        .returning(Attempt.device_generation)
    ).scalar_one()
    return int(generation)


def responses(session: Session, attempt_id: int) -> list[Response]:
    """Current answers of an attempt, by position."""
    return list(
        session.scalars(
            select(Response).where(Response.attempt_id == attempt_id).order_by(Response.position)
        )
    )


def last_seq(session: Session, attempt_id: int) -> int:
    """The highest sequence number stored for an attempt (0 before any save)."""
    value = session.scalar(select(func.max(Response.seq)).where(Response.attempt_id == attempt_id))
    return int(value or 0)


def registration(session: Session, registration_id: int | None) -> Registration | None:
    """A registration by id (None for a practice attempt's, which has none)."""
    return None if registration_id is None else session.get(Registration, registration_id)


def registration_and_sitting(session: Session, attempt: Attempt) -> tuple[Registration, Sitting]:
    """The attempt's registration and sitting, in one query."""
    row = session.execute(
        select(Registration, Sitting)
        .join(Sitting, Sitting.id == Registration.sitting_id)
        .where(Registration.id == attempt.registration_id)
    ).one()
    return row[0], row[1]


def due_attempts_readonly(session: Session, cutoff: datetime, limit: int) -> list[int]:
    """Running, unpaused attempts whose deadline was before ``cutoff`` (oldest first).

    A plain read: each is then finished in its own transaction under its row lock, which is
    what makes two processes' sweepers safe (the second finds it already finished).
    """
    statement = (
        select(Attempt.id)
        .where(
            Attempt.status == "in_progress",
            Attempt.paused_at.is_(None),
            Attempt.deadline_at < cutoff,
        )
        .order_by(Attempt.deadline_at)
        .limit(limit)
    )
    return list(session.scalars(statement))


def attempt(session: Session, attempt_id: int) -> Attempt | None:
    """An attempt by id (no lock)."""
    return session.get(Attempt, attempt_id)


def response_events(session: Session, attempt_id: int) -> list[ResponseEvent]:
    """Every stored save of an attempt, by position and then sequence (the answer history)."""
    return list(
        session.scalars(
            select(ResponseEvent)
            .where(ResponseEvent.attempt_id == attempt_id)
            .order_by(ResponseEvent.position, ResponseEvent.seq)
        )
    )


def answered_in(session: Session, attempt_id: int, lo: int, hi: int) -> dict[int, int | None]:
    """Stored answers (bank option index) of positions ``lo .. hi - 1``."""
    rows = session.execute(
        select(Response.position, Response.option).where(
            Response.attempt_id == attempt_id,
            Response.position >= lo,
            Response.position < hi,
        )
    )
    return {int(position): option for position, option in rows}


def sitting_status_for_start(session: Session, sitting_id: int) -> SittingStatus | None:
    """The sitting's stored status under ``FOR KEY SHARE`` (PostgreSQL; SQLite's writer already
    holds the database): a pause committing meanwhile is waited for, other starts are not."""
    return session.scalar(
        select(Sitting.status)
        .where(Sitting.id == sitting_id)
        .with_for_update(read=True, key_share=True)
    )
