"""Messages other than the notice: to the IS rep, in the notice thread, and ephemeral answers.

Each builder returns (fallback text, blocks).
"""

from __future__ import annotations

from datetime import date
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

from bot.domain.handoff import HandoffSnapshot, HandoffStatus, Refusal
from bot.i18n import Lang, t
from modals.common import EMPTY, company_name
from modals.ids import ActionId
from modals.limits import SECTION_TEXT_MAX
from modals.memo_edit import edit_button
from modals.notice import fs_rep_mrkdwn
from modals.quality import score_losses_text, score_summary_text
from modals.text import (
    channel_mention,
    enum_label,
    escape_mrkdwn,
    escape_within,
    format_date,
    format_datetime,
    truncate,
    user_mention,
)

COMPANY_MAX = 150
NOTE_MAX = 1500

Message = tuple[str, list[Block]]


def _message(text: str) -> Message:
    """A one-section message whose fallback text is the same mrkdwn."""
    return text, [SectionBlock(text=MarkdownTextObject(text=text))]


def _company(handoff: HandoffSnapshot, lang: Lang) -> str:
    return escape_within(company_name(handoff.memo, lang), COMPANY_MAX)


def _decider(handoff: HandoffSnapshot) -> str:
    return user_mention(handoff.decided_by) if handoff.decided_by else EMPTY


def _numbered(
    message: Message, handoff: HandoffSnapshot, lang: Lang, key: str = "operations.number"
) -> Message:
    """The message with the toss-up's number under its text: what `tossup repost <id>` and the log name."""
    text, blocks = message
    number = ContextBlock(elements=[MarkdownTextObject(text=t(lang, key, id=handoff.id))])
    return text, [blocks[0], number, *blocks[1:]]


def build_is_confirmation(*, handoff: HandoffSnapshot, lang: Lang, permalink: str | None) -> Message:
    """To the IS rep: where the notice went (with a link), or that it is saved and will be posted; that it
    went out though the criteria are not met (warn mode), with their reason; then the memo's score and
    what lost points, so the next memo gets better."""
    params = {
        "company": _company(handoff, lang),
        "channel": channel_mention(handoff.notice_channel_id or handoff.channel_id),
        "fs_user": fs_rep_mrkdwn(handoff, lang),
    }
    if permalink:
        text, blocks = _message(t(lang, "message.confirm.sent", link=escape_mrkdwn(permalink), **params))
    else:
        text, blocks = _message(t(lang, "message.confirm.saved", **params))
    if handoff.criteria is not None and not handoff.criteria.passed:  # warn mode: tossed up anyway
        reason = escape_within(handoff.override_reason or EMPTY, NOTE_MAX)
        flag = t(lang, "message.confirm.criteria_not_met", reason=reason)
        blocks.append(SectionBlock(text=MarkdownTextObject(text=truncate(flag, SECTION_TEXT_MAX))))
    if handoff.score is not None:
        score = f"{score_summary_text(handoff.score, lang)}\n{score_losses_text(handoff.score, lang)}"
        blocks.append(SectionBlock(text=MarkdownTextObject(text=truncate(score, SECTION_TEXT_MAX))))
    if handoff.status is HandoffStatus.PENDING:  # editable until FS decides (re-checked on the server)
        blocks.append(ActionsBlock(elements=[edit_button(handoff.id, lang)]))
    return _numbered((text, blocks), handoff, lang)


def build_decision_dm(*, handoff: HandoffSnapshot, lang: Lang, tz: ZoneInfo) -> Message:
    """To the IS rep: FS accepted or returned the toss-up; a return comes with its reason and what next."""
    params = {
        "company": _company(handoff, lang),
        "user": _decider(handoff),
        "time": format_datetime(handoff.decided_at, tz, lang) if handoff.decided_at else EMPTY,
    }
    if handoff.status is HandoffStatus.ACCEPTED:
        return _numbered(_message(t(lang, "message.decision.accepted", **params)), handoff, lang)
    if handoff.status is HandoffStatus.RETURNED:
        reason = enum_label(lang, handoff.return_reason) if handoff.return_reason else EMPTY
        note = escape_within(handoff.return_note, NOTE_MAX) if handoff.return_note else EMPTY
        text, blocks = _message(t(lang, "message.decision.returned", reason=reason, note=note, **params))
        revise = ButtonElement(
            text=PlainTextObject(text=t(lang, "message.button.revise")),
            action_id=ActionId.HANDOFF_REVISE,
            value=str(handoff.id),
            style="primary",
        )
        return _numbered((text, [*blocks, ActionsBlock(elements=[revise])]), handoff, lang)
    pending = _message(t(lang, "message.decision.pending", status=enum_label(lang, handoff.status), **params))
    return _numbered(pending, handoff, lang)


def build_question_message(*, handoff: HandoffSnapshot, lang: Lang, asker_id: str, question: str) -> Message:
    """A reply in the notice thread: the question (shown literally) and a nudge to the IS rep."""
    lead = t(
        lang,
        "message.question.lead",
        is_user=user_mention(handoff.is_user_id),
        asker=user_mention(asker_id),
        company=_company(handoff, lang),
    )
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text=lead)),
        SectionBlock(text=PlainTextObject(text=truncate(question, SECTION_TEXT_MAX), emoji=False)),
        ContextBlock(elements=[MarkdownTextObject(text=t(lang, "message.question.answer_here"))]),
    ]
    return f"{lead}\n{escape_within(question, SECTION_TEXT_MAX)}", blocks


