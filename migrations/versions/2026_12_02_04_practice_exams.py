"""practice exams

Revision ID: 20261202_04
Revises: 20261202_03
Create Date: 2026-12-02 15:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261202_04"
down_revision: str | None = "20261202_03"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("exams", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("practice", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("explanation", sa.Text(), nullable=True))
    # A practice attempt has no roster row.
    with op.batch_alter_table("attempts", schema=None) as batch_op:
        batch_op.alter_column("registration_id", existing_type=sa.Integer(), nullable=True)
    op.create_table(
        "practice_sittings",
        sa.Column("exam_id", sa.Integer(), nullable=False),
        sa.Column("sitting_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["exam_id"],
            ["exams.id"],
            name=op.f("fk_practice_sittings_exam_id_exams"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["sitting_id"],
            ["sittings.id"],
            name=op.f("fk_practice_sittings_sitting_id_sittings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("exam_id", name=op.f("pk_practice_sittings")),
    )
    op.create_table(
        "practice_attempts",
        sa.Column("attempt_id", sa.Integer(), nullable=False),
        sa.Column("exam_id", sa.Integer(), nullable=False),
        sa.Column("client_key", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["attempt_id"],
            ["attempts.id"],
            name=op.f("fk_practice_attempts_attempt_id_attempts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["exam_id"],
            ["exams.id"],
            name=op.f("fk_practice_attempts_exam_id_exams"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("attempt_id", name=op.f("pk_practice_attempts")),
    )
    op.create_index(
        "ix_practice_attempts_client_created",
        "practice_attempts",
        ["client_key", "created_at"],
        unique=False,
    )
    op.create_index(
        "ix_practice_attempts_created", "practice_attempts", ["created_at"], unique=False
    )


def downgrade() -> None:
    # Practice attempts cannot exist without their rows' nullable registration: they go first
    # (they are anonymous practice data, purged routinely anyway).
    bind = op.get_bind()
    practice = "SELECT attempt_id FROM practice_attempts"
    for table in ("responses", "response_events", "results"):
        bind.execute(sa.text(f"DELETE FROM {table} WHERE attempt_id IN ({practice})"))  # noqa: S608
    bind.execute(sa.text(f"DELETE FROM attempts WHERE id IN ({practice})"))  # noqa: S608
    op.drop_index("ix_practice_attempts_created", table_name="practice_attempts")
    op.drop_index("ix_practice_attempts_client_created", table_name="practice_attempts")
    op.drop_table("practice_attempts")
    op.drop_table("practice_sittings")
    with op.batch_alter_table("attempts", schema=None) as batch_op:
        batch_op.alter_column("registration_id", existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.drop_column("explanation")
    with op.batch_alter_table("exams", schema=None) as batch_op:
        batch_op.drop_column("practice")
