"""Where the IS rep's confirmation DM was posted, so it is updated in place like the notices: after FS
decides, its Edit button goes (it only answered "frozen"), and an edit's new score shows.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("handoffs") as batch:
        batch.add_column(sa.Column("is_dm_channel_id", sa.String(64), nullable=True))
        batch.add_column(sa.Column("is_dm_ts", sa.String(32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("handoffs") as batch:
        batch.drop_column("is_dm_ts")
        batch.drop_column("is_dm_channel_id")
