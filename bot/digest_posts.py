"""Sending a claimed digest: the lead message in the channel, then each part of its thread — a section, or
(monthly) a chart uploaded after the section it illustrates.

Rendered from the content frozen at claim time, so a retried or late message shows the claim's numbers.
A thread part waits for the lead (it threads under it) and for the part before it, so the thread reads in
meeting order even when Slack refused one for a while. Charts are drawn in a worker thread.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot import charts
from bot.digests import DIGEST_LEAD, DIGEST_REPLY, Chart, Digest, DigestKind
from bot.domain.agenda import Section, WeeklyAgenda
from bot.domain.monthly import MonthlyReview, MonthlySection
from bot.domain.quarterly import QuarterlyReview, QuarterlySection
from bot.domain.scorecard import Scorecard
from bot.i18n import Lang, t
from bot.scorecards import SCORECARD_DM, SCORECARD_OVERVIEW
from modals.agenda import build_agenda_empty, build_agenda_lead, build_agenda_section
from modals.messages import Message
from modals.monthly import (
    build_review_empty,
    build_review_lead,
    build_review_section,
    kpi_chart_data,
    month_label,
    score_chart_data,
)
from modals.quarterly import build_quarterly_empty, build_quarterly_lead, build_quarterly_section
from modals.scorecard import build_scorecard, build_scorecard_overview
from store.digests import DigestRecord, get_digest, record_digest_lead
from store.outbox import OutboxItem, done_keys

if TYPE_CHECKING:
    from bot.delivery import Delivery

DIGEST_POST_KINDS = frozenset({DIGEST_LEAD, DIGEST_REPLY, SCORECARD_DM})


async def send_digest_post(item: OutboxItem, *, delivery: Delivery) -> None:
    from bot.delivery import NotReady  # here: bot.delivery imports this module

    async with delivery.sessions() as session:
        digest = await get_digest(session=session, digest_id=int(item.payload["digest_id"]))
    if digest is None:
        raise ValueError(f"digest {item.payload.get('digest_id')} is gone")
    if item.kind == SCORECARD_DM:
        await _send_scorecard(delivery, digest)
        return
    kind = DigestKind(digest.kind)
    content = _content(digest)
    lang = Lang(digest.lang)
    if item.kind == DIGEST_LEAD:
        await _post_lead(delivery, digest, _lead(kind, content, lang, delivery))
        return
    if not (digest.lead_channel_id and digest.lead_ts):
        raise NotReady("the digest's lead message is not posted yet")
    after = item.payload.get("after")
    if after:
        async with delivery.sessions() as session:
            if not await done_keys(session=session, keys=[str(after)]):
                raise NotReady(f"{after} is not posted yet")
    part = str(item.payload.get("part") or item.payload.get("section"))
    if part in {chart.value for chart in Chart}:
        assert isinstance(content, MonthlyReview)
        await _upload_chart(delivery, digest, content, Chart(part), lang)
        return
    text, blocks = await _section(kind, content, part, lang, delivery)
    await delivery.post(channel=digest.lead_channel_id, thread_ts=digest.lead_ts, text=text, blocks=blocks)


def _content(digest: DigestRecord) -> Digest:
    match DigestKind(digest.kind):
        case DigestKind.WEEKLY:
            return WeeklyAgenda.model_validate(digest.content)
        case DigestKind.MONTHLY:
            return MonthlyReview.model_validate(digest.content)
        case DigestKind.QUARTERLY:
            return QuarterlyReview.model_validate(digest.content)


def _lead(kind: DigestKind, content: Digest, lang: Lang, delivery: Delivery) -> Message:
    tz, config = delivery.config.tz, delivery.config
    if isinstance(content, WeeklyAgenda):
        if content.is_empty:
            return build_agenda_empty(content, lang=lang, tz=tz)
        return build_agenda_lead(content, lang=lang, tz=tz)
    if isinstance(content, QuarterlyReview):
        if content.is_empty:
            return build_quarterly_empty(content, lang=lang)
        return build_quarterly_lead(content, lang=lang, tz=tz, config=config)
    if content.is_empty:
        return build_review_empty(content, lang=lang)
    return build_review_lead(content, lang=lang, tz=tz)


async def _section(kind: DigestKind, content: Digest, part: str, lang: Lang, delivery: Delivery) -> Message:
    tz, workspace_url = delivery.config.tz, await delivery.workspace_url()
    if isinstance(content, WeeklyAgenda):
        return build_agenda_section(content, Section(part), lang=lang, tz=tz, workspace_url=workspace_url)
    if isinstance(content, QuarterlyReview):
        return build_quarterly_section(
            content, QuarterlySection(part), lang=lang, tz=tz, config=delivery.config
        )
    return build_review_section(
        content, MonthlySection(part), lang=lang, tz=tz, workspace_url=workspace_url, config=delivery.config
    )


async def _post_lead(delivery: Delivery, digest: DigestRecord, message: Message) -> None:
    if digest.lead_ts:
        return  # posted by an earlier attempt
    text, blocks = message
    sent = await delivery.post(channel=digest.channel_id, text=text, blocks=blocks)
    await _record_lead(delivery, digest, sent)


async def _record_lead(delivery: Delivery, digest: DigestRecord, sent: dict[str, str]) -> None:
    """Where the digest's first message went: its thread parts follow it, and it is never sent again."""
    async with delivery.sessions() as session:
        await record_digest_lead(
            session=session,
            digest_id=digest.id,
            channel_id=sent["channel"],
            ts=sent["ts"],
            now=delivery.clock(),
        )


async def _send_scorecard(delivery: Delivery, digest: DigestRecord) -> None:
    """A rep's scorecard, or a manager's overview, by DM in that person's language."""
    if digest.lead_ts:
        return  # sent by an earlier attempt
    user = digest.channel_id
    lang, tz = await delivery.users.lang(user), delivery.config.tz
    if digest.kind == SCORECARD_OVERVIEW:
        cards = [Scorecard.model_validate(card) for card in digest.content.get("cards") or []]
        text, blocks = build_scorecard_overview(cards, lang=lang, tz=tz)
    else:
        text, blocks = build_scorecard(Scorecard.model_validate(digest.content), lang=lang, tz=tz)
    await _record_lead(delivery, digest, await delivery.dm(user, text, blocks))


async def _upload_chart(
    delivery: Delivery, digest: DigestRecord, review: MonthlyReview, chart: Chart, lang: Lang
) -> None:
    """Draw the chart off the event loop and upload it into the review's thread (the text stands on its
    own: a chart Slack refuses for good is given up, the review is complete without it)."""
    if chart is Chart.SCORE:
        data = score_chart_data(review, lang=lang)
        png = await charts.render(charts.score_trend_chart, lang=lang, **data)
        alt = charts.score_trend_alt(lang=lang, **data)
        title = t(lang, "chart.score.trend_title")
    else:
        data = kpi_chart_data(review, lang=lang)
        png = await charts.render(charts.kpi_chart, lang=lang, **data)
        alt = charts.kpi_alt(lang=lang, **data)
        title = t(lang, "chart.kpi.title")
    filename = f"tossup-{digest.kind}-{digest.period_start.isoformat()}-{chart.value}-{digest.id}.png"
    assert digest.lead_channel_id and digest.lead_ts
    await delivery.upload(
        channel=digest.lead_channel_id,
        thread_ts=digest.lead_ts,
        filename=filename,
        content=png,
        # what the chart is, and of which month (the alt text's first line, cut, stopped mid-sentence)
        title=t(lang, "chart.file_title", title=title, month=month_label(review.month_start, lang)),
        alt_text=alt,
    )
