"""Submitting the memo modal: a new toss-up (with the duplicate warning) or an edit of a pending one.

A submission is checked (who, the metadata that came back through the client, the memo's fields and
criteria), stored with its outbox rows in one transaction, and only then does the handler ack and send.
Both paths answer with field errors in the modal, never a stack trace: `Submitted.errors`.

The duplicate warning: a toss-up for a company that has an open one (not returned, not lost, in the last
90 days; names compared by `company_key`) is held back once with a warning on the company field. The
warning is remembered on the server by the modal's view id, so submitting the same modal again with the
same company confirms it; the new toss-up then records which one it may duplicate, and its notice says so.

Editing: the IS rep edits their memo until FS decides. The new version is checked like a submission, and
the notice (with its DM copy) is updated in place and FS told in its thread what changed, through the
outbox like every post. Each version is a MEMO_EDITED event; the same edit submitted twice posts once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from slack_sdk.models.views import View

from bot.assignment import routing_plan
from bot.delivery import PostKind, submission_posts
from bot.domain.agenda import NoticeRef
from bot.domain.company import company_key
from bot.domain.handoff import HandoffSnapshot, may_toss_up
from bot.domain.memo import HandoffMemo, MemoField
from bot.domain.memo_edit import DUPLICATE_WINDOW, EditRefusal, changed_fields, edit_refusal, may_see_history
from bot.edit_posts import EditPostKind
from bot.feedback_loop import learning_for
from bot.i18n import Lang, t
from bot.intake import CheckedMemo, check_memo, revision_problem
from bot.services import Services
from modals.digest_text import notice_permalink
from modals.memo import build_memo_modal, parse_memo_submission, parse_override_reason
from modals.memo_edit import (
    build_edit_refused,
    build_history_modal,
    build_history_refused,
    duplicate_warning,
)
from modals.messages import build_handoff_missing, build_not_yours
from modals.metadata import MemoModalMeta
from store.db import for_reading
from store.handoffs import (
    MemoEdit,
    NewHandoff,
    NewOutbox,
    duplicate_confirmed,
    edit_handoff,
    find_open_duplicate,
    get_handoff,
    list_memo_versions,
    submit_handoff,
    warn_of_duplicate,
)

log = logging.getLogger(__name__)

COMPANY = MemoField.COMPANY.value
WORKSPACE_URL_WAIT = 1.0  # seconds: a link in the warning is not worth missing Slack's 3-second ack

Message = tuple[str, list[Any]]


@dataclass(frozen=True)
class MemoForm:
    """A memo modal's submission as the handler read it (nothing here is trusted yet)."""

    meta: MemoModalMeta | None  # None: no metadata at all, or unreadable (see `meta_unreadable`)
    meta_unreadable: bool
    lang: Lang
    actor: str  # "" when the payload names no Slack user
    key: str | None  # the view id: what makes a double submission one
    team_id: str
    values: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Submitted:
    """What the handler acks with (field errors, or nothing: the modal closes) and then sends."""

    errors: dict[str, str] = field(default_factory=dict)
    deliver_for: int | None = None  # the toss-up whose outbox rows are due now


def _refuse(lang: Lang, message_key: str, block: str = COMPANY) -> Submitted:
    return Submitted(errors={block: t(lang, message_key)})


async def submit_memo_form(services: Services, form: MemoForm) -> Submitted:
    """Check and store a memo modal's submission: a new toss-up, or the edit its metadata names."""
    lang, config = form.lang, services.config
    if form.meta_unreadable:  # tampered (the bot always writes a valid one): it may name a revision
        log.warning("a memo submission came back with unreadable private_metadata")
        return _refuse(lang, "handler.form_unreadable")
    meta = form.meta or MemoModalMeta(lang=lang)  # none at all: nothing to revise, nowhere in particular
    if not form.actor or form.key is None:  # Slack always sends both: no toss-up without its IS rep and key
        log.warning("a memo submission came without a user or a view id")
        return _refuse(lang, "handler.incomplete_request")
    roles = config.roles
    if not may_toss_up(actor_id=form.actor, inside_sales=roles.inside_sales, managers=roles.managers):
        return _refuse(lang, "message.form.not_inside_sales")
    memo = parse_memo_submission(dict(form.values), config=config)
    if meta.edits is not None:
        return await _submit_edit(services, form, meta.edits, memo)
    return await _submit_new(services, form, meta, memo)


