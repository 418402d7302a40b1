"""login throttles: counters per (subject, client) and per client

Revision ID: 20261202_02
Revises: 20261202_01
Create Date: 2026-12-02 15:30:00.000000

The counters were kept per subject (``candidate:<nomor>``) and per address (``address:<addr>``);
they are now kept per subject *and* client, with the parts in columns so a proctor's seat list
and an unlock find them. The counters are short-lived (one lockout window), so both directions
empty the table rather than translate its keys: at worst a running lock ends early.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261202_02"
down_revision: str | None = "20261202_01"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(sa.text("DELETE FROM login_failures"))
    with op.batch_alter_table("login_failures", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("scope", sa.String(length=16), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("subject", sa.String(length=64), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("client", sa.String(length=64), nullable=False, server_default="")
        )
    # The defaults only served the columns' creation: every row names its parts.
    with op.batch_alter_table("login_failures", schema=None) as batch_op:
        batch_op.alter_column("scope", server_default=None)
        batch_op.alter_column("subject", server_default=None)
        batch_op.alter_column("client", server_default=None)
        batch_op.create_index("ix_login_failures_scope_subject", ["scope", "subject"])


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM login_failures"))
    with op.batch_alter_table("login_failures", schema=None) as batch_op:
        batch_op.drop_index("ix_login_failures_scope_subject")
        batch_op.drop_column("client")
        batch_op.drop_column("subject")
        batch_op.drop_column("scope")
