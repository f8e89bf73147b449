"""The feedback loop in Block Kit: the post-meeting feedback sheet (商談後フィードバックシート), its DM to IS,
IS's rating of FS's follow-through, the deal outcome, and the learning-loop block of the next memo.

Pure builders and parsers, both languages. User text is escaped before it enters mrkdwn, and every
payload keeps within Slack's limits. The wording follows the seed's feedback rules: specific (not "the
handoff was poor" but "knowing X would make the meeting easier"), constructive (what was good first),
timely (asked right after the meeting).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict
from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DatePickerElement,
    DividerBlock,
    InputBlock,
    MarkdownTextObject,
    NumberInputElement,
    Option,
    PlainTextInputElement,
    RadioButtonsElement,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot.domain.feedback import (
    FEEDBACK_TEXT_MAX,
    STARS_MAX,
    STARS_MIN,
    FeedbackSheet,
    IsRating,
    MeetingResult,
)
from bot.domain.feedback_access import LoopAction, loop_actor
from bot.domain.handoff import HandoffSnapshot, Refusal
from bot.domain.memo import MemoField, clean_text
from bot.domain.outcome import AMOUNT_MAX, LOST_REASON_MAX, Outcome, OutcomeKind
from bot.i18n import Lang, t
from modals.common import (
    EMPTY,
    build_modal,
    company_name,
    field_mrkdwn,
    input_state,
    plain,
    selected_value,
    text_value,
)
from modals.ids import ActionId, BlockId, CallbackId
from modals.limits import OPTION_TEXT_MAX, PLACEHOLDER_MAX, SECTION_TEXT_MAX
from modals.messages import Message
from modals.metadata import HandoffActionMeta, dump_meta
from modals.notice import feedback_button_elements
from modals.text import (
    currency_name,
    escape_within,
    format_date,
    format_datetime,
    format_money,
    truncate,
    user_mention,
)

COMPANY_MAX = 150
SUMMARY_MAX = 150  # each answer in the modal's memo summary
NEED_MAX = 300
IS_COMMENT_MAX = 1000
AMOUNT_DIGITS_MAX = 15  # fits a BIGINT with room to spare
LEARNING_ITEMS_MAX = 8
LEARNING_ITEM_MAX = 200
STAR_FULL, STAR_EMPTY = "★", "☆"

# The sheet's star ratings in the seed's order: (field name / catalog key, block id, action id).
STAR_INPUTS: tuple[tuple[str, BlockId, ActionId], ...] = (
    ("bant_accuracy", BlockId.FEEDBACK_BANT_ACCURACY, ActionId.FEEDBACK_BANT_ACCURACY),
    ("issue_depth", BlockId.FEEDBACK_ISSUE_DEPTH, ActionId.FEEDBACK_ISSUE_DEPTH),
    ("memo_completeness", BlockId.FEEDBACK_MEMO_COMPLETENESS, ActionId.FEEDBACK_MEMO_COMPLETENESS),
    ("overall", BlockId.FEEDBACK_OVERALL, ActionId.FEEDBACK_OVERALL),
)
# The sheet's free texts, in the order IS reads them: what was good first (constructive framing).
TEXT_INPUTS: tuple[tuple[str, BlockId, ActionId], ...] = (
    ("good", BlockId.FEEDBACK_GOOD, ActionId.FEEDBACK_GOOD),
    ("improve", BlockId.FEEDBACK_IMPROVE, ActionId.FEEDBACK_IMPROVE),
    ("next_info", BlockId.FEEDBACK_NEXT_INFO, ActionId.FEEDBACK_NEXT_INFO),
)


class FeedbackDraft(BaseModel):
    """A feedback sheet as submitted: anything missing or odd reads as None (see `feedback_errors`)."""

    model_config = ConfigDict(frozen=True)

    result: MeetingResult | None = None
    bant_accuracy: int | None = None
    issue_depth: int | None = None
    memo_completeness: int | None = None
    overall: int | None = None
    good: str | None = None
    improve: str | None = None
    next_info: str | None = None


class OutcomeDraft(BaseModel):
    """An outcome as submitted. `amount_text` keeps a typed amount that is not digits, to report it."""

    model_config = ConfigDict(frozen=True)

    kind: OutcomeKind | None = None
    amount: int | None = None
    amount_text: str | None = None
    closed_on: date | None = None
    lost_reason: str | None = None


# ---------------------------------------------------------------- small pieces


def _mrkdwn(text: str) -> MarkdownTextObject:
    return MarkdownTextObject(text=text)


def _section(text: str) -> SectionBlock:
    return SectionBlock(text=_mrkdwn(truncate(text, SECTION_TEXT_MAX)))


def _context(text: str) -> ContextBlock:
    return ContextBlock(elements=[_mrkdwn(truncate(text, SECTION_TEXT_MAX))])


def _company(handoff: HandoffSnapshot, lang: Lang) -> str:
    return escape_within(company_name(handoff.memo, lang), COMPANY_MAX)


def _meeting(handoff: HandoffSnapshot, lang: Lang, tz: ZoneInfo) -> str:
    """ "the meeting on Tue, Dec 1, 2026 14:00 JST" / "12月1日(火) 14:00 JSTの商談"; without a time
    "the meeting" / "商談"."""
    meeting_at = handoff.memo.meeting_at
    if meeting_at is None:
        return t(lang, "feedback.meeting_no_time")
    return t(lang, "feedback.meeting_at", time=format_datetime(meeting_at, tz, lang))


def _option(text: str, value: str) -> Option:
    return Option(text=plain(truncate(text, OPTION_TEXT_MAX)), value=value)


def _button(text: str, action_id: ActionId, value: str, style: str | None = None) -> ButtonElement:
    return ButtonElement(text=plain(truncate(text, 75)), action_id=action_id, value=value, style=style)


def stars_text(stars: int) -> str:
    """ "★★★★☆" for 4."""
    stars = max(STARS_MIN, min(STARS_MAX, stars))
    return STAR_FULL * stars + STAR_EMPTY * (STARS_MAX - stars)


def _star_value(stars: int, lang: Lang) -> str:
    return t(lang, "feedback.star_value", stars=stars_text(stars), score=stars)


def _star_options(lang: Lang) -> list[Option]:
    """5 down to 1 ("★★★★★ Excellent"), so the best is on top."""
    return [
        _option(f"{stars_text(n)}  {t(lang, f'feedback.stars.{n}')}", str(n))
        for n in range(STARS_MAX, STARS_MIN - 1, -1)
    ]


def _star_select(action_id: ActionId, lang: Lang, initial: int | None) -> StaticSelectElement:
    options = _star_options(lang)
    chosen = next((o for o in options if initial is not None and o.value == str(initial)), None)
    return StaticSelectElement(
        action_id=action_id,
        placeholder=plain(t(lang, "feedback.stars_placeholder")),
        options=options,
        initial_option=chosen,
    )


def _long_text(
    *,
    lang: Lang,
    key: str,
    block_id: BlockId,
    action_id: ActionId,
    limit: int,
    initial: str | None,
) -> InputBlock:
    """An optional multiline input labelled from `<key>.label` / `<key>.hint` (and `.placeholder`)."""
    return InputBlock(
        block_id=block_id,
        label=plain(t(lang, f"{key}.label")),
        hint=plain(t(lang, f"{key}.hint")),
        optional=True,
        element=PlainTextInputElement(
            action_id=action_id,
            multiline=True,
            max_length=limit,
            initial_value=truncate(initial, limit) if initial else None,
            placeholder=plain(truncate(t(lang, f"{key}.placeholder"), PLACEHOLDER_MAX)),
        ),
    )


def _stars_value(state: Mapping[str, Any]) -> int | None:
    raw = selected_value(state)
    # ASCII only: "²" and "٣" are digits to str.isdigit but not what a star option's value can be.
    if raw is None or not raw.isascii() or not raw.isdigit() or len(raw) > len(str(STARS_MAX)):
        return None
    stars = int(raw)
    return stars if STARS_MIN <= stars <= STARS_MAX else None


def _too_long(text: str | None, limit: int, lang: Lang) -> str | None:
    if text is not None and len(text) > limit:
        return t(lang, "feedback.error.too_long", limit=limit, length=len(text))
    return None


# ---------------------------------------------------------------- buttons and DMs to FS


def _rate_request(text: str, handoff: HandoffSnapshot, lang: Lang) -> Message:
    """The DM with Rate this handoff and Record outcome, so FS can do both from where they are."""
    blocks: list[Block] = [
        _section(text),
        ActionsBlock(
            block_id=BlockId.FEEDBACK_REQUEST_ACTIONS, elements=feedback_button_elements(handoff, lang)
        ),
    ]
    return text, blocks


def build_feedback_request(*, handoff: HandoffSnapshot, lang: Lang, tz: ZoneInfo) -> Message:
    """To the FS rep after the meeting: how was it? Rate this handoff (button `feedback_open`)."""
    text = t(
        lang,
        "feedback.request.text",
        meeting=_meeting(handoff, lang, tz),
        company=_company(handoff, lang),
        is_user=user_mention(handoff.is_user_id),
    )
    return _rate_request(text, handoff, lang)


def build_feedback_reminder(*, handoff: HandoffSnapshot, lang: Lang, tz: ZoneInfo, number: int) -> Message:
    """Reminder `number` (1-based) of an open feedback sheet: gentle, two minutes, it helps IS."""
    text = t(
        lang,
        "feedback.reminder.text",
        number=number,
        meeting=_meeting(handoff, lang, tz),
        company=_company(handoff, lang),
        is_user=user_mention(handoff.is_user_id),
    )
    return _rate_request(text, handoff, lang)


# ---------------------------------------------------------------- the feedback sheet modal


def memo_summary_text(handoff: HandoffSnapshot, lang: Lang, tz: ZoneInfo) -> str:
    """Company, contact, meeting time and BANT, one line each (mrkdwn), so FS needn't look the memo up."""
    memo = handoff.memo

    def answer(field: MemoField, limit: int = SUMMARY_MAX) -> str:
        return field_mrkdwn(memo, field, lang=lang, tz=tz, limit=limit)

    def joined(*parts: str) -> str:
        kept = [p for p in parts if p and p != EMPTY]
        return " — ".join(kept) or EMPTY

    lines = [
        ("company", _company(handoff, lang)),
        ("contact", joined(answer(MemoField.CONTACT_NAME), answer(MemoField.CONTACT_TITLE))),
        ("meeting", answer(MemoField.MEETING_AT)),
        ("budget", joined(answer(MemoField.BUDGET_STATUS), answer(MemoField.BUDGET_NOTE))),
        ("authority", joined(answer(MemoField.AUTHORITY), answer(MemoField.DECISION_MAKER))),
        ("need", answer(MemoField.NEED, NEED_MAX)),
        ("timeline", answer(MemoField.TIMELINE)),
    ]
    title = f"*{t(lang, 'feedback.modal.summary_title')}*"
    body = [f"• *{t(lang, f'feedback.summary.{key}')}:* {value}" for key, value in lines]
    return truncate("\n".join([title, *body]), SECTION_TEXT_MAX)