async def _checked(services: Services, form: MemoForm, memo: HandoffMemo) -> CheckedMemo:
    return await check_memo(
        memo,
        override_reason=parse_override_reason(dict(form.values)),
        config=services.config,
        users=services.users,
        now=services.clock(),
        lang=form.lang,
        is_user_id=form.actor,
    )


async def _submit_new(
    services: Services, form: MemoForm, meta: MemoModalMeta, memo: HandoffMemo
) -> Submitted:
    lang, config, key = form.lang, services.config, form.key
    assert key is not None
    checked = await _checked(services, form, memo)
    if checked.errors:
        return Submitted(errors=checked.errors)
    # `revises` came back through the client: it may only link to a toss-up of this IS rep's that FS
    # returned. A forged one is refused on the form rather than dropped, so the rep is not misled.
    if meta.revises is not None and await revision_problem(
        services.sessions, revises=meta.revises, is_user_id=form.actor
    ):
        log.warning("a memo named a toss-up it may not revise; refused on the form")
        return _refuse(lang, "message.form.bad_revision")

    now = services.clock()
    turn, route = await routing_plan(
        sessions=services.sessions, config=config, memo=memo, is_user_id=form.actor, now=now
    )
    data = NewHandoff(
        submission_key=key,
        team_id=form.team_id,
        is_user_id=form.actor,
        fs_user_id=memo.fs_user_id,
        channel_id=config.channels.fs,
        memo=memo,
        lang=lang,
        revision_of_id=meta.revises,
        criteria=checked.criteria,
        override_reason=checked.override_reason,
        score=checked.score,
        turn=turn,
        decide_route=route,
    )
    try:
        async with services.sessions() as session:
            # One transaction decides it all: this view stored already (double click, Slack's retry: one
            # toss-up), an open toss-up of the company not yet warned of (nothing stored), or stored.
            result = await submit_handoff(
                session=session,
                data=data,
                outbox=submission_posts(submission_key=key),
                now=now,
                duplicate_since=now - DUPLICATE_WINDOW,
            )
    except Exception:
        log.exception("could not store the toss-up of %s", data.is_user_id)
        # The modal stays open with everything the rep typed: nothing is lost, they can submit again.
        return _refuse(lang, "handler.store_failed")
    if result.open_duplicate is not None:
        duplicate, company = result.open_duplicate, company_key(memo.company)
        return Submitted(
            errors=await _warn_of(services, key=key, company=company, duplicate=duplicate, lang=lang)
        )
    stored = result.handoff
    assert stored is not None
    if result.created:  # the number `tossup repost <id>` takes, as the notice and the IS rep's DMs show it
        log.info(
            "toss-up #%d stored (IS %s, FS %s, channel %s)",
            stored.id,
            stored.is_user_id,
            stored.fs_user_id or "-",
            stored.channel_id,
        )
    return Submitted(deliver_for=stored.id)


async def _duplicate_check(
    services: Services, *, key: str, memo: HandoffMemo, lang: Lang, exclude_id: int | None
) -> tuple[int | None, dict[str, str]]:
    """`_answer_duplicate` for the open toss-up of the memo's company other than `exclude_id`, if any."""
    company = company_key(memo.company)
    async with for_reading(services.sessions)() as session:
        duplicate = await find_open_duplicate(
            session=session, key=company, since=services.clock() - DUPLICATE_WINDOW, exclude_id=exclude_id
        )
    return await _answer_duplicate(services, key=key, company=company, duplicate=duplicate, lang=lang)


async def _answer_duplicate(
    services: Services, *, key: str, company: str, duplicate: HandoffSnapshot | None, lang: Lang
) -> tuple[int | None, dict[str, str]]:
    """(the open toss-up this one confirmedly duplicates, or None; the warning to show, or {}).

    The first submission naming a company with an open toss-up is warned (and the warning remembered by
    view id); the same modal submitted again with the same company is the confirmation.
    """
    if duplicate is None:
        return None, {}
    async with services.sessions() as session:
        if await duplicate_confirmed(session=session, submission_key=key, key=company):
            return duplicate.id, {}
    return None, await _warn_of(services, key=key, company=company, duplicate=duplicate, lang=lang)


