"""Candidate routes: login with the sitting PIN, start, state, autosave and finish."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, Path, Request, Response
from fastapi.security import HTTPBearer
from starlette.concurrency import run_in_threadpool

from app.api.responses import error_doc, error_response
from app.api.transaction import ApiRouter
from app.deps import SessionDep, client_address
from app.errors import AppError, BadRequest, Unauthorized
from app.schemas.candidate import (
    CandidateLogin,
    CandidateState,
    CandidateToken,
    ClockView,
    FinishBody,
    SaveAck,
    SaveBody,
    state_json,
)
from app.services import adaptive, attempts, integrity
from app.services.autosave import SaveOutcome, SaveRequest
from app.services.candidate_tokens import CandidateClaim, end_token
from app.services.container import Services
from app.services.refusals import AdaptivePosition
from app.services.throttle import Policy
from exam_day.attempt import AttemptState
from exam_day.status import FinishReason

router = ApiRouter(prefix="/api/v1", tags=["candidate"])


class CandidateBearer(HTTPBearer):
    """The attempt a candidate token is for (signature and age checked; no database read).

    One dependency that is also the OpenAPI security scheme: the answer path resolves a single
    ``async`` dependency (an HMAC check is microseconds; a threadpool hop or a chain of
    sub-dependencies would cost more than the check itself).
    """

    async def __call__(self, request: Request) -> CandidateClaim:  # type: ignore[override]
        svc: Services = request.app.state.services
        claim = claim_of(svc, request.headers.get("authorization", ""))
        if claim is None:
            msg = "missing, expired or invalid candidate token: log in with nomor peserta and PIN"
            raise Unauthorized(msg)
        return claim


def claim_of(svc: Services, authorization: str) -> CandidateClaim | None:
    """The claim of a ``Bearer`` candidate token in an Authorization header, if it is valid."""
    scheme, _, token = authorization.partition(" ")
    if not token or scheme.lower() != "bearer":
        return None
    return svc.tokens.check(token.strip(), int(svc.clock.now().timestamp()))


async def services(request: Request) -> Services:
    """The process's services (async: a plain attribute read must not cost a thread hop)."""
    found: Services = request.app.state.services
    return found


ServicesDep = Annotated[Services, Depends(services)]
candidate_claim = CandidateBearer(
    auto_error=False,
    scheme_name="CandidateToken",
    description="A candidate token from POST /api/v1/candidate/login",
)


CandidateDep = Annotated[CandidateClaim, Depends(candidate_claim)]
MAX_POSITION = 1000
PositionPath = Annotated[int, Path(ge=1, le=MAX_POSITION, description="Nomor soal, from 1")]


# The answer path is declared first: routes are matched in order.
@router.put(
    "/attempts/current/responses/{position}",
    response_model=SaveAck,
    responses=error_doc(401, 404, 409, 422, 503),
    summary="Candidate: save one answer (acknowledged only once durable)",
)
async def save(
    position: PositionPath, body: SaveBody, claim: CandidateDep, request: Request
) -> SaveAck:
    """``option`` is the shown letter or null to clear. A ``seq`` not newer than the stored
    one is acknowledged but not applied. After the deadline (plus grace) the answer is refused
    with 409 ``DeadlinePassed``."""
    svc: Services = request.app.state.services  # the hottest route: no dependency for this
    # Stamped by the answer path when the request reached it, else now (the body is read).
    received_at = request.scope.get("state", {}).get("received_at") or svc.clock.now()
    try:
        outcome = await svc.writer.save(save_request(claim, position, body, received_at))
    except AdaptivePosition:
        return await run_in_threadpool(_save_adaptive, svc, claim, position, body)
    return save_ack(outcome)


def save_request(
    claim: CandidateClaim, position: int, body: SaveBody, received_at: datetime | None = None
) -> SaveRequest:
    """What the group-commit writer stores for one save, judged as of ``received_at``."""
    return SaveRequest(
        attempt_id=claim.attempt_id,
        generation=claim.generation,
        position=position,
        option=body.option,
        flagged=body.flagged,
        seq=body.seq,
        views=tuple((position, age) for position, age in body.views or ()),
        received_at=received_at,
    )


def save_ack(outcome: SaveOutcome) -> SaveAck:
    """The acknowledgement of a committed save."""
    return SaveAck(
        position=outcome.position,
        option=outcome.option,
        flagged=outcome.flagged,
        seq=outcome.seq,
        applied=outcome.applied,
        remaining_seconds=outcome.remaining_seconds,
        saved_at=outcome.saved_at,
    )


def _save_adaptive(svc: Services, claim: CandidateClaim, position: int, body: SaveBody) -> SaveAck:
    """An answer in an adaptive section: stored and the next item chosen in one transaction."""
    with svc.db.session() as session:
        attempt = attempts.attempt_for_claim(session, claim, lock=True)
        runtime = svc.runtimes.get(session, attempt.exam_id)
        ack = adaptive.answer(
            session,
            attempt,
            runtime,
            generation=claim.generation,
            position=position,
            option=body.option,
            seq=body.seq,
            now=svc.clock.now(),
            grace=svc.grace,
        )
        if body.views and ack.applied:
            integrity.record_views(session, attempt.id, body.views, now=ack.saved_at)
    return SaveAck(
        position=ack.position,
        option=ack.option,
        flagged=False,
        seq=ack.seq,
        applied=ack.applied,
        remaining_seconds=ack.remaining_seconds,
        saved_at=ack.saved_at,
        next_position=ack.next_position,
    )


