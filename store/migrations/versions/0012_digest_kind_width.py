"""Widen digest_posts.kind to 32 characters: "scorecard_overview" (18) did not fit the 16 it had, which
PostgreSQL refuses (SQLite does not check lengths), so a manager's monthly overview was never stored there.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("digest_posts") as batch:
        batch.alter_column("kind", existing_type=sa.String(16), type_=sa.String(32), existing_nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("digest_posts") as batch:
        batch.alter_column("kind", existing_type=sa.String(32), type_=sa.String(16), existing_nullable=False)
