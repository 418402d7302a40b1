"""``ujian sitting``: schedule sittings (sesi)."""

from __future__ import annotations

from typing import Annotated

import typer

from app.cli.common import cli_actor, database, fail, out
from app.clock import Clock
from app.errors import AppError

group = typer.Typer(help="Sittings (sesi).", no_args_is_help=True)


@group.command("create")
def sitting_create(
    exam: Annotated[str, typer.Option(help="exam code (its newest published version)")],
    name: Annotated[str, typer.Option(help="e.g. 'Sesi 1'")],
    starts_at: Annotated[
        str, typer.Option(help="ISO date-time; without an offset it is the site's local time")
    ],
    site: Annotated[str, typer.Option(help="test site (titik lokasi)")] = "",
    room: Annotated[str, typer.Option(help="room")] = "",
    timezone: Annotated[
        str, typer.Option(help="Asia/Jakarta (WIB), Asia/Makassar (WITA), Asia/Jayapura (WIT)")
    ] = "Asia/Jakarta",
    proctor: Annotated[list[str] | None, typer.Option(help="proctor account(s) to assign")] = None,
) -> None:
    """Schedule a sitting."""
    from app.services import exams

    with database() as db:
        try:
            with db.unit_of_work() as session:
                now = Clock().now()
                sitting = exams.create_sitting(
                    session,
                    exam_code=exam,
                    name=name,
                    starts_at=starts_at,
                    site=site,
                    room=room,
                    timezone=timezone,
                    actor=cli_actor(),
                    now=now,
                )
                for username in proctor or []:
                    exams.assign_proctor(session, sitting.id, username, actor=cli_actor(), now=now)
                sitting_id = sitting.id
                local = exams.local_time(sitting.starts_at, sitting.timezone)
        except AppError as exc:
            raise fail(exc) from exc
    out.print(f"sitting {sitting_id}: {name}, {exam}, starts {local}")


@group.command("unlock")
def sitting_unlock(
    sitting: Annotated[int, typer.Argument(help="sitting id")],
    nomor_peserta: Annotated[str, typer.Argument(help="the candidate's nomor peserta")],
    reason: Annotated[str, typer.Option(help="why (recorded in the audit log)")],
) -> None:
    """Clear the locks wrong PINs put on a candidate of a sitting (from every PC)."""
    from app.services import proctoring

    with database(migrated=True) as db:
        try:
            with db.unit_of_work() as session:
                done = proctoring.unlock_candidate(
                    session,
                    sitting,
                    nomor_peserta,
                    now=Clock().now(),
                    actor=cli_actor(),
                    reason=reason,
                )
        except AppError as exc:
            raise fail(exc) from exc
    if done.clients:
        out.print(f"unlocked {nomor_peserta} (locked from {', '.join(done.clients)})")
    else:
        out.print(f"{nomor_peserta} was not locked")
