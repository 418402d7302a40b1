"""``ujian exam``: define and publish exams."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from app.cli.common import cli_actor, database, fail, out
from app.clock import Clock
from app.errors import AppError

group = typer.Typer(help="Exams: define and publish.", no_args_is_help=True)


@group.command("create")
def exam_create(
    spec: Annotated[Path, typer.Argument(exists=True, help="exam spec (YAML or JSON)")],
) -> None:
    """Define an exam from a spec file (a draft version; a published one is never changed)."""
    from app.services import exams
    from item_bank.errors import InvalidInput

    with database(migrated=True) as db:
        try:
            with db.unit_of_work() as session:
                change = exams.define_exam(
                    session, spec.read_bytes(), spec.name, actor=cli_actor(), now=Clock().now()
                )
                code, version = change.exam.code, change.exam.version
        except (InvalidInput, AppError) as exc:
            raise fail(exc) from exc
    out.print(
        f"{code} v{version}: {change.outcome} (draft until published: ujian exam publish {code})"
    )


@group.command("publish")
def exam_publish(code: str) -> None:
    """Freeze the newest version of an exam with the bank it will draw from."""
    from app.services import exams
    from item_bank.errors import BlueprintShortfall

    with database() as db:
        try:
            with db.unit_of_work() as session:
                exam = exams.publish_exam(session, code, actor=cli_actor(), now=Clock().now())
                version = exam.version
        except (BlueprintShortfall, AppError) as exc:
            raise fail(exc) from exc
    out.print(f"{code} v{version} published")