def _result_input(lang: Lang, initial: MeetingResult | None) -> InputBlock:
    options = [_option(t(lang, f"feedback.result.{r.value}"), r.value) for r in MeetingResult]
    chosen = next((o for o in options if initial is not None and o.value == initial.value), None)
    return InputBlock(
        block_id=BlockId.FEEDBACK_RESULT,
        label=plain(t(lang, "feedback.field.result.label")),
        hint=plain(t(lang, "feedback.field.result.hint")),
        element=RadioButtonsElement(
            action_id=ActionId.FEEDBACK_RESULT, options=options, initial_option=chosen
        ),
    )


def _stars_input(
    name: str, block_id: BlockId, action_id: ActionId, lang: Lang, initial: int | None
) -> InputBlock:
    return InputBlock(
        block_id=block_id,
        label=plain(t(lang, f"feedback.field.{name}.label")),
        hint=plain(t(lang, f"feedback.field.{name}.hint")),
        element=_star_select(action_id, lang, initial),
    )


def build_feedback_modal(
    *,
    handoff: HandoffSnapshot,
    lang: Lang,
    tz: ZoneInfo,
    meta: HandoffActionMeta,
    existing: FeedbackSheet | None = None,
) -> View:
    """The feedback sheet (callback `feedback_sheet`): the memo at a glance, then result, four star
    ratings and three texts. `existing` pre-fills everything (a second submission edits the first)."""
    lead = t(
        lang,
        "feedback.modal.lead",
        meeting=_meeting(handoff, lang, tz),
        company=_company(handoff, lang),
        is_user=user_mention(handoff.is_user_id),
    )
    blocks: list[Block] = [_section(lead), _section(memo_summary_text(handoff, lang, tz))]
    if existing is not None:
        blocks.append(_context(t(lang, "feedback.modal.editing")))
    blocks += [
        DividerBlock(),
        _context(t(lang, "feedback.modal.guide")),
        _result_input(lang, existing.result if existing else None),
    ]
    for name, block_id, action_id in STAR_INPUTS:
        initial = getattr(existing, name) if existing else None
        blocks.append(_stars_input(name, block_id, action_id, lang, initial))
    for name, block_id, action_id in TEXT_INPUTS:
        blocks.append(
            _long_text(
                lang=lang,
                key=f"feedback.field.{name}",
                block_id=block_id,
                action_id=action_id,
                limit=FEEDBACK_TEXT_MAX,
                initial=getattr(existing, name) if existing else None,
            )
        )
    return build_modal(
        callback_id=CallbackId.FEEDBACK_SHEET,
        title=t(lang, "feedback.modal.title"),
        submit=t(lang, "feedback.modal.submit"),
        close=t(lang, "common.cancel"),
        private_metadata=dump_meta(meta),
        blocks=blocks,
    )


