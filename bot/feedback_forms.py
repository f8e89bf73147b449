"""A feedback-loop form submitted (FS's sheet, IS's rating of FS, the deal's outcome): after its fields,
whether the submitter may still act on the toss-up (it may have changed since the modal opened), then
stored with its outbox rows. The handler answers the form with what this returns and, when something was
stored, asks the delivery to post what was queued.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from bot.domain.feedback_access import LoopAction, loop_refusal
from bot.domain.handoff import HandoffSnapshot, Refusal
from bot.i18n import Lang, t
from bot.services import Services
from modals.feedback import LOOP_FIRST_INPUT, loop_refusal_form_error
from modals.metadata import HandoffActionMeta
from store.handoffs import get_handoff

log = logging.getLogger(__name__)

# Stores a checked submission: (the toss-up, who sent it, the submission's view id as its key).
Store = Callable[[HandoffSnapshot, str, str], Awaitable[None]]
ErrorsWith = Callable[[HandoffSnapshot, Lang], dict[str, str]]  # a form's errors that need its toss-up


@dataclass(frozen=True)
class LoopFormAnswer:
    """Field errors to show in the form, or the toss-up whose posts were queued (`deliver_for`)."""

    errors: dict[str, str] = field(default_factory=dict)
    deliver_for: int | None = None


async def submit_loop_form(
    services: Services,
    *,
    action: LoopAction,
    meta: HandoffActionMeta,
    actor: str,
    key: str,
    errors: dict[str, str],
    store: Store,
    errors_with: ErrorsWith | None = None,
) -> LoopFormAnswer:
    """Check and store one loop form (`errors`: its fields' own, found by the parser's checks;
    `errors_with`: those that need the toss-up, once the submitter may act on it)."""
    if errors:
        return LoopFormAnswer(errors=errors)
    first_input = LOOP_FIRST_INPUT[action].value
    async with services.sessions() as session:
        handoff = await get_handoff(session=session, handoff_id=meta.handoff_id)
    problem = loop_refusal(action, handoff, actor_id=actor, managers=services.config.roles.managers)
    if problem is not None or handoff is None:
        error = loop_refusal_form_error(action, problem or Refusal.MISSING, handoff=handoff, lang=meta.lang)
        return LoopFormAnswer(errors={first_input: error})
    if errors_with is not None and (against := errors_with(handoff, meta.lang)):
        return LoopFormAnswer(errors=against)
    try:
        await store(handoff, actor, key)
    except Exception:
        # The modal stays open with everything typed: nothing is lost, the rep can send again.
        log.exception("could not store a %s submission", action.value)
        return LoopFormAnswer(errors={first_input: t(meta.lang, "handler.store_failed")})
    return LoopFormAnswer(deliver_for=handoff.id)
