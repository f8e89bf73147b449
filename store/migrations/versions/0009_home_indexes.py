"""App Home's reads by person: one rep's newest toss-ups, an FS rep's toss-ups by status.

Without them opening App Home scans every toss-up (the rep's own are a small share of a large table).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_handoffs_is_user_id_created_at", "handoffs", ["is_user_id", "created_at"])
    op.create_index("ix_handoffs_fs_user_id_status", "handoffs", ["fs_user_id", "status", "decided_by"])


def downgrade() -> None:
    op.drop_index("ix_handoffs_fs_user_id_status", table_name="handoffs")
    op.drop_index("ix_handoffs_is_user_id_created_at", table_name="handoffs")
