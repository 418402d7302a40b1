"""``ujian report``: reports for committees."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from app.cli.common import database, fail, out
from app.errors import AppError
from scoring.errors import ScoringError

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
                dif = item_analysis.dif_reports(session, exam)
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
            dif=dif,
        ),
        encoding="utf-8",
    )
    out.print(f"{len(analysis.flagged)} item(s) flagged; report written to {target}")


@group.command("integrity")
def report_integrity(
    exam: str,
    sitting: Annotated[int | None, typer.Option(help="one sitting only")] = None,
    output_format: Annotated[
        str, typer.Option("--format", help="html, csv, xlsx or json")
    ] = "html",
    row_length: Annotated[int, typer.Option(help="seats per room row")] = 10,
    language: Annotated[str, typer.Option("--lang", help="id or en (html)")] = "id",
    out_path: Annotated[
        Path | None, typer.Option("--out", help="file (default: integrity-EXAM.FORMAT)")
    ] = None,
) -> None:
    """Integrity evidence for the committee: attempts ranked, each flag with its reason."""
    from app.reports.integrity_report import render_integrity_report_html
    from app.services import integrity
    from app.web.i18n import translate

    if output_format not in {"html", "csv", "xlsx", "json"}:
        msg = f"unknown format {output_format!r}; expected html, csv, xlsx or json"
        raise typer.BadParameter(msg, param_hint="--format")
    if language not in integrity.LANGUAGES:
        raise typer.BadParameter("expected id or en", param_hint="--lang")
    with database() as db:
        try:
            with db.unit_of_work(write=False) as session:
                found = integrity.integrity_report(
                    session, exam, sitting_id=sitting, row_length=row_length, language=language
                )
        except (AppError, ScoringError) as exc:
            raise fail(exc) from exc
    suffix = f"-sitting-{sitting}" if sitting else ""
    target = out_path or Path(f"integrity-{exam}{suffix}.{output_format}")
    if output_format == "html":
        target.write_text(render_integrity_report_html(found, language), encoding="utf-8")
    elif output_format == "csv":
        target.write_text(integrity.export_csv(found), encoding="utf-8")
    elif output_format == "xlsx":
        target.write_bytes(integrity.export_xlsx(found))
    else:
        from app.schemas.integrity import IntegrityReportOut

        body = IntegrityReportOut.model_validate(found).model_dump(mode="json")
        target.write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")
    for lang in integrity.LANGUAGES:
        out.print(
            translate(
                lang,
                "integrity.cli.written",
                flagged=len(found.flagged),
                attempts=found.attempts_analysed,
                path=target,
            )
        )


@group.command("dif")
def report_dif(
    exam: str,
    group_field: Annotated[
        str, typer.Option("--group", help="region, gender or category")
    ] = "region",
    reference: Annotated[
        str | None, typer.Option(help="reference group (default: the largest)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Mantel-Haenszel DIF (ETS A/B/C, purified) of every item by a roster group field."""
    from rich.table import Table

    from app.services import integrity
    from app.web.i18n import translate

    with database() as db:
        try:
            with db.unit_of_work(write=False) as session:
                found = integrity.dif_report(session, exam, group_field, reference=reference)
        except (AppError, ScoringError) as exc:
            raise fail(exc) from exc
    if as_json:
        from app.schemas.integrity import DIFReportOut

        body = DIFReportOut.model_validate(
            {
                "exam_code": found.exam_code,
                "group_field": found.group_field,
                "reference": found.reference,
                "group_sizes": found.group_sizes,
                "small_sample": list(found.small_sample),
                "items": found.items,
                "flagged": found.flagged,
            }
        )
        print(json.dumps(body.model_dump(mode="json"), ensure_ascii=False))  # noqa: T201
        return

    def both(key: str) -> str:
        return f"{translate('id', key)} / {translate('en', key)}"

    table = Table(
        both("integrity.dif_item"),
        both("integrity.dif_focal"),
        "n",
        "Δ_MH",
        both("integrity.dif_class"),
        both("integrity.dif_correct"),
    )
    for item in found.flagged:
        table.add_row(
            item.code,
            item.focal,
            f"{item.n_reference}/{item.n_focal}",
            "–" if item.delta is None else f"{item.delta:+.2f}",
            item.dif_class,
            item.correction_url,
        )
    out.print(table)
    sizes = ", ".join(f"{name} {size}" for name, size in sorted(found.group_sizes.items()))
    for lang in integrity.LANGUAGES:
        out.print(
            translate(lang, "integrity.cli.dif_written", flagged=len(found.flagged), sizes=sizes)
        )
