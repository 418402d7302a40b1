"""Proctor routes: run an assigned sitting (open, pause, resume, close), act on one attempt
(pause, resume, extend, void, move to another PC), the seat list and reissued PINs."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Protocol

from fastapi import Path, Request
from sqlalchemy.orm import Session

from app.api.responses import IdPath, error_doc
from app.api.sitting_access import ProctorOfAttempt, ProctorOfSitting
from app.api.transaction import ApiRouter
from app.deps import ClockDep, ProctorUser, ReadSessionDep, SessionDep
from app.schemas.auth import LoginUnlocked
from app.schemas.exams import AttemptControl, Extension, PinOut, PinReissue, Reason, SittingControl
from app.schemas.proctor import ProctorSittingOut, SeatsOut
from app.services import proctoring

router = ApiRouter(prefix="/api/v1", tags=["proctor"])


@router.get(
    "/proctor/sittings",
    response_model=list[ProctorSittingOut],
    responses=error_doc(401, 403),
    summary="Proctor: my sittings",
)
def my_sittings(principal: ProctorUser, session: ReadSessionDep) -> list[ProctorSittingOut]:
    """The sittings this proctor is assigned to."""
    return [
        ProctorSittingOut.model_validate(s)
        for s in proctoring.assigned_sittings(session, principal.id)
    ]


@router.get(
    "/sittings/{sitting_id}/seats",
    response_model=SeatsOut,
    responses=error_doc(401, 403, 404),
    summary="Proctor: the sitting's seats",
)
def seats(
    sitting_id: IdPath, proctor: ProctorOfSitting, session: ReadSessionDep, clock: ClockDep
) -> SeatsOut:
    """Each candidate's status, answered count, remaining time and last seen."""
    return SeatsOut.model_validate(proctoring.seats(session, sitting_id, now=clock.now()))


class _SittingAct(Protocol):
    def __call__(
        self, session: Session, sitting_id: int, *, now: datetime, actor: str, reason: str
    ) -> proctoring.SittingControlled: ...


# Sitting-wide actions: (service, description).
_SITTING_ACTIONS: dict[str, tuple[_SittingAct, str]] = {
    "open": (proctoring.open_sitting, "Admit candidate logins."),
    "close": (
        proctoring.close_sitting,
        "Stop admitting logins (running attempts run to their deadlines). A reason is required.",
    ),
    "pause": (
        proctoring.pause_sitting,
        "Stop every clock in the sitting (an outage). A reason is required.",
    ),
    "resume": (
        proctoring.resume_sitting,
        "Restart the clocks; each deadline moves by exactly the pause. A reason is required.",
    ),
}


def _sitting_action(action: str) -> Any:
    act, description = _SITTING_ACTIONS[action]

    def handler(
        sitting_id: IdPath,
        proctor: ProctorOfSitting,
        session: SessionDep,
        clock: ClockDep,
        body: Reason | None = None,
    ) -> SittingControl:
        reason = body.reason if body else ""
        if action == "open":
            reason = reason or "opened"
        done = act(session, sitting_id, now=clock.now(), actor=proctor.actor, reason=reason)
        return SittingControl.model_validate(done, from_attributes=True)

    handler.__name__ = f"{action}_sitting"
    handler.__doc__ = description
    return handler


for _action in _SITTING_ACTIONS:
    router.add_api_route(
        f"/sittings/{{sitting_id}}/{_action}",
        _sitting_action(_action),
        methods=["POST"],
        response_model=SittingControl,
        responses=error_doc(401, 403, 404, 409, 422),
        summary=f"Proctor: {_action} the sitting",
    )


# Actions on one attempt that take only a reason: (service, summary, description).
_ATTEMPT_ACTIONS = {
    "pause": (
        proctoring.pause_attempt,
        "pause one attempt",
        "Stop one candidate's clock (a dead PC); answers are kept. Refused once the time is over.",
    ),
    "resume": (
        proctoring.resume_attempt,
        "resume one attempt",
        "Restart the clock; the deadline moves by exactly the pause.",
    ),
    "void": (
        proctoring.void_attempt,
        "void an attempt",
        "The attempt is never scored into a ranking.",
    ),
    "move": (
        proctoring.move_attempt,
        "move a candidate to another PC",
        "Logs the current PC out; the candidate logs in on another with the same PIN.",
    ),
}


