"""Proctor controls: open and close a sitting, pause and resume (one attempt or all), extend
time, void, move a candidate to another PC, and the live seat list. Each is audited with a
reason on the sitting's chain."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.errors import AppError, Conflict, NotFound
from app.models.attempt import Attempt, Response
from app.models.sitting import Registration, Sitting
from app.repositories import attempts as attempt_repo
from app.repositories import exams as exam_repo
from app.services import audit
from app.services.attempts import IN_PROGRESS, VOIDED
from app.services.autosave import remaining_seconds

MAX_EXTENSION_MINUTES = 240


def _reason(reason: str) -> str:
    text = (reason or "").strip()
    if len(text) < 3:
        msg = "reason: say why (it is recorded in the audit log)"
        raise AppError(msg)
    return text[:500]


def _sitting(session: Session, sitting_id: int) -> Sitting:
    sitting = exam_repo.sitting_for_update(session, sitting_id)
    if sitting is None:
        msg = f"no sitting {sitting_id}"
        raise NotFound(msg)
    return sitting


def _record(
    session: Session,
    sitting_id: int,
    *,
    now: datetime,
    actor: str,
    action: str,
    subject: str,
    payload: dict[str, Any],
) -> None:
    audit.record(
        session,
        at=now,
        actor=actor,
        action=action,
        subject=subject,
        payload=payload,
        chain=audit.sitting_chain(sitting_id),
    )


def open_sitting(
    session: Session, sitting_id: int, *, now: datetime, actor: str, reason: str = "opened"
) -> Sitting:
    """Admit logins (from ``scheduled``); opening an open sitting changes nothing."""
    sitting = _sitting(session, sitting_id)
    if sitting.status in ("open", "paused"):
        return sitting
    if sitting.status == "closed":
        msg = "the sitting is closed and cannot be reopened"
        raise Conflict(msg)
    sitting.status = "open"
    _record(
        session,
        sitting_id,
        now=now,
        actor=actor,
        action="sitting.open",
        subject=f"sitting:{sitting_id}",
        payload={"reason": reason},
    )
    return sitting


def close_sitting(
    session: Session, sitting_id: int, *, now: datetime, actor: str, reason: str
) -> Sitting:
    """Stop admitting logins. Running attempts keep running to their deadlines."""
    reason = _reason(reason)
    sitting = _sitting(session, sitting_id)
    if sitting.status == "closed":
        return sitting
    if sitting.status == "paused":
        msg = "resume the sitting before closing it"
        raise Conflict(msg)
    sitting.status = "closed"
    _record(
        session,
        sitting_id,
        now=now,
        actor=actor,
        action="sitting.close",
        subject=f"sitting:{sitting_id}",
        payload={"reason": reason},
    )
    return sitting


def _running(session: Session, sitting_id: int) -> list[Attempt]:
    return list(
        session.scalars(
            select(Attempt)
            .where(Attempt.sitting_id == sitting_id, Attempt.status == IN_PROGRESS)
            .order_by(Attempt.id)
            .with_for_update()
        )
    )


def pause_sitting(
    session: Session, sitting_id: int, *, now: datetime, actor: str, reason: str
) -> int:
    """Stop every clock of the sitting (an outage); how many attempts were paused.

    Attempts whose time had already run out are left to finish: a pause cannot give back time
    that was over before it began.
    """
    reason = _reason(reason)
    sitting = _sitting(session, sitting_id)
    if sitting.status != "open":
        msg = f"only an open sitting can be paused (it is {sitting.status})"
        raise Conflict(msg)
    sitting.status = "paused"
    sitting.paused_at = now
    paused = 0
    for attempt in _running(session, sitting_id):
        if (
            attempt.paused_at is None
            and attempt.deadline_at is not None
            and attempt.deadline_at > now
        ):
            attempt.paused_at = now
            attempt.paused_by = "sitting"
            paused += 1
    _record(
        session,
        sitting_id,
        now=now,
        actor=actor,
        action="sitting.pause",
        subject=f"sitting:{sitting_id}",
        payload={"reason": reason, "attempts": paused},
    )
    return paused


def resume_sitting(
    session: Session, sitting_id: int, *, now: datetime, actor: str, reason: str
) -> int:
    """Restart the clocks the sitting pause stopped; each deadline moves by exactly the pause."""
    reason = _reason(reason)
    sitting = _sitting(session, sitting_id)
    if sitting.status != "paused":
        msg = f"the sitting is not paused (it is {sitting.status})"
        raise Conflict(msg)
    sitting.status = "open"
    sitting.paused_at = None
    resumed = 0
    for attempt in _running(session, sitting_id):
        if (
            attempt.paused_by == "sitting"
            and attempt.paused_at is not None
            and attempt.deadline_at is not None
        ):
            attempt.deadline_at = attempt.deadline_at + (now - attempt.paused_at)
            attempt.paused_at = None
            attempt.paused_by = None
            resumed += 1
    _record(
        session,
        sitting_id,
        now=now,
        actor=actor,
        action="sitting.resume",
        subject=f"sitting:{sitting_id}",
        payload={"reason": reason, "attempts": resumed},
    )
    return resumed


def _attempt(session: Session, attempt_id: int) -> Attempt:
    attempt = attempt_repo.attempt_for_update(session, attempt_id)
    if attempt is None:
        msg = f"no attempt {attempt_id}"
        raise NotFound(msg)
    return attempt


def pause_attempt(
    session: Session, attempt_id: int, *, now: datetime, actor: str, reason: str
) -> Attempt:
    """Stop one candidate's clock (a dead PC)."""
    reason = _reason(reason)
    attempt = _attempt(session, attempt_id)
    if attempt.status != IN_PROGRESS:
        msg = f"the attempt is {attempt.status}; only a running attempt can be paused"
        raise Conflict(msg)
    if attempt.paused_at is not None:
        return attempt
    assert attempt.deadline_at is not None
    if attempt.deadline_at <= now:
        msg = "the attempt's time is already over"
        raise Conflict(msg)
    attempt.paused_at = now
    attempt.paused_by = "proctor"
    _record(
        session,
        attempt.sitting_id,
        now=now,
        actor=actor,
        action="attempt.pause",
        subject=f"attempt:{attempt_id}",
        payload={
            "reason": reason,
            "remaining_seconds": remaining_seconds(attempt.deadline_at, now, now),
        },
    )
    return attempt


