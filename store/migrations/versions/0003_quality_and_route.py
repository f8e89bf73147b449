"""Toss-up quality and routing: criteria evaluation, override reason, memo score, why it went where.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine[object]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("handoffs") as batch:  # batch: SQLite cannot ALTER much in place
        batch.add_column(sa.Column("criteria", _json(), nullable=True))
        batch.add_column(sa.Column("criteria_passed", sa.Boolean(), nullable=True))
        batch.add_column(sa.Column("override_reason", sa.Text(), nullable=True))
        batch.add_column(sa.Column("score", _json(), nullable=True))
        batch.add_column(sa.Column("score_total", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("route_kind", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("route_rule", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("handoffs") as batch:
        for column in (
            "route_rule",
            "route_kind",
            "score_total",
            "score",
            "override_reason",
            "criteria_passed",
            "criteria",
        ):
            batch.drop_column(column)
