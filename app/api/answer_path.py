"""The answer path: ``PUT /api/v1/attempts/current/responses/{position}`` served in ASGI.

A national sitting sends one save per click (110 items, answers changed, ragu-ragu toggled): it
is by far the most frequent request, and the framework's routing and dependency machinery cost
more CPU than the save itself. This middleware serves the ordinary save directly: a valid
candidate token, a JSON body that validates as :class:`SaveBody`, a position in range. It then
does exactly what the FastAPI route does (the same token check, the same group-commit writer,
the same :class:`SaveAck` or error envelope), only without the routing.

Anything else — no or a bad token, a body that does not validate, an adaptive position, another
content type — is handed to the FastAPI route untouched (the body it read is replayed), so every
refusal keeps its one implementation, its OpenAPI description and its tests. The route in
``app/api/candidate.py`` stays the documented interface and the reference behaviour.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.candidate import MAX_POSITION, claim_of, save_ack, save_request
from app.api.responses import error_response
from app.errors import AppError
from app.schemas.candidate import SaveBody
from app.services.container import Services
from app.services.refusals import AdaptivePosition

PREFIX = "/api/v1/attempts/current/responses/"
#: A save body is well under 100 bytes; anything longer goes the ordinary way.
MAX_BODY = 4096
_JSON_HEADERS = [(b"content-type", b"application/json")]


class AnswerPath:
    """Serve well-formed answer saves without the router; pass everything else through."""

    def __init__(self, app: ASGIApp, services: Services) -> None:
        self.app = app
        self.services = services

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "PUT"
            or not scope["path"].startswith(PREFIX)
        ):
            await self.app(scope, receive, send)
            return
        svc = self.services
        # The save's deadline is judged by its arrival, not by when its batch is written; the
        # route reads the same stamp when the request goes the ordinary way.
        received_at = svc.clock.now()
        scope.setdefault("state", {})["received_at"] = received_at
        tail = scope["path"][len(PREFIX) :]
        position = int(tail) if tail.isascii() and tail.isdigit() and len(tail) <= 4 else 0
        authorization = content_type = b""
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = value
            elif name == b"content-type":
                content_type = value
        claim = None
        # Only plain JSON takes the shortcut; any other type (``+json`` subtypes included) is
        # the route's to accept or refuse, so the two never disagree on what a body is.
        media_type = content_type.split(b";", 1)[0].strip().lower()
        if 1 <= position <= MAX_POSITION and media_type == b"application/json":
            claim = claim_of(svc, authorization.decode("latin-1"))
        if claim is None:
            await self.app(scope, receive, send)
            return

        chunks: list[bytes] = []
        size = 0
        messages: list[Message] = []
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break  # the client went away: the route will see the same
            chunk = message.get("body", b"")
            size += len(chunk)
            chunks.append(chunk)
            if size > MAX_BODY or not message.get("more_body", False):
                break
        body: SaveBody | None = None
        if size <= MAX_BODY and messages[-1]["type"] == "http.request":
            try:
                body = SaveBody.model_validate_json(b"".join(chunks))
            except ValidationError:
                body = None
        if body is None:
            await self.app(scope, _replay(messages, receive), send)
            return

        try:
            outcome = await svc.writer.save(save_request(claim, position, body, received_at))
        except AdaptivePosition:
            await self.app(scope, _replay(messages, receive), send)
            return
        except AppError as error:
            await error_response(error)(scope, receive, send)
            return
        ack = save_ack(outcome)
        payload = ack.__pydantic_serializer__.to_json(ack)
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [*_JSON_HEADERS, (b"content-length", str(len(payload)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": payload})


def _replay(messages: list[Message], receive: Receive) -> Receive:
    """A ``receive`` that gives back what was already read, then reads on."""
    pending = list(messages)

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        message: Any = await receive()
        return message  # type: ignore[no-any-return]

    return replay