def parse_feedback_submission(values: object) -> FeedbackDraft:
    """The sheet from a submission's `view.state.values`; anything missing or odd reads as None."""
    raw_result = selected_value(input_state(values, BlockId.FEEDBACK_RESULT, ActionId.FEEDBACK_RESULT))
    try:
        result = MeetingResult(raw_result) if raw_result else None
    except ValueError:
        result = None
    answers: dict[str, object] = {"result": result}
    for name, block_id, action_id in STAR_INPUTS:
        answers[name] = _stars_value(input_state(values, block_id, action_id))
    for name, block_id, action_id in TEXT_INPUTS:
        answers[name] = text_value(input_state(values, block_id, action_id))
    return FeedbackDraft(**answers)


def feedback_errors(draft: FeedbackDraft, lang: Lang) -> dict[str, str]:
    """`response_action: errors` payload (block_id → plain text); empty when `to_sheet` will succeed."""
    errors: dict[str, str] = {}
    if draft.result is None:
        errors[BlockId.FEEDBACK_RESULT.value] = t(lang, "feedback.error.choose_result")
    for name, block_id, _ in STAR_INPUTS:
        if getattr(draft, name) is None:
            errors[block_id.value] = t(lang, "feedback.error.choose_stars")
    for name, block_id, _ in TEXT_INPUTS:
        problem = _too_long(getattr(draft, name), FEEDBACK_TEXT_MAX, lang)
        if problem:
            errors[block_id.value] = problem
    return errors


