"""stimuli fixed options

Revision ID: 20261202_05
Revises: 20261202_04
Create Date: 2026-12-02 15:30:00.000000

Passages become a bank table of their own, items gain ``shuffle`` (default true: options move,
as every stored item's did) and a reference to their passage, and the text of every stored item
is sanitized once more with the current sanitizer (one whitespace form, MathML kept) so that its
content hash is the one an unchanged re-upload computes. Fixed options need no column: ``fixed``
lives in each option of the ``options`` JSON, absent meaning false.
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "20261202_05"
down_revision: str | None = "20261202_04"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "stimuli",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("media", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("import_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["import_id"], ["bank_imports.id"], name=op.f("fk_stimuli_import_id_bank_imports")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stimuli")),
        sa.UniqueConstraint("code", "version", name=op.f("uq_stimuli_code_version")),
    )
    with op.batch_alter_table("stimuli", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_stimuli_code"), ["code"], unique=False)
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("shuffle", sa.Boolean(), server_default=sa.true(), nullable=False)
        )
        batch_op.add_column(sa.Column("stimulus_ref", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("stimulus_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_items_stimulus_id"), ["stimulus_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_items_stimulus_id_stimuli"), "stimuli", ["stimulus_id"], ["id"]
        )
    _rehash_items()


def _rehash_items() -> None:
    """Re-sanitize every stored item's text and recompute its content hash, once.

    The sanitizer now keeps MathML and stores whitespace in one form; text stored before gives
    a different hash than the same file imported today, so an unchanged re-upload would turn
    every item into a new version. The stored text renders the same after this pass.
    """
    # The pure item-bank package: its sanitizer is the one imports use.
    from item_bank.models import Item, Media, Option, ScoringKind
    from item_bank.sanitize import sanitize_html

    items = sa.table(
        "items",
        sa.column("id", sa.Integer()),
        sa.column("section", sa.String()),
        sa.column("topic", sa.String()),
        sa.column("stem", sa.Text()),
        sa.column("scoring", sa.String()),
        sa.column("key", sa.String()),
        sa.column("options", sa.JSON()),
        sa.column("media", sa.JSON()),
        sa.column("content_hash", sa.String()),
    )
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(
            items.c.id,
            items.c.section,
            items.c.topic,
            items.c.stem,
            items.c.scoring,
            items.c.key,
            items.c.options,
            items.c.media,
            items.c.content_hash,
        ).order_by(items.c.id)
    ).all()
    for row in rows:
        options: list[dict[str, Any]] = [
            {**o, "text": sanitize_html(str(o["text"]))} for o in row.options
        ]
        stem = sanitize_html(row.stem)
        item = Item(
            code="",
            section=row.section,
            topic=row.topic,
            stem=stem,
            options=tuple(
                Option(
                    str(o["label"]),
                    str(o["text"]),
                    None if o.get("points") is None else float(o["points"]),
                    bool(o.get("fixed", False)),
                )
                for o in options
            ),
            scoring=ScoringKind(row.scoring),
            key=row.key,
            media=tuple(Media(m["name"], m["content_type"], m["sha256"]) for m in row.media or []),
        )
        digest = item.content_hash()
        if digest != row.content_hash or stem != row.stem or options != row.options:
            connection.execute(
                sa.update(items)
                .where(items.c.id == row.id)
                .values(stem=stem, options=options, content_hash=digest)
            )


def downgrade() -> None:
    # Re-sanitized text and hashes stay: they render the same and the old form is not kept.
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_items_stimulus_id_stimuli"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_items_stimulus_id"))
        batch_op.drop_column("stimulus_id")
        batch_op.drop_column("stimulus_ref")
        batch_op.drop_column("shuffle")
    with op.batch_alter_table("stimuli", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stimuli_code"))
    op.drop_table("stimuli")
