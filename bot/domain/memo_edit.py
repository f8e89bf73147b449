"""Editing a memo after submitting it: what changed, who may edit, who may read the history.

The IS rep edits their own toss-up while FS has not decided; once FS accepts (or returns) it the memo is
frozen. Every version is kept, and after acceptance the history belongs to FS and managers (it shows
what IS first wrote, which FS's feedback and the KPIs judge).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import timedelta
from enum import StrEnum

from bot.domain.handoff import HandoffSnapshot, HandoffStatus
from bot.domain.memo import HandoffMemo, MemoField

# How far back an open toss-up for the same company counts as a possible duplicate.
DUPLICATE_WINDOW = timedelta(days=90)


class EditRefusal(StrEnum):
    """Why someone cannot edit a toss-up's memo (catalog: memo_edit.refused.<value>)."""

    MISSING = "missing"
    NOT_YOURS = "not_yours"  # only the IS rep who tossed it up edits it
    FROZEN = "frozen"  # FS decided: the memo is what FS accepted (or returned)


def edit_refusal(handoff: HandoffSnapshot | None, *, actor_id: str) -> EditRefusal | None:
    """Why `actor_id` cannot edit `handoff` now, or None when they can."""
    if handoff is None:
        return EditRefusal.MISSING
    if handoff.is_user_id != actor_id:
        return EditRefusal.NOT_YOURS
    if handoff.status is not HandoffStatus.PENDING:
        return EditRefusal.FROZEN
    return None


def may_see_history(
    handoff: HandoffSnapshot,
    *,
    actor_id: str,
    fs_members: Collection[str] = (),
    managers: Collection[str] = (),
) -> bool:
    """Managers and FS always; the IS rep only while the toss-up is pending (then it is their draft).

    FS is the assigned rep, whoever decided, or any FS member; with no FS members configured (roles are
    optional) anyone but the IS rep.
    """
    if actor_id in managers or actor_id in {handoff.fs_user_id, handoff.decided_by}:
        return True
    if actor_id == handoff.is_user_id:
        return handoff.status is HandoffStatus.PENDING
    return actor_id in fs_members if fs_members else True


def changed_fields(before: HandoffMemo, after: HandoffMemo) -> list[str]:
    """The memo fields whose answer differs (MemoField values, then custom select keys), in template order."""
    fields = [field.value for field in MemoField if before.value(field) != after.value(field)]
    custom_keys = sorted(set(before.custom) | set(after.custom))
    return fields + [key for key in custom_keys if before.custom.get(key) != after.custom.get(key)]
