"""Turning a returned (not raised) refusal into the error envelope, and shared OpenAPI bits."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path
from fastapi.responses import JSONResponse

from app.errors import AppError, envelope

#: Ids are database integers (``integer`` on PostgreSQL): a larger one names nothing and must be
#: refused before it reaches a query the database cannot run.
MAX_ID = 2**31 - 1
IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]


def error_response(error: AppError) -> JSONResponse:
    """The same response the exception handler would give, for refusals that must commit."""
    headers: dict[str, str] = {}
    if error.status_code == 401:
        headers["WWW-Authenticate"] = "Bearer"
    retry_after = error.extra.get("retry_after")
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    return JSONResponse(
        envelope(type(error).__name__, error.detail, **error.extra),
        status_code=error.status_code,
        headers=headers,
    )


def error_doc(*codes: int) -> dict[int | str, dict[str, object]]:
    """OpenAPI entries for the error statuses a route can answer with."""
    schema = {
        "type": "object",
        "properties": {"error": {"type": "string"}, "detail": {"type": "string"}},
        "required": ["error", "detail"],
    }
    return {
        code: {"description": "Error", "content": {"application/json": {"schema": schema}}}
        for code in codes
    }
