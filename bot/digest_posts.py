"""Sending a claimed digest: the lead message in the channel, then each section as a thread reply.

Rendered from the agenda frozen at claim time, so a retried or late message shows the claim's numbers.
Replies wait for the lead (they thread under it) and for the section before them, so the thread reads in
meeting order even when Slack refused one for a while.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.digests import DIGEST_LEAD, DIGEST_REPLY, reply_key
from bot.domain.agenda import Section, WeeklyAgenda
from bot.i18n import Lang
from modals.agenda import build_agenda_empty, build_agenda_lead, build_agenda_section
from store.digests import DigestRecord, get_digest, record_digest_lead
from store.outbox import OutboxItem, done_keys

if TYPE_CHECKING:
    from bot.delivery import Delivery

DIGEST_POST_KINDS = frozenset({DIGEST_LEAD, DIGEST_REPLY})
_SECTIONS = tuple(Section)


async def send_digest_post(item: OutboxItem, *, delivery: Delivery) -> None:
    from bot.delivery import NotReady  # here: bot.delivery imports this module

    async with delivery.sessions() as session:
        digest = await get_digest(session=session, digest_id=int(item.payload["digest_id"]))
    if digest is None:
        raise ValueError(f"digest {item.payload.get('digest_id')} is gone")
    agenda = WeeklyAgenda.model_validate(digest.content)
    lang, tz = Lang(digest.lang), delivery.config.tz
    if item.kind == DIGEST_LEAD:
        await _post_lead(delivery, digest, agenda, lang)
        return
    if not (digest.lead_channel_id and digest.lead_ts):
        raise NotReady("the agenda's lead message is not posted yet")
    section = Section(item.payload["section"])
    position = _SECTIONS.index(section)
    if position > 0:
        before = reply_key(digest.id, _SECTIONS[position - 1])
        async with delivery.sessions() as session:
            if not await done_keys(session=session, keys=[before]):
                raise NotReady(f"section {_SECTIONS[position - 1]} is not posted yet")
    text, blocks = build_agenda_section(
        agenda, section, lang=lang, tz=tz, workspace_url=await delivery.workspace_url()
    )
    await delivery.post(channel=digest.lead_channel_id, thread_ts=digest.lead_ts, text=text, blocks=blocks)


async def _post_lead(delivery: Delivery, digest: DigestRecord, agenda: WeeklyAgenda, lang: Lang) -> None:
    if digest.lead_ts:
        return  # posted by an earlier attempt
    if agenda.is_empty:
        text, blocks = build_agenda_empty(agenda, lang=lang)
    else:
        text, blocks = build_agenda_lead(agenda, lang=lang, tz=delivery.config.tz)
    response = await delivery.post(channel=digest.channel_id, text=text, blocks=blocks)
    async with delivery.sessions() as session:
        await record_digest_lead(
            session=session,
            digest_id=digest.id,
            channel_id=response["channel"],
            ts=response["ts"],
            now=delivery.clock(),
        )
