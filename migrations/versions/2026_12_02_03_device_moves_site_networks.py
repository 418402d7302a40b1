"""device moves site networks

Revision ID: 20261202_03
Revises: 20261202_02
Create Date: 2026-12-02 15:30:00.000000

A login on a second PC waits for the proctor's approval (``device_move_requests``); the attempt
keeps the PC now allowed to write, so the proctor sees old and new PC side by side. A sitting may
choose its device-move rule and list the networks its candidates connect from.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261202_03"
down_revision: str | None = "20261202_02"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("attempts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("device_client", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("device_agent", sa.String(length=120), nullable=True))
    with op.batch_alter_table("sittings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("device_moves", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("site_networks", sa.JSON(), nullable=True))
    op.create_table(
        "device_move_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("attempt_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("old_client", sa.String(length=64), nullable=True),
        sa.Column("old_agent", sa.String(length=120), nullable=True),
        sa.Column("new_client", sa.String(length=64), nullable=False),
        sa.Column("new_agent", sa.String(length=120), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=100), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("generation", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["attempt_id"], ["attempts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index(
        "ix_device_move_requests_attempt_id", "device_move_requests", ["attempt_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_device_move_requests_attempt_id", table_name="device_move_requests")
    op.drop_table("device_move_requests")
    with op.batch_alter_table("sittings", schema=None) as batch_op:
        batch_op.drop_column("site_networks")
        batch_op.drop_column("device_moves")
    with op.batch_alter_table("attempts", schema=None) as batch_op:
        batch_op.drop_column("device_agent")
        batch_op.drop_column("device_client")
