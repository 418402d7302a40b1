"""``ujian report``: reports for committees."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from app.cli.common import database, fail, out
from app.errors import AppError

group = typer.Typer(help="Reports for committees.", no_args_is_help=True)


@group.command("items")
def report_items(
    exam: str,
    as_json: Annotated[
        bool, typer.Option("--json", help="print JSON instead of writing HTML")
    ] = False,
    out_path: Annotated[
        Path | None, typer.Option("--out", help="HTML file (default: item-report-EXAM.html)")
    ] = None,
) -> None:
    """Item analysis for the committee: statistics, flags and plots (a self-contained HTML file)."""
    from app.reports.item_report import analysis_to_json, render_item_report_html
    from app.services import item_analysis

    with database() as db:
        try:
            with db.unit_of_work(write=False) as session:
                runtime, analysis = item_analysis.analyse_exam(session, exam)
        except AppError as exc:
            raise fail(exc) from exc
    if as_json:
        print(json.dumps(analysis_to_json(analysis), ensure_ascii=False))  # noqa: T201
        return
    target = out_path or Path(f"item-report-{exam}.html")
    target.write_text(
        render_item_report_html(
            analysis,
            f"{runtime.title} ({runtime.code} v{runtime.version})",
            correction_url=item_analysis.correction_link(exam),
        ),
        encoding="utf-8",
    )
    out.print(f"{len(analysis.flagged)} item(s) flagged; report written to {target}")
