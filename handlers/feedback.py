"""The feedback loop's buttons and modals: FS rates the handoff, IS rates FS's follow-through, FS records
the outcome. Each button opens its modal pre-filled (a second submission edits the first); each
submission is checked, stored with its outbox rows, then posted.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.models.views import View
from slack_sdk.web.async_client import AsyncWebClient

from bot.domain.feedback import feedback_owner
from bot.domain.feedback_access import LoopAction, loop_refusal
from bot.domain.handoff import HandoffSnapshot, Refusal
from bot.feedback_forms import ErrorsWith, Store, submit_loop_form
from bot.feedback_loop import record_feedback, record_is_rating, record_outcome
from bot.feedback_state import loop_state
from bot.i18n import Lang, t
from bot.services import Services
from handlers.common import (
    action_handoff_id,
    clicker,
    load_handoff,
    open_modal,
    read_action_form,
    source_channel,
    source_message_ts,
    tell,
    view_values,
)
from handlers.deadline import ack_in_time
from modals.feedback import (
    LOOP_FIRST_INPUT,
    build_feedback_modal,
    build_is_rating_modal,
    build_loop_refusal,
    build_outcome_modal,
    feedback_errors,
    is_rating_errors,
    outcome_date_errors,
    outcome_errors,
    parse_feedback_submission,
    parse_is_rating,
    parse_outcome_submission,
    to_is_rating,
    to_outcome,
    to_sheet,
)
from modals.ids import ActionId, CallbackId
from modals.metadata import HandoffActionMeta, load_meta

BuildView = Callable[[HandoffSnapshot, Lang, HandoffActionMeta], Awaitable[View]]


def register(app: AsyncApp, services: Services) -> None:
    config = services.config

    async def open_loop_modal(
        action: LoopAction,
        body: dict[str, Any],
        client: AsyncWebClient,
        respond: AsyncRespond,
        build: BuildView,
    ) -> None:
        """Open the modal of `action` for the toss-up behind the button, or say privately why not."""
        if (clicked := await clicker(services, client, body, respond)) is None:
            return
        actor, lang = clicked
        handoff = await load_handoff(services, action_handoff_id(body))
        problem = loop_refusal(action, handoff, actor_id=actor, managers=config.roles.managers)
        if problem is not None or handoff is None:
            message = build_loop_refusal(
                action,
                problem or Refusal.MISSING,
                handoff=handoff,
                lang=lang,
                anonymous=config.feedback.anonymous,
            )
            await tell(client, respond=respond, channel=source_channel(body), user=actor, message=message)
            return
        meta = HandoffActionMeta(
            handoff_id=handoff.id,
            channel_id=source_channel(body),
            message_ts=source_message_ts(body),
            lang=lang,
        )
        view = await build(handoff, lang, meta)
        await open_modal(client, body=body, view=view, lang=lang, respond=respond)

    async def handle_submission(
        action: LoopAction,
        ack: AsyncAck,
        body: dict[str, Any],
        view: dict[str, Any],
        errors_in: Callable[[Lang], dict[str, str]],
        store: Store,
        errors_with: ErrorsWith | None = None,
    ) -> None:
        """A loop modal's submission: field errors first, then whether the submitter may still act (the
        toss-up may have changed since the modal opened), then the errors that need the toss-up, then
        store, ack, and post what was queued — answered within Slack's 3 seconds whatever happens
        (handlers.deadline)."""
        lang = _form_lang(view) or config.locale
        late = {LOOP_FIRST_INPUT[action].value: t(lang, "deadline.press_again")}
        checked = check_and_store(action, ack, body, view, errors_in, store, errors_with)
        await ack_in_time(ack, checked, late_errors=late)

    async def check_and_store(
        action: LoopAction,
        ack: AsyncAck,
        body: dict[str, Any],
        view: dict[str, Any],
        errors_in: Callable[[Lang], dict[str, str]],
        store: Store,
        errors_with: ErrorsWith | None,
    ) -> None:
        readable = await read_action_form(services, ack, body, view, LOOP_FIRST_INPUT[action])
        if readable is None:
            return
        meta, actor, key = readable
        answer = await submit_loop_form(
            services,
            action=action,
            meta=meta,
            actor=actor,
            key=key,
            errors=errors_in(meta.lang),
            store=store,
            errors_with=errors_with,
        )
        if answer.errors:
            await ack(response_action="errors", errors=answer.errors)
            return
        await ack()
        if answer.deliver_for is not None:
            await services.delivery.deliver_for(answer.deliver_for)

    # ------------------------------------------------------------ FS rates the handoff

    def opens(action_id: ActionId, action: LoopAction, build: BuildView) -> None:
        """A button that opens `action`'s modal, pre-filled with what was sent before."""

        async def open_it(
            ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond
        ) -> None:
            await ack()
            await open_loop_modal(action, body, client, respond, build)

        app.action(action_id)(open_it)

    async def sheet_modal(handoff: HandoffSnapshot, lang: Lang, meta: HandoffActionMeta) -> View:
        existing = (await loop_state(services.sessions, handoff.id)).sheet
        # Only the FS rep on it opens the sheet: the meeting time in their own zone.
        zone = await services.users.zone(feedback_owner(handoff), fallback=config.tz)
        return build_feedback_modal(handoff=handoff, lang=lang, tz=zone, meta=meta, existing=existing)

    async def rating_modal(handoff: HandoffSnapshot, lang: Lang, meta: HandoffActionMeta) -> View:
        existing = (await loop_state(services.sessions, handoff.id)).rating
        return build_is_rating_modal(
            handoff=handoff, lang=lang, meta=meta, anonymous=config.feedback.anonymous, existing=existing
        )

    async def outcome_modal(handoff: HandoffSnapshot, lang: Lang, meta: HandoffActionMeta) -> View:
        existing = (await loop_state(services.sessions, handoff.id)).outcome
        return build_outcome_modal(
            handoff=handoff, lang=lang, meta=meta, existing=existing, currency=config.currency
        )

    opens(ActionId.FEEDBACK_OPEN, LoopAction.RATE, sheet_modal)
    opens(ActionId.IS_RATING_OPEN, LoopAction.RATE_FS, rating_modal)
    opens(ActionId.OUTCOME_OPEN, LoopAction.OUTCOME, outcome_modal)

    @app.view(CallbackId.FEEDBACK_SHEET)
    async def submit_feedback(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        draft = parse_feedback_submission(view_values(view))

        async def store(handoff: HandoffSnapshot, actor: str, key: str) -> None:
            sheet = to_sheet(draft)
            await record_feedback(
                services.sessions,
                handoff=handoff,
                rater_id=actor,
                sheet=sheet,
                submission_key=key,
                config=config,
                now=services.clock(),
            )

        await handle_submission(
            LoopAction.RATE, ack, body, view, lambda lang: feedback_errors(draft, lang), store
        )

    # ------------------------------------------------------------ IS rates FS's follow-through

    @app.view(CallbackId.IS_RATING)
    async def submit_is_rating(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        stars, comment = parse_is_rating(view_values(view))

        async def store(handoff: HandoffSnapshot, actor: str, key: str) -> None:
            rating = to_is_rating(stars, comment)
            await record_is_rating(
                services.sessions,
                handoff_id=handoff.id,
                rater_id=actor,
                rating=rating,
                submission_key=key,
                now=services.clock(),
            )

        await handle_submission(
            LoopAction.RATE_FS, ack, body, view, lambda lang: is_rating_errors(stars, comment, lang), store
        )

    # ------------------------------------------------------------ the deal's outcome

    @app.view(CallbackId.OUTCOME)
    async def submit_outcome(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        draft = parse_outcome_submission(view_values(view))

        async def store(handoff: HandoffSnapshot, actor: str, key: str) -> None:
            outcome = to_outcome(draft)
            await record_outcome(
                services.sessions,
                handoff_id=handoff.id,
                recorded_by=actor,
                outcome=outcome,
                submission_key=key,
                now=services.clock(),
            )

        await handle_submission(
            LoopAction.OUTCOME,
            ack,
            body,
            view,
            lambda lang: outcome_errors(draft, lang),
            store,
            lambda handoff, lang: outcome_date_errors(draft, handoff, lang),
        )


def _form_lang(view: dict[str, Any]) -> Lang | None:
    """The language the form was shown in (its metadata), for an answer that cannot wait for more."""
    try:
        meta = load_meta(HandoffActionMeta, view.get("private_metadata"))
    except ValueError:
        return None
    return meta.lang if meta is not None else None
