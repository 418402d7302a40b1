"""Proctor controls: open and close a sitting, pause and resume (one attempt or all), extend
time, void, move a candidate to another PC, and the live seat list. Each is audited with a
reason on the sitting's chain.

Every change of an attempt is a transition of :class:`exam_day.AttemptState`: this module locks
the row, asks the model, stores what it returns and records it. A transition the model refuses
is raised as the app error of that refusal (a 409 in the error envelope) and nothing is written.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from app.errors import AppError, Conflict, NotFound
from app.models.attempt import Attempt
from app.models.sitting import Registration, Sitting
from app.repositories import attempts as attempt_repo
from app.repositories import exams as exam_repo
from app.repositories import sittings as sitting_repo
from app.services import audit, roster, throttle
from app.services.attempts import store
from app.services.exams import local_time
from app.services.refusals import as_app_error
from app.services.roster import IssuedPin
from exam_day import (
    AlreadyVoided,
    AttemptState,
    AttemptStatus,
    ExamDayError,
    FrozenForm,
    NotPaused,
    PausedBy,
    SittingStatus,
    TimeOver,
)

MAX_EXTENSION_MINUTES = 240
#: What a seat shows for a candidate who never logged in (not a stored attempt status).
ABSENT = "absent"
#: What a seat shows for a running attempt whose clock stands still.
PAUSED = "paused"


@dataclass(frozen=True, slots=True)
class AttemptControlled:
    """An attempt after a proctor's action, as the console shows it."""

    attempt_id: int
    status: AttemptStatus
    paused: bool
    remaining_seconds: int | None
    deadline_at: datetime | None


@dataclass(frozen=True, slots=True)
class SittingControlled:
    """A sitting after a proctor's action: its status and how many clocks the action moved."""

    sitting_id: int
    status: SittingStatus
    attempts_affected: int = 0


@dataclass(frozen=True, slots=True)
class SittingHeader:
    """The sitting a seat list belongs to."""

    id: int
    name: str
    status: SittingStatus
    site: str
    room: str
    starts_at: datetime
    timezone: str


@dataclass(frozen=True, slots=True)
class Seat:
    """One candidate of a sitting as the proctor's console shows them."""

    seat: int
    nomor_peserta: str
    name: str
    attempt_id: int | None
    status: str  # an attempt status, or "paused" / "absent"
    answered: int
    items: int
    remaining_seconds: int | None
    extra_minutes: int
    credit_minutes: int
    last_seen_at: datetime | None
    devices: int
    paused_by: PausedBy | None
    #: While wrong PINs keep this candidate from logging in from some PC: until when, and from
    #: which client addresses (the proctor clears it with :func:`unlock_candidate`).
    login_locked_until: datetime | None = None
    login_locked_from: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class LoginUnlocked:
    """A candidate's login locks after a proctor cleared them."""

    nomor_peserta: str
    clients: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SeatList:
    """Every seat of a sitting, with how many are in each status and the server's time."""

    sitting: SittingHeader
    counts: dict[str, int]
    seats: tuple[Seat, ...]
    server_time: datetime


@dataclass(frozen=True, slots=True)
class AssignedSitting:
    """A sitting a proctor is assigned to, with its start in the site's time."""

    id: int
    name: str
    site: str
    room: str
    status: SittingStatus
    starts_at: datetime
    starts_local: str


def assigned_sittings(session: Session, user_id: int) -> list[AssignedSitting]:
    """The sittings a proctor is assigned to, by start."""
    return [
        AssignedSitting(
            id=s.id,
            name=s.name,
            site=s.site,
            room=s.room,
            status=SittingStatus(s.status),
            starts_at=s.starts_at,
            starts_local=local_time(s.starts_at, s.timezone),
        )
        for s in exam_repo.proctor_sittings(session, user_id)
    ]


