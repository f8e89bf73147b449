"""SQLAlchemy 2 models of the toss-up store.

Every datetime column is a `UTCDateTime`: it accepts only timezone-aware values, stores them in UTC and
always returns aware UTC datetimes, on SQLite (which has no time zones) as on PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator, TypeEngine

from bot.domain.handoff import EventKind, HandoffStatus, ReturnReason

E = TypeVar("E", bound=StrEnum)

# Deterministic constraint names, so migrations name things the same on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend.

    PostgreSQL stores `timestamptz`. SQLite has no time zones: the value is stored as naive UTC text, so
    string comparisons in SQL order correctly, and UTC is attached again on the way out. Naive datetimes
    are refused: they are ambiguous and always a bug in the caller.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"UTCDateTime expects a datetime, got {type(value).__name__}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: pass a timezone-aware datetime")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class StrEnumType(TypeDecorator[E]):
    """A `StrEnum` stored as its plain string value in a VARCHAR (no database enum type to migrate)."""

    impl = String
    cache_ok = True

    def __init__(self, enum_cls: type[E], length: int) -> None:
        super().__init__(length)
        self.enum_cls = enum_cls
        self.length = length

    def process_bind_param(self, value: E | str | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return self.enum_cls(value).value

    def process_result_value(self, value: str | None, dialect: Dialect) -> E | None:
        if value is None:
            return None
        return self.enum_cls(value)

    @property
    def python_type(self) -> type[E]:
        return self.enum_cls


def json_type() -> TypeEngine[Any]:
    """Portable JSON: `JSON` (text) on SQLite, `JSONB` on PostgreSQL."""
    return JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Handoff(Base):
    """One toss-up: the memo as submitted, its decision, and where its notices were posted."""

    __tablename__ = "handoffs"
    # Reads filter by status and a time range together (pending oldest first, accepted by meeting time,
    # the week's returns): one index each, so neither scans every toss-up of a status.
    __table_args__ = (
        Index("ix_handoffs_status_created_at", "status", "created_at"),
        Index("ix_handoffs_status_meeting_at", "status", "meeting_at"),
        Index("ix_handoffs_status_decided_at", "status", "decided_at"),
        # The duplicate warning: the open toss-ups of one company in the last 90 days.
        Index("ix_handoffs_company_key_created_at", "company_key", "created_at"),
        # App Home: one rep's newest toss-ups (and the sheets on them); an FS rep's by status, and the
        # unassigned ones they accepted (the follow-ups).
        Index("ix_handoffs_is_user_id_created_at", "is_user_id", "created_at"),
        Index("ix_handoffs_fs_user_id_status", "fs_user_id", "status", "decided_by"),
        # An FS rep's accepted toss-ups newest first (App Home's follow-ups stop after the first 50).
        Index("ix_handoffs_fs_user_id_status_id", "fs_user_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The modal's view.id: the same view submitted twice is one handoff.
    submission_key: Mapped[str] = mapped_column(String(255), unique=True)
    team_id: Mapped[str] = mapped_column(String(64), index=True)
    is_user_id: Mapped[str] = mapped_column(String(64))
    fs_user_id: Mapped[str | None] = mapped_column(String(64))
    channel_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[HandoffStatus] = mapped_column(StrEnumType(HandoffStatus, 16))
    company: Mapped[str] = mapped_column(String(255))  # denormalized from the memo, for listings
    meeting_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    memo: Mapped[dict[str, Any]] = mapped_column(json_type())  # HandoffMemo.model_dump(mode="json")
    lang: Mapped[str] = mapped_column(String(8))  # the IS rep's language at submission
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)  # periods: KPIs, digests
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    return_reason: Mapped[ReturnReason | None] = mapped_column(StrEnumType(ReturnReason, 32))
    return_note: Mapped[str | None] = mapped_column(Text)
    notice_channel_id: Mapped[str | None] = mapped_column(String(64))
    notice_ts: Mapped[str | None] = mapped_column(String(32))
    dm_channel_id: Mapped[str | None] = mapped_column(String(64))
    dm_ts: Mapped[str | None] = mapped_column(String(32))
    # The IS rep's confirmation DM ("sent to #fs", the score, the Edit button), kept current in place.
    is_dm_channel_id: Mapped[str | None] = mapped_column(String(64))
    is_dm_ts: Mapped[str | None] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(Integer, default=1)  # incremented on each status change
    # The returned toss-up this one revises (IS fixed the memo and tossed it up again).
    revision_of_id: Mapped[int | None] = mapped_column(ForeignKey("handoffs.id", ondelete="SET NULL"))
    # The toss-up criteria as evaluated at submission (CriteriaEvaluation.to_json) and, in warn mode,
    # why IS tossed it up anyway.
    criteria: Mapped[dict[str, Any] | None] = mapped_column(json_type())
    criteria_passed: Mapped[bool | None] = mapped_column(Boolean)
    override_reason: Mapped[str | None] = mapped_column(Text)
    # The memo quality score (ScoreBreakdown.to_json) and its total, for listings and digests.
    score: Mapped[dict[str, Any] | None] = mapped_column(json_type())
    score_total: Mapped[int | None] = mapped_column(Integer)
    # The memo's part of the score (of 70), kept apart from score_total (which gains FS's rating), so
    # averages that compare weeks are one SQL AVG over comparable numbers.
    memo_score: Mapped[int | None] = mapped_column(Integer)
    # Why the toss-up went where it did (RouteKind, and the routing rule's name).
    route_kind: Mapped[str | None] = mapped_column(String(16))
    route_rule: Mapped[str | None] = mapped_column(String(64))
    # The company as the duplicate warning compares it (bot.domain.company.company_key).
    company_key: Mapped[str | None] = mapped_column(String(255))
    # The open toss-up of the same company IS was warned of and confirmed this one anyway.
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("handoffs.id", ondelete="SET NULL"))
    # IS edited the memo before FS decided: how often, and when last (every version is a MEMO_EDITED event).
    edit_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class HandoffEvent(Base):
    """The audit trail of a toss-up: who did what, when."""

    __tablename__ = "handoff_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    handoff_id: Mapped[int] = mapped_column(ForeignKey("handoffs.id", ondelete="CASCADE"), index=True)
    kind: Mapped[EventKind] = mapped_column(StrEnumType(EventKind, 32))
    actor_user_id: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    detail: Mapped[dict[str, Any]] = mapped_column(json_type())


class DuplicateWarning(Base):
    """A memo modal that was warned of an open toss-up of the same company: submitting that modal again
    with the same company confirms it. Kept on the server, since a field error cannot change the view's
    private_metadata (and what comes back through the client is not trusted)."""

    __tablename__ = "duplicate_warnings"

    submission_key: Mapped[str] = mapped_column(String(255), primary_key=True)  # the modal's view id
    company_key: Mapped[str] = mapped_column(String(255))
    duplicate_of_id: Mapped[int] = mapped_column(ForeignKey("handoffs.id", ondelete="CASCADE"))
    warned_at: Mapped[datetime] = mapped_column(UTCDateTime())


class OutboxMessage(Base):
    """A Slack post still to make, drained by a background worker so an outage never loses a toss-up."""

    __tablename__ = "outbox_messages"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    handoff_id: Mapped[int | None] = mapped_column(ForeignKey("handoffs.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    # Enqueueing the same key twice is a no-op: this is how nothing gets posted twice.
    dedupe_key: Mapped[str] = mapped_column(String(255), unique=True)
    payload: Mapped[dict[str, Any]] = mapped_column(json_type())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(255))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # An earlier attempt may have reached Slack without its answer being recorded (a timeout, a reset
    # connection, a worker that died holding the lease): look for the post before sending it again.
    in_doubt: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    given_up_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)


class FeedbackRecord(Base):
    """FS's post-meeting feedback sheet on a toss-up: one per toss-up, edited in place; every version
    is also kept as a FEEDBACK_SUBMITTED event (the history)."""

    __tablename__ = "feedback_sheets"

    handoff_id: Mapped[int] = mapped_column(ForeignKey("handoffs.id", ondelete="CASCADE"), primary_key=True)
    rater_id: Mapped[str] = mapped_column(String(64))
    sheet: Mapped[dict[str, Any]] = mapped_column(json_type())  # FeedbackSheet.model_dump(mode="json")
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)  # recent "collect next time"
    revisions: Mapped[int] = mapped_column(Integer, default=1)


class IsRatingRecord(Base):
    """IS's rating of FS's follow-through on a toss-up (two-way feedback); edited in place."""

    __tablename__ = "is_ratings"

    handoff_id: Mapped[int] = mapped_column(ForeignKey("handoffs.id", ondelete="CASCADE"), primary_key=True)
    rater_id: Mapped[str] = mapped_column(String(64))
    rating: Mapped[dict[str, Any]] = mapped_column(json_type())  # IsRating.model_dump(mode="json")
    rated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class OutcomeRecord(Base):
    """The deal's outcome after the toss-up (won / lost / still open), as FS last recorded it."""

    __tablename__ = "outcomes"

    handoff_id: Mapped[int] = mapped_column(ForeignKey("handoffs.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    outcome: Mapped[dict[str, Any]] = mapped_column(json_type())  # Outcome.model_dump(mode="json")
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())


class DigestPost(Base):
    """One digest period claimed for one channel: the unique key is the exactly-once promise.

    The content (the agenda as JSON) is frozen when the period is claimed, in the same transaction as
    the outbox rows that post it, so every message of the digest shows the same numbers however late it
    goes out; `lead_ts` is recorded once the lead message is posted (its replies thread under it).
    """

    __tablename__ = "digest_posts"
    __table_args__ = (
        UniqueConstraint("kind", "channel_id", "period_start", name="uq_digest_posts_kind_channel_period"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))  # "weekly", "monthly", "scorecard_overview", …
    channel_id: Mapped[str] = mapped_column(String(64))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    lang: Mapped[str] = mapped_column(String(8))
    content: Mapped[dict[str, Any]] = mapped_column(json_type())
    claimed_by: Mapped[str] = mapped_column(String(64))  # "schedule" or "cli", for the operator
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    lead_channel_id: Mapped[str | None] = mapped_column(String(64))
    lead_ts: Mapped[str | None] = mapped_column(String(32))
    posted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
