"""What every ``ujian`` command shares: consoles, settings, the database and error output."""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console

from app import migrate
from app.db import Database, connect
from app.errors import AppError
from app.settings import Settings, get_settings

out = Console()
err = Console(stderr=True)


def cli_actor() -> str:
    """How the audit log names whoever runs a command."""
    try:
        return f"cli:{getpass.getuser()}"
    except OSError:
        return "cli:unknown"


def load_settings() -> Settings:
    """The environment's settings; exit 2 with the reason when they are invalid."""
    try:
        return get_settings()
    except ValueError as exc:
        err.print(f"[red]Configuration error:[/red] {exc}")
        raise typer.Exit(2) from exc


@contextmanager
def database(settings: Settings | None = None, *, migrated: bool = False) -> Iterator[Database]:
    """The database of ``settings`` (default: the environment's), closed when the command ends.

    Commands reach the data only through ``db.unit_of_work()``, as routes and background jobs
    do. ``migrated``: stop first unless the schema is at the newest revision.
    """
    db = connect(settings or load_settings())
    try:
        if migrated:
            require_migrated(db)
        yield db
    finally:
        db.dispose()


def require_migrated(db: Database) -> None:
    """Stop with a clear message unless the database is at the newest revision."""
    current, head = migrate.current_revision(db.engine), migrate.head_revision()
    if current != head:
        err.print(
            f"[red]The database is at revision {current or 'none'}, this Ujian needs {head}.[/red] "
            "Run: ujian db upgrade"
        )
        raise typer.Exit(2)


def fail(exc: Exception) -> typer.Exit:
    """Print why a command was refused (a table of input problems, a shortfall, a message)."""
    from item_bank.errors import BlueprintShortfall, InvalidInput

    if isinstance(exc, InvalidInput):
        from rich.table import Table

        table = Table(
            "file", "location", "field", "problem", title=f"{len(exc.problems)} problem(s)"
        )
        for problem in exc.problems:
            table.add_row(problem.file, problem.location, problem.field, problem.message)
        err.print(table)
    elif isinstance(exc, BlueprintShortfall):
        err.print("[red]The bank cannot serve this blueprint:[/red]")
        for shortfall in exc.shortfalls:
            err.print(f"  {shortfall}")
    elif isinstance(exc, AppError):
        err.print(f"[red]{exc.detail}[/red]")
    else:
        err.print(f"[red]{exc}[/red]")
    return typer.Exit(1)
