"""The table of collaboration issues (連携課題), logged with `/tossup issue` and closed from the agenda.

On the same `Base` (and naming convention) as `store.models`; `store/migrations/env.py` imports this
module so alembic sees the table (revision 0005).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bot.domain.issues import Level
from store.models import Base, StrEnumType, UTCDateTime

__all__ = ["CollabIssueRecord"]


class CollabIssueRecord(Base):
    """One collaboration issue: what the problem is, where it sits on the matrix, who raised it and
    when; once closed, who closed it, when, and what was decided."""

    __tablename__ = "collab_issues"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The modal's view.id: the same view submitted twice (double click, Slack retry) is one issue.
    submission_key: Mapped[str] = mapped_column(String(255), unique=True)
    problem: Mapped[str] = mapped_column(Text)
    impact: Mapped[Level] = mapped_column(StrEnumType(Level, 8))
    urgency: Mapped[Level] = mapped_column(StrEnumType(Level, 8))
    owner_id: Mapped[str | None] = mapped_column(String(64))
    raised_by: Mapped[str] = mapped_column(String(64))
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime())
    channel_id: Mapped[str | None] = mapped_column(String(64))  # where `/tossup issue` was typed
    closed_by: Mapped[str | None] = mapped_column(String(64))
    # Indexed: every agenda asks for the open ones (NULL), the monthly review for a closing period.
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    decision: Mapped[str | None] = mapped_column(Text)