def to_sheet(draft: FeedbackDraft) -> FeedbackSheet:
    """The validated sheet; call it only when `feedback_errors` is empty (raises ValueError otherwise)."""
    return FeedbackSheet.model_validate(draft.model_dump())


# ---------------------------------------------------------------- the feedback, to IS


def _ratings_fields(sheet: FeedbackSheet, lang: Lang) -> list[MarkdownTextObject]:
    fields = [
        _mrkdwn(t(lang, "feedback.to_is.result", result=t(lang, f"feedback.result.{sheet.result.value}")))
    ]
    for name, _, _ in STAR_INPUTS:
        label = t(lang, f"feedback.field.{name}.label")
        fields.append(_mrkdwn(f"*{label}*\n{_star_value(getattr(sheet, name), lang)}"))
    return fields


def build_feedback_to_is(
    *,
    handoff: HandoffSnapshot,
    sheet: FeedbackSheet,
    lang: Lang,
    tz: ZoneInfo,
    rater_id: str | None,
    score_text: str | None,
) -> Message:
    """To the IS rep at once: the ratings, then what was good, what to improve, what to collect next time
    (the seed's constructive order). `rater_id=None` is anonymous mode ("FS"); `score_text` is a ready
    mrkdwn line from the caller (the completed quality score). Button `is_rating_open` rates FS back."""
    rater = user_mention(rater_id) if rater_id else t(lang, "feedback.anonymous_fs")
    lead = t(
        lang,
        "feedback.to_is.lead",
        rater=rater,
        company=_company(handoff, lang),
        meeting=_meeting(handoff, lang, tz),
    )
    blocks: list[Block] = [_section(lead), SectionBlock(fields=_ratings_fields(sheet, lang))]
    if score_text:
        blocks.append(_section(score_text))
    comments = 0
    for name, _, _ in TEXT_INPUTS:
        text = getattr(sheet, name)
        if text:
            comments += 1
            heading = t(lang, f"feedback.to_is.{name}")
            body = escape_within(text, SECTION_TEXT_MAX - len(heading) - 1)
            blocks.append(_section(f"{heading}\n{body}"))
    if comments == 0:
        blocks.append(_context(t(lang, "feedback.to_is.no_comments")))
    blocks += [
        _context(t(lang, "feedback.to_is.footer")),
        ActionsBlock(
            block_id=BlockId.IS_RATING_ACTIONS,
            elements=[_button(t(lang, "feedback.button.rate_fs"), ActionId.IS_RATING_OPEN, str(handoff.id))],
        ),
    ]
    stars = _star_value(sheet.overall, lang)
    fallback = f"{lead} {t(lang, 'feedback.field.overall.label')}: {stars}"
    return fallback, blocks


