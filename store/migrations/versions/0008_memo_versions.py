"""Memo editing (every version of a toss-up's memo kept as an event) and the duplicate warning (lookups
by normalised company name).

Adds to `handoffs` the normalised company key (indexed with the creation time, backfilled here), the
toss-up a confirmed duplicate points at, and the edit count and time; and the `duplicate_warnings` table
(a warned memo modal, by view id: submitting it again with the same company confirms). Edits themselves
are MEMO_EDITED rows in `handoff_events` (a string kind: no schema change).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# The key as the bot computes it today. Should the normalisation ever change, a later migration
# recomputes the keys the same way (rows tossed up before would otherwise not match new spellings).
from bot.domain.company import company_key

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BACKFILL_BATCH = 500


def _backfill_company_keys() -> None:
    handoffs = sa.table(
        "handoffs",
        sa.column("id", sa.Integer()),
        sa.column("company", sa.String()),
        sa.column("company_key", sa.String()),
    )
    connection = op.get_bind()
    last_id = 0
    while True:  # in batches by id: a large table is never held in memory at once
        rows = connection.execute(
            sa.select(handoffs.c.id, handoffs.c.company)
            .where(handoffs.c.id > last_id)
            .order_by(handoffs.c.id)
            .limit(_BACKFILL_BATCH)
        ).all()
        if not rows:
            return
        connection.execute(
            handoffs.update()
            .where(handoffs.c.id == sa.bindparam("row_id"))
            .values(company_key=sa.bindparam("key")),
            [{"row_id": row.id, "key": company_key(row.company)} for row in rows],
        )
        last_id = rows[-1].id


def upgrade() -> None:
    with op.batch_alter_table("handoffs") as batch:  # batch: SQLite cannot add a foreign key in place
        batch.add_column(sa.Column("company_key", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("duplicate_of_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("edit_count", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("edited_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_foreign_key(
            op.f("fk_handoffs_duplicate_of_id_handoffs"),
            "handoffs",
            ["duplicate_of_id"],
            ["id"],
            ondelete="SET NULL",
        )
    _backfill_company_keys()
    op.create_index("ix_handoffs_company_key_created_at", "handoffs", ["company_key", "created_at"])
    op.create_table(
        "duplicate_warnings",
        sa.Column("submission_key", sa.String(length=255), nullable=False),
        sa.Column("company_key", sa.String(length=255), nullable=False),
        sa.Column("duplicate_of_id", sa.Integer(), nullable=False),
        sa.Column("warned_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["duplicate_of_id"],
            ["handoffs.id"],
            name=op.f("fk_duplicate_warnings_duplicate_of_id_handoffs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("submission_key", name=op.f("pk_duplicate_warnings")),
    )


def downgrade() -> None:
    op.drop_table("duplicate_warnings")
    op.drop_index("ix_handoffs_company_key_created_at", table_name="handoffs")
    with op.batch_alter_table("handoffs") as batch:
        batch.drop_constraint(op.f("fk_handoffs_duplicate_of_id_handoffs"), type_="foreignkey")
        for column in ("edited_at", "edit_count", "duplicate_of_id", "company_key"):
            batch.drop_column(column)
