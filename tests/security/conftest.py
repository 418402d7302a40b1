"""Module-scoped fixtures: one app, one client and one realistic world per test module.

The tests here send hundreds of requests against the same data, so the world is built once per
module (not once per test) and every table is emptied when the module is done, as the ``db``
fixture does after each test elsewhere. Tests in this package must not also use the
function-scoped ``db``/``app``/``client`` fixtures: those would empty the tables under the world.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.clock import Clock
from app.db import Database
from tests.conftest import make_settings, truncate_all
from tests.security.world import World, build_world


@pytest.fixture(scope="module")
def module_db(_session_db: Database) -> Iterator[Database]:
    """The migrated database, empty at the start and emptied at the end of the module."""
    truncate_all(_session_db)
    yield _session_db
    truncate_all(_session_db)


@pytest.fixture(scope="module")
def module_clock() -> Clock:
    """The real clock (the world's attempts run on server time)."""
    return Clock()


@pytest.fixture(scope="module")
def module_app(
    database_url: str,
    module_db: Database,
    module_clock: Clock,
    tmp_path_factory: pytest.TempPathFactory,
) -> FastAPI:
    """The application on the module's database."""
    from app.main import create_app

    settings = make_settings(database_url, tmp_path_factory.mktemp("security-var"))
    return create_app(settings, db=module_db, clock=module_clock)


@pytest.fixture(scope="module")
def module_client(module_app: FastAPI) -> Iterator[TestClient]:
    """A client of the module's app; its lifespan (background services) runs for the module."""
    with TestClient(module_app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture(scope="module")
def world(
    module_client: TestClient, module_db: Database, module_clock: Clock, module_app: FastAPI
) -> World:
    """The exam world every request of the module is about."""
    return build_world(module_client, module_db, module_clock, module_app.state.secret)
