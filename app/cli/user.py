"""``ujian user``: staff accounts."""

from __future__ import annotations

import getpass
import sys
from typing import Annotated

import typer

from app.cli.common import cli_actor, database, err, out
from app.clock import Clock
from app.errors import AppError
from app.models.staff import Role

group = typer.Typer(help="Staff accounts.", no_args_is_help=True)


@group.command("create")
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
    with database(migrated=True) as db:
        try:
            with db.unit_of_work() as session:
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


@group.command("list")
def user_list() -> None:
    """List staff accounts."""
    from app.repositories import staff as repo

    with database() as db, db.unit_of_work(write=False) as session:
        for user in repo.list_users(session):
            state = "" if user.active else " (disabled)"
            out.print(f"{user.username}\t{user.role}{state}")


def _set_active(name: str, active: bool) -> None:
    from app.services import staff

    with database() as db:
        try:
            with db.unit_of_work() as session:
                staff.set_active(session, name, active, Clock().now(), cli_actor())
        except AppError as exc:
            err.print(f"[red]{exc.detail}[/red]")
            raise typer.Exit(1) from exc


@group.command("disable")
def user_disable(name: str) -> None:
    """Disable an account and revoke its tokens."""
    _set_active(name, False)
    out.print(f"disabled {name}")


@group.command("enable")
def user_enable(name: str) -> None:
    """Re-enable a disabled account."""
    _set_active(name, True)
    out.print(f"enabled {name}")


@group.command("revoke-tokens")
def user_revoke_tokens(name: str) -> None:
    """Revoke every live token of an account."""
    from app.services import staff

    with database() as db:
        try:
            with db.unit_of_work() as session:
                count = staff.revoke_all(session, name, Clock().now(), cli_actor())
        except AppError as exc:
            err.print(f"[red]{exc.detail}[/red]")
            raise typer.Exit(1) from exc
    out.print(f"revoked {count} token(s) of {name}")


@group.command("unlock")
def user_unlock(name: str) -> None:
    """Clear the login locks failed passwords put on an account (from every client)."""
    from app.services import staff

    with database(migrated=True) as db:
        try:
            with db.unit_of_work() as session:
                clients = staff.unlock(session, name, Clock().now(), cli_actor())
        except AppError as exc:
            err.print(f"[red]{exc.detail}[/red]")
            raise typer.Exit(1) from exc
    if clients:
        out.print(f"unlocked {name} (locked from {', '.join(clients)})")
    else:
        out.print(f"{name} was not locked")
