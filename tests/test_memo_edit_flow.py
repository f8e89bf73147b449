"""Issue 12: the duplicate warning and editing a memo after submitting it, over the wire.

A second toss-up for the same company (another spelling) is held back once with a warning on the company
field and confirmed by submitting the same modal again; its notice says "possible duplicate". The IS rep
edits a pending memo: the notices are updated in place with an "edited" mark, FS is told in the thread
what changed, every version is kept; after acceptance the memo is frozen and its history is FS's.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select

from bot.config import AppConfig
from bot.domain.handoff import EventKind, HandoffStatus
from bot.domain.memo import MemoField, Temperature
from bot.i18n import Lang, t
from modals.ids import ActionId, BlockId, CallbackId
from modals.metadata import MemoModalMeta, dump_meta
from modals.text import enum_label
from store.handoffs import get_handoff, list_events
from store.models import DuplicateWarning, Handoff, OutboxMessage
from tests.conftest import FS_CHANNEL, FS_USER, IS_USER, MANAGER, OTHER_USER, Harness, team_config
from tests.db_fixtures import BACKENDS
from tests.memo_state import memo_state
from tests.slack_driver import static_state, text_state
from tests.test_tossup_flow import (
    answers,
    block_text,
    click,
    confirmation_recorded,
    count,
    eventually,
    submit_memo,
)

JA, EN = Lang("ja"), Lang("en")
IS_DM = f"D{IS_USER}"
WITH_MANAGER = team_config(roles={"managers": [MANAGER]})


async def handoffs(h: Harness) -> list:
    async with h.bot.services.sessions() as session:
        ids = (await session.scalars(select(Handoff.id).order_by(Handoff.id))).all()
        return [await get_handoff(session=session, handoff_id=i) for i in ids]


def channel_notices(h: Harness) -> list:
    return [
        c
        for c in h.slack.calls_to("chat.postMessage")
        if c.args["channel"] == FS_CHANNEL and "thread_ts" not in c.args
    ]


def thread_replies(h: Harness, ts: str) -> list:
    return [c for c in h.slack.calls_to("chat.postMessage") if c.args.get("thread_ts") == ts]


async def first_toss_up(h: Harness, **changes: Any):
    response = await submit_memo(h, **changes)
    assert response.status == 200 and not (response.json() or {}).get("errors"), response.text
    await h.slack.wait_for("chat.postMessage", where=lambda c: c.args["channel"] == IS_DM)
    handoff = await confirmation_recorded(h)
    assert handoff.notice_ts is not None
    return handoff


# ---------------------------------------------------------------- the duplicate warning


@pytest.mark.parametrize("backend", BACKENDS)
async def test_a_duplicate_in_another_spelling_is_warned_then_confirmed_and_flagged(harness: Harness) -> None:
    h = harness
    first = await first_toss_up(h, company="株式会社Acme")

    warned = await submit_memo(h, view_id="VDUPLICATE", company="ＡＣＭＥ Inc.")
    errors = (warned.json() or {}).get("errors") or {}
    assert set(errors) == {MemoField.COMPANY.value}
    assert f"#{first.id}" in errors["company"]
    assert f"archives/{FS_CHANNEL}/p{first.notice_ts.replace('.', '')}" in errors["company"]  # its link
    assert len(await handoffs(h)) == 1  # nothing stored, nothing posted
    assert len(channel_notices(h)) == 1

    h.clock.advance(seconds=5)  # the rep reads the warning, then submits again
    confirmed = await submit_memo(h, view_id="VDUPLICATE", company="ＡＣＭＥ Inc.")
    assert confirmed.status == 200 and not (confirmed.json() or {}).get("errors")
    await eventually(lambda: _notice_count(h, 2))
    second = (await handoffs(h))[1]
    assert second.duplicate_of_id == first.id
    notice = block_text(channel_notices(h)[1].args["blocks"])
    assert t(JA, "memo_edit.notice.duplicate", number=first.id) in notice
    assert await count(h, DuplicateWarning) == 0  # answered, forgotten
    async with h.bot.services.sessions() as session:
        keys = (await session.scalars(select(Handoff.company_key).order_by(Handoff.id))).all()
    assert keys == ["acme", "acme"]


async def test_the_warned_modal_sent_twice_in_one_click_is_warned_not_stored(harness: Harness) -> None:
    """A double click's second request, right behind the one that was warned, is not the rep confirming:
    warned again, nothing stored; the rep's real second press (after reading) confirms."""
    h = harness
    await first_toss_up(h, company="株式会社Acme")
    first = await submit_memo(h, view_id="VDOUBLE", company="ＡＣＭＥ Inc.")
    second = await submit_memo(h, view_id="VDOUBLE", company="ＡＣＭＥ Inc.")  # the same instant
    for answer in (first, second):
        assert set((answer.json() or {}).get("errors") or {}) == {MemoField.COMPANY.value}
    assert len(await handoffs(h)) == 1
    h.clock.advance(seconds=5)
    confirmed = await submit_memo(h, view_id="VDOUBLE", company="ＡＣＭＥ Inc.")
    assert confirmed.status == 200 and not (confirmed.json() or {}).get("errors")
    assert len(await handoffs(h)) == 2


