"""Issue 12 (App Home and time zones) over the wire: an IS rep in New York reads New York times in their
DMs and App Home while the FS channel keeps the team's zone (Asia/Tokyo); the rep's App Home shows the
feedback they received (stars, the three texts, FS's "collect next time" list) and their KPIs of this
month; anonymous mode hides the rater there too. Plus the users.info time zone lookup itself."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.config import AppConfig
from bot.domain.feedback import FEEDBACK_TEXT_MAX, FeedbackSheet, FollowUp, MeetingResult
from bot.domain.handoff import HandoffStatus
from bot.domain.kpi import compute_kpis, current_month
from bot.domain.received_feedback import SheetReceived, received_feedback
from bot.i18n import Lang, t
from bot.slack import SlackUsers, make_client, slack_zone
from modals.home import build_home
from modals.ids import ActionId, CallbackId
from modals.limits import check_slack_limits
from store.home import sheets_received
from store.kpi import load_kpi_facts
from tests.conftest import FS_CHANNEL, FS_USER, IS_USER, MANAGER, Harness, team_config
from tests.db_fixtures import BACKENDS
from tests.fake_slack import FakeSlack
from tests.test_feedback_flow import IS_DM, accepted, open_modal, posts_to, sheet_values, submit
from tests.test_feedback_modals import outcome_state
from tests.test_method_flow import tick as sla_tick
from tests.test_modals import EVIL, assert_escaped, sample_handoff
from tests.test_tossup_flow import block_text, tossed_up

NEW_YORK, TOKYO = ZoneInfo("America/New_York"), ZoneInfo("Asia/Tokyo")


def clock_text(moment: datetime, zone: ZoneInfo) -> str:
    """How a time reads in `zone` ("21:30 EST"), worked out here, not by the bot's formatter."""
    local = moment.astimezone(zone)
    return f"{local.hour:02d}:{local.minute:02d} {local.tzname()}"


def lives_in(h: Harness, user: str, zone: str) -> None:
    """The user's Slack profile names `zone` (set before the bot first looks them up)."""
    h.slack.users[user] = {**h.slack.users[user], "tz": zone}


async def home_of(h: Harness, user: str) -> str:
    before = len(h.slack.calls_to("views.publish"))
    await h.driver.event({"type": "app_home_opened", "user": user, "tab": "home", "channel": f"D{user}"})
    published = await h.slack.wait_for("views.publish", count=before + 1)
    assert published[-1].args["user_id"] == user
    return block_text(published[-1].args["view"]["blocks"])


async def rated(h: Harness, handoff_id: int, **changes: dict) -> None:
    modal = await open_modal(h, ActionId.FEEDBACK_OPEN, handoff_id, user=FS_USER)
    response = await submit(h, CallbackId.FEEDBACK_SHEET, modal, sheet_values(**changes), user=FS_USER)
    assert response.status == 200
    await h.slack.wait_for("chat.postMessage", count=3, where=lambda c: c.args["channel"] == IS_DM)


# ---------------------------------------------------------------- each person's own zone, over the wire


@pytest.mark.parametrize("backend", BACKENDS)
async def test_a_rep_in_new_york_reads_new_york_times_while_the_channel_keeps_the_teams(
    harness: Harness,
) -> None:
    h = harness
    lives_in(h, IS_USER, "America/New_York")
    handoff = await accepted(h)
    assert handoff.decided_at is not None and handoff.memo.meeting_at is not None
    decided_ny, decided_jst = clock_text(handoff.decided_at, NEW_YORK), clock_text(handoff.decided_at, TOKYO)

    # The decision DM to the IS rep: New York time, not the team's.
    decision_dm = posts_to(h, IS_DM)[-1]
    dm_text = block_text(decision_dm.args["blocks"]) + decision_dm.args["text"]
    assert decided_ny in dm_text and decided_jst not in dm_text
    # The notice in the FS channel, updated with the decision: the team's zone.
    channel_notice = h.slack.message(FS_CHANNEL, handoff.notice_ts)
    assert decided_jst in block_text(channel_notice["blocks"]) and decided_ny not in block_text(
        channel_notice["blocks"]
    )

    await rated(h, handoff.id)
    meeting_ny = clock_text(handoff.memo.meeting_at, NEW_YORK)
    told = posts_to(h, IS_DM)[-1]  # FS's sheet, forwarded to the IS rep
    assert meeting_ny in block_text(told.args["blocks"])
    assert clock_text(handoff.memo.meeting_at, TOKYO) not in block_text(told.args["blocks"])

    home = await home_of(h, IS_USER)
    assert meeting_ny in home and clock_text(handoff.memo.meeting_at, TOKYO) not in home
    h.clock.now = handoff.memo.meeting_at + timedelta(hours=1)  # FS's home lists it to follow up
    fs_home = await home_of(h, FS_USER)  # FS lives in Tokyo: the same meeting, in Tokyo time
    assert clock_text(handoff.memo.meeting_at, TOKYO) in fs_home and meeting_ny not in fs_home


