"""The ``ujian`` command line: database, service, demo data, accounts and audit."""

from __future__ import annotations

import getpass
import json
import sys
from typing import Annotated

import typer
from rich.console import Console

from app import migrate
from app.db import Database, connect
from app.errors import AppError
from app.models.staff import Role
from app.settings import Settings, get_settings

cli = typer.Typer(help="Ujian: Computer Assisted Test engine.", no_args_is_help=True)
db_cli = typer.Typer(help="Database schema.", no_args_is_help=True)
user_cli = typer.Typer(help="Staff accounts.", no_args_is_help=True)
audit_cli = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)
cli.add_typer(db_cli, name="db")
cli.add_typer(user_cli, name="user")
cli.add_typer(audit_cli, name="audit")

out = Console()
err = Console(stderr=True)


def cli_actor() -> str:
    """How the audit log names whoever runs a command."""
    try:
        return f"cli:{getpass.getuser()}"
    except OSError:
        return "cli:unknown"


def _settings() -> Settings:
    try:
        return get_settings()
    except ValueError as exc:
        err.print(f"[red]Configuration error:[/red] {exc}")
        raise typer.Exit(2) from exc


def _database() -> Database:
    return connect(_settings())


def require_migrated(db: Database) -> None:
    """Stop with a clear message unless the database is at the newest revision."""
    current, head = migrate.current_revision(db.engine), migrate.head_revision()
    if current != head:
        err.print(
            f"[red]The database is at revision {current or 'none'}, this Ujian needs {head}.[/red] "
            "Run: ujian db upgrade"
        )
        raise typer.Exit(2)


@db_cli.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Migrate the database named by UJIAN_DATABASE_URL to the newest revision."""
    db = _database()
    migrate.upgrade(db.engine, revision)
    out.print(f"database at revision {migrate.current_revision(db.engine)}")
    db.dispose()


@db_cli.command("downgrade")
def db_downgrade(
    revision: Annotated[str, typer.Argument(help="target revision, or 'base'")],
) -> None:
    """Migrate down to REVISION (every revision is reversible)."""
    db = _database()
    migrate.downgrade(db.engine, revision)
    out.print(f"database at revision {migrate.current_revision(db.engine) or 'base'}")
    db.dispose()


@db_cli.command("current")
def db_current() -> None:
    """Print the database's revision and the newest one this Ujian ships."""
    db = _database()
    out.print(
        f"current {migrate.current_revision(db.engine) or 'none'}, head {migrate.head_revision()}"
    )
    db.dispose()


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8000,
    workers: Annotated[int, typer.Option(help="worker processes")] = 1,
) -> None:
    """Run the service (the database must be migrated: ujian db upgrade)."""
    import uvicorn

    settings = _settings()
    db = connect(settings)
    require_migrated(db)
    db.dispose()
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # noqa: S104 - only for display
    out.print(
        f"Ujian is serving on [bold]http://{shown}:{port}[/bold]  "
        f"(candidates: /  proctors: /proctor  API: /docs)"
    )
    uvicorn.run(
        "app.main:serve_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=None,
        access_log=False,
        proxy_headers=True,
        timeout_graceful_shutdown=5,
    )


@cli.command()
def demo(
    as_json: Annotated[bool, typer.Option("--json", help="print the logins as JSON")] = False,
) -> None:
    """Migrate, then load the demo bank, exam, an open sitting and candidates (idempotent)."""
    from app.demo.loader import load_demo

    settings = _settings()
    if not settings.is_development:
        err.print("[red]The demo runs only with UJIAN_MODE=development.[/red]")
        raise typer.Exit(2)
    db = connect(settings)
    migrate.upgrade(db.engine)
    logins = load_demo(db, settings.var_dir, settings.secret())
    db.dispose()
    if as_json:
        print(json.dumps(logins.as_dict(), ensure_ascii=False))  # noqa: T201 - machine output
        return
    out.print("[bold]Demo loaded.[/bold] Staff logins (POST /api/v1/auth/token, or the pages):")
    for row in logins.staff:
        out.print(f"  {row['role']:<10} {row['username']:<10} password {row['password']}")
    if logins.sittings:
        out.print("Open sittings:")
        for sitting in logins.sittings:
            out.print(f"  #{sitting['id']} {sitting['exam']} {sitting.get('name', '')}")
    if logins.candidates:
        out.print("Candidates (log in at / with nomor peserta and PIN):")
        for row in logins.candidates[:5]:
            out.print(f"  nomor peserta {row['nomor_peserta']}  PIN {row['pin']}")
        if len(logins.candidates) > 5:
            out.print(f"  ... and {len(logins.candidates) - 5} more (ujian demo --json lists all)")


