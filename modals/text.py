"""Text helpers for Block Kit: mrkdwn escaping, truncation, dates and times in the reader's language."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from bot.domain.handoff import HandoffStatus, ReturnReason
from bot.domain.memo import SLACK_USER_ID, AuthorityLevel, BudgetStatus, Temperature, Timeline
from bot.i18n import Lang, t

ELLIPSIS = "…"
FORGED_USER_ID_MAX = 40
_MRKDWN_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}

# The catalog prefix holding each enum's labels: `budget_status.confirmed`, `status.pending`, …
ENUM_LABEL_PREFIXES: dict[type[StrEnum], str] = {
    BudgetStatus: "budget_status",
    AuthorityLevel: "authority",
    Timeline: "timeline",
    Temperature: "temperature",
    ReturnReason: "return_reason",
    HandoffStatus: "status",
}


def escape_mrkdwn(text: str) -> str:
    """Make user text inert in mrkdwn: `<!channel>` shows literally and pings nobody."""
    return "".join(_MRKDWN_ESCAPES.get(ch, ch) for ch in text)


def truncate(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters, ending with "…" when something was cut."""
    if len(text) <= limit:
        return text
    return text[: max(limit - 1, 0)].rstrip() + ELLIPSIS


def escape_within(text: str, limit: int) -> str:
    """`text` escaped for mrkdwn and at most `limit` characters long, never cutting an entity in half."""
    escaped = escape_mrkdwn(text)
    if len(escaped) <= limit:
        return escaped
    out: list[str] = []
    used = 0
    for ch in text:
        piece = _MRKDWN_ESCAPES.get(ch, ch)
        if used + len(piece) > limit - 1:
            break
        out.append(piece)
        used += len(piece)
    return "".join(out).rstrip() + ELLIPSIS


def enum_label(lang: Lang, member: StrEnum) -> str:
    return t(lang, f"{ENUM_LABEL_PREFIXES[type(member)]}.{member.value}")


def user_mention(user_id: str) -> str:
    """`<@U123>` for a Slack user id; anything else as escaped plain text, so it never pings or links."""
    if SLACK_USER_ID.fullmatch(user_id):
        return f"<@{user_id}>"
    return escape_within(" ".join(user_id.split()), FORGED_USER_ID_MAX)


def channel_mention(channel_id: str) -> str:
    return f"<#{channel_id}>"


def format_date(d: date, lang: Lang) -> str:
    """ja "2026年12月1日(火)", en "Tue, Dec 1, 2026"."""
    weekdays = t(lang, "format.weekdays").split()
    months = t(lang, "format.months").split()
    return t(
        lang,
        "format.date",
        year=d.year,
        month=months[d.month - 1],
        day=d.day,
        weekday=weekdays[d.weekday()],
    )


def _zone_name(local: datetime, tz: ZoneInfo) -> str:
    abbreviation = local.tzname() or ""
    if abbreviation and abbreviation[0] not in "+-":
        return abbreviation
    return tz.key


# The symbol a currency is written with before its amount; any other code is written after it ("1,000 CHF").
CURRENCY_SYMBOLS = {
    "USD": "$",
    "EUR": "€",
    "GBP": "£",
    "CNY": "CN¥",
    "KRW": "₩",
    "INR": "₹",
    "AUD": "A$",
    "CAD": "CA$",
    "NZD": "NZ$",
    "SGD": "S$",
    "HKD": "HK$",
    "TWD": "NT$",
}


def format_money(amount: int, lang: Lang, currency: str = "JPY") -> str:
    """An amount in the team's currency (`currency` in app.yaml): JPY ja "3,000,000円", en "¥3,000,000";
    USD "$3,000,000"; a code without a symbol here "3,000,000 CHF"."""
    digits = f"{amount:,}"
    if currency == "JPY":
        return t(lang, "format.money.jpy", amount=digits)
    if symbol := CURRENCY_SYMBOLS.get(currency):
        return t(lang, "format.money.symbol", symbol=symbol, amount=digits)
    return t(lang, "format.money.code", code=currency, amount=digits)


def currency_name(lang: Lang, currency: str = "JPY") -> str:
    """The currency in a label ("Amount (yen)", "受注金額（円）", "Amount (USD)")."""
    return t(lang, "format.currency.jpy") if currency == "JPY" else currency


def format_datetime(dt: datetime, tz: ZoneInfo, lang: Lang) -> str:
    """ja "2026年12月1日(火) 14:00 JST", en "Tue, Dec 1, 2026 14:00 JST" (naive datetimes are UTC)."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=ZoneInfo("UTC"))
    local = dt.astimezone(tz)
    return t(
        lang,
        "format.datetime",
        date=format_date(local.date(), lang),
        time=f"{local.hour:02d}:{local.minute:02d}",
        tz=_zone_name(local, tz),
    )


def lines_within(lines: Sequence[str], limit: int, more: Callable[[int], str], *, hidden: int = 0) -> str:
    """`lines` joined by newlines in at most `limit` characters: the lines that do not fit are dropped from
    the end and summed up, with the `hidden` ones left out before, by `more(count)` ("and 3 more")."""
    text = "\n".join(lines)
    if not hidden and len(text) <= limit:
        return text
    reserve = len(more(len(lines) + hidden)) + 1  # the summing-up line (its count has at most as many digits)
    kept: list[str] = []
    used = 0
    for line in lines:
        extra = len(line) + (1 if kept else 0)
        if used + extra + reserve > limit:
            break
        kept.append(line)
        used += extra
    left_out = len(lines) - len(kept) + hidden
    return truncate("\n".join([*kept, more(left_out)]) if left_out else "\n".join(kept), limit)
