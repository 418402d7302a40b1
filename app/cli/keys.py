"""``ujian keys`` and ``ujian verify``: the Ed25519 signing keys and offline checks with them."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from app.cli.common import err, load_settings, out

group = typer.Typer(help="The Ed25519 keys that sign slips, rankings and anchors.")


@group.command("show")
def keys_show(
    as_json: Annotated[
        bool, typer.Option("--json", help="print the keys as the route does")
    ] = False,
) -> None:
    """Print every public key with its validity period (a first key is made if none exists)."""
    from app.keys import KeyStore

    keys = KeyStore(load_settings().var_dir).public_keys()
    if as_json:
        out.print_json(json.dumps({"keys": [k.as_json() for k in keys]}))
        return
    for key in keys:
        until = "current" if key.valid_until is None else f"until {key.valid_until.isoformat()}"
        out.print(
            f"{key.key_id}  {key.algorithm}  {key.public_key}  "
            f"from {key.valid_from.isoformat()}  {until}"
        )


@group.command("rotate")
def keys_rotate() -> None:
    """Start a new signing key; the old public keys stay listed with their validity period."""
    from app.keys import KeyStore

    key = KeyStore(load_settings().var_dir).rotate(datetime.now(UTC))
    out.print(f"new signing key {key.key_id} ({key.public_key}), valid from {key.valid_from}")


def verify(
    document_file: Annotated[Path, typer.Argument(help="a downloaded signed document (JSON)")],
    keys_file: Annotated[
        Path | None,
        typer.Option(
            "--keys",
            help="public keys: a keys file or the saved JSON of GET /api/v1/public/keys "
            "(default: this server's own keys)",
        ),
    ] = None,
) -> None:
    """Check a signed slip, ranking snapshot or audit anchor offline; exit 0 authentic, 1 not."""
    from app.keys import KeyFileError, KeyStore, check_document, public_keys_from_json

    try:
        document = json.loads(document_file.read_text(encoding="utf-8"))
        if keys_file is not None:
            keys = public_keys_from_json(keys_file.read_text(encoding="utf-8"), str(keys_file))
        else:
            keys = KeyStore(load_settings().var_dir).public_keys()
    except (OSError, ValueError, KeyFileError) as exc:
        err.print(f"[red]NOT VERIFIED[/red] {document_file}: cannot be read: {exc}")
        raise typer.Exit(1) from exc
    checked = check_document(document, keys)
    if not checked.valid or checked.body is None:
        err.print(f"[red]NOT VERIFIED[/red] {document_file}: {checked.reason}")
        raise typer.Exit(1)
    kind = checked.body.get("kind", "document")
    out.print(f"VERIFIED {document_file}: {kind}, {checked.reason}")
