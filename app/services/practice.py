"""Practice exams (simulasi): the public list, anonymous limited starts, the review, the purge.

A practice attempt is an ordinary attempt of a practice exam version (so the candidate screen,
the answer path, the group-commit writer, the sweeper and scoring all treat it as they treat a
live one) with no roster row: its ``registration_id`` is null and a ``practice_attempts`` row
holds the keyed hash of the client address that started it and when. It never enters the
audit chain, rankings, live boards, item analysis, calibration or key corrections, and is
deleted after the retention period.
"""

from __future__ import annotations

import math
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from app.errors import Conflict, NotFound, TooManyRequests
from app.models.attempt import Attempt
from app.models.bank import ItemVersion
from app.models.result import Result
from app.models.sitting import Sitting
from app.repositories import attempts as attempt_repo
from app.repositories import exams as exam_repo
from app.repositories import practice as repo
from app.schemas.candidate import RuleView, SectionScoreView
from app.schemas.practice import (
    PracticeExam,
    PracticeReview,
    PracticeScore,
    PracticeSection,
    ReviewItem,
    ReviewOption,
)
from app.services import attempts
from app.services.candidate_tokens import CandidateClaim, CandidateTokens
from app.services.media_links import sign_media_links
from app.services.runtime import ExamRuntime, RuntimeCache
from app.settings import Settings
from app.signing import Signer
from exam_day import AttemptStatus, FrozenForm, SittingStatus
from exam_day.attempt import AttemptState
from exam_day.form import OPTION_LETTERS
from item_bank.exam_spec import spec_from_dict
from scoring.rules import SectionScoringKind

#: The signer purpose of client keys (a sub-key: the hash of an address is useless elsewhere).
CLIENT_PURPOSE = "practice-client"
#: The name, site and room of a practice exam's sitting, as proctors' lists would show it.
PRACTICE_SITTING = ("Simulasi", "Simulasi daring", "Publik")
#: How many expired practice attempts a start deletes on its way (keeps the tables bounded
#: without a separate job; ``ujian practice purge`` deletes the rest).
PURGE_ON_START = 20


@dataclass(frozen=True)
class Limits:
    """The practice limits (``UJIAN_PRACTICE_*``)."""

    starts_per_window: int
    window: timedelta
    running_per_client: int
    max_running: int
    retention: timedelta

    @classmethod
    def of(cls, settings: Settings) -> Limits:
        """The limits a process's settings set."""
        return cls(
            starts_per_window=settings.practice_starts_per_window,
            window=timedelta(seconds=settings.practice_start_window_seconds),
            running_per_client=settings.practice_running_per_client,
            max_running=settings.practice_max_running,
            retention=timedelta(hours=settings.practice_retention_hours),
        )


class StartGate:
    """At most ``size`` practice starts in a transaction at once in this process.

    A start holds a worker thread and a database connection (on SQLite the one write
    connection the live answers commit through); a crowd of practice starts queueing for them
    would make a live sitting's answers queue behind it. A start that finds the gate full is
    refused at once (429, retry in a few seconds) instead of waiting.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._slots = threading.BoundedSemaphore(size)

    def __enter__(self) -> StartGate:
        if not self._slots.acquire(blocking=False):
            msg = "the practice server is busy; try again in a moment"
            raise TooManyRequests(msg, retry_after=secrets.randbelow(3) + 1)
        return self

    def __exit__(self, *_exc: object) -> None:
        self._slots.release()


class StartRate:
    """Practice starts admitted per second in this process (a token bucket of one second's
    worth), checked before a start touches the database.

    A refused start is told to come back after a random 1-10 s, so a crowd refused together
    does not return together.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens = float("inf")  # full: the first admit fills it to one second's worth
        self._at = time.monotonic()

    def admit(self, per_second: float) -> None:
        """Take one start, or raise :class:`TooManyRequests` with ``retry_after``."""
        with self._lock:
            now = time.monotonic()
            self._tokens = min(max(per_second, 1.0), self._tokens + (now - self._at) * per_second)
            self._at = now
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return
        msg = "many people are starting a practice exam right now; try again in a few seconds"
        raise TooManyRequests(msg, retry_after=secrets.randbelow(10) + 1)


#: The process's gate of practice starts, sized by ``UJIAN_PRACTICE_START_CONCURRENCY``.
_gate = StartGate(2)
_gate_lock = threading.Lock()


