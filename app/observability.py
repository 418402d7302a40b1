"""Logging with the request id on every line, and the middleware that assigns that id."""

from __future__ import annotations

import itertools
import logging
import re
import time
import uuid
from contextvars import ContextVar
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")
# Ids are a random per-process prefix and a counter: unique across processes, and cheaper
# than a fresh UUID on every request of the answer path.
_PREFIX = uuid.uuid4().hex[:12]
_counter = itertools.count(1)


def _next_id() -> str:
    return f"{_PREFIX}{next(_counter):020d}"


_VALID_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
access_log = logging.getLogger("ujian.access")

LOG_FORMAT = "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to every record (``-`` outside a request: startup, sweeper)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


def configure_logging(level: str = "INFO") -> None:
    """Send every logger, uvicorn's included, through one handler that prints the request id."""
    handler = logging.StreamHandler()
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    # Our own access line carries the id; uvicorn's would duplicate it without one.
    logging.getLogger("uvicorn.access").disabled = True


class RequestIdMiddleware:
    """Give each request an id (the client's ``X-Request-ID`` if well-formed), log one access line.

    A plain ASGI middleware: Starlette's BaseHTTPMiddleware costs a task per request on the
    answer path.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        supplied = ""
        for name, value in scope.get("headers", ()):
            if name == b"x-request-id":
                supplied = value.decode("latin-1")
                break
        request_id = supplied if supplied and _VALID_ID.match(supplied) else _next_id()
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status: dict[str, Any] = {"code": 0}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                headers = list(message.get("headers", ()))
                headers.append((b"x-request-id", request_id.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if access_log.isEnabledFor(logging.INFO):
                access_log.info(
                    "%s %s %s %.1fms",
                    scope.get("method", ""),
                    scope.get("path", ""),
                    status["code"],
                    (time.perf_counter() - started) * 1000,
                )
            request_id_var.reset(token)
