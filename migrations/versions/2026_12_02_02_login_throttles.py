"""login throttles

Revision ID: 20261202_02
Revises: 20261202_01
Create Date: 2026-12-02 15:30:00.000000
"""

from collections.abc import Sequence

revision: str = "20261202_02"
down_revision: str | None = "20261202_01"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Reserved in the revision chain; filled by the change that needs it."""


def downgrade() -> None:
    """Reserved in the revision chain; filled by the change that needs it."""
