"""Queries of the audit log: append an event under its chain's head lock, read chains in order.

Each event's hash is an HMAC-SHA256 under the audit key (a sub-key of the server secret that is
never stored in the database), over its fields and the previous event's hash. Whoever can write
the database but does not hold the secret cannot recompute a chain after changing it.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.models.attempt import Attempt
from app.models.audit import AuditChain, AuditEvent, AuditHead, SignedDocument

GENESIS_HASH = "0" * 64
#: The action of an anchor event: a parent chain recording another chain's (seq, hash).
ANCHOR_ACTION = "audit.anchor"


def event_material(  # noqa: PLR0917 - the hashed fields, in their hashed order
    prev_hash: str,
    chain: str,
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    subject: str,
    payload: str,
) -> bytes:
    """The bytes an event's hash covers (unit separator between fields)."""
    return "\x1f".join(
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
    ).encode("utf-8")


def event_hash(  # noqa: PLR0917 - the key, then the hashed fields in their order
    key: bytes,
    prev_hash: str,
    chain: str,
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    subject: str,
    payload: str,
) -> str:
    """HMAC-SHA256 under the audit ``key`` over the event's fields and the previous hash."""
    material = event_material(prev_hash, chain, seq, at, actor, action, subject, payload)
    return hmac.new(key, material, hashlib.sha256).hexdigest()


def unkeyed_event_hash(  # noqa: PLR0917 - the hashed fields, in their hashed order
    prev_hash: str,
    chain: str,
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    subject: str,
    payload: str,
) -> str:
    """The plain SHA-256 of the chains written before the audit key (migration only)."""
    material = event_material(prev_hash, chain, seq, at, actor, action, subject, payload)
    return hashlib.sha256(material).hexdigest()


_HEADS = cast("Table", AuditHead.__table__)
_EVENTS = cast("Table", AuditEvent.__table__)
_CHAINS = cast("Table", AuditChain.__table__)
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
_REGISTER = {
    name: dialect.insert(_CHAINS).on_conflict_do_nothing(index_elements=["chain"])
    for name, dialect in (("sqlite", sqlite), ("postgresql", postgresql))
}


def append(
    session: Session,
    *,
    key: bytes,
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
    digest = event_hash(key, prev_hash, chain, seq, at, actor, action, subject, payload)
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


def register(session: Session, chain: str, at: datetime, anchored_in: str | None) -> None:
    """Enter ``chain`` in the registry of chains (once; a second call changes nothing)."""
    connection = session.connection()
    connection.execute(
        _REGISTER[connection.dialect.name],
        {"chain": chain, "registered_at": at.astimezone(UTC), "anchored_in": anchored_in},
    )


def attempt_sitting(session: Session, attempt_id: int) -> int | None:
    """The sitting an attempt belongs to (its chain is anchored in that sitting's chain)."""
    return session.scalar(select(Attempt.sitting_id).where(Attempt.id == attempt_id))


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


def anchor_events(session: Session) -> list[AuditEvent]:
    """Every anchor event (two per attempt: few enough to hold while the chains are read)."""
    statement = select(AuditEvent).where(AuditEvent.action == ANCHOR_ACTION)
    return list(session.scalars(statement.order_by(AuditEvent.id)))


def heads(session: Session) -> dict[str, tuple[int, str]]:
    """The recorded head (last seq, last hash) of every chain."""
    return {h.chain: (h.seq, h.hash) for h in session.scalars(select(AuditHead))}


def registry(session: Session) -> dict[str, AuditChain]:
    """The registered chains by name."""
    return {c.chain: c for c in session.scalars(select(AuditChain))}


def add_signed_document(session: Session, document: SignedDocument) -> SignedDocument:
    """Store a signed document as it was signed."""
    session.add(document)
    session.flush()
    return document


def signed_documents(session: Session, subject_prefix: str) -> list[SignedDocument]:
    """The signed documents whose subject starts with ``subject_prefix``, oldest first."""
    statement = select(SignedDocument).where(SignedDocument.subject.startswith(subject_prefix))
    return list(session.scalars(statement.order_by(SignedDocument.id)))
