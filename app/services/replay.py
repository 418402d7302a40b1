"""Replaying a candidate's form for an appeal: redraw it from the stored seed and show it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.errors import NotFound
from app.models.attempt import Attempt, ResponseEvent
from app.models.sitting import Registration
from app.services.adaptive import answered_in, section_blocks, section_state
from app.services.attempts import draw
from app.services.autosave import OPTION_LETTERS
from app.services.runtime import ExamRuntime, RuntimeCache
from item_bank.assembly import FormSeed
from scoring import cat


def _adaptive_matches(session: Session, runtime: ExamRuntime, attempt: Attempt) -> bool:
    """Whether every adaptive item given equals the choice replayed from the seed and answers."""
    seed = int((attempt.form_seed or {}).get("adaptive_seed") or 0)
    entries = list(attempt.form or [])
    for section in runtime.spec.adaptive_sections:
        adaptive = runtime.adaptive(section.code)
        lo, hi = section_blocks(runtime)[section.code]
        answers = answered_in(session, attempt.id, lo, hi)
        _state, positions = section_state(runtime, section, entries, answers)
        responses = [
            1 if answers[p] == runtime.items[int(entries[p - 1][0])].key_index else 0
            for p in positions
        ]
        given = [int(entries[p - 1][0]) for p in range(lo, hi) if entries[p - 1] is not None]
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


def replay(
    session: Session, attempt_id: int, *, runtimes: RuntimeCache, viewer: str
) -> dict[str, Any]:
    """The candidate's items in order, as shown, with the key and every answer change."""
    attempt = session.get(Attempt, attempt_id)
    if attempt is None or attempt.form is None or attempt.form_seed is None:
        msg = f"attempt {attempt_id} has no form (never started)"
        raise NotFound(msg)
    registration = session.get(Registration, attempt.registration_id)
    assert registration is not None
    runtime = runtimes.get(session, attempt.exam_id)
    sitting_seed, slot = int(attempt.form_seed["sitting_seed"]), int(attempt.form_seed["slot"])
    redrawn, _algorithm = draw(runtime, FormSeed(sitting_seed, slot))
    served = [
        None if entry is None else (int(entry[0]), [int(o) for o in entry[1]])
        for entry in attempt.form
    ]
    # Fixed positions must equal the redraw; adaptive ones the choices replayed from the seed.
    fixed_served = [
        pair
        for pair, entry in zip(served, attempt.form, strict=True)
        if entry is not None and len(entry) == 2
    ]
    fixed_redrawn = [
        (i.entry_id, list(i.option_order))
        for i, entry in zip(redrawn.items, attempt.form, strict=True)
        if entry is not None and len(entry) == 2
    ]
    matches = (
        fixed_served == fixed_redrawn
        and redrawn.bank_digest == attempt.form_seed.get("bank_digest")
        and _adaptive_matches(session, runtime, attempt)
    )
    history: dict[int, list[dict[str, Any]]] = {}
    for event in session.scalars(
        select(ResponseEvent)
        .where(ResponseEvent.attempt_id == attempt_id)
        .order_by(ResponseEvent.position, ResponseEvent.seq)
    ):
        pair = served[event.position - 1] if 1 <= event.position <= len(served) else None
        order = pair[1] if pair is not None else []
        shown = (
            OPTION_LETTERS[order.index(event.option)]
            if event.option is not None and event.option in order
            else None
        )
        history.setdefault(event.position, []).append(
            {
                "at": event.at,
                "seq": event.seq,
                "option": shown,
                "flagged": event.flagged,
                "device": event.device_generation,
            }
        )
    items = []
    for position, pair in enumerate(served, start=1):
        if pair is None:
            continue
        item_id, order = pair
        content = runtime.items[item_id]
        key_shown = (
            OPTION_LETTERS[order.index(content.key_index)]
            if content.key_index is not None
            else None
        )
        items.append(
            {
                "position": position,
                "item": f"{content.code} v{content.version}",
                "section": content.section,
                "stem": content.stem,
                "options": [
                    {
                        "id": OPTION_LETTERS[k],
                        "text": content.options[original],
                        "original_label": content.option_labels[original],
                        "points": None
                        if content.option_points is None
                        else content.option_points[original],
                    }
                    for k, original in enumerate(order)
                ],
                "key": key_shown,
                "history": history.get(position, []),
            }
        )
    return {
        "attempt_id": attempt_id,
        "nomor_peserta": registration.nomor_peserta,
        "exam": f"{runtime.code} v{runtime.version}",
        "form_seed": attempt.form_seed,
        "matches_served_form": matches,
        "status": attempt.status,
        "started_at": attempt.started_at,
        "finished_at": attempt.finished_at,
        "items": items,
        "viewer": viewer,
    }
