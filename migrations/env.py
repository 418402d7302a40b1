"""Alembic environment: runs revisions on the connection or URL that app/migrate.py hands in."""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from sqlalchemy import Connection

import app.models  # noqa: F401 - registers every table on the metadata
from app.models.base import Base, UTCDateTime

config = context.config
target_metadata = Base.metadata


def _render_item(type_: str, obj: Any, autogen_context: Any) -> str | Literal[False]:
    # Revisions must not import app code (it changes; a revision must not): UTCDateTime is
    # stored as a plain timezone-aware DateTime.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=_render_item,
    )


def run_migrations_online() -> None:
    """Run on the connection given in ``config.attributes["connection"]``."""
    connection = config.attributes.get("connection")
    if connection is None:
        msg = (
            "migrations run through `ujian db upgrade` (app/migrate.py), which passes a connection"
        )
        raise RuntimeError(msg)
    _configure(connection)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    msg = "offline (SQL script) migrations are not supported; run `ujian db upgrade`"
    raise RuntimeError(msg)
run_migrations_online()