# ---------------------------------------------------------------- IS rates FS's follow-through


def build_is_rating_modal(
    *,
    handoff: HandoffSnapshot,
    lang: Lang,
    meta: HandoffActionMeta,
    anonymous: bool,
    existing: IsRating | None = None,
) -> View:
    """IS rates FS's follow-through (callback `is_rating`): 1–5 stars and an optional comment.
    `anonymous` (feedback.anonymous): the FS rep is "FS", as in the sheet IS received."""
    named = handoff.fs_user_id and not anonymous
    fs_user = user_mention(handoff.fs_user_id) if named else t(lang, "feedback.anonymous_fs")
    stars = InputBlock(
        block_id=BlockId.IS_RATING_FOLLOW_THROUGH,
        label=plain(t(lang, "feedback.is_rating.follow_through.label")),
        hint=plain(t(lang, "feedback.is_rating.follow_through.hint")),
        element=_star_select(
            ActionId.IS_RATING_FOLLOW_THROUGH, lang, existing.follow_through if existing else None
        ),
    )
    comment = _long_text(
        lang=lang,
        key="feedback.is_rating.comment",
        block_id=BlockId.IS_RATING_COMMENT,
        action_id=ActionId.IS_RATING_COMMENT,
        limit=IS_COMMENT_MAX,
        initial=existing.comment if existing else None,
    )
    lead = t(lang, "feedback.is_rating.lead", fs_user=fs_user, company=_company(handoff, lang))
    return build_modal(
        callback_id=CallbackId.IS_RATING,
        title=t(lang, "feedback.is_rating.title"),
        submit=t(lang, "feedback.is_rating.submit"),
        close=t(lang, "common.cancel"),
        private_metadata=dump_meta(meta),
        blocks=[_section(lead), _context(t(lang, "feedback.is_rating.guide")), stars, comment],
    )


def parse_is_rating(values: object) -> tuple[int | None, str | None]:
    """(stars, comment) from the IS rating modal's `view.state.values`."""
    stars = _stars_value(
        input_state(values, BlockId.IS_RATING_FOLLOW_THROUGH, ActionId.IS_RATING_FOLLOW_THROUGH)
    )
    comment = text_value(input_state(values, BlockId.IS_RATING_COMMENT, ActionId.IS_RATING_COMMENT))
    return stars, comment


def is_rating_errors(follow_through: int | None, comment: str | None, lang: Lang) -> dict[str, str]:
    errors: dict[str, str] = {}
    if follow_through is None:
        errors[BlockId.IS_RATING_FOLLOW_THROUGH.value] = t(lang, "feedback.error.choose_stars")
    problem = _too_long(comment, IS_COMMENT_MAX, lang)
    if problem:
        errors[BlockId.IS_RATING_COMMENT.value] = problem
    return errors


def to_is_rating(follow_through: int | None, comment: str | None) -> IsRating:
    """The validated rating; call it only when `is_rating_errors` is empty (raises ValueError otherwise)."""
    return IsRating.model_validate({"follow_through": follow_through, "comment": comment})


