"""Collaboration diagnoses (the seed's 10-item checklist): who answered, when, which items, the level.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine[object]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "diagnoses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("submission_key", sa.String(length=255), nullable=False),
        sa.Column("diagnosed_by", sa.String(length=64), nullable=False),
        sa.Column("diagnosed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("items", _json(), nullable=False),
        sa.Column("checked_count", sa.Integer(), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("channel_id", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_diagnoses")),
        sa.UniqueConstraint("submission_key", name=op.f("uq_diagnoses_submission_key")),
    )
    op.create_index(op.f("ix_diagnoses_diagnosed_at"), "diagnoses", ["diagnosed_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_diagnoses_diagnosed_at"), table_name="diagnoses")
    op.drop_table("diagnoses")
