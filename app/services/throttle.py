"""Limits on guessing a PIN or a password, counted in the database (shared by every process).

A login try is counted *before* its secret is compared, on two counters: the subject (a nomor
peserta, a staff username) from this client, and this client on its own. The statement that
counts a try also reads the count (:func:`app.repositories.throttle.count_try`), so however
many tries arrive at once, at most the configured number are ever compared. A right one is given
back: the subject's counter from that client is forgotten and the client's own counter loses
the failures it had counted for that subject, so a room of candidates behind one address who
mistype and then get in never add up to a lock of the room.

Nobody locks a subject from another client: a subject's counters are per client. A proctor (or
an admin, for staff) clears a subject's locks, and with them the locks of the clients it was
refused from.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from app.errors import TooManyRequests
from app.repositories import throttle as repo

#: How many characters of a client address a key keeps (an IPv6 address has at most 45).
MAX_CLIENT_LENGTH = 64


@dataclass(frozen=True)
class Policy:
    """``max_failures`` within ``window`` locks the key for ``lockout``."""

    max_failures: int
    window: timedelta
    lockout: timedelta


@dataclass(frozen=True)
class Gate:
    """The two counters one login try is checked against."""

    #: ``candidate`` or ``staff``.
    scope: str
    subject: str
    client: str
    policy: Policy
    client_policy: Policy

    @property
    def pair(self) -> repo.Key:
        """The subject's counter from this client."""
        client = self.client[:MAX_CLIENT_LENGTH]
        subject = self.subject[:64]
        return repo.Key(f"{self.scope}:{subject}@{client}", self.scope, subject, client)

    @property
    def per_client(self) -> repo.Key:
        """This client's own counter (every subject tried from it)."""
        client = self.client[:MAX_CLIENT_LENGTH]
        scope = client_scope(self.scope)
        return repo.Key(f"{scope}:@{client}", scope, "", client)


@dataclass(frozen=True)
class Admission:
    """Whether a try may compare its secret, and the subject's count from this client."""

    admitted: bool
    #: Tries of the subject from this client in the window, this one included.
    failures: int
    #: While refused: until when. While admitted: the lock this try starts if it is wrong.
    locked_until: datetime | None
    #: Refused because the client as a whole is locked (not the subject).
    by_client: bool = False

    def refusal(self, now: datetime, message: str) -> TooManyRequests:
        """The 429 for a refused try, saying when to come back."""
        until = self.locked_until or now
        seconds = max(1, int((until - now).total_seconds()) + 1)
        return TooManyRequests(message.format(seconds=seconds), retry_after=seconds)


@dataclass(frozen=True)
class SubjectLock:
    """A subject locked from one client (or through that client's own lock)."""

    subject: str
    client: str
    until: datetime


def client_scope(scope: str) -> str:
    """The scope of a client's own counter for logins of ``scope``."""
    return f"{scope}-client"


def _count(session: Session, key: repo.Key, policy: Policy, now: datetime) -> repo.Count:
    return repo.count_try(
        session,
        key,
        now=now,
        window_started_after=now - policy.window,
        max_failures=policy.max_failures,
        locked_until=now + policy.lockout,
    )


def admit(session: Session, gate: Gate, now: datetime) -> Admission:
    """Count one try on both counters before its secret is compared; refuse it past a limit.

    A try the client's counter refuses is given back to the subject's counter (it was not
    compared), which keeps a row naming the subject and client, so the proctor sees whom a
    locked client keeps out.
    """
    pair = _count(session, gate.pair, gate.policy, now)
    if pair.failures > gate.policy.max_failures:
        return Admission(False, pair.failures, pair.locked_until)
    client = _count(session, gate.per_client, gate.client_policy, now)
    if client.failures > gate.client_policy.max_failures:
        repo.give_back(session, gate.pair.key, 1, gate.policy.max_failures)
        return Admission(False, pair.failures - 1, client.locked_until, by_client=True)
    return Admission(True, pair.failures, pair.locked_until)


def succeeded(session: Session, gate: Gate, admission: Admission) -> None:
    """A right secret: forget the subject's counter from this client and give its tries back
    to the client's own counter."""
    repo.forget(session, gate.pair.key)
    repo.give_back(
        session, gate.per_client.key, admission.failures, gate.client_policy.max_failures
    )


def locked_subjects(
    session: Session, scope: str, subjects: list[str], now: datetime
) -> dict[str, list[SubjectLock]]:
    """Which of ``subjects`` are locked out right now, and from which clients."""
    found: dict[str, list[SubjectLock]] = {}
    for row in repo.locked(session, scope, client_scope(scope), subjects, now):
        found.setdefault(row.subject, []).append(SubjectLock(row.subject, row.client, row.until))
    return found


def unlock(session: Session, scope: str, subject: str, now: datetime) -> list[SubjectLock]:
    """Clear ``subject``'s locks and counters, and the own locks of the clients it was locked
    from; the locks that were running (empty: nothing was locked)."""
    running = locked_subjects(session, scope, [subject], now).get(subject, [])
    repo.forget_subject(session, scope, subject)
    repo.forget_clients(session, client_scope(scope), sorted({lock.client for lock in running}))
    return running
