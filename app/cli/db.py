"""``ujian db``: the database schema."""

from __future__ import annotations

from typing import Annotated

import typer

from app import migrate
from app.cli.common import database, out

group = typer.Typer(help="Database schema.", no_args_is_help=True)


@group.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Migrate the database named by UJIAN_DATABASE_URL to the newest revision."""
    with database() as db:
        migrate.upgrade(db.engine, revision)
        out.print(f"database at revision {migrate.current_revision(db.engine)}")


@group.command("downgrade")
def db_downgrade(
    revision: Annotated[str, typer.Argument(help="target revision, or 'base'")],
) -> None:
    """Migrate down to REVISION (every revision is reversible)."""
    with database() as db:
        migrate.downgrade(db.engine, revision)
        out.print(f"database at revision {migrate.current_revision(db.engine) or 'base'}")


@group.command("current")
def db_current() -> None:
    """Print the database's revision and the newest one this Ujian ships."""
    with database() as db:
        out.print(
            f"current {migrate.current_revision(db.engine) or 'none'}, "
            f"head {migrate.head_revision()}"
        )
