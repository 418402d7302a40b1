"""The one query of the health check: does the database answer."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session


def ping(session: Session) -> None:
    """Run ``SELECT 1`` (raises the driver's error when the database does not answer)."""
    session.execute(text("SELECT 1"))
