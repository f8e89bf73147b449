"""Collaboration issues (連携課題): `/tossup issue` opens the log modal (see handlers/command.py), its
submission stores the issue; the agenda's Close button opens the close modal, whose submission closes
the issue once and replies in the agenda thread.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.domain.issues import PROBLEM_MAX, IssueDraft, IssueRefusal
from bot.domain.memo import clean_text
from bot.i18n import Lang, t
from bot.issues import (
    check_issue,
    close_with_decision,
    closed_by_someone_else,
    issue_to_close,
    log_issue,
    may_work,
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
    build_already_closed_view,
    build_close_modal,
    build_issue_confirmation,
    build_issue_modal,
    build_issue_refusal,
    close_errors,
    forged_owner_errors,
    issue_form_error,
    parse_close_submission,
    parse_issue_submission,
)
from modals.metadata import load_meta

log = logging.getLogger(__name__)
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
        actor, key = actor_id(body), submission_key(view)
        meta = await where_to_answer(services, body, view, IssueModalMeta)
        problem_block = BlockId.ISSUE_PROBLEM.value
        if not actor or key is None:  # Slack always sends both: no issue without who raised it
            log.warning("an issue submission came without a user or a view id")
            await ack(
                response_action="errors",
                errors={problem_block: t(meta.lang, "handler.incomplete_request")},
            )
            return
        if not may_work(config, actor):  # roles may have changed since the modal opened
            await ack(
                response_action="errors",
                errors={problem_block: issue_form_error(IssueRefusal.NOT_ALLOWED, meta.lang)},
            )
            return
        values = view_values(view)
        draft = parse_issue_submission(values)
        errors = {
            **await check_issue(draft, users=services.users, lang=meta.lang),
            **forged_owner_errors(values, meta.lang),  # read as "no owner" by the parser: refuse it here
        }
        if errors:
            await ack(response_action="errors", errors=errors)
            return
        try:
            stored = await log_issue(
                services.sessions,
                draft=draft,
                actor_id=actor,
                submission_key=key,
                channel_id=meta.channel_id,
                now=services.clock(),
            )
        except Exception:
            log.exception("could not store the collaboration issue of %s", actor)
            # The modal stays open with everything typed: nothing is lost, they can submit again.
            await ack(response_action="errors", errors={problem_block: t(meta.lang, "handler.store_failed")})
            return
        await ack()
        if stored.created:  # the same view again (double click, Slack retry) was confirmed the first time
            message = build_issue_confirmation(issue=stored.issue, lang=meta.lang)
            await tell(client, channel=meta.channel_id, user=actor, message=message)
        await services.delivery.drain()

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
        actor = actor_id(body)

        def refused(refusal: IssueRefusal, lang: Lang) -> dict[str, str]:
            return {BlockId.ISSUE_DECISION.value: issue_form_error(refusal, lang)}

        try:  # it passed through the client: the issue id and the thread are checked again
            meta = load_meta(IssueCloseMeta, view.get("private_metadata"))
        except ValueError:
            await ack(
                response_action="errors",
                errors=refused(IssueRefusal.BAD_VALUE, await user_lang(services, body)),
            )
            return
        decision = parse_close_submission(view_values(view))
        errors = close_errors(decision, meta.lang)
        if not errors and not actor:  # Slack always sends the user: an issue is never closed by nobody
            errors = {BlockId.ISSUE_DECISION.value: t(meta.lang, "handler.incomplete_request")}
        elif not errors and not may_work(config, actor):
            errors = refused(IssueRefusal.NOT_ALLOWED, meta.lang)
        if errors or decision is None:
            await ack(response_action="errors", errors=errors)
            return
        try:
            result = await close_with_decision(
                services.sessions, meta=meta, actor_id=actor, decision=decision, now=services.clock()
            )
        except Exception:
            log.exception("could not close collaboration issue %s", meta.issue_id)
            await ack(
                response_action="errors",
                errors={BlockId.ISSUE_DECISION.value: t(meta.lang, "handler.store_failed")},
            )
            return
        if result.issue is None:
            await ack(response_action="errors", errors=refused(IssueRefusal.NOT_FOUND, meta.lang))
        elif closed_by_someone_else(result, actor_id=actor, decision=decision):
            zone = await services.users.zone(actor, fallback=config.tz)
            await ack(
                response_action="update",
                view=build_already_closed_view(issue=result.issue, lang=meta.lang, tz=zone),
            )
        else:
            await ack()
            await services.delivery.drain()
