"""The append-only, hash-chained audit log and the head of each chain."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base


class AuditEvent(Base):
    """One recorded action. ``hash`` covers every other field and the previous event's hash.

    Events form one chain per ``chain`` name (``global`` for staff actions, ``sitting:<id>``
    for what happens in a sitting) so that busy sittings do not queue behind one another; each
    chain verifies end to end on its own.
    """

    __tablename__ = "audit_events"
    __table_args__ = (UniqueConstraint("chain", "seq"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    chain: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(64), index=True)
    subject: Mapped[str] = mapped_column(String(128), index=True)
    payload: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """The last event of a chain. Updating it first serializes writers of that chain."""

    __tablename__ = "audit_heads"

    chain: Mapped[str] = mapped_column(String(64), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))


class AuditChain(Base):
    """The registry of chains: one row written when a chain records its first event.

    A chain whose events and head row were deleted together still has its row here, so
    verification names it instead of simply not seeing it. ``anchored_in`` is the chain that
    carries its anchors (an attempt's sitting), if any.
    """

    __tablename__ = "audit_chains"

    chain: Mapped[str] = mapped_column(String(64), primary_key=True)
    registered_at: Mapped[datetime]
    anchored_in: Mapped[str | None] = mapped_column(String(64))


class SignedDocument(Base):
    """A document signed with the server's Ed25519 key when it was published (a ranking
    snapshot with the audit heads of that moment), served as signed, byte for byte."""

    __tablename__ = "signed_documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(128), index=True)
    payload: Mapped[str] = mapped_column(Text)
    key_id: Mapped[str] = mapped_column(String(32))
    signature: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime]
