"""The handoff memo modal (引き継ぎメモ): build it, read its submission, word its field errors."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    DatePickerElement,
    DateTimePickerElement,
    EmailInputElement,
    HeaderBlock,
    InputBlock,
    InputInteractiveElement,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    RadioButtonsElement,
    StaticSelectElement,
    UrlInputElement,
    UserSelectElement,
)
from slack_sdk.models.views import View

from bot.config import AppConfig
from bot.domain.criteria import CriteriaMode
from bot.domain.memo import (
    MEMO_SECTIONS,
    MULTILINE_FIELDS,
    REQUIRED_FIELDS,
    TEXT_LIMITS,
    FieldProblem,
    HandoffMemo,
    MemoField,
    MemoSection,
    clean_text,
)
from bot.domain.options import CustomSelect
from bot.i18n import Lang, has, t
from modals.common import (
    ENUM_FIELDS,
    build_modal,
    field_label,
    input_state,
    plain,
    section_title,
    selected_value,
    text_value,
)
from modals.feedback import learning_loop_block
from modals.ids import (
    ActionId,
    BlockId,
    CallbackId,
    custom_action_id,
    custom_block_id,
    memo_action_id,
    memo_block_id,
)
from modals.limits import OPTION_TEXT_MAX, PLACEHOLDER_MAX
from modals.metadata import MemoModalMeta, dump_meta
from modals.text import enum_label, escape_mrkdwn, format_datetime, truncate

YES = "yes"
NO = "no"


# ---------------------------------------------------------------- building


def _option(text: str, value: str) -> Option:
    return Option(text=plain(truncate(text, OPTION_TEXT_MAX)), value=value)


def _select(action_id: str, lang: Lang, options: list[Option], initial: object) -> StaticSelectElement:
    chosen = next((o for o in options if initial is not None and o.value == str(initial)), None)
    return StaticSelectElement(
        action_id=action_id,
        placeholder=plain(t(lang, "memo.select_placeholder")),
        options=options,
        initial_option=chosen,
    )


def _text_placeholder(lang: Lang, field: MemoField) -> PlainTextObject:
    return plain(truncate(t(lang, f"memo.field.{field.value}.placeholder"), PLACEHOLDER_MAX))


def _element(field: MemoField, lang: Lang, config: AppConfig, initial: object) -> InputInteractiveElement:
    """The input element that answers `field` (its kind follows the field's type in HandoffMemo),
    showing `initial` — a value of that field in HandoffMemo — when one is given."""
    action_id = memo_action_id(field)
    text = str(initial) if isinstance(initial, str) and initial else None
    if field is MemoField.CONTACT_EMAIL:
        return EmailInputElement(
            action_id=action_id, placeholder=_text_placeholder(lang, field), initial_value=text
        )
    if field is MemoField.CRM_URL:
        return UrlInputElement(
            action_id=action_id, placeholder=_text_placeholder(lang, field), initial_value=text
        )
    if field is MemoField.MEETING_AT:
        when = int(initial.timestamp()) if isinstance(initial, datetime) else None
        return DateTimePickerElement(action_id=action_id, initial_date_time=when)
    if field is MemoField.FIRST_CONTACT_ON:
        return DatePickerElement(
            action_id=action_id,
            placeholder=plain(t(lang, "memo.date_placeholder")),
            initial_date=initial.isoformat() if isinstance(initial, date) else None,
        )
    if field is MemoField.FS_USER_ID:
        return UserSelectElement(
            action_id=action_id, placeholder=plain(t(lang, "memo.user_placeholder")), initial_user=text
        )
    if field is MemoField.LEAD_SOURCE:
        options = [_option(o.label.get(lang), o.value) for o in config.memo.lead_sources]
        return _select(action_id, lang, options, initial)
    if field in ENUM_FIELDS:
        options = [_option(enum_label(lang, m), m.value) for m in ENUM_FIELDS[field]]
        return _select(action_id, lang, options, initial)
    if field is MemoField.HANDOFF_CALL_WANTED:
        yes, no = _option(t(lang, "memo.call.yes"), YES), _option(t(lang, "memo.call.no"), NO)
        return RadioButtonsElement(
            action_id=action_id, options=[yes, no], initial_option=yes if initial else no
        )
    limit = TEXT_LIMITS[field]
    return PlainTextInputElement(
        action_id=action_id,
        placeholder=_text_placeholder(lang, field),
        multiline=field in MULTILINE_FIELDS or None,
        max_length=limit,
        initial_value=truncate(text, limit) if text else None,
    )


def memo_input(
    field: MemoField, *, lang: Lang, config: AppConfig, initial: object = None, hint: str | None = None
) -> InputBlock:
    """The labelled input block of one memo field (block_id = the field's value); `hint` in place of the
    field's own."""
    return InputBlock(
        block_id=memo_block_id(field),
        label=plain(field_label(lang, field)),
        hint=plain(hint or t(lang, f"memo.field.{field.value}.hint")),
        element=_element(field, lang, config, initial),
        optional=field not in REQUIRED_FIELDS,
    )


def custom_select_input(select: CustomSelect, *, lang: Lang, initial: str | None = None) -> InputBlock:
    """The input of one of the team's own select fields (app.yaml memo.custom_selects)."""
    options = [_option(o.label.get(lang), o.value) for o in select.options]
    return InputBlock(
        block_id=custom_block_id(select.key),
        label=plain(select.label.get(lang)),
        element=_select(custom_action_id(select.key), lang, options, initial),
        optional=not select.required,
    )


OVERRIDE_MAX = 1000


def override_input(lang: Lang, initial: str | None = None) -> InputBlock:
    """Warn mode: why toss it up although the toss-up criteria are not met (asked only when they fail);
    `initial`: the reason given before (editing a toss-up keeps it unless the rep changes it)."""
    return InputBlock(
        block_id=BlockId.CRITERIA_OVERRIDE,
        label=plain(t(lang, "memo.override.label")),
        hint=plain(t(lang, "memo.override.hint")),
        element=PlainTextInputElement(
            action_id=ActionId.CRITERIA_OVERRIDE,
            multiline=True,
            max_length=OVERRIDE_MAX,
            placeholder=plain(truncate(t(lang, "memo.override.placeholder"), PLACEHOLDER_MAX)),
            initial_value=initial[:OVERRIDE_MAX] if initial else None,
        ),
        optional=True,
    )


def parse_override_reason(values: dict) -> str | None:
    return text_value(input_state(values, BlockId.CRITERIA_OVERRIDE, ActionId.CRITERIA_OVERRIDE))


def _context(text: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=text)])


