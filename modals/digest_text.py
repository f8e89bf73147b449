"""Text pieces shared by the digests' Slack messages and their plain-text previews (the weekly agenda,
the monthly review): words in the reader's language, escaped user text and mentions, links to notices,
and titled lists packed into sections within Slack's limits, ending with "…and N more"."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import Block, MarkdownTextObject, SectionBlock

from bot.domain.agenda import MEMO_SCORE_MAX, NoticeRef
from bot.i18n import Lang, t
from modals.limits import SECTION_TEXT_MAX
from modals.text import (
    SLACK_USER_ID,
    escape_mrkdwn,
    escape_within,
    format_date,
    format_datetime,
    truncate,
    user_mention,
)

# Slack rejects a message whose blocks add up to about 13k characters (`msg_blocks_too_long`), well
# below 50 × 3,000: every message keeps its blocks, as JSON, under this. Text limits below are counted
# as JSON too (a `"` or newline takes two), so the parts' limits add up to less than the budget.
MESSAGE_SIZE_BUDGET = 11_000
FALLBACK_MAX = 3000
COMPANY_MAX = 80
NOTE_MAX = 300
REASON_MAX = 300
PROBLEM_MAX = 300
REQUESTED_MAX = 200
LINE_MAX = 800  # one list line, whatever went into it (keeps every line packable into a section)
TEXT_LINES_MAX = 200  # lines per part in the plain-text preview
WORKSPACE_URL_MAX = 200
USER_ID_MAX = 40
BULLET = "• "
_CHANNEL_ID = re.compile(r"[CGD][A-Z0-9]{2,}")
_MESSAGE_TS = re.compile(r"\d{1,12}\.\d{1,9}")


# ------------------------------------------------------------------------------------------ pieces


def notice_permalink(workspace_url: str | None, notice: NoticeRef) -> str | None:
    """The notice's permalink (`{workspace_url}archives/{channel}/p{ts without the dot}`), or None when
    any part is unknown or does not look like what Slack would give (so nothing odd enters a link)."""
    channel, ts = notice.channel_id, notice.ts
    if not workspace_url or not channel or not ts:
        return None
    if not (_CHANNEL_ID.fullmatch(channel) and _MESSAGE_TS.fullmatch(ts)):
        return None
    if (
        len(workspace_url) > WORKSPACE_URL_MAX
        or not workspace_url.startswith(("https://", "http://"))
        or any(ch in workspace_url for ch in "<>| \t\r\n")
    ):
        return None
    base = workspace_url if workspace_url.endswith("/") else f"{workspace_url}/"
    return f"{base}archives/{channel}/p{ts.replace('.', '')}"


def one_decimal(value: float) -> str:
    """One decimal, half up as people round (48.25 → "48.3")."""
    return f"{Decimal(repr(value)).quantize(Decimal('0.1'), rounding=ROUND_HALF_UP):.1f}"


def signed(value: float) -> str:
    """+2.0, −1.5 (a real minus sign), ±0.0."""
    rounded = Decimal(repr(value)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    if rounded == 0:
        return "±0.0"
    return f"+{rounded:.1f}" if rounded > 0 else f"−{-rounded:.1f}"


def aware(dt: datetime) -> datetime:
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=UTC)


def local_date(dt: datetime, tz: ZoneInfo) -> date:
    return aware(dt).astimezone(tz).date()


def one_line(text: str) -> str:
    """User text on one line: a newline in a company name must not break the list apart."""
    return " ".join(text.split())


class Fmt:
    """Words in one language, for mrkdwn (escaped, mentions, links) or for plain text (as written)."""

    def __init__(self, lang: Lang, tz: ZoneInfo, *, mrkdwn: bool, workspace_url: str | None = None):
        self.lang = lang
        self.tz = tz
        self.mrkdwn = mrkdwn
        self.workspace_url = workspace_url

    def t(self, key: str, /, **params: object) -> str:
        return t(self.lang, key, **params)

    def user_text(self, text: str, limit: int) -> str:
        text = one_line(text)
        return escape_within(text, limit) if self.mrkdwn else truncate(text, limit)

    def bold(self, text: str) -> str:
        return f"*{text}*" if self.mrkdwn else text

    def user(self, user_id: str | None) -> str:
        """A mention (`@U123` in plain text); an id no Slack user has, as inert text. Real ids are short:
        a very long one is shown cut, so list lines stay bounded and are never cut mid-mention."""
        if not user_id:
            return self.t("agenda.none")
        if len(user_id) <= USER_ID_MAX and SLACK_USER_ID.fullmatch(user_id):
            return user_mention(user_id) if self.mrkdwn else f"@{user_id}"
        return self.user_text(user_id, USER_ID_MAX)

    def fs(self, user_id: str | None) -> str:
        return self.user(user_id) if user_id else self.t("agenda.no_fs")

    def company(self, name: str, notice: NoticeRef | None = None) -> str:
        label = self.user_text(name, COMPANY_MAX) if name.strip() else self.t("common.no_company")
        link = notice_permalink(self.workspace_url, notice) if notice and self.mrkdwn else None
        return f"<{escape_mrkdwn(link)}|{label}>" if link else label

    def revision_mark(self, revised_id: int, notice: NoticeRef) -> str:
        """ " · 🔁 revises #3 (returned)", the #3 linked to that toss-up's notice when it was posted."""
        number = f"#{revised_id}"
        link = notice_permalink(self.workspace_url, notice) if self.mrkdwn else None
        return self.t(
            "agenda.this_week.revision", toss_up=f"<{escape_mrkdwn(link)}|{number}>" if link else number
        )

    def day(self, dt: datetime | date) -> str:
        day = local_date(dt, self.tz) if isinstance(dt, datetime) else dt
        return format_date(day, self.lang)

    def moment(self, dt: datetime) -> str:
        return format_datetime(aware(dt), self.tz, self.lang)

    def days_between(self, since: datetime, until: datetime) -> str:
        """Calendar days in the team's zone ("open 20 days"): elapsed hours fall a day short across a
        spring-forward (23 hours are not a day's wait)."""
        return self.days(max((local_date(aware(until), self.tz) - local_date(aware(since), self.tz)).days, 0))

    def days(self, count: int) -> str:
        return self.t("agenda.days.one" if count == 1 else "agenda.days.other", days=f"{count:,}")

    def score(self, score: int | None, score_max: int) -> str:
        if score is None:
            return self.t("agenda.none")
        return self.t("agenda.score", score=score, max=score_max)

    def average(self, average: float | None, of: int = MEMO_SCORE_MAX) -> str:
        """A mean memo score, "48.3/70" (`of`: what a memo can score with the team's weights)."""
        if average is None:
            return self.t("agenda.none")
        return self.t("agenda.score", score=one_decimal(average), max=of)

    def more(self, count: int) -> str:
        return self.t("agenda.more", count=f"{count:,}")


