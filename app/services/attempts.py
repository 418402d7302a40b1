"""The candidate's attempt: login, start, state, finish — with the server owning the clock."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from app.errors import AppError, NotFound, Unauthorized
from app.models.attempt import Attempt
from app.models.result import Result
from app.models.sitting import Registration, Sitting
from app.repositories import attempts as repo
from app.repositories import practice as practice_repo
from app.repositories import results as result_repo
from app.services import adaptive, audit, device_moves, throttle
from app.services import bank as bank_service
from app.services.audit import attempt_chain, sitting_chain
from app.services.candidate_tokens import CandidateClaim, CandidateTokens, pin_digest
from app.services.media_links import sign_media_links
from app.services.refusals import as_app_error
from app.services.results import slip_code, store_result
from app.services.runtime import ExamRuntime, RuntimeCache
from exam_day.attempt import AttemptState
from exam_day.errors import AlreadyFinished, ExamDayError, NotDue
from exam_day.form import OPTION_LETTERS, FrozenForm
from exam_day.status import AttemptStatus, FinishReason, SittingStatus
from item_bank.assembly import ASSEMBLY_ALGORITHM, Form, FormSeed, draw_form
from item_bank.irt_forms import IRT_FORMS_ALGORITHM, draw_matched_form
from scoring.cat import ADAPTIVE_ALGORITHM


def store(attempt: Attempt, before: AttemptState, after: AttemptState) -> None:
    """Write what a transition changed onto the attempt's row (only the changed columns, so a
    column another statement moves, such as the device generation at a login, is not
    overwritten with the value read before)."""
    old = before.columns()
    for column, value in after.columns().items():
        if value != old[column]:
            setattr(attempt, column, value)


@dataclass(frozen=True)
class LoginResult:
    """A successful candidate login."""

    access_token: str
    attempt_id: int
    generation: int
    moved: bool


def candidate_login(
    session: Session,
    *,
    nomor_peserta: str,
    pin: str,
    now: datetime,
    client: str,
    secret: bytes,
    tokens: CandidateTokens,
    policy: throttle.Policy,
    address_policy: throttle.Policy,
    agent: str = "",
) -> LoginResult | AppError:
    """Log a candidate in with nomor peserta + the sitting's PIN (returned refusal, not raised).

    Only a sitting that is open admits logins. Each try is counted before the PIN is compared,
    against the candidate from this client and against the client address; either limit locks
    further tries for a while (a candidate from another client is not locked; the proctor clears
    a lock). A login on a new PC ends the old PC's token: the attempt moves, answers and time
    intact. While the attempt is in progress under the ``proctor`` device-move rule the move
    waits for the proctor instead (:mod:`app.services.device_moves`): the refusal returned
    carries the move token. ``agent`` is the browser's User-Agent header.
    """
    nomor = nomor_peserta.strip()
    candidate_key = f"candidate:{nomor}"
    gate = throttle.Gate("candidate", nomor, client, policy, address_policy)
    admission = throttle.admit(session, gate, now)
    if not admission.admitted:
        return admission.refusal(
            now, "too many wrong PINs; try again in {seconds} s or ask the proctor"
        )
    match: tuple[Registration, Sitting] | None = None
    candidates = repo.open_registrations(session, nomor)
    for registration, sitting in candidates:
        if hmac.compare_digest(registration.pin_hash, pin_digest(secret, sitting.id, pin.strip())):
            match = (registration, sitting)
            break
    if match is None:
        chain = sitting_chain(candidates[0][1].id) if candidates else audit.GLOBAL_CHAIN
        audit.record(
            session,
            at=now,
            actor=f"client:{client}",
            action="candidate.login_failed",
            subject=candidate_key,
            payload={
                "failures": admission.failures,
                "locked": admission.locked_until is not None,
                "client": client,
            },
            chain=chain,
        )
        return Unauthorized("nomor peserta or PIN is wrong, or the sitting is not open")
    registration, sitting = match
    throttle.succeeded(session, gate, admission)
    running = device_moves.held_elsewhere(session, registration.id, sitting.id)
    if running is not None:
        return device_moves.request_move(
            session, running, nomor_peserta=nomor, client=client, agent=agent, now=now
        )
    attempt_id, generation = repo.open_attempt_on_device(session, registration, now)
    device_moves.note_device(session, attempt_id, client=client, agent=agent)
    moved = generation > 1
    audit.record(
        session,
        at=now,
        actor=f"candidate:{nomor}",
        action="candidate.device_moved" if moved else "candidate.login",
        subject=f"attempt:{attempt_id}",
        payload={"client": client, "generation": generation},
        chain=attempt_chain(attempt_id),
    )
    token = tokens.issue(attempt_id, generation, int(now.timestamp()))
    return LoginResult(token, attempt_id, generation, moved)


def shows_its_form(session: Session, attempt_id: int) -> bool:
    """Whether the attempt's form is still on its candidate's screen (started, not finished):
    the only time the links in it may open the bank's images."""
    attempt = session.get(Attempt, attempt_id)
    return attempt is not None and attempt.status == AttemptStatus.IN_PROGRESS