async def _warn_of(
    services: Services, *, key: str, company: str, duplicate: HandoffSnapshot, lang: Lang
) -> dict[str, str]:
    """Remember that modal `key` was warned of `duplicate` (submitting it again confirms); the warning."""
    async with services.sessions() as session:
        await warn_of_duplicate(
            session=session,
            submission_key=key,
            key=company,
            duplicate_of_id=duplicate.id,
            now=services.clock(),
        )
    permalink = await _permalink(services, duplicate)
    return {COMPANY: duplicate_warning(duplicate=duplicate, lang=lang, permalink=permalink)}


async def _permalink(services: Services, handoff: HandoffSnapshot) -> str | None:
    """The notice's link when it was posted and the workspace's URL is known quickly (auth.test, cached)."""
    if not handoff.notice_ts:
        return None
    try:
        workspace = await asyncio.wait_for(services.delivery.workspace_url(), WORKSPACE_URL_WAIT)
    except TimeoutError:
        return None
    return notice_permalink(workspace, NoticeRef(channel_id=handoff.notice_channel_id, ts=handoff.notice_ts))


# ---------------------------------------------------------------- editing a pending memo


def edit_posts(*, handoff_id: int, edit_key: str, payload: dict[str, Any]) -> list[NewOutbox]:
    """What an edit posts: the notices updated in place (the "edited" mark), the diff in the thread.
    Keyed by the edit modal's view id: the same edit twice posts once."""
    refresh = PostKind.NOTICE_REFRESH
    return [
        NewOutbox(kind=refresh, dedupe_key=f"{refresh}:{handoff_id}:edit:{edit_key}"),
        NewOutbox(
            kind=EditPostKind.DIFF, dedupe_key=f"{EditPostKind.DIFF}:{handoff_id}:{edit_key}", payload=payload
        ),
    ]


async def _submit_edit(services: Services, form: MemoForm, handoff_id: int, memo: HandoffMemo) -> Submitted:
    lang, key = form.lang, form.key
    assert key is not None
    handoff = await _load_handoff(services, handoff_id)
    refusal = edit_refusal(handoff, actor_id=form.actor)
    if refusal is not None or handoff is None:
        log.info("an edit of toss-up %s was refused: %s", handoff_id, refusal)
        return _refuse(lang, f"memo_edit.refused.{refusal}")
    if memo.fs_user_id != handoff.memo.fs_user_id:  # routing was decided at submission
        return _refuse(lang, "memo_edit.fs_rep_fixed", MemoField.FS_USER_ID.value)
    checked = await _checked(services, form, memo)
    if checked.errors:
        return Submitted(errors=checked.errors)
    changed = changed_fields(handoff.memo, memo)
    if not changed:  # nothing to tell FS (also: the same edit again, once stored)
        return Submitted()
    duplicate_of = handoff.duplicate_of_id
    if company_key(memo.company) != company_key(handoff.memo.company):
        duplicate_of, warning = await _duplicate_check(
            services, key=key, memo=memo, lang=lang, exclude_id=handoff.id
        )
        if warning:
            return Submitted(errors=warning)
    version = handoff.edit_count + 2  # version 1 is the memo as submitted
    before, after = handoff.memo.model_dump(mode="json"), memo.model_dump(mode="json")
    detail = {"version": version, "edit_key": key, "changed": changed, "before": before, "after": after}
    detail |= {"criteria_passed": checked.criteria.passed, "score": checked.score.total}
    payload = {"editor_id": form.actor, "version": version, "before": before, "after": after}
    edit = MemoEdit(
        memo=memo,
        criteria=checked.criteria,
        score=checked.score,
        override_reason=checked.override_reason,
        edits_before=handoff.edit_count,
        detail=detail,
        duplicate_of_id=duplicate_of,
    )
    async with services.sessions() as session:
        result = await edit_handoff(
            session=session,
            handoff_id=handoff.id,
            actor_id=form.actor,
            edit=edit,
            outbox=edit_posts(handoff_id=handoff.id, edit_key=key, payload=payload),
            now=services.clock(),
        )
    if result.outcome == "refused":  # decided, or edited elsewhere, since it was read
        why = edit_refusal(result.handoff, actor_id=form.actor)
        return _refuse(lang, f"memo_edit.refused.{why or 'conflict'}")
    return Submitted(deliver_for=handoff.id)


