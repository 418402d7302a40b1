"""Queries of the login counters.

Every change of a counter is one statement that reads and writes the row together (an upsert,
or an update computed from the row itself), so that however many app processes count the same
key at once, each sees the count the previous one left: the statement holds the row's lock
until the transaction ends on PostgreSQL, and SQLite has one writer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Table, and_, case, delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.models.throttle import LoginFailure

_TABLE: Table = LoginFailure.__table__  # type: ignore[assignment] # a mapped Table
_COLUMNS = _TABLE.c


@dataclass(frozen=True, slots=True)
class Key:
    """One counter: its primary key and the parts it is made of."""

    key: str
    scope: str
    subject: str
    client: str


@dataclass(frozen=True, slots=True)
class Count:
    """A counter right after a try was counted on it."""

    failures: int
    locked_until: datetime | None


@dataclass(frozen=True, slots=True)
class Locked:
    """A subject's counter from one client while it, or that client, is locked."""

    subject: str
    client: str
    until: datetime


def count_try(
    session: Session,
    key: Key,
    *,
    now: datetime,
    window_started_after: datetime,
    max_failures: int,
    locked_until: datetime,
) -> Count:
    """Count one try on ``key`` in the same statement that reads it, and return the count.

    A counter whose lock has ended, or whose window started before ``window_started_after``
    without a lock, starts again at this try. The try that brings the count to
    ``max_failures`` locks the key until ``locked_until`` (unless it is given back).
    """
    running = and_(_COLUMNS.locked_until.is_not(None), _COLUMNS.locked_until > now)
    ended = or_(
        _COLUMNS.locked_until.is_not(None),
        _COLUMNS.window_started_at <= window_started_after,
    )
    restart = and_(~running, ended)
    failures: ColumnElement[int] = case((restart, 1), else_=_COLUMNS.failures + 1)
    values = {
        "key": key.key,
        "scope": key.scope,
        "subject": key.subject,
        "client": key.client,
        "failures": 1,
        "window_started_at": now,
        "locked_until": locked_until if max_failures <= 1 else None,
    }
    changes = {
        "failures": failures,
        "window_started_at": case((restart, now), else_=_COLUMNS.window_started_at),
        "locked_until": case(
            (running, _COLUMNS.locked_until),
            (failures >= max_failures, locked_until),
            else_=None,
        ),
    }
    dialect = session.get_bind().dialect.name
    statement: postgresql.Insert | sqlite.Insert
    if dialect == "postgresql":
        pg = postgresql.insert(_TABLE).values(values)
        statement = pg.on_conflict_do_update(index_elements=[_COLUMNS.key], set_=changes)
    else:
        lite = sqlite.insert(_TABLE).values(values)
        statement = lite.on_conflict_do_update(index_elements=[_COLUMNS.key], set_=changes)
    row = session.execute(statement.returning(_COLUMNS.failures, _COLUMNS.locked_until)).one()
    return Count(failures=row.failures, locked_until=row.locked_until)


def give_back(session: Session, key: str, tries: int, max_failures: int) -> None:
    """Take ``tries`` off ``key``'s count (never below 0); a count below the limit is not
    locked any more."""
    remaining = case((_COLUMNS.failures > tries, _COLUMNS.failures - tries), else_=0)
    session.execute(
        update(_TABLE)
        .where(_COLUMNS.key == key)
        .values(
            failures=remaining,
            locked_until=case((remaining < max_failures, None), else_=_COLUMNS.locked_until),
        )
    )


def forget(session: Session, key: str) -> None:
    """Delete ``key``'s counter."""
    session.execute(delete(_TABLE).where(_COLUMNS.key == key))


def locked(
    session: Session, scope: str, client_scope: str, subjects: list[str], now: datetime
) -> list[Locked]:
    """The counters of ``subjects`` that are locked, or whose client's own counter is."""
    if not subjects:
        return []
    own = _TABLE.alias("own")
    per_client = _TABLE.alias("per_client")
    statement = (
        select(own.c.subject, own.c.client, own.c.locked_until, per_client.c.locked_until)
        .outerjoin(
            per_client,
            and_(per_client.c.scope == client_scope, per_client.c.client == own.c.client),
        )
        .where(
            own.c.scope == scope,
            own.c.subject.in_(subjects),
            or_(own.c.locked_until > now, per_client.c.locked_until > now),
        )
        .order_by(own.c.subject, own.c.client)
    )
    found = []
    for subject, client, until, client_until in session.execute(statement):
        latest = max(t for t in (until, client_until) if t is not None and t > now)
        found.append(Locked(subject=subject, client=client, until=latest))
    return found


def forget_subject(session: Session, scope: str, subject: str) -> None:
    """Delete every counter of ``subject`` (from any client)."""
    session.execute(delete(_TABLE).where(_COLUMNS.scope == scope, _COLUMNS.subject == subject))


def forget_clients(session: Session, scope: str, clients: list[str]) -> None:
    """Delete the own counters of ``clients``."""
    if clients:
        session.execute(delete(_TABLE).where(_COLUMNS.scope == scope, _COLUMNS.client.in_(clients)))
