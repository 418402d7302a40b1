"""Request body limits, enforced while the body is read.

A plain ASGI middleware in front of everything else (the answer path's shortcut included), so no
route ever buffers more than its limit: a ``Content-Length`` over the limit is refused before a
byte of the body is read, and a body without one (chunked) is counted as it arrives and refused
as soon as the count passes the limit. The refusal is a 413 in the one error envelope
(``PayloadTooLarge``, ``limit_bytes``); the rest of an oversized body is never read, and the
server closes the connection after answering.

Most routes take small JSON bodies (``UJIAN_MAX_REQUEST_BYTES``). The upload routes have their
own limits: bank imports ``UJIAN_MAX_UPLOAD_BYTES``, rosters ``UJIAN_MAX_ROSTER_BYTES``, each
with room for the multipart framing around the files. Their files are spooled to a temporary
file on disk by the multipart parser, so even an upload at its limit does not sit in memory.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import render_error
from app.settings import Settings

#: Room for the multipart boundaries, part headers and form fields around an upload's files.
MULTIPART_FRAMING_BYTES = 2**20


@dataclass(frozen=True, slots=True)
class RouteLimit:
    """Bodies of requests whose path matches ``pattern`` may be at most ``limit`` bytes."""

    pattern: re.Pattern[str]
    limit: int


def upload_limits(settings: Settings) -> tuple[RouteLimit, ...]:
    """The routes taking uploads and their limits (files plus the multipart framing)."""
    return (
        RouteLimit(
            re.compile(r"/api/v1/items/import"),
            settings.max_upload_bytes + MULTIPART_FRAMING_BYTES,
        ),
        RouteLimit(
            re.compile(r"/api/v1/sittings/[^/]+/roster"),
            settings.max_roster_bytes + MULTIPART_FRAMING_BYTES,
        ),
    )


class PayloadTooLarge(Exception):
    """Raised from ``receive`` when the body passes its limit; the middleware answers 413."""


class BodyLimitMiddleware:
    """Refuse a request body over its route's limit with 413, reading at most the limit."""

    def __init__(
        self, app: ASGIApp, *, default_limit: int, route_limits: Sequence[RouteLimit] = ()
    ) -> None:
        if default_limit < 1:
            msg = f"BodyLimitMiddleware: default_limit must be positive, got {default_limit}"
            raise ValueError(msg)
        self.app = app
        self.default_limit = default_limit
        self.route_limits = tuple(route_limits)

    def limit_for(self, path: str) -> int:
        """The body limit of a request to ``path``."""
        for route in self.route_limits:
            if route.pattern.fullmatch(path):
                return route.limit
        return self.default_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope.get("path", ""))
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = -1
                if declared < 0:
                    await _refuse(send, 400, "BadRequest", "the Content-Length header is invalid")
                    return
                if declared > limit:
                    await _refuse_too_large(send, limit)
                    return
                break

        received = 0
        over = False
        started = False

        async def counted_receive() -> Message:
            nonlocal received, over
            if over:
                raise PayloadTooLarge
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # Stop here: the rest of the body stays unread and the app never sees it.
                    over = True
                    raise PayloadTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if over:
                # Whatever the app made of the interrupted body (a 400 for an unreadable one,
                # say), the answer is the 413 sent below.
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except PayloadTooLarge:
            if started:
                raise
        except Exception:
            if not over or started:
                raise
        if over and not started:
            await _refuse_too_large(send, limit)


async def _refuse_too_large(send: Send, limit: int) -> None:
    await _refuse(
        send,
        413,
        "PayloadTooLarge",
        f"the request body is larger than this route's limit of {limit} bytes",
        limit_bytes=limit,
    )


async def _refuse(send: Send, status: int, error: str, detail: str, **extra: object) -> None:
    response = render_error(error, detail, status, extra=extra, headers={"Connection": "close"})
    await send(
        {
            "type": "http.response.start",
            "status": response.status_code,
            "headers": response.raw_headers,
        }
    )
    await send({"type": "http.response.body", "body": response.body})