async def test_a_zone_slack_names_that_is_unknown_here_falls_back_to_the_teams(harness: Harness) -> None:
    h = harness
    lives_in(h, IS_USER, "Mars/Olympus_Mons")
    handoff = await accepted(h)
    assert handoff.decided_at is not None
    decision_dm = posts_to(h, IS_DM)[-1]
    assert clock_text(handoff.decided_at, TOKYO) in block_text(decision_dm.args["blocks"])


async def test_the_fs_reps_own_zone_in_the_notice_dm_copy_and_the_feedback_modal(harness: Harness) -> None:
    h = harness
    lives_in(h, FS_USER, "America/New_York")
    handoff = await accepted(h)
    assert handoff.decided_at is not None and handoff.memo.meeting_at is not None
    dm_copy = h.slack.message(f"D{FS_USER}", handoff.dm_ts)  # updated in place with the decision
    assert clock_text(handoff.decided_at, NEW_YORK) in block_text(dm_copy["blocks"])
    channel_notice = h.slack.message(FS_CHANNEL, handoff.notice_ts)
    assert clock_text(handoff.decided_at, TOKYO) in block_text(channel_notice["blocks"])
    modal = await open_modal(h, ActionId.FEEDBACK_OPEN, handoff.id, user=FS_USER)
    assert clock_text(handoff.memo.meeting_at, NEW_YORK) in block_text(modal["blocks"])


async def test_the_memo_view_shows_the_meeting_in_the_readers_zone(harness: Harness) -> None:
    h = harness
    lives_in(h, IS_USER, "America/New_York")
    handoff = await tossed_up(h)
    assert handoff.memo.meeting_at is not None
    for user, zone in ((IS_USER, NEW_YORK), (FS_USER, TOKYO)):
        view = await open_modal(h, ActionId.HANDOFF_VIEW, handoff.id, user=user)
        assert clock_text(handoff.memo.meeting_at, zone) in block_text(view["blocks"]), user


async def test_sla_reminders_and_escalations_in_each_readers_zone(harness: Harness) -> None:
    h = harness
    lives_in(h, FS_USER, "America/New_York")
    lives_in(h, MANAGER, "Europe/London")
    handoff = await tossed_up(h)
    h.clock.advance(hours=32, minutes=1)  # past the deadline and the escalation after it
    await sla_tick(h)
    await sla_tick(h)
    created = handoff.created_at
    reminder = block_text(posts_to(h, f"D{FS_USER}")[-1].args["blocks"])  # after the notice's DM copy
    assert "⏰" in reminder and clock_text(created, NEW_YORK) in reminder
    escalated = block_text(posts_to(h, f"D{MANAGER}")[-1].args["blocks"])
    assert clock_text(created, ZoneInfo("Europe/London")) in escalated
    thread = [c for c in posts_to(h, FS_CHANNEL) if c.args.get("thread_ts") == handoff.notice_ts]
    assert len(thread) == 1 and clock_text(created, TOKYO) in block_text(thread[0].args["blocks"])


# ---------------------------------------------------------------- the IS rep's App Home


@pytest.mark.parametrize("backend", BACKENDS)
async def test_the_is_reps_home_shows_the_feedback_received_and_this_months_kpis(harness: Harness) -> None:
    h = harness
    empty = await home_of(h, IS_USER)
    assert "あなたが受け取ったフィードバック" in empty and "フィードバックシートはまだありません" in empty
    handoff = await accepted(h)
    await rated(h, handoff.id)

    home = await home_of(h, IS_USER)  # IS reads Japanese
    assert "あなたが受け取ったフィードバック" in home
    assert "決裁プロセスが明確" in home and "競合比較の状況" in home  # what was good, what to improve
    assert "★★★★☆" in home and "★★★☆☆" in home and "★★★★★" in home  # the four ratings: 4, 3, 5, 4
    assert "• 利用人数" in home and "• 現行システムの契約更新日" in home  # collect next time, one per line
    assert f"<@{FS_USER}>" in home  # not anonymous: who rated it
    assert "あなたのKPI" in home and "100.0%（1/1）" in home  # 1 tossed up, 1 of 1 decided accepted


