"""The one unit of work: what it commits, what it throws away, and that it gives its connection
back. Routes (``tests/api/test_route_table.py``), commands and background jobs all use it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from app.clock import Clock
from app.db import Database
from app.models.staff import Role, StaffUser
from app.services import staff
from app.services.container import Services
from app.settings import Settings

NOW = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


def add_user(db: Database, name: str, *, write: bool = True) -> None:
    with db.unit_of_work(write=write) as session:
        staff.create_user(
            session, username=name, password="x" * 16, role=Role.PROCTOR, now=NOW, actor="t"
        )
        session.flush()


def users(db: Database) -> list[str]:
    with db.unit_of_work(write=False) as session:
        return list(session.scalars(select(StaffUser.username).order_by(StaffUser.username)))


def test_a_writing_unit_commits_when_its_block_succeeds(db: Database) -> None:
    add_user(db, "kept")
    assert users(db) == ["kept"]


def test_a_writing_unit_rolls_back_when_its_block_raises(db: Database) -> None:
    with pytest.raises(RuntimeError, match="refused"), db.unit_of_work() as session:
        staff.create_user(
            session, username="lost", password="x" * 16, role=Role.PROCTOR, now=NOW, actor="t"
        )
        session.flush()
        raise RuntimeError("refused after writing")
    assert users(db) == []


def test_a_reading_unit_never_keeps_a_change(db: Database) -> None:
    add_user(db, "read-only", write=False)
    assert users(db) == []


def test_the_connection_is_back_in_the_pool_when_the_unit_ends(db: Database) -> None:
    with db.unit_of_work() as session:
        session.execute(select(func.count()).select_from(StaffUser))
        assert db.engine.pool.checkedout() == 1  # type: ignore[attr-defined]
    assert db.engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="boom"), db.unit_of_work(write=False) as session:
        session.execute(select(1))
        raise ValueError("boom")
    assert db.read_engine.pool.checkedout() == 0  # type: ignore[attr-defined]


def test_session_and_read_session_are_the_unit_of_work(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[bool] = []
    original = db.unit_of_work

    def counting(*, write: bool = True) -> Any:
        opened.append(write)
        return original(write=write)

    monkeypatch.setattr(db, "unit_of_work", counting)
    with db.session():
        pass
    with db.read_session():
        pass
    assert opened == [True, False]


def test_the_deadline_finish_runs_in_its_own_writing_unit(
    db: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[bool] = []
    original = db.unit_of_work

    def counting(*, write: bool = True) -> Any:
        opened.append(write)
        return original(write=write)

    services = Services(settings=settings, db=db, clock=Clock(), secret=settings.secret())
    monkeypatch.setattr(db, "unit_of_work", counting)
    assert services.finish_due(123_456) is False  # no such attempt: nothing to finish
    assert opened == [True]