@user_cli.command("create")
def user_create(
    name: Annotated[str, typer.Argument(help="username")],
    role: Annotated[Role, typer.Option(help="admin, committee or proctor")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="read the password from standard input")
    ] = False,
) -> None:
    """Create a staff account."""
    from app.services import staff

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("password: ")
    db = _database()
    require_migrated(db)
    from app.clock import Clock

    try:
        with db.session() as session:
            staff.create_user(
                session,
                username=name,
                password=password,
                role=role,
                now=Clock().now(),
                actor=cli_actor(),
            )
    except AppError as exc:
        err.print(f"[red]{exc.detail}[/red]")
        raise typer.Exit(1) from exc
    out.print(f"created {role} {name}")


@user_cli.command("list")
def user_list() -> None:
    """List staff accounts."""
    from app.repositories import staff as repo

    db = _database()
    with db.read_session() as session:
        for user in repo.list_users(session):
            state = "" if user.active else " (disabled)"
            out.print(f"{user.username}\t{user.role}{state}")


def _set_active(name: str, active: bool) -> None:
    from app.clock import Clock
    from app.services import staff

    db = _database()
    try:
        with db.session() as session:
            staff.set_active(session, name, active, Clock().now(), cli_actor())
    except AppError as exc:
        err.print(f"[red]{exc.detail}[/red]")
        raise typer.Exit(1) from exc


@user_cli.command("disable")
def user_disable(name: str) -> None:
    """Disable an account and revoke its tokens."""
    _set_active(name, False)
    out.print(f"disabled {name}")


@user_cli.command("enable")
def user_enable(name: str) -> None:
    """Re-enable a disabled account."""
    _set_active(name, True)
    out.print(f"enabled {name}")


@user_cli.command("revoke-tokens")
def user_revoke_tokens(name: str) -> None:
    """Revoke every live token of an account."""
    from app.clock import Clock
    from app.services import staff

    db = _database()
    try:
        with db.session() as session:
            count = staff.revoke_all(session, name, Clock().now(), cli_actor())
    except AppError as exc:
        err.print(f"[red]{exc.detail}[/red]")
        raise typer.Exit(1) from exc
    out.print(f"revoked {count} token(s) of {name}")


@audit_cli.command("verify")
def audit_verify(
    as_json: Annotated[bool, typer.Option("--json", help="print a JSON report")] = False,
) -> None:
    """Check every audit chain end to end; exit 1 naming the first broken event."""
    from app.services import audit

    db = _database()
    with db.read_session() as session:
        result = audit.verify(session)
    if as_json:
        out.print_json(
            json.dumps(
                {
                    "intact": result.intact,
                    "events": result.events,
                    "chains": result.chains,
                    "breaks": [
                        {"event_id": b.event_id, "chain": b.chain, "seq": b.seq, "reason": b.reason}
                        for b in result.breaks
                    ],
                }
            )
        )
    elif result.intact:
        out.print(f"audit log intact: {result.events} events in {result.chains} chain(s)")
    else:
        for broken in result.breaks:
            err.print(f"[red]BROKEN[/red] {broken}")
    raise typer.Exit(0 if result.intact else 1)


def main() -> None:
    """Entry point of the ``ujian`` console script."""
    cli()


if __name__ == "__main__":
    main()
