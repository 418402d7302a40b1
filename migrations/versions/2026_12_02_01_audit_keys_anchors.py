"""audit keys anchors: a registry of chains, and every chain re-hashed under the audit key

Revision ID: 20261202_01
Revises: 20261128_04
Create Date: 2026-12-02 15:30:00.000000

The re-chaining runs inside this migration, with the audit key derived from the configured
server secret (``UJIAN_SECRET_KEY``, or ``var/secret.key`` in development): run
``ujian db upgrade`` with the same settings the server runs with. Each chain's events are
re-hashed in order under the key, its head row follows, and one ``audit.rechained`` event on
the global chain records how many events and chains were re-chained and the digest of the old
heads. A database with no events needs no secret. The downgrade re-hashes the same way with
plain SHA-256, as the previous version of the log expects.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session

from app.models.base import UTCDateTime

revision: str = "20261202_01"
down_revision: str | None = "20261128_04"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GENESIS = "0" * 64

_events = sa.table(
    "audit_events",
    sa.column("id", sa.BigInteger),
    sa.column("chain", sa.String),
    sa.column("seq", sa.BigInteger),
    sa.column("at", UTCDateTime()),
    sa.column("actor", sa.String),
    sa.column("action", sa.String),
    sa.column("subject", sa.String),
    sa.column("payload", sa.Text),
    sa.column("prev_hash", sa.String),
    sa.column("hash", sa.String),
)
_heads = sa.table("audit_heads", sa.column("chain", sa.String), sa.column("seq"), sa.column("hash"))
_chains = sa.table(
    "audit_chains",
    sa.column("chain", sa.String),
    sa.column("registered_at", UTCDateTime()),
    sa.column("anchored_in", sa.String),
)

Hasher = Callable[[str, str, int, datetime, str, str, str, str], str]


def _rehash(connection: sa.Connection, hasher: Hasher) -> tuple[int, dict[str, tuple[int, str]]]:
    """Re-hash every chain in order with ``hasher``; (events, {chain: (old seq, old hash)})."""
    old_heads = {
        row.chain: (row.seq, row.hash) for row in connection.execute(sa.select(_heads)).all()
    }
    rows = connection.execute(sa.select(_events).order_by(_events.c.chain, _events.c.seq)).all()
    chain, prev, count = None, GENESIS, 0
    last: dict[str, tuple[int, str]] = {}
    for row in rows:
        if row.chain != chain:
            chain, prev = row.chain, GENESIS
        digest = hasher(
            prev, row.chain, row.seq, row.at, row.actor, row.action, row.subject, row.payload
        )
        connection.execute(
            _events.update().where(_events.c.id == row.id).values(prev_hash=prev, hash=digest)
        )
        last[row.chain] = (row.seq, digest)
        prev = digest
        count += 1
    for name, (seq, digest) in last.items():
        connection.execute(
            _heads.update().where(_heads.c.chain == name).values(seq=seq, hash=digest)
        )
    return count, old_heads


def upgrade() -> None:
    op.create_table(
        "audit_chains",
        sa.Column("chain", sa.String(length=64), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("anchored_in", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("chain", name=op.f("pk_audit_chains")),
    )
    op.create_table(
        "signed_documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=128), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("signature", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signed_documents")),
    )
    with op.batch_alter_table("signed_documents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_signed_documents_subject"), ["subject"], unique=False)
    connection = op.get_bind()
    if connection.execute(sa.select(sa.func.count()).select_from(_events)).scalar_one() == 0:
        return
    from app.repositories import audit as audit_repo
    from app.services import audit

    key = audit.audit_key()

    def keyed(*fields: object) -> str:
        return audit_repo.event_hash(key, *fields)  # type: ignore[arg-type]

    count, old_heads = _rehash(connection, keyed)
    now = datetime.now(UTC)
    first = {
        row.chain: row.at
        for row in connection.execute(
            sa.select(_events.c.chain, sa.func.min(_events.c.at).label("at")).group_by(
                _events.c.chain
            )
        ).all()
    }
    for name, at in sorted(first.items()):
        connection.execute(_chains.insert().values(chain=name, registered_at=at, anchored_in=None))
    digest = hashlib.sha256(
        "\n".join(f"{c} {s} {h}" for c, (s, h) in sorted(old_heads.items())).encode()
    ).hexdigest()
    # The re-chaining is itself an audited event, on the global chain and under the new key.
    session = Session(bind=connection)
    audit.record(
        session,
        at=now,
        actor="system:migration",
        action="audit.rechained",
        subject="audit",
        payload={"events": count, "chains": len(first), "old_heads_sha256": digest},
    )
    session.flush()


def downgrade() -> None:
    connection = op.get_bind()
    from app.repositories import audit as audit_repo

    _rehash(connection, audit_repo.unkeyed_event_hash)
    with op.batch_alter_table("signed_documents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_signed_documents_subject"))
    op.drop_table("signed_documents")
    op.drop_table("audit_chains")
