"""The collaboration-issue log over the wire: `/tossup issue` → modal → stored → confirmed and the owner
told; the agenda's Close button → close modal → closed once → a reply in the agenda thread."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select

from bot.config import AppConfig
from bot.domain.issues import PROBLEM_MAX, CollabIssue
from bot.i18n import Lang, t
from modals.ids import ActionId, BlockId, CallbackId
from modals.issues import IssueCloseMeta, IssueModalMeta
from modals.metadata import dump_meta
from store.issue_models import CollabIssueRecord
from store.issues import get_issue
from store.models import OutboxMessage
from tests.conftest import FS_USER, IS_USER, MANAGER, OTHER_USER, Harness, team_config
from tests.db_fixtures import BACKENDS
from tests.slack_driver import Response, radio_state, text_state, users_state

AGENDA_CHANNEL = "C0AGENDA"
AGENDA_TS = "1700000000.000100"  # the agenda's lead message
SECTION_TS = "1700000000.000500"  # section 4, a reply in its thread, where the Close buttons are
PROBLEM = "差し戻しの理由がほとんど書かれず、ISが次のメモを直せない"
BOT_ACCOUNT = "U0SOMEBOT"
IS_DM, FS_DM = f"D{IS_USER}", f"D{FS_USER}"


def issue_values(
    problem: str | None = PROBLEM,
    impact: str | None = "high",
    urgency: str | None = "high",
    owner: str | None = FS_USER,
) -> dict[str, Any]:
    return {
        BlockId.ISSUE_PROBLEM: {ActionId.ISSUE_PROBLEM: text_state(problem)},
        BlockId.ISSUE_IMPACT: {ActionId.ISSUE_IMPACT: radio_state(impact)},
        BlockId.ISSUE_URGENCY: {ActionId.ISSUE_URGENCY: radio_state(urgency)},
        BlockId.ISSUE_OWNER: {ActionId.ISSUE_OWNER: users_state(owner)},
    }


def decision_values(decision: str | None) -> dict[str, Any]:
    return {BlockId.ISSUE_DECISION: {ActionId.ISSUE_DECISION: text_state(decision)}}


async def open_issue_modal(h: Harness, text: str = "issue", *, user: str = IS_USER) -> dict:
    before = len(h.slack.calls_to("views.open"))
    response = await h.driver.slash(text, user_id=user)
    assert response.status == 200 and not response.text, response.text
    return (await h.slack.wait_for("views.open", count=before + 1))[-1].args["view"]


async def submit_issue(
    h: Harness, *, user: str = IS_USER, view_id: str | None = None, meta: str | None = None, **values: Any
) -> Response:
    private = meta if meta is not None else dump_meta(IssueModalMeta(channel_id="C0GENERAL", lang=Lang.JA))
    return await h.driver.view_submission(
        CallbackId.COLLAB_ISSUE,
        issue_values(**values),
        user_id=user,
        view_id=view_id,
        private_metadata=private,
    )


async def issues_in_db(h: Harness) -> list[CollabIssue]:
    async with h.bot.services.sessions() as session:
        ids = (await session.scalars(select(CollabIssueRecord.id).order_by(CollabIssueRecord.id))).all()
        return [issue for i in ids if (issue := await get_issue(session=session, issue_id=i)) is not None]


async def logged(h: Harness, **values: Any) -> CollabIssue:
    """An issue logged through Slack, its confirmation out."""
    before = len(h.slack.calls_to("chat.postEphemeral"))
    response = await submit_issue(h, **values)
    assert response.status == 200 and not response.text, response.text
    await h.slack.wait_for("chat.postEphemeral", count=before + 1)
    return (await issues_in_db(h))[-1]


async def click_close(
    h: Harness,
    value: str,
    *,
    user: str = FS_USER,
    channel: str = AGENDA_CHANNEL,
    ts: str = SECTION_TS,
    thread_ts: str | None = AGENDA_TS,
) -> Response:
    """The Close button clicked in an agenda message: a reply in the lead's thread unless `thread_ts` is None
    (Slack puts `thread_ts` on the clicked message when it is a thread reply)."""
    message: dict[str, Any] = {"type": "message", "ts": ts, "user": "U0BOT", "text": "", "blocks": []}
    if thread_ts:
        message["thread_ts"] = thread_ts
    payload = {
        "type": "block_actions",
        "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": "T0TEAM"},
        "api_app_id": "A0APP",
        "token": "fake-verification-token",
        "container": {"type": "message", "message_ts": ts, "channel_id": channel, "is_ephemeral": False},
        "trigger_id": h.driver.new_trigger_id(),
        "team": {"id": "T0TEAM", "domain": "fake"},
        "channel": {"id": channel, "name": "agenda"},
        "message": message,
        "response_url": h.driver.new_response_url(),
        "actions": [
            {
                "action_id": ActionId.ISSUE_CLOSE,
                "block_id": "agenda_issue",
                "type": "button",
                "value": value,
                "action_ts": f"{time.time():.6f}",
            }
        ],
        "state": {"values": {}},
    }
    body = urlencode({"payload": json.dumps(payload)}).encode()
    return await h.driver.send_raw(body, content_type="application/x-www-form-urlencoded")


async def open_close_modal(h: Harness, issue_id: int, *, user: str = FS_USER, **where: Any) -> dict:
    before = len(h.slack.calls_to("views.open"))
    response = await click_close(h, str(issue_id), user=user, **where)
    assert response.status == 200, response.text
    return (await h.slack.wait_for("views.open", count=before + 1))[-1].args["view"]


async def submit_close(
    h: Harness, modal: dict, decision: str | None, *, user: str = FS_USER, view_id: str | None = None
) -> Response:
    return await h.driver.view_submission(
        CallbackId.COLLAB_ISSUE_CLOSE,
        decision_values(decision),
        user_id=user,
        private_metadata=modal["private_metadata"],
        view_id=view_id,
    )


def thread_posts(h: Harness) -> list:
    return [c for c in h.slack.calls_to("chat.postMessage") if c.args["channel"] == AGENDA_CHANNEL]


async def private_answer(h: Harness, count: int = 1) -> str:
    """The text of the latest private answer through the click's response_url."""
    calls = await h.slack.wait_for("response_url", count=count)
    assert calls[-1].args["response_type"] == "ephemeral"
    return str(calls[-1].args["text"])