async def _notice_count(h: Harness, n: int) -> bool:
    return len(channel_notices(h)) >= n


async def test_a_returned_toss_up_or_another_company_warns_nobody(harness: Harness) -> None:
    h = harness
    first = await first_toss_up(h, company="Acme Co., Ltd.")
    other = await submit_memo(h, view_id="VOTHERCOMPANY", company="Globex Corp")
    assert not (other.json() or {}).get("errors")  # another company: no warning
    await click(h, ActionId.HANDOFF_RETURN, first.id, user=FS_USER, ts=first.notice_ts)
    return_modal = (await h.slack.wait_for("views.open"))[-1].args["view"]
    returned = await h.driver.view_submission(
        CallbackId.RETURN_REASON,
        {
            BlockId.RETURN_REASON: {ActionId.RETURN_REASON: static_state("info_missing")},
            BlockId.RETURN_NOTE: {ActionId.RETURN_NOTE: text_state("決裁者を確認してください")},
        },
        user_id=FS_USER,
        private_metadata=return_modal["private_metadata"],
    )
    assert not (returned.json() or {}).get("errors"), returned.text
    await eventually(lambda: _status_is(h, first.id, HandoffStatus.RETURNED))
    again = await submit_memo(h, view_id="VAFTERRETURN", company="(株)ACME")
    assert not (again.json() or {}).get("errors")  # the only one was returned: not open
    assert await count(h, Handoff) == 3


async def _status_is(h: Harness, handoff_id: int, status: HandoffStatus) -> bool:
    async with h.bot.services.sessions() as session:
        handoff = await get_handoff(session=session, handoff_id=handoff_id)
    return handoff is not None and handoff.status is status


# ---------------------------------------------------------------- editing


async def open_edit(h: Harness, handoff_id: int, *, user: str = IS_USER) -> dict:
    before = len(h.slack.calls_to("views.open"))
    response = await click(h, ActionId.HANDOFF_EDIT, handoff_id, user=user, channel=IS_DM)
    assert response.status == 200
    return (await h.slack.wait_for("views.open", count=before + 1))[-1].args["view"]


