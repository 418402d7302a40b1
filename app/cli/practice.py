"""``ujian practice``: practice exams (simulasi) — delete attempts past their retention."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import typer

from app.cli.common import database, load_settings, out
from app.clock import Clock

group = typer.Typer(help="Practice exams (simulasi).", no_args_is_help=True)


@group.command("purge")
def practice_purge(
    hours: Annotated[
        float | None,
        typer.Option(min=0.0, help="retention in hours (default: UJIAN_PRACTICE_RETENTION_HOURS)"),
    ] = None,
) -> None:
    """Delete practice attempts (answers and results included) older than the retention.

    Attempts still running are left to finish. Run it from cron; practice starts also delete a
    few expired attempts each.
    """
    from app.services import practice

    settings = load_settings()
    retention = timedelta(hours=settings.practice_retention_hours if hours is None else hours)
    with database(settings) as db, db.unit_of_work() as session:
        removed = practice.purge(session, now=Clock().now(), retention=retention)
    out.print(f"deleted {removed} practice attempt(s) older than {retention}")
