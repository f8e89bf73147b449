"""Issue 3 over the wire: criteria gate and warn mode, the memo score, routing with round-robin and
absences, and the acceptance SLA's reminders and escalation (time injected, not slept)."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.app import Bot
from bot.config import AppConfig
from bot.domain.handoff import HandoffStatus
from bot.domain.routing import RouteKind
from bot.domain.score import ScoreItemKey
from bot.scheduler import SLA_JOB_ID
from bot.sla_watch import queue_due_sla_steps
from modals.ids import ActionId, BlockId, CallbackId
from store.models import Handoff
from store.routing import last_turn
from tests.conftest import FS_CHANNEL, FS_USER, IS_USER, MANAGER, OTHER_USER, Harness, team_config
from tests.db_fixtures import BACKENDS
from tests.memo_state import memo_state
from tests.slack_driver import text_state
from tests.test_custom_selects import SEGMENT, custom_state
from tests.test_memo_edit_flow import open_edit
from tests.test_tossup_flow import answers, block_text, click, count, memo_meta, only_handoff, tossed_up

WARN = team_config(criteria={"mode": "warn"}, roles={"managers": [MANAGER]})
ENT_CHANNEL = "C0ENTERPRISE"
REP_A, REP_B = "U0REPA", "U0REPB"
ROUTED = team_config(
    memo={"custom_selects": [SEGMENT]},
    routing={
        "rules": [
            {
                "name": "enterprise",
                "match": {"segment": ["enterprise"]},
                "channel": ENT_CHANNEL,
                "pool": [REP_A, REP_B],
            }
        ]
    },
)


async def submit(h: Harness, extra: dict | None = None, **changes: object):
    return await h.driver.view_submission(
        CallbackId.HANDOFF_MEMO,
        {**memo_state(answers(h, **changes)), **(extra or {})},
        user_id=IS_USER,
        private_metadata=memo_meta(),
    )


async def all_handoffs(h: Harness) -> list[Handoff]:
    async with h.bot.services.sessions() as session:
        return list((await session.scalars(select(Handoff).order_by(Handoff.id))).all())


def posts_to(h: Harness, channel: str) -> list:
    return [c for c in h.slack.calls_to("chat.postMessage") if c.args["channel"] == channel]


# ---------------------------------------------------------------- criteria


async def test_gate_refuses_a_memo_that_fails_the_criteria_on_the_failing_fields(harness: Harness) -> None:
    h = harness
    body = (await submit(h, timeline="6_to_12m", competitors="未定")).json()
    assert body is not None and body["response_action"] == "errors"
    assert set(body["errors"]) == {"timeline", "competitors"}
    assert "6" in body["errors"]["timeline"]  # says which criterion (within 6 months) and why
    assert "<" not in body["errors"]["timeline"]  # plain text: Slack shows no markup in field errors
    assert await count(h, Handoff) == 0


ASK_LATER = team_config(score={"placeholders": ["ask later"]})


@pytest.mark.parametrize("config", [ASK_LATER])
async def test_the_gate_reads_placeholders_as_the_score_does(harness: Harness, config: AppConfig) -> None:
    h = harness
    body = (await submit(h, competitors="Ask later")).json()
    assert body is not None and set(body["errors"]) == {"competitors"}
    assert "Ask later" in body["errors"]["competitors"]
    assert await count(h, Handoff) == 0
    # "TBD" is not on this team's list: the gate lets it through and the score gives it the 10 points
    assert (await submit(h, competitors="TBD")).status == 200
    handoff = await only_handoff(h)
    assert handoff.criteria is not None and handoff.criteria.passed
    competitors = handoff.score.item(ScoreItemKey.COMPETITORS) if handoff.score else None
    assert competitors is not None and competitors.points == competitors.max_points


@pytest.mark.parametrize("config", [WARN])
async def test_warn_mode_needs_a_reason_then_flags_the_notice(harness: Harness, config: AppConfig) -> None:
    h = harness
    body = (await submit(h, timeline="over_12m")).json()
    assert body is not None and BlockId.CRITERIA_OVERRIDE in body["errors"] and "timeline" in body["errors"]
    assert await count(h, Handoff) == 0

    reason = "決裁者の強い要望で、来期予算の相談から始めたい"
    override = {BlockId.CRITERIA_OVERRIDE: {ActionId.CRITERIA_OVERRIDE: text_state(reason)}}
    assert (await submit(h, override, timeline="over_12m")).status == 200
    await h.slack.wait_for("chat.postMessage", where=lambda c: c.args["channel"] == f"D{IS_USER}")
    handoff = await only_handoff(h)
    assert handoff.criteria is not None and not handoff.criteria.passed
    assert handoff.override_reason == reason
    (notice,) = posts_to(h, FS_CHANNEL)
    text = block_text(notice.args["blocks"])
    assert "⚠️" in text and reason in text and "❌" in text and "✅" in text


@pytest.mark.parametrize("config", [WARN])
async def test_editing_a_warn_mode_toss_up_shows_its_reason_and_keeps_it(
    harness: Harness, config: AppConfig
) -> None:
    """The reason given for tossing up against the criteria is in the edit modal: editing another field
    does not ask the rep to type it again, and Slack sends it back with the edit."""
    h = harness
    reason = "PoC first: the customer asked for it"
    override = {BlockId.CRITERIA_OVERRIDE: {ActionId.CRITERIA_OVERRIDE: text_state(reason)}}
    assert (await submit(h, override, timeline="over_12m")).status == 200
    await h.slack.wait_for("chat.postMessage", where=lambda c: c.args["channel"] == f"D{IS_USER}")
    handoff = await only_handoff(h)
    view = await open_edit(h, handoff.id)
    (block,) = [b for b in view["blocks"] if b.get("block_id") == BlockId.CRITERIA_OVERRIDE]
    assert block["element"]["initial_value"] == reason

    edited = await h.driver.view_submission(
        CallbackId.HANDOFF_MEMO,
        {**memo_state(answers(h, timeline="over_12m", need="a new CRM in Q3")), **override},
        user_id=IS_USER,
        private_metadata=view["private_metadata"],
    )
    assert edited.status == 200 and not (edited.json() or {}).get("errors"), edited.text
    assert (await only_handoff(h)).override_reason == reason


async def test_notice_shows_checklist_and_score_and_is_rep_learns_what_lost_points(harness: Harness) -> None:
    h = harness
    handoff = await tossed_up(h, background=None, impact="TBD")
    assert handoff.criteria is not None and handoff.criteria.passed
    assert handoff.score is not None and 0 < handoff.score.total < handoff.score.max_total == 70
    (notice,) = posts_to(h, FS_CHANNEL)
    text = block_text(notice.args["blocks"])
    assert "✅" in text and f"{handoff.score.total} / 70" in text
    confirmation = posts_to(h, f"D{IS_USER}")[-1]
    assert f"{handoff.score.total} / 70" in block_text(confirmation.args["blocks"])
    async with h.bot.services.sessions() as session:
        stored = await session.get(Handoff, handoff.id)
        assert stored is not None and stored.score_total == handoff.score.total and stored.criteria_passed


async def test_slash_criteria_shows_the_definition_in_the_users_language(harness: Harness) -> None:
    h = harness
    ja = (await h.driver.slash("criteria", user_id=IS_USER)).json()
    en = (await h.driver.slash("criteria", user_id=FS_USER)).json()
    assert ja and en and ja["response_type"] == en["response_type"] == "ephemeral"
    assert "予算" in json.dumps(ja, ensure_ascii=False) and "Budget" in json.dumps(en)
    await h.slack.assert_no_more("views.open", count=0)


# ---------------------------------------------------------------- routing


@pytest.mark.parametrize("config", [ROUTED])
async def test_rule_routes_round_robin_skipping_who_is_away(harness: Harness, config: AppConfig) -> None:
    h = harness
    enterprise = custom_state(segment="enterprise")
    for n in range(3):  # other companies each time: the same one again would be a duplicate warning
        assert (await submit(h, enterprise, fs_user_id=None, company=f"Enterprise {n}")).status == 200
    await h.slack.wait_for("chat.postMessage", count=3, where=lambda c: c.args["channel"] == ENT_CHANNEL)
    rows = await all_handoffs(h)
    assert [(r.fs_user_id, r.channel_id, r.route_kind) for r in rows] == [
        (REP_A, ENT_CHANNEL, RouteKind.ROUND_ROBIN),
        (REP_B, ENT_CHANNEL, RouteKind.ROUND_ROBIN),
        (REP_A, ENT_CHANNEL, RouteKind.ROUND_ROBIN),
    ]
    assert "enterprise" in block_text(posts_to(h, ENT_CHANNEL)[0].args["blocks"])

    until = (h.clock() + timedelta(days=7)).date().isoformat()
    away = (await h.driver.slash(f"away {until}", user_id=REP_B)).json()
    assert away is not None and away["response_type"] == "ephemeral"
    for n in range(3, 5):
        await submit(h, enterprise, fs_user_id=None, company=f"Enterprise {n}")
    await h.slack.wait_for("chat.postMessage", count=5, where=lambda c: c.args["channel"] == ENT_CHANNEL)
    assignees = await all_handoffs(h)
    assert [r.fs_user_id for r in assignees][3:] == [REP_A, REP_A]  # B is away

    await h.driver.slash("away off", user_id=REP_B)
    await submit(h, custom_state(segment="smb"), fs_user_id=None, company="SMB")  # no rule: the default
    await submit(h, enterprise, fs_user_id=OTHER_USER, company="Enterprise 5")  # a rep picked by IS wins
    await h.slack.wait_for("chat.postMessage", where=lambda c: c.args["channel"] == FS_CHANNEL)
    last = (await all_handoffs(h))[-2:]
    assert [(r.fs_user_id, r.channel_id, r.route_kind) for r in last] == [
        (None, FS_CHANNEL, RouteKind.DEFAULT),
        (OTHER_USER, ENT_CHANNEL, RouteKind.CHOSEN),
    ]


@pytest.mark.parametrize("config", [ROUTED])
async def test_round_robin_never_gives_a_toss_up_to_the_rep_who_tossed_it_up(
    harness: Harness, config: AppConfig
) -> None:
    """No IS list: anyone may toss up, a pool member too. Their own turn is skipped (they may not decide
    their own toss-up), as the memo form refuses them as its FS rep."""
    h = harness
    enterprise = custom_state(segment="enterprise")
    for n in range(2):
        response = await h.driver.view_submission(
            CallbackId.HANDOFF_MEMO,
            {**memo_state(answers(h, fs_user_id=None, company=f"Self {n}")), **enterprise},
            user_id=REP_A,
            private_metadata=memo_meta(),
        )
        assert response.status == 200 and not response.text, response.text
    await h.slack.wait_for("chat.postMessage", count=2, where=lambda c: c.args["channel"] == ENT_CHANNEL)
    assert [(r.is_user_id, r.fs_user_id) for r in await all_handoffs(h)] == [(REP_A, REP_B), (REP_A, REP_B)]


async def test_away_command_checks_its_date(harness: Harness) -> None:
    h = harness
    for argument in ("away yesterday", "away 2020-01-01"):
        body = (await h.driver.slash(argument, user_id=FS_USER)).json()
        assert body is not None and "YYYY-MM-DD" in body["text"]
    status = (await h.driver.slash("away", user_id=FS_USER)).json()
    assert status is not None and "not marked away" in status["text"]


# ---------------------------------------------------------------- acceptance SLA


async def tick(h: Harness) -> None:
    await queue_due_sla_steps(sessions=h.bot.services.sessions, config=h.bot.services.config, now=h.clock())
    await h.bot.delivery.drain()


async def test_sla_reminds_then_escalates_and_stops_once_accepted(harness: Harness) -> None:
    h = harness
    handoff = await tossed_up(h)
    await tick(h)
    assert posts_to(h, f"D{FS_USER}") == [posts_to(h, f"D{FS_USER}")[0]]  # only the notice's DM copy

    h.clock.advance(hours=24, minutes=1)  # past the 24 h deadline: a reminder to the assignee
    await tick(h)
    await tick(h)  # ticking again (a second replica, a restart) changes nothing
    reminders = posts_to(h, f"D{FS_USER}")[1:]
    assert len(reminders) == 1 and "⏰" in block_text(reminders[0].args["blocks"])

    h.clock.advance(hours=8)  # 8 h later: the escalation, in the notice's thread and to the manager
    await tick(h)
    thread = [c for c in posts_to(h, FS_CHANNEL) if c.args.get("thread_ts") == handoff.notice_ts]
    assert len(thread) == 1 and f"<@{FS_USER}>" in block_text(thread[0].args["blocks"])
    assert len(posts_to(h, f"D{MANAGER}")) == 1

    await click(h, ActionId.HANDOFF_ACCEPT, handoff.id, user=FS_USER)
    await h.slack.wait_for("chat.postMessage", count=2, where=lambda c: c.args["channel"] == f"D{IS_USER}")
    before = len(h.slack.calls_to("chat.postMessage"))
    h.clock.advance(days=3)
    await tick(h)
    assert len(h.slack.calls_to("chat.postMessage")) == before  # decided: nothing more
    accepted = await only_handoff(h)
    assert accepted.status is HandoffStatus.ACCEPTED
    assert accepted.decided_at is not None and accepted.decided_at - accepted.created_at > timedelta(hours=32)


async def test_a_reminder_queued_before_the_decision_is_not_sent_after_it(harness: Harness) -> None:
    h = harness
    handoff = await tossed_up(h)
    h.clock.advance(hours=25)
    await queue_due_sla_steps(sessions=h.bot.services.sessions, config=h.bot.services.config, now=h.clock())
    await click(h, ActionId.HANDOFF_ACCEPT, handoff.id, user=FS_USER)  # decided before the send
    await h.slack.wait_for("chat.update")
    await h.bot.delivery.drain()
    assert len(posts_to(h, f"D{FS_USER}")) == 1  # just the notice's DM copy


async def test_the_running_bot_schedules_the_sla_tick(harness: Harness) -> None:
    bot: Bot = harness.bot
    async with bot.background() as scheduler:
        job = scheduler.get_job(SLA_JOB_ID)
        assert job is not None and job.trigger.interval == timedelta(seconds=60)


README_EXAMPLE = team_config(
    memo={
        "custom_selects": [
            {
                "key": "segment",
                "label": {"ja": "セグメント", "en": "Segment"},
                "required": True,
                "options": [
                    {"value": "enterprise", "label": {"ja": "エンタープライズ", "en": "Enterprise"}},
                    {"value": "smb", "label": {"ja": "中小企業", "en": "SMB"}},
                ],
            }
        ]
    },
    criteria={
        "mode": "warn",
        "rules": [
            {"id": "budget", "kind": "one_of", "field": "budget_status", "values": ["confirmed", "planned"]},
            {
                "id": "authority",
                "kind": "one_of",
                "field": "authority",
                "values": ["decision_maker", "influencer"],
            },
            {"id": "timeline", "kind": "timeline_within", "field": "timeline", "months": 3},
            {
                "id": "enterprise-only",
                "kind": "one_of",
                "field": "segment",
                "values": ["enterprise"],
                "label": {"ja": "エンタープライズ案件である", "en": "Enterprise deal"},
            },
        ],
    },
    routing={
        "rules": [
            {
                "name": "enterprise",
                "match": {"segment": ["enterprise"]},
                "channel": "C0123ENTERPRISE",
                "pool": ["U0123AAAA", "U0123BBBB"],
            }
        ]
    },
    sla={
        "accept_within_hours": 9,
        "business_hours": {"start": "09:00", "end": "18:00", "days": [0, 1, 2, 3, 4]},
    },
)


@pytest.mark.parametrize("config", [README_EXAMPLE])
async def test_the_readme_worked_example_holds(harness: Harness, config: AppConfig) -> None:
    h = harness
    reason = {
        BlockId.CRITERIA_OVERRIDE: {ActionId.CRITERIA_OVERRIDE: text_state("the customer wants a PoC first")}
    }
    response = await submit(
        h,
        {**custom_state(segment="enterprise"), **reason},
        fs_user_id=None,
        budget_status="planned",
        timeline="3_to_6m",
        impact="TBD",
        crm_url=None,
        topics_to_avoid=None,
        other_notes=None,
    )
    assert response.status == 200, response.text
    (notice,) = await h.slack.wait_for(
        "chat.postMessage", where=lambda c: c.args["channel"] == "C0123ENTERPRISE"
    )
    handoff = await only_handoff(h)
    assert handoff.fs_user_id == "U0123AAAA" and handoff.route is not None
    assert handoff.criteria is not None
    assert [r.criterion_id for r in handoff.criteria.failures] == ["timeline"]
    assert handoff.score is not None and handoff.score.total == 64
    points = {item.key.value: item.points for item in handoff.score.items}
    assert points["issue"] == 11 and points["completeness"] == 13
    text = block_text(notice.args["blocks"])
    assert "enterprise" in text and "⚠️" in text and "the customer wants a PoC first" in text


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("config", [ROUTED])
async def test_a_doubled_submission_takes_one_round_robin_turn(harness: Harness, config: AppConfig) -> None:
    h = harness
    values = {**memo_state(answers(h, fs_user_id=None)), **custom_state(segment="enterprise")}

    async def send() -> int:
        response = await h.driver.view_submission(
            CallbackId.HANDOFF_MEMO, values, user_id=IS_USER, view_id="V0TWICE", private_metadata=memo_meta()
        )
        return response.status

    assert await asyncio.gather(send(), send()) == [200, 200]
    await h.slack.wait_for("chat.postMessage", where=lambda c: c.args["channel"] == ENT_CHANNEL)
    assert len(await all_handoffs(h)) == 1
    async with h.bot.services.sessions() as session:
        assert await last_turn(session=session, rule="enterprise") == 0  # one turn, not two
    next_one = await submit(h, custom_state(segment="enterprise"), fs_user_id=None, company="Hooli")
    assert next_one.status == 200
    rows = await all_handoffs(h)
    assert [r.fs_user_id for r in rows] == [REP_A, REP_B]  # so the next one is B's


async def test_no_reminder_to_an_fs_rep_who_is_away_and_none_without_a_notice(harness: Harness) -> None:
    h = harness
    await tossed_up(h)
    until = (h.clock() + timedelta(days=5)).date().isoformat()
    await h.driver.slash(f"away {until}", user_id=FS_USER)
    h.slack.error_next("chat.postMessage", "channel_not_found")  # a second toss-up whose notice never posts
    await submit(h, company="Hooli")
    await h.slack.wait_for("chat.postMessage", count=2, where=lambda c: c.args["channel"] == f"D{FS_USER}")
    await h.bot.delivery.wait_idle()
    h.clock.advance(hours=25)
    await tick(h)
    assert len(posts_to(h, f"D{FS_USER}")) == 2  # the two notices' DM copies, no reminder
    h.clock.advance(hours=8)
    await tick(h)
    assert len(posts_to(h, f"D{MANAGER}")) == 1  # escalated: the first toss-up only


@pytest.mark.parametrize("config", [WARN])
async def test_warn_mode_override_that_says_nothing_is_no_reason(harness: Harness, config: AppConfig) -> None:
    h = harness
    override = {BlockId.CRITERIA_OVERRIDE: {ActionId.CRITERIA_OVERRIDE: text_state("TBD")}}
    body = (await submit(h, override, timeline="over_12m")).json()
    assert body is not None and BlockId.CRITERIA_OVERRIDE in body["errors"]
    assert await count(h, Handoff) == 0
