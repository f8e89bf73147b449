"""The collaboration diagnosis (`/tossup diagnose`) in Block Kit: the checklist modal, the result message,
App Home's latest level and the monthly review's trend lines.

Pure builders and parsers, both languages from the catalog. The modal shows the seed's five groups, one
checkbox input each; the items the data confirms start ticked, and every data item shows its evidence
(a checkbox option's description holds only 75 characters, so the evidence is a context line under its
group). Parsing keeps only the item values each group can hold: anything else a client sends is ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field
from slack_sdk.models.blocks import (
    Block,
    CheckboxesElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.config import CHANNEL_ID_RE
from bot.domain.diagnosis import (
    DATA_ITEMS,
    GROUP_OF,
    GROUPS,
    DiagnosisGroup,
    DiagnosisItem,
    DiagnosisLevel,
    DiagnosisRecord,
    DiagnosisTrend,
    Evidence,
    parse_items,
)
from bot.i18n import Lang, t
from modals.common import build_modal, input_state, plain
from modals.digest_text import Fmt
from modals.ids import ActionId, BlockId, CallbackId
from modals.limits import HEADER_TEXT_MAX, OPTION_TEXT_MAX, SECTION_TEXT_MAX, TEXT_OBJECT_MAX
from modals.messages import Message
from modals.metadata import dump_meta
from modals.text import format_datetime, truncate, user_mention

__all__ = [
    "GROUP_BLOCKS",
    "DiagnosisModalMeta",
    "build_diagnosis_modal",
    "build_diagnosis_refusal",
    "build_diagnosis_result",
    "build_loading_modal",
    "diagnosis_home_blocks",
    "diagnosis_trend_lines",
    "evidence_text",
    "level_text",
    "parse_diagnosis_submission",
    "refusal_text",
]

FALLBACK_MAX = 300

GROUP_BLOCKS: dict[DiagnosisGroup, BlockId] = {
    DiagnosisGroup.ROLES: BlockId.DIAGNOSIS_ROLES,
    DiagnosisGroup.EVALUATION: BlockId.DIAGNOSIS_EVALUATION,
    DiagnosisGroup.SHARING: BlockId.DIAGNOSIS_SHARING,
    DiagnosisGroup.COMMUNICATION: BlockId.DIAGNOSIS_COMMUNICATION,
    DiagnosisGroup.IMPROVEMENT: BlockId.DIAGNOSIS_IMPROVEMENT,
}


class DiagnosisModalMeta(BaseModel):
    """Where `/tossup diagnose` was typed (the result goes there) and the modal's language."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    channel_id: str | None = Field(default=None, pattern=CHANNEL_ID_RE.pattern)
    lang: Lang


# ---------------------------------------------------------------- small pieces


def _mrkdwn(text: str, limit: int = TEXT_OBJECT_MAX) -> MarkdownTextObject:
    return MarkdownTextObject(text=truncate(text, limit))


def item_text(item: DiagnosisItem, lang: Lang) -> str:
    return t(lang, f"diagnose.item.{item.value}")


def group_text(group: DiagnosisGroup, lang: Lang) -> str:
    return t(lang, f"diagnose.group.{group.value}")


def level_text(level: DiagnosisLevel, lang: Lang) -> str:
    return t(lang, f"diagnose.level.{level.value}")


def action_text(level: DiagnosisLevel, lang: Lang) -> str:
    return t(lang, f"diagnose.action.{level.value}")


def evidence_text(evidence: Evidence, lang: Lang, tz: ZoneInfo) -> str:
    """The evidence in words, its times in the reader's zone (no user text: nothing to escape)."""
    params = {
        name: format_datetime(value, tz, lang) if isinstance(value, datetime) else value
        for name, value in evidence.params.items()
    }
    if "count" not in params and "whole" in params:  # "{part} of {whole} toss-ups": the whole is counted
        params["count"] = params["whole"]
    return t(lang, f"diagnose.evidence.{evidence.key}", **params)