def gate(size: int | None = None) -> StartGate:
    """The process's start gate, resized to ``size`` when that differs (settings changed)."""
    global _gate  # noqa: PLW0603 - one gate per process, as the threads it limits
    if size is not None and size != _gate.size:
        with _gate_lock:
            if size != _gate.size:
                _gate = StartGate(size)
    return _gate


def client_key(secret: bytes, client: str) -> str:
    """The stored key of a client address (the address itself is never stored)."""
    return Signer(secret, CLIENT_PURPOSE).sign(client, length=64)


def exams(session: Session) -> list[PracticeExam]:
    """Every published practice exam (newest version of each code)."""
    found = []
    for exam in repo.published_practice_exams(session):
        spec = spec_from_dict(exam.spec, source=f"exam {exam.code} v{exam.version}")
        found.append(
            PracticeExam(
                code=exam.code,
                title=exam.title,
                duration_minutes=spec.duration_minutes,
                sections=[
                    PracticeSection(code=s.code, name=s.name, items=s.item_count)
                    for s in spec.sections
                ],
                items=sum(s.item_count for s in spec.sections),
            )
        )
    return found


@dataclass(frozen=True)
class Started:
    """A new practice attempt and its candidate token."""

    access_token: str
    attempt_id: int
    exam_code: str


def start(
    session: Session,
    exam_code: str,
    *,
    client: str,
    now: datetime,
    secret: bytes,
    tokens: CandidateTokens,
    limits: Limits,
    runtimes: RuntimeCache,
) -> Started:
    """Create and begin a practice attempt of ``exam_code`` for the client at ``client``: its
    form drawn (seeded by the attempt's id) and its clock started, so the candidate screen
    opens on the first item.

    Raises:
        NotFound: ``exam_code`` is not a published practice exam.
        TooManyRequests: The client started too many lately, has too many running, or the
            installation runs its maximum of practice attempts (``retry_after`` says when).
    """
    exam = exam_repo.latest_published(session, exam_code)
    if exam is None or not exam.practice:
        msg = f"no practice exam {exam_code!r} is open"
        raise NotFound(msg)
    repo.delete_attempts(
        session, repo.created_before(session, now - limits.retention, PURGE_ON_START)
    )
    key = client_key(secret, client)
    recent = repo.starts_since(session, key, now - limits.window)
    if len(recent) >= limits.starts_per_window:
        oldest = recent[-limits.starts_per_window]
        wait = math.ceil((oldest + limits.window - now).total_seconds())
        msg = (
            f"at most {limits.starts_per_window} practice exams may be started from one "
            f"address in {int(limits.window.total_seconds() // 60) or 1} minutes; "
            f"try again in {wait} s"
        )
        raise TooManyRequests(msg, retry_after=max(wait, 1))
    if repo.running_of_client(session, key) >= limits.running_per_client:
        msg = (
            f"this address already has {limits.running_per_client} practice exams open: "
            "finish one first"
        )
        raise TooManyRequests(msg, retry_after=60)
    if repo.running_total(session) >= limits.max_running:
        msg = "the practice exams are full right now; try again in a few minutes"
        raise TooManyRequests(msg, retry_after=300)
    sitting = _practice_sitting(session, exam.id, now)
    attempt = repo.add_attempt(
        session, exam_id=exam.id, sitting_id=sitting.id, client_key=key, now=now
    )
    # Begun at once, in this one transaction: every practice write that the candidate screen
    # would add later is one more commit queued with the live answers (SQLite has one writer).
    attempts.begin(session, attempt, AttemptState.of(attempt), now=now, runtimes=runtimes)
    token = tokens.issue(attempt.id, attempt.device_generation, int(now.timestamp()))
    return Started(token, attempt.id, exam.code)


def _practice_sitting(session: Session, exam_id: int, now: datetime) -> Sitting:
    """The exam version's practice sitting, created open by its first start."""
    found = repo.practice_sitting(session, exam_id)
    if found is not None:
        return found
    repo.lock_exam(session, exam_id)
    found = repo.practice_sitting(session, exam_id)  # another first start may have won
    if found is not None:
        return found
    name, site, room = PRACTICE_SITTING
    return repo.add_practice_sitting(
        session,
        exam_id,
        Sitting(
            exam_id=exam_id,
            name=name,
            site=site,
            room=room,
            timezone="Asia/Jakarta",
            starts_at=now,
            status=SittingStatus.OPEN,
            seed=secrets.randbits(48),
            created_at=now,
        ),
    )