def resume_attempt(
    session: Session, attempt_id: int, *, now: datetime, actor: str, reason: str
) -> Attempt:
    """Restart one candidate's clock; the deadline moves by exactly the pause."""
    reason = _reason(reason)
    attempt = _attempt(session, attempt_id)
    if attempt.paused_at is None or attempt.status != IN_PROGRESS:
        msg = "the attempt is not paused"
        raise Conflict(msg)
    sitting = session.get(Sitting, attempt.sitting_id)
    if sitting is not None and sitting.status == "paused":
        msg = "the whole sitting is paused; resume the sitting"
        raise Conflict(msg)
    assert attempt.deadline_at is not None
    paused_for = now - attempt.paused_at
    attempt.deadline_at = attempt.deadline_at + paused_for
    attempt.paused_at = None
    attempt.paused_by = None
    _record(
        session,
        attempt.sitting_id,
        now=now,
        actor=actor,
        action="attempt.resume",
        subject=f"attempt:{attempt_id}",
        payload={"reason": reason, "paused_seconds": int(paused_for.total_seconds())},
    )
    return attempt


def extend_attempt(
    session: Session, attempt_id: int, *, minutes: int, now: datetime, actor: str, reason: str
) -> Attempt:
    """Give one candidate extra minutes (a time credit for an incident)."""
    reason = _reason(reason)
    if not 1 <= minutes <= MAX_EXTENSION_MINUTES:
        msg = f"minutes: 1 to {MAX_EXTENSION_MINUTES}"
        raise AppError(msg)
    attempt = _attempt(session, attempt_id)
    if attempt.status != IN_PROGRESS:
        msg = f"the attempt is {attempt.status}; time can be added only to a running attempt"
        raise Conflict(msg)
    assert attempt.deadline_at is not None
    attempt.deadline_at = attempt.deadline_at + timedelta(minutes=minutes)
    attempt.credit_seconds = attempt.credit_seconds + minutes * 60
    _record(
        session,
        attempt.sitting_id,
        now=now,
        actor=actor,
        action="attempt.extend",
        subject=f"attempt:{attempt_id}",
        payload={
            "reason": reason,
            "minutes": minutes,
            "deadline_at": attempt.deadline_at.isoformat(),
        },
    )
    return attempt


