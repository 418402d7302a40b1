"""Adaptive sections on the server: the first item at start, each next one inside the answer
request, no going back, reproducible from the attempt's seed and its answers.

An adaptive section occupies a fixed block of positions (its ``item_count`` is the most items
it gives). Positions not yet administered are ``None`` in the attempt's
:class:`~exam_day.form.FrozenForm`; an administered one is an adaptive
:class:`~exam_day.form.FormEntry`. Answers go to the same response tables as every other answer,
so the appeal record is one history.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from app.errors import AppError, NotFound
from app.models.attempt import Attempt, Response, ResponseEvent
from app.repositories import attempts as attempts_repo
from app.services.refusals import as_app_error
from app.services.runtime import ExamRuntime
from exam_day.attempt import AttemptState
from exam_day.errors import AdaptiveLocked as Locked
from exam_day.errors import ExamDayError
from exam_day.form import FormEntry, FrozenForm
from item_bank.exam_spec import SectionSpec
from scoring import cat, prng

#: A form as callers hold it: the model's value, or the stored JSON list.
FormLike = FrozenForm | Sequence[Any]


def as_form(form: FormLike) -> FrozenForm:
    """``form`` as a :class:`FrozenForm` (stored JSON is decoded)."""
    return form if isinstance(form, FrozenForm) else FrozenForm.decode(list(form))


@dataclass(frozen=True)
class AdaptiveAck:
    """What an adaptive answer did: stored, and which position comes next (None: section over)."""

    position: int
    option: str
    seq: int
    applied: bool
    next_position: int | None
    remaining_seconds: int
    saved_at: datetime


def section_blocks(runtime: ExamRuntime) -> dict[str, tuple[int, int]]:
    """Each section's positions as ``(first, last + 1)``, 1-based."""
    blocks: dict[str, tuple[int, int]] = {}
    start = 1
    for section in runtime.spec.sections:
        blocks[section.code] = (start, start + section.item_count)
        start += section.item_count
    return blocks


def section_at(runtime: ExamRuntime, position: int) -> SectionSpec | None:
    """The section that holds ``position``."""
    for section in runtime.spec.sections:
        lo, hi = section_blocks(runtime)[section.code]
        if lo <= position < hi:
            return section
    return None


def adaptive_seed(sitting_seed: int, slot: int) -> int:
    """The seed of every adaptive choice of one attempt (stored with its form)."""
    return prng.hashed_seed("ujian-adaptive", sitting_seed, slot)


def option_order(n_options: int, seed: int, position: int, shuffle: bool) -> list[int]:
    """The shown order of an adaptive item's options: a keyed Fisher-Yates shuffle, stable
    across Python and numpy releases (appeals replay it)."""
    return prng.hashed_shuffle(n_options, seed, position) if shuffle else list(range(n_options))


def _choose(
    runtime: ExamRuntime, section: SectionSpec, state: cat.AdaptiveState, seed: int, position: int
) -> FormEntry | None:
    adaptive = runtime.adaptive(section.code)
    choice = cat.next_item(state, adaptive.section.bank, adaptive.rules, seed)
    if choice is None:
        return None
    item_id = int(adaptive.section.ids[choice.item])
    content = runtime.items[item_id]
    order = option_order(len(content.options), seed, position, runtime.spec.shuffle_options)
    return FormEntry(item_id, tuple(order), adaptive=True)


def first_items(runtime: ExamRuntime, form: FrozenForm, seed: int) -> FrozenForm:
    """The form with each adaptive section's block emptied and its first item chosen."""
    blocks = section_blocks(runtime)
    out = list(form.entries)
    for section in runtime.spec.adaptive_sections:
        lo, hi = blocks[section.code]
        for position in range(lo, hi):
            out[position - 1] = None
        bank = runtime.adaptive(section.code).section.bank
        out[lo - 1] = _choose(runtime, section, cat.start(bank), seed, lo)
    return FrozenForm(tuple(out))


def section_state(
    runtime: ExamRuntime,
    section: SectionSpec,
    entries: FormLike,
    answers: Mapping[int, int | None],
) -> tuple[cat.AdaptiveState, list[int]]:
    """The section's adaptive state from its answered items, and their positions."""
    form = as_form(entries)
    adaptive = runtime.adaptive(section.code)
    lo, hi = section_blocks(runtime)[section.code]
    rows, responses, positions = [], [], []
    for position in range(lo, hi):
        entry = form.entries[position - 1]
        if entry is None or position not in answers:
            break
        item_id = entry.item_id
        rows.append(adaptive.row_of[item_id])
        responses.append(1 if answers[position] == runtime.items[item_id].key_index else 0)
        positions.append(position)
    return cat.restore(adaptive.section.bank, rows, responses), positions


