"""The toss-up notice FS sees in the channel and as a DM: memo summary, status, and the decision buttons."""

from __future__ import annotations

from collections.abc import Sequence
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.config import AppConfig
from bot.domain.handoff import HandoffSnapshot, HandoffStatus
from bot.domain.memo import MemoField
from bot.domain.options import SelectOption
from bot.domain.outcome import Outcome, OutcomeKind
from bot.domain.routing import RouteKind
from bot.i18n import Lang, t
from modals.common import EMPTY, company_name, custom_answers_mrkdwn, field_label, field_mrkdwn, plain
from modals.ids import ActionId, BlockId
from modals.limits import HEADER_TEXT_MAX, SECTION_TEXT_MAX
from modals.memo_edit import duplicate_line, edited_line
from modals.quality import criteria_checklist_text, score_losses_text, score_summary_text
from modals.text import (
    enum_label,
    escape_within,
    format_date,
    format_datetime,
    format_money,
    truncate,
    user_mention,
)

# How much of each long answer the notice shows; the full memo is one click away (View memo).
NEED_MAX = 300
ISSUE_MAX = 400
SHORT_MAX = 150
RETURN_NOTE_MAX = 300


def _mrkdwn(text: str) -> MarkdownTextObject:
    return MarkdownTextObject(text=text)


def _labelled(label: str, value: str) -> MarkdownTextObject:
    return _mrkdwn(f"*{label}*\n{value}")


def _joined(*parts: str) -> str:
    """Non-empty parts joined with " — "; "—" when every part is empty."""
    kept = [p for p in parts if p and p != EMPTY]
    return " — ".join(kept) or EMPTY


def fs_rep_mrkdwn(handoff: HandoffSnapshot, lang: Lang) -> str:
    return user_mention(handoff.fs_user_id) if handoff.fs_user_id else t(lang, "common.unassigned")


def decision_line(handoff: HandoffSnapshot, lang: Lang, tz: ZoneInfo) -> str:
    """ "Accepted by <@U> at …" / "Returned to IS by <@U> at …: reason — note" / the pending status."""
    if handoff.status is HandoffStatus.PENDING:
        return t(lang, "notice.status_line", status=enum_label(lang, handoff.status))
    user = user_mention(handoff.decided_by) if handoff.decided_by else EMPTY
    time = format_datetime(handoff.decided_at, tz, lang) if handoff.decided_at else EMPTY
    if handoff.status is HandoffStatus.ACCEPTED:
        return t(lang, "notice.accepted_line", user=user, time=time)
    reason = enum_label(lang, handoff.return_reason) if handoff.return_reason else EMPTY
    note = escape_within(handoff.return_note or "", RETURN_NOTE_MAX)
    return t(lang, "notice.returned_line", user=user, time=time, reason=_joined(reason, note))


def _summary_fields(
    handoff: HandoffSnapshot, lang: Lang, tz: ZoneInfo, lead_sources: Sequence[SelectOption]
) -> list[MarkdownTextObject]:
    def answer(field: MemoField) -> str:
        return field_mrkdwn(handoff.memo, field, lang=lang, tz=tz, lead_sources=lead_sources, limit=SHORT_MAX)

    return [
        _labelled(t(lang, "notice.is_rep"), user_mention(handoff.is_user_id)),
        _labelled(t(lang, "notice.fs_rep"), fs_rep_mrkdwn(handoff, lang)),
        _labelled(
            t(lang, "notice.contact"),
            _joined(answer(MemoField.CONTACT_NAME), answer(MemoField.CONTACT_TITLE)),
        ),
        _labelled(field_label(lang, MemoField.MEETING_AT), answer(MemoField.MEETING_AT)),
        _labelled(
            field_label(lang, MemoField.LEAD_SOURCE),
            _joined(answer(MemoField.LEAD_SOURCE), answer(MemoField.CAMPAIGN)),
        ),
        _labelled(field_label(lang, MemoField.TEMPERATURE), answer(MemoField.TEMPERATURE)),
    ]


