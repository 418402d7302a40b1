"""Routes run their whole transaction inside the thread that runs the route.

Every API router is an :class:`ApiRouter`, whose routes are :class:`UnitOfWorkRoute`\\ s: an
endpoint that declares a ``SessionDep`` (writing) or ``ReadSessionDep`` (reading) parameter is
wrapped so that one unit of work (:meth:`app.db.Database.unit_of_work`) is opened, committed (or
rolled back) and closed around its body, in the same thread. Nothing has to be remembered per
route: declaring the parameter is enough. The commit happens before FastAPI serializes the
response, so an acknowledged change is durable, and the connection is back in the pool before
anything else.

Why not a ``yield`` dependency: FastAPI serializes a sync route's response in the thread pool
while function-scoped dependencies are still open. With SQLite's single write connection (or
any pool smaller than the thread pool) every worker thread can end up waiting for the
connection while its holder waits for a worker thread to serialize its response: a deadlock
seen under a synchronized start. A thread that holds a connection here never waits for
another thread. That is why ``SessionDep`` itself never opens anything (see
:func:`app.deps.get_session`) and why :func:`check_routes` refuses, when the app is built, any
route that would still reach it.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Literal, TypeVar, get_type_hints

from fastapi import APIRouter, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from app.db import Database
from app.deps import ReadSessionDep, SessionDep, get_read_session, get_session

F = TypeVar("F", bound=Callable[..., Any])
Mode = Literal["write", "read"]

#: Set on a wrapped endpoint: the kind of unit of work it runs in.
UNIT_OF_WORK_ATTRIBUTE = "__unit_of_work__"

_REQUEST = "_transaction_request"
_NAMES = ("__module__", "__name__", "__qualname__", "__doc__")
_SESSION_DEPENDENCIES = (get_session, get_read_session)


def unit_of_work_mode(endpoint: Callable[..., Any]) -> Mode | None:
    """How ``endpoint`` runs: in a ``"write"`` or ``"read"`` unit of work, or ``None`` (not
    wrapped)."""
    mode: Mode | None = getattr(endpoint, UNIT_OF_WORK_ATTRIBUTE, None)
    return mode


def session_parameter(func: Callable[..., Any]) -> tuple[str, Mode] | None:
    """The name and kind of ``func``'s ``SessionDep``/``ReadSessionDep`` parameter, if any.

    Raises
    ------
    TypeError
        If ``func`` declares more than one (a route runs in exactly one unit of work).
    """
    hints = get_type_hints(func, include_extras=True)
    found: list[tuple[str, Mode]] = []
    for name, hint in hints.items():
        if name == "return":
            continue
        if hint == SessionDep:
            found.append((name, "write"))
        elif hint == ReadSessionDep:
            found.append((name, "read"))
    if len(found) > 1:
        names = ", ".join(name for name, _ in found)
        msg = f"{func.__qualname__}: a route takes one session, not several ({names})"
        raise TypeError(msg)
    return found[0] if found else None


def transactional(func: F) -> F:
    """``func`` with its session parameter opened as one unit of work around its body.

    Returns ``func`` itself when it is already wrapped (never twice) or takes no session.
    """
    if unit_of_work_mode(func) is not None:
        return func
    found = session_parameter(func)
    if found is None:
        return func
    session_name, mode = found
    if inspect.iscoroutinefunction(func):
        msg = (
            f"{func.__qualname__}: an async route cannot take a database session; the unit of "
            "work runs in the route's own worker thread, so declare the route with plain def"
        )
        raise TypeError(msg)
    hints = get_type_hints(func, include_extras=True)
    signature = inspect.signature(func)
    parameters = [
        p.replace(annotation=hints.get(p.name, p.annotation))
        for p in signature.parameters.values()
        if p.name != session_name
    ]
    # FastAPI hands the Request to one parameter only: reuse the route's own if it has one.
    own = next((p.name for p in parameters if p.annotation is Request), None)
    if own is None:
        parameters.append(
            inspect.Parameter(_REQUEST, inspect.Parameter.KEYWORD_ONLY, annotation=Request)
        )
    keyword_only = [p for p in parameters if p.kind is inspect.Parameter.KEYWORD_ONLY]
    positional = [p for p in parameters if p.kind is not inspect.Parameter.KEYWORD_ONLY]
    write = mode == "write"

    @functools.wraps(func, assigned=_NAMES, updated=())
    def route(**kwargs: Any) -> Any:
        request: Request = kwargs[own] if own else kwargs.pop(_REQUEST)
        db: Database = request.app.state.db
        with db.unit_of_work(write=write) as session:
            return func(**{session_name: session}, **kwargs)

    returns = hints.get("return", signature.return_annotation)
    route.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[*positional, *keyword_only],
        # ``-> None`` must stay None (no response body), not NoneType.
        return_annotation=None if returns is type(None) else returns,
    )
    setattr(route, UNIT_OF_WORK_ATTRIBUTE, mode)
    return route  # type: ignore[return-value]


class UnitOfWorkRoute(APIRoute):
    """An API route whose endpoint runs in one unit of work when it declares a session."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, transactional(endpoint), **kwargs)


class ApiRouter(APIRouter):
    """The router every JSON API module uses: its routes are :class:`UnitOfWorkRoute`\\ s."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("route_class", UnitOfWorkRoute)
        super().__init__(**kwargs)


def _dependency_calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for dependency in dependant.dependencies:
        if dependency.call is not None:
            yield dependency.call
        yield from _dependency_calls(dependency)


def unit_of_work_problems(routes: Iterable[Any]) -> list[str]:
    """What is wrong with each route that would take a session outside the unit of work.

    ``routes`` are API routes or FastAPI's effective route contexts (anything with ``path``,
    ``methods``, ``endpoint`` and ``dependant``); others are skipped. A route is wrong when any
    dependency at any depth is the session dependency itself (a ``SessionDep`` parameter left
    unwrapped, or one declared by a sub-dependency), since that would hold a connection across
    threads.
    """
    problems = []
    for route in routes:
        dependant = getattr(route, "dependant", None)
        endpoint = getattr(route, "endpoint", None)
        if not isinstance(dependant, Dependant) or endpoint is None:
            continue
        if any(call in _SESSION_DEPENDENCIES for call in _dependency_calls(dependant)):
            methods = ",".join(sorted(getattr(route, "methods", None) or ()))
            problems.append(
                f"{methods} {route.path} ({getattr(endpoint, '__qualname__', endpoint)}) takes "
                "its session from the SessionDep dependency instead of the unit of work: build "
                "its router with ApiRouter, and take the session only as the route's own "
                "parameter (not in a sub-dependency)"
            )
    return problems


def check_routes(routes: Iterable[Any]) -> None:
    """Refuse to build an app with a route that takes a session outside the unit of work.

    Raises
    ------
    RuntimeError
        Naming every such route.
    """
    problems = unit_of_work_problems(routes)
    if problems:
        raise RuntimeError("; ".join(problems))
