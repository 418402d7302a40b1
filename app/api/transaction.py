"""Routes run their whole transaction inside the thread that runs the route.

A route that takes ``session: SessionDep`` (or ``ReadSessionDep``) and is decorated with
:func:`in_transaction` gets a session opened, committed (or rolled back) and closed around
its body, in the same thread. The commit happens before FastAPI serializes the response, so an
acknowledged change is durable, and the connection is back in the pool before anything else.

Why not a ``yield`` dependency: FastAPI serializes a sync route's response in the thread pool
while function-scoped dependencies are still open. With SQLite's single write connection (or
any pool smaller than the thread pool) every worker thread can end up waiting for the
connection while its holder waits for a worker thread to serialize its response: a deadlock
seen under a synchronized start. A thread that holds a connection here never waits for
another thread.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar, get_type_hints

from fastapi import Request

from app.db import Database
from app.deps import ReadSessionDep, SessionDep

F = TypeVar("F", bound=Callable[..., Any])
_REQUEST = "_transaction_request"
_NAMES = ("__module__", "__name__", "__qualname__", "__doc__")


def in_transaction(func: F) -> F:
    """Open the route's ``session`` argument as one transaction around the route's body."""
    hints = get_type_hints(func, include_extras=True)
    annotation = hints.get("session")
    if annotation == SessionDep:
        write = True
    elif annotation == ReadSessionDep:
        write = False
    else:
        msg = f"{func.__qualname__}: in_transaction needs a 'session: SessionDep' parameter"
        raise TypeError(msg)
    signature = inspect.signature(func)
    parameters = [
        p.replace(annotation=hints.get(p.name, p.annotation))
        for p in signature.parameters.values()
        if p.name != "session"
    ]
    # FastAPI hands the Request to one parameter only: reuse the route's own if it has one.
    own = next((p.name for p in parameters if p.annotation is Request), None)
    request_name = own or _REQUEST
    if own is None:
        parameters.append(
            inspect.Parameter(_REQUEST, inspect.Parameter.KEYWORD_ONLY, annotation=Request)
        )
    keyword_only = [p for p in parameters if p.kind is inspect.Parameter.KEYWORD_ONLY]
    positional = [p for p in parameters if p.kind is not inspect.Parameter.KEYWORD_ONLY]

    @functools.wraps(func, assigned=_NAMES, updated=())
    def route(**kwargs: Any) -> Any:
        request: Request = kwargs[request_name] if own else kwargs.pop(_REQUEST)
        db: Database = request.app.state.db
        with db.session() if write else db.read_session() as session:
            return func(session=session, **kwargs)

    returns = hints.get("return", signature.return_annotation)
    route.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[*positional, *keyword_only],
        # ``-> None`` must stay None (no response body), not NoneType.
        return_annotation=None if returns is type(None) else returns,
    )
    return route  # type: ignore[return-value]
