"""Everything the bot posts about a toss-up goes through the outbox.

Handlers store what must be said (an `OutboxMessage` row, in the same transaction as the change it
reports) and then ask `Delivery` to send it at once. What Slack refuses for a while (429, 5xx, network)
stays in the table and the background loop retries it with backoff, so a Slack outage loses nothing;
the unique dedupe key and the lease on each row mean nothing is sent twice, even with several replicas.

Messages are rendered when they are sent, from the toss-up's current state, so a late notice never
shows a stale status; a notice, DM copy or confirmation is read back with its record and brought up to
date in place when the toss-up changed while it was being posted (another replica's refresh of it ran
before it was recorded).
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import os
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Literal, TypeVar
from zoneinfo import ZoneInfo

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import AppConfig
from bot.digest_posts import DIGEST_POST_KINDS, send_digest_post
from bot.domain.agenda import NoticeRef
from bot.domain.feedback import feedback_owner
from bot.domain.handoff import HandoffSnapshot, HandoffStatus
from bot.domain.routing import channel_now
from bot.domain.sla import sla_deadline, time_to_decide
from bot.edit_posts import EDIT_POST_KINDS, send_edit_post
from bot.export import EXPORT_POST_KINDS, send_export_post, tell_export_failed
from bot.feedback_state import loop_state
from bot.i18n import Lang
from bot.issue_posts import ISSUE_POST_KINDS, send_issue_post
from bot.send_queue import SendQueue
from bot.slack import (
    MethodThrottle,
    SlackUsers,
    is_ambiguous,
    is_permanent,
    retry_after_seconds,
    slack_error_code,
)
from modals.digest_text import notice_permalink
from modals.feedback import (
    build_feedback_reminder,
    build_feedback_request,
    build_feedback_to_is,
    build_is_rating_to_fs,
    build_outcome_dm,
)
from modals.messages import (
    build_decision_dm,
    build_is_confirmation,
    build_notice_failed,
    build_question_dm,
    build_question_message,
)
from modals.notice import build_notice
from modals.payload import as_payload
from modals.quality import score_summary_text
from modals.sla import build_sla_escalation, build_sla_reminder
from store.db import for_reading
from store.handoffs import NewOutbox, get_handoff, record_notice, record_notice_and_read
from store.outbox import (
    OutboxItem,
    claim_due,
    enqueue,
    give_up_waiting,
    mark_done,
    mark_failed,
    postpone,
    release_leases,
)

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class PostKind(StrEnum):
    NOTICE_CHANNEL = "notice_channel"  # the toss-up notice in the FS channel
    NOTICE_DM = "notice_dm"  # its copy in the assigned FS rep's DM
    IS_CONFIRMATION = "is_confirmation"  # "sent", with a link, to the IS rep
    NOTICE_REFRESH = "notice_refresh"  # chat.update of both notices after a decision
    DECISION_DM = "decision_dm"  # accepted / returned, to the IS rep
    QUESTION = "question"  # an FS question in the notice's thread
    QUESTION_DM = "question_dm"  # the same question to the IS rep, with a link to the thread
    SLA_REMINDER = "sla_reminder"  # still undecided past the deadline: a DM to the assigned FS rep
    SLA_ESCALATION = "sla_escalation"  # later: the notice's thread, or a manager (payload "target")
    FEEDBACK_REQUEST = "feedback_request"  # after the meeting: "rate this handoff", to the FS rep
    FEEDBACK_REMINDER = "feedback_reminder"  # the sheet is still open (payload "number")
    FEEDBACK_TO_IS = "feedback_to_is"  # FS's sheet, to the IS rep, at once
    IS_RATING_TO_FS = "is_rating_to_fs"  # IS's rating of FS's follow-through, to the FS rep
    OUTCOME_DM = "outcome_dm"  # the deal's outcome, to the IS rep (a win is theirs too)


def _with_notice(
    handoff: HandoffSnapshot, where: Literal["channel", "dm", "is_dm"], channel_id: str, ts: str
) -> HandoffSnapshot:
    """The toss-up with a notice recorded where `record_notice` records it."""
    fields = {"channel": ("notice_channel_id", "notice_ts"), "dm": ("dm_channel_id", "dm_ts")}
    channel_field, ts_field = fields.get(where, ("is_dm_channel_id", "is_dm_ts"))
    return replace(handoff, **{channel_field: channel_id, ts_field: ts})


def _as_dicts(blocks: list) -> list:
    return as_payload(blocks)  # rendered once here, not re-validated inside slack_sdk (modals.payload)


class NotReady(Exception):
    """The message depends on another one not posted yet (a thread reply needs its parent)."""


class Paused(Exception):
    """Slack asked this process to hold a method (429), or the method is backing off after 5xx."""

    def __init__(self, method: str, until: datetime) -> None:
        super().__init__(f"{method} paused until {until.isoformat()}")
        self.until = until


# Every post carries its outbox key in Slack message metadata, so an attempt whose outcome is unknown
# can find what an earlier one already posted (conversations.history / .replies) instead of posting twice.
METADATA_EVENT_TYPE = "tossup_outbox"
RECONCILE_PAGES = 5  # pages of history searched for an earlier attempt's post (200 messages each)
WORKSPACE_URL_RETRY = timedelta(seconds=60)  # a failed auth.test is asked again after this
RECONCILE_SLACK_SECONDS = 120  # how far before the row was queued to start looking (clock skew)
# Looking is impossible (no history scope, the bot not in the channel): send, accepting a rare double.
_CANNOT_LOOK = frozenset({"missing_scope", "not_in_channel", "channel_not_found", "thread_not_found"})

# The outbox row being sent by the current task: post() stamps and reconciles with it.
_SENDING: contextvars.ContextVar[OutboxItem | None] = contextvars.ContextVar("tossup_sending", default=None)
# The toss-up as read back with the batch's last notice record: the batch's next send of the same toss-up
# starts from it instead of reading it again (a submission's DM copy and confirmation follow its notice;
# each read was a trip to SQLite's thread). Used once, and only within the batch.
_JUST_RECORDED: contextvars.ContextVar[HandoffSnapshot | None] = contextvars.ContextVar(
    "tossup_just_recorded", default=None
)

T = TypeVar("T")


def submission_posts(*, submission_key: str) -> list[NewOutbox]:
    """What a new toss-up posts: the notice, its DM copy (skipped when nobody is assigned), the IS rep's
    confirmation."""
    kinds = (PostKind.NOTICE_CHANNEL, PostKind.NOTICE_DM, PostKind.IS_CONFIRMATION)
    return [NewOutbox(kind=kind, dedupe_key=f"{kind}:{submission_key}") for kind in kinds]


# Posts that need the channel notice to exist (a link to it, a reply in its thread).
NEEDS_NOTICE = (PostKind.IS_CONFIRMATION, PostKind.QUESTION, PostKind.QUESTION_DM, PostKind.SLA_ESCALATION)


def repost_notice(*, handoff_id: int, attempt_key: str) -> list[NewOutbox]:
    """Post a toss-up's channel notice again after it was given up (say, once the bot is invited)."""
    return [
        NewOutbox(kind=kind, dedupe_key=f"{kind}:repost:{handoff_id}:{attempt_key}")
        for kind in (PostKind.NOTICE_CHANNEL, PostKind.IS_CONFIRMATION)
    ]


