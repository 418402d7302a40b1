"""The error hierarchy and its one renderer.

Every error response of the service, whether raised (an exception handler), returned (a refusal
that must commit, such as a counted failed login) or sent by the answer path's shortcut, is built
by :func:`render_error` into the same envelope::

    {"error": Name, "detail": text, "retryable": bool, ...extra fields}

``retryable`` tells a client whether sending the very same request again may succeed: true for
an outage (503), a rate limit that says when (429 with ``Retry-After``) and a transient database
failure (a deadlock, a lost connection); false for every refusal (the deadline passed, the
attempt is not running, the device was replaced, the input is invalid). It is decided here only:
a class attribute on :class:`AppError` subclasses, else the default of the status
(:func:`retryable_by_default`). Errors of the pure packages (``item_bank``, ``scoring``,
``exam_day``), which know nothing of HTTP, are given a status and a ``retryable`` value with
:func:`register_domain_error`.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from exam_day import errors as exam_day_errors
from item_bank.errors import BlueprintShortfall, InvalidInput
from scoring.errors import ScoringError

log = logging.getLogger("ujian.errors")


def retryable_by_default(status_code: int, retry_after: object = None) -> bool:
    """Whether an error of ``status_code`` is worth sending again unchanged.

    503 (the service cannot serve right now) is; 429 is when it says when to come back
    (``retry_after``); every other status is a refusal of this request as it stands.
    """
    if status_code == 503:
        return True
    return status_code == 429 and retry_after is not None


class AppError(Exception):
    """An expected failure a client can act on; the class name is the ``error`` field.

    ``extra`` keyword arguments become fields of the envelope; ``retry_after`` (seconds) also
    becomes the ``Retry-After`` header.
    """

    status_code: ClassVar[int] = 400
    #: Whether the same request may succeed if sent again; ``None`` leaves it to the status
    #: (:func:`retryable_by_default`). A subclass sets it only to say something the status
    #: does not.
    retryable: ClassVar[bool | None] = None

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra

    @property
    def is_retryable(self) -> bool:
        """The ``retryable`` flag this error renders with."""
        if self.retryable is not None:
            return self.retryable
        return retryable_by_default(self.status_code, self.extra.get("retry_after"))


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
    """Too many failures: the caller is locked out for a while (``retry_after`` seconds)."""

    status_code = 429


class Unavailable(AppError):
    """The service cannot serve right now; retrying later is safe."""

    status_code = 503
    retryable = True


class EnvelopeResponse(JSONResponse):
    """JSON with every non-ASCII character escaped: an error that echoes the caller's input
    (a lone surrogate in a key, say) must not fail to encode and turn a 4xx into a 500."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, separators=(",", ":")).encode("ascii")


def envelope(error: str, detail: str, **extra: Any) -> dict[str, Any]:
    """The JSON body of every error response.

    ``retryable`` (a keyword, default false: a refusal) comes third; other keywords follow as
    further fields. Prefer :func:`render_error`, which also picks the flag's default by status.
    """
    retryable = bool(extra.pop("retryable", False))
    return {"error": error, "detail": detail, "retryable": retryable, **extra}