class MemoFormFor(Protocol):
    """`revise_form` or `edit_form`: the memo modal filled in for a toss-up, or why not."""

    def __call__(
        self, services: Services, *, handoff_id: int | None, actor: str, lang: Lang, channel_id: str | None
    ) -> Awaitable[View | Message]: ...


async def _load_handoff(services: Services, handoff_id: int | None) -> HandoffSnapshot | None:
    async with services.sessions() as session:
        return await get_handoff(session=session, handoff_id=handoff_id) if handoff_id else None


async def memo_modal(
    services: Services,
    *,
    actor: str,
    lang: Lang,
    meta: MemoModalMeta,
    prefill: HandoffMemo | None = None,
    prefill_company: str | None = None,
    override_reason: str | None = None,
) -> View:
    """The memo modal as IS rep `actor` sees it (with what FS's feedback taught them); `meta` says what its
    submission does, `prefill` / `prefill_company` / `override_reason` what it is filled in with."""
    config = services.config
    return build_memo_modal(
        lang=lang,
        config=config,
        meta=meta,
        prefill_company=prefill_company,
        prefill=prefill,
        now=services.clock(),
        learning=await learning_for(services.sessions, is_user_id=actor, config=config),
        override_reason=override_reason,
    )


async def revise_form(
    services: Services, *, handoff_id: int | None, actor: str, lang: Lang, channel_id: str | None
) -> View | Message:
    """The memo modal filled with a returned toss-up's memo, to fix and toss up anew (the Revise button
    in the IS rep's DM about a return); or why not (gone, or another rep's)."""
    handoff = await _load_handoff(services, handoff_id)
    if handoff is None:
        return build_handoff_missing(lang=lang)
    if handoff.is_user_id != actor:
        return build_not_yours(lang=lang, is_user_id=handoff.is_user_id)
    meta = MemoModalMeta(channel_id=channel_id, lang=lang, revises=handoff.id)
    return await memo_modal(services, actor=actor, lang=lang, meta=meta, prefill=handoff.memo)


async def edit_form(
    services: Services, *, handoff_id: int | None, actor: str, lang: Lang, channel_id: str | None
) -> View | Message:
    """The memo modal filled with the toss-up's memo, to edit; or why it cannot be edited."""
    handoff = await _load_handoff(services, handoff_id)
    refusal = edit_refusal(handoff, actor_id=actor)
    if refusal is not None or handoff is None:
        return build_edit_refused(refusal=refusal or EditRefusal.MISSING, lang=lang)
    meta = MemoModalMeta(channel_id=channel_id, lang=lang, edits=handoff.id)
    return await memo_modal(
        services,
        actor=actor,
        lang=lang,
        meta=meta,
        prefill=handoff.memo,
        override_reason=handoff.override_reason,
    )


async def history_form(
    services: Services, *, handoff_id: int | None, actor: str, lang: Lang
) -> View | Message:
    """Every version of the toss-up's memo; or why this person may not see it (after acceptance the
    history is FS's and the managers')."""
    async with services.sessions() as session:
        handoff = await get_handoff(session=session, handoff_id=handoff_id) if handoff_id else None
        versions = await list_memo_versions(session=session, handoff_id=handoff.id) if handoff else []
    if handoff is None:
        return build_edit_refused(refusal=EditRefusal.MISSING, lang=lang)
    roles = services.config.roles
    if not may_see_history(handoff, actor_id=actor, fs_members=roles.field_sales, managers=roles.managers):
        return build_history_refused(lang=lang)
    return build_history_modal(
        handoff=handoff,
        versions=[(v.actor_user_id, v.at, v.detail) for v in versions],
        lang=lang,
        tz=await services.users.zone(actor, fallback=services.config.tz),  # the reader's own zone
        config=services.config,
    )
