"""The error hierarchy and its one JSON envelope: ``{"error": Name, "detail": text}``."""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from item_bank.errors import BlueprintShortfall, InvalidInput
from scoring.errors import ScoringError

log = logging.getLogger("ujian.errors")


class AppError(Exception):
    """An expected failure a client can act on; the class name is the ``error`` field."""

    status_code = 400

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class BadRequest(AppError):
    """The request is well-formed JSON but makes no sense."""


class Unauthorized(AppError):
    """No valid credentials."""

    status_code = 401


class Forbidden(AppError):
    """Valid credentials, but this role may not do this."""

    status_code = 403


class NotFound(AppError):
    """The thing named in the URL does not exist (or is not visible to the caller)."""

    status_code = 404


class Conflict(AppError):
    """The request clashes with the current state (finished attempt, published exam...)."""

    status_code = 409


class TooManyRequests(AppError):
    """Too many failures: the caller is locked out for a while."""

    status_code = 429


class Unavailable(AppError):
    """The service cannot serve right now; retrying later is safe."""

    status_code = 503


class EnvelopeResponse(JSONResponse):
    """JSON with every non-ASCII character escaped: an error that echoes the caller's input
    (a lone surrogate in a key, say) must not fail to encode and turn a 4xx into a 500."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, separators=(",", ":")).encode("ascii")


def envelope(error: str, detail: str, **extra: Any) -> dict[str, Any]:
    """The JSON body of every error response."""
    return {"error": error, "detail": detail, **extra}


_HTTP_NAMES = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    413: "PayloadTooLarge",
    415: "UnsupportedMediaType",
    422: "ValidationError",
    429: "TooManyRequests",
}


def _location(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body",)]
    return ".".join(parts) or "body"


def install_error_handlers(app: FastAPI) -> None:
    """Render every error, including 404, 405 and 422, in the one envelope."""

    @app.exception_handler(AppError)
    async def _app_error(_request: Request, exc: AppError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
        return EnvelopeResponse(
            envelope(type(exc).__name__, exc.detail, **exc.extra),
            status_code=exc.status_code,
            headers=headers,
        )

    @app.exception_handler(InvalidInput)
    async def _invalid_input(_request: Request, exc: InvalidInput) -> JSONResponse:
        return EnvelopeResponse(
            envelope(
                "InvalidInput",
                str(exc),
                errors=[p.as_dict() for p in exc.problems],
            ),
            status_code=422,
        )

    @app.exception_handler(BlueprintShortfall)
    async def _shortfall(_request: Request, exc: BlueprintShortfall) -> JSONResponse:
        return EnvelopeResponse(
            envelope(
                "BlueprintShortfall",
                "the item bank cannot serve this exam's blueprint: " + str(exc),
                shortfalls=[s.as_dict() for s in exc.shortfalls],
            ),
            status_code=409,
        )

    @app.exception_handler(ScoringError)
    async def _scoring_error(_request: Request, exc: ScoringError) -> JSONResponse:
        return EnvelopeResponse(envelope("ScoringError", str(exc)), status_code=422)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"location": _location(tuple(e.get("loc", ()))), "message": str(e.get("msg", ""))}
            for e in exc.errors()
        ]
        detail = "; ".join(f"{e['location']}: {e['message']}" for e in errors[:5])
        return EnvelopeResponse(envelope("ValidationError", detail, errors=errors), status_code=422)

    @app.exception_handler(DataError)
    async def _data_error(request: Request, exc: DataError) -> JSONResponse:
        # PostgreSQL refuses the value itself (a NUL in text, a number out of its type's range):
        # the request is at fault, and nothing was written (the transaction rolled back).
        log.info(
            "refused a value the database cannot hold on %s %s", request.method, request.url.path
        )
        return EnvelopeResponse(
            envelope("InvalidInput", "the request holds a value that cannot be stored or searched"),
            status_code=422,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        name = _HTTP_NAMES.get(exc.status_code, "HTTPError")
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        return EnvelopeResponse(
            envelope(name, detail), status_code=exc.status_code, headers=exc.headers
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return EnvelopeResponse(
            envelope(
                "InternalError",
                "an unexpected error occurred; it has been logged with this request's id",
            ),
            status_code=500,
        )
