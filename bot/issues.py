"""The collaboration-issue log's steps between a handler and the store: who may act, what a submission
is checked against, what is stored and which posts are queued with it. Handlers call these, answer
Slack, then ask the delivery to send what was queued.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from slack_sdk.models.views import View
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import AppConfig, slack_channel
from bot.domain.issues import CollabIssue, IssueDraft, IssueRefusal, parse_issue_id
from bot.domain.memo import is_slack_user_id
from bot.i18n import Lang, t
from bot.issue_posts import closed_post, owner_dm_post
from bot.services import Services
from bot.slack import SlackUsers
from modals.ids import BlockId
from modals.issues import (
    IssueCloseMeta,
    IssueModalMeta,
    build_already_closed_view,
    build_issue_confirmation,
    close_errors,
    forged_owner_errors,
    issue_errors,
    issue_form_error,
    parse_issue_submission,
)
from modals.messages import Message
from store.issues import CloseResult, IssueCreated, NewIssue, close_issue, create_issue, get_issue
from store.outbox import NewOutbox

Sessions = async_sessionmaker[AsyncSession]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IssueFormAnswer:
    """How a submitted issue form is answered: field errors in the form, the form replaced by `view`, or
    closed (no errors, no view) with `confirmation` to tell the person privately, if any. Posts it queued
    are sent by the delivery after the ack."""

    errors: dict[str, str] = field(default_factory=dict)
    view: View | None = None
    confirmation: Message | None = None


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


async def submit_issue_form(
    services: Services, *, actor: str, key: str | None, meta: IssueModalMeta, values: Any
) -> IssueFormAnswer:
    """`/tossup issue`'s modal submitted: checked (who, then the fields, then the owner), stored once per
    view (a double click or Slack's retry is confirmed the first time only), the owner's DM queued."""
    problem_block, lang = BlockId.ISSUE_PROBLEM.value, meta.lang
    if not actor or key is None:  # Slack always sends both: no issue without who raised it
        log.warning("an issue submission came without a user or a view id")
        return IssueFormAnswer(errors={problem_block: t(lang, "handler.incomplete_request")})
    if not may_work(services.config, actor):  # roles may have changed since the modal opened
        return IssueFormAnswer(errors={problem_block: issue_form_error(IssueRefusal.NOT_ALLOWED, lang)})
    draft = parse_issue_submission(values)
    errors = {
        **await check_issue(draft, users=services.users, lang=lang),
        **forged_owner_errors(values, lang),  # read as "no owner" by the parser: refuse it here
    }
    if errors:
        return IssueFormAnswer(errors=errors)
    try:
        stored = await log_issue(
            services.sessions,
            draft=draft,
            actor_id=actor,
            submission_key=key,
            channel_id=meta.channel_id,
            now=services.clock(),
        )
    except Exception:
        log.exception("could not store the collaboration issue of %s", actor)
        # The modal stays open with everything typed: nothing is lost, they can submit again.
        return IssueFormAnswer(errors={problem_block: t(lang, "handler.store_failed")})
    if not stored.created:
        return IssueFormAnswer()
    return IssueFormAnswer(confirmation=build_issue_confirmation(issue=stored.issue, lang=lang))


async def close_issue_form(
    services: Services, *, meta: IssueCloseMeta, actor: str, decision: str | None
) -> IssueFormAnswer:
    """The close modal submitted (its metadata read and checked by the handler): the decision checked,
    then who closes, then the issue closed once with the reply in its agenda thread queued. Closed by
    someone else meanwhile: the form shows who and what they decided."""
    lang, decision_block = meta.lang, BlockId.ISSUE_DECISION.value
    errors = close_errors(decision, lang)
    if not errors and not actor:  # Slack always sends the user: an issue is never closed by nobody
        errors = {decision_block: t(lang, "handler.incomplete_request")}
    elif not errors and not may_work(services.config, actor):
        errors = {decision_block: issue_form_error(IssueRefusal.NOT_ALLOWED, lang)}
    if errors or decision is None:
        return IssueFormAnswer(errors=errors)
    try:
        result = await close_with_decision(
            services.sessions, meta=meta, actor_id=actor, decision=decision, now=services.clock()
        )
    except Exception:
        log.exception("could not close collaboration issue %s", meta.issue_id)
        return IssueFormAnswer(errors={decision_block: t(lang, "handler.store_failed")})
    if result.issue is None:
        return IssueFormAnswer(errors={decision_block: issue_form_error(IssueRefusal.NOT_FOUND, lang)})
    if closed_by_someone_else(result, actor_id=actor, decision=decision):
        zone = await services.users.zone(actor, fallback=services.config.tz)
        return IssueFormAnswer(view=build_already_closed_view(issue=result.issue, lang=lang, tz=zone))
    return IssueFormAnswer()


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
