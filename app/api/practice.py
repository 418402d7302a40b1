"""Practice (simulasi) routes: the public list, an anonymous start and the review.

A start returns an ordinary candidate token: the practice attempt then runs on the candidate
routes (state, start, autosave, finish) exactly like a live one. Nothing here needs a PIN or
carries personal data.
"""

from __future__ import annotations

import threading
from typing import Annotated

from fastapi import Path, Request
from starlette.concurrency import run_in_threadpool

from app.api.candidate import CandidateDep, ServicesDep
from app.api.responses import error_doc
from app.api.transaction import ApiRouter
from app.deps import ReadSessionDep, client_address
from app.schemas.practice import PracticeExamList, PracticeReview, PracticeStart
from app.services import practice
from app.services.container import Services

router = ApiRouter(prefix="/api/v1/practice", tags=["practice"])

_RATE_LOCK = threading.Lock()


def start_rate(request: Request) -> practice.StartRate:
    """The app's practice start rate (one per app, made by its first practice start)."""
    state = request.app.state
    with _RATE_LOCK:
        if not hasattr(state, "practice_start_rate"):
            state.practice_start_rate = practice.StartRate()
    found: practice.StartRate = state.practice_start_rate
    return found


ExamCodePath = Annotated[str, Path(min_length=1, max_length=64, description="the exam's code")]


@router.get(
    "/exams",
    response_model=PracticeExamList,
    summary="Anyone: the practice exams (simulasi) open to the public",
)
def practice_exams(session: ReadSessionDep) -> PracticeExamList:
    """Each published practice exam with its duration and sections."""
    return PracticeExamList(exams=practice.exams(session))


@router.post(
    "/exams/{code}/start",
    response_model=PracticeStart,
    responses=error_doc(404, 429),
    summary="Anyone: start a practice attempt (no PIN, no personal data)",
)
async def start_practice(code: ExamCodePath, request: Request, svc: ServicesDep) -> PracticeStart:
    """A new practice attempt, begun (form drawn, clock running), with its candidate token.
    Limited per client address (starts in a window, attempts open at once), per process
    (starts a second, starts at once) and for the installation: 429 with ``retry_after``."""
    settings = svc.settings
    # Refused in the event loop, before any thread or query: a crowd told to come back later
    # costs the live sitting next to nothing.
    start_rate(request).admit(settings.practice_starts_per_second)
    gate = practice.gate(settings.practice_start_concurrency)
    with gate:
        # The transaction, commit included, runs inside the gate: at most a few practice
        # starts ever wait for (or hold) a connection the live answers need.
        started = await run_in_threadpool(
            _start, svc, code, client_address(request), practice.Limits.of(settings)
        )
    return PracticeStart(
        access_token=started.access_token,
        attempt_id=started.attempt_id,
        exam_code=started.exam_code,
    )


def _start(svc: Services, code: str, client: str, limits: practice.Limits) -> practice.Started:
    """The practice start's transaction (in a worker thread, committed before it returns)."""
    with svc.db.session() as session:
        return practice.start(
            session,
            code,
            client=client,
            now=svc.clock.now(),
            secret=svc.secret,
            tokens=svc.tokens,
            limits=limits,
            runtimes=svc.runtimes,
        )


@router.get(
    "/attempts/current/review",
    response_model=PracticeReview,
    responses=error_doc(401, 404, 409),
    summary="Practice candidate: the score, keys and explanations after finishing",
)
def review(claim: CandidateDep, session: ReadSessionDep, svc: ServicesDep) -> PracticeReview:
    """Only for a finished practice attempt (404 for a live attempt's token, 409 before the
    practice attempt is finished)."""
    return practice.review(session, claim, runtimes=svc.runtimes, secret=svc.secret)