async def count(h: Harness, model: type) -> int:
    async with h.bot.services.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


# ---------------------------------------------------------------- logging an issue


async def test_slash_issue_opens_the_modal_in_the_users_language_prefilled(harness: Harness) -> None:
    h = harness
    view = await open_issue_modal(h, f"issue {PROBLEM}")
    assert view["callback_id"] == CallbackId.COLLAB_ISSUE
    fields = {b["block_id"]: b for b in view["blocks"] if b["type"] == "input"}
    assert fields[BlockId.ISSUE_PROBLEM]["element"]["initial_value"] == PROBLEM
    assert fields[BlockId.ISSUE_IMPACT]["label"]["text"] == "影響度"  # IS_USER reads Japanese
    assert json.loads(view["private_metadata"]) == {"channel_id": "C0GENERAL", "lang": "ja"}

    for word in ("課題", "issues", "連携課題"):
        assert (await open_issue_modal(h, word, user=FS_USER))["title"]["text"] == "Log a collab issue"


async def test_help_lists_the_issue_sub_command(harness: Harness) -> None:
    for user, words in ((IS_USER, "連携課題"), (FS_USER, "collaboration issue")):
        answer = (await harness.driver.slash("help", user_id=user)).json()
        assert answer is not None and "/tossup issue" in answer["text"] and words in answer["text"]