def _reason(reason: str) -> str:
    text = (reason or "").strip()
    if len(text) < 3:
        msg = "reason: say why (it is recorded in the audit log)"
        raise AppError(msg)
    return text[:500]


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


# -- the sitting ---------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _SittingRule:
    """Where a sitting action leads, which statuses it starts from, in which it is a repeat that
    changes nothing, and what it says when refused (``{status}``: the sitting's status)."""

    target: SittingStatus
    starts_from: frozenset[SittingStatus]
    repeats_in: frozenset[SittingStatus]
    refusal: str


_SITTING_RULES = {
    "open": _SittingRule(
        SittingStatus.OPEN,
        frozenset({SittingStatus.SCHEDULED}),
        frozenset({SittingStatus.OPEN, SittingStatus.PAUSED}),
        "the sitting is {status} and cannot be reopened",
    ),
    "close": _SittingRule(
        SittingStatus.CLOSED,
        frozenset({SittingStatus.SCHEDULED, SittingStatus.OPEN}),
        frozenset({SittingStatus.CLOSED}),
        "resume the sitting before closing it",
    ),
    # A pause or resume is never a repeat: a second pause would restart the pause's clock and a
    # second resume would move the deadlines twice.
    "pause": _SittingRule(
        SittingStatus.PAUSED,
        frozenset({SittingStatus.OPEN}),
        frozenset(),
        "only an open sitting can be paused (it is {status})",
    ),
    "resume": _SittingRule(
        SittingStatus.OPEN,
        frozenset({SittingStatus.PAUSED}),
        frozenset(),
        "the sitting is not paused (it is {status})",
    ),
}


def _locked_sitting(session: Session, sitting_id: int) -> Sitting:
    sitting = exam_repo.sitting_for_update(session, sitting_id)
    if sitting is None:
        msg = f"no sitting {sitting_id}"
        raise NotFound(msg)
    return sitting


def _sitting_action(
    session: Session,
    sitting_id: int,
    action: str,
    *,
    now: datetime,
    actor: str,
    payload: dict[str, Any],
    attempts: Callable[[Sitting], int] | None = None,
) -> SittingControlled:
    rule = _SITTING_RULES[action]
    sitting = _locked_sitting(session, sitting_id)
    status = SittingStatus(sitting.status)
    if status in rule.repeats_in:
        return SittingControlled(sitting.id, status)
    if status not in rule.starts_from:
        raise Conflict(rule.refusal.format(status=status))
    affected = attempts(sitting) if attempts is not None else 0
    sitting.status = rule.target
    if attempts is not None:
        payload = {**payload, "attempts": affected}
    _record(
        session,
        sitting_id,
        now=now,
        actor=actor,
        action=f"sitting.{action}",
        subject=f"sitting:{sitting_id}",
        payload=payload,
    )
    return SittingControlled(sitting.id, SittingStatus(sitting.status), affected)


def open_sitting(
    session: Session, sitting_id: int, *, now: datetime, actor: str, reason: str = "opened"
) -> SittingControlled:
    """Admit logins (from ``scheduled``); opening an open sitting changes nothing."""
    return _sitting_action(
        session, sitting_id, "open", now=now, actor=actor, payload={"reason": reason}
    )


def close_sitting(
    session: Session, sitting_id: int, *, now: datetime, actor: str, reason: str
) -> SittingControlled:
    """Stop admitting logins. Running attempts keep running to their deadlines."""
    reason = _reason(reason)
    return _sitting_action(
        session, sitting_id, "close", now=now, actor=actor, payload={"reason": reason}
    )


