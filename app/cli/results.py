"""``ujian results``: check that every stored result is what its record gives."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated

import typer

from app.cli.common import database, fail, load_settings, out
from app.errors import AppError
from scoring.errors import ScoringError

group = typer.Typer(help="Stored results.", no_args_is_help=True)


@group.command("verify")
def results_verify(
    exam: Annotated[
        str | None, typer.Argument(help="exam code (default: every exam with a published version)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print a JSON report")] = False,
) -> None:
    """Recompute every stored result from its answer history, frozen form and the exam's
    current key; exit 0 when all match, 1 listing every mismatch (attempt, stored, recomputed,
    why)."""
    from rich.table import Table

    from app.services import verification
    from scoring.thresholds import format_score

    settings = load_settings()
    with database(settings) as db:
        try:
            # A writing unit of work: the check holds the exam's scoring revision shared, so
            # no correction commits half-way through it.
            with db.unit_of_work() as session:
                reports = (
                    [verification.verify(session, exam)]
                    if exam is not None
                    else verification.verify_all(session)
                )
        except (AppError, ScoringError) as exc:
            raise fail(exc) from exc
    clean = all(r.ok for r in reports)
    if as_json:
        out.print_json(
            json.dumps(
                {
                    "ok": clean,
                    "exams": [
                        {
                            "exam": r.exam,
                            "exam_version": r.exam_version,
                            "scoring_revision": r.scoring_revision,
                            "checked": r.checked,
                            "ok": r.ok,
                            "mismatches": [asdict(m) for m in r.mismatches],
                        }
                        for r in reports
                    ],
                }
            )
        )
        raise typer.Exit(0 if clean else 1)

    def shown(total: float | None, passed: bool | None) -> str:
        if total is None:
            return "-"
        return f"{format_score(total)} ({'pass' if passed else 'fail'})"

    for report in reports:
        head = (
            f"{report.exam} v{report.exam_version} (scoring revision {report.scoring_revision}): "
            f"{report.checked} result(s) recomputed"
        )
        if report.ok:
            out.print(f"{head}, all match")
            continue
        table = Table(
            "attempt",
            "stored",
            "recomputed",
            "why",
            title=f"{head}, {len(report.mismatches)} mismatch(es)",
        )
        for m in report.mismatches:
            table.add_row(
                str(m.attempt_id),
                shown(m.stored_total, m.stored_passed),
                shown(m.recomputed_total, m.recomputed_passed),
                m.why,
            )
        out.print(table)
    if not reports:
        out.print("no exam has a published version: nothing to verify")
    raise typer.Exit(0 if clean else 1)
