"""The collaboration-issue log's steps between a handler and the store: who may act, what a submission
is checked against, what is stored and which posts are queued with it. Handlers call these, answer
Slack, then ask the delivery to send what was queued.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import AppConfig, slack_channel
from bot.domain.issues import CollabIssue, IssueDraft, IssueRefusal, parse_issue_id
from bot.domain.memo import is_slack_user_id
from bot.i18n import Lang
from bot.issue_posts import closed_post, owner_dm_post
from bot.slack import SlackUsers
from modals.issues import IssueCloseMeta, issue_errors
from store.issues import CloseResult, IssueCreated, NewIssue, close_issue, create_issue, get_issue
from store.outbox import NewOutbox

Sessions = async_sessionmaker[AsyncSession]


@dataclass(frozen=True)
class CloseTarget:
    """The issue behind a Close button, or why it cannot be closed from there (`refusal`). An issue
    closed already comes back with no refusal: the clicker is told who closed it and what was decided."""

    issue: CollabIssue | None
    refusal: IssueRefusal | None = None


def may_work(config: AppConfig, actor_id: str) -> bool:
    """Whether the team's roles let `actor_id` log and close collaboration issues: anyone on the team."""
    return config.roles.has_member(actor_id)


async def check_issue(draft: IssueDraft, *, users: SlackUsers, lang: Lang) -> dict[str, str]:
    """Field errors of a submitted issue (block id → text in `lang`); the owner must be a person, not a
    bot or a deactivated account (when Slack does not answer in time, the owner is let through)."""
    owner_is_person = True
    if draft.owner_id and not issue_errors(draft, lang):
        owner = await users.get(draft.owner_id)
        owner_is_person = owner is None or owner.is_active_person
    return issue_errors(draft, lang, owner_is_person=owner_is_person)


async def log_issue(
    sessions: Sessions,
    *,
    draft: IssueDraft,
    actor_id: str,
    submission_key: str,
    channel_id: str | None,
    now: datetime,
) -> IssueCreated:
    """Store a checked issue (`check_issue` found nothing) with the owner's DM queued; the same
    submission again stores nothing (`created=False`)."""
    if not draft.problem or draft.impact is None or draft.urgency is None:
        raise ValueError("the issue was not checked: problem, impact and urgency are required")
    if draft.owner_id is not None and not is_slack_user_id(draft.owner_id):
        raise ValueError("the issue was not checked: its owner is not a Slack user id")
    data = NewIssue(
        submission_key=submission_key,
        problem=draft.problem,
        impact=draft.impact,
        urgency=draft.urgency,
        raised_by=actor_id,
        owner_id=draft.owner_id,
        channel_id=slack_channel(channel_id),
    )
    async with sessions() as session:
        return await create_issue(session=session, data=data, now=now, outbox=owner_dm_post)


async def load_issue(sessions: Sessions, issue_id: int) -> CollabIssue | None:
    async with sessions() as session:
        return await get_issue(session=session, issue_id=issue_id)


async def issue_to_close(
    sessions: Sessions, config: AppConfig, *, actor_id: str, raw_id: object
) -> CloseTarget:
    """The issue a Close button names, checked: who clicks, then the button's value, then the issue."""
    if not may_work(config, actor_id):
        return CloseTarget(issue=None, refusal=IssueRefusal.NOT_ALLOWED)
    issue_id = parse_issue_id(raw_id)
    if issue_id is None:
        return CloseTarget(issue=None, refusal=IssueRefusal.BAD_VALUE)
    issue = await load_issue(sessions, issue_id)
    if issue is None:
        return CloseTarget(issue=None, refusal=IssueRefusal.NOT_FOUND)
    return CloseTarget(issue=issue)


async def close_with_decision(
    sessions: Sessions, *, meta: IssueCloseMeta, actor_id: str, decision: str, now: datetime
) -> CloseResult:
    """Close the issue once, queueing the reply in the agenda thread it was closed from (when the modal
    knows that thread; the metadata was validated as Slack-looking ids when it came back)."""
    outbox: list[NewOutbox] = []
    if meta.channel_id and meta.thread_ts:
        outbox.append(
            closed_post(issue_id=meta.issue_id, channel_id=meta.channel_id, thread_ts=meta.thread_ts)
        )
    async with sessions() as session:
        return await close_issue(
            session=session,
            issue_id=meta.issue_id,
            closed_by=actor_id,
            decision=decision,
            now=now,
            outbox=outbox,
        )


def closed_by_someone_else(result: CloseResult, *, actor_id: str, decision: str) -> bool:
    """Whether the close lost to an earlier one. The same close again (a double click, Slack retrying:
    closed already by this person with these words) did not: it is answered like the first."""
    issue = result.issue
    if result.outcome != "already_closed" or issue is None:
        return False
    return not (issue.closed_by == actor_id and issue.decision == decision)
