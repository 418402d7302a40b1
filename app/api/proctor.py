"""Proctor routes: run an assigned sitting (open, pause, resume, close), act on one attempt
(pause, resume, extend, void, move to another PC), the seat list and reissued PINs."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session

from app.api.responses import IdPath, error_doc
from app.api.transaction import in_transaction
from app.deps import ClockDep, ProctorUser, ReadSessionDep, SessionDep
from app.errors import Forbidden, NotFound
from app.models.attempt import Attempt
from app.models.sitting import Sitting
from app.repositories import exams as exam_repo
from app.schemas.exams import AttemptControl, Extension, PinOut, PinReissue, Reason, SittingControl
from app.services import exams as exam_service
from app.services import proctoring
from app.services.autosave import remaining_seconds
from app.services.staff import StaffPrincipal

router = APIRouter(prefix="/api/v1", tags=["proctor"])


def ensure_assigned(session: Session, principal: StaffPrincipal, sitting_id: int) -> None:
    """Refuse a proctor who is not assigned to the sitting."""
    if not exam_repo.is_proctor_of(session, sitting_id, principal.id):
        msg = f"you are not a proctor of sitting {sitting_id}"
        raise Forbidden(msg)


def ensure_assigned_for_attempt(
    session: Session, principal: StaffPrincipal, attempt_id: int
) -> None:
    """Refuse a proctor who is not assigned to the attempt's sitting."""
    attempt = session.get(Attempt, attempt_id)
    if attempt is None:
        msg = f"no attempt {attempt_id}"
        raise NotFound(msg)
    ensure_assigned(session, principal, attempt.sitting_id)


def _attempt_view(attempt: Attempt, clock: ClockDep) -> AttemptControl:
    now = clock.now()
    return AttemptControl(
        attempt_id=attempt.id,
        status=attempt.status,
        paused=attempt.paused_at is not None,
        remaining_seconds=remaining_seconds(attempt.deadline_at, attempt.paused_at, now)
        if attempt.deadline_at is not None and attempt.status == "in_progress"
        else None,
        deadline_at=attempt.deadline_at,
    )


@router.get("/proctor/sittings", responses=error_doc(401, 403), summary="Proctor: my sittings")
@in_transaction
def my_sittings(principal: ProctorUser, session: ReadSessionDep) -> list[dict[str, Any]]:
    """The sittings this proctor is assigned to."""
    return [
        {
            "id": s.id,
            "name": s.name,
            "site": s.site,
            "room": s.room,
            "status": s.status,
            "starts_at": s.starts_at,
            "starts_local": exam_service.local_time(s.starts_at, s.timezone),
        }
        for s in exam_repo.proctor_sittings(session, principal.id)
    ]


@router.get(
    "/sittings/{sitting_id}/seats",
    responses=error_doc(401, 403, 404),
    summary="Proctor: the sitting's seats",
)
@in_transaction
def seats(
    sitting_id: IdPath, principal: ProctorUser, session: ReadSessionDep, clock: ClockDep
) -> dict[str, Any]:
    """Each candidate's status, answered count, remaining time and last seen."""
    ensure_assigned(session, principal, sitting_id)
    return proctoring.seats(session, sitting_id, now=clock.now())


def _sitting_action(action: str) -> Any:
    @in_transaction
    def handler(
        sitting_id: IdPath,
        principal: ProctorUser,
        session: SessionDep,
        clock: ClockDep,
        body: Reason | None = None,
    ) -> SittingControl:
        ensure_assigned(session, principal, sitting_id)
        reason = body.reason if body else ""
        now = clock.now()
        affected = 0
        sitting: Sitting | None
        if action == "open":
            sitting = proctoring.open_sitting(
                session, sitting_id, now=now, actor=principal.actor, reason=reason or "opened"
            )
        elif action == "close":
            sitting = proctoring.close_sitting(
                session, sitting_id, now=now, actor=principal.actor, reason=reason
            )
        elif action == "pause":
            affected = proctoring.pause_sitting(
                session, sitting_id, now=now, actor=principal.actor, reason=reason
            )
            sitting = exam_repo.sitting_for_update(session, sitting_id)
        else:
            affected = proctoring.resume_sitting(
                session, sitting_id, now=now, actor=principal.actor, reason=reason
            )
            sitting = exam_repo.sitting_for_update(session, sitting_id)
        assert sitting is not None
        return SittingControl(
            sitting_id=sitting.id, status=sitting.status, attempts_affected=affected
        )

    handler.__name__ = f"{action}_sitting"
    handler.__doc__ = {
        "open": "Admit candidate logins.",
        "close": "Stop admitting logins (running attempts run to their deadlines). "
        "A reason is required.",
        "pause": "Stop every clock in the sitting (an outage). A reason is required.",
        "resume": "Restart the clocks; each deadline moves by exactly the pause. "
        "A reason is required.",
    }[action]
    return handler


for _action in ("open", "close", "pause", "resume"):
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
        "Stop one candidate's clock (a dead PC); answers are kept.",
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

    @in_transaction
    def handler(
        attempt_id: IdPath,
        body: Reason,
        principal: ProctorUser,
        session: SessionDep,
        clock: ClockDep,
    ) -> AttemptControl:
        ensure_assigned_for_attempt(session, principal, attempt_id)
        attempt = act(
            session, attempt_id, now=clock.now(), actor=principal.actor, reason=body.reason
        )
        return _attempt_view(attempt, clock)

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
@in_transaction
def extend_attempt(
    attempt_id: IdPath,
    body: Extension,
    principal: ProctorUser,
    session: SessionDep,
    clock: ClockDep,
) -> AttemptControl:
    """A time credit for an incident, with its reason."""
    ensure_assigned_for_attempt(session, principal, attempt_id)
    attempt = proctoring.extend_attempt(
        session,
        attempt_id,
        minutes=body.minutes,
        now=clock.now(),
        actor=principal.actor,
        reason=body.reason,
    )
    return _attempt_view(attempt, clock)


@router.post(
    "/sittings/{sitting_id}/pins",
    response_model=list[PinOut],
    responses=error_doc(401, 403, 404, 409, 422),
    summary="Proctor: reissue PINs",
)
@in_transaction
def reissue_pins(
    sitting_id: IdPath,
    body: PinReissue,
    principal: ProctorUser,
    session: SessionDep,
    clock: ClockDep,
    request: Request,
) -> list[PinOut]:
    """New PINs for the roster (or one candidate): PINs are stored hashed, so a lost sheet is
    replaced, never read back. The old PINs stop working."""
    ensure_assigned(session, principal, sitting_id)
    issued = exam_service.reissue_pins(
        session,
        sitting_id,
        secret=request.app.state.secret,
        actor=principal.actor,
        now=clock.now(),
        nomor_peserta=body.nomor_peserta,
    )
    return [
        PinOut(nomor_peserta=p.nomor_peserta, name=p.name, pin=p.pin, seat=p.slot + 1)
        for p in issued
    ]