@dataclass(frozen=True, slots=True)
class Part:
    """One titled list of a section (the title already bold in mrkdwn); `limit` characters and `blocks`
    sections bound it in a message, not in plain text."""

    title: str
    lines: Sequence[str]
    empty: str
    limit: int = SECTION_TEXT_MAX
    blocks: int = 1
    hidden: int = 0  # lines the agenda counted but did not keep (its lists stop at LIST_MAX)


def pack(
    head: str,
    lines: Sequence[str],
    *,
    limit: int,
    max_blocks: int,
    more: Callable[[int], str],
    hidden: int = 0,
) -> list[str]:
    """`head` then `lines`, one per row, in at most `max_blocks` texts of at most `limit` characters as
    JSON (so at most `limit` as text); the lines that do not fit are summed up by `more(count)` at the end."""
    rows = [truncate(line, LINE_MAX) for line in lines]
    chunks: list[list[str]] = [[head]]

    def size(chunk: list[str]) -> int:
        return sum(map(json_len, chunk)) + 2 * (len(chunk) - 1)  # "\n" is two characters in JSON

    shown = 0
    for row in rows:
        if size([*chunks[-1], row]) <= limit:
            chunks[-1].append(row)
        elif len(chunks) < max_blocks:
            chunks.append([row])
        else:
            break
        shown += 1
    left = len(rows) - shown + hidden
    if left:
        # give back rows from the end until the summing-up line fits (the head always stays)
        while size([*chunks[-1], more(left)]) > limit and (len(chunks) > 1 or len(chunks[0]) > 1):
            chunks[-1].pop()
            left += 1
            if not chunks[-1]:
                chunks.pop()
        chunks[-1].append(more(left))
    return [truncate("\n".join(chunk), limit) for chunk in chunks]


def part_blocks(part: Part, fmt: Fmt) -> list[Block]:
    if not part.lines:
        texts = [truncate(f"{part.title}\n{part.empty}", part.limit)]
    else:
        texts = pack(
            part.title,
            part.lines,
            limit=part.limit,
            max_blocks=part.blocks,
            more=fmt.more,
            hidden=part.hidden,
        )
    return [SectionBlock(text=MarkdownTextObject(text=text)) for text in texts]


def part_text(part: Part, fmt: Fmt) -> str:
    if not part.lines:
        return f"{part.title}\n{part.empty}"
    rows = list(part.lines[:TEXT_LINES_MAX])
    left = len(part.lines) - len(rows) + part.hidden
    if left:
        rows.append(fmt.more(left))
    return "\n".join([part.title, *rows])


def json_len(text: str) -> int:
    """`text`'s length inside a JSON string (what Slack receives)."""
    return len(json.dumps(text, ensure_ascii=False)) - 2


def block_size(block: Block) -> int:
    """One block's share of a message: its JSON and the separator after it."""
    return len(json.dumps(block.to_dict(), ensure_ascii=False)) + 2


def section_heading(prefix: str, section: StrEnum, minutes: int, lang: Lang) -> str:
    """ "2. Deals in progress needing support (10 min)": a digest section's number, title and time box
    (`{prefix}.section_heading` and `{prefix}.section.<section>` in the catalog)."""
    number = list(type(section)).index(section) + 1
    title = t(lang, f"{prefix}.section.{section.value}")
    return t(lang, f"{prefix}.section_heading", number=number, title=title, minutes=minutes)
