"""Every route that touches the database runs in one unit of work, in its own thread.

Like the authorization matrix, this walks the app's whole route table: a route that would take
its session from the ``SessionDep`` dependency (a yield-style dependency held across threads,
the SQLite deadlock of ``app/api/transaction.py``) fails here, and ``create_app`` refuses it
too. The checks are run against deliberately broken routes built here, so they can fail.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Annotated, Any

import fastapi.routing
import pytest
from fastapi import APIRouter, Depends, FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.api.transaction import (
    ApiRouter,
    UnitOfWorkRoute,
    check_routes,
    session_parameter,
    unit_of_work_mode,
    unit_of_work_problems,
)
from app.db import Database
from app.deps import ReadSessionDep, SessionDep, SessionOutsideUnitOfWork
from app.models.staff import Role, StaffUser
from app.services import staff

NOW = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


def api_routes(routes: list[Any]) -> list[Any]:
    """The routes with a FastAPI dependency tree, as the app serves them (routers included)."""
    walk = getattr(fastapi.routing, "iter_route_contexts", None)
    effective = list(walk(routes)) if walk is not None else routes
    return [r for r in effective if isinstance(getattr(r, "dependant", None), Dependant)]


def route_table_problems(routes: list[Any]) -> list[str]:
    """Everything wrong with ``routes``: a session from the dependency, or an unwrapped one."""
    problems = unit_of_work_problems(routes)
    for route in routes:
        declared = session_parameter(inspect.unwrap(route.endpoint))
        if declared is not None and unit_of_work_mode(route.endpoint) != declared[1]:
            problems.append(f"{route.path}: declares a {declared[1]} session, runs outside one")
    return problems


def test_every_route_of_the_app_takes_its_session_from_the_unit_of_work(app: FastAPI) -> None:
    routes = api_routes(app.routes)
    wrapped = [r for r in routes if unit_of_work_mode(r.endpoint) is not None]
    # Not vacuous: the table holds the API, and most of it reads or writes the database.
    assert len(routes) > 50
    assert len(wrapped) > 30
    assert {unit_of_work_mode(r.endpoint) for r in wrapped} == {"read", "write"}
    assert route_table_problems(routes) == []


# ---- the check fails on the routes it exists to catch ----------------------------------------


def unsafe_router() -> APIRouter:
    """A router built without the unit of work: its session would come from the dependency."""
    router = APIRouter()

    @router.get("/unsafe")
    def unsafe(session: SessionDep) -> dict[str, int]:
        return {"one": 1}

    return router


def needs_session(session: ReadSessionDep) -> int:
    return 1


def sub_dependency_router() -> APIRouter:
    """The route class wraps the route's own parameter, not a sub-dependency's."""
    router = ApiRouter()

    @router.get("/hidden")
    def hidden(value: Annotated[int, Depends(needs_session)]) -> dict[str, int]:
        return {"value": value}

    return router


@pytest.mark.parametrize("build", [unsafe_router, sub_dependency_router])
def test_a_route_taking_its_session_outside_the_unit_of_work_is_found(build: Any) -> None:
    routes = api_routes(build().routes)
    problems = route_table_problems(routes)
    assert problems
    assert routes[0].path in problems[0]
    with pytest.raises(RuntimeError, match="instead of the unit of work"):
        check_routes(routes)


def test_create_app_refuses_such_a_route(monkeypatch: pytest.MonkeyPatch, settings: Any) -> None:
    import app.main

    monkeypatch.setattr(app.main, "api_routers", lambda: [unsafe_router()])
    with pytest.raises(RuntimeError, match="GET /unsafe"):
        app.main.create_app(settings)


def test_an_unwrapped_route_fails_at_once_instead_of_deadlocking(db: Database) -> None:
    application = FastAPI()
    application.state.db = db
    application.include_router(unsafe_router())
    with (
        TestClient(application) as client,
        pytest.raises(SessionOutsideUnitOfWork, match="GET /unsafe"),
    ):
        client.get("/unsafe")


# ---- what the route class does --------------------------------------------------------------


def staff_count(db: Database) -> int:
    with db.unit_of_work(write=False) as session:
        return session.scalar(select(func.count()).select_from(StaffUser)) or 0


@pytest.fixture
def units(db: Database, monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """The ``write`` flag of every unit of work opened on ``db`` during the test."""
    opened: list[bool] = []
    original = db.unit_of_work

    def counting(*, write: bool = True) -> Any:
        opened.append(write)
        return original(write=write)

    monkeypatch.setattr(db, "unit_of_work", counting)
    return opened


@pytest.fixture
def client(db: Database) -> Iterator[TestClient]:
    router = ApiRouter(prefix="/t")

    @router.post("/plain")
    def plain(session: SessionDep) -> dict[str, bool]:
        staff.create_user(
            session, username="plain", password="x" * 16, role=Role.ADMIN, now=NOW, actor="t"
        )
        return {"in_transaction": session.in_transaction()}

    @router.post("/failing")
    def failing(session: SessionDep) -> dict[str, bool]:
        staff.create_user(
            session, username="failing", password="x" * 16, role=Role.ADMIN, now=NOW, actor="t"
        )
        session.flush()
        raise ValueError("refused after writing")

    @router.get("/read")
    def read(db_session: ReadSessionDep, name: str = "x") -> dict[str, str]:
        assert isinstance(db_session, Session)
        return {"name": name, "bind": db_session.get_bind().dialect.name}

    @router.get("/none")
    def no_database() -> dict[str, int]:
        return {"one": 1}

    application = FastAPI()
    application.state.db = db
    application.include_router(router)
    with TestClient(application, raise_server_exceptions=False) as test_client:
        yield test_client


def test_a_plain_route_commits_its_one_unit_of_work(
    client: TestClient, db: Database, units: list[bool]
) -> None:
    response = client.post("/t/plain")
    assert response.status_code == 200
    assert response.json() == {"in_transaction": True}
    assert units == [True]
    assert staff_count(db) == 1


def test_a_route_that_raises_leaves_nothing_behind(
    client: TestClient, db: Database, units: list[bool]
) -> None:
    assert client.post("/t/failing").status_code == 500
    assert units == [True]
    assert staff_count(db) == 0


def test_a_read_route_runs_in_a_read_unit_of_work_whatever_its_parameter_name(
    client: TestClient, units: list[bool]
) -> None:
    response = client.get("/t/read", params={"name": "abc"})
    assert response.status_code == 200
    assert response.json()["name"] == "abc"
    assert units == [False]


def test_a_route_without_a_session_opens_none(client: TestClient, units: list[bool]) -> None:
    assert client.get("/t/none").json() == {"one": 1}
    assert units == []


def test_the_session_parameter_stays_out_of_the_openapi_schema(client: TestClient) -> None:
    operation = client.get("/openapi.json").json()["paths"]["/t/read"]["get"]
    assert [p["name"] for p in operation["parameters"]] == ["name"]


def test_routes_that_cannot_run_in_a_unit_of_work_are_refused_when_declared() -> None:
    router = ApiRouter()
    with pytest.raises(TypeError, match="async route cannot take a database session"):

        @router.get("/async")
        async def asynchronous(session: SessionDep) -> None:
            return None

    with pytest.raises(TypeError, match="one session, not several"):

        @router.get("/two")
        def two(a: SessionDep, b: ReadSessionDep) -> None:
            return None

    assert router.route_class is UnitOfWorkRoute
