"""item views integrity

Revision ID: 20261202_06
Revises: 20261202_05
Create Date: 2026-12-02 15:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261202_06"
down_revision: str | None = "20261202_05"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "item_view_batches",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("attempt_id", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("views", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["attempt_id"],
            ["attempts.id"],
            name=op.f("fk_item_view_batches_attempt_id_attempts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_item_view_batches")),
    )
    op.create_index(
        "ix_item_view_batches_attempt_received",
        "item_view_batches",
        ["attempt_id", "received_at"],
        unique=False,
    )
    op.create_table(
        "roster_details",
        sa.Column("registration_id", sa.Integer(), nullable=False),
        sa.Column("seat", sa.Integer(), nullable=True),
        sa.Column("region", sa.String(length=64), nullable=True),
        sa.Column("gender", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(
            ["registration_id"],
            ["registrations.id"],
            name=op.f("fk_roster_details_registration_id_registrations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("registration_id", name=op.f("pk_roster_details")),
    )
    op.create_table(
        "integrity_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("attempt_id", sa.Integer(), nullable=False),
        sa.Column("decision", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["attempt_id"],
            ["attempts.id"],
            name=op.f("fk_integrity_decisions_attempt_id_attempts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_integrity_decisions")),
    )
    op.create_index(
        "ix_integrity_decisions_attempt", "integrity_decisions", ["attempt_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_integrity_decisions_attempt", table_name="integrity_decisions")
    op.drop_table("integrity_decisions")
    op.drop_table("roster_details")
    op.drop_index("ix_item_view_batches_attempt_received", table_name="item_view_batches")
    op.drop_table("item_view_batches")
