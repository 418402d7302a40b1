"""Queries of staff accounts and their bearer tokens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.models.staff import ApiToken, StaffUser


def by_username(session: Session, username: str) -> StaffUser | None:
    """The account named ``username`` (active or not)."""
    return session.scalars(select(StaffUser).where(StaffUser.username == username)).one_or_none()


def list_users(session: Session) -> list[StaffUser]:
    """Every staff account, by username."""
    return list(session.scalars(select(StaffUser).order_by(StaffUser.username)))


def add_user(session: Session, user: StaffUser) -> StaffUser:
    """Insert ``user`` and assign its id."""
    session.add(user)
    session.flush()
    return user


def add_token(session: Session, token: ApiToken) -> None:
    """Store a new token (its digest only)."""
    session.add(token)
    session.flush()


def user_for_token(session: Session, digest: str, now: datetime) -> StaffUser | None:
    """The active user a live (unrevoked, unexpired) token belongs to."""
    statement = (
        select(StaffUser)
        .join(ApiToken, ApiToken.user_id == StaffUser.id)
        .where(
            ApiToken.token_hash == digest,
            ApiToken.revoked_at.is_(None),
            ApiToken.expires_at > now,
            StaffUser.active.is_(True),
        )
    )
    return session.scalars(statement).one_or_none()


def revoke_token(session: Session, digest: str, now: datetime) -> bool:
    """Revoke one token; whether it was live."""
    result = session.execute(
        update(ApiToken)
        .where(ApiToken.token_hash == digest, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def revoke_all_tokens(session: Session, user_id: int, now: datetime) -> int:
    """Revoke every live token of a user; how many."""
    result = session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
