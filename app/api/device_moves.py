"""Device moves approved by the proctor: the waiting PC's poll, the requests a proctor sees and
answers, and the sitting's rule (see :mod:`app.services.device_moves`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

from app.api.candidate import ServicesDep
from app.api.responses import IdPath, error_doc
from app.api.sitting_access import ProctorOfAttempt, ProctorOfSitting
from app.api.transaction import ApiRouter
from app.deps import ClockDep, ReadSessionDep, SessionDep
from app.schemas.device_moves import (
    DeviceMovesRule,
    DeviceMovesRuleOut,
    MoveRequestOut,
    MoveStatusIn,
    MoveStatusOut,
)
from app.schemas.exams import Reason
from app.services import device_moves

router = ApiRouter(prefix="/api/v1", tags=["device moves"])

RequestPath = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.post(
    "/candidate/move-status",
    response_model=MoveStatusOut,
    responses=error_doc(404, 422),
    summary="Candidate: where a move to this PC stands",
)
def move_status(body: MoveStatusIn, session: ReadSessionDep, svc: ServicesDep) -> MoveStatusOut:
    """The waiting screen's poll (the move token from the login's ``DeviceMovePending``):
    pending, refused (with the proctor's reason) or approved (with the candidate token)."""
    found = device_moves.status(session, body.move_token, now=svc.clock.now(), tokens=svc.tokens)
    return MoveStatusOut.model_validate(found)


@router.get(
    "/sittings/{sitting_id}/move-requests",
    response_model=list[MoveRequestOut],
    responses=error_doc(401, 403, 404),
    summary="Proctor: the sitting's pending device moves",
)
def sitting_move_requests(
    sitting_id: IdPath, proctor: ProctorOfSitting, session: ReadSessionDep
) -> list[MoveRequestOut]:
    """Logins on a second PC waiting for this proctor, oldest first, with old and new PC."""
    return [
        MoveRequestOut.model_validate(r)
        for r in device_moves.pending_of_sitting(session, sitting_id)
    ]


@router.get(
    "/attempts/{attempt_id}/move-requests",
    response_model=list[MoveRequestOut],
    responses=error_doc(401, 403, 404),
    summary="Proctor: an attempt's device moves",
)
def attempt_move_requests(
    attempt_id: IdPath, proctor: ProctorOfAttempt, session: ReadSessionDep
) -> list[MoveRequestOut]:
    """Every move request of the attempt, newest first, with how each was answered."""
    return [
        MoveRequestOut.model_validate(r)
        for r in device_moves.requests_of_attempt(session, attempt_id)
    ]


@router.post(
    "/attempts/{attempt_id}/move-requests/{request_id}/approve",
    response_model=MoveRequestOut,
    responses=error_doc(401, 403, 404, 409, 422),
    summary="Proctor: approve a device move",
)
def approve_move(
    attempt_id: IdPath,
    request_id: RequestPath,
    body: Reason,
    proctor: ProctorOfAttempt,
    session: SessionDep,
    clock: ClockDep,
) -> MoveRequestOut:
    """The attempt moves to the waiting PC: the old PC's session ends, answers and time stay."""
    done = device_moves.approve(
        session, attempt_id, request_id, now=clock.now(), actor=proctor.actor, reason=body.reason
    )
    return MoveRequestOut.model_validate(done)


@router.post(
    "/attempts/{attempt_id}/move-requests/{request_id}/refuse",
    response_model=MoveRequestOut,
    responses=error_doc(401, 403, 404, 409, 422),
    summary="Proctor: refuse a device move",
)
def refuse_move(
    attempt_id: IdPath,
    request_id: RequestPath,
    body: Reason,
    proctor: ProctorOfAttempt,
    session: SessionDep,
    clock: ClockDep,
) -> MoveRequestOut:
    """The attempt stays on its PC; the waiting screen shows the reason."""
    done = device_moves.refuse(
        session, attempt_id, request_id, now=clock.now(), actor=proctor.actor, reason=body.reason
    )
    return MoveRequestOut.model_validate(done)


@router.get(
    "/sittings/{sitting_id}/device-moves",
    response_model=DeviceMovesRuleOut,
    responses=error_doc(401, 403, 404),
    summary="Proctor: the sitting's device-move rule",
)
def get_rule(
    sitting_id: IdPath, proctor: ProctorOfSitting, session: ReadSessionDep
) -> DeviceMovesRuleOut:
    """The sitting's own rule (``null``: the exam spec's) and the rule in force."""
    found = device_moves.sitting_rule(session, sitting_id)
    return DeviceMovesRuleOut.model_validate(found, from_attributes=True)


@router.put(
    "/sittings/{sitting_id}/device-moves",
    response_model=DeviceMovesRuleOut,
    responses=error_doc(401, 403, 404, 422),
    summary="Proctor: choose the sitting's device-move rule",
)
def put_rule(
    sitting_id: IdPath,
    body: DeviceMovesRule,
    proctor: ProctorOfSitting,
    session: SessionDep,
    clock: ClockDep,
) -> DeviceMovesRuleOut:
    """``proctor`` (a second PC waits for approval), ``automatic`` (a login moves the attempt)
    or ``null`` (the exam spec's ``device_moves``); audited with the reason."""
    done = device_moves.set_rule(
        session,
        sitting_id,
        body.device_moves,
        now=clock.now(),
        actor=proctor.actor,
        reason=body.reason,
    )
    return DeviceMovesRuleOut.model_validate(done, from_attributes=True)
