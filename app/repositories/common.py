"""Small query helpers shared by repositories (dialect-aware upserts)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def dialect_insert(bind: Session | Connection, table: type[Any]) -> Any:
    """An INSERT into the mapped class ``table`` that supports ``on_conflict_do_*``."""
    name = bind.get_bind().dialect.name if isinstance(bind, Session) else bind.dialect.name
    if name == "postgresql":
        return postgresql.insert(table)
    if name == "sqlite":
        return sqlite.insert(table)
    msg = f"unsupported database backend: {name}"
    raise RuntimeError(msg)


def insert_ignore(session: Session, table: type[Any], values: Mapping[str, object]) -> None:
    """Insert a row unless one with the same key exists (no error, no overwrite)."""
    session.execute(dialect_insert(session, table).values(**values).on_conflict_do_nothing())
