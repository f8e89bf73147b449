"""The foundation's round trip over the wire: /tossup → memo modal → stored → notice → accept / return."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select, update

from bot.config import AppConfig
from bot.delivery import WORKSPACE_URL_RETRY, Delivery, queue_notice_repost
from bot.domain.handoff import EventKind, HandoffStatus
from bot.domain.memo import REQUIRED_FIELDS, MemoField
from bot.i18n import Lang, t
from modals.ids import ActionId, BlockId, CallbackId
from modals.metadata import HandoffActionMeta, MemoModalMeta, dump_meta
from store.handoffs import get_handoff, list_events
from store.models import Handoff, OutboxMessage
from tests.conftest import (
    FS_CHANNEL,
    FS_USER,
    IS_USER,
    MANAGER,
    OTHER_USER,
    SIGNING_SECRET,
    Harness,
    team_config,
)
from tests.db_fixtures import BACKENDS
from tests.memo_state import full_memo_answers, memo_state
from tests.slack_driver import sign, static_state, text_state


def answers(h: Harness, **changes: Any) -> dict[MemoField, Any]:
    base = full_memo_answers(
        meeting_at=h.clock().replace(microsecond=0) + timedelta(days=3),
        first_contact_on=(h.clock() - timedelta(days=20)).date(),
        fs_user_id=FS_USER,
    )
    base.update({MemoField(k): v for k, v in changes.items()})
    return base


def memo_meta(lang: str = "ja") -> str:
    return dump_meta(MemoModalMeta.model_validate({"channel_id": "C0GENERAL", "lang": lang}))


async def submit_memo(h: Harness, view_id: str | None = None, **changes: Any):
    return await h.driver.view_submission(
        CallbackId.HANDOFF_MEMO,
        memo_state(answers(h, **changes)),
        user_id=IS_USER,
        view_id=view_id,
        private_metadata=memo_meta(),
    )


async def eventually(condition: Callable[[], Awaitable[bool]], within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while not await condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


async def count(h: Harness, model: type) -> int:
    async with h.bot.services.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def only_handoff(h: Harness):
    async with h.bot.services.sessions() as session:
        ids = (await session.scalars(select(Handoff.id))).all()
        assert len(ids) == 1, ids
        return await get_handoff(session=session, handoff_id=ids[0])


async def tossed_up(h: Harness, **changes: Any):
    """A submitted toss-up whose notice reached the FS channel."""
    response = await submit_memo(h, **changes)
    assert response.status == 200, response.text
    # The IS rep's confirmation goes out last, once the notice (and its DM copy) are recorded.
    await h.slack.wait_for("chat.postMessage", where=lambda c: c.args["channel"] == f"D{IS_USER}")
    handoff = await confirmation_recorded(h)
    assert handoff.notice_ts is not None
    # The send that followed the submission ends with a last look for more: a row a test queues next
    # (an SLA reminder, say) would otherwise be taken by that look, before the test's next step.
    await h.bot.delivery.settled()
    return handoff


async def confirmation_recorded(h: Harness):
    """The only toss-up once where the IS rep's confirmation went is recorded (just after it is posted;
    a decision updates it in place)."""
    for _ in range(200):
        handoff = await only_handoff(h)
        if handoff.is_dm_ts is not None:
            return handoff
        await asyncio.sleep(0.01)
    raise AssertionError("the IS rep's confirmation was never recorded")


def notice_posts(h: Harness) -> list:
    return [
        c
        for c in h.slack.calls_to("chat.postMessage")
        if c.args["channel"] == FS_CHANNEL and "thread_ts" not in c.args
    ]


def block_text(blocks: list[dict]) -> str:
    return json.dumps(blocks, ensure_ascii=False)


# ---------------------------------------------------------------- the memo modal


async def test_slash_opens_memo_modal_with_every_field_and_prefill(harness: Harness) -> None:
    response = await harness.driver.slash("Acme Corp")
    assert response.status == 200
    (call,) = await harness.slack.wait_for("views.open")
    view = call.args["view"]
    assert view["callback_id"] == CallbackId.HANDOFF_MEMO
    inputs = {b["block_id"]: b for b in view["blocks"] if b["type"] == "input"}
    assert set(inputs) == {f.value for f in MemoField}
    assert inputs["company"]["element"]["initial_value"] == "Acme Corp"
    for field in MemoField:
        assert inputs[field.value].get("optional", False) is (field not in REQUIRED_FIELDS), field
    element_types = {f: inputs[f.value]["element"]["type"] for f in MemoField}
    assert element_types[MemoField.MEETING_AT] == "datetimepicker"
    assert element_types[MemoField.FIRST_CONTACT_ON] == "datepicker"
    assert element_types[MemoField.FS_USER_ID] == "users_select"
    assert element_types[MemoField.CONTACT_EMAIL] == "email_text_input"
    assert element_types[MemoField.CRM_URL] == "url_text_input"
    for select_field in (
        MemoField.BUDGET_STATUS,
        MemoField.AUTHORITY,
        MemoField.TIMELINE,
        MemoField.TEMPERATURE,
    ):
        assert element_types[select_field] == "static_select"


async def test_slash_speaks_the_users_language(harness: Harness) -> None:
    await harness.driver.slash(user_id=FS_USER)  # en-US in the fake's users.info
    (call,) = await harness.slack.wait_for("views.open")
    english = call.args["view"]["title"]["text"]
    await harness.driver.slash(user_id=IS_USER)  # ja-JP
    calls = await harness.slack.wait_for("views.open", count=2)
    assert calls[1].args["view"]["title"]["text"] != english


async def test_a_modal_that_cannot_open_is_explained_to_the_user(harness: Harness) -> None:
    h = harness
    h.slack.error_next("views.open", "trigger_expired")
    await h.driver.slash("Acme", user_id=FS_USER)
    (private,) = await h.slack.wait_for("response_url")
    assert private.args["response_type"] == "ephemeral"
    assert private.args["text"] == t(Lang.EN, "handler.modal_failed")


@pytest.mark.parametrize("config", [team_config(roles={"inside_sales": [IS_USER]})])
async def test_with_is_members_configured_only_they_toss_up(harness: Harness) -> None:
    h = harness
    refused = (await h.driver.slash("Acme", user_id=OTHER_USER)).json()
    assert refused is not None and refused["response_type"] == "ephemeral"
    assert "roles.inside_sales" in refused["text"]
    await h.slack.assert_no_more("views.open", count=0)
    body = (
        await h.driver.view_submission(
            CallbackId.HANDOFF_MEMO,
            memo_state(answers(h)),
            user_id=OTHER_USER,
            private_metadata=memo_meta("en"),
        )
    ).json()
    assert body is not None and set(body["errors"]) == {"company"}
    assert await count(h, Handoff) == 0
    await h.driver.slash("Acme", user_id=IS_USER)
    await h.slack.wait_for("views.open")


async def test_slash_help_answers_ephemerally(harness: Harness) -> None:
    response = await harness.driver.slash("help")
    body = response.json()
    assert body is not None and body.get("response_type") == "ephemeral"
    assert "/tossup" in json.dumps(body, ensure_ascii=False)
    await harness.slack.assert_no_more("views.open", count=0)


# ---------------------------------------------------------------- submission


async def test_invalid_memo_gets_field_errors_and_stores_nothing(harness: Harness) -> None:
    h = harness
    response = await submit_memo(
        h,
        company=None,
        contact_email="not-an-email",
        crm_url="ftp//nope",
        meeting_at=h.clock() - timedelta(days=2),
        first_contact_on=(h.clock() + timedelta(days=5)).date(),
        need="x" * 2001,
    )
    body = response.json()
    assert body is not None and body["response_action"] == "errors"
    assert set(body["errors"]) == {
        "company",
        "contact_email",
        "crm_url",
        "meeting_at",
        "first_contact_on",
        "need",
    }
    assert await count(h, Handoff) == 0
    assert await count(h, OutboxMessage) == 0
    await h.slack.assert_no_more("chat.postMessage", count=0)


async def test_a_bot_or_deactivated_account_cannot_be_the_fs_rep(harness: Harness) -> None:
    h = harness
    h.slack.users["U0BOTTY"] = {"is_bot": True, "real_name": "Some Bot"}
    h.slack.users["U0GONE1"] = {"deleted": True, "real_name": "Left the company"}
    for user in ("U0BOTTY", "U0GONE1"):
        body = (await submit_memo(h, fs_user_id=user)).json()
        assert body is not None and set(body["errors"]) == {"fs_user_id"}
    assert await count(h, Handoff) == 0


async def test_field_errors_come_in_the_modals_language(harness: Harness) -> None:
    h = harness
    ja = (await submit_memo(h, company=None)).json()
    en = (
        await h.driver.view_submission(
            CallbackId.HANDOFF_MEMO,
            memo_state(answers(h, company=None)),
            user_id=IS_USER,
            private_metadata=memo_meta("en"),
        )
    ).json()
    assert ja and en and ja["errors"]["company"] != en["errors"]["company"]


async def test_valid_memo_is_stored_then_noticed_dmed_and_confirmed(harness: Harness) -> None:
    h = harness
    handoff = await tossed_up(h)
    assert handoff.status is HandoffStatus.PENDING
    assert handoff.memo.company == "Acme Corp"
    assert handoff.is_user_id == IS_USER and handoff.fs_user_id == FS_USER

    (notice,) = notice_posts(h)
    text = block_text(notice.args["blocks"])
    assert "Acme Corp" in text and "山田 太郎" in text
    actions = next(b for b in notice.args["blocks"] if b.get("block_id") == BlockId.NOTICE_ACTIONS)
    assert {e["action_id"] for e in actions["elements"]} == {
        ActionId.HANDOFF_ACCEPT,
        ActionId.HANDOFF_RETURN,
        ActionId.HANDOFF_ASK,
        ActionId.HANDOFF_VIEW,
    }
    dm = await h.slack.wait_for("chat.postMessage", where=lambda c: c.args["channel"] == f"D{FS_USER}")
    assert "Acme Corp" in block_text(dm[0].args["blocks"])
    confirmation = await h.slack.wait_for(
        "chat.postMessage", where=lambda c: c.args["channel"] == f"D{IS_USER}"
    )
    assert "https://fake.slack.test/archives/" in block_text(confirmation[0].args["blocks"])

    async with h.bot.services.sessions() as session:
        events = await list_events(session=session, handoff_id=handoff.id)
    assert [e.kind for e in events][:1] == [EventKind.SUBMITTED]
    assert EventKind.NOTICE_POSTED in [e.kind for e in events]
    assert handoff.dm_ts is not None


@pytest.mark.parametrize("backend", BACKENDS)
async def test_same_view_submitted_twice_is_one_toss_up(harness: Harness) -> None:
    h = harness
    first = await submit_memo(h, view_id="V0DOUBLE")
    second = await submit_memo(h, view_id="V0DOUBLE")
    assert first.status == second.status == 200
    await h.slack.wait_for("chat.postMessage", where=lambda c: c.args["channel"] == FS_CHANNEL)
    await h.slack.assert_no_more("chat.postMessage", count=3)  # notice, FS DM, IS confirmation: once each
    assert await count(h, Handoff) == 1
    assert len(notice_posts(h)) == 1


async def test_notice_500_then_recovers_is_posted_exactly_once(harness: Harness) -> None:
    h = harness
    h.slack.fail_next("chat.postMessage", status=500)
    assert (await submit_memo(h)).status == 200
    await h.bot.delivery.wait_idle()
    assert notice_posts(h) == []  # no blind retry inside the client: a 500 may have posted
    h.clock.advance(minutes=1)
    await h.bot.delivery.drain()
    assert len(notice_posts(h)) == 1
    assert any(c.method == "chat.postMessage" and c.status == 500 for c in h.slack.calls)
    # the retry looked for an earlier copy first (the 500 left the post in doubt)
    assert h.slack.calls_to("conversations.history")


async def test_slack_outage_loses_nothing_and_the_retry_loop_posts_later(harness: Harness) -> None:
    h = harness
    h.slack.fail_next("chat.postMessage", status=503)  # the outbox does not retry inside one attempt
    response = await submit_memo(h)
    assert response.status == 200

    async def first_attempt_failed() -> bool:
        async with h.bot.services.sessions() as session:
            return bool(await session.scalar(select(func.max(OutboxMessage.attempts))))

    await eventually(first_attempt_failed)
    await h.bot.delivery.wait_idle()  # the rest of the toss-up's batch is tried (and waits) too
    handoff = await only_handoff(h)
    assert handoff.notice_ts is None  # stored, not posted
    assert notice_posts(h) == []

    h.clock.advance(minutes=1)
    await h.bot.delivery.drain()
    assert len(notice_posts(h)) == 1
    h.clock.advance(minutes=10)
    await h.bot.delivery.drain()
    assert len(notice_posts(h)) == 1  # never twice
    assert (await only_handoff(h)).notice_ts is not None


async def test_wrong_fs_channel_is_reported_to_the_is_rep_not_retried_forever(harness: Harness) -> None:
    h = harness
    h.slack.error_next("chat.postMessage", "channel_not_found")
    response = await submit_memo(h)
    assert response.status == 200
    dms = await h.slack.wait_for("chat.postMessage", where=lambda c: c.args["channel"] == f"D{IS_USER}")
    assert "channel_not_found" in dms[0].args["text"] and "channels.fs" in dms[0].args["text"]
    assert (await only_handoff(h)).notice_ts is None  # the toss-up itself is kept
    async with h.bot.services.sessions() as session:
        given_up = await session.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.given_up_at.is_not(None))
        )
    assert given_up == 2  # the notice, and the confirmation that would link to it
    await h.slack.assert_no_more("chat.postMessage", count=2)  # FS DM + the IS rep told, no retry storm

    # The admin fixes the channel (invites the bot) and runs `tossup repost <id>`.
    handoff = await only_handoff(h)
    sessions = h.bot.services.sessions
    assert await queue_notice_repost(sessions, handoff_id=handoff.id, now=h.clock()) == "queued"
    await h.bot.delivery.drain()
    assert len(notice_posts(h)) == 1
    confirmations = [c for c in h.slack.calls_to("chat.postMessage") if c.args["channel"] == f"D{IS_USER}"]
    assert "https://fake.slack.test/archives/" in block_text(confirmations[-1].args["blocks"])
    assert await queue_notice_repost(sessions, handoff_id=handoff.id, now=h.clock()) == "already_posted"
    assert await queue_notice_repost(sessions, handoff_id=999, now=h.clock()) == "not_found"


def restarted_with(h: Harness, config: AppConfig) -> Delivery:
    """The delivery of the bot started again on the same database and Slack, reading `config`."""
    services = h.bot.services
    return Delivery(
        client=h.bot.delivery.client,
        sessions=services.sessions,
        config=config,
        users=services.users,
        clock=h.clock,
    )


async def test_repost_after_channels_fs_was_fixed_posts_in_the_fixed_channel(harness: Harness) -> None:
    """The IS rep's DM and the README say: fix `channels.fs`, then `tossup repost <id>`. The restarted bot
    reads the fixed app.yaml; the notice goes to the channel it names, not the one Slack refused."""
    h = harness
    h.slack.error_next("chat.postMessage", "channel_not_found")
    await submit_memo(h)
    told = await h.slack.wait_for("chat.postMessage", where=lambda c: c.args["channel"] == f"D{IS_USER}")
    assert f"<#{FS_CHANNEL}>" in told[0].args["text"]  # the channel that refused it is named
    await h.bot.delivery.wait_idle()
    handoff = await only_handoff(h)
    assert handoff.notice_ts is None

    restarted = restarted_with(h, team_config(channels={"fs": "C0RIGHTFS"}))  # the admin's correction
    sessions = h.bot.services.sessions
    assert await queue_notice_repost(sessions, handoff_id=handoff.id, now=h.clock()) == "queued"
    await restarted.drain()
    reposted = [c for c in h.slack.calls_to("chat.postMessage") if c.args["channel"] == "C0RIGHTFS"]
    assert len(reposted) == 1 and not reposted[0].args.get("thread_ts")
    assert (await only_handoff(h)).notice_channel_id == "C0RIGHTFS"


async def test_a_notice_in_doubt_is_looked_for_where_it_went_before_app_yaml_moved_it(
    harness: Harness,
) -> None:
    """The worker died after Slack took the notice and before it recorded so; at restart app.yaml routes
    notices elsewhere. The notice is found where the earlier attempt posted it, not posted a second time
    (a copy with working buttons in each channel)."""
    h = harness
    handoff = await tossed_up(h)
    await h.bot.delivery.wait_idle()
    async with h.bot.services.sessions() as session:
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.kind == "notice_channel")
            .values(done_at=None, in_doubt=True, lease_owner=None, lease_until=None)
        )
        await session.execute(
            update(Handoff).where(Handoff.id == handoff.id).values(notice_ts=None, notice_channel_id=None)
        )
        await session.commit()
    await restarted_with(h, team_config(channels={"fs": "C0MOVEDFS"})).drain()
    assert [c for c in h.slack.calls_to("chat.postMessage") if c.args["channel"] == "C0MOVEDFS"] == []
    assert len(notice_posts(h)) == 1
    found = await only_handoff(h)
    assert (found.notice_channel_id, found.notice_ts) == (FS_CHANNEL, handoff.notice_ts)


async def test_two_replicas_draining_at_once_send_every_post_once(harness: Harness) -> None:
    h = harness
    h.slack.fail_next("chat.postMessage", status=503, times=3)
    await submit_memo(h)

    async def first_attempt_failed() -> bool:
        async with h.bot.services.sessions() as session:
            return bool(await session.scalar(select(func.max(OutboxMessage.attempts))))

    await eventually(first_attempt_failed)
    await h.bot.delivery.wait_idle()
    replica = h.other_replica()
    h.slack.slow("chat.postMessage", 0.3)  # both workers are mid-send at the same time
    h.clock.advance(minutes=1)
    await asyncio.gather(h.bot.delivery.drain(), replica.drain(), h.bot.delivery.drain(), replica.drain())
    # The confirmation may have been tried by one replica while the other was still posting the
    # notice it links to: then it waits for the next round, but is never sent twice.
    # A replica leases a toss-up's rows together: which one meets the injected failures depends on who
    # claimed first. However the rounds fall, each post goes out once.
    for _ in range(4):
        h.clock.advance(minutes=5)
        await asyncio.gather(h.bot.delivery.drain(), replica.drain())
    posts = [c.args["channel"] for c in h.slack.calls_to("chat.postMessage")]
    assert sorted(posts) == sorted([FS_CHANNEL, f"D{FS_USER}", f"D{IS_USER}"])  # each exactly once


async def test_rate_limited_notice_honours_retry_after(harness: Harness) -> None:
    h = harness
    h.slack.fail_next("chat.postMessage", status=429, retry_after=30)
    assert (await submit_memo(h)).status == 200
    await h.bot.delivery.wait_idle()
    await h.bot.delivery.drain()  # the retry loop comes round: chat.postMessage is paused, nothing tried
    assert [c.status for c in h.slack.calls_to("chat.postMessage", ok_only=False)] == [429]
    h.clock.advance(seconds=29)
    await h.bot.delivery.drain()
    assert [c.status for c in h.slack.calls_to("chat.postMessage", ok_only=False)] == [429]
    h.clock.advance(seconds=2)  # Retry-After has passed
    await h.bot.delivery.drain()
    assert len(notice_posts(h)) == 1
    assert not h.slack.calls_to("conversations.history")  # a 429 is a clear "not posted": no search


async def test_company_named_channel_mention_is_escaped(harness: Harness) -> None:
    h = harness
    await tossed_up(h, company="<!channel> & Co")
    (notice,) = notice_posts(h)
    # Slack parses mentions in mrkdwn text and in the fallback `text`; plain_text is shown literally.
    markup = [notice.args["text"], *mrkdwn_texts(notice.args["blocks"])]
    assert not any("<!channel>" in text for text in markup)
    assert any("&lt;!channel&gt; &amp; Co" in text for text in markup)


def mrkdwn_texts(node: Any) -> list[str]:
    if isinstance(node, list):
        return [text for child in node for text in mrkdwn_texts(child)]
    if not isinstance(node, dict):
        return []
    own = [node["text"]] if node.get("type") == "mrkdwn" else []
    return own + [text for value in node.values() for text in mrkdwn_texts(value)]


# ---------------------------------------------------------------- decisions


async def click(
    h: Harness, action: str, handoff_id: int, *, user: str, channel: str = FS_CHANNEL, ts: str | None = None
):
    return await h.driver.block_action(
        action,
        value=str(handoff_id),
        block_id=BlockId.NOTICE_ACTIONS,
        user_id=user,
        channel_id=channel,
        message_ts=ts,
    )


async def test_accept_by_someone_else_is_refused_ephemerally(harness: Harness) -> None:
    h = harness
    handoff = await tossed_up(h)
    await click(h, ActionId.HANDOFF_ACCEPT, handoff.id, user=OTHER_USER, ts=handoff.notice_ts)
    (private,) = await h.slack.wait_for("response_url")  # works even where the bot never joined
    assert private.args["response_type"] == "ephemeral" and private.args["replace_original"] is False
    assert f"<@{FS_USER}>" in private.args["text"]  # who may decide instead
    await h.slack.assert_no_more("chat.update", count=0)
    assert (await only_handoff(h)).status is HandoffStatus.PENDING


async def test_refusal_falls_back_to_an_ephemeral_when_the_response_url_fails(harness: Harness) -> None:
    h = harness
    handoff = await tossed_up(h)
    h.slack.error_next("response_url", "expired_url")
    await click(h, ActionId.HANDOFF_ACCEPT, handoff.id, user=OTHER_USER, ts=handoff.notice_ts)
    (ephemeral,) = await h.slack.wait_for("chat.postEphemeral")
    assert ephemeral.args["user"] == OTHER_USER and ephemeral.args["channel"] == FS_CHANNEL


@pytest.mark.takes(2.5)
async def test_a_decision_while_the_confirmation_is_being_posted_still_takes_its_edit_button(
    harness: Harness,
) -> None:
    """FS accepts while Slack is still answering the IS rep's confirmation: the decision's refresh cannot
    know where the confirmation is yet, so the confirmation, once recorded, brings itself up to date."""
    h = harness
    h.slack.slow("chat.postMessage", 0.8)  # each post is stored at once and answered 0.8 s later
    assert (await submit_memo(h)).status == 200

    def confirmation() -> dict | None:
        return next((m for (channel, _), m in h.slack.messages.items() if channel == f"D{IS_USER}"), None)

    for _ in range(500):  # the confirmation is in Slack; its answer has not come back yet
        if confirmation() is not None:
            break
        await asyncio.sleep(0.01)
    shown = confirmation()
    assert shown is not None and ActionId.HANDOFF_EDIT in block_text(shown["blocks"])
    handoff = await only_handoff(h)
    assert handoff.is_dm_ts is None
    await click(h, ActionId.HANDOFF_ACCEPT, handoff.id, user=FS_USER, ts=handoff.notice_ts)
    await h.slack.wait_for("chat.update", where=lambda c: c.args["channel"] == f"D{IS_USER}")
    shown = confirmation()
    assert shown is not None and ActionId.HANDOFF_EDIT not in block_text(shown["blocks"])
    assert (await only_handoff(h)).status is HandoffStatus.ACCEPTED
    h.slack.slow("chat.postMessage", 0)


@pytest.mark.takes(2.5)
async def test_a_confirmation_whose_catch_up_slack_refuses_is_posted_once_and_brought_up_to_date_later(
    harness: Harness,
) -> None:
    """As above, but Slack refuses the confirmation's catch-up update: the confirmation is not posted a
    second time (its row was marked done as it was recorded); a refresh is queued and applied later."""
    h = harness
    h.slack.slow("chat.postMessage", 0.8)
    assert (await submit_memo(h)).status == 200
    for _ in range(500):  # the confirmation is in Slack; its answer has not come back yet
        if any(channel == f"D{IS_USER}" for channel, _ in h.slack.messages):
            break
        await asyncio.sleep(0.01)
    handoff = await only_handoff(h)
    await click(h, ActionId.HANDOFF_ACCEPT, handoff.id, user=FS_USER, ts=handoff.notice_ts)
    await h.slack.wait_for("chat.update", count=2)  # the decision's refresh: the notice and its DM copy
    h.slack.error_next("chat.update", "internal_error")  # then the confirmation's own catch-up fails
    for _ in range(500):
        if len(h.slack.calls_to("chat.update", ok_only=False)) == 3:
            break
        await asyncio.sleep(0.01)
    h.slack.slow("chat.postMessage", 0)
    await h.bot.delivery.settled()
    await h.bot.delivery.drain()
    confirmations = [
        call
        for call in h.slack.calls_to("chat.postMessage")
        if call.args["channel"] == f"D{IS_USER}" and ActionId.HANDOFF_EDIT in block_text(call.args["blocks"])
    ]
    assert len(confirmations) == 1
    recorded = await only_handoff(h)
    assert ActionId.HANDOFF_EDIT not in block_text(
        h.slack.message(f"D{IS_USER}", str(recorded.is_dm_ts))["blocks"]
    )


@pytest.mark.parametrize("backend", BACKENDS)
async def test_accept_by_assignee_updates_notices_and_tells_is(harness: Harness) -> None:
    h = harness
    handoff = await tossed_up(h)
    await h.slack.wait_for("chat.postMessage", count=3)
    await click(h, ActionId.HANDOFF_ACCEPT, handoff.id, user=FS_USER, ts=handoff.notice_ts)
    updates = await h.slack.wait_for("chat.update", count=3)
    assert {(u.args["channel"], u.args["ts"]) for u in updates} == {
        (FS_CHANNEL, handoff.notice_ts),
        (handoff.dm_channel_id, handoff.dm_ts),
        (f"D{IS_USER}", handoff.is_dm_ts),  # the IS rep's confirmation: its Edit button is gone
    }
    confirmation = h.slack.message(f"D{IS_USER}", str(handoff.is_dm_ts))
    assert ActionId.HANDOFF_EDIT not in block_text(confirmation["blocks"])
    refreshed = h.slack.message(FS_CHANNEL, handoff.notice_ts)
    assert ActionId.HANDOFF_ACCEPT not in block_text(refreshed["blocks"])
    dms = await h.slack.wait_for(
        "chat.postMessage", count=2, where=lambda c: c.args["channel"] == f"D{IS_USER}"
    )
    assert FS_USER in block_text(dms[-1].args["blocks"]) + dms[-1].args.get("text", "")

    after = await only_handoff(h)
    assert after.status is HandoffStatus.ACCEPTED and after.decided_by == FS_USER
    async with h.bot.services.sessions() as session:
        events = await list_events(session=session, handoff_id=handoff.id)
    accepted = [e for e in events if e.kind is EventKind.ACCEPTED]
    assert len(accepted) == 1 and accepted[0].actor_user_id == FS_USER


async def test_second_accept_is_told_it_was_already_decided(harness: Harness) -> None:
    h = harness
    handoff = await tossed_up(h)
    await click(h, ActionId.HANDOFF_ACCEPT, handoff.id, user=FS_USER)
    await h.slack.wait_for("chat.update")
    await click(h, ActionId.HANDOFF_ACCEPT, handoff.id, user=MANAGER)
    (private,) = await h.slack.wait_for("response_url")
    assert f"<@{FS_USER}>" in private.args["text"]  # who accepted it
    async with h.bot.services.sessions() as session:
        events = await list_events(session=session, handoff_id=handoff.id)
    assert [e.kind for e in events].count(EventKind.ACCEPTED) == 1


@pytest.mark.parametrize("backend", BACKENDS)
async def test_return_by_assignee_with_reason(harness: Harness) -> None:
    h = harness
    handoff = await tossed_up(h)
    await click(h, ActionId.HANDOFF_RETURN, handoff.id, user=FS_USER, ts=handoff.notice_ts)
    (opened,) = await h.slack.wait_for("views.open")
    modal = opened.args["view"]
    assert modal["callback_id"] == CallbackId.RETURN_REASON

    empty = await h.driver.view_submission(
        CallbackId.RETURN_REASON,
        {
            BlockId.RETURN_REASON: {ActionId.RETURN_REASON: static_state(None)},
            BlockId.RETURN_NOTE: {ActionId.RETURN_NOTE: text_state(None)},
        },
        user_id=FS_USER,
        private_metadata=modal["private_metadata"],
    )
    assert (empty.json() or {}).get("response_action") == "errors"

    response = await h.driver.view_submission(
        CallbackId.RETURN_REASON,
        {
            BlockId.RETURN_REASON: {ActionId.RETURN_REASON: static_state("bant_incomplete")},
            BlockId.RETURN_NOTE: {ActionId.RETURN_NOTE: text_state("予算の根拠を確認してください")},
        },
        user_id=FS_USER,
        private_metadata=modal["private_metadata"],
    )
    assert response.status == 200 and not (response.json() or {}).get("errors")
    await h.slack.wait_for("chat.update")
    dms = await h.slack.wait_for(
        "chat.postMessage", count=2, where=lambda c: c.args["channel"] == f"D{IS_USER}"
    )
    assert "予算の根拠を確認してください" in block_text(dms[-1].args["blocks"])
    after = await only_handoff(h)
    assert after.status is HandoffStatus.RETURNED
    assert after.return_reason is not None and after.return_reason.value == "bant_incomplete"


async def returned(h: Harness, handoff, note: str = "決裁プロセスを確認してください"):
    await click(h, ActionId.HANDOFF_RETURN, handoff.id, user=FS_USER, ts=handoff.notice_ts)
    (opened,) = await h.slack.wait_for("views.open")
    await h.driver.view_submission(
        CallbackId.RETURN_REASON,
        {
            BlockId.RETURN_REASON: {ActionId.RETURN_REASON: static_state("info_missing")},
            BlockId.RETURN_NOTE: {ActionId.RETURN_NOTE: text_state(note)},
        },
        user_id=FS_USER,
        private_metadata=opened.args["view"]["private_metadata"],
    )
    dms = await h.slack.wait_for(
        "chat.postMessage", count=2, where=lambda c: c.args["channel"] == f"D{IS_USER}"
    )
    return dms[-1]


async def test_returned_toss_up_is_revised_from_the_dm_with_the_memo_prefilled(harness: Harness) -> None:
    h = harness
    first = await tossed_up(h)
    dm = await returned(h, first)
    (revise_button,) = [e for b in dm.args["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert revise_button["action_id"] == ActionId.HANDOFF_REVISE

    await h.driver.block_action(
        ActionId.HANDOFF_REVISE, value=revise_button["value"], user_id=OTHER_USER, channel_id=f"D{IS_USER}"
    )
    await h.slack.wait_for("response_url")  # only the IS rep revises
    await h.driver.block_action(
        ActionId.HANDOFF_REVISE, value=revise_button["value"], user_id=IS_USER, channel_id=f"D{IS_USER}"
    )
    opened = await h.slack.wait_for("views.open", count=2)
    modal = opened[-1].args["view"]
    assert modal["callback_id"] == CallbackId.HANDOFF_MEMO
    company = next(b for b in modal["blocks"] if b.get("block_id") == "company")
    assert company["element"]["initial_value"] == "Acme Corp"

    await h.driver.view_submission(
        CallbackId.HANDOFF_MEMO,
        memo_state(answers(h, decision_process="部長起案 → 役員会（12/20）で決裁、稟議書は先方が準備")),
        user_id=IS_USER,
        private_metadata=modal["private_metadata"],
    )
    notices = await h.slack.wait_for(
        "chat.postMessage", count=2, where=lambda c: c.args["channel"] == FS_CHANNEL
    )
    assert "🔁" in block_text(notices[-1].args["blocks"])
    async with h.bot.services.sessions() as session:
        rows = (await session.scalars(select(Handoff).order_by(Handoff.id))).all()
    assert [r.revision_of_id for r in rows] == [None, first.id]
    assert [r.status for r in rows] == [HandoffStatus.RETURNED, HandoffStatus.PENDING]


async def test_return_modal_refuses_someone_else_on_the_form(harness: Harness) -> None:
    h = harness
    handoff = await tossed_up(h)
    meta = dump_meta(
        HandoffActionMeta(
            handoff_id=handoff.id, channel_id=FS_CHANNEL, message_ts=handoff.notice_ts, lang="en"
        )
    )
    response = await h.driver.view_submission(
        CallbackId.RETURN_REASON,
        {
            BlockId.RETURN_REASON: {ActionId.RETURN_REASON: static_state("other")},
            BlockId.RETURN_NOTE: {ActionId.RETURN_NOTE: text_state("not mine")},
        },
        user_id=OTHER_USER,
        private_metadata=meta,
    )
    body = response.json()
    assert body is not None and body["response_action"] == "errors"
    error = body["errors"][BlockId.RETURN_REASON]
    assert "<@" not in error and "*" not in error  # field errors are plain text in Slack
    assert (await only_handoff(h)).status is HandoffStatus.PENDING


async def test_return_form_after_someone_accepted_says_so_in_plain_text(harness: Harness) -> None:
    h = harness
    handoff = await tossed_up(h, company="Acme & <Co>")
    meta = dump_meta(
        HandoffActionMeta(
            handoff_id=handoff.id, channel_id=FS_CHANNEL, message_ts=handoff.notice_ts, lang="en"
        )
    )
    await click(h, ActionId.HANDOFF_ACCEPT, handoff.id, user=MANAGER)  # while the FS rep fills in the form
    await h.slack.wait_for("chat.update")
    response = await h.driver.view_submission(
        CallbackId.RETURN_REASON,
        {
            BlockId.RETURN_REASON: {ActionId.RETURN_REASON: static_state("other")},
            BlockId.RETURN_NOTE: {ActionId.RETURN_NOTE: text_state("too late")},
        },
        user_id=FS_USER,
        private_metadata=meta,
    )
    error = (response.json() or {})["errors"][BlockId.RETURN_REASON]
    assert "Acme & <Co>" in error and "Accepted" in error
    assert (await only_handoff(h)).status is HandoffStatus.ACCEPTED


async def test_unassigned_toss_up_may_be_accepted_by_anyone(harness: Harness) -> None:
    h = harness
    handoff = await tossed_up(h, fs_user_id=None)
    assert handoff.dm_ts is None
    await click(h, ActionId.HANDOFF_ACCEPT, handoff.id, user=OTHER_USER)
    await h.slack.wait_for("chat.update")
    assert (await only_handoff(h)).decided_by == OTHER_USER


async def test_question_lands_in_the_notice_thread_mentioning_is(harness: Harness) -> None:
    h = harness
    handoff = await tossed_up(h)
    await click(h, ActionId.HANDOFF_ASK, handoff.id, user=FS_USER, ts=handoff.notice_ts)
    (opened,) = await h.slack.wait_for("views.open")
    modal = opened.args["view"]
    assert modal["callback_id"] == CallbackId.QUESTION
    await h.driver.view_submission(
        CallbackId.QUESTION,
        {BlockId.QUESTION_TEXT: {ActionId.QUESTION_TEXT: text_state("決裁者の方は商談に同席されますか？")}},
        user_id=FS_USER,
        private_metadata=modal["private_metadata"],
    )
    (reply,) = await h.slack.wait_for(
        "chat.postMessage", where=lambda c: c.args.get("thread_ts") == handoff.notice_ts
    )
    content = block_text(reply.args["blocks"]) + reply.args.get("text", "")
    assert f"<@{IS_USER}>" in content and "決裁者の方は商談に同席されますか？" in content
    dms = await h.slack.wait_for(
        "chat.postMessage", count=2, where=lambda c: c.args["channel"] == f"D{IS_USER}"
    )
    dm = block_text(dms[-1].args["blocks"])  # the IS rep may not be in the FS channel: a DM links the thread
    assert "決裁者の方は商談に同席されますか？" in dm and "https://fake.slack.test/archives/" in dm
    async with h.bot.services.sessions() as session:
        events = await list_events(session=session, handoff_id=handoff.id)
    assert EventKind.QUESTION_ASKED in [e.kind for e in events]


async def test_same_question_submitted_twice_is_asked_once(harness: Harness) -> None:
    h = harness
    handoff = await tossed_up(h)
    meta = dump_meta(
        HandoffActionMeta(
            handoff_id=handoff.id, channel_id=FS_CHANNEL, message_ts=handoff.notice_ts, lang="ja"
        )
    )
    values = {BlockId.QUESTION_TEXT: {ActionId.QUESTION_TEXT: text_state("予算の確度は？")}}
    for _ in range(2):
        response = await h.driver.view_submission(
            CallbackId.QUESTION, values, user_id=FS_USER, view_id="V0QUESTION", private_metadata=meta
        )
        assert response.status == 200
    await h.slack.wait_for("chat.postMessage", where=lambda c: c.args.get("thread_ts") == handoff.notice_ts)
    # notice, FS DM, IS confirmation, then the question once: in the thread and to the IS rep
    await h.slack.assert_no_more("chat.postMessage", count=5)
    async with h.bot.services.sessions() as session:
        events = await list_events(session=session, handoff_id=handoff.id)
    assert [e.kind for e in events].count(EventKind.QUESTION_ASKED) == 1


async def test_question_about_a_missing_toss_up_is_answered_on_the_form(harness: Harness) -> None:
    h = harness
    meta = dump_meta(HandoffActionMeta(handoff_id=999, channel_id=FS_CHANNEL, message_ts=None, lang="en"))
    response = await h.driver.view_submission(
        CallbackId.QUESTION,
        {BlockId.QUESTION_TEXT: {ActionId.QUESTION_TEXT: text_state("hello?")}},
        user_id=FS_USER,
        private_metadata=meta,
    )
    body = response.json()
    assert body is not None and body["response_action"] == "errors"
    assert BlockId.QUESTION_TEXT in body["errors"]


async def test_view_memo_opens_the_full_memo(harness: Harness) -> None:
    h = harness
    handoff = await tossed_up(h)
    await click(h, ActionId.HANDOFF_VIEW, handoff.id, user=OTHER_USER)
    (opened,) = await h.slack.wait_for("views.open")
    view = opened.args["view"]
    assert view["callback_id"] == CallbackId.MEMO_VIEW
    text = block_text(view["blocks"])
    for expected in ("A社SFAと比較検討中", "部長起案", "価格の値引き", "https://crm.example.com/leads/42"):
        assert expected in text


async def test_app_home_lists_my_toss_ups_and_what_waits_for_me(harness: Harness) -> None:
    h = harness
    await tossed_up(h, company="Initech")
    await h.driver.event(
        {"type": "app_home_opened", "user": FS_USER, "tab": "home", "channel": f"D{FS_USER}"}
    )
    await h.driver.event(
        {"type": "app_home_opened", "user": IS_USER, "tab": "home", "channel": f"D{IS_USER}"}
    )
    published = await h.slack.wait_for("views.publish", count=2)
    by_user = {c.args["user_id"]: block_text(c.args["view"]["blocks"]) for c in published}
    assert "Initech" in by_user[FS_USER] and "Initech" in by_user[IS_USER]
    assert by_user[FS_USER] != by_user[IS_USER]  # FS in English, IS in Japanese; different lists


async def test_app_home_shows_unassigned_toss_ups_to_those_who_may_take_them(harness: Harness) -> None:
    h = harness
    await tossed_up(h, company="Umbrella", fs_user_id=None)
    await h.driver.event({"type": "app_home_opened", "user": OTHER_USER, "tab": "home", "channel": "D0OTHER"})
    (published,) = await h.slack.wait_for("views.publish")
    assert "Umbrella" in block_text(published.args["view"]["blocks"])


# ---------------------------------------------------------------- the HTTP endpoint


async def test_forged_and_stale_signatures_are_refused(harness: Harness) -> None:
    h = harness
    body = b"command=%2Ftossup&text=&user_id=U0IS&trigger_id=t1&team_id=T0TEAM&channel_id=C1"
    forged = await h.driver.send_raw(
        body, content_type="application/x-www-form-urlencoded", signature="v0=deadbeef"
    )
    assert forged.status == 401
    stale_ts = int(time.time()) - 600
    stale = await h.driver.send_raw(
        body,
        content_type="application/x-www-form-urlencoded",
        timestamp=stale_ts,
        signature=sign(SIGNING_SECRET, stale_ts, body),
    )
    assert stale.status == 401
    await h.slack.assert_no_more("views.open", count=0)


async def test_healthz_answers_200(harness: Harness) -> None:
    async with aiohttp.ClientSession() as session, session.get(f"{harness.url}/healthz") as response:
        assert response.status == 200
        assert (await response.json())["ok"] is True


async def test_a_confirmation_built_while_auth_test_failed_gets_its_link_in_place(harness: Harness) -> None:
    """The notice's link comes from auth.test's workspace URL: when Slack failed that call as the
    confirmation was built, it says the notice is saved, then is brought up to date with the link once
    auth.test may be asked again (not at every message meanwhile)."""
    h = harness
    await h.ask("help", user_id=IS_USER)  # Bolt's own auth.test, made and kept
    h.slack.fail_next("auth.test", status=500)  # the delivery's, for the workspace URL
    assert (await submit_memo(h)).status == 200
    await confirmation_recorded(h)
    await h.bot.delivery.settled()
    assert len(h.slack.calls_to("auth.test", ok_only=False)) == 2  # Bolt's, then the failed one: no more
    assert not [c for c in h.slack.calls_to("chat.update") if c.args["channel"] == f"D{IS_USER}"]
    assert await h.bot.delivery.workspace_url() is None  # still within the minute: not asked
    h.clock.advance(seconds=WORKSPACE_URL_RETRY.total_seconds() + 1)
    await h.bot.delivery.drain()
    updates = await h.slack.wait_for("chat.update", where=lambda c: c.args["channel"] == f"D{IS_USER}")
    assert "https://fake.slack.test/archives/" in block_text(updates[-1].args["blocks"])
    assert len(h.slack.calls_to("auth.test", ok_only=False)) == 3


async def test_callers_at_once_share_one_auth_test_and_a_failure_is_not_asked_again_at_once(
    harness: Harness,
) -> None:
    """App Home opens and digests while auth.test fails: one call for all waiting, then none for a minute."""
    h = harness
    h.slack.slow("auth.test", 0.3)
    h.slack.fail_next("auth.test", status=500)
    assert await asyncio.gather(*(h.bot.delivery.workspace_url() for _ in range(5))) == [None] * 5
    assert await h.bot.delivery.workspace_url() is None
    assert len(h.slack.calls_to("auth.test", ok_only=False)) == 1
    h.slack.slow("auth.test", 0)
    h.clock.advance(seconds=WORKSPACE_URL_RETRY.total_seconds() + 1)
    assert await h.bot.delivery.workspace_url() == "https://fake.slack.test/"
    assert await h.bot.delivery.workspace_url() == "https://fake.slack.test/"  # kept
    assert len(h.slack.calls_to("auth.test", ok_only=False)) == 2
