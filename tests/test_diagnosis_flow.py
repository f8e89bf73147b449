"""`/tossup diagnose` over the wire, counted on data made through Slack: toss-ups tossed up, accepted and
rated, a collaboration issue logged and closed; the checklist opens with the data items ticked and their
evidence shown, the submission is stored with who and when, the result is posted privately; the
manager's App Home shows the latest level and the monthly review the trend."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, text

from bot.config import AppConfig
from bot.digests import compute_monthly_review
from bot.domain.diagnosis import DiagnosisItem
from bot.domain.handoff import HandoffStatus
from bot.domain.kpi import month_of
from bot.i18n import Lang, t
from modals.ids import ActionId, CallbackId
from modals.monthly import review_as_text
from store.diagnosis_models import DiagnosisRow
from store.models import Handoff
from tests.conftest import FS_USER, IS_USER, MANAGER, Harness, team_config
from tests.db_fixtures import BACKENDS
from tests.slack_driver import Response, checkboxes_state
from tests.test_feedback_flow import IS_DM, open_modal, rating_values
from tests.test_feedback_flow import submit as submit_loop
from tests.test_issues_flow import logged, open_close_modal, submit_close
from tests.test_weekly_agenda_flow import accept, rate, settle, toss

TOKYO = ZoneInfo("Asia/Tokyo")
MEETING_CHANNEL = "C0MEETING"


def tokyo(day: int, hour: int) -> datetime:
    return datetime(2026, 11, day, hour, tzinfo=TOKYO).astimezone(UTC)


@pytest.fixture
def config() -> AppConfig:
    return team_config(
        roles={"managers": [MANAGER], "inside_sales": [IS_USER], "field_sales": [FS_USER]},
        digests={"weekly": {"channel": MEETING_CHANNEL, "cron": "0 9 * * FRI"}},
    )


async def accepted(h: Harness, handoff_id: int) -> None:
    """The click is acked before the decision is stored: wait until it is."""
    for _ in range(200):
        async with h.bot.services.sessions() as session:
            status = await session.scalar(select(Handoff.status).where(Handoff.id == handoff_id))
        if status is HandoffStatus.ACCEPTED:
            await settle(h)
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the toss-up was not accepted")


async def seed(h: Harness) -> None:
    """Two toss-ups (full memos, scored), one accepted whose meeting was held, rated by FS and FS rated
    back by IS; an issue logged and closed. No weekly agenda was posted."""
    first = await toss(h, "株式会社アルファ", at=tokyo(16, 10), meeting=tokyo(17, 14))
    await toss(h, "ベータ株式会社", at=tokyo(16, 11), meeting=tokyo(24, 14))
    await accept(h, first, at=tokyo(16, 12))
    await accepted(h, first)
    await rate(h, first, at=tokyo(17, 18), result="progress", next_info="予算の決裁ルート")
    h.clock.now = tokyo(17, 19)
    modal = await open_modal(h, ActionId.IS_RATING_OPEN, first, user=IS_USER, channel=IS_DM)
    rated_back = await submit_loop(h, CallbackId.IS_RATING, modal, rating_values("4"), user=IS_USER)
    assert rated_back.status == 200 and not rated_back.text, rated_back.text
    await settle(h)
    h.clock.now = tokyo(18, 9)
    issue = await logged(h)
    modal = await open_close_modal(h, issue.id)
    assert (await submit_close(h, modal, "差し戻し理由を必須にする")).status == 200
    await settle(h)


async def open_checklist(h: Harness, *, user: str = MANAGER, word: str = "diagnose") -> dict[str, Any]:
    opened, updated = len(h.slack.calls_to("views.open")), len(h.slack.calls_to("views.update"))
    response = await h.driver.slash(word, user_id=user)
    assert response.status == 200 and not response.text, response.text  # acked at once, nothing to say
    loading = (await h.slack.wait_for("views.open", count=opened + 1))[-1].args["view"]
    assert loading["callback_id"] == CallbackId.DIAGNOSIS and "submit" not in loading
    update = (await h.slack.wait_for("views.update", count=updated + 1))[-1].args
    assert update["external_id"] == loading["external_id"]  # the very modal that opened, filled in
    return dict(update["view"])


def ticked(view: dict[str, Any]) -> dict[str, list[str]]:
    return {
        b["block_id"]: [o["value"] for o in b["element"].get("initial_options", [])]
        for b in view["blocks"]
        if b["type"] == "input"
    }


async def submit(h: Harness, view: dict[str, Any], items: dict[str, list[str]], **kwargs: Any) -> Response:
    values = {block: {ActionId.DIAGNOSIS_ITEMS: checkboxes_state(chosen)} for block, chosen in items.items()}
    return await h.driver.view_submission(
        CallbackId.DIAGNOSIS, values, private_metadata=view["private_metadata"], **kwargs
    )


async def rows(h: Harness) -> list[DiagnosisRow]:
    async with h.bot.services.sessions() as session:
        return list((await session.scalars(select(DiagnosisRow).order_by(DiagnosisRow.id))).all())


@pytest.mark.parametrize("backend", BACKENDS)
async def test_a_diagnosis_counted_on_seeded_data(harness: Harness) -> None:
    h = harness
    await seed(h)
    h.clock.now = tokyo(20, 10)

    view = await open_checklist(h)  # MANAGER reads Japanese
    data_items = {
        DiagnosisItem.CRITERIA_AGREED,  # the default criteria, gate mode
        DiagnosisItem.MEMO_TEMPLATE,  # both memos full
        DiagnosisItem.MUTUAL_FEEDBACK,  # the one meeting held was rated, both ways
        DiagnosisItem.QUALITY_MEASURED,  # both scored
        DiagnosisItem.IMPROVEMENT_PDCA,  # the issue closed two days ago
    }
    assert {v for values in ticked(view).values() for v in values} == {i.value for i in data_items}
    text = json.dumps(view, ensure_ascii=False)
    for key, params in (
        ("criteria_gate", {"count": 5}),
        ("template", {"part": 2, "whole": 2, "count": 2, "percent": 100, "days": 90}),
        (
            "feedback",
            {"part": 1, "whole": 1, "count": 1, "percent": 100, "back": 1, "back_percent": 100, "days": 30},
        ),
        ("meeting_not_posted", {"days": 14}),  # scheduled, but nothing posted: left unticked
    ):
        assert t(Lang.JA, f"diagnose.evidence.{key}", **params) in text, key
    assert "過去90日間に 2 件のトスアップを品質スコアで採点" in text
    assert "過去60日間に連携課題を 1 件クローズ" in text

    # The manager unticks "quality measured", ticks two of their own: 4 of the data's + 2 = 6 → 良好.
    chosen = ticked(view)
    chosen["diagnosis_improvement"] = ["improvement_pdca"]
    chosen["diagnosis_roles"] = ["roles_documented", "criteria_agreed"]
    chosen["diagnosis_evaluation"] = ["shared_kpi"]
    view_id = h.driver.new_view_id()
    told = len(h.slack.calls_to("chat.postEphemeral"))  # the issue's confirmation went before
    response = await submit(h, view, chosen, user_id=MANAGER, view_id=view_id)
    assert response.status == 200 and not response.text, response.text

    (row,) = await rows(h)
    assert (row.diagnosed_by, row.diagnosed_at, row.checked_count, row.level) == (
        MANAGER,
        h.clock(),
        6,
        "good",
    )
    assert row.items == [
        "roles_documented",
        "criteria_agreed",
        "shared_kpi",
        "memo_template",
        "mutual_feedback",
        "improvement_pdca",
    ]
    result = (await h.slack.wait_for("chat.postEphemeral", count=told + 1))[-1]
    assert (result.args["channel"], result.args["user"]) == ("C0GENERAL", MANAGER)
    assert result.args["text"] == "連携診断: 6/10 — 良好"
    body = json.dumps(result.args["blocks"], ensure_ascii=False)
    assert "不足項目の強化、仕組みの定着" in body
    for step in (
        "【評価制度】評価制度が協力を促進する設計になっている",
        "【改善サイクル】トスアップ品質が定量的に測定されている",
    ):
        assert step in body
    assert "定期的な連携ミーティングが実施されている" in body  # unticked: a next step

    # The same view again (double click, Slack retry): one diagnosis, one answer.
    again = await submit(h, view, chosen, user_id=MANAGER, view_id=view_id)
    assert again.status == 200 and not again.text
    await h.slack.assert_no_more("chat.postEphemeral", count=told + 1)
    assert len(await rows(h)) == 1

    # The manager's App Home shows the latest level.
    await h.driver.event({"type": "app_home_opened", "user": MANAGER, "tab": "home"})
    (home,) = await h.slack.wait_for("views.publish")
    home_text = json.dumps(home.args["view"], ensure_ascii=False)
    assert "直近の診断: *6/10 — 良好*" in home_text

    # The monthly review: the latest this month against the one before (none yet), then a later month.
    november = month_of(tokyo(20, 10).astimezone(TOKYO).date(), TOKYO)
    review = await compute_monthly_review(
        h.bot.services.sessions, h.bot.services.config, month=november, now=h.clock()
    )
    text = review_as_text(review, lang=Lang.EN, tz=TOKYO)
    assert "Latest this month: 6/10 — Good (@U0MANAGER" in text
    h.clock.now = tokyo(20, 10) + timedelta(days=15)  # December
    view = await open_checklist(h, user=FS_USER, word="診断")
    assert (await submit(h, view, {"diagnosis_roles": ["roles_documented"]}, user_id=FS_USER)).status == 200
    december = month_of(h.clock().astimezone(TOKYO).date(), TOKYO)
    later = await compute_monthly_review(
        h.bot.services.sessions, h.bot.services.config, month=december, now=h.clock()
    )
    assert review_as_text(later, lang=Lang.EN, tz=TOKYO).count("1/10 — At risk") == 1
    assert "Before: 6/10 — Good" in review_as_text(later, lang=Lang.EN, tz=TOKYO)
    assert "-5 items since then" in review_as_text(later, lang=Lang.EN, tz=TOKYO)


async def test_the_checklist_opens_on_an_empty_database_in_english(harness: Harness) -> None:
    view = await open_checklist(harness, user=FS_USER)
    assert view["title"]["text"] == "Collab diagnosis"
    # Only the configuration speaks for an empty team: the default criteria, in gate mode.
    assert {b: v for b, v in ticked(view).items() if v} == {"diagnosis_roles": ["criteria_agreed"]}
    text = json.dumps(view)
    assert "No toss-ups in the last 90 days" in text
    assert "Items the data cannot show are yours to judge." in text


async def test_someone_outside_the_team_is_told_privately(harness: Harness) -> None:
    harness.slack.users["U0STRANGER"] = {"locale": "en-US", "tz": "Asia/Tokyo", "real_name": "Sam Stranger"}
    answer = (await harness.driver.slash("diagnose", user_id="U0STRANGER")).json()
    assert answer is not None and answer["response_type"] == "ephemeral"
    assert answer["text"] == t(Lang.EN, "diagnose.refusal.not_allowed")
    assert harness.slack.calls_to("views.open") == []
    response = await harness.driver.view_submission(
        CallbackId.DIAGNOSIS,
        {},
        user_id="U0STRANGER",
        private_metadata=json.dumps({"channel_id": "C0GENERAL", "lang": "en"}),
    )
    reply = response.json()
    assert reply is not None and reply["response_action"] == "errors"
    assert await rows(harness) == []


async def test_forged_values_count_for_nothing(harness: Harness) -> None:
    view = await open_checklist(harness, user=IS_USER)
    forged = {
        "diagnosis_roles": ["shared_kpi", "roles_documented", "<script>"],  # another group's item, junk
        "diagnosis_sharing": ["input_rules"],
    }
    assert (await submit(harness, view, forged, user_id=IS_USER)).status == 200
    (row,) = await rows(harness)
    assert row.items == ["roles_documented", "input_rules"] and row.checked_count == 2
    async with harness.bot.services.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(DiagnosisRow)) == 1


async def test_help_lists_diagnose(harness: Harness) -> None:
    for user, words in ((IS_USER, "連携の現状診断"), (FS_USER, "ten-item collaboration checklist")):
        answer = (await harness.driver.slash("help", user_id=user)).json()
        assert answer is not None and "/tossup diagnose" in answer["text"] and words in answer["text"]


async def test_a_database_failure_costs_neither_the_form_nor_a_clear_answer(harness: Harness) -> None:
    """The evidence cannot be counted: the checklist still opens, every item the person's. The result
    cannot be stored: the modal says so on its first group, and nothing is posted."""
    h = harness
    async with h.bot.engine.begin() as connection:
        await connection.execute(text("DROP TABLE digest_posts"))
    view = await open_checklist(h, user=FS_USER)
    assert all(values == [] for values in ticked(view).values())
    assert t(Lang.EN, "diagnose.no_data") in json.dumps(view, ensure_ascii=False)

    async with h.bot.engine.begin() as connection:
        await connection.execute(text("DROP TABLE diagnoses"))
    response = await submit(h, view, {"diagnosis_roles": ["roles_documented"]}, user_id=FS_USER)
    answer = response.json()
    assert answer is not None and answer["response_action"] == "errors"
    assert answer["errors"] == {"diagnosis_roles": t(Lang.EN, "diagnose.refusal.store_failed")}
    await h.slack.assert_no_more("chat.postEphemeral", count=0)