def void_attempt(
    session: Session, attempt_id: int, *, now: datetime, actor: str, reason: str
) -> Attempt:
    """Void an attempt (cheating, impostor): it is never scored or ranked."""
    reason = _reason(reason)
    attempt = _attempt(session, attempt_id)
    if attempt.status == VOIDED:
        return attempt
    previous = attempt.status
    attempt.status = VOIDED
    attempt.finished_at = attempt.finished_at or now
    attempt.finish_reason = "voided"
    attempt.paused_at = None
    # A result already computed stays on file for the record; rankings skip voided attempts.
    _record(
        session,
        attempt.sitting_id,
        now=now,
        actor=actor,
        action="attempt.void",
        subject=f"attempt:{attempt_id}",
        payload={"reason": reason, "previous_status": previous},
    )
    return attempt


def move_attempt(
    session: Session, attempt_id: int, *, now: datetime, actor: str, reason: str
) -> Attempt:
    """End the current PC's session so the candidate can log in on another one with the PIN."""
    reason = _reason(reason)
    attempt = _attempt(session, attempt_id)
    generation = attempt_repo.bump_generation(session, attempt_id)
    _record(
        session,
        attempt.sitting_id,
        now=now,
        actor=actor,
        action="attempt.move",
        subject=f"attempt:{attempt_id}",
        payload={"reason": reason, "generation": generation},
    )
    session.refresh(attempt)
    return attempt


def seats(session: Session, sitting_id: int, *, now: datetime) -> dict[str, Any]:
    """Every candidate of a sitting: status, answered count, remaining time, last seen."""
    sitting = session.get(Sitting, sitting_id)
    if sitting is None:
        msg = f"no sitting {sitting_id}"
        raise NotFound(msg)
    answered = dict(
        session.execute(
            select(Response.attempt_id, func.count())
            .join(Attempt, Attempt.id == Response.attempt_id)
            .where(Attempt.sitting_id == sitting_id, Response.option.is_not(None))
            .group_by(Response.attempt_id)
        ).all()
    )
    rows = session.execute(
        select(Registration, Attempt)
        .outerjoin(Attempt, Attempt.registration_id == Registration.id)
        .where(Registration.sitting_id == sitting_id)
        .order_by(Registration.slot)
    ).all()
    seats_out = []
    counts: dict[str, int] = {}
    for registration, attempt in rows:
        status = "absent" if attempt is None else attempt.status
        if attempt is not None and attempt.status == IN_PROGRESS and attempt.paused_at is not None:
            status = "paused"
        counts[status] = counts.get(status, 0) + 1
        seats_out.append(
            {
                "seat": registration.slot + 1,
                "nomor_peserta": registration.nomor_peserta,
                "name": registration.name,
                "attempt_id": attempt.id if attempt else None,
                "status": status,
                "answered": int(answered.get(attempt.id, 0)) if attempt else 0,
                "items": len(attempt.form or []) if attempt else 0,
                "remaining_seconds": remaining_seconds(attempt.deadline_at, attempt.paused_at, now)
                if attempt is not None and attempt.status == IN_PROGRESS and attempt.deadline_at
                else None,
                "extra_minutes": registration.extra_minutes,
                "credit_minutes": (attempt.credit_seconds // 60) if attempt else 0,
                "last_seen_at": attempt.last_seen_at if attempt else None,
                "devices": attempt.device_generation if attempt else 0,
                "paused_by": attempt.paused_by if attempt else None,
            }
        )
    return {
        "sitting": {
            "id": sitting.id,
            "name": sitting.name,
            "status": sitting.status,
            "site": sitting.site,
            "room": sitting.room,
            "starts_at": sitting.starts_at,
            "timezone": sitting.timezone,
        },
        "counts": counts,
        "seats": seats_out,
        "server_time": now,
    }