def build_is_rating_to_fs(
    *, handoff: HandoffSnapshot, rating: IsRating, lang: Lang, rater_id: str | None
) -> Message:
    """To the FS rep: IS rated their follow-through (`rater_id=None`: anonymous, "IS")."""
    rater = user_mention(rater_id) if rater_id else t(lang, "feedback.anonymous_is")
    text = t(
        lang,
        "feedback.is_rating.to_fs",
        rater=rater,
        company=_company(handoff, lang),
        stars=_star_value(rating.follow_through, lang),
    )
    blocks: list[Block] = [_section(text)]
    if rating.comment:
        blocks.append(_section(escape_within(rating.comment, SECTION_TEXT_MAX)))
    return text, blocks


# ---------------------------------------------------------------- the outcome


def build_outcome_modal(
    *,
    handoff: HandoffSnapshot,
    lang: Lang,
    meta: HandoffActionMeta,
    existing: Outcome | None = None,
    currency: str = "JPY",
) -> View:
    """Won (amount, date) / lost (reason) / still open (callback `outcome_record`); `existing` pre-fills."""
    kinds = [_option(t(lang, f"feedback.outcome.kind.{k.value}"), k.value) for k in OutcomeKind]
    chosen = next((o for o in kinds if existing is not None and o.value == existing.kind.value), None)
    kind = InputBlock(
        block_id=BlockId.OUTCOME_KIND,
        label=plain(t(lang, "feedback.outcome.kind.label")),
        hint=plain(t(lang, "feedback.outcome.kind.hint")),
        element=RadioButtonsElement(action_id=ActionId.OUTCOME_KIND, options=kinds, initial_option=chosen),
    )
    amount = InputBlock(
        block_id=BlockId.OUTCOME_AMOUNT,
        label=plain(t(lang, "feedback.outcome.amount.label", currency=currency_name(lang, currency))),
        hint=plain(t(lang, "feedback.outcome.amount.hint")),
        optional=True,
        element=NumberInputElement(
            action_id=ActionId.OUTCOME_AMOUNT,
            is_decimal_allowed=False,
            min_value="0",
            initial_value=str(existing.amount) if existing and existing.amount is not None else None,
            placeholder=plain(t(lang, "feedback.outcome.amount.placeholder")),
        ),
    )
    closed_on = InputBlock(
        block_id=BlockId.OUTCOME_CLOSED_ON,
        label=plain(t(lang, "feedback.outcome.closed_on.label")),
        hint=plain(t(lang, "feedback.outcome.closed_on.hint")),
        optional=True,
        element=DatePickerElement(
            action_id=ActionId.OUTCOME_CLOSED_ON,
            placeholder=plain(t(lang, "feedback.outcome.closed_on.placeholder")),
            initial_date=existing.closed_on.isoformat() if existing and existing.closed_on else None,
        ),
    )
    reason = _long_text(
        lang=lang,
        key="feedback.outcome.lost_reason",
        block_id=BlockId.OUTCOME_LOST_REASON,
        action_id=ActionId.OUTCOME_LOST_REASON,
        limit=LOST_REASON_MAX,
        initial=existing.lost_reason if existing else None,
    )
    lead = t(lang, "feedback.outcome.lead", company=_company(handoff, lang))
    return build_modal(
        callback_id=CallbackId.OUTCOME,
        title=t(lang, "feedback.outcome.title"),
        submit=t(lang, "feedback.outcome.submit"),
        close=t(lang, "common.cancel"),
        private_metadata=dump_meta(meta),
        blocks=[_section(lead), kind, amount, closed_on, reason],
    )


_AMOUNT_NOISE = re.compile(r"[\s,_円¥]")


def _amount_value(raw: str | None) -> int | None:
    """Digits (full-width too; "3,000,000円" and "¥3000000" are fine) as an int ≥ 0, else None."""
    if raw is None:
        return None
    digits = _AMOUNT_NOISE.sub("", unicodedata.normalize("NFKC", raw))
    if not re.fullmatch(rf"[0-9]{{1,{AMOUNT_DIGITS_MAX}}}", digits):
        return None
    return int(digits)


def _date_value(raw: object) -> date | None:
    if not isinstance(raw, str) or len(raw) != 10:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        return None


