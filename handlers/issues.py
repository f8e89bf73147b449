"""Collaboration issues (連携課題): `/tossup issue` opens the log modal (see handlers/command.py), its
submission stores the issue; the agenda's Close button opens the close modal, whose submission closes
the issue once and replies in the agenda thread.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.domain.issues import PROBLEM_MAX, IssueDraft, IssueRefusal
from bot.domain.memo import clean_text
from bot.issues import (
    close_issue_form,
    issue_to_close,
    may_work,
    submit_issue_form,
)
from bot.services import Services
from handlers.common import (
    action_value,
    actor_id,
    as_dict,
    clicker,
    open_modal,
    slack_channel,
    source_channel,
    submission_key,
    tell,
    user_lang,
    view_values,
    where_to_answer,
)
from handlers.invocation import Invocation
from modals.ids import ActionId, BlockId, CallbackId
from modals.issues import (
    SLACK_TS_PATTERN,
    IssueCloseMeta,
    IssueModalMeta,
    build_already_closed,
    build_close_modal,
    build_issue_modal,
    build_issue_refusal,
    issue_form_error,
    parse_close_submission,
)
from modals.metadata import load_meta

_THREAD_TS_RE = re.compile(SLACK_TS_PATTERN)  # the shape IssueCloseMeta takes back


async def open_issue_modal(call: Invocation) -> None:
    """`/tossup issue [problem]`: the log modal (what was typed after the word prefills the problem), or
    privately why not."""
    lang = call.lang
    if not may_work(call.services.config, call.user):
        await call.answer(build_issue_refusal(IssueRefusal.NOT_ALLOWED, lang=lang))
        return
    await call.ack()
    meta = IssueModalMeta(channel_id=call.channel, lang=lang)
    prefill = IssueDraft(problem=clean_text(call.argument[:PROBLEM_MAX]))
    view = build_issue_modal(lang=lang, meta=meta, prefill=prefill)
    await open_modal(call.client, body=call.body, view=view, lang=lang, respond=call.respond)


def clicked_thread(body: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """(channel, thread ts) of the message a button was clicked in: the thread it is a reply in (an agenda
    section), else the message itself. Each is None unless it looks like a Slack id."""
    container, message, clicked_in = (as_dict(body.get(key)) for key in ("container", "message", "channel"))
    channel = slack_channel(container.get("channel_id")) or slack_channel(clicked_in.get("id"))
    candidates = (
        message.get("thread_ts"),
        container.get("thread_ts"),
        message.get("ts"),
        container.get("message_ts"),
    )
    looks_like_ts = (raw for raw in candidates if isinstance(raw, str) and _THREAD_TS_RE.fullmatch(raw))
    return channel, next(looks_like_ts, None)


def register(app: AsyncApp, services: Services) -> None:
    config = services.config

    @app.view(CallbackId.COLLAB_ISSUE)
    async def submit_issue(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        actor, meta = actor_id(body), await where_to_answer(services, body, view, IssueModalMeta)
        answer = await submit_issue_form(
            services, actor=actor, key=submission_key(view), meta=meta, values=view_values(view)
        )
        if answer.errors:
            await ack(response_action="errors", errors=answer.errors)
            return
        await ack()
        if answer.confirmation is not None:
            await tell(client, channel=meta.channel_id, user=actor, message=answer.confirmation)
        await services.delivery.deliver_issue_posts()

    @app.action(ActionId.ISSUE_CLOSE)
    async def click_close(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond
    ) -> None:
        await ack()
        if (clicked := await clicker(services, client, body, respond)) is None:
            return
        actor, lang = clicked
        target = await issue_to_close(services.sessions, config, actor_id=actor, raw_id=action_value(body))
        issue, zone = target.issue, await services.users.zone(actor, fallback=config.tz)
        if issue is None or not issue.is_open:
            message = (
                build_issue_refusal(target.refusal or IssueRefusal.NOT_FOUND, lang=lang)
                if issue is None
                else build_already_closed(issue=issue, lang=lang, tz=zone)
            )
            await tell(client, respond=respond, channel=source_channel(body), user=actor, message=message)
            return
        channel, thread_ts = clicked_thread(body)
        meta = IssueCloseMeta(issue_id=issue.id, channel_id=channel, thread_ts=thread_ts, lang=lang)
        view = build_close_modal(issue=issue, lang=lang, tz=zone, meta=meta)
        await open_modal(client, body=body, view=view, lang=lang, respond=respond)

    @app.view(CallbackId.COLLAB_ISSUE_CLOSE)
    async def submit_close(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        try:  # it passed through the client: the issue id and the thread are checked again
            meta = load_meta(IssueCloseMeta, view.get("private_metadata"))
        except ValueError:
            lang = await user_lang(services, body)
            errors = {BlockId.ISSUE_DECISION.value: issue_form_error(IssueRefusal.BAD_VALUE, lang)}
            await ack(response_action="errors", errors=errors)
            return
        decision = parse_close_submission(view_values(view))
        answer = await close_issue_form(services, meta=meta, actor=actor_id(body), decision=decision)
        if answer.errors:
            await ack(response_action="errors", errors=answer.errors)
        elif answer.view is not None:
            await ack(response_action="update", view=answer.view)
        else:
            await ack()
            await services.delivery.deliver_issue_posts()
