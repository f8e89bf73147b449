"""Feedback loop: FS's post-meeting sheets, IS's ratings of FS, and deal outcomes.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine[object]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _ts() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _handoff_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["handoff_id"], ["handoffs.id"], name=op.f(f"fk_{table}_handoff_id_handoffs"), ondelete="CASCADE"
    )


def upgrade() -> None:
    op.create_table(
        "feedback_sheets",
        sa.Column("handoff_id", sa.Integer(), nullable=False),
        sa.Column("rater_id", sa.String(length=64), nullable=False),
        sa.Column("sheet", _json(), nullable=False),
        sa.Column("submitted_at", _ts(), nullable=False),
        sa.Column("updated_at", _ts(), nullable=False),
        sa.Column("revisions", sa.Integer(), nullable=False),
        _handoff_fk("feedback_sheets"),
        sa.PrimaryKeyConstraint("handoff_id", name=op.f("pk_feedback_sheets")),
    )
    op.create_table(
        "is_ratings",
        sa.Column("handoff_id", sa.Integer(), nullable=False),
        sa.Column("rater_id", sa.String(length=64), nullable=False),
        sa.Column("rating", _json(), nullable=False),
        sa.Column("rated_at", _ts(), nullable=False),
        _handoff_fk("is_ratings"),
        sa.PrimaryKeyConstraint("handoff_id", name=op.f("pk_is_ratings")),
    )
    op.create_table(
        "outcomes",
        sa.Column("handoff_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("outcome", _json(), nullable=False),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", _ts(), nullable=False),
        _handoff_fk("outcomes"),
        sa.PrimaryKeyConstraint("handoff_id", name=op.f("pk_outcomes")),
    )
    op.create_index(op.f("ix_outcomes_kind"), "outcomes", ["kind"])


def downgrade() -> None:
    op.drop_index(op.f("ix_outcomes_kind"), table_name="outcomes")
    op.drop_table("outcomes")
    op.drop_table("is_ratings")
    op.drop_table("feedback_sheets")
