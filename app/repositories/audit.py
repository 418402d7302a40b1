"""Queries of the audit log: append an event under its chain's head lock, read chains in order."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.models.audit import AuditEvent, AuditHead
from app.repositories.common import insert_ignore

GENESIS_HASH = "0" * 64


def event_hash(  # noqa: PLR0917 - the hashed fields, in their hashed order
    prev_hash: str,
    chain: str,
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    subject: str,
    payload: str,
) -> str:
    """SHA-256 over the event's fields and the previous hash (unit separator between fields)."""
    material = "\x1f".join(
        (
            prev_hash,
            chain,
            str(seq),
            at.astimezone(UTC).isoformat(timespec="microseconds"),
            actor,
            action,
            subject,
            payload,
        )
    )
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


def append(
    session: Session,
    *,
    chain: str,
    at: datetime,
    actor: str,
    action: str,
    subject: str,
    payload: str,
) -> AuditEvent:
    """Append one event to ``chain`` inside the caller's transaction.

    The head row is updated before anything else: that takes its row lock (PostgreSQL) or the
    write lock (SQLite), so two transactions writing the same chain queue instead of forking it.
    """
    at = at.astimezone(UTC)
    bump = (
        update(AuditHead)
        .where(AuditHead.chain == chain)
        .values(seq=AuditHead.seq + 1)
        .returning(AuditHead.seq, AuditHead.hash)
    )
    row = session.execute(bump).one_or_none()
    if row is None:
        insert_ignore(session, AuditHead, {"chain": chain, "seq": 0, "hash": GENESIS_HASH})
        row = session.execute(bump).one()
    seq, prev_hash = row
    digest = event_hash(prev_hash, chain, seq, at, actor, action, subject, payload)
    event = AuditEvent(
        chain=chain,
        seq=seq,
        at=at,
        actor=actor,
        action=action,
        subject=subject,
        payload=payload,
        prev_hash=prev_hash,
        hash=digest,
    )
    session.add(event)
    session.execute(update(AuditHead).where(AuditHead.chain == chain).values(hash=digest))
    session.flush()
    return event


def iter_events(session: Session, batch: int = 5000) -> Iterator[AuditEvent]:
    """Every event, chain by chain in sequence order, read in batches (flat memory)."""
    statement = (
        select(AuditEvent)
        .order_by(AuditEvent.chain, AuditEvent.seq)
        .execution_options(yield_per=batch)
    )
    for event in session.scalars(statement):
        yield event
        session.expunge(event)


def heads(session: Session) -> dict[str, tuple[int, str]]:
    """The recorded head (last seq, last hash) of every chain."""
    return {h.chain: (h.seq, h.hash) for h in session.scalars(select(AuditHead))}
