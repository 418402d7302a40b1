"""Shared fixtures: a migrated database (SQLite by default, PostgreSQL via UJIAN_TEST_DATABASE_URL),
the app around it, a controllable clock and staff accounts of every role."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text

from app import migrate
from app.clock import Clock
from app.db import Database, connect
from app.models import Base
from app.models.staff import Role
from app.settings import Mode, Settings

TEST_SECRET = "test-secret-" + "k" * 40


def test_database_url(tmp_dir: Path) -> str:
    """PostgreSQL when UJIAN_TEST_DATABASE_URL names one, else a SQLite file in ``tmp_dir``."""
    return os.environ.get("UJIAN_TEST_DATABASE_URL") or f"sqlite:///{tmp_dir / 'test.db'}"


def make_settings(url: str, var_dir: Path, **overrides: object) -> Settings:
    """Settings for tests: development mode, a fixed secret, a private var/ folder."""
    values: dict[str, object] = {
        "mode": Mode.DEVELOPMENT,
        "database_url": url,
        "secret_key": TEST_SECRET,
        "var_dir": var_dir,
        "sqlite_synchronous": "NORMAL",  # tests that need FULL set it; NORMAL keeps the suite fast
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The suite's database, migrated to head once."""
    url = test_database_url(tmp_path_factory.mktemp("db"))
    settings = make_settings(url, tmp_path_factory.mktemp("var"))
    db = connect(settings)
    migrate.upgrade(db.engine)
    db.dispose()
    return url


@pytest.fixture(scope="session")
def _session_db(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    from app import keys
    from app.services import audit

    var_dir = tmp_path_factory.mktemp("var")
    db = connect(make_settings(database_url, var_dir))
    # Services called without an app hash their audit events under the suite's secret too,
    # and sign with keys of the suite's own var/ folder.
    audit.use_secret(TEST_SECRET.encode())
    keys.use_var_dir(var_dir)
    yield db
    db.dispose()


#: Tables whose rows the migrations seed; tests keep them.
SEEDED_TABLES = frozenset({"bank_sections"})


def truncate_all(db: Database) -> None:
    """Empty every application table (the schema, alembic_version and seeded rows stay)."""
    tables = [t.name for t in reversed(Base.metadata.sorted_tables) if t.name not in SEEDED_TABLES]
    with db.engine.begin() as connection:
        if db.is_sqlite:
            for name in tables:
                connection.execute(text(f'DELETE FROM "{name}"'))
        else:
            quoted = ", ".join(f'"{name}"' for name in tables)
            connection.execute(text(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE"))


@pytest.fixture
def db(_session_db: Database) -> Iterator[Database]:
    """The migrated database, emptied after each test."""
    yield _session_db
    truncate_all(_session_db)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """The settings the test app runs with."""
    return make_settings(database_url, tmp_path / "var")


@pytest.fixture
def clock() -> Clock:
    """A clock the test can move forward."""
    return Clock()


@pytest.fixture
def app(settings: Settings, db: Database, clock: Clock) -> FastAPI:
    """The application on the test database."""
    from app.main import create_app

    return create_app(settings, db=db, clock=clock)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """An HTTP client for the app (lifespan runs)."""
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def make_staff(db: Database, clock: Clock) -> Callable[[Role, str | None], tuple[str, str]]:
    """Create a staff account of ``role``; returns (username, password)."""
    from app.services import staff

    def make(role: Role, username: str | None = None) -> tuple[str, str]:
        name = username or f"{role}-{secrets.token_hex(3)}"
        password = secrets.token_urlsafe(12)
        with db.session() as session:
            staff.create_user(
                session, username=name, password=password, role=role, now=clock.now(), actor="test"
            )
        return name, password

    return make


@pytest.fixture
def staff_headers(
    client: TestClient, make_staff: Callable[[Role, str | None], tuple[str, str]]
) -> Callable[[Role], dict[str, str]]:
    """Authorization headers of a fresh staff account of ``role``."""

    def headers(role: Role) -> dict[str, str]:
        username, password = make_staff(role, None)
        response = client.post(
            "/api/v1/auth/token", json={"username": username, "password": password}
        )
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['access_token']}"}

    return headers
