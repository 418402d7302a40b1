"""``ujian demo``: demo data for a development install."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from app import migrate
from app.cli.common import database, err, load_settings, out


def demo(
    as_json: Annotated[bool, typer.Option("--json", help="print the logins as JSON")] = False,
) -> None:
    """Migrate, then load the demo bank, exam, an open sitting and candidates (idempotent)."""
    from app.demo.loader import load_demo

    settings = load_settings()
    if not settings.is_development:
        err.print("[red]The demo runs only with UJIAN_MODE=development.[/red]")
        raise typer.Exit(2)
    with database(settings) as db:
        migrate.upgrade(db.engine)
        logins = load_demo(db, settings.var_dir, settings.secret())
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
