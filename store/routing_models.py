"""Tables of toss-up routing: the round-robin counter of each rule and FS reps marked away.

On the same `Base` (and naming convention) as `store.models`; `store/migrations/env.py` imports this
module so alembic sees the tables (revision 0002).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from store.models import Base, UTCDateTime

__all__ = ["FsAbsence", "RoutingTurn"]


class RoutingTurn(Base):
    """The round-robin state of one routing rule (by its app.yaml name).

    `turn` is the last turn handed out; a row is created with -1 ("none yet"), so the first turn is 0
    and goes to the first member of the pool.
    """

    __tablename__ = "routing_turns"

    rule: Mapped[str] = mapped_column(String(64), primary_key=True)
    turn: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class FsAbsence(Base):
    """An FS rep away until `until` (inclusive, the last day away), set with `/tossup away <date>`."""

    __tablename__ = "fs_absences"

    user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    until: Mapped[date] = mapped_column(Date)
    set_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())  # when this absence was (last) set