def build_notice_failed(*, handoff: HandoffSnapshot, lang: Lang, channel: str, error: str) -> Message:
    """To the IS rep: the toss-up is safe, but Slack refused its notice for good in `channel` (e.g. a wrong
    channel)."""
    failed = _message(
        t(
            lang,
            "message.notice_failed",
            company=_company(handoff, lang),
            channel=channel_mention(channel),
            error=escape_within(error, 100),
        )
    )
    return _numbered(failed, handoff, lang, "operations.repost_hint")


def build_question_dm(
    *, handoff: HandoffSnapshot, lang: Lang, asker_id: str, question: str, permalink: str | None
) -> Message:
    """To the IS rep, who may not be in the FS channel: the question, and where to answer it."""
    params = {"asker": user_mention(asker_id), "company": _company(handoff, lang)}
    if permalink:
        lead = t(lang, "message.question.dm", link=escape_mrkdwn(permalink), **params)
    else:
        channel = channel_mention(handoff.notice_channel_id or handoff.channel_id)
        lead = t(lang, "message.question.dm_no_link", channel=channel, **params)
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text=lead)),
        SectionBlock(text=PlainTextObject(text=truncate(question, SECTION_TEXT_MAX), emoji=False)),
    ]
    return f"{lead}\n{escape_within(question, SECTION_TEXT_MAX)}", blocks


def build_refusal(refusal: Refusal, *, handoff: HandoffSnapshot | None, lang: Lang) -> Message:
    """Why the clicker cannot accept or return this toss-up (an ephemeral, in mrkdwn)."""
    if refusal is Refusal.MISSING or handoff is None:
        return build_handoff_missing(lang=lang)
    if refusal is Refusal.ALREADY_DECIDED:
        return build_already_decided(handoff=handoff, lang=lang)
    if refusal is Refusal.OWN_TOSS_UP:
        return _message(t(lang, "message.own_toss_up"))
    return build_not_allowed(lang=lang, assignee_id=handoff.fs_user_id)


def refusal_form_error(refusal: Refusal, *, handoff: HandoffSnapshot | None, lang: Lang) -> str:
    """The same refusal as a modal field error: Slack shows those as plain text (no mentions, no markup)."""
    if refusal is Refusal.MISSING or handoff is None:
        return t(lang, "message.form.missing")
    if refusal is Refusal.ALREADY_DECIDED:
        return t(
            lang,
            "message.form.already_decided",
            company=truncate(company_name(handoff.memo, lang), COMPANY_MAX),
            status=enum_label(lang, handoff.status),
        )
    if refusal is Refusal.OWN_TOSS_UP:
        return t(lang, "message.form.own_toss_up")
    return t(lang, "message.form.not_allowed")


def build_not_allowed(*, lang: Lang, assignee_id: str | None) -> Message:
    if assignee_id:
        return _message(t(lang, "message.not_allowed.assigned", user=user_mention(assignee_id)))
    return _message(t(lang, "message.not_allowed.unassigned"))


def build_not_yours(*, lang: Lang, is_user_id: str) -> Message:
    """Only the IS rep who tossed it up revises a returned toss-up."""
    return _message(t(lang, "message.not_yours", user=user_mention(is_user_id)))


def build_already_decided(*, handoff: HandoffSnapshot, lang: Lang) -> Message:
    return _message(
        t(
            lang,
            "message.already_decided",
            company=_company(handoff, lang),
            status=enum_label(lang, handoff.status),
            user=_decider(handoff),
        )
    )


def build_not_inside_sales(*, lang: Lang) -> Message:
    return _message(t(lang, "message.not_inside_sales"))


def build_away(*, lang: Lang, outcome: str, until: date | None = None) -> Message:
    """The answer to `/tossup away`: `outcome` is set / cleared / not_away / status / bad_date."""
    params = {"until": format_date(until, lang)} if until is not None else {}
    return _message(t(lang, f"message.away.{outcome}", **params))


def build_help(*, lang: Lang) -> Message:
    return _message(t(lang, "message.help"))


def build_unknown_command(*, lang: Lang, word: str, nearest: str | None) -> Message:
    """`/tossup <word>` where <word> is no sub-command: what was not understood, a guess, and the help."""
    word = escape_mrkdwn(truncate(word, 40))
    lines = [t(lang, "command.unknown", word=word)]
    if nearest:
        lines.append(t(lang, "command.did_you_mean", command=nearest))
    lines.append(t(lang, "command.memo_hint", word=word))
    return _message("\n".join(lines) + "\n\n" + t(lang, "message.help"))


def build_computing(*, lang: Lang) -> Message:
    """The ack of a read that may take a moment; the answer replaces it."""
    return _message(t(lang, "command.computing"))


def build_handoff_missing(*, lang: Lang) -> Message:
    return _message(t(lang, "message.handoff_missing"))


def build_modal_failed(*, lang: Lang) -> Message:
    return _message(t(lang, "handler.modal_failed"))


def build_incomplete_request(*, lang: Lang) -> Message:
    """A request that lacked what Slack always sends (who asked, a trigger to open a form): nothing done."""
    return _message(t(lang, "handler.incomplete_request"))


def build_internal_error(*, lang: Lang) -> Message:
    return _message(t(lang, "message.internal_error"))
