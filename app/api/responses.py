"""Shared route bits: id path parameters and the OpenAPI description of the error envelope.

``error_response`` (a returned, not raised, refusal as a response) is :mod:`app.errors`'s one
renderer, re-exported here for the routes and the answer path that import it from this module.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

from app.errors import error_response

__all__ = ["MAX_ID", "IdPath", "error_doc", "error_response"]

#: Ids are database integers (``integer`` on PostgreSQL): a larger one names nothing and must be
#: refused before it reaches a query the database cannot run.
MAX_ID = 2**31 - 1
IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]

#: The error envelope as OpenAPI describes it (every error status of every route).
ERROR_SCHEMA: dict[str, object] = {
    "type": "object",
    "title": "Error",
    "properties": {
        "error": {
            "type": "string",
            "description": "what went wrong, as a stable name (DeadlinePassed, ValidationError...)",
        },
        "detail": {"type": "string", "description": "what went wrong, in words for a person"},
        "retryable": {
            "type": "boolean",
            "description": (
                "true when sending the same request again may succeed: the service was "
                "unavailable (503), a rate limit says when to come back (429 with Retry-After, "
                "wait that long) or the database failed transiently; false for every refusal "
                "(the request must change, or the attempt's state will not let it through)"
            ),
        },
    },
    "required": ["error", "detail", "retryable"],
}


def error_doc(*codes: int) -> dict[int | str, dict[str, object]]:
    """OpenAPI entries for the error statuses a route can answer with."""
    return {
        code: {"description": "Error", "content": {"application/json": {"schema": ERROR_SCHEMA}}}
        for code in codes
    }