async def submit_edit(h: Harness, modal_meta: str, view_id: str, *, user: str = IS_USER, **changes: Any):
    return await h.driver.view_submission(
        CallbackId.HANDOFF_MEMO,
        memo_state(answers(h, **changes)),
        user_id=user,
        view_id=view_id,
        private_metadata=modal_meta,
    )


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("config", [WITH_MANAGER])
async def test_an_edit_updates_the_notices_tells_fs_in_the_thread_and_keeps_every_version(
    harness: Harness, config: AppConfig
) -> None:
    h = harness
    handoff = await first_toss_up(h)
    confirmation = h.slack.calls_to("chat.postMessage")[-1]
    assert ActionId.HANDOFF_EDIT.value in block_text(confirmation.args["blocks"])  # Edit on the DM

    await h.driver.event({"type": "app_home_opened", "user": IS_USER, "channel": IS_DM, "tab": "home"})
    (home,) = await h.slack.wait_for("views.publish")
    assert f'"value": "{handoff.id}"' in block_text(home.args["view"]["blocks"])  # Edit on App Home
    assert ActionId.HANDOFF_EDIT.value in block_text(home.args["view"]["blocks"])

    modal = await open_edit(h, handoff.id)
    inputs = {b["block_id"]: b for b in modal["blocks"] if b["type"] == "input"}
    assert inputs["need"]["element"]["initial_value"] == handoff.memo.need  # opens filled
    assert modal["submit"]["text"] == t(JA, "memo_edit.modal.submit")

    updates_before = len(h.slack.calls_to("chat.update"))
    new_need = "週10時間の集計を <自動化> & 可視化したい"
    response = await submit_edit(h, modal["private_metadata"], "VEDITONE", need=new_need, temperature="warm")
    assert response.status == 200 and not (response.json() or {}).get("errors"), response.text

    (reply,) = await h.slack.wait_for(
        "chat.postMessage", where=lambda c: c.args.get("thread_ts") == handoff.notice_ts
    )
    diff = block_text(reply.args["blocks"])
    assert "&lt;自動化&gt; &amp; 可視化" in diff and "<自動化>" not in diff  # user text escaped
    assert handoff.memo.need in diff and "→" in diff  # before → after
    hot, warm = (enum_label(JA, Temperature(v)) for v in ("hot", "warm"))
    assert f"{hot} → {warm}" in diff
    # the notice, its DM copy and the IS rep's confirmation (its score)
    updates = await h.slack.wait_for("chat.update", count=updates_before + 3)
    edited = updates[updates_before:]
    assert {u.args["ts"] for u in edited} == {handoff.notice_ts, handoff.dm_ts, handoff.is_dm_ts}
    channel_update = next(u for u in edited if u.args["ts"] == handoff.notice_ts)
    assert "✏️" in block_text(channel_update.args["blocks"]) and "可視化" in block_text(
        channel_update.args["blocks"]
    )

    async with h.bot.services.sessions() as session:
        stored = await get_handoff(session=session, handoff_id=handoff.id)
        events = await list_events(session=session, handoff_id=handoff.id)
    assert stored is not None and stored.memo.need == new_need and stored.edit_count == 1
    assert stored.score is not None  # re-evaluated with the new answers
    (edit_event,) = [e for e in events if e.kind is EventKind.MEMO_EDITED]
    assert edit_event.actor_user_id == IS_USER
    assert edit_event.detail["before"]["need"] == handoff.memo.need
    assert edit_event.detail["after"]["need"] == new_need
    assert edit_event.detail["changed"] == ["need", "temperature"]

    # The same edit submitted again (a double click, a Slack retry): nothing more is stored or posted.
    again = await submit_edit(h, modal["private_metadata"], "VEDITONE", need=new_need, temperature="warm")
    assert again.status == 200 and not (again.json() or {}).get("errors")
    await h.slack.assert_no_more("chat.update", count=updates_before + 3)
    assert len(thread_replies(h, handoff.notice_ts)) == 1
    async with h.bot.services.sessions() as session:
        events = await list_events(session=session, handoff_id=handoff.id)
    assert [e.kind for e in events].count(EventKind.MEMO_EDITED) == 1

    # A second edit: version 3; the history shows both edits to FS.
    modal = await open_edit(h, handoff.id)
    await submit_edit(
        h, modal["private_metadata"], "VEDITTWO", need=new_need, temperature="warm", campaign="冬"
    )
    await h.slack.wait_for(
        "chat.postMessage", where=lambda c: c.args.get("thread_ts") == handoff.notice_ts, count=2
    )
    opened = len(h.slack.calls_to("views.push"))
    await h.driver.block_action(
        ActionId.HANDOFF_HISTORY, value=str(handoff.id), user_id=FS_USER, view={"type": "modal", "blocks": []}
    )
    (history,) = (await h.slack.wait_for("views.push", count=opened + 1))[opened:]
    shown = block_text(history.args["view"]["blocks"])
    assert "*Version 2*" in shown and "*Version 3*" in shown  # FS reads English
    assert "可視化" in shown and "冬" in shown