def refuse_shared_items(session: Session, items: list[ItemVersion], *, practice: bool) -> None:
    """Refuse publishing a pool that shares an item with a published exam of the other kind.

    A practice exam shows its keys and explanations to anyone: an item it shares with a live
    exam would be published with its key. Raises :class:`Conflict` naming every shared code.
    """
    shared = repo.shared_item_codes(session, [i.id for i in items], practice=practice)
    if not shared:
        return
    listed = ", ".join(shared[:20]) + (f" and {len(shared) - 20} more" if len(shared) > 20 else "")
    if practice:
        msg = (
            f"a practice exam may not share items with a live exam: {listed} "
            "(are in a published live exam; give the practice exam its own practice bank)"
        )
    else:
        msg = (
            f"a live exam may not share items with a practice exam: {listed} "
            "(are shown with their keys in a published practice exam)"
        )
    raise Conflict(msg, item_codes=shared)


def review(
    session: Session, claim: CandidateClaim, *, runtimes: RuntimeCache, secret: bytes
) -> PracticeReview:
    """The finished practice attempt's score and each item with its key and explanation.

    Raises:
        NotFound: The token's attempt is not a practice attempt (a live candidate never sees
            keys, points or explanations).
        Conflict: The practice attempt is not finished yet.
    """
    attempt = attempt_repo.attempt(session, claim.attempt_id)
    if attempt is None or attempt.registration_id is not None:
        msg = "the review is shown only for practice exams"
        raise NotFound(msg)
    if attempt.status != AttemptStatus.FINISHED:
        msg = "finish the practice exam first: the review opens after it"
        raise Conflict(msg)
    result = session.get(Result, attempt.id)
    assert result is not None  # a finished attempt has its result (stored as it finished)
    runtime = runtimes.get(session, attempt.exam_id)
    return PracticeReview(
        attempt_id=attempt.id,
        exam_code=runtime.code,
        exam_title=runtime.title,
        score=_score(result, runtime),
        items=_review_items(session, attempt, runtime, secret),
    )


def _score(result: Result, runtime: ExamRuntime) -> PracticeScore:
    return PracticeScore(
        sections=[
            SectionScoreView(
                code=s.code,
                name=s.name,
                score=result.section_scores.get(s.code, 0.0),
                max=s.max_score,
            )
            for s in runtime.spec.sections
        ],
        total=result.total,
        max_total=runtime.spec.max_total,
        passed=result.passed,
        rules=[RuleView.model_validate(rule) for rule in result.rules],
        computed_at=result.computed_at,
    )


def _review_items(
    session: Session, attempt: Attempt, runtime: ExamRuntime, secret: bytes
) -> list[ReviewItem]:
    form = FrozenForm.decode(attempt.form or [])
    answers = {r.position: r.option for r in attempt_repo.responses(session, attempt.id)}
    given = [(p, e) for p, e in enumerate(form, start=1) if e is not None]
    stored = repo.items(session, [e.item_id for _p, e in given])
    sections = {s.code: s for s in runtime.spec.sections}
    reviewed = []
    for position, entry in given:
        content = runtime.items[entry.item_id]
        scoring = sections[content.section].scoring
        chosen = answers.get(position)
        order = entry.option_order
        weighted = content.option_points is not None
        options = [
            ReviewOption(
                id=OPTION_LETTERS[shown],
                text=sign_media_links(content.options[original], secret, attempt.id),
                points=content.option_points[original] if content.option_points else None,
                is_key=not weighted and original == content.key_index,
            )
            for shown, original in enumerate(order)
        ]
        key = next((o.id for o in options if o.is_key), None)
        if chosen is None:
            points = float(scoring.blank)
        elif scoring.kind is SectionScoringKind.WEIGHTED and content.option_points:
            points = float(content.option_points[chosen])
        else:
            points = float(scoring.correct if chosen == content.key_index else scoring.wrong)
        explanation = stored[entry.item_id].explanation if entry.item_id in stored else None
        reviewed.append(
            ReviewItem(
                position=position,
                section=content.section,
                stem=sign_media_links(content.stem, secret, attempt.id),
                options=options,
                answer=entry.letter_of(chosen) if chosen is not None else None,
                key=key,
                correct=None if weighted else chosen == content.key_index,
                points=points,
                explanation=explanation,
            )
        )
    return reviewed


def purge(session: Session, *, now: datetime, retention: timedelta, batch: int = 500) -> int:
    """Delete practice attempts older than ``retention`` (not running ones); how many."""
    removed = 0
    while True:
        ids = repo.created_before(session, now - retention, batch)
        if not ids:
            return removed
        repo.delete_attempts(session, ids)
        removed += len(ids)
        if len(ids) < batch:
            return removed
