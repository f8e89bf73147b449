"""What the bot posts about collaboration issues, sent by the outbox (`Delivery`).

Work in progress (issue 8): the issue-log helper fills this in.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from store.outbox import OutboxItem

if TYPE_CHECKING:
    from bot.delivery import Delivery

ISSUE_POST_KINDS: frozenset[str] = frozenset()


async def send_issue_post(item: OutboxItem, *, delivery: Delivery) -> None:
    raise ValueError(f"unknown collaboration-issue post {item.kind!r}")