def _option(item: DiagnosisItem, lang: Lang) -> Option:
    return Option(value=item.value, text=plain(truncate(item_text(item, lang), OPTION_TEXT_MAX)))


# ---------------------------------------------------------------- the modal


def build_loading_modal(*, lang: Lang, external_id: str) -> View:
    """Opened at once with the command's trigger (it expires in 3 s); replaced, by its `external_id`,
    when the evidence is in."""
    view = build_modal(
        callback_id=CallbackId.DIAGNOSIS,
        title=t(lang, "diagnose.loading_title"),
        close=t(lang, "diagnose.close"),
        blocks=[SectionBlock(text=_mrkdwn(t(lang, "diagnose.loading")))],
    )
    view.external_id = external_id
    return view


def build_diagnosis_modal(
    *,
    lang: Lang,
    tz: ZoneInfo,
    evidence: Mapping[DiagnosisItem, Evidence],
    as_of: datetime,
    meta: DiagnosisModalMeta,
) -> View:
    """The checklist: per seed group its two items as checkboxes, the data items ticked when their
    evidence meets the rule, and each data item's evidence under its group."""
    blocks: list[Block] = [
        SectionBlock(text=_mrkdwn(t(lang, "diagnose.intro"), SECTION_TEXT_MAX)),
        ContextBlock(elements=[_mrkdwn(t(lang, "diagnose.as_of", at=format_datetime(as_of, tz, lang)))]),
    ]
    if not evidence:  # the data could not be read: every item is the person's to answer
        blocks.append(ContextBlock(elements=[_mrkdwn(t(lang, "diagnose.no_data"))]))
    for group, items in GROUPS:
        options = [_option(item, lang) for item in items]
        ticked = [option for item, option in zip(items, options, strict=True) if _met(evidence, item)]
        blocks.append(
            InputBlock(
                block_id=GROUP_BLOCKS[group],
                label=plain(group_text(group, lang)),
                optional=True,  # an unticked group is an answer ("none of these"), not a missing one
                element=CheckboxesElement(
                    action_id=ActionId.DIAGNOSIS_ITEMS,
                    options=options,
                    initial_options=ticked or None,
                ),
            )
        )
        lines = [
            t(
                lang,
                "diagnose.evidence_line",
                mark="✅" if found.met else "▫️",
                item=item_text(item, lang),
                evidence=evidence_text(found, lang, tz),
            )
            for item in items
            if (found := evidence.get(item)) is not None
        ]
        if any(item not in DATA_ITEMS for item in items):
            lines.append(t(lang, "diagnose.person_hint"))
        if lines:
            blocks.append(ContextBlock(elements=[_mrkdwn("\n".join(lines))]))
    return build_modal(
        callback_id=CallbackId.DIAGNOSIS,
        title=t(lang, "diagnose.title"),
        submit=t(lang, "diagnose.submit"),
        close=t(lang, "diagnose.close"),
        private_metadata=dump_meta(meta),
        blocks=blocks,
    )


def _met(evidence: Mapping[DiagnosisItem, Evidence], item: DiagnosisItem) -> bool:
    found = evidence.get(item)
    return found is not None and found.met


def parse_diagnosis_submission(values: object) -> frozenset[DiagnosisItem] | None:
    """The ticked items: each group's block read for that group's items only (a value from another
    group, an unknown value or a malformed group counts for nothing). None when the state holds none of
    the groups at all: the form came back unreadable, which must not count as "nothing ticked"."""
    checked: set[DiagnosisItem] = set()
    states = [input_state(values, block, ActionId.DIAGNOSIS_ITEMS) for block in GROUP_BLOCKS.values()]
    if not any(states):
        return None
    for group, state in zip(GROUP_BLOCKS, states, strict=True):
        selected = state.get("selected_options")
        if not isinstance(selected, list):
            continue
        raw = [option.get("value") for option in selected if isinstance(option, Mapping)]
        checked |= parse_items(raw, group=group)
    return frozenset(checked)