@pytest.mark.parametrize("backend", BACKENDS)
async def test_an_issue_is_stored_confirmed_and_its_owner_told_once(harness: Harness) -> None:
    h = harness
    view_id = h.driver.new_view_id()
    response = await submit_issue(h, view_id=view_id, impact="low", urgency="high")
    assert response.status == 200 and not response.text, response.text

    (issue,) = await issues_in_db(h)
    assert (issue.problem, issue.impact.value, issue.urgency.value) == (PROBLEM, "low", "high")
    assert (issue.raised_by, issue.owner_id, issue.raised_at) == (IS_USER, FS_USER, h.clock())
    assert issue.is_open

    # The reporter, privately where they typed it, in their language: number and place on the matrix.
    (confirmation,) = await h.slack.wait_for("chat.postEphemeral")
    assert (confirmation.args["channel"], confirmation.args["user"]) == ("C0GENERAL", IS_USER)
    assert f"#{issue.id}" in confirmation.args["text"] and "要対応" in confirmation.args["text"]
    # The owner by DM, in theirs (FS_USER reads English).
    (dm,) = await h.slack.wait_for("chat.postMessage", where=lambda c: c.args["channel"] == FS_DM)
    assert f"<@{IS_USER}>" in dm.args["text"] and "Act on plan" in dm.args["text"]
    assert PROBLEM in json.dumps(dm.args["blocks"], ensure_ascii=False)

    # The same view again (double click, Slack retry): one issue, one DM, one confirmation.
    again = await submit_issue(h, view_id=view_id, impact="low", urgency="high")
    assert again.status == 200 and not again.text
    await h.slack.assert_no_more("chat.postEphemeral", count=1)
    assert len([c for c in h.slack.calls_to("chat.postMessage") if c.args["channel"] == FS_DM]) == 1
    assert await count(h, CollabIssueRecord) == 1


async def test_owning_your_own_issue_or_none_sends_no_dm(harness: Harness) -> None:
    h = harness
    await logged(h, owner=IS_USER)
    await logged(h, owner=None)
    assert [i.owner_id for i in await issues_in_db(h)] == [IS_USER, None]
    assert await count(h, OutboxMessage) == 0
    await h.slack.assert_no_more("chat.postMessage", count=0)


@pytest.mark.parametrize("lang", list(Lang))
async def test_field_errors_in_the_modals_language_and_nothing_stored(harness: Harness, lang: Lang) -> None:
    h = harness
    meta = dump_meta(IssueModalMeta(channel_id="C0GENERAL", lang=lang))
    response = await submit_issue(h, meta=meta, problem="x" * (PROBLEM_MAX + 1), impact=None, urgency=None)
    assert response.status == 200
    answer = response.json()
    assert answer is not None and answer["response_action"] == "errors"
    assert answer["errors"] == {
        BlockId.ISSUE_PROBLEM: t(
            lang, "issues.error.problem_too_long", limit=PROBLEM_MAX, length=PROBLEM_MAX + 1
        ),
        BlockId.ISSUE_IMPACT: t(lang, "issues.error.choose_impact"),
        BlockId.ISSUE_URGENCY: t(lang, "issues.error.choose_urgency"),
    }
    blank = (await submit_issue(h, meta=meta, problem="   ")).json()
    assert blank is not None and blank["errors"] == {
        BlockId.ISSUE_PROBLEM: t(lang, "issues.error.problem_required")
    }
    assert await count(h, CollabIssueRecord) == 0


async def test_a_bot_cannot_own_an_issue(harness: Harness) -> None:
    h = harness
    h.slack.users[BOT_ACCOUNT] = {"real_name": "Some Bot", "is_bot": True}
    answer = (await submit_issue(h, owner=BOT_ACCOUNT)).json()
    assert answer is not None
    assert answer["errors"] == {BlockId.ISSUE_OWNER: t(Lang.JA, "issues.error.owner_not_a_person")}
    assert await count(h, CollabIssueRecord) == 0


async def test_unreadable_modal_metadata_still_logs_the_issue(harness: Harness) -> None:
    """It only says where to confirm: the issue is kept and the reporter told by DM."""
    h = harness
    response = await submit_issue(h, meta='{"channel_id": "https://evil.example", "lang": "ja"}')
    assert response.status == 200 and not response.text
    assert len(await issues_in_db(h)) == 1
    (dm,) = await h.slack.wait_for("chat.postMessage", where=lambda c: c.args["channel"] == IS_DM)
    assert "#1" in dm.args["text"]


# ---------------------------------------------------------------- closing an issue