def _attempt_action(action: str) -> Any:
    act, _summary, description = _ATTEMPT_ACTIONS[action]

    def handler(
        attempt_id: IdPath,
        body: Reason,
        proctor: ProctorOfAttempt,
        session: SessionDep,
        clock: ClockDep,
    ) -> AttemptControl:
        done = act(session, attempt_id, now=clock.now(), actor=proctor.actor, reason=body.reason)
        return AttemptControl.model_validate(done, from_attributes=True)

    handler.__name__ = f"{action}_attempt"
    handler.__doc__ = description
    return handler


for _action, (_act, _summary, _doc) in _ATTEMPT_ACTIONS.items():
    router.add_api_route(
        f"/attempts/{{attempt_id}}/{_action}",
        _attempt_action(_action),
        methods=["POST"],
        response_model=AttemptControl,
        responses=error_doc(401, 403, 404, 409, 422),
        summary=f"Proctor: {_summary}",
    )


@router.post(
    "/attempts/{attempt_id}/extend",
    response_model=AttemptControl,
    responses=error_doc(401, 403, 404, 409, 422),
    summary="Proctor: give extra minutes",
)
def extend_attempt(
    attempt_id: IdPath,
    body: Extension,
    proctor: ProctorOfAttempt,
    session: SessionDep,
    clock: ClockDep,
) -> AttemptControl:
    """A time credit for an incident, with its reason, while the candidate's time runs (an
    attempt whose time is over is not revived)."""
    done = proctoring.extend_attempt(
        session,
        attempt_id,
        minutes=body.minutes,
        now=clock.now(),
        actor=proctor.actor,
        reason=body.reason,
    )
    return AttemptControl.model_validate(done, from_attributes=True)


@router.post(
    "/sittings/{sitting_id}/pins",
    response_model=list[PinOut],
    responses=error_doc(401, 403, 404, 409, 422),
    summary="Proctor: reissue PINs",
)
def reissue_pins(
    sitting_id: IdPath,
    body: PinReissue,
    proctor: ProctorOfSitting,
    session: SessionDep,
    clock: ClockDep,
    request: Request,
) -> list[PinOut]:
    """New PINs for the roster (or one candidate): PINs are stored hashed, so a lost sheet is
    replaced, never read back. The old PINs stop working, and a candidate locked out by wrong
    PINs is unlocked."""
    issued = proctoring.reissue_pins(
        session,
        sitting_id,
        secret=request.app.state.secret,
        actor=proctor.actor,
        now=clock.now(),
        nomor_peserta=body.nomor_peserta,
    )
    return [
        PinOut(nomor_peserta=p.nomor_peserta, name=p.name, pin=p.pin, seat=p.slot + 1)
        for p in issued
    ]


@router.post(
    "/sittings/{sitting_id}/candidates/{nomor_peserta}/unlock",
    response_model=LoginUnlocked,
    responses=error_doc(401, 403, 404, 422),
    summary="Proctor: unlock a candidate locked out by wrong PINs",
)
def unlock_candidate(
    sitting_id: IdPath,
    nomor_peserta: Annotated[str, Path(min_length=1, max_length=32)],
    body: Reason,
    proctor: ProctorOfSitting,
    session: SessionDep,
    clock: ClockDep,
) -> LoginUnlocked:
    """Clear the locks wrong PINs put on this candidate (from every PC) and on the client
    addresses they were locked from, once the proctor has checked who is at the PC; audited
    on the sitting's chain."""
    done = proctoring.unlock_candidate(
        session,
        sitting_id,
        nomor_peserta,
        now=clock.now(),
        actor=proctor.actor,
        reason=body.reason,
    )
    return LoginUnlocked(subject=done.nomor_peserta, clients=list(done.clients))
