"""Replaying a candidate's form for an appeal: redraw it from the stored seed and show it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from app.errors import Conflict, NotFound
from app.models.attempt import Attempt
from app.repositories import attempts as attempt_repo
from app.services import audit, integrity
from app.services import bank as bank_service
from app.services.adaptive import answered_in, section_blocks, section_state
from app.services.attempts import draw
from app.services.runtime import ExamRuntime, RuntimeCache
from exam_day import OPTION_LETTERS, AttemptStatus, FrozenForm
from item_bank.assembly import FormSeed
from scoring import cat


@dataclass(frozen=True, slots=True)
class ReplayOption:
    """One option as the candidate saw it (letter), with its label in the bank and points."""

    id: str
    text: str
    original_label: str
    points: float | None


@dataclass(frozen=True, slots=True)
class AnswerChange:
    """One stored save of a position: when, which letter (None: cleared), flagged, which PC."""

    at: datetime
    seq: int
    option: str | None
    flagged: bool
    device: int


@dataclass(frozen=True, slots=True)
class ReplayItem:
    """One position of the form as shown, with its key and every answer change."""

    position: int
    item: str
    section: str
    stem: str
    options: tuple[ReplayOption, ...]
    key: str | None
    history: tuple[AnswerChange, ...]
    stimulus: str | None = None
    #: When the candidate's screen showed the item (server time, from the reported views).
    shown_at: tuple[datetime, ...] = ()


@dataclass(frozen=True, slots=True)
class ReplayPassage:
    """A passage as the candidate read it beside its items (the version stored with them)."""

    code: str
    version: int
    title: str
    content: str


@dataclass(frozen=True, slots=True)
class Replay:
    """What a candidate saw, and whether a redraw from the seed gives exactly that form."""

    attempt_id: int
    nomor_peserta: str
    exam: str
    form_seed: dict[str, Any]
    matches_served_form: bool
    status: AttemptStatus
    started_at: datetime | None
    finished_at: datetime | None
    items: tuple[ReplayItem, ...]
    viewer: str
    stimuli: dict[str, ReplayPassage] = field(default_factory=dict)


def _adaptive_matches(
    session: Session, runtime: ExamRuntime, attempt: Attempt, form: FrozenForm
) -> bool:
    """Whether every adaptive item given equals the choice replayed from the seed and answers."""
    seed = int((attempt.form_seed or {}).get("adaptive_seed") or 0)
    for section in runtime.spec.adaptive_sections:
        adaptive = runtime.adaptive(section.code)
        lo, hi = section_blocks(runtime)[section.code]
        answers = answered_in(session, attempt.id, lo, hi)
        _state, positions = section_state(runtime, section, form, answers)
        responses = [
            1 if answers[p] == runtime.items[form.given(p).item_id].key_index else 0
            for p in positions
        ]
        given = [entry.item_id for entry in form.entries[lo - 1 : hi - 1] if entry is not None]
        choices = cat.replay(adaptive.section.bank, adaptive.rules, seed, responses)
        replayed = [int(adaptive.section.ids[c.item]) for c in choices]
        if len(given) > len(replayed):
            state = cat.restore(adaptive.section.bank, [c.item for c in choices], responses)
            following = cat.next_item(state, adaptive.section.bank, adaptive.rules, seed)
            if following is not None:
                replayed.append(int(adaptive.section.ids[following.item]))
        if given != replayed:
            return False
    return True


def _history(session: Session, attempt_id: int, form: FrozenForm) -> dict[int, list[AnswerChange]]:
    """Every stored save of the attempt by position, as the letters the candidate saw."""
    history: dict[int, list[AnswerChange]] = {}
    for event in attempt_repo.response_events(session, attempt_id):
        entry = form.entries[event.position - 1] if 1 <= event.position <= len(form) else None
        order = entry.option_order if entry is not None else ()
        shown = (
            OPTION_LETTERS[order.index(event.option)]
            if event.option is not None and event.option in order
            else None
        )
        history.setdefault(event.position, []).append(
            AnswerChange(
                at=event.at,
                seq=event.seq,
                option=shown,
                flagged=event.flagged,
                device=event.device_generation,
            )
        )
    return history


#: The audit action of a staff member viewing an attempt's replay (form, keys, answer history).
REPLAY_VIEWED = "attempt.replay_viewed"


def replay(
    session: Session, attempt_id: int, *, runtimes: RuntimeCache, viewer: str, now: datetime
) -> Replay:
    """:func:`replay_of` for a staff member.

    Refused while the attempt is still being sat (its replay shows the keys and points of a
    live form); every view is recorded on the attempt's audit chain (who, when), so an
    appeal's file shows who looked at the candidate's answers.
    """
    attempt = attempt_repo.attempt(session, attempt_id)
    if attempt is not None and attempt.status in {AttemptStatus.READY, AttemptStatus.IN_PROGRESS}:
        msg = (
            f"attempt {attempt_id} is still being sat: its replay (the form with keys, points "
            "and answers) opens when it has finished"
        )
        raise Conflict(msg)
    shown = replay_of(session, attempt_id, runtimes=runtimes, viewer=viewer)
    audit.record(
        session,
        at=now,
        actor=viewer,
        action=REPLAY_VIEWED,
        subject=f"attempt:{attempt_id}",
        payload={"status": str(shown.status), "items": len(shown.items)},
        chain=audit.attempt_chain(attempt_id),
    )
    return shown


def replay_of(session: Session, attempt_id: int, *, runtimes: RuntimeCache, viewer: str) -> Replay:
    """The candidate's items in order, as shown, with the key and every answer change."""
    attempt = attempt_repo.attempt(session, attempt_id)
    if attempt is None or attempt.form is None or attempt.form_seed is None:
        msg = f"attempt {attempt_id} has no form (never started)"
        raise NotFound(msg)
    registration = attempt_repo.registration(session, attempt.registration_id)
    if registration is None:
        msg = f"attempt {attempt_id} is a practice attempt: it has no candidate to replay for"
        raise NotFound(msg)
    form = FrozenForm.decode(attempt.form)
    runtime = runtimes.get(session, attempt.exam_id)
    sitting_seed, slot = int(attempt.form_seed["sitting_seed"]), int(attempt.form_seed["slot"])
    redrawn, _algorithm = draw(runtime, FormSeed(sitting_seed, slot))
    # Fixed positions must equal the redraw; adaptive ones the choices replayed from the seed.
    fixed_served = [
        (entry.item_id, entry.option_order)
        for entry in form
        if entry is not None and not entry.adaptive
    ]
    fixed_redrawn = [
        (drawn.entry_id, tuple(drawn.option_order))
        for drawn, entry in zip(redrawn.items, form, strict=True)
        if entry is not None and not entry.adaptive
    ]
    matches = (
        fixed_served == fixed_redrawn
        and redrawn.bank_digest == attempt.form_seed.get("bank_digest")
        and _adaptive_matches(session, runtime, attempt, form)
    )
    history = _history(session, attempt_id, form)
    shown = integrity.views_of(session, attempt_id)
    passages = bank_service.form_passages(session, form.item_ids())
    items = []
    for position, entry in enumerate(form, start=1):
        if entry is None:
            continue
        order = entry.option_order
        content = runtime.items[entry.item_id]
        items.append(
            ReplayItem(
                position=position,
                item=f"{content.code} v{content.version}",
                section=content.section,
                stem=content.stem,
                options=tuple(
                    ReplayOption(
                        id=OPTION_LETTERS[k],
                        text=content.options[original],
                        original_label=content.option_labels[original],
                        points=None
                        if content.option_points is None
                        else content.option_points[original],
                    )
                    for k, original in enumerate(order)
                ),
                key=None
                if content.key_index is None
                else OPTION_LETTERS[order.index(content.key_index)],
                history=tuple(history.get(position, ())),
                stimulus=passages.by_item.get(entry.item_id),
                shown_at=tuple(shown.get(position, ())),
            )
        )
    return Replay(
        attempt_id=attempt_id,
        nomor_peserta=registration.nomor_peserta,
        exam=f"{runtime.code} v{runtime.version}",
        form_seed=dict(attempt.form_seed),
        matches_served_form=matches,
        status=AttemptStatus(attempt.status),
        started_at=attempt.started_at,
        finished_at=attempt.finished_at,
        items=tuple(items),
        viewer=viewer,
        stimuli={
            key: ReplayPassage(p.code, p.version, p.title, p.content)
            for key, p in passages.passages.items()
        },
    )
