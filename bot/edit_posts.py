"""What the bot posts about an edited memo, sent by the outbox (`Delivery`).

The rows are queued by `bot.submission` in the same transaction as the edit (store.handoffs.edit_handoff);
`Delivery` hands any row whose kind is in `EDIT_POST_KINDS` to `send_edit_post`. The notice itself is
updated in place by the ordinary NOTICE_REFRESH row queued beside it.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from bot.domain.memo import HandoffMemo
from modals.memo_edit import build_edit_diff
from store.handoffs import get_handoff
from store.outbox import OutboxItem

if TYPE_CHECKING:
    from bot.delivery import Delivery


class EditPostKind(StrEnum):
    # payload {"editor_id", "version", "before", "after"}: what changed, in the notice's thread
    DIFF = "memo_edit_diff"


EDIT_POST_KINDS: frozenset[str] = frozenset(kind.value for kind in EditPostKind)


class NoticeNotPosted(Exception):
    """The diff is a reply in the notice's thread: it waits (and is retried) until the notice is posted."""


async def send_edit_post(item: OutboxItem, *, delivery: Delivery) -> None:
    """Send one queued post about an edited memo (raises to have it retried or given up)."""
    if item.kind != EditPostKind.DIFF or item.handoff_id is None:
        raise ValueError(f"outbox item {item.id} is not an edit post of a toss-up")
    async with delivery.sessions() as session:
        handoff = await get_handoff(session=session, handoff_id=item.handoff_id)
    if handoff is None:
        raise ValueError(f"toss-up {item.handoff_id} is gone")
    if not (handoff.notice_channel_id and handoff.notice_ts):
        raise NoticeNotPosted(f"toss-up {handoff.id}'s notice is not posted yet")
    payload = item.payload
    text, blocks = build_edit_diff(
        handoff=handoff,
        before=HandoffMemo.model_validate(payload.get("before") or {}),
        after=HandoffMemo.model_validate(payload.get("after") or {}),
        editor_id=str(payload.get("editor_id") or handoff.is_user_id),
        version=int(payload.get("version") or handoff.edit_count + 1),
        lang=delivery.config.locale,
        tz=delivery.config.tz,
        config=delivery.config,
    )
    await delivery.post(
        channel=handoff.notice_channel_id, thread_ts=handoff.notice_ts, text=text, blocks=blocks
    )
