"""Acceptance SLA messages: the reminder DM to the assigned FS rep, and the escalation to the FS channel
(in the notice's thread) and/or managers. Pure builders returning (fallback text, blocks).

Both carry Accept / Return to IS / View memo buttons with the notice's action ids (value = the toss-up id),
so the existing handlers serve them; their actions block has its own block_id (`sla_actions`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from bot.domain.handoff import HandoffSnapshot
from bot.i18n import Lang, t
from modals.common import company_name
from modals.ids import ActionId
from modals.messages import Message
from modals.text import escape_within, format_datetime, user_mention

SLA_ACTIONS_BLOCK_ID = "sla_actions"
COMPANY_MAX = 150


def format_duration(delta: timedelta, lang: Lang) -> str:
    """A wait in its two largest units, rounded down: ja "1日3時間" / "3時間20分", en "1 d 3 h".

    Under a minute (or negative) reads "1分未満" / "under a minute".
    """
    minutes_total = int(max(delta, timedelta(0)).total_seconds() // 60)
    days, rest = divmod(minutes_total, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        if hours:
            return t(lang, "sla.duration.days_hours", days=days, hours=hours)
        return t(lang, "sla.duration.days", days=days)
    if hours:
        if minutes:
            return t(lang, "sla.duration.hours_minutes", hours=hours, minutes=minutes)
        return t(lang, "sla.duration.hours", hours=hours)
    if minutes:
        return t(lang, "sla.duration.minutes", minutes=minutes)
    return t(lang, "sla.duration.under_minute")


def _company(handoff: HandoffSnapshot, lang: Lang) -> str:
    return escape_within(company_name(handoff.memo, lang), COMPANY_MAX)


def _sla_buttons(handoff: HandoffSnapshot, lang: Lang) -> ActionsBlock:
    value = str(handoff.id)

    def button(action_id: ActionId, label: str, style: str | None = None) -> ButtonElement:
        return ButtonElement(
            text=PlainTextObject(text=label, emoji=True), action_id=action_id, value=value, style=style
        )

    return ActionsBlock(
        block_id=SLA_ACTIONS_BLOCK_ID,
        elements=[
            button(ActionId.HANDOFF_ACCEPT, t(lang, "sla.button.accept"), "primary"),
            button(ActionId.HANDOFF_RETURN, t(lang, "sla.button.return"), "danger"),
            button(ActionId.HANDOFF_VIEW, t(lang, "sla.button.view")),
        ],
    )


def _context(lines: list[str]) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=line) for line in lines])


def build_sla_reminder(
    *, handoff: HandoffSnapshot, lang: Lang, tz: ZoneInfo, deadline: datetime, number: int
) -> Message:
    """DM to the assigned FS rep: the toss-up still waits for a decision (reminder `number`, 1-based)."""
    lead = t(
        lang,
        "sla.reminder.lead",
        company=_company(handoff, lang),
        deadline=format_datetime(deadline, tz, lang),
    )
    context = [
        t(
            lang,
            "sla.reminder.context",
            is_user=user_mention(handoff.is_user_id),
            created=format_datetime(handoff.created_at, tz, lang),
        )
    ]
    if number > 1:
        context.append(t(lang, "sla.reminder.again", number=number))
    body = t(lang, "sla.reminder.body")
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text=f"{lead}\n{body}")),
        _context(context),
        _sla_buttons(handoff, lang),
    ]
    return lead, blocks


def build_sla_escalation(
    *, handoff: HandoffSnapshot, lang: Lang, tz: ZoneInfo, deadline: datetime, waited: timedelta
) -> Message:
    """To the FS channel (thread under the notice) and/or managers: who it waits on, how long, a nudge."""
    params = {
        "company": _company(handoff, lang),
        "deadline": format_datetime(deadline, tz, lang),
        "waited": format_duration(waited, lang),
    }
    if handoff.fs_user_id:
        fs_user = user_mention(handoff.fs_user_id)
        lead = t(lang, "sla.escalation.assigned", fs_user=fs_user, **params)
        nudge = t(lang, "sla.escalation.nudge_assigned", fs_user=fs_user)
    else:
        lead = t(lang, "sla.escalation.unassigned", **params)
        nudge = t(lang, "sla.escalation.nudge_unassigned")
    context = t(
        lang,
        "sla.escalation.context",
        is_user=user_mention(handoff.is_user_id),
        created=format_datetime(handoff.created_at, tz, lang),
    )
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text=f"{lead}\n{nudge}")),
        _context([context]),
        _sla_buttons(handoff, lang),
    ]
    return lead, blocks
