"""``ujian roster``: register the candidates of a sitting."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from app.cli.common import cli_actor, database, fail, load_settings, out
from app.clock import Clock
from app.errors import AppError

group = typer.Typer(help="Candidates of a sitting.", no_args_is_help=True)


@group.command("import")
def roster_import(
    sitting: Annotated[int, typer.Argument(help="sitting id")],
    csv_path: Annotated[Path, typer.Argument(exists=True, help="roster CSV")],
    pins_out: Annotated[
        Path,
        typer.Option(
            "--pins-out",
            help="where to write the PINs (CSV); a printable sheet is written beside it (.html)",
        ),
    ],
) -> None:
    """Register candidates in a sitting (all rows or none) and write their one-time PINs."""
    from app.services import exams, pin_sheet
    from item_bank.errors import InvalidInput

    settings = load_settings()
    with database(settings) as db:
        try:
            with db.unit_of_work() as session:
                issued = exams.import_roster(
                    session,
                    sitting,
                    csv_path.read_bytes(),
                    csv_path.name,
                    secret=settings.secret(),
                    actor=cli_actor(),
                    now=Clock().now(),
                )
                sheet = pin_sheet.render(session, sitting, issued)
        except (InvalidInput, AppError) as exc:
            raise fail(exc) from exc
    pins_out.write_text(exams.pins_csv(issued), encoding="utf-8")
    pins_out.chmod(0o600)
    html_path = pins_out.with_suffix(".html")
    html_path.write_text(sheet, encoding="utf-8")
    html_path.chmod(0o600)
    out.print(
        f"registered {len(issued)} candidates; PINs in {pins_out}, printable sheet {html_path}"
    )