def pause_sitting(
    session: Session, sitting_id: int, *, now: datetime, actor: str, reason: str
) -> SittingControlled:
    """Stop every clock of the sitting (an outage).

    Attempts whose time had already run out are left to finish: a pause cannot give back time
    that was over before it began. Attempts a proctor had paused stay paused by the proctor.
    """
    reason = _reason(reason)

    def pause_all(sitting: Sitting) -> int:
        sitting.paused_at = now
        paused = 0
        for attempt in sitting_repo.running_attempts_for_update(session, sitting.id):
            before = AttemptState.of(attempt)
            try:
                after = before.pause(now, by=PausedBy.SITTING)
            except TimeOver:
                continue
            if after != before:
                store(attempt, before, after)
                paused += 1
        return paused

    return _sitting_action(
        session,
        sitting_id,
        "pause",
        now=now,
        actor=actor,
        payload={"reason": reason},
        attempts=pause_all,
    )


def resume_sitting(
    session: Session, sitting_id: int, *, now: datetime, actor: str, reason: str
) -> SittingControlled:
    """Restart the clocks the sitting pause stopped; each deadline moves by exactly the pause."""
    reason = _reason(reason)

    def resume_all(sitting: Sitting) -> int:
        sitting.paused_at = None
        resumed = 0
        for attempt in sitting_repo.running_attempts_for_update(session, sitting.id):
            before = AttemptState.of(attempt)
            try:
                after = before.resume(now, by=PausedBy.SITTING)
            except NotPaused:
                continue
            if after != before:
                store(attempt, before, after)
                resumed += 1
        return resumed

    return _sitting_action(
        session,
        sitting_id,
        "resume",
        now=now,
        actor=actor,
        payload={"reason": reason},
        attempts=resume_all,
    )


# -- one attempt ---------------------------------------------------------------------------------
def _locked_attempt(session: Session, attempt_id: int) -> Attempt:
    attempt = attempt_repo.attempt_for_update(session, attempt_id)
    if attempt is None:
        msg = f"no attempt {attempt_id}"
        raise NotFound(msg)
    return attempt


def controlled(attempt: Attempt, now: datetime) -> AttemptControlled:
    """What the console shows of an attempt after an action."""
    state = AttemptState.of(attempt)
    return AttemptControlled(
        attempt_id=attempt.id,
        status=state.status,
        paused=state.paused,
        remaining_seconds=state.remaining(now),
        deadline_at=state.deadline_at,
    )


def _transition(
    attempt: Attempt, change: Callable[[AttemptState], AttemptState]
) -> tuple[AttemptState, AttemptState]:
    """Apply one model transition to the locked row; a refusal becomes its app error."""
    before = AttemptState.of(attempt)
    try:
        after = change(before)
    except ExamDayError as refusal:
        raise as_app_error(refusal) from refusal
    store(attempt, before, after)
    return before, after


def pause_attempt(
    session: Session, attempt_id: int, *, now: datetime, actor: str, reason: str
) -> AttemptControlled:
    """Stop one candidate's clock (a dead PC); pausing a paused attempt changes nothing."""
    reason = _reason(reason)
    attempt = _locked_attempt(session, attempt_id)
    before, after = _transition(attempt, lambda s: s.pause(now, by=PausedBy.PROCTOR))
    if after != before:
        _record(
            session,
            attempt.sitting_id,
            now=now,
            actor=actor,
            action="attempt.pause",
            subject=f"attempt:{attempt_id}",
            payload={"reason": reason, "remaining_seconds": after.remaining(now)},
        )
    return controlled(attempt, now)


def resume_attempt(
    session: Session, attempt_id: int, *, now: datetime, actor: str, reason: str
) -> AttemptControlled:
    """Restart one candidate's clock; the deadline moves by exactly the pause."""
    reason = _reason(reason)
    attempt = _locked_attempt(session, attempt_id)
    sitting = sitting_repo.sitting(session, attempt.sitting_id)
    sitting_paused = sitting is not None and sitting.status == SittingStatus.PAUSED
    before, _after = _transition(
        attempt, lambda s: s.resume(now, by=PausedBy.PROCTOR, sitting_paused=sitting_paused)
    )
    assert before.paused_at is not None  # the model resumes only a paused attempt
    _record(
        session,
        attempt.sitting_id,
        now=now,
        actor=actor,
        action="attempt.resume",
        subject=f"attempt:{attempt_id}",
        payload={
            "reason": reason,
            "paused_seconds": int((now - before.paused_at).total_seconds()),
        },
    )
    return controlled(attempt, now)


