"""Files holding answers and secrets are readable by the service's user only: the SQLite
database (and its WAL and shared-memory files) and the development secret under ``var/``."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from sqlalchemy import text

from app.db import connect
from app.settings import Mode, Settings


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask():
    """A permissive umask, as on many servers: the files must not rely on it."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_sqlite_files_are_created_0600(tmp_path, open_umask):
    path = tmp_path / "data" / "ujian.db"
    settings = Settings(
        database_url=f"sqlite:///{path}", mode=Mode.DEVELOPMENT, var_dir=tmp_path / "var"
    )
    database = connect(settings)
    try:
        with database.engine.begin() as conn:
            conn.execute(text("CREATE TABLE t (x INTEGER)"))
            conn.execute(text("INSERT INTO t VALUES (1)"))
        wal = path.with_name(path.name + "-wal")
        shm = path.with_name(path.name + "-shm")
        assert wal.exists()
        assert shm.exists()
        for file in (path, wal, shm):
            assert mode_of(file) == 0o600, (file, oct(mode_of(file)))
    finally:
        database.dispose()


def test_an_existing_database_left_readable_is_narrowed(tmp_path, open_umask):
    path = tmp_path / "old.db"
    path.touch(mode=0o644)
    path.chmod(0o644)
    settings = Settings(
        database_url=f"sqlite:///{path}", mode=Mode.DEVELOPMENT, var_dir=tmp_path / "var"
    )
    connect(settings).dispose()
    assert mode_of(path) == 0o600


def test_development_secret_is_created_0600(tmp_path, open_umask):
    settings = Settings(mode=Mode.DEVELOPMENT, secret_key="", var_dir=tmp_path / "var")
    first = settings.secret()
    assert mode_of(tmp_path / "var" / "secret.key") == 0o600
    assert settings.secret() == first
