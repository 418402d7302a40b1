"""``ujian serve``: run the service."""

from __future__ import annotations

from typing import Annotated

import typer

from app.cli.common import database, load_settings, out


def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8000,
    workers: Annotated[int, typer.Option(help="worker processes")] = 1,
) -> None:
    """Run the service (the database must be migrated: ujian db upgrade)."""
    import uvicorn

    # Refuse to start on an old schema (the workers connect on their own).
    with database(migrated=True):
        pass
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # noqa: S104 - only for display
    out.print(
        f"Ujian is serving on [bold]http://{shown}:{port}[/bold]  "
        f"(candidates: /  proctors: /proctor  API: /docs)"
    )
    trusted = load_settings().trusted_proxy_networks
    out.print(
        "Trusted proxies (X-Forwarded-For believed from): "
        + (", ".join(str(network) for network in trusted) if trusted else "none")
    )
    uvicorn.run(
        "app.main:serve_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=None,
        access_log=False,
        # The app reads X-Forwarded-For itself, from UJIAN_TRUSTED_PROXIES only (uvicorn's own
        # handling would believe any local peer).
        proxy_headers=False,
        # Screens save every few seconds and poll while paused: keeping their connections open
        # longer than a typical proxy's 60 s idle timeout spares a TCP handshake per save and
        # a reconnect storm after a room-wide pause.
        timeout_keep_alive=75,
        # A whole site connects in the same seconds at the start of a session: a deeper accept
        # queue than the default 2,048 (the kernel caps it at net.core.somaxconn).
        backlog=4096,
        timeout_graceful_shutdown=5,
    )
