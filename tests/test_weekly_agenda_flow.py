"""Issue 8 over the wire: a week of toss-ups made, accepted, returned, rated and won through Slack
payloads; on Friday 09:00 (an injected clock) the scheduler's own job posts the agenda to the meeting
channel — a lead message and one thread reply per section — exactly once.

Scores worked out by hand (the seed's table, default weights):
- full memo: 70/70; without crm_url, campaign, other_notes, topics_to_avoid: completeness 25/29 × 15 =
  12.9 → 13 → 68; without background and impact: issue 2/4 × 15 = 7.5 → 8, completeness 27/29 × 15 =
  13.97 → 14 → 62.
- FS stars 4, 3, 5, 4 (weights 1), counted from one star: (3 + 2 + 4 + 3) / 16 × 30 = 22.5 → 23 points.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.config import FROM_FILE, AppConfig
from bot.digests import WEEKLY, reviewed_since_last_agenda
from bot.domain.agenda import AgendaStatus, SupportReason, WeeklyAgenda
from bot.domain.handoff import ReturnReason
from bot.domain.issues import Quadrant
from bot.domain.kpi import week_of
from bot.domain.memo import MemoField
from bot.domain.score import ScoreItemKey
from bot.i18n import Lang
from bot.scheduler import WEEKLY_DIGEST_CATCH_UP_JOB_ID, WEEKLY_DIGEST_JOB_ID, make_scheduler
from modals.ids import ActionId, BlockId, CallbackId
from modals.text import format_datetime
from store.models import DigestPost, Handoff
from store.outbox import pending_count
from tests.conftest import FS_CHANNEL, FS_USER, IS_USER, MANAGER, OTHER_USER, Harness, team_config
from tests.db_fixtures import BACKENDS
from tests.memo_state import full_memo_answers, memo_state
from tests.slack_driver import static_state, text_state
from tests.test_feedback_flow import open_modal, sheet_values
from tests.test_feedback_modals import outcome_state, radio
from tests.test_issues_flow import click_close, decision_values, logged, open_issue_modal
from tests.test_tossup_flow import block_text, click, memo_meta

TOKYO = ZoneInfo("Asia/Tokyo")
MEETING_CHANNEL = "C0MEETING"
DROP_OPTIONAL = ("crm_url", "campaign", "other_notes", "topics_to_avoid")  # → 68
DROP_ISSUE = ("background", "impact")  # → 62


def tokyo(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=TOKYO).astimezone(UTC)


@pytest.fixture
def config() -> AppConfig:
    return team_config(
        roles={"managers": [MANAGER]},
        digests={"weekly": {"channel": MEETING_CHANNEL, "cron": "0 9 * * FRI"}},
    )


async def settle(h: Harness) -> None:
    """Everything queued is sent (the handler's own sends may still be under way when it answered)."""
    for _ in range(100):
        await h.bot.delivery.drain()
        async with h.bot.services.sessions() as session:
            if await pending_count(session=session) == 0:
                return
        await asyncio.sleep(0.05)
    raise AssertionError("the outbox did not empty")


async def toss(
    h: Harness,
    company: str,
    *,
    at: datetime,
    meeting: datetime,
    user: str = IS_USER,
    drop: tuple = (),
    first_contact: date = date(2026, 11, 2),
) -> int:
    h.clock.now = at
    answers: dict[MemoField, Any] = full_memo_answers(
        meeting_at=meeting, first_contact_on=first_contact, fs_user_id=FS_USER
    )
    answers[MemoField.COMPANY] = company
    for name in drop:
        answers[MemoField(name)] = None
    response = await h.driver.view_submission(
        CallbackId.HANDOFF_MEMO, memo_state(answers), user_id=user, private_metadata=memo_meta()
    )
    assert response.status == 200 and not (response.json() or {}).get("errors"), response.text
    await settle(h)
    async with h.bot.services.sessions() as session:
        handoff = await session.scalar(select(Handoff).where(Handoff.company == company))
    assert handoff is not None and handoff.notice_ts is not None
    return handoff.id


async def accept(h: Harness, handoff_id: int, *, at: datetime) -> None:
    h.clock.now = at
    assert (await click(h, ActionId.HANDOFF_ACCEPT, handoff_id, user=FS_USER)).status == 200
    # A click is acked before the decision is stored: wait for it, or what follows may find it pending.
    for _ in range(200):
        async with h.bot.services.sessions() as session:
            if await session.scalar(select(Handoff.status).where(Handoff.id == handoff_id)) == "accepted":
                break
        await asyncio.sleep(0.02)
    else:
        raise AssertionError(f"toss-up #{handoff_id} was not accepted")
    await settle(h)


async def give_back(h: Harness, handoff_id: int, *, at: datetime, note: str) -> None:
    h.clock.now = at
    before = len(h.slack.calls_to("views.open"))
    await click(h, ActionId.HANDOFF_RETURN, handoff_id, user=FS_USER)
    modal = (await h.slack.wait_for("views.open", count=before + 1))[-1].args["view"]
    response = await h.driver.view_submission(
        CallbackId.RETURN_REASON,
        {
            BlockId.RETURN_REASON: {ActionId.RETURN_REASON: static_state("info_missing")},
            BlockId.RETURN_NOTE: {ActionId.RETURN_NOTE: text_state(note)},
        },
        user_id=FS_USER,
        private_metadata=modal["private_metadata"],
    )
    assert response.status == 200 and not (response.json() or {}).get("errors")
    await settle(h)


async def rate(h: Harness, handoff_id: int, *, at: datetime, result: str, next_info: str) -> None:
    h.clock.now = at
    modal = await open_modal(h, ActionId.FEEDBACK_OPEN, handoff_id, user=FS_USER)
    response = await h.driver.view_submission(
        CallbackId.FEEDBACK_SHEET,
        sheet_values(
            feedback_result=radio(result),
            feedback_next_info={"type": "plain_text_input", "value": next_info},
        ),
        user_id=FS_USER,
        private_metadata=modal["private_metadata"],
    )
    assert response.status == 200 and not (response.json() or {}).get("errors"), response.text
    await settle(h)


async def win(h: Harness, handoff_id: int, *, at: datetime) -> None:
    h.clock.now = at
    modal = await open_modal(h, ActionId.OUTCOME_OPEN, handoff_id, user=FS_USER)
    response = await h.driver.view_submission(
        CallbackId.OUTCOME,
        outcome_state("won", amount="3000000", closed_on="2026-12-03"),
        user_id=FS_USER,
        private_metadata=modal["private_metadata"],
    )
    assert response.status == 200 and not (response.json() or {}).get("errors"), response.text
    await settle(h)


async def fire(h: Harness, job_id: str = WEEKLY_DIGEST_JOB_ID) -> None:
    """One run of the scheduler's own weekly job on the injected clock, as APScheduler would run it."""
    job = make_scheduler(h.bot.services).get_job(job_id)
    assert job is not None
    await job.func(*job.args, **job.kwargs)


def meeting_posts(h: Harness) -> list:
    return [c for c in h.slack.calls_to("chat.postMessage") if c.args["channel"] == MEETING_CHANNEL]


async def digests(h: Harness) -> list[DigestPost]:
    async with h.bot.services.sessions() as session:
        return list((await session.scalars(select(DigestPost))).all())


async def a_week_of_toss_ups(h: Harness) -> dict[str, int]:
    ids: dict[str, int] = {}
    # last week (Wednesday 25 Nov): 62 points, accepted, met Tuesday 1 Dec, never rated
    ids["last"] = await toss(
        h, "Lastweek KK", at=tokyo(11, 25, 10), meeting=tokyo(12, 1, 14), drop=DROP_ISSUE
    )
    await accept(h, ids["last"], at=tokyo(11, 25, 11))
    # this week
    ids["alpha"] = await toss(h, "Alpha KK", at=tokyo(11, 30, 10), meeting=tokyo(12, 8, 14))  # never decided
    ids["beta"] = await toss(h, "Beta KK", at=tokyo(11, 30, 11), meeting=tokyo(12, 2, 15), drop=DROP_OPTIONAL)
    await accept(h, ids["beta"], at=tokyo(11, 30, 12))
    ids["gamma"] = await toss(h, "Gamma KK", at=tokyo(12, 1, 10), meeting=tokyo(12, 9, 10), drop=DROP_ISSUE)
    await give_back(h, ids["gamma"], at=tokyo(12, 1, 15), note="決裁者が不明です")
    ids["delta"] = await toss(h, "Delta KK", at=tokyo(12, 2, 10), meeting=tokyo(12, 3, 10), user=OTHER_USER)
    await accept(h, ids["delta"], at=tokyo(12, 2, 11))
    await rate(h, ids["beta"], at=tokyo(12, 3, 9), result="on_hold", next_info="決裁者の名前")
    await rate(h, ids["delta"], at=tokyo(12, 3, 12), result="progress", next_info="決裁者の名前。")
    await win(h, ids["delta"], at=tokyo(12, 3, 13))
    # a collaboration issue logged with /tossup issue (最優先: impact and urgency high)
    h.clock.now = tokyo(12, 3, 17)
    await open_issue_modal(h)
    await logged(h, problem="差し戻し理由が一言だけで、ISがメモを直せない", impact="high", urgency="high")
    return ids


@pytest.mark.parametrize("backend", BACKENDS)
async def test_friday_agenda_over_the_wire(harness: Harness) -> None:
    h = harness
    await a_week_of_toss_ups(h)

    h.clock.now = tokyo(12, 4, 8, 59)  # a minute early: the week is not due yet
    await fire(h, WEEKLY_DIGEST_CATCH_UP_JOB_ID)
    assert meeting_posts(h) == [] and await digests(h) == []

    h.clock.now = tokyo(12, 4, 9, 0)
    await fire(h)
    posts = meeting_posts(h)
    lead, replies = posts[0], posts[1:]
    assert "thread_ts" not in lead.args and len(replies) == 4
    assert {reply.args["thread_ts"] for reply in replies} == {lead.response["ts"]}

    (digest,) = await digests(h)
    assert (digest.kind, digest.channel_id, digest.period_start) == (
        WEEKLY,
        MEETING_CHANNEL,
        date(2026, 11, 30),
    )
    assert digest.lead_ts == lead.response["ts"] and digest.claimed_by == "schedule"
    agenda = WeeklyAgenda.model_validate(digest.content)

    # 1. this week's toss-ups, by hand
    week = agenda.this_week
    assert [(t.company, t.status, t.score, t.score_max) for t in week.toss_ups] == [
        ("Alpha KK", AgendaStatus.WAITING, 70, 70),
        ("Beta KK", AgendaStatus.RATED, 68 + 23, 100),
        ("Gamma KK", AgendaStatus.RETURNED, 62, 70),
        ("Delta KK", AgendaStatus.WON, 70 + 23, 100),
    ]
    assert week.counts[AgendaStatus.WAITING] == 1 and week.counts[AgendaStatus.RETURNED] == 1
    assert week.counts[AgendaStatus.RATED] == 1 and week.counts[AgendaStatus.WON] == 1
    assert week.counts[AgendaStatus.ACCEPTED] == 0 and week.counts[AgendaStatus.LOST] == 0
    assert week.team.average == pytest.approx((70 + 68 + 62 + 70) / 4)  # 67.5
    assert week.team.previous == pytest.approx(62) and week.team.change == pytest.approx(5.5)
    assert [(r.user_id, r.toss_ups, r.average) for r in week.by_rep] == [
        (OTHER_USER, 1, 70.0),
        (IS_USER, 3, pytest.approx((70 + 68 + 62) / 3)),
    ]
    # 2. deals needing support: last week's meeting without a sheet, Beta on hold, Alpha past the SLA
    assert [(s.company, s.reason) for s in agenda.support] == [
        ("Lastweek KK", SupportReason.FEEDBACK_OVERDUE),
        ("Beta KK", SupportReason.ON_HOLD),
        ("Alpha KK", SupportReason.PAST_SLA),
    ]
    # 3. next week: Alpha's meeting (Gamma's was returned), and Alpha still waiting
    assert [(m.company, m.meeting_at) for m in agenda.next_week.meetings] == [("Alpha KK", tokyo(12, 8, 14))]
    assert [w.company for w in agenda.next_week.waiting] == ["Alpha KK"]
    # 4. collaboration: the two scores below 70 with what lost most, the return, the requests
    collab = agenda.collaboration
    assert [(x.company, x.score, x.weakest_item, x.weakest_lost) for x in collab.low_scores] == [
        ("Gamma KK", 62, ScoreItemKey.ISSUE, 7),
        ("Beta KK", 68, ScoreItemKey.COMPLETENESS, 2),
    ]
    assert [(r.company, r.reason, r.note) for r in collab.returns] == [
        ("Gamma KK", ReturnReason.INFO_MISSING, "決裁者が不明です")
    ]
    assert collab.overrides == []
    assert [(r.text, r.count) for r in collab.requested_info] == [("決裁者の名前", 2)]
    assert [(i.problem, i.quadrant, i.owner_id) for i in collab.open_issues] == [
        ("差し戻し理由が一言だけで、ISがメモを直せない", Quadrant.TOP, FS_USER)
    ]

    # What the channel saw: every company in the thread, in its section
    section_text = [block_text(reply.args["blocks"]) for reply in replies]
    assert all(company in section_text[0] for company in ("Alpha KK", "Beta KK", "Gamma KK", "Delta KK"))
    assert "Lastweek KK" in section_text[1] and "Alpha KK" in section_text[2]
    assert "Gamma KK" in section_text[3] and "決裁者の名前" in section_text[3]

    # The job again (cron and catch-up both fire; a replica; a restart): nothing more is posted.
    await fire(h)
    await fire(h, WEEKLY_DIGEST_CATCH_UP_JOB_ID)
    h.clock.now = tokyo(12, 6, 23, 0)  # Sunday night, still this week
    await fire(h, WEEKLY_DIGEST_CATCH_UP_JOB_ID)
    assert len(meeting_posts(h)) == 5 and len(await digests(h)) == 1

    # In the meeting, the issue is closed from its Close button in section 4's reply …
    issues_reply = replies[3]
    (button,) = [
        element
        for block in issues_reply.args["blocks"]
        for element in [block.get("accessory") or {}]
        if element.get("action_id") == ActionId.ISSUE_CLOSE
    ]
    reply_ts = issues_reply.response["ts"]
    before = len(h.slack.calls_to("views.open"))
    await click_close(h, button["value"], channel=MEETING_CHANNEL, ts=reply_ts, thread_ts=lead.response["ts"])
    modal = (await h.slack.wait_for("views.open", count=before + 1))[-1].args["view"]
    closed = await h.driver.view_submission(
        CallbackId.COLLAB_ISSUE_CLOSE,
        decision_values("差し戻しは理由の選択と一文の説明を必須にする"),
        user_id=FS_USER,
        private_metadata=modal["private_metadata"],
    )
    assert closed.status == 200 and not (closed.json() or {}).get("errors"), closed.text
    await settle(h)
    in_thread = [p for p in meeting_posts(h) if p.args.get("thread_ts") == lead.response["ts"]]
    assert "差し戻しは理由の選択と一文の説明を必須にする" in block_text(in_thread[-1].args["blocks"])
    # … and the next Friday's agenda no longer lists it.
    h.clock.now = tokyo(12, 11, 9, 0)
    await fire(h)
    second = [d for d in await digests(h) if d.period_start == date(2026, 12, 7)]
    assert WeeklyAgenda.model_validate(second[0].content).collaboration.open_issues == []


async def test_a_bot_down_at_nine_posts_when_it_comes_back_but_not_next_week(harness: Harness) -> None:
    h = harness
    # In use for weeks (a toss-up in November, returned then: nothing of it in the week reviewed)
    earlier = await toss(h, "Earlier KK", at=tokyo(11, 20, 10), meeting=tokyo(11, 27, 10))
    await give_back(h, earlier, at=tokyo(11, 20, 12), note="時期尚早")
    h.clock.now = tokyo(12, 7, 8, 0)  # Monday after: last week's Friday post was missed for good
    await fire(h, WEEKLY_DIGEST_CATCH_UP_JOB_ID)
    assert meeting_posts(h) == []
    h.clock.now = tokyo(12, 12, 14, 30)  # Saturday: this week's Friday 09:00 passed while down
    await fire(h, WEEKLY_DIGEST_CATCH_UP_JOB_ID)
    (only,) = meeting_posts(h)  # an empty week: one short message, no thread
    (digest,) = await digests(h)
    assert digest.period_start == date(2026, 12, 7) and WeeklyAgenda.model_validate(digest.content).is_empty
    assert only.response["ts"] == digest.lead_ts


async def test_a_first_start_after_fridays_time_posts_no_agenda_of_a_week_nobody_used_it(
    harness: Harness,
) -> None:
    """Installed on a Saturday: the catch-up does not post last Friday's (empty) agenda into the channel;
    the next Friday's does go out, even empty (a week with nothing in it says so)."""
    h = harness
    h.clock.now = tokyo(12, 12, 14, 30)  # Saturday, the bot's first start
    await fire(h, WEEKLY_DIGEST_CATCH_UP_JOB_ID)
    assert meeting_posts(h) == [] and await digests(h) == []
    h.clock.now = tokyo(12, 18, 9, 0)  # the next Friday, on time
    await fire(h)
    (only,) = meeting_posts(h)
    (digest,) = await digests(h)
    assert digest.period_start == date(2026, 12, 14) and only.response["ts"] == digest.lead_ts


@pytest.mark.parametrize(
    "config", [team_config(roles={"managers": [MANAGER]}, digests={"weekly": {"cron": "0 9 * * FRI"}})]
)
async def test_an_agenda_without_a_channel_of_its_own_goes_to_the_fs_channel(
    harness: Harness, config: AppConfig
) -> None:
    """The shipped app.yaml's `weekly: { cron: "0 9 * * FRI" }`: Friday's agenda in channels.fs."""
    h = harness
    await toss(h, "Zeta KK", at=tokyo(12, 7, 10), meeting=tokyo(12, 15, 10))
    h.clock.now = tokyo(12, 11, 9, 0)
    await fire(h)
    await settle(h)
    (digest,) = await digests(h)
    assert digest.channel_id == FS_CHANNEL and digest.lead_ts is not None
    lead = [c for c in h.slack.calls_to("chat.postMessage") if c.response.get("ts") == digest.lead_ts]
    assert len(lead) == 1 and lead[0].args["channel"] == FS_CHANNEL


def test_an_empty_digest_channel_is_refused_not_taken_for_the_fs_channel() -> None:
    """`channel:` written empty in app.yaml is a digest set up half-way; a config dumped and read back
    (its channel None: channels.fs) loads as it was."""
    data = {"channels": {"fs": FS_CHANNEL}, "digests": {"weekly": {"channel": None, "cron": "0 9 * * FRI"}}}
    with pytest.raises(ValueError, match=r"digests\.weekly\.channel"):
        AppConfig.model_validate(data, context={FROM_FILE: True})
    shipped = team_config(digests={"weekly": {"cron": "0 9 * * FRI"}})
    assert AppConfig.model_validate(shipped.model_dump()) == shipped


async def test_slack_down_at_nine_the_agenda_follows_when_it_is_back(harness: Harness) -> None:
    h = harness
    await toss(h, "Epsilon KK", at=tokyo(12, 7, 10), meeting=tokyo(12, 15, 10))
    h.slack.fail_next("chat.postMessage", status=500)  # the lead may or may not be in: the retry looks
    h.clock.now = tokyo(12, 11, 9, 0)
    await fire(h)
    (digest,) = await digests(h)
    assert digest.lead_ts is None  # claimed, queued, not posted
    h.clock.advance(minutes=30)
    await settle(h)  # the delivery loop's next polls, Slack back
    posts = meeting_posts(h)
    assert len(posts) == 5 and {p.args.get("thread_ts") for p in posts[1:]} == {posts[0].response["ts"]}
    assert "Epsilon KK" in block_text(posts[1].args["blocks"])


async def test_what_comes_after_an_agenda_went_out_is_in_the_next_one(harness: Harness) -> None:
    """Each agenda reviews the toss-ups since the last one (Friday 09:00 to Friday 09:00): a toss-up or a
    return on Friday afternoon or at the weekend is in the next week's agenda, not lost between two."""
    h = harness
    thursday = await toss(h, "Thursday KK", at=tokyo(12, 3, 10), meeting=tokyo(12, 10, 10))
    await toss(h, "Friday AM KK", at=tokyo(12, 4, 8, 30), meeting=tokyo(12, 10, 11), drop=DROP_OPTIONAL)
    h.clock.now = tokyo(12, 4, 9, 0)
    await fire(h)
    await settle(h)
    await toss(h, "Friday PM KK", at=tokyo(12, 4, 15), meeting=tokyo(12, 16, 10), drop=DROP_ISSUE)
    await give_back(h, thursday, at=tokyo(12, 4, 17), note="予算不明のまま")
    await toss(h, "Saturday KK", at=tokyo(12, 5, 10), meeting=tokyo(12, 16, 11))
    h.clock.now = tokyo(12, 11, 9, 0)
    await fire(h)
    await settle(h)

    first, second = (
        WeeklyAgenda.model_validate(d.content) for d in sorted(await digests(h), key=lambda d: d.period_start)
    )
    assert [t.company for t in first.this_week.toss_ups] == ["Thursday KK", "Friday AM KK"]
    assert [t.company for t in second.this_week.toss_ups] == ["Friday PM KK", "Saturday KK"]
    assert first.collaboration.returns == []
    assert [r.company for r in second.collaboration.returns] == ["Thursday KK"]
    assert first.this_week.team.average == pytest.approx((70 + 68) / 2)
    assert second.this_week.team.previous == first.this_week.team.average  # "last week" is the same 7 days
    assert (second.reviewed_from, second.reviewed_to) == (tokyo(12, 4, 9), tokyo(12, 11, 9))
    second_lead = meeting_posts(h)[5]
    assert "thread_ts" not in second_lead.args
    shown = block_text(second_lead.args["blocks"])
    for moment in (tokyo(12, 4, 9), tokyo(12, 11, 9)):
        assert format_datetime(moment, TOKYO, Lang.JA) in shown


@pytest.mark.parametrize(
    ("cron", "expected"),
    [
        ("0 9 * * FRI", (tokyo(11, 27, 9), tokyo(12, 4, 9))),
        ("0 0 * * MON", (tokyo(11, 23, 0), tokyo(11, 30, 0))),  # Monday midnight: the week just ended
        ("30 17 * * MON,THU", (tokyo(11, 23, 17, 30), tokyo(11, 30, 17, 30))),  # each week's first fire
        ("0 9 1-7 * FRI", None),  # first Friday of the month only: no fire the week before
    ],
)
def test_an_agenda_reviews_from_the_last_scheduled_agenda_to_its_own(
    cron: str, expected: tuple[datetime, datetime] | None
) -> None:
    week = week_of(date(2026, 12, 2), TOKYO)
    config = team_config(digests={"weekly": {"channel": MEETING_CHANNEL, "cron": cron}})
    reviewed = reviewed_since_last_agenda(week, config)
    if expected is None:
        assert reviewed is week
    else:
        assert (reviewed.start, reviewed.end) == expected
    assert reviewed_since_last_agenda(week, team_config()) is week  # no weekly digest: the calendar week
