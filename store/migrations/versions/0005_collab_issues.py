"""Collaboration issues (連携課題): logged with `/tossup issue`, listed in the weekly agenda until closed.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _ts() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "collab_issues",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("submission_key", sa.String(length=255), nullable=False),
        sa.Column("problem", sa.Text(), nullable=False),
        sa.Column("impact", sa.String(length=8), nullable=False),
        sa.Column("urgency", sa.String(length=8), nullable=False),
        sa.Column("owner_id", sa.String(length=64), nullable=True),
        sa.Column("raised_by", sa.String(length=64), nullable=False),
        sa.Column("raised_at", _ts(), nullable=False),
        sa.Column("channel_id", sa.String(length=64), nullable=True),
        sa.Column("closed_by", sa.String(length=64), nullable=True),
        sa.Column("closed_at", _ts(), nullable=True),
        sa.Column("decision", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_collab_issues")),
        sa.UniqueConstraint("submission_key", name=op.f("uq_collab_issues_submission_key")),
    )
    op.create_index(op.f("ix_collab_issues_closed_at"), "collab_issues", ["closed_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_collab_issues_closed_at"), table_name="collab_issues")
    op.drop_table("collab_issues")
