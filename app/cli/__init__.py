"""The ``ujian`` command line: one module per command group, assembled here.

Every command reaches the data through ``Database.unit_of_work`` (see :mod:`app.cli.common`),
the same unit of work routes and background jobs use. A new group is a module with a
``group = typer.Typer(...)`` added below; a new top-level command a function registered below.
"""

from __future__ import annotations

import typer

from app.cli import (
    audit,
    bank,
    db,
    demo,
    exam,
    keys,
    practice,
    psychometrics,
    rank,
    report,
    results,
    roster,
    serve,
    simulate,
    sitting,
    user,
)

cli = typer.Typer(help="Ujian: Computer Assisted Test engine.", no_args_is_help=True)
cli.add_typer(db.group, name="db")
cli.add_typer(user.group, name="user")
cli.add_typer(audit.group, name="audit")
cli.add_typer(keys.group, name="keys")
cli.add_typer(bank.group, name="bank")
cli.add_typer(exam.group, name="exam")
cli.add_typer(sitting.group, name="sitting")
cli.add_typer(roster.group, name="roster")
cli.add_typer(rank.group, name="rank")
cli.add_typer(results.group, name="results")
cli.add_typer(report.group, name="report")
cli.add_typer(practice.group, name="practice")
cli.add_typer(simulate.group, name="simulate")
cli.command()(serve.serve)
cli.command()(keys.verify)
cli.command()(demo.demo)
cli.command()(psychometrics.calibrate)


def main() -> None:
    """Entry point of the ``ujian`` console script."""
    cli()
