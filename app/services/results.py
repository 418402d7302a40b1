"""Scoring a finished attempt and storing its result, pseudonym and verifiable slip code."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from app.errors import NotFound
from app.keys import KeyStore, canonical
from app.models.attempt import Attempt
from app.models.result import Result
from app.models.sitting import Registration
from app.repositories import attempts as attempt_repo
from app.repositories import public as public_repo
from app.services.adaptive import section_blocks
from app.services.adaptive import section_scores as adaptive_scores
from app.services.runtime import ExamRuntime
from app.signing import Signer
from exam_day import FrozenForm
from scoring.pseudonym import pseudonym
from scoring.results import AttemptResult, score_attempt
from scoring.thresholds import RuleResult, explain, rule_set_for

SLIP_MAC_LENGTH = 12
#: The signer purposes of this module (their sub-keys must never change: printed slips and
#: published pseudonyms depend on them).
SLIP_PURPOSE = "slip"
PSEUDONYM_PURPOSE = "pseudonym"


def pseudonym_key(secret: bytes) -> bytes:
    """The key of public pseudonyms (a sub-key: it never signs anything else)."""
    return Signer(secret, PSEUDONYM_PURPOSE).key


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
    return f"{result.slip_code}-{_slip_mac(secret, result)}"


def _slip_message(result: Result) -> str:
    return f"{result.slip_code}:{result_digest(result)}"


def _slip_mac(secret: bytes, result: Result) -> str:
    return Signer(secret, SLIP_PURPOSE).sign(
        _slip_message(result), encoding="base32", length=SLIP_MAC_LENGTH
    )


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
    serial, _, tag = code.strip().upper().partition("-")
    if not serial or not tag:
        return SlipCheck(False, None, "this is not a slip code", "malformed")
    result = public_repo.result_by_slip_serial(session, serial)
    if result is None:
        return SlipCheck(
            False, None, "no result has this code: the slip is not authentic", "unknown"
        )
    signer = Signer(secret, SLIP_PURPOSE)
    if not signer.verify(_slip_message(result), tag, encoding="base32", length=SLIP_MAC_LENGTH):
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
    n = 0 if attempt.form is None else len(FrozenForm.decode(attempt.form))
    answers: list[int | None] = [None] * n
    for response in attempt_repo.responses(session, attempt.id):
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
    form = FrozenForm.decode(attempt.form or [])
    if not spec.adaptive_sections:
        scored = score_attempt(
            runtime.table,
            runtime.form_rows(form.item_ids()),
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
            runtime.form_rows([form.given(p).item_id for p in positions]),
            [answers[p - 1] for p in positions],
            [s.rule for s in fixed],
            rule_sets=(),
            category=category,
        )
        scores.update(partial.section_scores)
    given = {p: a for p, a in enumerate(answers, start=1) if a is not None}
    abilities: dict[str, Any] = {}
    for code, adaptive in adaptive_scores(runtime, form, given).items():
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
    return public_repo.add_result(session, result)


def rule_dict(rule: dict[str, Any]) -> dict[str, Any]:
    """A stored threshold rule with the sentence a candidate reads ("TIU 75 < 80")."""
    text = str(RuleResult(rule["label"], rule["value"], rule["minimum"], rule["passed"]))
    return {**rule, "text": text}


#: The ``kind`` of a signed slip document (``ujian verify`` and the /verify page print it).
SLIP_KIND = "ujian-result-slip"


def signed_slip(
    store: KeyStore, secret: bytes, result: Result, exam: str, now: datetime
) -> dict[str, object]:
    """The slip as a document signed with the server's Ed25519 key (checkable offline).

    It carries what the printed slip shows (pseudonym, scores, pass) and the printed code, so a
    downloaded slip proves itself with the public key alone; the HMAC code keeps verifying
    through the server as before.
    """
    body = {
        "kind": SLIP_KIND,
        "signed_at": now.isoformat(),
        "code": slip_code(secret, result),
        "exam": exam,
        "pseudonym": result.pseudonym,
        "sections": {k: float(v) for k, v in sorted(result.section_scores.items())},
        "total": float(result.total),
        "passed": bool(result.passed),
        "scoring_revision": result.scoring_revision,
        "computed_at": result.computed_at.isoformat(),
    }
    return store.sign(canonical(body))


def signed_slip_for_code(
    session: Session, store: KeyStore, secret: bytes, code: str, now: datetime
) -> dict[str, object]:
    """The signed slip of an authentic printed code; ``NotFound`` saying why for any other."""
    check = verify_slip(session, secret, code)
    if not check.authentic or check.result is None:
        msg = f"no signed slip for {code.strip()[:40]!r}: {check.reason}"
        raise NotFound(msg)
    exam = public_repo.exam_version(session, check.result.exam_id)
    return signed_slip(store, secret, check.result, exam.code if exam else "", now)
