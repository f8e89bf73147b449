"""Digests: the claimed periods (exactly once per kind, channel and period), the memo score apart from
the total, and the indexes the weekly agenda reads by (creation, decision, meeting and sheet times);
outbox rows whose earlier attempt may have reached Slack (`in_doubt`: reconciled before a retry).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FS_RATING = "fs_rating"  # ScoreItemKey.FS_RATING: the part of score_total that is not the memo's


def _json() -> sa.types.TypeEngine[object]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _memo_points(score: Any) -> int | None:
    if not isinstance(score, dict):
        return None
    items = score.get("items") or []
    return sum(int(item.get("points") or 0) for item in items if item.get("key") != _FS_RATING)


def upgrade() -> None:
    with op.batch_alter_table("outbox_messages") as batch:
        batch.add_column(sa.Column("in_doubt", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("handoffs") as batch:
        batch.add_column(sa.Column("memo_score", sa.Integer(), nullable=True))
    handoffs = sa.table(
        "handoffs",
        sa.column("id", sa.Integer()),
        sa.column("score", _json()),
        sa.column("memo_score", sa.Integer()),
    )
    connection = op.get_bind()
    rows = connection.execute(sa.select(handoffs.c.id, handoffs.c.score).where(handoffs.c.score.is_not(None)))
    updates = [{"row_id": row.id, "points": _memo_points(row.score)} for row in rows]
    if updates:
        connection.execute(
            handoffs.update()
            .where(handoffs.c.id == sa.bindparam("row_id"))
            .values(memo_score=sa.bindparam("points")),
            updates,
        )
    op.create_index(op.f("ix_handoffs_created_at"), "handoffs", ["created_at"])
    # status with the time it is read by: a status alone (3 values) makes every read scan a status's rows
    op.drop_index(op.f("ix_handoffs_status"), table_name="handoffs")
    for column in ("created_at", "meeting_at", "decided_at"):
        op.create_index(f"ix_handoffs_status_{column}", "handoffs", ["status", column])
    op.create_index(op.f("ix_feedback_sheets_updated_at"), "feedback_sheets", ["updated_at"])
    op.create_table(
        "digest_posts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("channel_id", sa.String(length=64), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("lang", sa.String(length=8), nullable=False),
        sa.Column("content", _json(), nullable=False),
        sa.Column("claimed_by", sa.String(length=64), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lead_channel_id", sa.String(length=64), nullable=True),
        sa.Column("lead_ts", sa.String(length=32), nullable=True),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_digest_posts")),
        sa.UniqueConstraint("kind", "channel_id", "period_start", name="uq_digest_posts_kind_channel_period"),
    )


def downgrade() -> None:
    op.drop_table("digest_posts")
    op.drop_index(op.f("ix_feedback_sheets_updated_at"), table_name="feedback_sheets")
    for column in ("created_at", "meeting_at", "decided_at"):
        op.drop_index(f"ix_handoffs_status_{column}", table_name="handoffs")
    op.create_index(op.f("ix_handoffs_status"), "handoffs", ["status"])
    op.drop_index(op.f("ix_handoffs_created_at"), table_name="handoffs")
    with op.batch_alter_table("handoffs") as batch:
        batch.drop_column("memo_score")
    with op.batch_alter_table("outbox_messages") as batch:
        batch.drop_column("in_doubt")