@pytest.mark.parametrize("backend", BACKENDS)
async def test_close_from_the_agenda_thread_posts_who_and_what_was_decided(harness: Harness) -> None:
    h = harness
    issue = await logged(h)
    modal = await open_close_modal(h, issue.id)
    assert modal["callback_id"] == CallbackId.COLLAB_ISSUE_CLOSE
    shown = json.dumps(modal, ensure_ascii=False)
    assert PROBLEM in shown and f"#{issue.id}" in shown and "Top priority" in shown  # FS_USER: English
    meta = json.loads(modal["private_metadata"])
    assert (meta["channel_id"], meta["thread_ts"]) == (AGENDA_CHANNEL, AGENDA_TS)  # the lead's thread

    h.clock.advance(hours=2)
    response = await submit_close(h, modal, "  差し戻しは理由の選択を必須にする  ")
    assert response.status == 200 and not response.text, response.text

    (closed,) = await issues_in_db(h)
    assert (closed.closed_by, closed.decision) == (FS_USER, "差し戻しは理由の選択を必須にする")
    assert closed.closed_at == h.clock() and not closed.is_open
    (reply,) = await h.slack.wait_for("chat.postMessage", where=lambda c: c.args["channel"] == AGENDA_CHANNEL)
    assert reply.args["thread_ts"] == AGENDA_TS
    assert f"<@{FS_USER}>" in reply.args["text"] and "差し戻しは理由の選択を必須にする" in reply.args["text"]
    assert "クローズしました" in reply.args["text"]  # the channel speaks the team's locale (ja)

    # Clicking Close again: told privately who closed it, and what was decided; nothing changes.
    response = await click_close(h, str(issue.id), user=MANAGER)
    assert response.status == 200
    text = await private_answer(h)
    assert f"<@{FS_USER}>" in text and "差し戻しは理由の選択を必須にする" in text
    await h.slack.assert_no_more("views.open", count=1)
    assert len(thread_posts(h)) == 1


async def test_a_close_button_on_the_lead_message_replies_in_its_thread(harness: Harness) -> None:
    h = harness
    issue = await logged(h)
    modal = await open_close_modal(h, issue.id, ts=AGENDA_TS, thread_ts=None)
    assert (await submit_close(h, modal, "決定")).status == 200
    (reply,) = await h.slack.wait_for("chat.postMessage", where=lambda c: c.args["channel"] == AGENDA_CHANNEL)
    assert reply.args["thread_ts"] == AGENDA_TS


async def test_two_open_close_modals_close_once_and_the_second_is_told(harness: Harness) -> None:
    h = harness
    issue = await logged(h)
    first = await open_close_modal(h, issue.id, user=FS_USER)
    second = await open_close_modal(h, issue.id, user=MANAGER)
    view_id = h.driver.new_view_id()
    assert not (await submit_close(h, first, "FSの決定", view_id=view_id)).text
    assert not (await submit_close(h, first, "FSの決定", view_id=view_id)).text  # Slack's retry: same answer

    answer = (await submit_close(h, second, "マネージャーの決定", user=MANAGER)).json()
    assert answer is not None and answer["response_action"] == "update"
    told = json.dumps(answer["view"], ensure_ascii=False)
    assert f"<@{FS_USER}>" in told and "FSの決定" in told and "submit" not in answer["view"]

    (closed,) = await issues_in_db(h)
    assert (closed.closed_by, closed.decision) == (FS_USER, "FSの決定")
    await h.slack.wait_for("chat.postMessage", where=lambda c: c.args["channel"] == AGENDA_CHANNEL)
    await h.slack.assert_no_more("chat.postMessage", count=2)  # the owner's DM and one thread reply
    assert len(thread_posts(h)) == 1


async def test_the_decision_is_required_and_short(harness: Harness) -> None:
    h = harness
    issue = await logged(h)
    modal = await open_close_modal(h, issue.id)
    for decision, key in (
        (None, "issues.error.decision_required"),
        ("x" * 501, "issues.error.decision_too_long"),
    ):
        answer = (await submit_close(h, modal, decision)).json()
        assert answer is not None and answer["response_action"] == "errors"
        expected = t(Lang.EN, key, limit=500, length=501) if decision else t(Lang.EN, key)
        assert answer["errors"] == {BlockId.ISSUE_DECISION: expected}
    assert (await issues_in_db(h))[0].is_open


@pytest.mark.parametrize(
    "value", ["abc", "", "0", "-3", "１", "99999999999999999999", "2147483648", "12; DROP"]
)
async def test_a_bad_button_value_gets_a_private_message(harness: Harness, value: str) -> None:
    h = harness
    response = await click_close(h, value)
    assert response.status == 200
    assert await private_answer(h) == t(Lang.EN, "issues.refusal.bad_value")
    await h.slack.assert_no_more("views.open", count=0)


