"""``ujian audit``: the tamper-evident audit log."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from app.cli.common import database, err, out

group = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)


@group.command("verify")
def audit_verify(
    as_json: Annotated[bool, typer.Option("--json", help="print a JSON report")] = False,
) -> None:
    """Check every audit chain end to end; exit 1 naming the first broken event."""
    from app.services import audit

    with database() as db, db.unit_of_work(write=False) as session:
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
