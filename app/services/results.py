"""Scoring a finished attempt and storing its result, pseudonym and verifiable slip code."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models.attempt import Attempt, Response
from app.models.result import Result
from app.models.sitting import Registration
from app.security import derive_key
from app.services.adaptive import section_blocks
from app.services.adaptive import section_scores as adaptive_scores
from app.services.runtime import ExamRuntime
from scoring.pseudonym import pseudonym
from scoring.results import AttemptResult, score_attempt
from scoring.thresholds import RuleResult, explain, rule_set_for

SLIP_MAC_LENGTH = 12


def pseudonym_key(secret: bytes) -> bytes:
    """The key of public pseudonyms (a sub-key: it never signs anything else)."""
    return derive_key(secret, "pseudonym")


def candidate_pseudonym(secret: bytes, exam_code: str, nomor_peserta: str) -> str:
    """The public pseudonym of a candidate in an exam (the same for every version)."""
    return pseudonym(pseudonym_key(secret), exam_code, nomor_peserta)


def result_digest(result: Result) -> str:
    """SHA-256 over what a slip shows, so any change of the scores changes the slip's MAC."""
    payload = {
        "attempt": result.attempt_id,
        "exam": result.exam_id,
        "sections": {k: float(v) for k, v in sorted(result.section_scores.items())},
        "total": float(result.total),
        "passed": bool(result.passed),
        "pseudonym": result.pseudonym,
        "revision": result.scoring_revision,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def slip_code(secret: bytes, result: Result) -> str:
    """The verification code printed on a slip: ``<serial>-<mac>``.

    The MAC covers the scores, so a code typed from a forged or altered slip fails, and a slip
    printed before an audited rescoring is recognised as superseded.
    """
    key = derive_key(secret, "slip")
    mac = hmac.new(key, f"{result.slip_code}:{result_digest(result)}".encode(), hashlib.sha256)
    tag = base64.b32encode(mac.digest()).decode()[:SLIP_MAC_LENGTH]
    return f"{result.slip_code}-{tag}"


def new_slip_serial() -> str:
    """A fresh, unguessable slip serial (16 base32 characters)."""
    return base64.b32encode(secrets.token_bytes(10)).decode()


@dataclass(frozen=True)
class SlipCheck:
    """The outcome of verifying a slip code."""

    authentic: bool
    result: Result | None
    reason: str
    code: str  # authentic | altered | unknown | malformed (for pages to say it in their language)


def verify_slip(session: Session, secret: bytes, code: str) -> SlipCheck:
    """Check a slip code against the stored result."""
    serial, _, _tag = code.strip().upper().partition("-")
    if not serial or not _tag:
        return SlipCheck(False, None, "this is not a slip code", "malformed")
    result = session.scalars(select(Result).where(Result.slip_code == serial)).one_or_none()
    if result is None:
        return SlipCheck(
            False, None, "no result has this code: the slip is not authentic", "unknown"
        )
    if not hmac.compare_digest(slip_code(secret, result), code.strip().upper()):
        return SlipCheck(
            False,
            result,
            "the code does not match the scores on file: the slip was altered, or it was "
            "printed before an audited rescoring; the scores below are the valid ones",
            "altered",
        )
    return SlipCheck(True, result, "authentic: the scores match the result on file", "authentic")


def responses_by_position(session: Session, attempt: Attempt) -> list[int | None]:
    """Current answers as original option indices (None = blank), in position order."""
    n = len(attempt.form or [])
    answers: list[int | None] = [None] * n
    for response in session.scalars(select(Response).where(Response.attempt_id == attempt.id)):
        if 1 <= response.position <= n:
            answers[response.position - 1] = response.option
    return answers


def compute_result(
    runtime: ExamRuntime, attempt: Attempt, answers: list[int | None], category: str
) -> tuple[AttemptResult, dict[str, Any] | None]:
    """Score one attempt with its exam's rules and its category's thresholds.

    Fixed sections score by the points table; an adaptive section's score is its scale score
    (its ability estimate and SE come back beside the result).
    """
    spec = runtime.spec
    entries = list(attempt.form or [])
    if not spec.adaptive_sections:
        item_ids = [int(entry[0]) for entry in entries]
        scored = score_attempt(
            runtime.table,
            runtime.form_rows(item_ids),
            answers,
            spec.rules,
            rule_sets=spec.categories,
            category=category,
        )
        return scored, None
    blocks = section_blocks(runtime)
    fixed = [s for s in spec.sections if s.adaptive is None]
    scores: dict[str, float] = {}
    if fixed:
        positions = [p for s in fixed for p in range(*blocks[s.code])]
        partial = score_attempt(
            runtime.table,
            runtime.form_rows([int(entries[p - 1][0]) for p in positions]),
            [answers[p - 1] for p in positions],
            [s.rule for s in fixed],
            rule_sets=(),
            category=category,
        )
        scores.update(partial.section_scores)
    given = {p: a for p, a in enumerate(answers, start=1) if a is not None}
    abilities: dict[str, Any] = {}
    for code, adaptive in adaptive_scores(runtime, entries, given).items():
        scores[code] = adaptive.scale_score
        abilities[code] = {
            "theta": adaptive.theta,
            "se": adaptive.se,
            "scale_score": adaptive.scale_score,
            "scale_se": adaptive.scale_se,
            "items": adaptive.n_items,
            "stop_reason": None if adaptive.stop_reason is None else str(adaptive.stop_reason),
        }
    ordered = {s.code: float(scores[s.code]) for s in spec.sections}
    total = sum(ordered.values())
    rules = (
        tuple(explain(rule_set_for(spec.categories, category), ordered, total))
        if spec.categories
        else ()
    )
    return AttemptResult(ordered, total, all(r.passed for r in rules), rules), abilities


def store_result(
    session: Session,
    *,
    runtime: ExamRuntime,
    attempt: Attempt,
    registration: Registration,
    secret: bytes,
    now: datetime,
) -> Result:
    """Score ``attempt`` and insert its result (called once, when it finishes)."""
    scored, abilities = compute_result(
        runtime, attempt, responses_by_position(session, attempt), registration.category
    )
    result = Result(
        attempt_id=attempt.id,
        exam_id=attempt.exam_id,
        sitting_id=attempt.sitting_id,
        section_scores=scored.section_scores,
        total=scored.total,
        passed=scored.passed,
        rules=[rule_dict(r) for r in scored.as_dict()["rules"]],
        scoring_version=scored.scoring_version,
        scoring_revision=runtime.scoring_revision,
        pseudonym=candidate_pseudonym(secret, runtime.code, registration.nomor_peserta),
        slip_code=new_slip_serial(),
        computed_at=now,
        abilities=abilities,
    )
    session.add(result)
    session.flush()
    return result


def rule_dict(rule: dict[str, Any]) -> dict[str, Any]:
    """A stored threshold rule with the sentence a candidate reads ("TIU 75 < 80")."""
    text = str(RuleResult(rule["label"], rule["value"], rule["minimum"], rule["passed"]))
    return {**rule, "text": text}