def last_seq(session: Session, attempt_id: int) -> int:
    """The highest sequence number stored for an attempt (0 before any save)."""
    return repo.last_seq(session, attempt_id)


def attempt_for_claim(session: Session, claim: CandidateClaim, *, lock: bool) -> Attempt:
    """The attempt a token is for, refusing a token of a replaced device."""
    attempt = (
        repo.attempt_for_update(session, claim.attempt_id)
        if lock
        else session.get(Attempt, claim.attempt_id)
    )
    if attempt is None:
        msg = "no such attempt"
        raise NotFound(msg)
    try:
        AttemptState.of(attempt).check_device(claim.generation)
    except ExamDayError as refused:
        raise as_app_error(refused) from None
    return attempt


def start(
    session: Session, claim: CandidateClaim, *, now: datetime, runtimes: RuntimeCache
) -> Attempt:
    """Draw and freeze the form and start the clock; a second call changes nothing."""
    attempt = attempt_for_claim(session, claim, lock=True)
    before = AttemptState.of(attempt)
    if before.status != AttemptStatus.READY:
        return attempt  # a reload: nothing to draw, no query
    return begin(session, attempt, before, now=now, runtimes=runtimes)


def begin(
    session: Session,
    attempt: Attempt,
    before: AttemptState,
    *,
    now: datetime,
    runtimes: RuntimeCache,
) -> Attempt:
    """Draw and freeze a ready attempt's form and start its clock (a practice attempt is begun
    by its practice start, in the same transaction that creates it)."""
    registration, sitting = seat(session, attempt)
    runtime = runtimes.get(session, attempt.exam_id)
    duration = timedelta(minutes=runtime.spec.duration_minutes + registration.extra_minutes)
    try:
        after = before.start(now, duration, _sitting_status_locked(session, sitting.id))
    except ExamDayError as refused:
        raise as_app_error(refused) from None
    form, algorithm = draw(runtime, FormSeed(sitting.seed, registration.slot))
    entries = FrozenForm.of([(item.entry_id, item.option_order) for item in form.items])
    # Everything a replay needs besides the frozen pool: the two integers, the bank digest the
    # draw saw and the algorithm's version.
    attempt.form_seed = {
        "sitting_seed": sitting.seed,
        "slot": registration.slot,
        "bank_digest": form.bank_digest,
        "algorithm": algorithm,
    }
    if runtime.spec.adaptive_sections:
        seed = adaptive.adaptive_seed(sitting.seed, registration.slot)
        entries = adaptive.first_items(runtime, entries, seed)
        attempt.form_seed = {
            **attempt.form_seed,
            "adaptive_seed": seed,
            "adaptive_algorithm": ADAPTIVE_ALGORITHM,
        }
    attempt.form = entries.encode()
    attempt.item_ids = entries.item_ids()
    store(attempt, before, after)
    attempt.last_seen_at = now
    if attempt.registration_id is None:
        return attempt  # practice: anonymous and purged, so never in the append-only audit
    audit.record(
        session,
        at=now,
        actor=f"candidate:{registration.nomor_peserta}",
        action="attempt.start",
        subject=f"attempt:{attempt.id}",
        payload={
            "deadline_at": after.deadline_at.isoformat() if after.deadline_at else None,
            "items": len(entries),
            "bank_digest": form.bank_digest,
        },
        chain=attempt_chain(attempt.id),
    )
    return attempt