def _intro(lang: Lang, config: AppConfig, now: datetime | None) -> ContextBlock:
    lines = [t(lang, "memo.intro")]
    if now is not None:
        lines.append(t(lang, "memo.tz_note", now=format_datetime(now, config.tz, lang)))
    return _context(escape_mrkdwn("\n".join(lines)))


SECTION_HEAD = 2  # a section's title and its intro, before its fields


def _section_blocks(
    section: MemoSection, *, lang: Lang, config: AppConfig, prefill: HandoffMemo
) -> list[Block]:
    blocks: list[Block] = [  # SECTION_HEAD blocks, then one per field
        HeaderBlock(text=plain(section_title(lang, section))),
        _context(escape_mrkdwn(t(lang, f"memo.section.{section.value}.intro"))),
    ]
    for field in MEMO_SECTIONS[section]:
        blocks.append(memo_input(field, lang=lang, config=config, initial=prefill.value(field)))
    if section is MemoSection.BASICS:
        for select in config.memo.custom_selects:
            blocks.append(custom_select_input(select, lang=lang, initial=prefill.custom.get(select.key)))
    return blocks


class _Prebuilt(Block):
    """A block turned into JSON (and checked by slack_sdk) once, whose JSON is then reused as is (never
    changed: slack_sdk copies what it sends). The memo's unanswered fields are the same for every new
    toss-up, and making their JSON was most of the work of opening the modal (25 KB, ~200 objects)."""

    def __init__(self, block: Block) -> None:
        super().__init__(type=block.type, block_id=block.block_id)
        self._json = block.to_dict()

    def to_dict(self, *args: Any) -> dict[str, Any]:  # slack_sdk passes option types to some
        return self._json


_BLANK = HandoffMemo()
BLANK_SECTIONS_KEPT = 64  # (config, language, section): a team has one config and two languages
_blank_sections: dict[tuple[int, Lang, MemoSection], tuple[AppConfig, tuple[Block, ...]]] = {}


def _blank_section_blocks(section: MemoSection, *, lang: Lang, config: AppConfig) -> tuple[Block, ...]:
    """`_section_blocks` of a blank memo, built once per configuration, language and section."""
    key = (id(config), lang, section)
    kept = _blank_sections.get(key)
    if kept is not None and kept[0] is config:  # the same object: an id is reused only after it is gone
        return kept[1]
    blocks = tuple(
        _Prebuilt(block) for block in _section_blocks(section, lang=lang, config=config, prefill=_BLANK)
    )
    if len(_blank_sections) >= BLANK_SECTIONS_KEPT:
        _blank_sections.clear()
    _blank_sections[key] = (config, blocks)
    return blocks


def _memo_section(
    section: MemoSection, *, lang: Lang, config: AppConfig, prefill: HandoffMemo
) -> list[Block]:
    """`_section_blocks`, with each block that has no answer taken from the blank section built once and
    each one that has an answer (`/tossup Acme`'s company, a revision's memo) built anew."""
    blocks = list(_blank_section_blocks(section, lang=lang, config=config))
    fields = MEMO_SECTIONS[section]
    for n, field in enumerate(fields):
        if (value := prefill.value(field)) != _BLANK.value(field):
            blocks[SECTION_HEAD + n] = memo_input(field, lang=lang, config=config, initial=value)
    if section is MemoSection.BASICS:
        for n, select in enumerate(config.memo.custom_selects):
            if (chosen := prefill.custom.get(select.key)) is not None:
                blocks[SECTION_HEAD + len(fields) + n] = custom_select_input(
                    select, lang=lang, initial=chosen
                )
    return blocks