def _bant_text(handoff: HandoffSnapshot, lang: Lang, tz: ZoneInfo) -> str:
    def answer(field: MemoField, limit: int = SHORT_MAX) -> str:
        return field_mrkdwn(handoff.memo, field, lang=lang, tz=tz, limit=limit)

    lines = {
        "budget": _joined(answer(MemoField.BUDGET_STATUS), answer(MemoField.BUDGET_NOTE)),
        "authority": _joined(answer(MemoField.AUTHORITY), answer(MemoField.DECISION_MAKER)),
        "need": answer(MemoField.NEED, NEED_MAX),
        "timeline": answer(MemoField.TIMELINE),
    }
    title = f"*{t(lang, 'notice.bant.title')}*"
    return "\n".join([title, *(f"• *{t(lang, f'notice.bant.{key}')}:* {v}" for key, v in lines.items())])


def _button(lang: Lang, action_id: ActionId, value: str, style: str | None = None) -> ButtonElement:
    return ButtonElement(
        text=plain(t(lang, f"notice.button.{action_id.value}")), action_id=action_id, value=value, style=style
    )


def feedback_button_elements(
    handoff: HandoffSnapshot, lang: Lang, *, rated: bool = False
) -> list[ButtonElement]:
    """Rate this handoff (Edit your rating, once rated) / Record outcome (value = the toss-up id), so FS
    need not wait for the DM."""
    value = str(handoff.id)
    return [
        ButtonElement(
            text=plain(t(lang, "feedback.button.edit_rating" if rated else "feedback.button.rate")),
            action_id=ActionId.FEEDBACK_OPEN,
            value=value,
            style="primary",
        ),
        ButtonElement(
            text=plain(t(lang, "feedback.button.outcome")), action_id=ActionId.OUTCOME_OPEN, value=value
        ),
    ]


def _buttons(handoff: HandoffSnapshot, lang: Lang, rated: bool) -> ActionsBlock:
    """Accept / Ask / Return / View while pending; accepted: Rate / Record outcome / View; returned: View."""
    value = str(handoff.id)
    view = _button(lang, ActionId.HANDOFF_VIEW, value)
    if handoff.status is HandoffStatus.ACCEPTED:
        elements = [*feedback_button_elements(handoff, lang, rated=rated), view]
        return ActionsBlock(block_id=BlockId.NOTICE_ACTIONS, elements=elements)
    if handoff.status is not HandoffStatus.PENDING:
        return ActionsBlock(block_id=BlockId.NOTICE_ACTIONS, elements=[view])
    elements = [
        _button(lang, ActionId.HANDOFF_ACCEPT, value, style="primary"),
        _button(lang, ActionId.HANDOFF_ASK, value),
        _button(lang, ActionId.HANDOFF_RETURN, value, style="danger"),
        view,
    ]
    return ActionsBlock(block_id=BlockId.NOTICE_ACTIONS, elements=elements)


def _quality_text(handoff: HandoffSnapshot, lang: Lang, config: AppConfig | None) -> str | None:
    """The criteria checklist (with the warn-mode flag and reason) and the memo score, when known."""
    parts: list[str] = []
    if handoff.criteria is not None and config is not None:
        if not handoff.criteria.passed:
            reason = escape_within(handoff.override_reason or EMPTY, RETURN_NOTE_MAX)
            parts.append(t(lang, "notice.criteria_not_met", reason=reason))
        parts.append(
            criteria_checklist_text(
                handoff.criteria,
                config.criteria,
                lang,
                custom_labels=config.custom_labels,
                option_labels=config.option_labels,
            )
        )
    if handoff.score is not None:
        parts.append(score_summary_text(handoff.score, lang))
        parts.append(score_losses_text(handoff.score, lang, limit=3))
    return "\n".join(parts) or None