def seat(session: Session, attempt: Attempt, category: str = "") -> tuple[Registration, Sitting]:
    """The attempt's roster row and sitting; a practice attempt has no roster row and gets a
    stand-in that is never stored (:func:`app.repositories.practice.anonymous_seat`)."""
    if attempt.registration_id is None:
        return practice_repo.anonymous_seat(session, attempt, category)
    return repo.registration_and_sitting(session, attempt)


def _sitting_status_locked(session: Session, sitting_id: int) -> SittingStatus:
    """The sitting's status, read under a shared lock held to the end of the start.

    A sitting pause locks the sitting, then stops the clocks of the attempts running at that
    moment. A start that read the status without a lock could see ``open`` while the pause was
    committing and start a clock the pause never saw. Under the shared lock the start waits for
    a pause in progress (and then reads ``paused``), or the pause waits for the start (and then
    finds the attempt running). ``FOR KEY SHARE`` is the lightest lock that conflicts with the
    pause's; starts of one sitting do not wait for one another.
    """
    status = repo.sitting_status_for_start(session, sitting_id)
    assert status is not None  # the attempt's sitting exists (foreign key)
    return status


def draw(runtime: ExamRuntime, seed: FormSeed) -> tuple[Form, str]:
    """The form of ``seed``: IRT-matched when the exam asks for it, else the blueprint draw."""
    if runtime.spec.irt_matching:
        matched = draw_matched_form(runtime.spec, runtime.snapshot, seed)
        return matched.form, f"{ASSEMBLY_ALGORITHM}+{IRT_FORMS_ALGORITHM}"
    return draw_form(runtime.spec, runtime.snapshot, seed, runtime.extras), ASSEMBLY_ALGORITHM


def is_expired(attempt: Attempt, now: datetime, grace: timedelta) -> bool:
    """Whether a running attempt's time (plus the network grace) is over
    (:meth:`AttemptState.is_expired`)."""
    return AttemptState.of(attempt).is_expired(now, grace)


def finish(
    session: Session,
    attempt_id: int,
    *,
    reason: FinishReason | str,
    now: datetime,
    actor: str,
    runtimes: RuntimeCache,
    secret: bytes,
    grace: timedelta,
) -> bool:
    """Finish and score an attempt exactly once; whether this call was the one that did it.

    The attempt row is locked first, so a double submit, two sweepers and a submit racing the
    deadline all see one ``in_progress`` row and only the first to lock it finishes it. A
    ``deadline`` finish does nothing until the deadline and its grace have passed; a candidate's
    finish after that is recorded as the deadline's (:meth:`AttemptState.finish`).

    Raises:
        BadRequest: A candidate's finish of an attempt that was never started.
    """
    attempt = repo.attempt_for_update(session, attempt_id)
    if attempt is None:
        return False
    before = AttemptState.of(attempt)
    try:
        after = before.finish(FinishReason(reason), now, grace)
    except (AlreadyFinished, NotDue):
        return False
    except ExamDayError as refused:
        raise as_app_error(refused) from None
    store(attempt, before, after)
    # Scored under a shared lock on the exam's scoring revision, held to the commit: a key
    # correction being applied (which holds it exclusively) makes this wait and score with the
    # new key; one not yet applied waits for this finish and then rescores it. Finishes share
    # the lock and never wait for one another.
    result_repo.share_scoring_revision(session, attempt.exam_id)
    runtime = runtimes.get(session, attempt.exam_id)
    registration = repo.registration(session, attempt.registration_id)
    if registration is None:
        # A practice attempt: scored by the exam's first threshold rule set.
        categories = runtime.spec.categories
        category = categories[0].category if categories else ""
        registration, _sitting = practice_repo.anonymous_seat(session, attempt, category)
    result = store_result(
        session,
        runtime=runtime,
        attempt=attempt,
        registration=registration,
        secret=secret,
        now=now,
    )
    if attempt.registration_id is None:
        return True  # practice: never in the append-only audit (see start)
    audit.record(
        session,
        at=now,
        actor=actor,
        action="attempt.finish",
        subject=f"attempt:{attempt.id}",
        payload={
            "reason": str(after.finish_reason),
            "total": result.total,
            "sections": result.section_scores,
            "passed": result.passed,
        },
        chain=attempt_chain(attempt.id),
    )
    return True


