"""attempt item ids

Revision ID: 20261128_04
Revises: 20261128_03
Create Date: 2026-11-28 07:28:12.000000
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "20261128_04"
down_revision: str | None = "20261128_03"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("attempts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "item_ids",
                postgresql.ARRAY(sa.Integer()).with_variant(sa.JSON(), "sqlite"),
                nullable=True,
            )
        )
        batch_op.create_index(
            "ix_attempts_item_ids", ["item_ids"], unique=False, postgresql_using="gin"
        )
    # Existing attempts: the item ids of their stored forms (0 where an adaptive item was not
    # given).
    bind = op.get_bind()
    attempts = sa.table(
        "attempts",
        sa.column("id", sa.Integer),
        sa.column("form", sa.JSON),
        sa.column("item_ids", postgresql.ARRAY(sa.Integer()).with_variant(sa.JSON(), "sqlite")),
    )
    rows = bind.execute(
        sa.select(attempts.c.id, attempts.c.form).where(attempts.c.form.is_not(None))
    )
    for attempt_id, form in rows.fetchall():
        entries = json.loads(form) if isinstance(form, str) else form
        ids = [0 if entry is None else int(entry[0]) for entry in entries]
        bind.execute(attempts.update().where(attempts.c.id == attempt_id).values(item_ids=ids))


def downgrade() -> None:
    with op.batch_alter_table("attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_attempts_item_ids", postgresql_using="gin")
        batch_op.drop_column("item_ids")