@router.post(
    "/candidate/login",
    response_model=CandidateToken,
    responses=error_doc(401, 422, 429),
    summary="Candidate: log in with nomor peserta and the sitting's PIN",
)
def login(body: CandidateLogin, request: Request, session: SessionDep, svc: ServicesDep) -> Any:
    """Only while the sitting is open. Logging in on another PC moves the attempt there."""
    settings = svc.settings
    window = timedelta(minutes=settings.login_lockout_minutes)
    outcome = attempts.candidate_login(
        session,
        nomor_peserta=body.nomor_peserta,
        pin=body.pin,
        now=svc.clock.now(),
        client=client_address(request),
        agent=request.headers.get("user-agent", ""),
        secret=svc.secret,
        tokens=svc.tokens,
        policy=Policy(settings.login_max_failures, window, window),
        # A test-centre room shares one address; it may mistype more than one candidate.
        address_policy=Policy(settings.login_max_failures * 20, window, window),
    )
    if isinstance(outcome, AppError):
        return error_response(outcome)
    return CandidateToken(
        access_token=outcome.access_token, attempt_id=outcome.attempt_id, moved=outcome.moved
    )


@router.post(
    "/candidate/logout",
    status_code=204,
    responses=error_doc(401),
    summary="Candidate: log out (ends this token; the attempt itself is unchanged)",
)
def logout(claim: CandidateDep, session: SessionDep) -> Response:
    """The token is refused from now on; on a shared PC, nobody after the candidate can use
    the screen they left."""
    end_token(session, claim)
    return Response(status_code=204)


def _finish_if_expired(svc: Services, claim: CandidateClaim) -> None:
    """ "A check on every access": an attempt whose time plus grace is over is finished by its
    deadline before the candidate is shown anything (the sweeper may not have reached it)."""
    with svc.db.read_session() as session:
        attempt = attempts.attempt_for_claim(session, claim, lock=False)
        expired = AttemptState.of(attempt).is_expired(svc.clock.now(), svc.grace)
    if expired:
        svc.finish_due(claim.attempt_id)


def _state(svc: Services, claim: CandidateClaim, *, just_written: bool = False) -> Response:
    """The candidate state, written as :class:`CandidateState` JSON (see ``state_json``).

    ``just_written``: this request has just started or finished the attempt, so there is no
    deadline to enforce first (the usual check on every access is skipped).
    """
    if not just_written:
        _finish_if_expired(svc, claim)
    now = svc.clock.now()
    with svc.db.read_session() as session:
        attempt = attempts.attempt_for_claim(session, claim, lock=False)
        runtime = svc.runtimes.get(session, attempt.exam_id)
        state = attempts.candidate_state(
            session, attempt, now=now, runtime=runtime, secret=svc.secret
        )
    return Response(state_json(state), media_type="application/json")


@router.get(
    "/attempts/current",
    response_model=CandidateState,
    responses=error_doc(401, 404),
    summary="Candidate: the attempt's items, answers and remaining time",
)
def current(claim: CandidateDep, svc: ServicesDep) -> Response:
    """Items in the candidate's order (no keys, no points), saved answers and flags, and
    ``remaining_seconds`` computed by the server."""
    return _state(svc, claim)


@router.get(
    "/attempts/current/clock",
    response_model=ClockView,
    responses=error_doc(401, 404),
    summary="Candidate: status and remaining time only (cheap to poll)",
)
def clock(claim: CandidateDep, svc: ServicesDep) -> ClockView:
    """The part of the state a screen polls while paused: one row read, no items."""
    _finish_if_expired(svc, claim)
    now = svc.clock.now()
    with svc.db.read_session() as session:
        attempt = attempts.attempt_for_claim(session, claim, lock=False)
        state = AttemptState.of(attempt)
        return ClockView(
            status=state.status,
            paused=state.paused,
            remaining_seconds=state.remaining(now),
            last_seq=attempts.last_seq(session, attempt.id),
            server_time=now,
        )


@router.post(
    "/attempts/current/start",
    response_model=CandidateState,
    responses=error_doc(401, 409),
    summary="Candidate: draw the form and start the clock (idempotent)",
)
def start(claim: CandidateDep, svc: ServicesDep) -> Response:
    """The first call draws and freezes the form and sets the deadline; later calls return it."""
    now = svc.clock.now()
    with svc.db.session() as session:
        attempt = attempts.start(session, claim, now=now, runtimes=svc.runtimes)
        started_now = attempt.started_at == now
    # A start that only returns a running attempt (a reload) gets the deadline check.
    return _state(svc, claim, just_written=started_now)


@router.post(
    "/attempts/current/finish",
    response_model=CandidateState,
    responses=error_doc(401, 409, 422),
    summary="Candidate: finish the exam (idempotent)",
)
def finish(body: FinishBody, claim: CandidateDep, svc: ServicesDep) -> Response:
    """Finishing is final; the result is in the response when the exam shows results."""
    if not body.confirm:
        msg = "confirm must be true to finish the exam"
        raise BadRequest(msg)
    with svc.db.session() as session:
        attempt = attempts.attempt_for_claim(session, claim, lock=True)
        # Refuses (400) an attempt never started; finishing twice changes nothing.
        attempts.finish(
            session,
            attempt.id,
            reason=FinishReason.CANDIDATE,
            now=svc.clock.now(),
            actor=f"attempt:{attempt.id}",
            runtimes=svc.runtimes,
            secret=svc.secret,
            grace=svc.grace,
        )
    return _state(svc, claim)
