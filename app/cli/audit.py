"""``ujian audit``: the tamper-evident audit log and its signed, off-server anchors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from app.cli.common import database, err, load_settings, out

group = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)


def _anchor_heads(path: Path, keys_file: Path | None) -> dict[str, tuple[int, str]]:
    """The heads of a signed anchor file, after checking its signature; exit 1 when it fails."""
    from app.keys import KeyFileError, KeyStore, check_document, public_keys_from_json
    from app.services import audit
    from app.services.rankings import SNAPSHOT_KIND

    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        if keys_file is not None:
            keys = public_keys_from_json(keys_file.read_text(encoding="utf-8"), str(keys_file))
        else:
            keys = KeyStore(load_settings().var_dir).public_keys()
    except (OSError, ValueError, KeyFileError) as exc:
        err.print(f"[red]{path}: cannot be read: {exc}[/red]")
        raise typer.Exit(1) from exc
    checked = check_document(document, keys)
    if not checked.valid or checked.body is None:
        err.print(f"[red]{path}: {checked.reason}[/red]")
        raise typer.Exit(1)
    body = dict(checked.body)
    if body.get("kind") == SNAPSHOT_KIND:
        # A published ranking snapshot carries the heads of its moment: it anchors too.
        body = {"heads": body.get("audit_heads")}
    elif body.get("kind") != audit.ANCHOR_KIND:
        err.print(f"[red]{path}: not an audit anchor (kind {body.get('kind')!r})[/red]")
        raise typer.Exit(1)
    try:
        return audit.heads_of(body, str(path))
    except ValueError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc


@group.command("verify")
def audit_verify(
    as_json: Annotated[bool, typer.Option("--json", help="print a JSON report")] = False,
    against: Annotated[
        Path | None,
        typer.Option(
            "--against",
            help="a signed anchor file (ujian audit anchor) or a downloaded signed ranking "
            "snapshot: also prove no event up to its heads changed",
        ),
    ] = None,
    keys_file: Annotated[
        Path | None,
        typer.Option("--keys", help="public keys to check the anchor file with (default: ours)"),
    ] = None,
) -> None:
    """Check every audit chain end to end; exit 1 naming the first broken event."""
    from app.services import audit

    heads = None if against is None else _anchor_heads(against, keys_file)
    settings = load_settings()
    audit.use_secret(settings.secret())
    with database(settings) as db, db.unit_of_work(write=False) as session:
        result = audit.verify(
            session, against=heads, against_name=f"the anchor file {against}" if against else ""
        )
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
        anchored = "" if heads is None else f"; {len(heads)} chain head(s) of {against} match"
        out.print(f"audit log intact: {result.events} events in {result.chains} chain(s){anchored}")
    else:
        for broken in result.breaks:
            err.print(f"[red]BROKEN[/red] {broken}")
    raise typer.Exit(0 if result.intact else 1)


@group.command("anchor")
def audit_anchor(
    out_file: Annotated[Path, typer.Option("--out", help="where to write the signed anchor")],
) -> None:
    """Write every chain's head to a file signed with the server's Ed25519 key.

    Keep the file off the server (the committee's copy): `ujian audit verify --against FILE`
    later proves that nothing up to those heads was changed, even by someone holding the
    server secret.
    """
    from datetime import UTC, datetime

    from app.keys import KeyStore, canonical
    from app.services import audit

    settings = load_settings()
    store = KeyStore(settings.var_dir)
    store.public_keys()  # a first key is made before the time it signs at
    with database(settings) as db, db.unit_of_work(write=False) as session:
        body = audit.anchor_body(session, datetime.now(UTC))
    document = store.sign(canonical(body))
    out_file.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    signature = document["signature"]
    key_id = signature["key_id"] if isinstance(signature, dict) else "?"
    out.print(f"anchored {body['chains']} chain head(s) in {out_file} (key {key_id})")
