"""`/tossup export`'s private answers, and the words that go with the CSV file in the DM.

Pure builders; what the person typed is escaped before it is quoted back in mrkdwn.
"""

from __future__ import annotations

from slack_sdk.models.blocks import MarkdownTextObject, SectionBlock

from bot.domain.kpi import Period
from bot.i18n import Lang, t
from modals.messages import Message
from modals.text import escape_within

TYPED_MAX = 80


def _message(text: str) -> Message:
    return text, [SectionBlock(text=MarkdownTextObject(text=text))]


def _days(period: Period) -> dict[str, str]:
    return {"first": period.first_day.isoformat(), "last": period.last_day.isoformat()}


def build_export_refused(*, lang: Lang) -> Message:
    """Someone who is not a manager asked for the export."""
    return _message(t(lang, "export.refused"))


def build_export_usage(*, lang: Lang, typed: str) -> Message:
    """What was typed is not a day or a period: how to name one."""
    return _message(t(lang, "export.usage", typed=escape_within(typed, TYPED_MAX)))


def build_export_reversed(*, lang: Lang) -> Message:
    """The first day comes after the last."""
    return _message(t(lang, "export.reversed"))


def build_export_queued(*, lang: Lang, period: Period) -> Message:
    """The ack: the CSV is being written and comes by DM."""
    return _message(t(lang, "export.queued", **_days(period)))


def build_export_failed(*, lang: Lang, period: Period, error: str) -> Message:
    """To the manager who asked: Slack refused the file for good (nothing more will come)."""
    return _message(t(lang, "export.failed", error=escape_within(error, TYPED_MAX), **_days(period)))


def export_file_comment(*, lang: Lang, period: Period, count: int) -> str:
    """The message the file is shared with in the DM."""
    return t(lang, "export.file_comment", count=count, **_days(period))


def export_file_title(*, lang: Lang, period: Period) -> str:
    return t(lang, "export.file_title", **_days(period))
