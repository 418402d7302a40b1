"""Queries of the failed-login counters."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.models.throttle import LoginFailure


def get_for_update(session: Session, key: str) -> LoginFailure | None:
    """The counter of ``key``, locked for this transaction on PostgreSQL."""
    return session.scalars(
        select(LoginFailure).where(LoginFailure.key == key).with_for_update()
    ).one_or_none()


def get_many(session: Session, keys: list[str]) -> list[LoginFailure]:
    """The counters of ``keys`` that exist."""
    return list(session.scalars(select(LoginFailure).where(LoginFailure.key.in_(keys))))


def add(session: Session, failure: LoginFailure) -> None:
    """Insert a new counter."""
    session.add(failure)
    session.flush()


def clear(session: Session, key: str) -> None:
    """Forget the failures of ``key`` (after a successful login)."""
    session.execute(delete(LoginFailure).where(LoginFailure.key == key))
