"""Initial schema: handoffs, their audit events, and the Slack outbox.

Revision ID: 0001
Revises:
Create Date: 2025-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine[object]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _ts() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "handoffs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("submission_key", sa.String(length=255), nullable=False),
        sa.Column("team_id", sa.String(length=64), nullable=False),
        sa.Column("is_user_id", sa.String(length=64), nullable=False),
        sa.Column("fs_user_id", sa.String(length=64), nullable=True),
        sa.Column("channel_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("company", sa.String(length=255), nullable=False),
        sa.Column("meeting_at", _ts(), nullable=True),
        sa.Column("memo", _json(), nullable=False),
        sa.Column("lang", sa.String(length=8), nullable=False),
        sa.Column("created_at", _ts(), nullable=False),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("decided_at", _ts(), nullable=True),
        sa.Column("return_reason", sa.String(length=32), nullable=True),
        sa.Column("return_note", sa.Text(), nullable=True),
        sa.Column("notice_channel_id", sa.String(length=64), nullable=True),
        sa.Column("notice_ts", sa.String(length=32), nullable=True),
        sa.Column("dm_channel_id", sa.String(length=64), nullable=True),
        sa.Column("dm_ts", sa.String(length=32), nullable=True),
        sa.Column("revision_of_id", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_handoffs")),
        sa.ForeignKeyConstraint(
            ["revision_of_id"],
            ["handoffs.id"],
            name=op.f("fk_handoffs_revision_of_id_handoffs"),
            ondelete="SET NULL",
        ),
        sa.UniqueConstraint("submission_key", name=op.f("uq_handoffs_submission_key")),
    )
    op.create_index(op.f("ix_handoffs_status"), "handoffs", ["status"])
    op.create_index(op.f("ix_handoffs_team_id"), "handoffs", ["team_id"])

    op.create_table(
        "handoff_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("handoff_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("actor_user_id", sa.String(length=64), nullable=True),
        sa.Column("at", _ts(), nullable=False),
        sa.Column("detail", _json(), nullable=False),
        sa.ForeignKeyConstraint(
            ["handoff_id"],
            ["handoffs.id"],
            name=op.f("fk_handoff_events_handoff_id_handoffs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_handoff_events")),
    )
    op.create_index(op.f("ix_handoff_events_handoff_id"), "handoff_events", ["handoff_id"])

    op.create_table(
        "outbox_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("handoff_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("dedupe_key", sa.String(length=255), nullable=False),
        sa.Column("payload", _json(), nullable=False),
        sa.Column("created_at", _ts(), nullable=False),
        sa.Column("next_attempt_at", _ts(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("lease_owner", sa.String(length=255), nullable=True),
        sa.Column("lease_until", _ts(), nullable=True),
        sa.Column("done_at", _ts(), nullable=True),
        sa.Column("given_up_at", _ts(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["handoff_id"],
            ["handoffs.id"],
            name=op.f("fk_outbox_messages_handoff_id_handoffs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_messages")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_outbox_messages_dedupe_key")),
    )
    op.create_index(op.f("ix_outbox_messages_done_at"), "outbox_messages", ["done_at"])
    op.create_index(op.f("ix_outbox_messages_handoff_id"), "outbox_messages", ["handoff_id"])
    op.create_index(op.f("ix_outbox_messages_next_attempt_at"), "outbox_messages", ["next_attempt_at"])


def downgrade() -> None:
    op.drop_table("outbox_messages")
    op.drop_table("handoff_events")
    op.drop_table("handoffs")