def parse_outcome_submission(values: object) -> OutcomeDraft:
    """The outcome from a submission's `view.state.values`; anything missing or odd reads as None."""
    raw_kind = selected_value(input_state(values, BlockId.OUTCOME_KIND, ActionId.OUTCOME_KIND))
    try:
        kind = OutcomeKind(raw_kind) if raw_kind else None
    except ValueError:
        kind = None
    amount_text = text_value(input_state(values, BlockId.OUTCOME_AMOUNT, ActionId.OUTCOME_AMOUNT))
    closed = input_state(values, BlockId.OUTCOME_CLOSED_ON, ActionId.OUTCOME_CLOSED_ON).get("selected_date")
    return OutcomeDraft(
        kind=kind,
        amount=_amount_value(amount_text),
        amount_text=amount_text,
        closed_on=_date_value(closed),
        lost_reason=text_value(
            input_state(values, BlockId.OUTCOME_LOST_REASON, ActionId.OUTCOME_LOST_REASON)
        ),
    )


def outcome_errors(draft: OutcomeDraft, lang: Lang) -> dict[str, str]:
    """Per-field problems: won needs amount and date, the amount is digits ≥ 0, lost needs a reason.

    A typed amount that is not digits is reported whatever the kind (the rep meant something by it);
    a future close date is allowed (a contract signed for next month).
    """
    errors: dict[str, str] = {}
    if draft.kind is None:
        errors[BlockId.OUTCOME_KIND.value] = t(lang, "feedback.error.choose_kind")
    if draft.amount_text is not None and draft.amount is None:
        errors[BlockId.OUTCOME_AMOUNT.value] = t(lang, "feedback.error.amount_digits")
    elif draft.amount is not None and draft.amount > AMOUNT_MAX:
        errors[BlockId.OUTCOME_AMOUNT.value] = t(
            lang, "feedback.error.amount_too_large", max=f"{AMOUNT_MAX:,}"
        )
    elif draft.kind is OutcomeKind.WON and draft.amount is None:
        errors[BlockId.OUTCOME_AMOUNT.value] = t(lang, "feedback.error.amount_required")
    if draft.kind is OutcomeKind.WON and draft.closed_on is None:
        errors[BlockId.OUTCOME_CLOSED_ON.value] = t(lang, "feedback.error.closed_on_required")
    if draft.kind is OutcomeKind.LOST and draft.lost_reason is None:
        errors[BlockId.OUTCOME_LOST_REASON.value] = t(lang, "feedback.error.lost_reason_required")
    problem = _too_long(draft.lost_reason, LOST_REASON_MAX, lang)
    if problem:
        errors[BlockId.OUTCOME_LOST_REASON.value] = problem
    return errors


def outcome_date_errors(draft: OutcomeDraft, handoff: HandoffSnapshot, lang: Lang) -> dict[str, str]:
    """A deal closes after its first contact: a close date before the memo's first contact is a typo (it
    would make a negative lead time)."""
    first_contact = handoff.memo.first_contact_on
    if draft.closed_on is None or first_contact is None or draft.closed_on >= first_contact:
        return {}
    error = t(
        lang, "feedback.error.closed_before_first_contact", first_contact=format_date(first_contact, lang)
    )
    return {BlockId.OUTCOME_CLOSED_ON.value: error}


def to_outcome(draft: OutcomeDraft) -> Outcome:
    """The validated outcome, keeping only what its kind carries (a won deal drops a typed lost reason,
    an open deal drops everything). Call it only when `outcome_errors` is empty (raises ValueError)."""
    if draft.kind is OutcomeKind.WON:
        return Outcome(kind=draft.kind, amount=draft.amount, closed_on=draft.closed_on)
    if draft.kind is OutcomeKind.LOST:
        return Outcome(kind=draft.kind, lost_reason=draft.lost_reason, closed_on=draft.closed_on)
    if draft.kind is None:
        raise ValueError("the outcome has no kind")
    return Outcome(kind=draft.kind)


