"""The printable PIN and attendance sheet of a sitting (proctors hand PINs out at registration)."""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.orm import Session

from app.clock import Clock
from app.errors import NotFound
from app.repositories import sittings as sitting_repo
from app.services.exams import IssuedPin, local_time

_TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).resolve().parents[1] / "reports" / "templates"),
    autoescape=select_autoescape(["html", "j2"]),
)


def render(
    session: Session, sitting_id: int, pins: list[IssuedPin], clock: Clock | None = None
) -> str:
    """The sheet as one self-contained HTML page (print it; nothing is loaded from elsewhere)."""
    found = sitting_repo.sitting_and_exam(session, sitting_id)
    if found is None:
        msg = f"no sitting {sitting_id}"
        raise NotFound(msg)
    sitting, exam = found
    now = (clock or Clock()).now()
    return _TEMPLATES.get_template("pin_sheet.html.j2").render(
        sitting=sitting,
        exam_title=exam.title,
        starts_local=local_time(sitting.starts_at, sitting.timezone),
        printed_local=local_time(now, sitting.timezone),
        pins=sorted(pins, key=lambda p: p.slot),
    )
