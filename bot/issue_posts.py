"""What the bot posts about collaboration issues, sent by the outbox (`Delivery`).

Rows are queued by `bot.issues` in the same transaction as the change they announce (logged, closed);
`Delivery` hands any row whose kind is in `ISSUE_POST_KINDS` to `send_issue_post`. Messages are rendered
when sent, from the issue as it is then, in the reader's language (channel posts: the team's `locale`).
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from bot.domain.issues import CollabIssue, parse_issue_id
from modals.issues import build_issue_closed, build_owner_dm
from store.issues import get_issue
from store.outbox import NewOutbox, OutboxItem

if TYPE_CHECKING:
    from bot.delivery import Delivery


class IssuePostKind(StrEnum):
    OWNER_DM = "issue_owner_dm"  # payload {"issue_id"}: the owner someone named is told by DM
    CLOSED = "issue_closed"  # payload {"issue_id", "channel_id", "thread_ts"}: the reply in the agenda thread


ISSUE_POST_KINDS: frozenset[str] = frozenset(kind.value for kind in IssuePostKind)


def owner_dm_post(issue: CollabIssue) -> list[NewOutbox]:
    """The owner's DM about a new issue; none when nobody, or the reporter themself, owns it."""
    if issue.owner_id is None or issue.owner_id == issue.raised_by:
        return []
    kind = IssuePostKind.OWNER_DM
    return [NewOutbox(kind=kind, dedupe_key=f"{kind}:{issue.id}", payload={"issue_id": issue.id})]


def closed_post(*, issue_id: int, channel_id: str, thread_ts: str) -> NewOutbox:
    """Who closed the issue and what was decided, in the thread where Close was clicked. Once per issue:
    it is closed once."""
    kind = IssuePostKind.CLOSED
    return NewOutbox(
        kind=kind,
        dedupe_key=f"{kind}:{issue_id}",
        payload={"issue_id": issue_id, "channel_id": channel_id, "thread_ts": thread_ts},
    )


async def _load(item: OutboxItem, delivery: Delivery) -> CollabIssue:
    issue_id = parse_issue_id(str(item.payload.get("issue_id", "")))
    if issue_id is None:
        raise ValueError(f"outbox item {item.id} names no collaboration issue")
    async with delivery.sessions() as session:
        issue = await get_issue(session=session, issue_id=issue_id)
    if issue is None:
        raise ValueError(f"collaboration issue {issue_id} is gone")
    return issue


async def send_issue_post(item: OutboxItem, *, delivery: Delivery) -> None:
    """Send one queued post about a collaboration issue (raises to have it retried or given up)."""
    match item.kind:
        case IssuePostKind.OWNER_DM:
            issue = await _load(item, delivery)
            if issue.owner_id is None:
                return
            text, blocks = build_owner_dm(issue=issue, lang=await delivery.users.lang(issue.owner_id))
            await delivery.dm(issue.owner_id, text, blocks)
        case IssuePostKind.CLOSED:
            issue = await _load(item, delivery)
            if issue.is_open:
                return  # cannot happen (queued with the close); nothing true to say
            text, blocks = build_issue_closed(issue=issue, lang=delivery.config.locale)
            await delivery.post(
                channel=str(item.payload["channel_id"]),
                thread_ts=str(item.payload["thread_ts"]),
                text=text,
                blocks=blocks,
            )
        case _:
            raise ValueError(f"unknown collaboration-issue post {item.kind!r}")