def build_outcome_dm(
    *, handoff: HandoffSnapshot, outcome: Outcome, lang: Lang, recorded_by: str | None, currency: str = "JPY"
) -> Message:
    """To the IS rep: FS recorded the deal's outcome (a win counts for both reps). `recorded_by=None`:
    anonymous mode ("FS")."""
    params = {
        "fs_user": (
            t(lang, "common.person", user=user_mention(recorded_by))
            if recorded_by
            else t(lang, "feedback.anonymous_fs")
        ),
        "company": _company(handoff, lang),
    }
    if outcome.kind is OutcomeKind.WON:
        closed = format_date(outcome.closed_on, lang) if outcome.closed_on else EMPTY
        text = t(
            lang,
            "feedback.outcome.to_is.won",
            amount=format_money(outcome.amount or 0, lang, currency),
            date=closed,
            **params,
        )
    elif outcome.kind is OutcomeKind.LOST:
        reason = escape_within(outcome.lost_reason or EMPTY, LOST_REASON_MAX)
        text = t(lang, "feedback.outcome.to_is.lost", reason=reason, **params)
    else:
        text = t(lang, "feedback.outcome.to_is.open", **params)
    return truncate(text, SECTION_TEXT_MAX), [_section(text)]


# ---------------------------------------------------------------- who may act


def build_loop_refusal(
    action: LoopAction, refusal: Refusal, *, handoff: HandoffSnapshot | None, lang: Lang, anonymous: bool
) -> Message:
    """Why the clicker cannot rate / record this toss-up (an ephemeral, in mrkdwn). `anonymous`
    (feedback.anonymous): the IS rep who clicked an FS button of their own toss-up is not told who rates."""
    text = _refusal_text(action, refusal, handoff, lang, mention=True, name_fs_to_is=not anonymous)
    return text, [_section(text)]


# The block a refusal or a storage failure is shown on, per loop form (its first input).
LOOP_FIRST_INPUT = {
    LoopAction.RATE: BlockId.FEEDBACK_RESULT,
    LoopAction.RATE_FS: BlockId.IS_RATING_FOLLOW_THROUGH,
    LoopAction.OUTCOME: BlockId.OUTCOME_KIND,
}


def loop_refusal_form_error(
    action: LoopAction, refusal: Refusal, *, handoff: HandoffSnapshot | None, lang: Lang
) -> str:
    """The same refusal as a modal field error (plain text: Slack shows no markup there)."""
    return _refusal_text(action, refusal, handoff, lang, mention=False)


def _refusal_text(
    action: LoopAction,
    refusal: Refusal,
    handoff: HandoffSnapshot | None,
    lang: Lang,
    *,
    mention: bool,
    name_fs_to_is: bool = False,
) -> str:
    if refusal is Refusal.MISSING or handoff is None:
        return t(lang, "message.form.missing")
    company = truncate(company_name(handoff.memo, lang), COMPANY_MAX)
    if refusal is Refusal.NOT_ACCEPTED:
        return t(
            lang,
            "feedback.refusal.not_accepted",
            company=escape_within(company, COMPANY_MAX) if mention else company,
        )
    actor = loop_actor(action, handoff)
    if refusal is Refusal.OWN_TOSS_UP:
        if mention and name_fs_to_is and actor and actor != handoff.is_user_id:
            return t(lang, "feedback.refusal.own_toss_up_named", user=user_mention(actor))
        return t(lang, "feedback.refusal.own_toss_up")
    if mention and actor:
        return t(lang, f"feedback.refusal.{action.value}", user=user_mention(actor))
    return t(lang, f"feedback.refusal.form.{action.value}")


# ---------------------------------------------------------------- the learning loop


_BULLET = re.compile(r"^[\s•・\-*●○◦▪]+")


def learning_loop_block(items: Sequence[str], lang: Lang) -> ContextBlock | None:
    """For the IS rep's next memo modal: what FS asked them to collect next time (one bullet per line of
    each item, de-duplicated, escaped and cut to fit); None when there is nothing to show."""
    lines: list[str] = []
    seen: set[str] = set()
    for item in items:
        for line in (item or "").splitlines():
            text = clean_text(_BULLET.sub("", line))
            key = unicodedata.normalize("NFKC", text or "").casefold()
            if not text or key in seen:
                continue
            seen.add(key)
            lines.append(f"• {escape_within(text, LEARNING_ITEM_MAX)}")
    if not lines:
        return None
    text = "\n".join([t(lang, "feedback.learning.title"), *lines[:LEARNING_ITEMS_MAX]])
    return _context(text)