def extend_attempt(
    session: Session, attempt_id: int, *, minutes: int, now: datetime, actor: str, reason: str
) -> AttemptControlled:
    """Give one candidate extra minutes (a time credit for an incident) while their time runs;
    an attempt whose time is over is not revived, even before the sweeper finishes it."""
    reason = _reason(reason)
    if not 1 <= minutes <= MAX_EXTENSION_MINUTES:
        msg = f"minutes: 1 to {MAX_EXTENSION_MINUTES}"
        raise AppError(msg)
    attempt = _locked_attempt(session, attempt_id)
    _before, after = _transition(attempt, lambda s: s.extend(minutes * 60, now))
    assert after.deadline_at is not None  # an extended attempt is running
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
            "deadline_at": after.deadline_at.isoformat(),
        },
    )
    return controlled(attempt, now)


def void_attempt(
    session: Session, attempt_id: int, *, now: datetime, actor: str, reason: str
) -> AttemptControlled:
    """Void an attempt (cheating, impostor): it is never scored or ranked. Voiding a voided
    attempt changes nothing."""
    reason = _reason(reason)
    attempt = _locked_attempt(session, attempt_id)
    before = AttemptState.of(attempt)
    try:
        after = before.void(now)
    except AlreadyVoided:
        return controlled(attempt, now)
    store(attempt, before, after)
    # A result already computed stays on file for the record; rankings skip voided attempts.
    _record(
        session,
        attempt.sitting_id,
        now=now,
        actor=actor,
        action="attempt.void",
        subject=f"attempt:{attempt_id}",
        payload={"reason": reason, "previous_status": str(before.status)},
    )
    return controlled(attempt, now)


def move_attempt(
    session: Session, attempt_id: int, *, now: datetime, actor: str, reason: str
) -> AttemptControlled:
    """End the current PC's session so the candidate can log in on another one with the PIN."""
    reason = _reason(reason)
    attempt = _locked_attempt(session, attempt_id)
    _before, after = _transition(attempt, lambda s: s.move())
    _record(
        session,
        attempt.sitting_id,
        now=now,
        actor=actor,
        action="attempt.move",
        subject=f"attempt:{attempt_id}",
        payload={"reason": reason, "generation": after.device_generation},
    )
    return controlled(attempt, now)


# -- login locks ---------------------------------------------------------------------------------
def unlock_candidate(
    session: Session,
    sitting_id: int,
    nomor_peserta: str,
    *,
    now: datetime,
    actor: str,
    reason: str,
) -> LoginUnlocked:
    """Clear the locks wrong PINs put on a candidate of this sitting (from every PC) and the
    locks of the client addresses they were locked from. Audited on the sitting's chain, also
    when nothing was locked (the proctor acted)."""
    reason = _reason(reason)
    if not any(
        registration.nomor_peserta == nomor_peserta
        for registration, _attempt in sitting_repo.seats(session, sitting_id)
    ):
        msg = f"{nomor_peserta} is not on the roster of sitting {sitting_id}"
        raise NotFound(msg)
    return _unlock(session, sitting_id, nomor_peserta, now=now, actor=actor, reason=reason)


def _unlock(
    session: Session, sitting_id: int, nomor_peserta: str, *, now: datetime, actor: str, reason: str
) -> LoginUnlocked:
    locks = throttle.unlock(session, "candidate", nomor_peserta, now)
    clients = tuple(sorted({lock.client for lock in locks}))
    _record(
        session,
        sitting_id,
        now=now,
        actor=actor,
        action="candidate.unlock",
        subject=f"candidate:{nomor_peserta}",
        payload={"reason": reason, "clients": list(clients)},
    )
    return LoginUnlocked(nomor_peserta, clients)