async def queue_notice_repost(
    sessions: async_sessionmaker[AsyncSession], *, handoff_id: int, now: datetime
) -> Literal["queued", "already_posted", "not_found"]:
    """Queue a toss-up's channel notice again (`tossup repost`); the delivery loop sends it."""
    async with sessions() as session:
        handoff = await get_handoff(session=session, handoff_id=handoff_id)
        if handoff is None:
            return "not_found"
        if handoff.notice_ts:
            return "already_posted"
        await enqueue(
            session=session,
            messages=repost_notice(handoff_id=handoff_id, attempt_key=uuid.uuid4().hex[:12]),
            handoff_id=handoff_id,
            now=now,
        )
    return "queued"


def decision_posts(*, handoff_id: int, decision: str) -> list[NewOutbox]:
    """What a decision posts: the notices updated in place, and the IS rep told."""
    return [
        NewOutbox(
            kind=PostKind.NOTICE_REFRESH, dedupe_key=f"{PostKind.NOTICE_REFRESH}:{handoff_id}:{decision}"
        ),
        NewOutbox(kind=PostKind.DECISION_DM, dedupe_key=f"{PostKind.DECISION_DM}:{handoff_id}:{decision}"),
    ]


def question_posts(*, handoff_id: int, question_key: str, asker_id: str, question: str) -> list[NewOutbox]:
    """An FS question: in the notice's thread, and to the IS rep, who may not be in the FS channel."""
    payload = {"asker_id": asker_id, "question": question}
    return [
        NewOutbox(kind=kind, dedupe_key=f"{kind}:{handoff_id}:{question_key}", payload=payload)
        for kind in (PostKind.QUESTION, PostKind.QUESTION_DM)
    ]


def feedback_request_post(*, handoff_id: int) -> NewOutbox:
    """The one DM asking the FS rep for the post-meeting feedback sheet."""
    return NewOutbox(kind=PostKind.FEEDBACK_REQUEST, dedupe_key=f"{PostKind.FEEDBACK_REQUEST}:{handoff_id}")


def feedback_reminder_post(*, handoff_id: int, number: int) -> NewOutbox:
    """Reminder `number` (1-based) of an open feedback sheet."""
    return NewOutbox(
        kind=PostKind.FEEDBACK_REMINDER,
        dedupe_key=f"{PostKind.FEEDBACK_REMINDER}:{handoff_id}:{number}",
        payload={"number": number},
    )


def _submission_posts(handoff_id: int, submission_key: str, kinds: tuple[PostKind, ...]) -> list[NewOutbox]:
    """Posts keyed by the modal submission (its view id): the same submission twice posts once."""
    return [NewOutbox(kind=kind, dedupe_key=f"{kind}:{handoff_id}:{submission_key}") for kind in kinds]


def feedback_posts(*, handoff_id: int, submission_key: str) -> list[NewOutbox]:
    """A feedback sheet (or its edit): the IS rep told at once, the notices show the completed score."""
    return _submission_posts(handoff_id, submission_key, (PostKind.FEEDBACK_TO_IS, PostKind.NOTICE_REFRESH))


def is_rating_posts(*, handoff_id: int, submission_key: str) -> list[NewOutbox]:
    """IS's rating of FS's follow-through: the FS rep is told."""
    return _submission_posts(handoff_id, submission_key, (PostKind.IS_RATING_TO_FS,))


def outcome_posts(*, handoff_id: int, submission_key: str) -> list[NewOutbox]:
    """An outcome: the IS rep is told, the notices show it."""
    return _submission_posts(handoff_id, submission_key, (PostKind.OUTCOME_DM, PostKind.NOTICE_REFRESH))


DM_CHANNELS_KEPT = 10_000  # user id → DM channel id; a team is far smaller
CLAIM_BATCH = 10  # outbox rows leased in one transaction (a toss-up's notice, its DM copy, the confirmation)