def answer(
    session: Session,
    attempt: Attempt,
    runtime: ExamRuntime,
    *,
    generation: int,
    position: int,
    option: str | None,
    seq: int,
    now: datetime,
    grace: timedelta,
) -> AdaptiveAck:
    """Store the answer to the current item of an adaptive section and choose the next one.

    Runs under the attempt's row lock. The answered item is final; an answer to an earlier
    (locked) or later (not yet chosen) position is refused; a repeated request with the same
    ``seq`` is acknowledged without change.
    """
    state = AttemptState.of(attempt)
    refusal = state.save_refusal(generation, now, grace)
    if refusal is not None:
        raise as_app_error(refusal)
    section = section_at(runtime, position)
    if section is None or section.adaptive is None:
        msg = f"item {position} is not in an adaptive section"
        raise NotFound(msg)
    form = FrozenForm.decode(attempt.form)
    try:
        entry = form.given(position)
    except ExamDayError as refused:
        raise as_app_error(refused) from None
    stored = session.get(Response, (attempt.id, position))
    left = state.remaining(now) or 0
    lo, hi = section_blocks(runtime)[section.code]
    if stored is not None:
        if stored.seq == seq:
            following = (
                position + 1 if position + 1 < hi and form.entries[position] is not None else None
            )
            assert stored.option is not None  # an adaptive answer is never blank
            letter = entry.letter_of(stored.option)
            return AdaptiveAck(position, letter, seq, False, following, left, now)
        msg = "this item is already answered; answers in an adaptive section cannot be changed"
        raise as_app_error(Locked(msg))
    if option is None:
        msg = "choose an option: an adaptive item must be answered to go on"
        raise AppError(msg)
    try:
        original = entry.original_of(option, blank_allowed=False)
    except ExamDayError as refused:
        raise as_app_error(refused) from None
    session.add(
        Response(
            attempt_id=attempt.id,
            position=position,
            option=original,
            flagged=False,
            seq=seq,
            saved_at=now,
        )
    )
    session.add(
        ResponseEvent(
            attempt_id=attempt.id,
            position=position,
            option=original,
            flagged=False,
            seq=seq,
            at=now,
            device_generation=generation,
        )
    )
    session.flush()
    answers = answered_in(session, attempt.id, lo, hi)
    ability, _positions = section_state(runtime, section, form, answers)
    adaptive = runtime.adaptive(section.code)
    following = None
    if (
        position + 1 < hi
        and cat.stop_reason(ability, adaptive.section.bank, adaptive.rules) is None
    ):
        seed = int((attempt.form_seed or {})["adaptive_seed"])
        chosen = _choose(runtime, section, ability, seed, position + 1)
        if chosen is not None:
            form = form.with_entry(position + 1, chosen)
            attempt.form = form.encode()
            attempt.item_ids = form.item_ids()
            following = position + 1
    attempt.last_seen_at = now
    return AdaptiveAck(position, option, seq, True, following, left, now)


def form_item_ids(entries: FormLike) -> list[int]:
    """The item version id at each position (0: an adaptive position not given yet)."""
    return as_form(entries).item_ids()


def answered_in(session: Session, attempt_id: int, lo: int, hi: int) -> dict[int, int | None]:
    """Stored answers of positions ``lo .. hi - 1``."""
    return attempts_repo.answered_in(session, attempt_id, lo, hi)


def section_scores(
    runtime: ExamRuntime, entries: FormLike, answers: Mapping[int, int | None]
) -> dict[str, cat.AdaptiveScore]:
    """Every adaptive section's ability estimate and scale score."""
    out: dict[str, cat.AdaptiveScore] = {}
    entries = as_form(entries)
    for section in runtime.spec.adaptive_sections:
        adaptive = runtime.adaptive(section.code)
        state, _positions = section_state(runtime, section, entries, answers)
        out[section.code] = cat.finish(state, adaptive.section.bank, adaptive.rules, adaptive.scale)
    return out