ROLES = team_config(roles={"managers": [MANAGER], "inside_sales": [IS_USER], "field_sales": [FS_USER]})


@pytest.mark.parametrize("config", [ROLES])
async def test_with_roles_only_is_reps_get_the_is_part(harness: Harness, config: AppConfig) -> None:
    h = harness
    handoff = await accepted(h)
    await rated(h, handoff.id)
    assert "Feedback you received" not in await home_of(h, FS_USER)  # FS reads English
    assert "あなたが受け取ったフィードバック" in await home_of(h, IS_USER)

    fs_home = await home_of(h, FS_USER)
    # /tossup would refuse them: no "type /tossup" and no empty list of toss-ups of their own
    assert "/tossup` to write" not in fs_home and "Your toss-ups" not in fs_home
    assert "Waiting for your decision" in fs_home  # what is theirs to do
    assert "あなたのトスアップ（最新10件）" in await home_of(h, IS_USER)


@pytest.mark.parametrize("backend", BACKENDS)
async def test_the_is_reps_toss_ups_read_won_once_fs_recorded_the_win(harness: Harness) -> None:
    h = harness
    handoff = await accepted(h)
    assert "— 受け入れ済み（商談" in await home_of(h, IS_USER)
    modal = await open_modal(h, ActionId.OUTCOME_OPEN, handoff.id, user=FS_USER)
    won_on = (h.clock() + timedelta(days=30)).date().isoformat()
    response = await submit(
        h, CallbackId.OUTCOME, modal, outcome_state("won", "3000000", won_on), user=FS_USER
    )
    assert response.status == 200 and not response.text, response.text
    home = await home_of(h, IS_USER)
    assert "— 受注（商談" in home and "— 受け入れ済み（商談" not in home, home


ANONYMOUS = team_config(roles={"managers": [MANAGER]}, feedback={"anonymous": True})


@pytest.mark.parametrize("config", [ANONYMOUS])
async def test_anonymous_mode_hides_the_rater_on_the_is_reps_home(
    harness: Harness, config: AppConfig
) -> None:
    h = harness
    handoff = await accepted(h)
    await rated(h, handoff.id)
    home = await home_of(h, IS_USER)
    assert "決裁プロセスが明確" in home and "FS が評価" in home
    assert FS_USER not in home


@pytest.mark.parametrize("backend", BACKENDS)
async def test_the_home_reads_are_bounded_and_only_the_reps_own(harness: Harness) -> None:
    """Straight against the store the bot runs on: sheets newest toss-up first and at most `limit`; the
    rep's KPI read keeps only their toss-ups and counts them as the team-wide read does."""
    h = harness
    first = await accepted(h)
    await rated(h, first.id)
    sessions, now = h.bot.services.sessions, h.clock()
    async with sessions() as session:
        sheets = await sheets_received(session=session, is_user_id=IS_USER, limit=5)
        none = await sheets_received(session=session, is_user_id=FS_USER, limit=5)
        capped = await sheets_received(session=session, is_user_id=IS_USER, limit=0)
    assert [s.handoff_id for s in sheets] == [first.id] and none == [] and capped == []
    assert sheets[0].rater_id == FS_USER and sheets[0].sheet["good"].startswith("決裁プロセス")
    period = current_month(now=now, tz=TOKYO)
    async with sessions() as session:
        everyone = await load_kpi_facts(session=session, start=period.start, end=period.end)
        mine = await load_kpi_facts(session=session, start=period.start, end=period.end, user_id=IS_USER)
        stranger = await load_kpi_facts(
            session=session, start=period.start, end=period.end, user_id="U0NOBODY"
        )
    window = {"start": period.start, "end": period.end, "tz": TOKYO}
    assert compute_kpis(mine, user=IS_USER, **window) == compute_kpis(everyone, user=IS_USER, **window)
    assert stranger == [] and [f.id for f in mine] == [first.id]


# ---------------------------------------------------------------- pure: what App Home makes of the rows


def _row(handoff_id: int, at: datetime, **sheet: object) -> SheetReceived:
    data = {
        "result": "progress",
        "bant_accuracy": 4,
        "issue_depth": 4,
        "memo_completeness": 4,
        "overall": 4,
        **sheet,
    }
    return SheetReceived(handoff_id, f"Co {handoff_id}", None, FS_USER, data, at)


