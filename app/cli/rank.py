"""``ujian rank``: publish rankings."""

from __future__ import annotations

from typing import Annotated

import typer

from app.cli.common import cli_actor, database, fail, load_settings, out
from app.clock import Clock
from app.errors import AppError
from scoring.errors import ScoringError

group = typer.Typer(help="Rankings.", no_args_is_help=True)


@group.command("publish")
def rank_publish(
    exam: str,
    formation: Annotated[str | None, typer.Option(help="only this formation")] = None,
) -> None:
    """Publish the anonymized ranking snapshot(s) of an exam."""
    from app.services import rankings

    settings = load_settings()
    with database(settings) as db:
        try:
            with db.unit_of_work() as session:
                published = rankings.publish(
                    session,
                    exam,
                    secret=settings.secret(),
                    actor=cli_actor(),
                    now=Clock().now(),
                    formation=formation,
                )
                lines = [
                    f"{p.formation}: {p.outcome}"
                    + (
                        f" (snapshot {p.snapshot.number}, {p.changes} change(s), "
                        f"{p.snapshot.content_hash[:12]})"
                        if p.snapshot
                        else ""
                    )
                    for p in published
                ]
        except (AppError, ScoringError) as exc:
            raise fail(exc) from exc
    for line in lines:
        out.print(line)
