"""App Home's follow-ups: an FS rep's accepted toss-ups newest first, so the list of 50 is read from an
index in order instead of sorting the rep's whole history (at 100k toss-ups: 131 ms → a few ms).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_handoffs_fs_user_id_status_id", "handoffs", ["fs_user_id", "status", "id"])


def downgrade() -> None:
    op.drop_index("ix_handoffs_fs_user_id_status_id", table_name="handoffs")
