"""Device moves approved by the proctor.

BKN's largest cheating case (2021) had answers entered remotely: whoever holds a nomor peserta
and PIN could take over a running attempt from another PC. Under the ``proctor`` rule (the
default; the exam spec's ``device_moves`` or the sitting's override chooses) a login on a second
PC while the attempt is in progress does not move it: it files a move request and gets a move
token, and its screen waits on "menunggu persetujuan pengawas" while the first PC keeps working.
The sitting's proctor sees old and new PC (client address, browser) and approves (the attempt
moves through :meth:`exam_day.AttemptState.move`: the old PC's token ends, answers and time
intact) or refuses with a reason. Every step is recorded on the attempt's audit chain.

A login before the attempt has started (or after it ended) needs no approval: there is nothing
on the first PC to take over.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.errors import AppError, Conflict, NotFound
from app.models.attempt import Attempt, DeviceMoveRequest
from app.models.exam import ExamVersion
from app.models.sitting import Registration, Sitting
from app.repositories import attempts as attempt_repo
from app.services import audit
from app.services.audit import attempt_chain
from app.services.candidate_tokens import CandidateTokens
from exam_day import AttemptState, AttemptStatus

PROCTOR: Final = "proctor"
AUTOMATIC: Final = "automatic"
RULES: Final = (PROCTOR, AUTOMATIC)

PENDING: Final = "pending"
APPROVED: Final = "approved"
REFUSED: Final = "refused"
#: A later login of the same candidate filed a newer request: the proctor answers that one.
SUPERSEDED: Final = "superseded"

MoveState = Literal["pending", "approved", "refused", "superseded"]


class DeviceMovePending(AppError):
    """The attempt runs on another PC: this login waits for the proctor (a 409 whose envelope
    carries the move token the waiting screen polls with)."""

    status_code = 409
    retryable = False


@dataclass(frozen=True, slots=True)
class MoveRequest:
    """A move request as the proctor sees it."""

    id: int
    attempt_id: int
    nomor_peserta: str
    status: MoveState
    old_client: str | None
    old_agent: str | None
    new_client: str
    new_agent: str
    requested_at: datetime
    decided_at: datetime | None
    decided_by: str | None
    reason: str | None


@dataclass(frozen=True, slots=True)
class MoveStatus:
    """What the waiting screen learns when it polls: an access token once approved."""

    state: MoveState
    attempt_id: int
    reason: str | None
    access_token: str | None


def agent_summary(user_agent: str) -> str:
    """A short, readable name of the browser and system of a User-Agent header ("Chrome 120 on
    Windows"), so a proctor can tell two PCs apart without reading the whole header."""
    ua = user_agent or ""
    browser = ""
    for name, pattern in (
        ("Edge", r"Edg/(\d+)"),
        ("Firefox", r"Firefox/(\d+)"),
        ("Chromium", r"Chromium/(\d+)"),
        ("Chrome", r"Chrome/(\d+)"),
        ("Safari", r"Version/(\d+).*Safari/"),
    ):
        found = re.search(pattern, ua)
        if found:
            browser = f"{name} {found.group(1)}"
            break
    system = next(
        (
            label
            for needle, label in (
                ("Android", "Android"),
                ("iPhone", "iOS"),
                ("iPad", "iOS"),
                ("Windows", "Windows"),
                ("Mac OS X", "macOS"),
                ("CrOS", "ChromeOS"),
                ("Linux", "Linux"),
            )
            if needle in ua
        ),
        "",
    )
    if browser and system:
        return f"{browser} on {system}"
    return (browser or system or ua.strip()[:60] or "unknown")[:120]


def rule(session: Session, sitting_id: int, exam_id: int) -> str:
    """The sitting's device-move rule: its own override, else its exam spec's (``proctor``
    when neither says)."""
    sitting = session.get(Sitting, sitting_id)
    if sitting is not None and sitting.device_moves in RULES:
        return sitting.device_moves
    exam = session.get(ExamVersion, exam_id)
    chosen = exam.spec.get("device_moves") if exam is not None else None
    return chosen if chosen in RULES else PROCTOR


def _digest(move_token: str) -> str:
    return hashlib.sha256(move_token.encode()).hexdigest()


def held_elsewhere(session: Session, registration_id: int, sitting_id: int) -> Attempt | None:
    """The registration's attempt, locked, if it is in progress and moving it to a new PC needs
    the proctor's approval; ``None`` when the login may take it over at once."""
    attempt = session.scalars(
        select(Attempt).where(Attempt.registration_id == registration_id).with_for_update()
    ).one_or_none()
    if attempt is None or attempt.status != AttemptStatus.IN_PROGRESS:
        return None
    if rule(session, sitting_id, attempt.exam_id) != PROCTOR:
        return None
    return attempt


def request_move(
    session: Session,
    attempt: Attempt,
    *,
    nomor_peserta: str,
    client: str,
    agent: str,
    now: datetime,
) -> DeviceMovePending:
    """File a move request for a login on a new PC (superseding the candidate's earlier ones
    still pending) and return the refusal that carries its move token."""
    session.execute(
        update(DeviceMoveRequest)
        .where(DeviceMoveRequest.attempt_id == attempt.id, DeviceMoveRequest.status == PENDING)
        .values(status=SUPERSEDED, decided_at=now)
    )
    move_token = secrets.token_urlsafe(32)
    request = DeviceMoveRequest(
        attempt_id=attempt.id,
        status=PENDING,
        token_hash=_digest(move_token),
        old_client=attempt.device_client,
        old_agent=attempt.device_agent,
        new_client=client[:64],
        new_agent=agent_summary(agent),
        requested_at=now,
    )
    session.add(request)
    session.flush()
    audit.record(
        session,
        at=now,
        actor=f"candidate:{nomor_peserta}",
        action="candidate.move_requested",
        subject=f"attempt:{attempt.id}",
        payload={
            "request": request.id,
            "old_client": request.old_client,
            "old_agent": request.old_agent,
            "new_client": request.new_client,
            "new_agent": request.new_agent,
        },
        chain=attempt_chain(attempt.id),
    )
    return DeviceMovePending(
        "this attempt is running on another PC: wait here until the proctor approves the move",
        move_token=move_token,
        request_id=request.id,
        attempt_id=attempt.id,
    )


def note_device(session: Session, attempt_id: int, *, client: str, agent: str) -> None:
    """Remember the PC now allowed to write, for the proctor's comparison at a later move."""
    attempt = session.get(Attempt, attempt_id)
    if attempt is not None:
        attempt.device_client = client[:64]
        attempt.device_agent = agent_summary(agent)


def _view(request: DeviceMoveRequest, nomor_peserta: str) -> MoveRequest:
    return MoveRequest(
        id=request.id,
        attempt_id=request.attempt_id,
        nomor_peserta=nomor_peserta,
        status=request.status,  # type: ignore[arg-type]  # only the four states are written
        old_client=request.old_client,
        old_agent=request.old_agent,
        new_client=request.new_client,
        new_agent=request.new_agent,
        requested_at=request.requested_at,
        decided_at=request.decided_at,
        decided_by=request.decided_by,
        reason=request.reason,
    )


def _nomor(session: Session, attempt: Attempt) -> str:
    registration = (
        session.get(Registration, attempt.registration_id)
        if attempt.registration_id is not None
        else None
    )
    return registration.nomor_peserta if registration is not None else ""


def requests_of_attempt(session: Session, attempt_id: int) -> list[MoveRequest]:
    """Every move request of an attempt, newest first."""
    attempt = session.get(Attempt, attempt_id)
    if attempt is None:
        msg = f"no attempt {attempt_id}"
        raise NotFound(msg)
    nomor = _nomor(session, attempt)
    rows = session.scalars(
        select(DeviceMoveRequest)
        .where(DeviceMoveRequest.attempt_id == attempt_id)
        .order_by(DeviceMoveRequest.id.desc())
    ).all()
    return [_view(row, nomor) for row in rows]


def pending_of_sitting(session: Session, sitting_id: int) -> list[MoveRequest]:
    """The move requests of a sitting still waiting for its proctor, oldest first."""
    rows = session.execute(
        select(DeviceMoveRequest, Registration.nomor_peserta)
        .join(Attempt, Attempt.id == DeviceMoveRequest.attempt_id)
        .join(Registration, Registration.id == Attempt.registration_id)
        .where(Attempt.sitting_id == sitting_id, DeviceMoveRequest.status == PENDING)
        .order_by(DeviceMoveRequest.id)
    ).all()
    return [_view(row, nomor) for row, nomor in rows]


def _pending(session: Session, attempt_id: int, request_id: int) -> DeviceMoveRequest:
    request = session.scalars(
        select(DeviceMoveRequest)
        .where(DeviceMoveRequest.id == request_id, DeviceMoveRequest.attempt_id == attempt_id)
        .with_for_update()
    ).one_or_none()
    if request is None:
        msg = f"no move request {request_id} for attempt {attempt_id}"
        raise NotFound(msg)
    if request.status != PENDING:
        msg = f"move request {request_id} is already {request.status}"
        raise Conflict(msg)
    return request


def _reason(reason: str) -> str:
    text = (reason or "").strip()
    if len(text) < 3:
        msg = "reason: say why (it is recorded in the audit log)"
        raise AppError(msg)
    return text[:500]


def approve(
    session: Session,
    attempt_id: int,
    request_id: int,
    *,
    now: datetime,
    actor: str,
    reason: str,
) -> MoveRequest:
    """Move the attempt to the waiting PC: the old PC's token ends, answers and time stay."""
    reason = _reason(reason)
    attempt = attempt_repo.attempt_for_update(session, attempt_id)
    if attempt is None:
        msg = f"no attempt {attempt_id}"
        raise NotFound(msg)
    request = _pending(session, attempt_id, request_id)
    before = AttemptState.of(attempt)
    after = before.move()
    # A move changes only the device generation; set it alone (app.services.attempts imports
    # this module for the login, so its ``store`` is not imported here).
    attempt.device_generation = after.device_generation
    attempt.device_client = request.new_client
    attempt.device_agent = request.new_agent
    request.status = APPROVED
    request.decided_at = now
    request.decided_by = actor
    request.reason = reason
    request.generation = after.device_generation
    audit.record(
        session,
        at=now,
        actor=actor,
        action="attempt.move_approved",
        subject=f"attempt:{attempt_id}",
        payload={
            "request": request_id,
            "reason": reason,
            "generation": after.device_generation,
            "new_client": request.new_client,
        },
        chain=attempt_chain(attempt_id),
    )
    return _view(request, _nomor(session, attempt))


def refuse(
    session: Session,
    attempt_id: int,
    request_id: int,
    *,
    now: datetime,
    actor: str,
    reason: str,
) -> MoveRequest:
    """Refuse the move: the attempt stays on its PC and the waiting screen says why."""
    reason = _reason(reason)
    attempt = attempt_repo.attempt_for_update(session, attempt_id)
    if attempt is None:
        msg = f"no attempt {attempt_id}"
        raise NotFound(msg)
    request = _pending(session, attempt_id, request_id)
    request.status = REFUSED
    request.decided_at = now
    request.decided_by = actor
    request.reason = reason
    audit.record(
        session,
        at=now,
        actor=actor,
        action="attempt.move_refused",
        subject=f"attempt:{attempt_id}",
        payload={"request": request_id, "reason": reason, "new_client": request.new_client},
        chain=attempt_chain(attempt_id),
    )
    return _view(request, _nomor(session, attempt))


def status(
    session: Session, move_token: str, *, now: datetime, tokens: CandidateTokens
) -> MoveStatus:
    """Where a waiting PC's request stands; once approved, the access token of the device
    generation the approval gave it (a later move ends that token like any other)."""
    request = session.scalars(
        select(DeviceMoveRequest).where(DeviceMoveRequest.token_hash == _digest(move_token))
    ).one_or_none()
    if request is None:
        # Not a 401: the route itself is public, the token only names a request.
        msg = "no move request has this move token: log in again with nomor peserta and PIN"
        raise NotFound(msg)
    access = None
    if request.status == APPROVED and request.generation is not None:
        access = tokens.issue(request.attempt_id, request.generation, int(now.timestamp()))
    return MoveStatus(
        state=request.status,  # type: ignore[arg-type]  # only the four states are written
        attempt_id=request.attempt_id,
        reason=request.reason if request.status == REFUSED else None,
        access_token=access,
    )


@dataclass(frozen=True, slots=True)
class SittingRule:
    """A sitting's own device-move rule (``None``: its exam spec's) and the rule in force."""

    sitting_id: int
    device_moves: str | None
    effective: str


def sitting_rule(session: Session, sitting_id: int) -> SittingRule:
    """The device-move rule a sitting has chosen and the one in force."""
    sitting = session.get(Sitting, sitting_id)
    if sitting is None:
        msg = f"no sitting {sitting_id}"
        raise NotFound(msg)
    return SittingRule(sitting.id, sitting.device_moves, rule(session, sitting.id, sitting.exam_id))


def set_rule(
    session: Session,
    sitting_id: int,
    device_moves: str | None,
    *,
    now: datetime,
    actor: str,
    reason: str,
) -> SittingRule:
    """Choose the sitting's device-move rule (``None``: follow the exam spec); audited on the
    sitting's chain. Requests already pending stay pending: the proctor answers them."""
    reason = _reason(reason)
    if device_moves is not None and device_moves not in RULES:
        msg = f"device_moves: one of {', '.join(RULES)} or null, not {device_moves!r}"
        raise AppError(msg)
    sitting = session.get(Sitting, sitting_id, with_for_update=True)
    if sitting is None:
        msg = f"no sitting {sitting_id}"
        raise NotFound(msg)
    previous = sitting.device_moves
    sitting.device_moves = device_moves
    audit.record(
        session,
        at=now,
        actor=actor,
        action="sitting.device_moves",
        subject=f"sitting:{sitting_id}",
        payload={"reason": reason, "from": previous, "to": device_moves},
        chain=audit.sitting_chain(sitting_id),
    )
    return sitting_rule(session, sitting_id)
