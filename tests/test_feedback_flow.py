"""Issue 4 over the wire: toss-up → meeting → DM → rating → IS told → outcome → KPIs, with the
scheduler's feedback requests and reminders driven by an injected clock (never slept)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.config import AppConfig
from bot.domain.handoff import EventKind
from bot.domain.kpi import compute_kpis
from bot.domain.score import ScoreBreakdown, ScoreItemKey
from bot.i18n import Lang
from bot.scheduler import FEEDBACK_JOB_ID, make_scheduler
from modals.ids import ActionId, BlockId, CallbackId
from modals.text import format_date
from store.handoffs import list_events
from store.kpi import load_kpi_facts
from store.models import FeedbackRecord, Handoff, IsRatingRecord, OutboxMessage, OutcomeRecord
from tests.conftest import FS_CHANNEL, FS_USER, IS_USER, MANAGER, OTHER_USER, Harness, team_config
from tests.db_fixtures import BACKENDS
from tests.test_feedback_modals import full_sheet_state, outcome_state, radio, text
from tests.test_feedback_modals import select as star
from tests.test_tossup_flow import block_text, click, count, only_handoff, tossed_up

FS_DM, IS_DM = f"D{FS_USER}", f"D{IS_USER}"
NEXT_INFO = "利用人数\n現行システムの契約更新日"


def posts_to(h: Harness, channel: str) -> list:
    return [c for c in h.slack.calls_to("chat.postMessage") if c.args["channel"] == channel]


def with_button(calls: list, action_id: str) -> list:
    return [c for c in calls if action_id in block_text(c.args["blocks"])]


async def tick(h: Harness) -> None:
    """One run of the scheduler's own feedback job (on the injected clock), then the outbox drained:
    what the running bot does every minute."""
    job = make_scheduler(h.bot.services).get_job(FEEDBACK_JOB_ID)
    assert job is not None
    await job.func()
    await h.bot.delivery.drain()


async def accepted(h: Harness, **memo: Any):
    handoff = await tossed_up(h, **memo)
    await click(h, ActionId.HANDOFF_ACCEPT, handoff.id, user=FS_USER, ts=handoff.notice_ts)
    await h.slack.wait_for("chat.update", count=3)  # the notice, its DM copy, the IS rep's confirmation
    await h.slack.wait_for("chat.postMessage", count=2, where=lambda c: c.args["channel"] == IS_DM)
    return await only_handoff(h)


async def open_modal(
    h: Harness, action: str, handoff_id: int, *, user: str, channel: str = FS_CHANNEL
) -> dict:
    """Click a feedback-loop button and return the modal Slack was asked to open."""
    before = len(h.slack.calls_to("views.open"))
    response = await click(h, action, handoff_id, user=user, channel=channel)
    assert response.status == 200
    opened = await h.slack.wait_for("views.open", count=before + 1)
    return opened[-1].args["view"]


async def submit(
    h: Harness, callback: str, modal: dict, values: dict, *, user: str, view_id: str | None = None
):
    return await h.driver.view_submission(
        callback, values, user_id=user, private_metadata=modal["private_metadata"], view_id=view_id
    )


def sheet_values(**changes: dict) -> dict:
    answers = {
        "feedback_result": radio("progress"),
        "feedback_bant_accuracy": star("4"),
        "feedback_issue_depth": star("3"),
        "feedback_memo_completeness": star("5"),
        "feedback_overall": star("4"),
        "feedback_good": text("決裁プロセスが明確で、次のステップをすぐ提案できた"),
        "feedback_improve": text("競合比較の状況が分かると、デモの準備がしやすい"),
        "feedback_next_info": text(NEXT_INFO),
    }
    return full_sheet_state(**{**answers, **changes})


def rating_values(stars: str, comment: str | None = None) -> dict:
    return {
        BlockId.IS_RATING_FOLLOW_THROUGH: {ActionId.IS_RATING_FOLLOW_THROUGH: star(stars)},
        BlockId.IS_RATING_COMMENT: {ActionId.IS_RATING_COMMENT: text(comment)},
    }


async def stored(h: Harness, model: type, handoff_id: int):
    async with h.bot.services.sessions() as session:
        return await session.get(model, handoff_id)


# ---------------------------------------------------------------- the whole loop


@pytest.mark.parametrize("backend", BACKENDS)
async def test_the_full_loop_from_toss_up_to_kpis(harness: Harness) -> None:
    h = harness
    start = h.clock()
    handoff = await accepted(h)
    meeting_at = handoff.memo.meeting_at
    assert meeting_at is not None

    # The accepted notice already offers the rating, so FS need not wait for the DM.
    refreshed = h.slack.message(FS_CHANNEL, handoff.notice_ts)
    assert ActionId.FEEDBACK_OPEN in block_text(refreshed["blocks"])

    await tick(h)  # the meeting is days away: nobody is asked yet
    assert with_button(posts_to(h, FS_DM), ActionId.FEEDBACK_OPEN) == []

    h.clock.now = meeting_at + timedelta(hours=2, minutes=1)  # the meeting plus the 2 h delay
    await tick(h)
    await tick(h)  # a second tick (another replica, a restart) asks nothing twice
    (request,) = with_button(posts_to(h, FS_DM), ActionId.FEEDBACK_OPEN)
    assert "Acme Corp" in block_text(request.args["blocks"])  # FS_USER reads English

    h.clock.advance(hours=24)  # still no sheet a day later: reminder 1
    await tick(h)
    assert len(with_button(posts_to(h, FS_DM), ActionId.FEEDBACK_OPEN)) == 2

    # FS rates from the DM: the modal shows the memo so the rep needn't look it up.
    modal = await open_modal(h, ActionId.FEEDBACK_OPEN, handoff.id, user=FS_USER, channel=FS_DM)
    assert modal["callback_id"] == CallbackId.FEEDBACK_SHEET and "Acme Corp" in json.dumps(modal)
    response = await submit(h, CallbackId.FEEDBACK_SHEET, modal, sheet_values(), user=FS_USER)
    assert response.status == 200 and not response.text, response.text

    # IS is told at once, constructively: what was good first, with the completed score.
    told = await h.slack.wait_for("chat.postMessage", count=3, where=lambda c: c.args["channel"] == IS_DM)
    feedback_dm = block_text(told[-1].args["blocks"])
    assert "決裁プロセスが明確" in feedback_dm and f"<@{FS_USER}>" in feedback_dm
    assert feedback_dm.index("決裁プロセスが明確") < feedback_dm.index("競合比較")
    assert ActionId.IS_RATING_OPEN in feedback_dm

    # The score is complete (memo points + 30-point FS rating) in the database and on the notice.
    row = await stored(h, Handoff, handoff.id)
    full = ScoreBreakdown.from_json(row.score)
    fs_item = full.item(ScoreItemKey.FS_RATING)
    assert fs_item is not None and fs_item.max_points == 30 and full.max_total == 100
    assert fs_item.points == 23  # 30 × (3 + 2 + 4 + 3) / 16 = 22.5, rounded half up
    assert row.score_total == full.total == handoff.score.total + fs_item.points
    await h.slack.wait_for("chat.update", count=6)
    notice = h.slack.message(FS_CHANNEL, handoff.notice_ts)
    assert f"{full.total} / 100" in block_text(notice["blocks"])
    assert "評価を修正する" in block_text(notice["blocks"])  # its button now edits the sheet

    h.clock.advance(hours=48)  # the sheet is in: the reminders stop
    await tick(h)
    assert len(with_button(posts_to(h, FS_DM), ActionId.FEEDBACK_OPEN)) == 2

    # Two-way: IS rates FS's follow-through; FS is told.
    modal = await open_modal(h, ActionId.IS_RATING_OPEN, handoff.id, user=IS_USER, channel=IS_DM)
    response = await submit(
        h, CallbackId.IS_RATING, modal, rating_values("5", "報告が早くて助かった"), user=IS_USER
    )
    assert response.status == 200 and not response.text, response.text
    (rated,) = await h.slack.wait_for(
        "chat.postMessage", where=lambda c: c.args["channel"] == FS_DM and "★★★★★" in c.args["text"]
    )
    assert "報告が早くて助かった" in block_text(rated.args["blocks"])

    # FS records the win from the notice; IS hears of it (the win is theirs too), the notice shows it.
    won_on = (h.clock() + timedelta(days=30)).date()
    modal = await open_modal(h, ActionId.OUTCOME_OPEN, handoff.id, user=FS_USER)
    response = await submit(
        h, CallbackId.OUTCOME, modal, outcome_state("won", "3,000,000", won_on.isoformat()), user=FS_USER
    )
    assert response.status == 200 and not response.text, response.text
    await h.slack.wait_for(
        "chat.postMessage", where=lambda c: c.args["channel"] == IS_DM and "3,000,000円" in c.args["text"]
    )
    await h.slack.wait_for("chat.update", count=9)
    assert "🏆" in block_text(h.slack.message(FS_CHANNEL, handoff.notice_ts)["blocks"])

    # KPIs over what the loop stored: one toss-up, accepted, rated, won; the win is credited to both.
    month = start.astimezone(h.bot.services.config.tz).strftime("%Y-%m")
    async with h.bot.services.sessions() as session:
        facts = await load_kpi_facts(session=session, start=start - timedelta(days=1), end=h.clock())
    for user in (None, IS_USER, FS_USER):
        kpis = compute_kpis(facts, start=start - timedelta(days=1), end=h.clock(), user=user)
        assert (kpis.toss_ups, kpis.accepted, kpis.rated, kpis.won, kpis.won_amount) == (
            1,
            1,
            1,
            1,
            3_000_000,
        )
        assert kpis.win_rate == 1.0 and kpis.avg_quality_score == full.total
    reports = {user: await h.ask(f"kpi {month}", user_id=user) for user in (IS_USER, FS_USER, MANAGER)}
    for user, report in reports.items():
        assert report is not None and report["response_type"] == "ephemeral"
        shown = block_text(report["blocks"])
        assert "100.0%" in shown and str(full.total) in shown
        assert ("3,000,000円" if user != FS_USER else "¥3,000,000") in shown
    assert f"<@{IS_USER}>" in block_text(reports[MANAGER]["blocks"])  # managers see each rep
    assert f"<@{FS_USER}>" in block_text(reports[MANAGER]["blocks"])
    assert (await stored(h, IsRatingRecord, handoff.id)) is not None
    assert (await stored(h, OutcomeRecord, handoff.id)).kind == "won"

    # The learning loop: IS's next memo lists what FS asked them to collect.
    await h.driver.slash("", user_id=IS_USER)
    memo_modal = (await h.slack.wait_for("views.open", count=4))[-1].args["view"]
    dumped = json.dumps(memo_modal, ensure_ascii=False)
    assert "利用人数" in dumped and "契約更新日" in dumped


# ---------------------------------------------------------------- who may, and when


async def test_only_the_fs_rep_rates_and_only_once_accepted(harness: Harness) -> None:
    h = harness
    handoff = await tossed_up(h)
    await click(h, ActionId.FEEDBACK_OPEN, handoff.id, user=FS_USER)  # pending: too early
    (early,) = await h.slack.wait_for("response_url")
    assert "Acme Corp" in early.args["text"] and early.args["response_type"] == "ephemeral"

    await click(h, ActionId.HANDOFF_ACCEPT, handoff.id, user=FS_USER)
    await h.slack.wait_for("chat.update", count=3)
    for user in (OTHER_USER, MANAGER, IS_USER):  # the sheet is the FS rep's view of the meeting
        await click(h, ActionId.FEEDBACK_OPEN, handoff.id, user=user)
    refusals = await h.slack.wait_for("response_url", count=4)
    assert all(f"<@{FS_USER}>" in r.args["text"] for r in refusals[1:])
    await h.slack.assert_no_more("views.open", count=0)

    # A modal opened by the rep and submitted by someone else's session is refused on the form.
    modal = await open_modal(h, ActionId.FEEDBACK_OPEN, handoff.id, user=FS_USER)
    body = (await submit(h, CallbackId.FEEDBACK_SHEET, modal, sheet_values(), user=OTHER_USER)).json()
    assert body is not None and BlockId.FEEDBACK_RESULT in body["errors"]
    assert await count(h, FeedbackRecord) == 0


async def test_is_rates_fs_and_managers_may_record_outcomes(harness: Harness) -> None:
    h = harness
    handoff = await accepted(h)
    await click(h, ActionId.IS_RATING_OPEN, handoff.id, user=FS_USER, channel=FS_DM)
    (refused,) = await h.slack.wait_for("response_url")
    assert f"<@{IS_USER}>" in refused.args["text"]
    modal = await open_modal(h, ActionId.OUTCOME_OPEN, handoff.id, user=MANAGER)
    values = outcome_state("lost", reason="予算が来期に持ち越し")
    assert (await submit(h, CallbackId.OUTCOME, modal, values, user=MANAGER)).status == 200
    (told,) = await h.slack.wait_for(
        "chat.postMessage",
        where=lambda c: c.args["channel"] == IS_DM and "予算が来期に持ち越し" in c.args["text"],
    )
    assert f"<@{MANAGER}>" in told.args["text"]
    assert (await stored(h, OutcomeRecord, handoff.id)).recorded_by == MANAGER


async def test_unassigned_toss_up_is_rated_by_whoever_accepted_it(harness: Harness) -> None:
    h = harness
    handoff = await tossed_up(h, fs_user_id=None)
    await click(h, ActionId.HANDOFF_ACCEPT, handoff.id, user=OTHER_USER)
    await h.slack.wait_for("chat.update")
    modal = await open_modal(h, ActionId.FEEDBACK_OPEN, handoff.id, user=OTHER_USER)
    assert (await submit(h, CallbackId.FEEDBACK_SHEET, modal, sheet_values(), user=OTHER_USER)).status == 200
    assert (await stored(h, FeedbackRecord, handoff.id)).rater_id == OTHER_USER


# ---------------------------------------------------------------- nothing lost, nothing doubled


async def test_a_second_sheet_edits_the_first_and_the_same_one_twice_changes_nothing(
    harness: Harness,
) -> None:
    h = harness
    handoff = await accepted(h)
    modal = await open_modal(h, ActionId.FEEDBACK_OPEN, handoff.id, user=FS_USER)

    async def send() -> int:
        response = await submit(
            h, CallbackId.FEEDBACK_SHEET, modal, sheet_values(), user=FS_USER, view_id="V0SHEET"
        )
        return response.status

    assert await asyncio.gather(send(), send()) == [200, 200]  # a double click on Send: one sheet, one DM
    await h.slack.wait_for("chat.postMessage", count=3, where=lambda c: c.args["channel"] == IS_DM)
    await h.bot.delivery.wait_idle()
    assert len(posts_to(h, IS_DM)) == 3  # the toss-up's confirmation, the acceptance, one feedback DM
    record = await stored(h, FeedbackRecord, handoff.id)
    assert record.revisions == 1

    again = await open_modal(h, ActionId.FEEDBACK_OPEN, handoff.id, user=FS_USER)
    assert "決裁プロセスが明確" in json.dumps(again, ensure_ascii=False)  # pre-filled with the first
    all_fives = {name: star("5") for name in ("feedback_bant_accuracy", "feedback_issue_depth")}
    values = sheet_values(**all_fives, feedback_memo_completeness=star("5"), feedback_overall=star("5"))
    assert (await submit(h, CallbackId.FEEDBACK_SHEET, again, values, user=FS_USER)).status == 200
    await h.slack.wait_for("chat.postMessage", count=4, where=lambda c: c.args["channel"] == IS_DM)
    await h.bot.delivery.wait_idle()

    record = await stored(h, FeedbackRecord, handoff.id)
    assert record.revisions == 2 and record.sheet["overall"] == 5
    async with h.bot.services.sessions() as session:
        events = await list_events(session=session, handoff_id=handoff.id)
    history = [e.detail["sheet"]["overall"] for e in events if e.kind is EventKind.FEEDBACK_SUBMITTED]
    assert history == [4, 5]  # the first version is kept
    row = await stored(h, Handoff, handoff.id)
    assert ScoreBreakdown.from_json(row.score).item(ScoreItemKey.FS_RATING).points == 30


async def test_bad_sheets_and_outcomes_get_field_errors_and_store_nothing(harness: Harness) -> None:
    h = harness
    handoff = await accepted(h)
    modal = await open_modal(h, ActionId.FEEDBACK_OPEN, handoff.id, user=FS_USER)
    values = sheet_values(feedback_overall=star(None), feedback_result=radio(None))
    body = (await submit(h, CallbackId.FEEDBACK_SHEET, modal, values, user=FS_USER)).json()
    assert body is not None and set(body["errors"]) == {BlockId.FEEDBACK_RESULT, BlockId.FEEDBACK_OVERALL}
    assert "stars" in body["errors"][BlockId.FEEDBACK_OVERALL]  # FS_USER's modal is in English

    modal = await open_modal(h, ActionId.OUTCOME_OPEN, handoff.id, user=FS_USER)
    body = (await submit(h, CallbackId.OUTCOME, modal, outcome_state("won", "abc"), user=FS_USER)).json()
    assert body is not None and set(body["errors"]) == {BlockId.OUTCOME_AMOUNT, BlockId.OUTCOME_CLOSED_ON}
    # a close date before the memo's first contact: a typo that would make a negative lead time
    first_contact = handoff.memo.first_contact_on
    assert first_contact is not None
    early = (first_contact - timedelta(days=1)).isoformat()
    state = outcome_state("won", "1000000", closed_on=early)
    body = (await submit(h, CallbackId.OUTCOME, modal, state, user=FS_USER)).json()
    assert body is not None and list(body["errors"]) == [BlockId.OUTCOME_CLOSED_ON]
    assert format_date(first_contact, Lang.EN) in body["errors"][BlockId.OUTCOME_CLOSED_ON]
    assert await count(h, FeedbackRecord) == 0 and await count(h, OutcomeRecord) == 0
    same_day = outcome_state("won", "1000000", closed_on=first_contact.isoformat())
    assert not ((await submit(h, CallbackId.OUTCOME, modal, same_day, user=FS_USER)).json() or {}).get(
        "errors"
    )
    assert await count(h, OutcomeRecord) == 1


async def test_slack_down_when_the_sheet_is_sent_loses_nothing(harness: Harness) -> None:
    h = harness
    handoff = await accepted(h)
    modal = await open_modal(h, ActionId.FEEDBACK_OPEN, handoff.id, user=FS_USER)
    # Four failed attempts: the outbox backs chat.postMessage off between them (no retries in the client).
    h.slack.fail_next("chat.postMessage", status=500, times=4)
    assert (await submit(h, CallbackId.FEEDBACK_SHEET, modal, sheet_values(), user=FS_USER)).status == 200
    await h.bot.delivery.wait_idle()
    assert (await stored(h, FeedbackRecord, handoff.id)) is not None  # stored first
    for _ in range(6):  # the retry loop, with its backoff, until Slack is back
        h.clock.advance(minutes=30)
        await h.bot.delivery.drain()
    told = [c for c in posts_to(h, IS_DM) if "決裁プロセスが明確" in block_text(c.args["blocks"])]
    assert len(told) == 1


ANONYMOUS = team_config(roles={"managers": [MANAGER]}, feedback={"anonymous": True})


@pytest.mark.parametrize("config", [ANONYMOUS])
async def test_anonymous_mode_hides_the_rater_from_is(harness: Harness, config: AppConfig) -> None:
    h = harness
    handoff = await accepted(h)
    modal = await open_modal(h, ActionId.FEEDBACK_OPEN, handoff.id, user=FS_USER)
    assert (await submit(h, CallbackId.FEEDBACK_SHEET, modal, sheet_values(), user=FS_USER)).status == 200
    told = await h.slack.wait_for("chat.postMessage", count=3, where=lambda c: c.args["channel"] == IS_DM)
    dumped = block_text(told[-1].args["blocks"]) + told[-1].args["text"]
    assert "決裁プロセスが明確" in dumped and FS_USER not in dumped


BUSINESS_HOURS = team_config(
    roles={"managers": [MANAGER]},
    feedback={"delay_hours": 1, "remind_every_hours": 4, "max_reminders": 2},
    sla={"business_hours": {"start": "09:00", "end": "18:00", "days": [0, 1, 2, 3, 4]}},
)


@pytest.mark.parametrize("config", [BUSINESS_HOURS])
async def test_requests_and_reminders_keep_to_working_hours_and_stop_at_the_maximum(
    harness: Harness, config: AppConfig
) -> None:
    h = harness
    tokyo = config.tz
    h.clock.now = datetime(2026, 11, 26, 10, 0, tzinfo=tokyo).astimezone(UTC)  # a Thursday morning
    meeting = datetime(2026, 11, 27, 17, 30, tzinfo=tokyo)  # Friday 17:30: due 18:30, after hours
    handoff = await accepted(h, meeting_at=meeting)
    h.clock.now = datetime(2026, 11, 27, 19, 0, tzinfo=tokyo).astimezone(UTC)
    await tick(h)
    assert with_button(posts_to(h, FS_DM), ActionId.FEEDBACK_OPEN) == []  # queued for Monday 09:00
    h.clock.now = datetime(2026, 11, 30, 9, 1, tzinfo=tokyo).astimezone(UTC)
    await tick(h)
    assert len(with_button(posts_to(h, FS_DM), ActionId.FEEDBACK_OPEN)) == 1
    for hours in (4, 4, 4, 24):  # reminders 4 working hours apart, two at most
        h.clock.advance(hours=hours)
        await tick(h)
    requests = with_button(posts_to(h, FS_DM), ActionId.FEEDBACK_OPEN)
    reminders = [c for c in requests if "Reminder" in c.args["text"]]
    assert len(requests) == 3 and [r.args["text"][:10] for r in reminders] == ["Reminder 1", "Reminder 2"]
    async with h.bot.services.sessions() as session:
        queued = await session.scalars(
            select(OutboxMessage.dedupe_key).where(OutboxMessage.handoff_id == handoff.id)
        )
        assert {k for k in queued if k.startswith("feedback_")} == {
            f"feedback_request:{handoff.id}",
            f"feedback_reminder:{handoff.id}:1",
            f"feedback_reminder:{handoff.id}:2",
        }


async def test_app_home_lists_the_meetings_fs_has_yet_to_follow_up(harness: Harness) -> None:
    h = harness
    handoff = await accepted(h)

    async def home_of_fs() -> str:
        before = len(h.slack.calls_to("views.publish"))
        await h.driver.event({"type": "app_home_opened", "user": FS_USER, "tab": "home", "channel": FS_DM})
        published = await h.slack.wait_for("views.publish", count=before + 1)
        return block_text(published[-1].args["view"]["blocks"])

    assert ActionId.FEEDBACK_OPEN not in await home_of_fs()  # the meeting is still ahead
    assert handoff.memo.meeting_at is not None
    h.clock.now = handoff.memo.meeting_at + timedelta(hours=1)
    assert "not rated yet" in await home_of_fs()
    modal = await open_modal(h, ActionId.FEEDBACK_OPEN, handoff.id, user=FS_USER, channel=FS_DM)
    assert (await submit(h, CallbackId.FEEDBACK_SHEET, modal, sheet_values(), user=FS_USER)).status == 200
    assert "Edit your rating" in await home_of_fs()  # rated; the outcome is still to record, from Home
    modal = await open_modal(h, ActionId.OUTCOME_OPEN, handoff.id, user=FS_USER, channel=FS_DM)
    values = outcome_state("won", "1200000", (h.clock() + timedelta(days=1)).date().isoformat())
    assert (await submit(h, CallbackId.OUTCOME, modal, values, user=FS_USER)).status == 200
    assert ActionId.OUTCOME_OPEN not in await home_of_fs()  # nothing owed any more


async def test_kpi_command_explains_a_period_it_does_not_understand(harness: Harness) -> None:
    body = (await harness.driver.slash("kpi someday", user_id=FS_USER)).json()
    assert body is not None and body["response_type"] == "ephemeral" and "/tossup kpi 2026-10" in body["text"]
    empty = await harness.ask("kpi", user_id=IS_USER)  # this month, nothing yet
    assert empty is not None and empty["response_type"] == "ephemeral" and "KPI" in empty["text"]
    # On the 1st this month is empty: the answer says how to see last month's (not when one was named)
    assert "/tossup kpi 先月" in str(empty["blocks"])
    named = await harness.ask("kpi 今月", user_id=IS_USER)
    assert named is not None and "/tossup kpi 先月" not in str(named["blocks"])


async def test_a_full_width_space_after_the_sub_command_works_too(harness: Harness) -> None:
    body = await harness.ask("成果\u3000先月", user_id=IS_USER)  # typed with a Japanese IME
    assert body is not None and body["response_type"] == "ephemeral" and "KPI" in body["text"]
    await harness.slack.assert_no_more("views.open", count=0)  # not a memo for a company "成果 先月"


async def test_managers_see_this_months_team_kpis_on_app_home(harness: Harness) -> None:
    h = harness
    await accepted(h)
    for user in (MANAGER, FS_USER):
        await h.driver.event({"type": "app_home_opened", "user": user, "tab": "home", "channel": f"D{user}"})
    published = await h.slack.wait_for("views.publish", count=2)
    by_user = {c.args["user_id"]: block_text(c.args["view"]["blocks"]) for c in published}
    assert "共通KPI" in by_user[MANAGER] and "100.0%（1/1）" in by_user[MANAGER]  # accepted 1 of 1
    assert "Team KPIs" not in by_user[FS_USER]  # FS reads English; the section is for managers