def render_error(
    error: str,
    detail: str,
    status_code: int,
    *,
    retryable: bool | None = None,
    extra: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> EnvelopeResponse:
    """The one error response: the envelope, its status and the headers a client acts on.

    ``retryable`` defaults to the status's (:func:`retryable_by_default`). A 401 carries
    ``WWW-Authenticate: Bearer``; an ``extra["retry_after"]`` (seconds) becomes ``Retry-After``.
    """
    fields = dict(extra or {})
    retry_after = fields.get("retry_after")
    if retryable is None:
        retryable = retryable_by_default(status_code, retry_after)
    sent = dict(headers or {})
    if status_code == 401:
        sent.setdefault("WWW-Authenticate", "Bearer")
    if retry_after is not None:
        sent.setdefault("Retry-After", str(math.ceil(float(retry_after))))
    return EnvelopeResponse(
        envelope(error, detail, retryable=retryable, **fields),
        status_code=status_code,
        headers=sent or None,
    )


def error_response(error: AppError) -> EnvelopeResponse:
    """The response of an :class:`AppError`, raised or returned (a refusal that must commit)."""
    return render_error(
        type(error).__name__,
        error.detail,
        error.status_code,
        retryable=error.is_retryable,
        extra=error.extra,
    )


# -- errors of the pure packages -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DomainError:
    """How an exception class of a pure package renders.

    ``name`` gives the ``error`` field (default: the raised exception's own class name),
    ``detail`` the text (default: ``str(exc)``), ``fields`` further fields of the envelope.
    """

    status_code: int
    retryable: bool = False
    name: Callable[[Exception], str] = field(default=lambda exc: type(exc).__name__)
    detail: Callable[[Exception], str] = field(default=str)
    fields: Callable[[Exception], dict[str, Any]] = field(default=lambda _exc: {})


_DOMAIN_ERRORS: dict[type[Exception], DomainError] = {}


def register_domain_error(
    cls: type[Exception],
    status_code: int,
    *,
    retryable: bool = False,
    name: str | Callable[[Exception], str] | None = None,
    detail: Callable[[Exception], str] | None = None,
    fields: Callable[[Exception], dict[str, Any]] | None = None,
) -> None:
    """Render ``cls`` (and its subclasses, unless registered themselves) with ``status_code``.

    Register before :func:`install_error_handlers` runs (at import time of the module that
    knows the mapping). ``name`` is a fixed ``error`` value or a function of the exception.
    """
    if not 400 <= status_code <= 599:
        msg = f"register_domain_error({cls.__name__}): status {status_code} is not an error"
        raise ValueError(msg)
    rendering = DomainError(status_code, retryable)
    if isinstance(name, str):
        fixed = name
        rendering = replace(rendering, name=lambda _exc: fixed)
    elif name is not None:
        rendering = replace(rendering, name=name)
    if detail is not None:
        rendering = replace(rendering, detail=detail)
    if fields is not None:
        rendering = replace(rendering, fields=fields)
    _DOMAIN_ERRORS[cls] = rendering


def domain_rendering(exc: Exception) -> DomainError | None:
    """The registration that renders ``exc``: its own class's, else its nearest base's."""
    for cls in type(exc).__mro__:
        found = _DOMAIN_ERRORS.get(cls)
        if found is not None:
            return found
    return None


def domain_error_response(exc: Exception) -> EnvelopeResponse:
    """The response of a registered pure-package exception."""
    rendering = domain_rendering(exc)
    if rendering is None:
        msg = f"{type(exc).__name__} is not a registered domain error"
        raise TypeError(msg)
    return render_error(
        rendering.name(exc),
        rendering.detail(exc),
        rendering.status_code,
        retryable=rendering.retryable,
        extra=rendering.fields(exc),
    )


def registered_domain_errors() -> Iterator[type[Exception]]:
    """The exception classes registered so far."""
    yield from _DOMAIN_ERRORS


def _invalid_input_fields(exc: Exception) -> dict[str, Any]:
    assert isinstance(exc, InvalidInput)
    return {"errors": [p.as_dict() for p in exc.problems]}


def _shortfall_fields(exc: Exception) -> dict[str, Any]:
    assert isinstance(exc, BlueprintShortfall)
    return {"shortfalls": [s.as_dict() for s in exc.shortfalls]}


register_domain_error(InvalidInput, 422, fields=_invalid_input_fields)
register_domain_error(
    BlueprintShortfall,
    409,
    detail=lambda exc: "the item bank cannot serve this exam's blueprint: " + str(exc),
    fields=_shortfall_fields,
)
# Every scoring failure shows clients the one name of the package's base class.
register_domain_error(ScoringError, 422, name="ScoringError")

#: The status of each sort of exam-day refusal.
EXAM_DAY_STATUS: dict[exam_day_errors.RefusalKind, int] = {
    exam_day_errors.RefusalKind.CONFLICT: 409,
    exam_day_errors.RefusalKind.UNAUTHORIZED: 401,
    exam_day_errors.RefusalKind.NOT_FOUND: 404,
    exam_day_errors.RefusalKind.BAD_REQUEST: 400,
}


def _exam_day_status(refusal: type[exam_day_errors.ExamDayError]) -> int:
    return EXAM_DAY_STATUS[refusal.kind]


def _exam_day_name(exc: Exception) -> str:
    assert isinstance(exc, exam_day_errors.ExamDayError)
    return exc.api_name


def _exam_day_detail(exc: Exception) -> str:
    assert isinstance(exc, exam_day_errors.ExamDayError)
    return exc.detail


def _register_exam_day() -> None:
    """Each exam-day refusal with the status of its kind and the ``error`` name clients know
    (``api_name``): a refusal that reaches a handler unmapped still renders as it did before."""
    for value in vars(exam_day_errors).values():
        if isinstance(value, type) and issubclass(value, exam_day_errors.ExamDayError):
            register_domain_error(
                value, _exam_day_status(value), name=_exam_day_name, detail=_exam_day_detail
            )


_register_exam_day()


# -- the handlers --------------------------------------------------------------------------------

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

#: PostgreSQL SQLSTATE classes and codes of failures that pass: a rolled-back transaction
#: (serialization failure, deadlock), a lock not granted in time, a lost or refused connection,
#: a server shutting down or out of resources.
_TRANSIENT_SQLSTATE_CLASSES = ("40", "08", "53")
_TRANSIENT_SQLSTATES = frozenset({"55P03", "57P01", "57P02", "57P03"})
#: SQLite's words for a database another connection holds.
_TRANSIENT_SQLITE = ("database is locked", "database table is locked")


def is_transient_database_error(exc: BaseException) -> bool:
    """Whether ``exc`` is a database failure that may not happen again (retrying is sound)."""
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    sqlstate = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    if isinstance(sqlstate, str):
        return sqlstate[:2] in _TRANSIENT_SQLSTATE_CLASSES or sqlstate in _TRANSIENT_SQLSTATES
    message = str(exc.orig).lower()
    return any(words in message for words in _TRANSIENT_SQLITE)


def _location(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body",)]
    return ".".join(parts) or "body"


def install_error_handlers(app: FastAPI) -> None:
    """Render every error, including 404, 405, 422 and 500, through :func:`render_error`."""

    @app.exception_handler(AppError)
    async def _app_error(_request: Request, exc: AppError) -> JSONResponse:
        return error_response(exc)

    async def _domain_error(_request: Request, exc: Exception) -> JSONResponse:
        return domain_error_response(exc)

    for cls in registered_domain_errors():
        app.add_exception_handler(cls, _domain_error)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"location": _location(tuple(e.get("loc", ()))), "message": str(e.get("msg", ""))}
            for e in exc.errors()
        ]
        detail = "; ".join(f"{e['location']}: {e['message']}" for e in errors[:5])
        return render_error("ValidationError", detail, 422, extra={"errors": errors})

    @app.exception_handler(DataError)
    async def _data_error(request: Request, exc: DataError) -> JSONResponse:
        # PostgreSQL refuses the value itself (a NUL in text, a number out of its type's range):
        # the request is at fault, and nothing was written (the transaction rolled back).
        log.info(
            "refused a value the database cannot hold on %s %s", request.method, request.url.path
        )
        return render_error(
            "InvalidInput", "the request holds a value that cannot be stored or searched", 422
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        name = _HTTP_NAMES.get(exc.status_code, "HTTPError")
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        headers = dict(exc.headers or {})
        retryable = retryable_by_default(
            exc.status_code, {k.lower(): v for k, v in headers.items()}.get("retry-after")
        )
        return render_error(name, detail, exc.status_code, retryable=retryable, headers=headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        # The name and text stay those of any unexpected error; only the flag tells a client
        # that a deadlock or a dropped connection is worth another try.
        return render_error(
            "InternalError",
            "an unexpected error occurred; it has been logged with this request's id",
            500,
            retryable=is_transient_database_error(exc),
        )