def outcome_line(outcome: Outcome, lang: Lang, recorded_by: str | None = None, currency: str = "JPY") -> str:
    """ "🏆 Won: ¥3,000,000 (Thu, Dec 10, 2026)" / "Lost: chose competitor A" / "Still open", with who
    recorded it."""
    closed = format_date(outcome.closed_on, lang) if outcome.closed_on else EMPTY
    if outcome.kind is OutcomeKind.WON:
        text = t(
            lang, "notice.outcome.won", amount=format_money(outcome.amount or 0, lang, currency), date=closed
        )
    elif outcome.kind is OutcomeKind.LOST:
        text = t(lang, "notice.outcome.lost", reason=escape_within(outcome.lost_reason or EMPTY, SHORT_MAX))
    else:
        text = t(lang, "notice.outcome.open")
    if recorded_by:
        text += t(lang, "notice.outcome.by", user=user_mention(recorded_by))
    return text


def route_line(handoff: HandoffSnapshot, lang: Lang) -> str | None:
    """Why this channel and this FS rep ("rule: enterprise-east, round-robin")."""
    if handoff.route is None or handoff.route.kind is RouteKind.DEFAULT:
        return None
    if handoff.route.kind is RouteKind.CHOSEN and handoff.route.rule is None:
        return t(lang, "notice.route.chosen_directly")
    rule = escape_within(handoff.route.rule or EMPTY, SHORT_MAX)
    return t(lang, f"notice.route.{handoff.route.kind.value}", rule=rule)


def build_notice(
    *,
    handoff: HandoffSnapshot,
    lang: Lang,
    tz: ZoneInfo,
    config: AppConfig | None = None,
    outcome: Outcome | None = None,
    outcome_by: str | None = None,
    rated: bool = False,
) -> tuple[str, list[Block]]:
    """(fallback text, blocks) of the notice. `config` adds the team's labels, the criteria checklist;
    `outcome` (recorded by `outcome_by`) the deal's outcome once FS recorded it; `rated` says FS has sent
    the feedback sheet (its button then edits it)."""
    lead_sources = config.memo.lead_sources if config else ()
    custom_selects = config.memo.custom_selects if config else ()
    memo = handoff.memo
    company = company_name(memo, lang)
    issue = field_mrkdwn(memo, MemoField.CURRENT_ISSUE, lang=lang, tz=tz, limit=ISSUE_MAX)
    context = [decision_line(handoff, lang, tz)]
    if memo.handoff_call_wanted:
        context.insert(0, t(lang, "notice.call_wanted"))
    if handoff.revision_of_id is not None:
        context.insert(0, t(lang, "notice.revision"))
    for mark in (edited_line(handoff, lang, tz), duplicate_line(handoff, lang)):
        if mark:
            context.insert(0, mark)
    custom = custom_answers_mrkdwn(memo, custom_selects, lang)
    if custom:
        context.insert(0, custom)
    route = route_line(handoff, lang)
    if route:
        context.append(route)
    if outcome is not None:
        currency = config.currency if config is not None else "JPY"
        context.append(outcome_line(outcome, lang, outcome_by, currency))
    context.append(t(lang, "operations.number", id=handoff.id))  # what `tossup repost <id>` takes
    blocks: list[Block] = [
        HeaderBlock(text=plain(truncate(t(lang, "notice.header", company=company), HEADER_TEXT_MAX))),
        SectionBlock(fields=_summary_fields(handoff, lang, tz, lead_sources)),
        SectionBlock(text=_mrkdwn(_bant_text(handoff, lang, tz))),
        SectionBlock(text=_labelled(field_label(lang, MemoField.CURRENT_ISSUE), issue)),
    ]
    quality = _quality_text(handoff, lang, config)
    if quality:
        blocks.append(SectionBlock(text=_mrkdwn(truncate(quality, SECTION_TEXT_MAX))))
    blocks += [ContextBlock(elements=[_mrkdwn(line) for line in context]), _buttons(handoff, lang, rated)]
    # A closed deal reads Won / Lost where the notification shows it, as on App Home (not "Accepted").
    closed = outcome is not None and outcome.kind is not OutcomeKind.OPEN
    fallback = t(
        lang,
        "notice.fallback",
        company=escape_within(company, SHORT_MAX),
        user=user_mention(handoff.is_user_id),
        status=t(lang, f"feedback.outcome.kind.{outcome.kind.value}")
        if closed
        else enum_label(lang, handoff.status),
    )
    return fallback, blocks