def test_received_feedback_is_newest_first_bounded_and_anonymous_when_asked() -> None:
    base = datetime(2026, 11, 1, tzinfo=UTC)
    rows = [
        _row(1, base, next_info="budget owner"),
        _row(2, base + timedelta(days=2), next_info="Budget  Owner"),  # the same ask, newer
        _row(3, base + timedelta(days=1), next_info="contract renewal"),
        _row(4, base + timedelta(days=3), overall=9),  # not a sheet any more: skipped
    ]
    named = received_feedback(rows, shown=2, learning_limit=5, anonymous=False)
    assert [s.handoff_id for s in named.sheets] == [2, 3] and named.sheets[0].rater_id == FS_USER
    assert named.collect_next == ("Budget  Owner", "contract renewal")
    assert (
        isinstance(named.sheets[0].sheet, FeedbackSheet)
        and named.sheets[0].sheet.result is MeetingResult.PROGRESS
    )
    hidden = received_feedback(rows, shown=5, learning_limit=0, anonymous=True)
    assert {s.rater_id for s in hidden.sheets} == {None} and hidden.collect_next == ()
    assert received_feedback([], shown=3, learning_limit=3, anonymous=False).is_empty


@pytest.mark.parametrize("lang", list(Lang))
def test_a_full_is_home_stays_within_slacks_limits_and_escapes_what_fs_wrote(lang: Lang) -> None:
    """Everything at once, each text at the sheet's maximum and hostile: still one valid Home view."""
    base = datetime(2026, 11, 1, tzinfo=UTC)
    long = (EVIL + " ") * (FEEDBACK_TEXT_MAX // (len(EVIL) + 1))
    rows = [
        _row(i, base + timedelta(hours=i), good=long, improve=long, next_info=f"{EVIL} {i}\n{long[:1900]}")
        for i in range(1, 21)
    ]
    received = received_feedback(rows, shown=3, learning_limit=10, anonymous=False)
    period = current_month(now=base, tz=TOKYO)
    kpis = compute_kpis([], start=period.start, end=period.end)
    handoff = sample_handoff(HandoffStatus.ACCEPTED, company=EVIL)
    view = build_home(
        lang=lang,
        tz=NEW_YORK,
        team_tz=TOKYO,
        tossed_up=[handoff] * 10,
        waiting=[sample_handoff(company=EVIL)] * 10,
        follow_ups=[FollowUp(handoff, rated=False, outcome=None)] * 10,
        team_kpis=(period, kpis),
        received=received,
        my_kpis=(period, kpis),
    ).to_dict()
    assert view["type"] == "home" and check_slack_limits(view) == []
    assert_escaped("", view)
    shown = json.dumps(view, ensure_ascii=False)
    assert "Asia/Tokyo" in shown  # the month is the team's
    assert FS_USER in shown and t(lang, "home.received.title") in shown
    assert len(received.sheets) == 3 and shown.count(t(lang, "feedback.to_is.improve")) == 3


# ---------------------------------------------------------------- the users.info lookup


@given(st.one_of(st.none(), st.integers(), st.text(max_size=60)))
def test_slack_zone_never_raises_and_names_a_real_zone_or_none(raw: object) -> None:
    zone = slack_zone(raw)
    assert zone is None or isinstance(zone, ZoneInfo)


def test_slack_zone_reads_iana_names() -> None:
    assert slack_zone("America/New_York") == NEW_YORK and slack_zone(" Asia/Tokyo ") == TOKYO
    assert (
        slack_zone("") is None and slack_zone("../../etc/passwd") is None and slack_zone("Nowhere/X") is None
    )


async def test_zones_are_cached_and_so_are_failures(slack: FakeSlack) -> None:
    slack.users["U0NY"] = {"tz": "America/New_York"}
    users = SlackUsers(
        client=make_client(token="xoxb-test", base_url=slack.base_url, retries=False), default="ja"
    )
    assert await users.zone("U0NY", fallback=TOKYO) == NEW_YORK
    assert await users.zone("U0NY", fallback=TOKYO) == NEW_YORK
    assert await users.zone("U0GONE", fallback=TOKYO) == TOKYO  # users.info: user_not_found
    assert await users.zone("U0GONE", fallback=TOKYO) == TOKYO  # remembered: not asked again
    assert await users.zone(None, fallback=TOKYO) == TOKYO  # nobody: nothing asked
    asked = [c.args["user"] for c in slack.calls_to("users.info", ok_only=False)]
    assert asked == ["U0NY", "U0GONE"]
    users.failure_ttl = 0  # once the failure is old, Slack is asked again
    slack.users["U0GONE"] = {"tz": "Europe/London"}
    assert await users.zone("U0GONE", fallback=TOKYO) == ZoneInfo("Europe/London")
