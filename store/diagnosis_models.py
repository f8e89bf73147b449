"""The table of collaboration diagnoses (`/tossup diagnose`, the seed's 10-item checklist).

On the same `Base` (and naming convention) as `store.models`; `store/migrations/env.py` imports this
module so alembic sees the table (revision 0007).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from store.models import Base, UTCDateTime, json_type

__all__ = ["DiagnosisRow"]


class DiagnosisRow(Base):
    """One completed checklist: who answered, when, which items they ticked, and the count and level
    those make (kept as columns so trends read them without decoding the items)."""

    __tablename__ = "diagnoses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The modal's view.id: the same view submitted twice (double click, Slack retry) is one diagnosis.
    submission_key: Mapped[str] = mapped_column(String(255), unique=True)
    diagnosed_by: Mapped[str] = mapped_column(String(64))
    # Indexed: the latest one, and the latest of a month, are read by time.
    diagnosed_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    items: Mapped[list[Any]] = mapped_column(json_type())  # the ticked DiagnosisItem values, in order
    checked_count: Mapped[int] = mapped_column(Integer)
    level: Mapped[str] = mapped_column(String(16))  # DiagnosisLevel
    channel_id: Mapped[str | None] = mapped_column(String(64))  # where `/tossup diagnose` was typed