@dataclass
class Delivery:
    client: AsyncWebClient
    sessions: async_sessionmaker[AsyncSession]
    config: AppConfig
    users: SlackUsers
    clock: Clock = utc_now
    # Longer than the worst single send (a few Slack calls of `slack_timeout_seconds`): a row is claimed
    # just before it is sent, so its lease never runs out while it is still being sent. A row whose lease
    # ran out on a dead worker is in doubt: the next worker looks for its post before sending it.
    lease: timedelta = timedelta(seconds=300)
    owner: str = field(default_factory=lambda: f"tossup-{uuid.uuid4().hex[:12]}")
    throttle: MethodThrottle | None = None  # one per process; made from `clock` when not given
    _in_flight: set[asyncio.Task] = field(default_factory=set)
    # Outbox rows this process is sending now: never claimed again by it, even when their lease looks run
    # out (a clock that jumped, a send slower than the lease): a second send would repeat the message.
    _sending_ids: set[int] = field(default_factory=set)
    # The toss-ups those rows belong to (how many of this process's batches hold rows of each): left alone
    # whole by its other drains, so a toss-up's confirmation is never sent beside its notice, ahead of it.
    _sending_handoffs: Counter[int] = field(default_factory=Counter)
    _marked_done: set[int] = field(default_factory=set)  # rows marked done with what their post recorded
    # Rows whose attempt under way Slack has taken a post for: an attempt that fails after that (recording
    # it, say, with the database locked) leaves the row in doubt, so the retry looks before posting again.
    _posted: set[int] = field(default_factory=set)
    _batch_released: asyncio.Condition = field(default_factory=asyncio.Condition)
    _claiming: asyncio.Lock = field(default_factory=asyncio.Lock)
    _soon: SendQueue | None = None
    _dm_channels: dict[str, str] = field(default_factory=dict)
    _workspace_url: str | None = None
    _workspace_url_retry_at: datetime | None = None  # after a failed auth.test: not asked again before
    _workspace_url_lookup: asyncio.Future[str | None] | None = None  # the auth.test under way, shared

    def __post_init__(self) -> None:
        if self.throttle is None:
            self.throttle = MethodThrottle(clock=self.clock)

    async def deliver_for(self, handoff_id: int) -> None:
        """Have what is due for one toss-up sent now (right after the change that queued it), by one of
        `delivery.workers` workers: the request that called this is not held by the sends."""
        if self._soon is None:
            self._soon = SendQueue(self._deliver_now, workers=self.config.delivery.workers)
        self._soon.kick(handoff_id)

    async def settled(self) -> None:
        """Until what requests asked to send right after their change (`deliver_for`) has been sent or
        tried, the last look for more included; the retry loop's rows are not waited for."""
        if self._soon is not None:
            await self._soon.join()

    async def _deliver_now(self, handoff_id: int) -> int:
        return await self._drain(handoff_id=handoff_id)

    async def drain(self) -> int:
        """Send everything due, including what this process's other drains are sending right now (waited
        for: once this returns, every message due when it was called went out or was tried); returns how
        many this call sent. Never from inside a send: it would wait for itself."""
        sent = await self._drain(handoff_id=None)
        held = set(self._sending_ids)  # what other drains held while this one found nothing left
        if held:
            # Waited for those rows only (not for whatever later drains take: that could be forever under
            # steady traffic); a row given back is due again, and sent by the drain that follows.
            async with self._batch_released:
                await self._batch_released.wait_for(lambda: held.isdisjoint(self._sending_ids))
            sent += await self._drain(handoff_id=None)
        return sent

    async def deliver_digests(self) -> int:
        """Send the digest posts that are due now (right after a digest period was claimed)."""
        return await self._drain(handoff_id=None, kinds=tuple(DIGEST_POST_KINDS))

    async def deliver_issue_posts(self) -> int:
        """Send the collaboration-issue posts that are due now (right after an issue was logged or closed)."""
        return await self._drain(handoff_id=None, kinds=tuple(ISSUE_POST_KINDS))

    async def deliver_exports(self) -> int:
        """Send the CSV exports that are due now (right after a manager asked for one)."""
        return await self._drain(handoff_id=None, kinds=tuple(EXPORT_POST_KINDS))

    async def run_forever(self) -> None:
        """The retry loop: drain every `delivery.poll_seconds`; never dies of one bad message."""
        while True:
            try:
                await self._drain(handoff_id=None)  # what others hold is theirs: no waiting for them
            except Exception:
                log.exception("outbox drain failed; retrying at the next poll")
            await asyncio.sleep(self._next_poll_seconds())

    def _next_poll_seconds(self) -> float:
        """The poll interval, or sooner when a paused Slack method is released before it (a 429's
        Retry-After is often a second or two: the messages it held go out then, not a poll later)."""
        poll = self.config.delivery.poll_seconds
        assert self.throttle is not None
        release = self.throttle.next_release()
        if release is None:
            return poll
        return min(poll, max((release - self.clock()).total_seconds(), 0.2))

    async def wait_idle(self, grace: float = 10.0) -> None:
        """Let sends under way finish (on shutdown), so none is cut between Slack's answer and its record."""
        if self._soon is not None:
            await self._soon.close(grace)
            self._soon = None
        pending = {task for task in self._in_flight if task is not asyncio.current_task()}
        if pending:
            await asyncio.wait(pending, timeout=grace)

    async def _drain(self, *, handoff_id: int | None, kinds: tuple[str, ...] | None = None) -> int:
        task = asyncio.current_task()
        if task is not None:
            self._in_flight.add(task)
        try:
            return await self._drain_due(handoff_id=handoff_id, kinds=kinds)
        finally:
            self._in_flight.discard(task)  # type: ignore[arg-type]

    async def _drain_due(self, *, handoff_id: int | None, kinds: tuple[str, ...] | None) -> int:
        sent = 0
        while True:
            # One claim at a time in the process: what another drain holds is then known when this one
            # claims (the rows it leased and the toss-ups they are of), not as of before it waited.
            async with self._claiming:
                claimed_at = self.clock()
                async with self.sessions() as session:  # one transaction leases a batch
                    items = await claim_due(
                        session=session,
                        now=claimed_at,
                        owner=self.owner,
                        lease=self.lease,
                        limit=CLAIM_BATCH,
                        handoff_id=handoff_id,
                        kinds=kinds,
                        exclude_ids=frozenset(self._sending_ids),
                        exclude_handoff_ids=frozenset(self._sending_handoffs),
                    )
                if not items:
                    return sent
                batch = [item.id for item in items]
                # (a drain of some kinds only would not take the rest of a toss-up: it holds none back)
                handoffs = (
                    {i.handoff_id for i in items if i.handoff_id is not None} if kinds is None else set()
                )
                self._sending_ids.update(batch)  # this process's other drains leave the whole batch alone
                self._sending_handoffs.update(handoffs)  # … and the rest of its toss-ups, till it is done
            try:
                sent += await self._send_batch(items, claimed_at)
            finally:
                self._sending_ids.difference_update(batch)  # done, failed, postponed or given back by now
                self._sending_handoffs.subtract(handoffs)
                for handoff in handoffs:
                    if self._sending_handoffs[handoff] <= 0:
                        del self._sending_handoffs[handoff]
                async with self._batch_released:
                    self._batch_released.notify_all()

    async def _send_batch(self, items: list[OutboxItem], claimed_at: datetime) -> int:
        _JUST_RECORDED.set(None)  # a worker's batches share its task: nothing carries over from the last
        try:
            return await self._send_items(items, claimed_at)
        finally:
            _JUST_RECORDED.set(None)

    async def _send_items(self, items: list[OutboxItem], claimed_at: datetime) -> int:
        sent = 0
        for n, item in enumerate(items):
            # Rows leased together could outlive their lease while earlier ones wait on a slow Slack, and
            # another worker would then send them a second time: a row is sent only while half its lease
            # (≥ 5 Slack timeouts) is left; the rest are given back and claimed afresh.
            if self.clock() - claimed_at > self.lease / 2:
                rest = [untried.id for untried in items[n:]]
                async with self.sessions() as session:
                    await release_leases(session=session, item_ids=rest, owner=self.owner)
                break
            sent += await self._attempt(item)
        return sent

    async def _attempt(self, item: OutboxItem) -> int:
        token = _SENDING.set(item)
        try:
            await self._send(item)
        except Paused as pause:  # not tried: due again when the method may be called
            async with self.sessions() as session:
                await postpone(session=session, item_id=item.id, owner=self.owner, until=pause.until)
            return 0
        except Exception as exc:
            await self._record_failure(item, exc)
            return 0
        finally:
            _SENDING.reset(token)
            marked_done = item.id in self._marked_done
            self._marked_done.discard(item.id)
            self._posted.discard(item.id)
        if marked_done:  # in the commit that recorded what it posted
            return 1
        async with self.sessions() as session:
            await mark_done(session=session, item_id=item.id, owner=self.owner, now=self.clock())
        return 1

    async def _record_failure(self, item: OutboxItem, exc: Exception) -> None:
        now = self.clock()
        settings = self.config.delivery
        retry_at: datetime | None
        if is_permanent(exc) or now - item.created_at > timedelta(hours=settings.give_up_after_hours):
            retry_at = None
        elif isinstance(exc, SlackApiError) and exc.response.status_code == 429:
            retry_at = now + timedelta(seconds=retry_after_seconds(exc))  # Slack said when: no guessing
        else:
            backoff = min(settings.first_retry_seconds * 2**item.attempts, settings.max_retry_seconds)
            retry_at = now + timedelta(seconds=backoff)
        error = f"{slack_error_code(exc)}: {' '.join(str(exc).split())}"[:1000]  # one log line
        # The toss-up's number is what an operator acts on (`tossup repost <id>`); the key tells posts apart.
        about = f" of toss-up #{item.handoff_id}" if item.handoff_id is not None else ""
        if retry_at is None:
            fix = ""
            if item.kind == PostKind.NOTICE_CHANNEL and item.handoff_id is not None:
                fix = f"; once the channel is fixed, run: tossup repost {item.handoff_id}"
            log.error("giving up on %s%s (%s)%s: %s", item.kind, about, item.dedupe_key, fix, error)
        else:
            log.warning(
                "could not send %s%s (%s: %s); retrying at %s",
                item.kind,
                about,
                item.dedupe_key,
                error,
                retry_at,
            )
        async with self.sessions() as session:
            await mark_failed(
                session=session,
                item_id=item.id,
                owner=self.owner,
                now=now,
                error=error,
                retry_at=retry_at,
                in_doubt=is_ambiguous(exc) or item.id in self._posted,
            )
        if retry_at is None and item.kind == PostKind.NOTICE_CHANNEL and item.handoff_id is not None:
            async with self.sessions() as session:
                await give_up_waiting(
                    session=session,
                    handoff_id=item.handoff_id,
                    kinds=NEEDS_NOTICE,
                    now=now,
                    error=f"the notice was given up: {error}",
                )
            await self._tell_is_notice_failed(item, slack_error_code(exc))
        if retry_at is None and item.kind in EXPORT_POST_KINDS:
            await tell_export_failed(item, delivery=self, error=slack_error_code(exc))

    async def _tell_is_notice_failed(self, item: OutboxItem, error: str) -> None:
        """The IS rep must not believe FS saw a notice that Slack refused for good."""
        try:
            handoff = await self._load(item)
            lang = await self.users.lang(handoff.is_user_id)
            channel = self.notice_channel(handoff)
            text, blocks = build_notice_failed(handoff=handoff, lang=lang, channel=channel, error=error)
            await self.dm(handoff.is_user_id, text, blocks)
        except Exception as exc:
            log.warning("could not tell the IS rep that notice %s failed: %s", item.dedupe_key, exc)

    async def _load(self, item: OutboxItem) -> HandoffSnapshot:
        if item.handoff_id is None:
            raise ValueError(f"outbox item {item.id} has no toss-up")
        recorded = _JUST_RECORDED.get()
        _JUST_RECORDED.set(None)
        if recorded is not None and recorded.id == item.handoff_id:
            return recorded  # read with the record that was this task's last step
        handoff = await self._load_handoff(item.handoff_id)
        if handoff is None:
            raise ValueError(f"toss-up {item.handoff_id} is gone")
        return handoff

    async def _load_handoff(self, handoff_id: int) -> HandoffSnapshot | None:
        async with for_reading(self.sessions)() as session:  # beside the writer; sees every commit made
            return await get_handoff(session=session, handoff_id=handoff_id)

    async def _send(self, item: OutboxItem) -> None:
        if item.kind in ISSUE_POST_KINDS:  # about a collaboration issue, not a toss-up
            await send_issue_post(item, delivery=self)
            return
        if item.kind in DIGEST_POST_KINDS:  # a scheduled digest for a channel
            await send_digest_post(item, delivery=self)
            return
        if item.kind in EXPORT_POST_KINDS:  # a CSV export, to the manager who asked for it
            await send_export_post(item, delivery=self)
            return
        if item.kind in EDIT_POST_KINDS:  # what an edit of the memo changed, in the notice's thread
            await send_edit_post(item, delivery=self)
            return
        handoff = await self._load(item)
        match item.kind:
            case PostKind.NOTICE_CHANNEL:
                await self._post_notice(handoff)
            case PostKind.NOTICE_DM:
                await self._post_notice_dm(handoff)
            case PostKind.IS_CONFIRMATION:
                await self._confirm_to_is(handoff)
            case PostKind.NOTICE_REFRESH:
                await self._refresh_notices(handoff)
            case PostKind.DECISION_DM:
                await self._tell_is_of_decision(handoff)
            case PostKind.QUESTION:
                await self._post_question(handoff, item.payload)
            case PostKind.QUESTION_DM:
                await self._tell_is_of_question(handoff, item.payload)
            case PostKind.SLA_REMINDER | PostKind.SLA_ESCALATION:
                await self._sla_step(handoff, item)
            case PostKind.FEEDBACK_REQUEST | PostKind.FEEDBACK_REMINDER:
                await self._ask_for_feedback(handoff, item)
            case PostKind.FEEDBACK_TO_IS:
                await self._tell_is_of_feedback(handoff)
            case PostKind.IS_RATING_TO_FS:
                await self._tell_fs_of_rating(handoff)
            case PostKind.OUTCOME_DM:
                await self._tell_is_of_outcome(handoff)
            case _:
                raise ValueError(f"unknown outbox kind {item.kind!r}")

    async def _zone(self, user_id: str | None) -> ZoneInfo:
        """The zone a DM to `user_id` shows times in: theirs from Slack, else the team's (channels: team)."""
        return await self.users.zone(user_id, fallback=self.config.tz)

    async def _notice(
        self, handoff: HandoffSnapshot, lang: Lang, reader: str | None = None
    ) -> tuple[str, list]:
        state = (
            await loop_state(self.sessions, handoff.id) if handoff.status is HandoffStatus.ACCEPTED else None
        )
        return build_notice(
            handoff=handoff,
            lang=lang,
            tz=await self._zone(reader),
            config=self.config,
            outcome=state.outcome if state else None,
            outcome_by=state.outcome_by if state else None,
            rated=state.sheet is not None if state else False,
        )

    async def _post_notice(self, handoff: HandoffSnapshot) -> None:
        if handoff.notice_ts:
            return  # posted by an earlier attempt whose completion was not recorded
        channel = self.notice_channel(handoff)
        item = _SENDING.get()
        if item is not None and item.in_doubt and channel != handoff.channel_id:
            # app.yaml moved the notice since the attempt in doubt, which went where the toss-up was first
            # routed: look there too before posting in the new channel (post() looks in that one).
            found = await self._find_posted(item, channel=handoff.channel_id, thread_ts=None)
            if found is not None:
                log.info("%s was posted by an earlier attempt in %s: not sent again", item.dedupe_key, found)
                async with self.sessions() as session:
                    await record_notice(
                        session=session,
                        handoff_id=handoff.id,
                        where="channel",
                        channel_id=handoff.channel_id,
                        ts=found,
                        now=self.clock(),
                    )
                return
        await self._post_and_record(handoff, "channel", channel, self.config.locale)

    def notice_channel(self, handoff: HandoffSnapshot) -> str:
        """Where the toss-up's notice goes, as app.yaml says now: a channel fixed since Slack refused the
        notice is where `tossup repost` posts it (toss-ups stored before routing was recorded: their own).
        Rules are matched by name: a renamed rule's toss-ups go to channels.fs."""
        if handoff.route is None:
            return handoff.channel_id
        return channel_now(handoff.route, config=self.config.routing, default_channel=self.config.channels.fs)

    async def _post_notice_dm(self, handoff: HandoffSnapshot) -> None:
        if handoff.dm_ts or not handoff.fs_user_id:
            return
        lang = await self.users.lang(handoff.fs_user_id)
        channel = await self.dm_channel(handoff.fs_user_id)
        await self._post_and_record(handoff, "dm", channel, lang, reader=handoff.fs_user_id)

    async def _post_and_record(
        self,
        handoff: HandoffSnapshot,
        where: Literal["channel", "dm"],
        channel: str,
        lang: Lang,
        reader: str | None = None,
    ) -> None:
        """Post a notice and remember where, so it can be updated in place and threaded under."""
        text, blocks = await self._notice(handoff, lang, reader)
        response = await self.post(channel=channel, text=text, blocks=blocks)
        posted_channel, ts = response["channel"], response["ts"]
        item = _SENDING.get()  # the outbox row of this post: recording the notice is its last step
        async with self.sessions() as session:
            current = await record_notice_and_read(
                session=session,
                handoff_id=handoff.id,
                where=where,
                channel_id=posted_channel,
                ts=ts,
                now=self.clock(),
                done_item_id=item.id if item is not None else None,
            )
        if item is not None:
            self._marked_done.add(item.id)
        _JUST_RECORDED.set(current)
        # A decision or an edit made while it was being posted refreshed the notices before this one was
        # recorded (another replica's refresh, which did not know it yet): bring it up to date now.
        if current is None or _with_notice(handoff, where, posted_channel, ts) == current:
            return  # nothing it shows has changed (the usual case: no rebuild)
        try:
            fresh_text, fresh_blocks = await self._notice(current, lang, reader)
            if (fresh_text, _as_dicts(fresh_blocks)) != (text, _as_dicts(blocks)):
                await self.update(channel=posted_channel, ts=ts, text=fresh_text, blocks=fresh_blocks)
        except Exception as exc:  # Slack refused or paused chat.update, the database failed: retried later
            log.warning(
                "could not bring toss-up #%d's %s notice up to date (%s); queued", handoff.id, where, exc
            )
            await self._refresh_later(handoff.id, f"{where}:{ts}")

    async def _is_confirmation(self, handoff: HandoffSnapshot) -> tuple[str, list]:
        text, blocks, _ = await self._linked_confirmation(handoff)
        return text, blocks

    async def _linked_confirmation(self, handoff: HandoffSnapshot) -> tuple[str, list, bool]:
        """The IS rep's confirmation, and whether it holds the notice's link (auth.test may have failed)."""
        if not (handoff.notice_channel_id and handoff.notice_ts):
            raise NotReady("the notice is not posted yet")
        permalink = await self._permalink(handoff.notice_channel_id, handoff.notice_ts)
        lang = await self.users.lang(handoff.is_user_id)
        text, blocks = build_is_confirmation(handoff=handoff, lang=lang, permalink=permalink)
        return text, blocks, permalink is not None

    async def _confirm_to_is(self, handoff: HandoffSnapshot) -> None:
        text, blocks, linked = await self._linked_confirmation(handoff)
        posted = await self.dm(handoff.is_user_id, text, blocks)
        channel, ts = posted["channel"], posted["ts"]
        item = _SENDING.get()
        # Recorded (to be kept current in place: `_refresh_notices`) with its outbox row marked done in the
        # same commit: nothing that fails after this posts the confirmation a second time.
        # A decision made while it was being posted refreshed the notices before it was recorded: read with
        # the record, it brings the confirmation up to date now (a refresh that reads the toss-up after the
        # recording sees it and updates it).
        async with self.sessions() as session:
            current = await record_notice_and_read(
                session=session,
                handoff_id=handoff.id,
                where="is_dm",
                channel_id=channel,
                ts=ts,
                now=self.clock(),
                done_item_id=item.id if item is not None else None,
            )
        if item is not None:
            self._marked_done.add(item.id)
        _JUST_RECORDED.set(current)
        try:
            if current is None:
                return
            # What it was built from, but for where it was just recorded, and with its link: nothing it shows
            # has changed (the usual case: no rebuild, no second serialisation of its blocks to compare).
            if linked and (
                replace(current, is_dm_channel_id=handoff.is_dm_channel_id, is_dm_ts=handoff.is_dm_ts)
                == handoff
            ):
                return
            fresh_text, fresh_blocks, fresh_linked = await self._linked_confirmation(current)
            if (fresh_text, _as_dicts(fresh_blocks)) != (text, _as_dicts(blocks)):
                await self.update(channel=channel, ts=ts, text=fresh_text, blocks=fresh_blocks)
            if not fresh_linked:  # auth.test failed: the link once it may be asked again
                await self._refresh_later(handoff.id, f"is_dm_link:{ts}", at=self._workspace_url_retry_at)
        except Exception as exc:  # Slack refused or paused chat.update, the database failed: retried later
            log.warning("could not bring toss-up #%d's confirmation up to date (%s); queued", handoff.id, exc)
            await self._refresh_later(handoff.id, f"is_dm:{ts}")

    async def _refresh_later(self, handoff_id: int, why: str, *, at: datetime | None = None) -> None:
        """Queue a refresh of the toss-up's notices in place, due now or `at` (never raises: the send it
        follows is done)."""
        refresh = PostKind.NOTICE_REFRESH
        try:
            async with self.sessions() as session:
                await enqueue(
                    session=session,
                    messages=[NewOutbox(kind=refresh, dedupe_key=f"{refresh}:{handoff_id}:{why}")],
                    handoff_id=handoff_id,
                    now=max(at or self.clock(), self.clock()),
                )
        except Exception:
            log.exception("could not queue a refresh of toss-up #%d's notices", handoff_id)

    async def _refresh_notices(self, handoff: HandoffSnapshot) -> None:
        # A notice not posted yet needs no update: it will be rendered in its current state.
        if handoff.notice_channel_id and handoff.notice_ts:
            text, blocks = await self._notice(handoff, self.config.locale)
            await self.update(
                channel=handoff.notice_channel_id, ts=handoff.notice_ts, text=text, blocks=blocks
            )
        if handoff.dm_channel_id and handoff.dm_ts and handoff.fs_user_id:
            lang = await self.users.lang(handoff.fs_user_id)
            text, blocks = await self._notice(handoff, lang, handoff.fs_user_id)
            await self.update(channel=handoff.dm_channel_id, ts=handoff.dm_ts, text=text, blocks=blocks)
        if handoff.is_dm_channel_id and handoff.is_dm_ts:  # its Edit button goes once FS has decided
            text, blocks = await self._is_confirmation(handoff)
            await self.update(channel=handoff.is_dm_channel_id, ts=handoff.is_dm_ts, text=text, blocks=blocks)

    async def _tell_is_of_decision(self, handoff: HandoffSnapshot) -> None:
        lang = await self.users.lang(handoff.is_user_id)
        tz = await self._zone(handoff.is_user_id)
        text, blocks = build_decision_dm(handoff=handoff, lang=lang, tz=tz)
        await self.dm(handoff.is_user_id, text, blocks)

    async def _post_question(self, handoff: HandoffSnapshot, payload: dict) -> None:
        if not (handoff.notice_channel_id and handoff.notice_ts):
            raise NotReady("the notice is not posted yet")
        text, blocks = build_question_message(
            handoff=handoff,
            lang=self.config.locale,
            asker_id=str(payload["asker_id"]),
            question=str(payload["question"]),
        )
        await self.post(
            channel=handoff.notice_channel_id, thread_ts=handoff.notice_ts, text=text, blocks=blocks
        )

    async def _tell_is_of_question(self, handoff: HandoffSnapshot, payload: dict) -> None:
        if not (handoff.notice_channel_id and handoff.notice_ts):
            raise NotReady("the notice is not posted yet")
        permalink = await self._permalink(handoff.notice_channel_id, handoff.notice_ts)
        lang = await self.users.lang(handoff.is_user_id)
        text, blocks = build_question_dm(
            handoff=handoff,
            lang=lang,
            asker_id=str(payload["asker_id"]),
            question=str(payload["question"]),
            permalink=permalink,
        )
        await self.dm(handoff.is_user_id, text, blocks)

    async def _sla_step(self, handoff: HandoffSnapshot, item: OutboxItem) -> None:
        if handoff.status is not HandoffStatus.PENDING:
            return  # decided since it was queued: reminders stop
        sla, tz = self.config.sla, self.config.tz
        deadline = sla_deadline(handoff.created_at, sla, tz=tz)
        if item.kind == PostKind.SLA_REMINDER:
            if handoff.fs_user_id is None:
                return
            lang = await self.users.lang(handoff.fs_user_id)
            number = int(item.payload.get("number", 1))
            zone = await self._zone(handoff.fs_user_id)  # the deadline is the team's; shown in theirs
            text, blocks = build_sla_reminder(
                handoff=handoff, lang=lang, tz=zone, deadline=deadline, number=number
            )
            await self.dm(handoff.fs_user_id, text, blocks)
            return
        waited = time_to_decide(handoff.created_at, self.clock(), tz=tz, business_hours=sla.business_hours)
        target = str(item.payload.get("target"))
        if target == "channel":
            if not (handoff.notice_channel_id and handoff.notice_ts):
                raise NotReady("the notice is not posted yet")
            lang = self.config.locale
            text, blocks = build_sla_escalation(
                handoff=handoff, lang=lang, tz=tz, deadline=deadline, waited=waited
            )
            await self.post(
                channel=handoff.notice_channel_id, thread_ts=handoff.notice_ts, text=text, blocks=blocks
            )
            return
        lang = await self.users.lang(target)
        text, blocks = build_sla_escalation(
            handoff=handoff, lang=lang, tz=await self._zone(target), deadline=deadline, waited=waited
        )
        await self.dm(target, text, blocks)

    async def _ask_for_feedback(self, handoff: HandoffSnapshot, item: OutboxItem) -> None:
        """The post-meeting request or a reminder; skipped once the sheet is in (reminders stop)."""
        owner = feedback_owner(handoff)
        if handoff.status is not HandoffStatus.ACCEPTED or owner is None:
            return
        if (await loop_state(self.sessions, handoff.id)).sheet is not None:
            return
        lang, tz = await self.users.lang(owner), await self._zone(owner)
        if item.kind == PostKind.FEEDBACK_REMINDER:
            number = int(item.payload.get("number", 1))
            text, blocks = build_feedback_reminder(handoff=handoff, lang=lang, tz=tz, number=number)
        else:
            text, blocks = build_feedback_request(handoff=handoff, lang=lang, tz=tz)
        await self.dm(owner, text, blocks)

    async def _tell_is_of_feedback(self, handoff: HandoffSnapshot) -> None:
        state = await loop_state(self.sessions, handoff.id)
        if state.sheet is None:
            return
        lang = await self.users.lang(handoff.is_user_id)
        text, blocks = build_feedback_to_is(
            handoff=handoff,
            sheet=state.sheet,
            lang=lang,
            tz=await self._zone(handoff.is_user_id),
            rater_id=None if self.config.feedback.anonymous else state.sheet_by,
            score_text=score_summary_text(handoff.score, lang) if handoff.score else None,
        )
        await self.dm(handoff.is_user_id, text, blocks)

    async def _tell_fs_of_rating(self, handoff: HandoffSnapshot) -> None:
        state, owner = await loop_state(self.sessions, handoff.id), feedback_owner(handoff)
        if state.rating is None or owner is None:
            return
        lang = await self.users.lang(owner)
        text, blocks = build_is_rating_to_fs(
            handoff=handoff,
            rating=state.rating,
            lang=lang,
            rater_id=None if self.config.feedback.anonymous else handoff.is_user_id,
        )
        await self.dm(owner, text, blocks)

    async def _tell_is_of_outcome(self, handoff: HandoffSnapshot) -> None:
        state = await loop_state(self.sessions, handoff.id)
        if state.outcome is None:
            return
        lang = await self.users.lang(handoff.is_user_id)
        recorded_by = None if self.config.feedback.anonymous else state.outcome_by
        text, blocks = build_outcome_dm(
            handoff=handoff,
            outcome=state.outcome,
            lang=lang,
            recorded_by=recorded_by,
            currency=self.config.currency,
        )
        await self.dm(handoff.is_user_id, text, blocks)

    async def dm(self, user_id: str, text: str, blocks: list) -> dict[str, str]:
        """A direct message to `user_id` (the DM channel is opened first); its channel and ts."""
        return await self.post(channel=await self.dm_channel(user_id), text=text, blocks=blocks)

    async def dm_channel(self, user_id: str) -> str:
        """The bot's DM channel with `user_id`: asked of Slack once, then remembered (it never changes)."""
        if (known := self._dm_channels.get(user_id)) is not None:
            return known
        response = await self._slack(
            "conversations.open", lambda: self.client.conversations_open(users=user_id)
        )
        if len(self._dm_channels) >= DM_CHANNELS_KEPT:
            self._dm_channels.clear()
        self._dm_channels[user_id] = channel = str(response["channel"]["id"])
        return channel

    async def post(
        self, *, channel: str, text: str, blocks: list, thread_ts: str | None = None
    ) -> dict[str, str]:
        """chat.postMessage for the outbox row being sent, exactly once: stamped with the row's key in
        message metadata and, when an earlier attempt may have posted it, found instead of sent again.
        Returns the message's channel and ts."""
        item = _SENDING.get()
        if item is not None and item.in_doubt:
            found = await self._find_posted(item, channel=channel, thread_ts=thread_ts)
            if found is not None:
                log.info(
                    "%s was posted by an earlier attempt (ts %s): not sent again", item.dedupe_key, found
                )
                return {"channel": channel, "ts": found}
        args: dict[str, Any] = {
            "channel": channel,
            "text": text,
            "blocks": _as_dicts(blocks),
            "unfurl_links": False,
            "unfurl_media": False,
        }
        if thread_ts:
            args["thread_ts"] = thread_ts
        if item is not None:
            args["metadata"] = {"event_type": METADATA_EVENT_TYPE, "event_payload": {"key": item.dedupe_key}}
        response = await self._slack("chat.postMessage", lambda: self.client.chat_postMessage(**args))
        if item is not None:
            self._posted.add(item.id)
        return {"channel": str(response["channel"]), "ts": str(response["ts"])}

    async def upload(
        self,
        *,
        channel: str,
        thread_ts: str | None,
        filename: str,
        content: bytes | os.PathLike[str],
        title: str,
        alt_text: str | None = None,
        initial_comment: str | None = None,
    ) -> None:
        """A file shared into a thread (a chart), or into a channel or DM (`thread_ts` None: an export),
        with Slack's upload flow (files.getUploadURLExternal → upload → files.completeUploadExternal),
        exactly once: an upload in doubt is looked for first, by its file name, among the thread's files
        (or the channel's since the row was queued)."""
        item = _SENDING.get()
        if item is not None and item.in_doubt and await self._find_file(item, channel, thread_ts, filename):
            log.info("%s was uploaded by an earlier attempt: not sent again", filename)
            return
        await self._slack(
            "files.completeUploadExternal",
            lambda: self.client.files_upload_v2(
                channel=channel,
                thread_ts=thread_ts,
                file=content,
                filename=filename,
                title=title,
                alt_txt=alt_text,
                initial_comment=initial_comment,
            ),
        )
        if item is not None:
            self._posted.add(item.id)

    async def _find_file(self, item: OutboxItem, channel: str, thread_ts: str | None, filename: str) -> bool:
        method = "conversations.replies" if thread_ts else "conversations.history"
        try:
            if thread_ts:
                page = await self._slack(
                    method,
                    lambda: self.client.conversations_replies(
                        channel=channel, ts=thread_ts, limit=200, include_all_metadata=True
                    ),
                )
            else:
                oldest = f"{item.created_at.timestamp() - RECONCILE_SLACK_SECONDS:.6f}"
                page = await self._slack(
                    method,
                    lambda: self.client.conversations_history(channel=channel, oldest=oldest, limit=200),
                )
        except SlackApiError as exc:
            if slack_error_code(exc) not in _CANNOT_LOOK:
                raise
            log.warning(
                "cannot look for %s (%s): uploading it, it may show twice", filename, slack_error_code(exc)
            )
            return False
        return any(
            (file.get("name") or file.get("title")) == filename
            for message in page.get("messages") or []
            for file in message.get("files") or []
        )

    async def update(self, *, channel: str, ts: str, text: str, blocks: list) -> None:
        """chat.update (the same update twice is harmless: nothing to reconcile)."""
        await self._slack(
            "chat.update",
            lambda: self.client.chat_update(channel=channel, ts=ts, text=text, blocks=_as_dicts(blocks)),
        )

    async def _slack(self, method: str, call: Callable[[], Awaitable[T]]) -> T:
        """One Slack call under this process's throttle for `method` (raises Paused while it holds)."""
        throttle = self.throttle
        assert throttle is not None
        until = throttle.paused_until(method)
        if until is not None:
            raise Paused(method, until)
        try:
            result = await call()
        except SlackApiError as exc:
            status = exc.response.status_code
            if status == 429:
                throttle.rate_limited(method, retry_after_seconds(exc))
            elif status >= 500:
                throttle.failed(method)
            raise
        except Exception as exc:
            if is_ambiguous(exc) or isinstance(exc, OSError):
                throttle.failed(method)
            raise
        throttle.succeeded(method)
        return result

    async def _find_posted(self, item: OutboxItem, *, channel: str, thread_ts: str | None) -> str | None:
        """The ts of the message an earlier attempt of `item` posted in `channel` (or the thread), if any."""
        oldest = f"{item.created_at.timestamp() - RECONCILE_SLACK_SECONDS:.6f}"
        method = "conversations.replies" if thread_ts else "conversations.history"
        cursor: str | None = None
        for _ in range(RECONCILE_PAGES):
            args: dict[str, Any] = {
                "channel": channel,
                "oldest": oldest,
                "limit": 200,
                "include_all_metadata": True,
            }
            if cursor:
                args["cursor"] = cursor
            try:
                if thread_ts:
                    page = await self._slack(
                        method, lambda args=args: self.client.conversations_replies(ts=thread_ts, **args)
                    )
                else:
                    page = await self._slack(
                        method, lambda args=args: self.client.conversations_history(**args)
                    )
            except SlackApiError as exc:
                if slack_error_code(exc) not in _CANNOT_LOOK:
                    raise
                log.warning(
                    "cannot look for %s in %s (%s): sending it, it may show twice",
                    item.dedupe_key,
                    channel,
                    slack_error_code(exc),
                )
                return None
            for message in page.get("messages") or []:
                metadata = message.get("metadata") or {}
                payload = metadata.get("event_payload") or {}
                if (
                    metadata.get("event_type") == METADATA_EVENT_TYPE
                    and payload.get("key") == item.dedupe_key
                ):
                    return str(message["ts"])
            cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor:
                return None
        return None

    async def workspace_url(self) -> str | None:
        """The workspace's base URL (auth.test, kept once known), for links to messages; None if unknown.

        Callers at the same moment share one auth.test; after a failure it is not asked again for
        `WORKSPACE_URL_RETRY` (each App Home open and each digest asked again while Slack failed, each
        waiting out the client's timeout). A caller that stops waiting does not cancel it for the others.
        """
        if self._workspace_url is not None:
            return self._workspace_url
        if self._workspace_url_retry_at is not None and self.clock() < self._workspace_url_retry_at:
            return None
        if self._workspace_url_lookup is None or self._workspace_url_lookup.done():
            self._workspace_url_lookup = asyncio.ensure_future(self._ask_workspace_url())
        return await asyncio.shield(self._workspace_url_lookup)

    async def _ask_workspace_url(self) -> str | None:
        try:
            url = (await self.client.auth_test()).get("url")
        except Exception as exc:  # a missing link must not hold a digest back
            log.info(
                "auth.test failed (%s): messages go without links for %d s",
                slack_error_code(exc),
                WORKSPACE_URL_RETRY.total_seconds(),
            )
            url = None
        if not url:
            self._workspace_url_retry_at = self.clock() + WORKSPACE_URL_RETRY
            return None
        self._workspace_url, self._workspace_url_retry_at = str(url), None
        return self._workspace_url

    async def _permalink(self, channel: str, ts: str) -> str | None:
        """A message's link, made from the workspace's URL (auth.test, kept once known) as the digests make
        theirs: no `chat.getPermalink` per toss-up (a notice's link never changes, and each toss-up has its
        own notice)."""
        return notice_permalink(await self.workspace_url(), NoticeRef(channel_id=channel, ts=ts))