@pytest.mark.parametrize("backend", BACKENDS)
async def test_an_edit_is_refused_to_another_rep_and_after_acceptance(harness: Harness) -> None:
    h = harness
    handoff = await first_toss_up(h)
    modal = await open_edit(h, handoff.id)

    # Another rep: no form, and a forged submission naming the toss-up is refused on the form.
    await click(h, ActionId.HANDOFF_EDIT, handoff.id, user=OTHER_USER, channel=IS_DM)
    (private,) = await h.slack.wait_for("response_url")
    assert private.args["text"] == t(EN, "memo_edit.refused.not_yours")
    forged = dump_meta(MemoModalMeta(lang=EN, edits=handoff.id))
    refused = await submit_edit(h, forged, "VFORGEDEDIT", user=OTHER_USER, need="乗っ取り")
    assert (refused.json() or {}).get("errors") == {"company": t(EN, "memo_edit.refused.not_yours")}

    # FS accepts: the memo is frozen, even for a form opened before.
    await click(h, ActionId.HANDOFF_ACCEPT, handoff.id, user=FS_USER, ts=handoff.notice_ts)
    await eventually(lambda: _status_is(h, handoff.id, HandoffStatus.ACCEPTED))
    late = await submit_edit(h, modal["private_metadata"], "VLATEEDIT", need="遅すぎた変更")
    assert (late.json() or {}).get("errors") == {"company": t(JA, "memo_edit.refused.frozen")}
    await click(h, ActionId.HANDOFF_EDIT, handoff.id, user=IS_USER, channel=IS_DM)
    frozen = (await h.slack.wait_for("response_url", count=2))[-1]
    assert frozen.args["text"] == t(JA, "memo_edit.refused.frozen")

    async with h.bot.services.sessions() as session:
        stored = await get_handoff(session=session, handoff_id=handoff.id)
        events = await list_events(session=session, handoff_id=handoff.id)
    assert stored is not None and stored.memo == handoff.memo and stored.edit_count == 0
    assert EventKind.MEMO_EDITED not in [e.kind for e in events]
    assert "memo_edit_diff" not in await _outbox_kinds(h)


@pytest.mark.parametrize("config", [WITH_MANAGER])
async def test_after_acceptance_only_fs_and_managers_see_the_history(
    harness: Harness, config: AppConfig
) -> None:
    h = harness
    handoff = await first_toss_up(h)
    modal = await open_edit(h, handoff.id)
    too_short = await submit_edit(h, modal["private_metadata"], "VEDITHIST", need="予算化の前倒し")
    assert "need" in ((too_short.json() or {}).get("errors") or {})  # the criteria are checked again
    edited = await submit_edit(
        h, modal["private_metadata"], "VEDITHIST", need="予算化を前倒しして来期の導入を目指したい"
    )
    assert not (edited.json() or {}).get("errors"), edited.text
    await h.slack.wait_for("chat.postMessage", where=lambda c: c.args.get("thread_ts") == handoff.notice_ts)
    await click(h, ActionId.HANDOFF_ACCEPT, handoff.id, user=FS_USER, ts=handoff.notice_ts)
    await eventually(lambda: _status_is(h, handoff.id, HandoffStatus.ACCEPTED))

    for reader, channel, offered in ((IS_USER, IS_DM, False), (FS_USER, FS_CHANNEL, True)):
        # View memo offers the History button only to whom it would open for
        before = len(h.slack.calls_to("views.open"))
        await click(h, ActionId.HANDOFF_VIEW, handoff.id, user=reader, channel=channel)
        view = (await h.slack.wait_for("views.open", count=before + 1))[-1].args["view"]
        assert view["callback_id"] == CallbackId.MEMO_VIEW
        assert (ActionId.HANDOFF_HISTORY.value in json.dumps(view)) is offered, reader
    await click(h, ActionId.HANDOFF_HISTORY, handoff.id, user=IS_USER, channel=IS_DM)
    (refused,) = await h.slack.wait_for("response_url")
    assert refused.args["text"] == t(JA, "memo_edit.history.not_allowed")
    for reader in (MANAGER, FS_USER):
        before = len(h.slack.calls_to("views.open"))
        await click(h, ActionId.HANDOFF_HISTORY, handoff.id, user=reader)
        view = (await h.slack.wait_for("views.open", count=before + 1))[-1].args["view"]
        assert view["callback_id"] == CallbackId.MEMO_HISTORY and "予算化を前倒しして" in block_text(
            view["blocks"]
        )


async def _outbox_kinds(h: Harness) -> list[str]:
    async with h.bot.services.sessions() as session:
        return list((await session.scalars(select(OutboxMessage.kind))).all())
