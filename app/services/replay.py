"""Replaying a candidate's form for an appeal: redraw it from the stored seed and show it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.errors import NotFound
from app.models.attempt import Attempt, ResponseEvent
from app.models.sitting import Registration
from app.services.autosave import OPTION_LETTERS
from app.services.runtime import RuntimeCache
from item_bank.assembly import FormSeed, draw_form


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
    redrawn = draw_form(runtime.spec, runtime.snapshot, FormSeed(sitting_seed, slot))
    served = [(int(item_id), [int(o) for o in order]) for item_id, order in attempt.form]
    matches = served == [
        (i.entry_id, list(i.option_order)) for i in redrawn.items
    ] and redrawn.bank_digest == attempt.form_seed.get("bank_digest")
    history: dict[int, list[dict[str, Any]]] = {}
    for event in session.scalars(
        select(ResponseEvent)
        .where(ResponseEvent.attempt_id == attempt_id)
        .order_by(ResponseEvent.position, ResponseEvent.seq)
    ):
        order = served[event.position - 1][1] if 1 <= event.position <= len(served) else []
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
    for position, (item_id, order) in enumerate(served, start=1):
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