async def test_an_unknown_issue_gets_a_private_message(harness: Harness) -> None:
    h = harness
    for value in ("999", "2147483647"):
        assert (await click_close(h, value, user=IS_USER)).status == 200
    calls = await h.slack.wait_for("response_url", count=2)
    assert [c.args["text"] for c in calls] == [t(Lang.JA, "issues.refusal.not_found")] * 2


@pytest.mark.parametrize(
    "meta",
    [
        "",
        "{not json",
        '{"issue_id": "x", "lang": "en"}',
        '{"issue_id": 99999999999, "lang": "en"}',
        '{"issue_id": 1, "lang": "en", "channel_id": "C0AGENDA", "thread_ts": "<!channel>"}',
        '{"issue_id": 1, "lang": "en", "channel_id": "https://evil.example/", "thread_ts": "1700000000.0"}',
    ],
)
async def test_tampered_close_metadata_is_refused_on_the_form(harness: Harness, meta: str) -> None:
    h = harness
    await logged(h)
    response = await h.driver.view_submission(
        CallbackId.COLLAB_ISSUE_CLOSE, decision_values("決定"), user_id=FS_USER, private_metadata=meta
    )
    assert response.status == 200
    answer = response.json()
    assert answer is not None
    assert answer["errors"] == {BlockId.ISSUE_DECISION: t(Lang.EN, "issues.error.form_unreadable")}
    assert (await issues_in_db(h))[0].is_open


async def test_closing_an_issue_that_is_gone_is_refused_on_the_form(harness: Harness) -> None:
    h = harness
    meta = dump_meta(
        IssueCloseMeta(issue_id=77, channel_id=AGENDA_CHANNEL, thread_ts=AGENDA_TS, lang=Lang.JA)
    )
    answer = (
        await h.driver.view_submission(
            CallbackId.COLLAB_ISSUE_CLOSE, decision_values("決定"), user_id=FS_USER, private_metadata=meta
        )
    ).json()
    assert answer is not None and answer["errors"] == {
        BlockId.ISSUE_DECISION: t(Lang.JA, "issues.error.not_found")
    }
    assert await count(h, OutboxMessage) == 0


# ---------------------------------------------------------------- who may


ROLES = {"inside_sales": [IS_USER], "field_sales": [FS_USER], "managers": [MANAGER]}


@pytest.mark.parametrize("config", [team_config(roles=ROLES)])
async def test_with_roles_set_only_is_fs_and_managers_may_log_and_close(
    harness: Harness, config: AppConfig
) -> None:
    h = harness
    # Someone else: told privately at once, on the slash command, the form and the button.
    answer = (await h.driver.slash("issue", user_id=OTHER_USER)).json()
    assert answer is not None and answer["response_type"] == "ephemeral"
    assert answer["text"] == t(Lang.EN, "issues.refusal.not_allowed")
    await h.slack.assert_no_more("views.open", count=0)
    refused = (await submit_issue(h, user=OTHER_USER)).json()
    assert refused is not None
    assert refused["errors"] == {BlockId.ISSUE_PROBLEM: t(Lang.JA, "issues.error.not_allowed")}

    issue = await logged(h)  # IS may
    assert (await click_close(h, str(issue.id), user=OTHER_USER)).status == 200
    assert await private_answer(h) == t(Lang.EN, "issues.refusal.not_allowed")
    modal = await open_close_modal(h, issue.id, user=MANAGER)  # a manager may
    answer = (await submit_close(h, modal, "決定", user=OTHER_USER)).json()  # checked again on submit
    assert answer is not None
    assert answer["errors"] == {BlockId.ISSUE_DECISION: t(Lang.JA, "issues.error.not_allowed")}
    assert (await issues_in_db(h))[0].is_open
    assert not (await submit_close(h, modal, "決定", user=MANAGER)).text
    assert not (await issues_in_db(h))[0].is_open


async def test_without_roles_anyone_may(harness: Harness) -> None:
    h = harness
    view = await open_issue_modal(h, "issue", user=OTHER_USER)
    assert view["callback_id"] == CallbackId.COLLAB_ISSUE
    issue = await logged(h, user=OTHER_USER)
    modal = await open_close_modal(h, issue.id, user=OTHER_USER)
    assert not (await submit_close(h, modal, "決定", user=OTHER_USER)).text
