"""The candidate's attempt: login, start, state, finish — with the server owning the clock."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from app.errors import AppError, Conflict, NotFound, TooManyRequests, Unauthorized
from app.models.attempt import Attempt
from app.models.result import Result
from app.models.sitting import Registration, Sitting
from app.repositories import attempts as repo
from app.services import adaptive, audit, throttle
from app.services.audit import attempt_chain, sitting_chain
from app.services.autosave import OPTION_LETTERS, DeviceReplaced, remaining_seconds
from app.services.candidate_tokens import CandidateClaim, CandidateTokens, pin_digest
from app.services.media_links import sign_media_links
from app.services.results import slip_code, store_result
from app.services.runtime import ExamRuntime, RuntimeCache
from item_bank.assembly import ASSEMBLY_ALGORITHM, Form, FormSeed, draw_form
from item_bank.irt_forms import IRT_FORMS_ALGORITHM, draw_matched_form
from scoring.cat import ADAPTIVE_ALGORITHM

READY, IN_PROGRESS, FINISHED, VOIDED = "ready", "in_progress", "finished", "voided"


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
) -> LoginResult | AppError:
    """Log a candidate in with nomor peserta + the sitting's PIN (returned refusal, not raised).

    Only a sitting that is open admits logins. Each wrong PIN counts against the candidate and
    against the client address; either limit locks further tries for a while. A login on a new
    PC ends the old PC's token: the attempt moves, answers and time intact.
    """
    nomor = nomor_peserta.strip()
    candidate_key, address_key = f"candidate:{nomor}", f"address:{client}"
    until, counted = throttle.lock_state(session, [candidate_key, address_key], now)
    if until is not None:
        seconds = int((until - now).total_seconds()) + 1
        return TooManyRequests(
            f"too many wrong PINs; try again in {seconds} s or ask the proctor",
            retry_after=seconds,
        )
    match: tuple[Registration, Sitting] | None = None
    candidates = repo.open_registrations(session, nomor)
    for registration, sitting in candidates:
        if hmac.compare_digest(registration.pin_hash, pin_digest(secret, sitting.id, pin.strip())):
            match = (registration, sitting)
            break
    if match is None:
        failure = throttle.register_failure(session, candidate_key, now, policy)
        throttle.register_failure(session, address_key, now, address_policy)
        chain = sitting_chain(candidates[0][1].id) if candidates else audit.GLOBAL_CHAIN
        audit.record(
            session,
            at=now,
            actor=f"client:{client}",
            action="candidate.login_failed",
            subject=candidate_key,
            payload={"failures": failure.failures, "locked": failure.locked_until is not None},
            chain=chain,
        )
        return Unauthorized("nomor peserta or PIN is wrong, or the sitting is not open")
    registration, sitting = match
    if candidate_key in counted:
        throttle.clear(session, candidate_key)
    attempt_id, generation = repo.open_attempt_on_device(session, registration, now)
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
    return attempt is not None and attempt.status == IN_PROGRESS


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
    if attempt.device_generation != claim.generation:
        msg = "this exam was opened on another computer; this one is logged out"
        raise DeviceReplaced(msg)
    return attempt


def start(
    session: Session, claim: CandidateClaim, *, now: datetime, runtimes: RuntimeCache
) -> Attempt:
    """Draw and freeze the form and start the clock; a second call changes nothing."""
    attempt = attempt_for_claim(session, claim, lock=True)
    if attempt.status != READY:
        return attempt
    registration, sitting = repo.registration_and_sitting(session, attempt)
    if sitting.status != "open":
        msg = f"the sitting is {sitting.status}; the exam cannot start now"
        raise Conflict(msg)
    runtime = runtimes.get(session, attempt.exam_id)
    form, algorithm = draw(runtime, FormSeed(sitting.seed, registration.slot))
    entries: list[Any] = [[item.entry_id, list(item.option_order)] for item in form.items]
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
    attempt.form = entries
    attempt.item_ids = adaptive.form_item_ids(entries)
    attempt.started_at = now
    attempt.deadline_at = now + timedelta(
        minutes=runtime.spec.duration_minutes + registration.extra_minutes
    )
    attempt.status = IN_PROGRESS
    attempt.last_seen_at = now
    audit.record(
        session,
        at=now,
        actor=f"candidate:{registration.nomor_peserta}",
        action="attempt.start",
        subject=f"attempt:{attempt.id}",
        payload={
            "deadline_at": attempt.deadline_at.isoformat(),
            "items": len(attempt.form),
            "bank_digest": form.bank_digest,
        },
        chain=attempt_chain(attempt.id),
    )
    return attempt


def draw(runtime: ExamRuntime, seed: FormSeed) -> tuple[Form, str]:
    """The form of ``seed``: IRT-matched when the exam asks for it, else the blueprint draw."""
    if runtime.spec.irt_matching:
        matched = draw_matched_form(runtime.spec, runtime.snapshot, seed)
        return matched.form, f"{ASSEMBLY_ALGORITHM}+{IRT_FORMS_ALGORITHM}"
    return draw_form(runtime.spec, runtime.snapshot, seed), ASSEMBLY_ALGORITHM


def is_expired(attempt: Attempt, now: datetime, grace: timedelta) -> bool:
    """Whether a running attempt's time (plus the network grace) is over."""
    return (
        attempt.status == IN_PROGRESS
        and attempt.paused_at is None
        and attempt.deadline_at is not None
        and now > attempt.deadline_at + grace
    )