def reissue_pins(
    session: Session,
    sitting_id: int,
    *,
    secret: bytes,
    actor: str,
    now: datetime,
    nomor_peserta: str | None = None,
) -> list[IssuedPin]:
    """New PINs (see :func:`app.services.roster.reissue_pins`); a candidate given a new PIN
    is also unlocked, since the old one's wrong guesses say nothing about the new one."""
    issued = roster.reissue_pins(
        session, sitting_id, secret=secret, actor=actor, now=now, nomor_peserta=nomor_peserta
    )
    nomors = [pin.nomor_peserta for pin in issued]
    for nomor in throttle.locked_subjects(session, "candidate", nomors, now):
        _unlock(session, sitting_id, nomor, now=now, actor=actor, reason="PIN reissued")
    return issued


# -- the seat list -------------------------------------------------------------------------------
def _with_login_locks(
    session: Session, seat_list: tuple[Seat, ...], now: datetime
) -> tuple[Seat, ...]:
    locks = throttle.locked_subjects(
        session, "candidate", [s.nomor_peserta for s in seat_list], now
    )
    if not locks:
        return seat_list
    return tuple(
        replace(
            seat,
            login_locked_until=max(lock.until for lock in locks[seat.nomor_peserta]),
            login_locked_from=tuple(lock.client for lock in locks[seat.nomor_peserta]),
        )
        if seat.nomor_peserta in locks
        else seat
        for seat in seat_list
    )


def _seat(
    registration: Registration, attempt: Attempt | None, answered: int, now: datetime
) -> Seat:
    if attempt is None:
        return Seat(
            seat=registration.slot + 1,
            nomor_peserta=registration.nomor_peserta,
            name=registration.name,
            attempt_id=None,
            status=ABSENT,
            answered=0,
            items=0,
            remaining_seconds=None,
            extra_minutes=registration.extra_minutes,
            credit_minutes=0,
            last_seen_at=None,
            devices=0,
            paused_by=None,
        )
    state = AttemptState.of(attempt)
    return Seat(
        seat=registration.slot + 1,
        nomor_peserta=registration.nomor_peserta,
        name=registration.name,
        attempt_id=attempt.id,
        status=PAUSED if state.running and state.paused else str(state.status),
        answered=answered,
        items=0 if attempt.form is None else len(FrozenForm.decode(attempt.form)),
        remaining_seconds=state.remaining(now),
        extra_minutes=registration.extra_minutes,
        credit_minutes=state.credit_seconds // 60,
        last_seen_at=attempt.last_seen_at,
        devices=state.device_generation,
        paused_by=state.paused_by,
    )


def seats(session: Session, sitting_id: int, *, now: datetime) -> SeatList:
    """Every candidate of a sitting: status, answered count, remaining time, last seen."""
    sitting = sitting_repo.sitting(session, sitting_id)
    if sitting is None:
        msg = f"no sitting {sitting_id}"
        raise NotFound(msg)
    answered = sitting_repo.answered_counts(session, sitting_id)
    seat_list = tuple(
        _seat(
            registration,
            attempt,
            answered.get(attempt.id, 0) if attempt is not None else 0,
            now,
        )
        for registration, attempt in sitting_repo.seats(session, sitting_id)
    )
    seat_list = _with_login_locks(session, seat_list, now)
    counts: dict[str, int] = {}
    for seat in seat_list:
        counts[seat.status] = counts.get(seat.status, 0) + 1
    return SeatList(
        sitting=SittingHeader(
            id=sitting.id,
            name=sitting.name,
            status=SittingStatus(sitting.status),
            site=sitting.site,
            room=sitting.room,
            starts_at=sitting.starts_at,
            timezone=sitting.timezone,
        ),
        counts=counts,
        seats=seat_list,
        server_time=now,
    )