def candidate_state(
    session: Session,
    attempt: Attempt,
    *,
    now: datetime,
    runtime: ExamRuntime | None,
    secret: bytes,
) -> dict[str, Any]:
    """What the candidate's screen shows: never a key, never option points."""
    registration, sitting = seat(session, attempt)
    clock = AttemptState.of(attempt)
    state: dict[str, Any] = {
        "attempt_id": attempt.id,
        "status": attempt.status,
        "nomor_peserta": registration.nomor_peserta,
        "name": registration.name,
        "exam": {
            "title": runtime.title if runtime else "",
            "code": runtime.code if runtime else "",
        },
        "sitting": {"id": sitting.id, "name": sitting.name, "status": sitting.status},
        "paused": attempt.paused_at is not None,
        "remaining_seconds": None,
        "duration_seconds": None,
        "deadline_at": attempt.deadline_at,
        "server_time": now,
        "last_seq": 0,
        "sections": [],
        "items": [],
        "stimuli": {},
        "result": None,
    }
    if runtime is not None:
        state["sections"] = [
            {"code": s.code, "name": s.name, "items": s.item_count} for s in runtime.spec.sections
        ]
        state["duration_seconds"] = (
            runtime.spec.duration_minutes + registration.extra_minutes
        ) * 60
    state["remaining_seconds"] = clock.remaining(now)
    if attempt.form and runtime is not None and clock.running:
        answers = {r.position: r for r in repo.responses(session, attempt.id)}
        state["last_seq"] = max((r.seq for r in answers.values()), default=0)
        items = []
        blocks = adaptive.section_blocks(runtime)
        form = FrozenForm.decode(attempt.form)
        # Passages by reference: one shared by five items is sent once (with the positions
        # that read it), and never with a key.
        passages = bank_service.form_passages(session, form.item_ids())
        state["stimuli"] = {
            key: {
                "title": passage.title,
                "content": sign_media_links(passage.content, secret, attempt.id),
                "positions": [
                    index
                    for index, entry in enumerate(form, start=1)
                    if entry is not None and passages.by_item.get(entry.item_id) == key
                ],
            }
            for key, passage in passages.passages.items()
        }
        for index, entry in enumerate(form, start=1):
            if entry is None:
                # An adaptive position not given yet: a placeholder keeps positions in place.
                items.append(
                    {
                        "position": index,
                        "section": next(c for c, (lo, hi) in blocks.items() if lo <= index < hi),
                        "stem": "",
                        "options": [],
                        "option": None,
                        "flagged": False,
                        "adaptive": True,
                        "locked": False,
                        "pending": True,
                    }
                )
                continue
            order = entry.option_order
            is_adaptive = entry.adaptive
            content = runtime.items[entry.item_id]
            saved = answers.get(index)
            shown = None
            if saved is not None and saved.option is not None:
                shown = entry.letter_of(saved.option)
            items.append(
                {
                    "position": index,
                    "section": content.section,
                    "stem": sign_media_links(content.stem, secret, attempt.id),
                    "options": [
                        {
                            "id": OPTION_LETTERS[k],
                            "text": sign_media_links(content.options[original], secret, attempt.id),
                        }
                        for k, original in enumerate(order)
                    ],
                    "option": shown,
                    "flagged": bool(saved.flagged) if saved is not None else False,
                    "adaptive": is_adaptive,
                    "locked": is_adaptive and saved is not None,
                    "pending": False,
                }
            )
        state["items"] = items
    if clock.status == AttemptStatus.FINISHED and runtime is not None and runtime.spec.show_result:
        result = session.get(Result, attempt.id)
        if result is not None:
            state["result"] = result_view(result, runtime, secret)
    return state


def result_view(result: Result, runtime: ExamRuntime, secret: bytes) -> dict[str, Any]:
    """The candidate-facing result: sections, total, each rule, pseudonym and slip code."""
    return {
        "sections": [
            {
                "code": s.code,
                "name": s.name,
                "score": result.section_scores.get(s.code, 0.0),
                "max": s.max_score,
            }
            for s in runtime.spec.sections
        ],
        "total": result.total,
        "max_total": runtime.spec.max_total,
        "passed": result.passed,
        "rules": result.rules,
        "pseudonym": result.pseudonym,
        "slip_code": slip_code(secret, result),
        "computed_at": result.computed_at,
    }