def finish(
    session: Session,
    attempt_id: int,
    *,
    reason: str,
    now: datetime,
    actor: str,
    runtimes: RuntimeCache,
    secret: bytes,
    grace: timedelta,
) -> bool:
    """Finish and score an attempt exactly once; whether this call was the one that did it.

    The attempt row is locked first, so a double submit, two sweepers and a submit racing the
    deadline all see one ``in_progress`` row and only the first to lock it finishes it. A
    ``deadline`` finish does nothing until the deadline and its grace have passed.
    """
    attempt = repo.attempt_for_update(session, attempt_id)
    if attempt is None or attempt.status != IN_PROGRESS:
        return False
    if reason == "deadline" and not is_expired(attempt, now, grace):
        return False
    registration = repo.registration(session, attempt.registration_id)
    assert registration is not None
    attempt.status = FINISHED
    attempt.finished_at = now
    attempt.finish_reason = reason
    if attempt.paused_at is not None:
        attempt.paused_at = None
        attempt.paused_by = None
    runtime = runtimes.get(session, attempt.exam_id)
    result = store_result(
        session,
        runtime=runtime,
        attempt=attempt,
        registration=registration,
        secret=secret,
        now=now,
    )
    audit.record(
        session,
        at=now,
        actor=actor,
        action="attempt.finish",
        subject=f"attempt:{attempt.id}",
        payload={
            "reason": reason,
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
    registration, sitting = repo.registration_and_sitting(session, attempt)
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
        "result": None,
    }
    if runtime is not None:
        state["sections"] = [
            {"code": s.code, "name": s.name, "items": s.item_count} for s in runtime.spec.sections
        ]
        state["duration_seconds"] = (
            runtime.spec.duration_minutes + registration.extra_minutes
        ) * 60
    if attempt.status == IN_PROGRESS and attempt.deadline_at is not None:
        state["remaining_seconds"] = remaining_seconds(attempt.deadline_at, attempt.paused_at, now)
    if attempt.form and runtime is not None and attempt.status == IN_PROGRESS:
        answers = {r.position: r for r in repo.responses(session, attempt.id)}
        state["last_seq"] = max((r.seq for r in answers.values()), default=0)
        items = []
        blocks = adaptive.section_blocks(runtime)
        for index, entry in enumerate(attempt.form, start=1):
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
            item_id, order = entry[0], entry[1]
            is_adaptive = len(entry) > 2
            content = runtime.items[int(item_id)]
            saved = answers.get(index)
            shown = None
            if saved is not None and saved.option is not None:
                shown = OPTION_LETTERS[list(order).index(saved.option)]
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
    if attempt.status == FINISHED and runtime is not None and runtime.spec.show_result:
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
