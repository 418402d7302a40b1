"""Every revision upgrades, downgrades and upgrades again, on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from app import migrate
from app.db import connect
from app.models import Base
from tests.conftest import make_settings


@pytest.fixture
def fresh_url(tmp_path) -> Iterator[str]:
    """An empty database of the suite's backend, dropped afterwards."""
    base = os.environ.get("UJIAN_TEST_DATABASE_URL")
    if not base:
        yield f"sqlite:///{tmp_path / 'migrations.db'}"
        return
    url = make_url(base).set(drivername="postgresql+psycopg")
    name = f"ujian_migr_{secrets.token_hex(4)}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _tables(engine) -> set[str]:
    return set(inspect(engine).get_table_names()) - {"alembic_version"}


def test_upgrade_downgrade_upgrade(fresh_url, tmp_path):
    db = connect(make_settings(fresh_url, tmp_path / "var"), fresh_url)
    try:
        migrate.upgrade(db.engine)
        assert migrate.current_revision(db.engine) == migrate.head_revision()
        assert _tables(db.engine) == set(Base.metadata.tables)

        migrate.downgrade(db.engine, "base")
        assert _tables(db.engine) == set()
        assert migrate.current_revision(db.engine) is None

        migrate.upgrade(db.engine)
        assert _tables(db.engine) == set(Base.metadata.tables)
    finally:
        db.dispose()


def test_models_and_migrations_agree(fresh_url, tmp_path):
    """Autogenerate finds nothing to do: no model change is missing its revision."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    db = connect(make_settings(fresh_url, tmp_path / "var"), fresh_url)
    try:
        migrate.upgrade(db.engine)
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            diff = compare_metadata(context, Base.metadata)
        assert diff == []
    finally:
        db.dispose()


def test_revision_files_are_date_named():
    from pathlib import Path

    import migrations

    names = [p.name for p in (Path(migrations.__file__).parent / "versions").glob("*.py")]
    assert names
    for name in names:
        year, month, day, _slug = name.split("_", 3)
        assert (len(year), len(month), len(day)) == (4, 2, 2), name
