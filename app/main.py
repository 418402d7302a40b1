"""The FastAPI application: routers, error envelope, request ids and background services."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.telemetry import TelemetryConfig

from app import keys
from app.api import api_routers
from app.api.answer_path import AnswerPath
from app.api.responses import error_doc
from app.api.transaction import check_routes
from app.clock import Clock
from app.db import Database, connect
from app.errors import install_error_handlers
from app.middleware.body_limit import BodyLimitMiddleware, upload_limits
from app.observability import RequestIdMiddleware
from app.services import audit
from app.services.container import Services
from app.settings import Settings, get_settings
from app.web import assets, pages

_NO_TELEMETRY: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}


def create_app(
    settings: Settings | None = None,
    db: Database | None = None,
    clock: Clock | None = None,
) -> FastAPI:
    """Build the application around ``settings`` (default: the environment's)."""
    settings = settings or get_settings()
    owns_db = db is None
    database = db or connect(settings)
    services = Services(
        settings=settings, db=database, clock=clock or Clock(), secret=settings.secret()
    )
    # Every audit event's hash is keyed by a sub-key of this secret.
    audit.use_secret(services.secret)
    # Slips, ranking snapshots and anchors are signed with the Ed25519 keys kept beside it.
    keys.use_var_dir(settings.var_dir)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        services.start()
        try:
            yield
        finally:
            services.stop()
            if owns_db:
                database.dispose()

    app = FastAPI(
        title="Ujian",
        version="0.1.0",
        summary="Computer Assisted Test engine for high-stakes selection",
        lifespan=lifespan,
        # FastAPI's own OpenTelemetry hooks look up the global providers on every request; they
        # are on only when the operator asks (UJIAN_OPENTELEMETRY=true, with an SDK installed).
        telemetry=None if settings.opentelemetry else _NO_TELEMETRY,
    )
    app.state.settings = settings
    app.state.db = database
    app.state.clock = services.clock
    app.state.secret = services.secret
    app.state.services = services
    install_error_handlers(app)
    # Added first, so it runs inside the request id: the answer path keeps its id and log line.
    app.add_middleware(AnswerPath, services=services)
    # Outside the answer path too: no route, shortcut or not, reads more than its limit.
    app.add_middleware(
        BodyLimitMiddleware,
        default_limit=settings.max_request_bytes,
        route_limits=upload_limits(settings),
    )
    app.add_middleware(RequestIdMiddleware)
    routers = api_routers()
    # A route that would take its session outside the unit of work is a latent deadlock:
    # refuse to build the app rather than find it under load.
    check_routes(route for router in [*routers, pages.router] for route in router.routes)
    for router in routers:
        # Any route may refuse its input: 400 (an unreadable body, a request that makes no
        # sense) or 422 (validation), both in the error envelope.
        app.include_router(router, responses=error_doc(400, 422))
    app.include_router(pages.router)
    app.mount("/static", assets.static_files(), name="static")
    return app


def serve_app() -> FastAPI:
    """The factory ``ujian serve`` hands to uvicorn (one call per worker process)."""
    from app.observability import configure_logging

    settings = get_settings()
    configure_logging(settings.log_level)
    return create_app(settings)
