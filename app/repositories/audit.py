"""Queries of the audit log: append an event under its chain's head lock, read chains in order."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.models.audit import AuditEvent, AuditHead

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


_HEADS = cast("Table", AuditHead.__table__)
_EVENTS = cast("Table", AuditEvent.__table__)
#: Core statements (not ORM-enabled ones): an event is written on every login, start, finish
#: and proctor action, and the ORM's unit of work would cost more than the SQL itself.
_SET_HASH = update(_HEADS).where(_HEADS.c.chain == bindparam("chain_key"))
#: Start a chain (seq 1 after the genesis hash) or advance it, returning the previous hash; built
#: once per dialect (building the statement per call cost more than running it).
_START_OR_ADVANCE = {
    name: dialect.insert(_HEADS)
    .values(chain=bindparam("chain_key"), seq=1, hash=GENESIS_HASH)
    .on_conflict_do_update(index_elements=["chain"], set_={"seq": _HEADS.c.seq + 1})
    .returning(_HEADS.c.seq, _HEADS.c.hash)
    for name, dialect in (("sqlite", sqlite), ("postgresql", postgresql))
}


def append(
    session: Session,
    *,
    chain: str,
    at: datetime,
    actor: str,
    action: str,
    subject: str,
    payload: str,
) -> tuple[int, str]:
    """Append one event to ``chain`` inside the caller's transaction; its (seq, hash).

    The head row is written before anything else: that takes its row lock (PostgreSQL) or the
    write lock (SQLite), so two transactions writing the same chain queue instead of forking it.
    One upsert starts a new chain (seq 1 after the genesis hash) or advances an existing one and
    returns the previous hash: a chain per attempt starts with every candidate's first login.
    """
    at = at.astimezone(UTC)
    connection = session.connection()
    bump = _START_OR_ADVANCE[connection.dialect.name]
    seq, prev_hash = connection.execute(bump, {"chain_key": chain}).one()
    digest = event_hash(prev_hash, chain, seq, at, actor, action, subject, payload)
    connection.execute(
        _EVENTS.insert(),
        {
            "chain": chain,
            "seq": seq,
            "at": at,
            "actor": actor,
            "action": action,
            "subject": subject,
            "payload": payload,
            "prev_hash": prev_hash,
            "hash": digest,
        },
    )
    connection.execute(_SET_HASH, {"chain_key": chain, "hash": digest})
    return seq, digest


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
