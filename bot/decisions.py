"""FS's answers to a toss-up notice: accept it, return it to IS with a reason, or ask IS a question.
Each is checked on the server (who may decide, whether it is still undecided), stored with its outbox
rows in one transaction, and reported back as a refusal to show or nothing; the handler then acks and
asks the delivery to post what was queued.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.delivery import decision_posts, question_posts
from bot.domain.handoff import EventKind, HandoffSnapshot, Refusal, ReturnReason, decision_refusal
from bot.services import Services
from store.handoffs import HandoffNotFoundError, decide_handoff, record_event


@dataclass(frozen=True)
class Refused:
    """Why the decision was not taken, with the toss-up as it stands (None when it is gone)."""

    refusal: Refusal
    handoff: HandoffSnapshot | None


def may_decide(services: Services, handoff: HandoffSnapshot | None, actor: str) -> Refused | None:
    """Whether `actor` may accept or return `handoff` now (an FS member or a manager, not its own IS rep,
    while it is undecided)."""
    roles = services.config.roles
    refusal = decision_refusal(handoff, actor_id=actor, fs_members=roles.field_sales, managers=roles.managers)
    if refusal is not None or handoff is None:
        return Refused(refusal or Refusal.MISSING, handoff)
    return None


async def decide(
    services: Services,
    handoff: HandoffSnapshot | None,
    *,
    actor: str,
    decision: EventKind,
    reason: ReturnReason | None = None,
    note: str | None = None,
) -> Refused | None:
    """Check, then store the decision with its messages queued; a decision that lost a race (another FS
    rep decided first) comes back refused, with the toss-up as the winner left it."""
    refused = may_decide(services, handoff, actor)
    if refused is not None or handoff is None:
        return refused
    async with services.sessions() as session:
        result = await decide_handoff(
            session=session,
            handoff_id=handoff.id,
            actor_id=actor,
            decision=decision,
            now=services.clock(),
            reason=reason,
            note=note,
            outbox=decision_posts(handoff_id=handoff.id, decision=decision.value),
        )
    if result.outcome == "not_found":
        return Refused(Refusal.MISSING, None)
    if result.outcome == "already_decided":
        return Refused(Refusal.ALREADY_DECIDED, result.handoff)
    return None


async def ask_question(services: Services, *, handoff_id: int, asker: str, key: str, question: str) -> bool:
    """Store FS's question to the IS rep with its DM queued; keyed by the modal's view id, so the same
    submission twice asks once. False when the toss-up is gone."""
    try:
        async with services.sessions() as session:
            await record_event(
                session=session,
                handoff_id=handoff_id,
                kind=EventKind.QUESTION_ASKED,
                actor_id=asker,
                now=services.clock(),
                detail={"question": question},
                outbox=question_posts(
                    handoff_id=handoff_id, question_key=key, asker_id=asker, question=question
                ),
            )
    except HandoffNotFoundError:
        return False
    return True