# ---------------------------------------------------------------- messages


def build_diagnosis_result(*, record: DiagnosisRecord, lang: Lang, tz: ZoneInfo) -> Message:
    """The result: count, level and the seed's recommended action, the unchecked items as next steps."""
    result = record.result
    level, count = result.level, result.count
    summary = t(
        lang,
        "diagnose.result.summary",
        count=count,
        level=level_text(level, lang),
        action=action_text(level, lang),
    )
    if result.next_steps:
        steps = [
            t(
                lang,
                "diagnose.result.next_line",
                group=group_text(GROUP_OF[item], lang),
                item=item_text(item, lang),
            )
            for item in result.next_steps
        ]
        next_text = "\n".join([t(lang, "diagnose.result.next_title"), *steps])
    else:
        next_text = t(lang, "diagnose.result.all_done")
    footer = t(
        lang,
        "diagnose.result.footer",
        user=user_mention(record.diagnosed_by),
        at=format_datetime(record.diagnosed_at, tz, lang),
    )
    blocks: list[Block] = [
        HeaderBlock(text=plain(truncate(t(lang, "diagnose.result.header"), HEADER_TEXT_MAX))),
        SectionBlock(text=_mrkdwn(summary, SECTION_TEXT_MAX)),
        SectionBlock(text=_mrkdwn(next_text, SECTION_TEXT_MAX)),
        ContextBlock(elements=[_mrkdwn(footer)]),
    ]
    fallback = t(lang, "diagnose.result.fallback", count=count, level=level_text(level, lang))
    return truncate(fallback, FALLBACK_MAX), blocks


def build_diagnosis_refusal(reason: str, *, lang: Lang) -> Message:
    """`reason`: "not_allowed" or "store_failed"."""
    text = t(lang, f"diagnose.refusal.{reason}")
    return text, [SectionBlock(text=_mrkdwn(text, SECTION_TEXT_MAX))]


def refusal_text(reason: str, lang: Lang) -> str:
    return t(lang, f"diagnose.refusal.{reason}")


def diagnosis_home_blocks(record: DiagnosisRecord | None, *, lang: Lang, tz: ZoneInfo) -> list[Block]:
    """A manager's Home tab: the latest diagnosis's level and action, or how to run one."""
    if record is None:
        text = t(lang, "diagnose.home.empty")
    else:
        text = t(
            lang,
            "diagnose.home.latest",
            count=record.count,
            level=level_text(record.level, lang),
            user=user_mention(record.diagnosed_by),
            at=format_datetime(record.diagnosed_at, tz, lang),
            action=action_text(record.level, lang),
        )
    return [
        HeaderBlock(text=plain(t(lang, "diagnose.home.title"))),
        SectionBlock(text=_mrkdwn(text, SECTION_TEXT_MAX)),
        DividerBlock(),
    ]


def diagnosis_trend_lines(trend: DiagnosisTrend, fmt: Fmt) -> list[str]:
    """The monthly review's lines: this month's latest diagnosis against the latest one before it."""
    if trend.is_empty:
        return []
    lang = fmt.lang
    lines = []
    if trend.current is None:
        lines.append(fmt.t("diagnose.monthly.no_current"))
    else:
        current = trend.current
        lines.append(
            fmt.t(
                "diagnose.monthly.current",
                count=current.count,
                level=level_text(current.level, lang),
                user=fmt.user(current.by),
                date=fmt.day(current.at),
            )
        )
    if trend.previous is not None:
        previous = trend.previous
        line = fmt.t(
            "diagnose.monthly.previous",
            count=previous.count,
            level=level_text(previous.level, lang),
            date=fmt.day(previous.at),
        )
        change = trend.change
        if change is not None:
            shown = (
                fmt.t("diagnose.monthly.same")
                if change == 0
                else fmt.t("diagnose.monthly.change", change=f"{change:+d}", count=abs(change))
            )
            line += f" · {shown}"
        lines.append(line)
    return lines
