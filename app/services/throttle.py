"""Lockout after repeated failed logins, counted in the database (shared by every app process)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.models.throttle import LoginFailure
from app.repositories import throttle as repo


@dataclass(frozen=True)
class Policy:
    """``max_failures`` within ``window`` locks the key for ``lockout``."""

    max_failures: int
    window: timedelta
    lockout: timedelta


def locked_until(session: Session, keys: list[str], now: datetime) -> datetime | None:
    """The latest lock still running on any of ``keys`` (``None`` when none is locked)."""
    return lock_state(session, keys, now)[0]


def lock_state(
    session: Session, keys: list[str], now: datetime
) -> tuple[datetime | None, frozenset[str]]:
    """The latest lock still running on any of ``keys``, and which keys have a counter at all
    (a successful login clears its counter only when there is one)."""
    counters = repo.get_many(session, keys)
    until = [f.locked_until for f in counters if f.locked_until and f.locked_until > now]
    return (max(until) if until else None), frozenset(f.key for f in counters)


def register_failure(session: Session, key: str, now: datetime, policy: Policy) -> LoginFailure:
    """Count one failure of ``key``; lock it when the policy's limit is reached."""
    failure = repo.get_for_update(session, key)
    if failure is None:
        failure = LoginFailure(key=key, failures=0, window_started_at=now, locked_until=None)
        try:
            with session.begin_nested():
                repo.add(session, failure)
        except IntegrityError:
            # Another process counted the first failure of this key at the same moment.
            failure = repo.get_for_update(session, key)
            assert failure is not None
    if now - failure.window_started_at > policy.window and not (
        failure.locked_until and failure.locked_until > now
    ):
        failure.failures = 0
        failure.window_started_at = now
        failure.locked_until = None
    failure.failures += 1
    if failure.failures >= policy.max_failures:
        failure.locked_until = now + policy.lockout
    session.flush()
    return failure


def clear(session: Session, key: str) -> None:
    """Reset ``key`` after a successful login."""
    repo.clear(session, key)