def build_memo_modal(
    *,
    lang: Lang,
    config: AppConfig,
    meta: MemoModalMeta,
    prefill_company: str | None = None,
    prefill: HandoffMemo | None = None,
    now: datetime | None = None,
    learning: Sequence[str] = (),
    override_reason: str | None = None,
) -> View:
    """The handoff memo modal, grouped by the seed template's six sections.

    `prefill` fills every field from an earlier memo (revising a returned toss-up); `prefill_company`
    only the company (`/tossup Acme Corp`). `now`, when given, shows the team's current time beside the
    time-zone note (the datetimepicker works in the rep's own Slack time zone; FS reads the meeting
    time in the team's). `learning` lists what FS recently asked this rep to collect next time (the
    learning loop), shown at the top so the feedback changes this toss-up. `override_reason` fills the
    warn-mode reason (an edit shows the one given with the toss-up).
    """
    if prefill is None:
        prefill = HandoffMemo(company=clean_text(prefill_company))
    blocks: list[Block] = [_intro(lang, config, now)]
    asked_for = learning_loop_block(learning, lang)
    if asked_for is not None:
        blocks.append(asked_for)
    if meta.revises is not None:
        blocks.append(_context(escape_mrkdwn(t(lang, "memo.revising"))))
    if meta.edits is not None:
        blocks.append(_context(escape_mrkdwn(t(lang, "memo_edit.modal.editing", number=meta.edits))))
    for section in MemoSection:
        blocks.extend(_memo_section(section, lang=lang, config=config, prefill=prefill))
    if meta.edits is not None:  # routing was decided at submission: the picker says so (it cannot be locked)
        fs_block = memo_block_id(MemoField.FS_USER_ID)
        blocks = [
            memo_input(
                MemoField.FS_USER_ID,
                lang=lang,
                config=config,
                initial=prefill.fs_user_id,
                hint=t(lang, "memo_edit.modal.fs_rep_hint"),
            )
            if getattr(block, "block_id", None) == fs_block
            else block
            for block in blocks
        ]
    if config.criteria.mode is CriteriaMode.WARN:
        blocks.append(override_input(lang, initial=override_reason))
    return build_modal(
        callback_id=CallbackId.HANDOFF_MEMO,
        title=t(lang, "memo.title"),
        submit=t(lang, "memo_edit.modal.submit" if meta.edits is not None else "memo.submit"),
        close=t(lang, "common.cancel"),
        private_metadata=dump_meta(meta),
        blocks=blocks,
    )


# ---------------------------------------------------------------- parsing


def _enum_value(enum: type[StrEnum], raw: str | None) -> StrEnum | None:
    try:
        return enum(raw) if raw is not None else None
    except ValueError:
        return None


def _datetime_value(raw: object) -> datetime | None:
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        return None
    try:
        return datetime.fromtimestamp(raw, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _date_value(raw: object) -> date | None:
    if not isinstance(raw, str) or len(raw) != 10:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        return None


def _parse_field(field: MemoField, state: Mapping[str, Any]) -> object:
    if field is MemoField.MEETING_AT:
        return _datetime_value(state.get("selected_date_time"))
    if field is MemoField.FIRST_CONTACT_ON:
        return _date_value(state.get("selected_date"))
    if field is MemoField.FS_USER_ID:
        return text_value(state, "selected_user")
    if field is MemoField.HANDOFF_CALL_WANTED:
        return selected_value(state) == YES
    if field in ENUM_FIELDS:
        return _enum_value(ENUM_FIELDS[field], selected_value(state))
    if field is MemoField.LEAD_SOURCE:
        return selected_value(state)
    return text_value(state)


def parse_memo_submission(values: dict, *, config: AppConfig) -> HandoffMemo:
    """The memo from a submission's `view.state.values`; anything missing or odd reads as unanswered.

    A lead source outside `config.memo.lead_sources` is kept as sent, so that `validate_memo` (given
    `config.lead_source_values`) reports it on the field rather than it vanishing silently.
    """
    answers: dict[str, object] = {
        field.value: _parse_field(field, input_state(values, memo_block_id(field), memo_action_id(field)))
        for field in MemoField
    }
    custom = {
        select.key: selected_value(
            input_state(values, custom_block_id(select.key), custom_action_id(select.key))
        )
        for select in config.memo.custom_selects
    }
    answers["custom"] = {key: value for key, value in custom.items() if value is not None}
    return HandoffMemo(**answers)


# ---------------------------------------------------------------- errors


def memo_errors(
    problems: list[FieldProblem], lang: Lang, custom: Mapping[str, str] | None = None
) -> dict[str, str]:
    """`response_action: errors` payload: input block_id → message in the rep's language.

    `custom` maps a custom select's key to the catalog key of its problem (`custom_problems`).
    """
    errors: dict[str, str] = {}
    for problem in problems:
        key = problem.key if has(lang, problem.key) else "error.invalid"
        errors[memo_block_id(problem.field)] = t(lang, key, **dict(problem.params))
    for select_key, message_key in (custom or {}).items():
        errors[custom_block_id(select_key)] = t(lang, message_key)
    return errors
