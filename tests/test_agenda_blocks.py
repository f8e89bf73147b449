"""The weekly IS/FS meeting agenda as Slack messages and text (modals/agenda.py): the exact content of a
small week in both languages, empty parts and the empty week, "…and N more" on huge weeks, Slack's limits
whatever the data, escaping of everything a rep wrote, and the Close buttons. Pure: no Slack, no database.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from slack_sdk.models.blocks import Block

from bot.domain.agenda import (
    MEMO_SCORE_MAX,
    AgendaStatus,
    Collaboration,
    IssueLine,
    LowScoreLine,
    MeetingLine,
    NextWeek,
    NoticeRef,
    OverrideLine,
    RepAverage,
    RequestedInfo,
    ReturnLine,
    ScoreTrend,
    Section,
    SupportLine,
    SupportReason,
    ThisWeek,
    TossUpLine,
    WaitingLine,
    WeeklyAgenda,
)
from bot.domain.handoff import ReturnReason
from bot.domain.issues import Quadrant
from bot.domain.score import ScoreItemKey
from bot.i18n import Lang, t
from modals.agenda import (
    MESSAGE_SIZE_BUDGET,
    agenda_as_text,
    build_agenda_empty,
    build_agenda_lead,
    build_agenda_section,
    notice_permalink,
)
from modals.ids import ActionId
from modals.limits import (
    BUTTON_VALUE_MAX,
    HEADER_TEXT_MAX,
    MESSAGE_BLOCKS_MAX,
    SECTION_TEXT_MAX,
    check_slack_limits,
)
from modals.messages import Message
from modals.text import SLACK_USER_ID, user_mention

TOKYO = ZoneInfo("Asia/Tokyo")
WORKSPACE = "https://acme.slack.com/"
LANGS = list(Lang)
HOSTILE = "<!channel> & <@U1> <#C1> <https://evil.example|click> *bold* " * 5  # 300 characters
FORGED_ID = "U1><!channel"


def at(day: int, hour: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, tzinfo=UTC)


def counts(**values: int) -> dict[AgendaStatus, int]:
    return {status: values.get(status.value, 0) for status in AgendaStatus}


def small_agenda() -> WeeklyAgenda:
    """A week worked out by hand: Mon 16 – Sun 22 November 2026, Asia/Tokyo."""
    return WeeklyAgenda(
        week_start=date(2026, 11, 16),
        week_end=date(2026, 11, 22),
        generated_at=at(20),
        this_week=ThisWeek(
            toss_ups=[
                TossUpLine(
                    id=1,
                    company="Acme & Co",
                    is_user_id="U0IS1",
                    fs_user_id="U0FS1",
                    status=AgendaStatus.ACCEPTED,
                    score=52,
                    score_max=70,
                    notice=NoticeRef(channel_id="C0FS", ts="1700000000.000100"),
                ),
                TossUpLine(
                    id=2,
                    company="Beta",
                    is_user_id="U0IS2",
                    fs_user_id=None,
                    status=AgendaStatus.RATED,
                    score=81,
                    score_max=100,
                ),
                TossUpLine(
                    id=3,
                    company="Gamma",
                    is_user_id="U0IS1",
                    fs_user_id="U0FS1",
                    status=AgendaStatus.WAITING,
                    score=None,
                    score_max=70,
                    revision_of=9,
                ),
            ],
            counts=counts(accepted=1, rated=1, waiting=1),
            team=ScoreTrend(average=48.25, previous=46.5, scored=2),
            by_rep=[
                RepAverage(user_id="U0IS1", toss_ups=2, average=52.0),
                RepAverage(user_id="U0IS2", toss_ups=1, average=44.5),
            ],
        ),
        support=[
            SupportLine(
                id=4,
                company="Delta",
                is_user_id="U0IS1",
                fs_user_id="U0FS1",
                reason=SupportReason.ON_HOLD,
                since=datetime(2026, 11, 9, 20, tzinfo=UTC),  # Tue 10 Nov, 05:00 in Tokyo
                days=10,
            ),
            SupportLine(
                id=5,
                company="Epsilon",
                is_user_id="U0IS2",
                fs_user_id="U0FS2",
                reason=SupportReason.FEEDBACK_OVERDUE,
                since=at(18, 5),
                days=1,
            ),
        ],
        next_week=NextWeek(
            first_day=date(2026, 11, 23),
            last_day=date(2026, 11, 29),
            meetings=[
                MeetingLine(
                    id=6,
                    company="Zeta",
                    meeting_at=at(24, 5),
                    fs_user_id="U0FS1",
                    is_user_id="U0IS1",
                    notice=NoticeRef(channel_id="C0FS", ts="1700000000.000600"),
                )
            ],
            waiting=[
                WaitingLine(
                    id=3,
                    company="Gamma",
                    is_user_id="U0IS1",
                    fs_user_id="U0FS1",
                    created_at=at(18, 1),
                )
            ],
        ),
        collaboration=Collaboration(
            low_scores=[
                LowScoreLine(
                    id=2,
                    company="Beta",
                    is_user_id="U0IS2",
                    score=31,
                    weakest_item=ScoreItemKey.BANT,
                    weakest_lost=12,
                )
            ],
            returns=[
                ReturnLine(
                    id=7,
                    company="Eta",
                    is_user_id="U0IS1",
                    returned_by="U0FS1",
                    reason=ReturnReason.BANT_INCOMPLETE,
                    note="no budget yet",
                )
            ],
            overrides=[OverrideLine(id=8, company="Theta", is_user_id="U0IS2", reason="customer insisted")],
            requested_info=[RequestedInfo(text="decision maker's name", count=3)],
            open_issues=[
                IssueLine(
                    id=41,
                    problem="FS accepts late",
                    quadrant=Quadrant.TOP,
                    owner_id="U0MGR",
                    raised_by="U0IS1",
                    raised_at=at(8),
                ),
                IssueLine(
                    id=42,
                    problem="Memos lack competitors",
                    quadrant=Quadrant.CONSIDER,
                    owner_id=None,
                    raised_by="U0FS1",
                    raised_at=at(19),
                ),
            ],
        ),
    )


def one_toss_up_agenda() -> WeeklyAgenda:
    """One toss-up and nothing else: every other part is empty and must say so."""
    small = small_agenda()
    return small.model_copy(
        update={
            "this_week": ThisWeek(
                toss_ups=small.this_week.toss_ups[:1],
                counts=counts(accepted=1),
                team=ScoreTrend(average=52.0, previous=None, scored=1),
                by_rep=[RepAverage(user_id="U0IS1", toss_ups=1, average=52.0)],
            ),
            "support": [],
            "next_week": NextWeek(
                first_day=date(2026, 11, 23), last_day=date(2026, 11, 29), meetings=[], waiting=[]
            ),
            "collaboration": Collaboration(
                low_scores=[], returns=[], overrides=[], requested_info=[], open_issues=[]
            ),
        }
    )


def empty_agenda() -> WeeklyAgenda:
    return one_toss_up_agenda().model_copy(
        update={
            "this_week": ThisWeek(
                toss_ups=[],
                counts=counts(),
                team=ScoreTrend(average=None, previous=50.0, scored=0),
                by_rep=[],
            )
        }
    )


def huge_agenda(size: int = 2000, text: str = HOSTILE, user: str = "U0IS1") -> WeeklyAgenda:
    """`size` of everything, every text hostile and long, every notice linkable."""
    notice = NoticeRef(channel_id="C0123456789", ts="1700000000.123456")
    return WeeklyAgenda(
        week_start=date(2026, 11, 16),
        week_end=date(2026, 11, 22),
        generated_at=at(20),
        this_week=ThisWeek(
            toss_ups=[
                TossUpLine(
                    id=i,
                    company=text,
                    is_user_id=user,
                    fs_user_id=user,
                    status=list(AgendaStatus)[i % 6],
                    score=i % 71,
                    score_max=70,
                    notice=notice,
                )
                for i in range(size)
            ],
            counts=counts(waiting=size),
            team=ScoreTrend(average=33.3, previous=40.0, scored=size),
            by_rep=[RepAverage(user_id=user, toss_ups=1, average=i % 70) for i in range(size)],
        ),
        support=[
            SupportLine(
                id=i,
                company=text,
                is_user_id=user,
                fs_user_id=user,
                reason=list(SupportReason)[i % 4],
                since=at(1),
                days=i,
                notice=notice,
            )
            for i in range(size)
        ],
        next_week=NextWeek(
            first_day=date(2026, 11, 23),
            last_day=date(2026, 11, 29),
            meetings=[
                MeetingLine(id=i, company=text, meeting_at=at(24), fs_user_id=user, is_user_id=user)
                for i in range(size)
            ],
            waiting=[
                WaitingLine(
                    id=i, company=text, is_user_id=user, fs_user_id=user, created_at=at(2), notice=notice
                )
                for i in range(size)
            ],
        ),
        collaboration=Collaboration(
            low_scores=[
                LowScoreLine(
                    id=i,
                    company=text,
                    is_user_id=user,
                    score=1,
                    weakest_item=ScoreItemKey.ISSUE,
                    weakest_lost=20,
                    notice=notice,
                )
                for i in range(size)
            ],
            returns=[
                ReturnLine(
                    id=i,
                    company=text,
                    is_user_id=user,
                    returned_by=user,
                    reason=ReturnReason.OTHER,
                    note=text * 4,
                )
                for i in range(size)
            ],
            overrides=[
                OverrideLine(id=i, company=text, is_user_id=user, reason=text * 4) for i in range(size)
            ],
            requested_info=[RequestedInfo(text=text, count=size - i) for i in range(size)],
            open_issues=[
                IssueLine(
                    id=10_000 + i,
                    problem=text * 4,
                    quadrant=list(Quadrant)[i % 4],
                    owner_id=user,
                    raised_by=user,
                    raised_at=at(1),
                )
                for i in range(size)
            ],
        ),
    )


# ----------------------------------------------------------------------------------------- helpers


def dicts(blocks: list[Block]) -> list[dict[str, Any]]:
    return [block.to_dict() for block in blocks]


def texts(blocks: list[Block]) -> list[str]:
    """Every text in the blocks: header and section text, context elements, button texts."""
    out: list[str] = []
    for block in dicts(blocks):
        if block.get("text"):
            out.append(block["text"]["text"])
        out.extend(element["text"] for element in block.get("elements") or [])
        if block.get("accessory"):
            out.append(block["accessory"]["text"]["text"])
    return out


def body(blocks: list[Block]) -> str:
    return "\n".join(texts(blocks))


def all_messages(agenda: WeeklyAgenda, lang: Lang) -> list[Message]:
    return [
        build_agenda_lead(agenda, lang=lang, tz=TOKYO),
        *(
            build_agenda_section(agenda, section, lang=lang, tz=TOKYO, workspace_url=WORKSPACE)
            for section in Section
        ),
        build_agenda_empty(agenda, lang=lang, tz=TOKYO),
    ]


def assert_within_limits(message: Message) -> None:
    fallback, blocks = message
    as_dicts = dicts(blocks)  # slack_sdk raises here on most element limits
    assert check_slack_limits(as_dicts) == []
    assert 0 < len(blocks) <= MESSAGE_BLOCKS_MAX
    assert 0 < len(fallback) <= 3000
    for block in as_dicts:
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= HEADER_TEXT_MAX
        elif block.get("text"):
            assert len(block["text"]["text"]) <= SECTION_TEXT_MAX
        for element in block.get("elements") or []:
            assert len(element["text"]) <= SECTION_TEXT_MAX
        if block.get("accessory"):
            assert len(block["accessory"]["value"]) <= BUTTON_VALUE_MAX
    assert len(json.dumps(as_dicts, ensure_ascii=False)) <= MESSAGE_SIZE_BUDGET


def assert_inert(message: Message, user_ids: set[str]) -> None:
    """Nothing in the message pings, links or mentions but what the bot meant to."""
    fallback, blocks = message
    for text in [fallback, *texts(blocks)]:
        assert "<!" not in text
        assert "<#" not in text
        for mentioned in re.findall(r"<@([^>]*)>", text):
            assert SLACK_USER_ID.fullmatch(mentioned) and mentioned in user_ids, mentioned
        for link in re.findall(r"<(?!@)([^>|]*)", text):
            assert link.startswith(f"{WORKSPACE}archives/"), link
        assert re.search(r"&(?!amp;|lt;|gt;)", text) is None, text


def close_buttons(blocks: list[Block]) -> list[dict[str, Any]]:
    return [
        block["accessory"]
        for block in dicts(blocks)
        if block.get("accessory", {}).get("action_id") == ActionId.ISSUE_CLOSE
    ]


# ------------------------------------------------------------------------------------------- lead


def test_lead_in_english() -> None:
    text, blocks = build_agenda_lead(small_agenda(), lang=Lang.EN, tz=TOKYO)
    as_dicts = dicts(blocks)
    assert as_dicts[0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "Weekly IS/FS meeting agenda", "emoji": True},
    }
    assert texts(blocks)[1:] == [
        "Mon, Nov 16, 2026 – Sun, Nov 22, 2026",
        "*1. This week's toss-ups (10 min)* — toss-ups made this week: 3\n"
        "*2. Deals and toss-ups needing support (10 min)* — deals needing support: 2\n"
        "*3. Next week (5 min)* — meetings booked: 1 · toss-ups awaiting a decision: 1\n"
        "*4. Collaboration issues (15 min)* — topics (low scores, returns, overrides, open issues): 5",
        "Team average memo score: *48.3/70* (+1.8 from last week)",
        "The details of each section follow in this thread.",
    ]
    assert text == (
        "Weekly IS/FS meeting agenda, Mon, Nov 16, 2026 – Sun, Nov 22, 2026: 3 toss-ups this week, "
        "team average memo score 48.3/70"
    )


def test_lead_in_japanese() -> None:
    text, blocks = build_agenda_lead(small_agenda(), lang=Lang.JA, tz=TOKYO)
    assert texts(blocks) == [
        "週次連携ミーティング アジェンダ",
        "2026年11月16日(月)〜2026年11月22日(日)",
        "*1. 今週のトスアップ（10分）* — 今週のトスアップ 3件\n"
        "*2. 支援が必要な商談・トスアップ（10分）* — 支援が必要な商談 2件\n"
        "*3. 来週の予定（5分）* — 来週の商談 1件・判断待ちのトスアップ 1件\n"
        "*4. 連携課題（15分）* — 論点（低スコア・差し戻し・基準未達・未解決の連携課題） 5件",
        "チーム平均メモスコア: *48.3/70*（先週比 +1.8）",
        "各セクションの詳細は、このスレッドに続きます。",
    ]
    assert text.startswith("週次連携ミーティング アジェンダ（2026年11月16日(月)〜2026年11月22日(日)）")


@pytest.mark.parametrize(
    ("trend", "en", "ja"),
    [
        (
            ScoreTrend(average=40.0, previous=41.5, scored=2),
            "*40.0/70* (−1.5 from last week)",
            "（先週比 −1.5）",
        ),
        (
            ScoreTrend(average=40.04, previous=40.0, scored=2),
            "*40.0/70* (±0.0 from last week)",
            "（先週比 ±0.0）",
        ),
        (
            ScoreTrend(average=40.0, previous=None, scored=2),
            "*40.0/70* (no toss-ups last week)",
            "先週のトスアップなし",
        ),
        (
            ScoreTrend(average=None, previous=40.0, scored=0),
            "*—* (no memo scores this week)",
            "今週のスコアなし",
        ),
    ],
)
def test_the_change_from_last_week(trend: ScoreTrend, en: str, ja: str) -> None:
    small = small_agenda()
    agenda = small.model_copy(update={"this_week": small.this_week.model_copy(update={"team": trend})})
    assert en in body(build_agenda_lead(agenda, lang=Lang.EN, tz=TOKYO)[1])
    assert ja in body(build_agenda_lead(agenda, lang=Lang.JA, tz=TOKYO)[1])


# --------------------------------------------------------------------------------------- sections


def section(
    agenda: WeeklyAgenda, which: Section, lang: Lang = Lang.EN, url: str | None = WORKSPACE
) -> Message:
    return build_agenda_section(agenda, which, lang=lang, tz=TOKYO, workspace_url=url)


def test_this_week_in_english() -> None:
    text, blocks = section(small_agenda(), Section.THIS_WEEK)
    assert text == "1. This week's toss-ups (10 min) — toss-ups made this week: 3"
    assert texts(blocks) == [
        "1. This week's toss-ups (10 min)",
        "*Toss-ups*\n"
        "• <https://acme.slack.com/archives/C0FS/p1700000000000100|Acme &amp; Co> — <@U0IS1> → <@U0FS1>"
        " · Accepted · 52/70\n"
        "• Beta — <@U0IS2> → no FS rep · Rated by FS · 81/100\n"
        "• Gamma — <@U0IS1> → <@U0FS1> · Waiting for FS · — · 🔁 revises #9 (returned)",
        "*By status*\n"
        "Waiting for FS 1 · Accepted 1 · Returned to IS 0 · Rated by FS 1 · Won 0 · Lost 0\n"
        "Team average memo score: *48.3/70* (+1.8 from last week)",
        "*Average memo score by IS rep*\n• <@U0IS1> 52.0/70 (toss-ups: 2)\n• <@U0IS2> 44.5/70 (toss-ups: 1)",
    ]


def test_this_week_in_japanese() -> None:
    _, blocks = section(small_agenda(), Section.THIS_WEEK, Lang.JA)
    assert texts(blocks)[0] == "1. 今週のトスアップ（10分）"
    assert texts(blocks)[1].splitlines()[2] == "• Beta — <@U0IS2> → 担当FS未割り当て・FS評価済み・81/100"
    assert texts(blocks)[1].splitlines()[3].endswith("・🔁 差し戻された #9 の再トスアップ")
    assert texts(blocks)[2] == (
        "*ステータス別*\n"
        "受け入れ待ち 1件・受け入れ済み 1件・差し戻し済み 0件・FS評価済み 1件・受注 0件・失注 0件\n"
        "チーム平均メモスコア: *48.3/70*（先週比 +1.8）"
    )
    assert texts(blocks)[3].splitlines()[1] == "• <@U0IS1> 52.0/70（2件）"


def test_no_link_without_workspace_url_or_a_sane_notice() -> None:
    _, blocks = section(small_agenda(), Section.THIS_WEEK, url=None)
    assert "• Acme &amp; Co — <@U0IS1>" in body(blocks)
    assert "<http" not in body(blocks)
    good = NoticeRef(channel_id="C0FS", ts="1700000000.000100")
    assert notice_permalink(WORKSPACE, good) == "https://acme.slack.com/archives/C0FS/p1700000000000100"
    assert (
        notice_permalink("https://acme.slack.com", good)
        == "https://acme.slack.com/archives/C0FS/p1700000000000100"
    )
    assert notice_permalink(WORKSPACE, NoticeRef(channel_id="C0FS", ts=None)) is None
    assert notice_permalink(WORKSPACE, NoticeRef(channel_id="C0FS|x>", ts="1.2")) is None
    assert notice_permalink(WORKSPACE, NoticeRef(channel_id="C0FS", ts="1.2|<!channel>")) is None
    assert notice_permalink("https://a.slack.com/|<!here>", good) is None


def test_support_grouped_by_reason() -> None:
    text, blocks = section(small_agenda(), Section.SUPPORT)
    assert text == "2. Deals and toss-ups needing support (10 min) — deals needing support: 2"
    assert texts(blocks) == [
        "2. Deals and toss-ups needing support (10 min)",
        "*Feedback sheet overdue* (1)\n"
        "• Epsilon — IS <@U0IS2> / FS <@U0FS2> · since Wed, Nov 18, 2026 (1 day)",
        "*On hold* (1)\n• Delta — IS <@U0IS1> / FS <@U0FS1> · since Tue, Nov 10, 2026 (10 days)",
    ]
    _, blocks = section(small_agenda(), Section.SUPPORT, Lang.JA)
    assert texts(blocks)[1:] == [
        "*フィードバックシート未提出（期限超過）*（1件）\n"
        "• Epsilon — IS <@U0IS2> / FS <@U0FS2>・2026年11月18日(水)から（1日）",
        "*保留*（1件）\n• Delta — IS <@U0IS1> / FS <@U0FS1>・2026年11月10日(火)から（10日）",
    ]


def test_next_week() -> None:
    _, blocks = section(small_agenda(), Section.NEXT_WEEK)
    assert texts(blocks) == [
        "3. Next week (5 min)",
        "*Meetings booked for next week (Mon, Nov 23, 2026 – Sun, Nov 29, 2026)*\n"
        "• <https://acme.slack.com/archives/C0FS/p1700000000000600|Zeta> — Tue, Nov 24, 2026 14:00 JST"
        " · FS <@U0FS1>",
        "*Toss-ups waiting for a decision*\n• Gamma — <@U0IS1> → <@U0FS1> · waiting since Wed, Nov 18, 2026",
    ]
    _, blocks = section(small_agenda(), Section.NEXT_WEEK, Lang.JA)
    assert "|Zeta> — 2026年11月24日(火) 14:00 JST・FS <@U0FS1>" in body(blocks)
    assert "• Gamma — <@U0IS1> → <@U0FS1>・2026年11月18日(水)から判断待ち" in body(blocks)


def test_collaboration_issues_in_english() -> None:
    text, blocks = section(small_agenda(), Section.ISSUES)
    assert (
        text == "4. Collaboration issues (15 min) — topics (low scores, returns, overrides, open issues): 5"
    )
    assert texts(blocks) == [
        "4. Collaboration issues (15 min)",
        "*Lowest memo scores this week*\n• Beta — <@U0IS2> · 31/70 · lost most: BANT completeness −12",
        "*Returns to IS*\n"
        "• Eta — <@U0IS1>, returned by <@U0FS1> · BANT information incomplete: “no budget yet”",
        "*Tossed up though the criteria were not met: 1*\n• Theta — <@U0IS2> · reason: customer insisted",
        "*Most requested “collect next time” information*\n• decision maker's name ×3",
        "*Open collaboration issues (impact × urgency), most urgent first*",
        "*[Top priority]* FS accepts late\nOwner: <@U0MGR> · open 12 days · raised by <@U0IS1>",
        "Close",
        "*[If time allows]* Memos lack competitors\nOwner: not assigned · open 1 day · raised by <@U0FS1>",
        "Close",
    ]
    assert close_buttons(blocks) == [
        {
            "type": "button",
            "text": {"type": "plain_text", "text": "Close", "emoji": True},
            "action_id": "collab_issue_close",
            "value": "41",
        },
        {
            "type": "button",
            "text": {"type": "plain_text", "text": "Close", "emoji": True},
            "action_id": "collab_issue_close",
            "value": "42",
        },
    ]


def test_collaboration_issues_in_japanese() -> None:
    _, blocks = section(small_agenda(), Section.ISSUES, Lang.JA)
    all_text = body(blocks)
    assert "• Beta — <@U0IS2>・31/70・最も減点が大きい項目: BANT情報の完成度 −12点" in all_text
    assert "• Eta — <@U0IS1>（差し戻し: <@U0FS1>）・BANT情報が不足している:「no budget yet」" in all_text
    assert "*【最優先】* FS accepts late\n担当: <@U0MGR>・12日経過・起票: <@U0IS1>" in all_text
    assert "*【検討】* Memos lack competitors\n担当: 未定・1日経過・起票: <@U0FS1>" in all_text
    assert [b["text"]["text"] for b in close_buttons(blocks)] == ["クローズ", "クローズ"]


@pytest.mark.parametrize("lang", LANGS)
def test_every_quadrant_is_labelled_from_the_issue_catalog(lang: Lang) -> None:
    small = small_agenda()
    issues = [
        IssueLine(id=i, problem="p", quadrant=q, owner_id=None, raised_by="U0A", raised_at=at(1))
        for i, q in enumerate(Quadrant)
    ]
    collab = small.collaboration.model_copy(update={"open_issues": issues})
    _, blocks = section(small.model_copy(update={"collaboration": collab}), Section.ISSUES, lang)
    labels = {
        Lang.EN: ["Top priority", "Act on plan", "Mid-term", "If time allows"],
        Lang.JA: ["最優先", "要対応", "重要", "検討"],
    }
    found = re.findall(r"^\*[\[【](.+?)[\]】]\*", body(blocks), flags=re.MULTILINE)
    assert found == labels[lang]


@pytest.mark.parametrize(
    ("lang", "lines"),
    [
        (
            Lang.EN,
            [
                "No deals need support this week.",
                "No meetings booked for next week.",
                "No toss-ups are waiting for a decision.",
                "No memo scores this week.",
                "No returns this week.",
                "No toss-ups went out below the criteria this week.",
                "No “collect next time” requests.",
                "No open collaboration issues.",
            ],
        ),
        (
            Lang.JA,
            [
                "今週、支援が必要な商談はありません。",
                "来週予定されている商談はありません。",
                "判断待ちのトスアップはありません。",
                "今週のメモスコアはありません。",
                "今週の差し戻しはありません。",
                "今週、基準未達のままトスアップされたものはありません。",
                "「次回から取得してほしい情報」の依頼はありません。",
                "未解決の連携課題はありません。",
            ],
        ),
    ],
)
def test_an_empty_part_says_so_in_one_line(lang: Lang, lines: list[str]) -> None:
    agenda = one_toss_up_agenda()
    everything = "\n".join(body(section(agenda, which, lang)[1]) for which in Section)
    for line in lines:
        assert line in everything
    assert close_buttons(section(agenda, Section.ISSUES, lang)[1]) == []
    for message in all_messages(agenda, lang):
        assert_within_limits(message)


@pytest.mark.parametrize(
    ("lang", "line"),
    [(Lang.EN, "Every memo scored this week got full marks."), (Lang.JA, "今週のメモはすべて満点でした。")],
)
def test_a_week_of_full_marks_says_so_rather_than_that_there_were_no_scores(lang: Lang, line: str) -> None:
    agenda = one_toss_up_agenda()
    full = agenda.this_week.model_copy(
        update={"team": ScoreTrend(average=float(MEMO_SCORE_MAX), previous=None, scored=1)}
    )
    shown = body(section(agenda.model_copy(update={"this_week": full}), Section.ISSUES, lang)[1])
    assert line in shown
    assert t(lang, "agenda.issues.low_empty") not in shown


# ------------------------------------------------------------------------------------ empty week


@pytest.mark.parametrize("lang", LANGS)
def test_the_empty_week_is_one_short_message(lang: Lang) -> None:
    agenda = empty_agenda()
    assert agenda.is_empty
    text, blocks = build_agenda_empty(agenda, lang=lang, tz=TOKYO)
    assert len(blocks) == 2
    if lang is Lang.EN:
        assert texts(blocks) == [
            "Weekly IS/FS meeting agenda",
            "Mon, Nov 16, 2026 – Sun, Nov 22, 2026\nNothing to discuss this week: no toss-ups, no deals"
            " needing support, nothing planned for next week and no open collaboration issues.",
        ]
        week = "Mon, Nov 16, 2026 – Sun, Nov 22, 2026"
        assert text == f"Weekly IS/FS meeting agenda, {week}: nothing to discuss this week."
    else:
        assert texts(blocks)[0] == "週次連携ミーティング アジェンダ"
        assert texts(blocks)[1].startswith(
            "2026年11月16日(月)〜2026年11月22日(日)\n今週は話し合う項目がありません"
        )
    assert agenda_as_text(agenda, lang=lang, tz=TOKYO) == text
    assert "\n" not in text


# ----------------------------------------------------------------------------- huge and hostile


@pytest.mark.parametrize("lang", LANGS)
def test_a_huge_hostile_week_fits_every_limit(lang: Lang) -> None:
    agenda = huge_agenda()
    for message in all_messages(agenda, lang):
        assert_within_limits(message)
        assert_inert(message, {"U0IS1"})


@pytest.mark.parametrize(
    ("lang", "more"), [(Lang.EN, r"…and ([\d,]+) more"), (Lang.JA, r"…ほか ([\d,]+) 件")]
)
def test_long_lists_end_with_and_n_more(lang: Lang, more: str) -> None:
    agenda = huge_agenda(text="Acme")
    _, blocks = section(agenda, Section.THIS_WEEK, lang)
    listed = [text for text in texts(blocks) if "• <https://" in text]
    assert len(listed) == 2  # the toss-up list spans two sections
    shown = sum(line.startswith("• ") for text in listed for line in text.splitlines())
    left = int(re.findall(more, listed[-1])[0].replace(",", ""))
    assert shown + left == 2000 and shown > 20
    _, blocks = section(agenda, Section.ISSUES, lang)
    buttons = close_buttons(blocks)
    assert 10 < len(buttons) < 2000
    assert [b["value"] for b in buttons] == [str(10_000 + i) for i in range(len(buttons))]
    left = int(re.findall(more, texts(blocks)[-1])[0].replace(",", ""))
    assert len(buttons) + left == 2000
    for which in Section:
        text = body(section(agenda, which, lang)[1])
        assert re.search(more, text), which


def test_forged_user_ids_never_mention() -> None:
    agenda = huge_agenda(size=30, user=FORGED_ID)
    for lang in LANGS:
        for message in all_messages(agenda, lang):
            assert_within_limits(message)
            assert_inert(message, set())
        for which in Section:
            assert "U1&gt;&lt;!channel" in body(section(agenda, which, lang)[1])


def test_hostile_text_is_escaped_not_dropped() -> None:
    _, blocks = section(huge_agenda(size=1), Section.ISSUES)
    all_text = body(blocks)
    assert "&lt;!channel&gt; &amp; &lt;@U1&gt;" in all_text
    assert "<!channel>" not in all_text


def test_user_mention_only_for_slack_ids() -> None:
    assert user_mention("U0123ABC") == "<@U0123ABC>"
    assert user_mention("W012A3CDE") == "<@W012A3CDE>"
    assert user_mention("U1><!channel") == "U1&gt;&lt;!channel"
    assert user_mention("U1") == "U1"
    assert user_mention("u0123abc") == "u0123abc"
    assert user_mention("C0123456") == "C0123456"
    assert user_mention("U0123|x") == "U0123|x"
    assert "<" not in user_mention("<@U0123>\n<!here>")
    assert len(user_mention("U" + "<" * 500)) <= 40


# ------------------------------------------------------------------------------------------- text


@pytest.mark.parametrize("lang", LANGS)
def test_agenda_as_text_is_readable(lang: Lang) -> None:
    agenda = small_agenda().model_copy(
        update={
            "collaboration": small_agenda().collaboration.model_copy(
                update={
                    "overrides": [OverrideLine(id=8, company="A & <B>", is_user_id=FORGED_ID, reason="x & y")]
                }
            )
        }
    )
    text = agenda_as_text(agenda, lang=lang, tz=TOKYO)
    assert "*" not in text and "&amp;" not in text and "&lt;" not in text and "<@" not in text
    assert "A & <B>" in text and "x & y" in text and FORGED_ID in text
    assert "@U0IS1" in text and "@U0MGR" in text
    for which in Section:
        assert f"── {section(agenda, which, lang)[0].split(' — ')[0]} ──" in text
    if lang is Lang.EN:
        assert text.startswith(
            "Weekly IS/FS meeting agenda\nMon, Nov 16, 2026 – Sun, Nov 22, 2026\n\n"
            "1. This week's toss-ups (10 min) — toss-ups made this week: 3\n"
        )
        assert "• Acme & Co — @U0IS1 → @U0FS1 · Accepted · 52/70\n" in text
        assert "• Beta — @U0IS2 → no FS rep · Rated by FS · 81/100\n" in text
        assert "Team average memo score: 48.3/70 (+1.8 from last week)" in text
        assert "• [Top priority] FS accepts late\n  Owner: @U0MGR · open 12 days · raised by @U0IS1" in text
    else:
        assert text.startswith("週次連携ミーティング アジェンダ\n2026年11月16日(月)〜2026年11月22日(日)\n")
        assert "• 【最優先】 FS accepts late\n  担当: @U0MGR・12日経過・起票: @U0IS1" in text


def test_agenda_as_text_cuts_huge_lists() -> None:
    text = agenda_as_text(huge_agenda(text="Acme"), lang=Lang.EN, tz=TOKYO)
    assert "…and 1,800 more" in text
    assert len(text.splitlines()) < 3000


# ------------------------------------------------------------------------------------- hypothesis

USER_IDS = st.sampled_from(["U0IS1", "W0FS2", FORGED_ID, "", "U1", "<@U0IS1>", "U0" + "X" * 300])
TEXTS = st.lists(
    st.one_of(
        st.characters(codec="utf-8", exclude_categories=("Cs",)),
        st.sampled_from(["<!channel>", "<@U1>", "&", "<", ">", "\n", "|", "*", "`", "会社", "x" * 150]),
    ),
    max_size=80,
).map("".join)
MOMENTS = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC))
NOTICES = st.builds(
    NoticeRef,
    channel_id=st.sampled_from([None, "C0123", "C0|<!x>", "D0ABC"]),
    ts=st.sampled_from([None, "1700000000.000100", "1.2.3", "<!here>"]),
)


def lists(element: st.SearchStrategy[Any]) -> st.SearchStrategy[list[Any]]:
    return st.lists(element, max_size=60)


@st.composite
def agendas(draw: st.DrawFn) -> WeeklyAgenda:
    ids = st.integers(min_value=1, max_value=10**12)
    scores = st.one_of(st.none(), st.integers(min_value=0, max_value=100))
    averages = st.one_of(st.none(), st.floats(min_value=0, max_value=70, allow_nan=False))
    start = draw(st.dates(min_value=date(2000, 1, 3), max_value=date(2099, 1, 1)))
    toss_ups = draw(
        st.one_of(
            lists(
                st.builds(
                    TossUpLine,
                    id=ids,
                    company=TEXTS,
                    is_user_id=USER_IDS,
                    fs_user_id=st.one_of(st.none(), USER_IDS),
                    status=st.sampled_from(AgendaStatus),
                    score=scores,
                    score_max=st.sampled_from([70, 100]),
                    notice=NOTICES,
                )
            ),
            st.integers(min_value=0, max_value=600).map(lambda n: huge_agenda(n).this_week.toss_ups),
        )
    )
    return WeeklyAgenda(
        week_start=start,
        week_end=start + timedelta(days=6),
        generated_at=draw(MOMENTS),
        this_week=ThisWeek(
            toss_ups=toss_ups,
            counts={s: draw(st.integers(min_value=0, max_value=10**6)) for s in AgendaStatus},
            team=ScoreTrend(average=draw(averages), previous=draw(averages), scored=len(toss_ups)),
            by_rep=draw(lists(st.builds(RepAverage, user_id=USER_IDS, toss_ups=ids, average=averages))),
        ),
        support=draw(
            lists(
                st.builds(
                    SupportLine,
                    id=ids,
                    company=TEXTS,
                    is_user_id=USER_IDS,
                    fs_user_id=st.one_of(st.none(), USER_IDS),
                    reason=st.sampled_from(SupportReason),
                    since=MOMENTS,
                    days=st.integers(min_value=0, max_value=10**5),
                    notice=NOTICES,
                )
            )
        ),
        next_week=NextWeek(
            first_day=start + timedelta(days=7),
            last_day=start + timedelta(days=13),
            meetings=draw(
                lists(
                    st.builds(
                        MeetingLine,
                        id=ids,
                        company=TEXTS,
                        meeting_at=MOMENTS,
                        fs_user_id=st.one_of(st.none(), USER_IDS),
                        is_user_id=USER_IDS,
                    )
                )
            ),
            waiting=draw(
                lists(
                    st.builds(
                        WaitingLine,
                        id=ids,
                        company=TEXTS,
                        is_user_id=USER_IDS,
                        fs_user_id=st.one_of(st.none(), USER_IDS),
                        created_at=MOMENTS,
                        notice=NOTICES,
                    )
                )
            ),
        ),
        collaboration=Collaboration(
            low_scores=draw(
                lists(
                    st.builds(
                        LowScoreLine,
                        id=ids,
                        company=TEXTS,
                        is_user_id=USER_IDS,
                        score=st.integers(min_value=0, max_value=70),
                        weakest_item=st.one_of(st.none(), st.sampled_from(ScoreItemKey)),
                        weakest_lost=st.integers(min_value=0, max_value=70),
                        notice=NOTICES,
                    )
                )
            ),
            returns=draw(
                lists(
                    st.builds(
                        ReturnLine,
                        id=ids,
                        company=TEXTS,
                        is_user_id=USER_IDS,
                        returned_by=st.one_of(st.none(), USER_IDS),
                        reason=st.one_of(st.none(), st.sampled_from(ReturnReason)),
                        note=st.one_of(st.none(), TEXTS),
                    )
                )
            ),
            overrides=draw(
                lists(st.builds(OverrideLine, id=ids, company=TEXTS, is_user_id=USER_IDS, reason=TEXTS))
            ),
            requested_info=draw(lists(st.builds(RequestedInfo, text=TEXTS, count=ids))),
            open_issues=draw(
                st.lists(
                    st.builds(
                        IssueLine,
                        id=ids,
                        problem=TEXTS,
                        quadrant=st.sampled_from(Quadrant),
                        owner_id=st.one_of(st.none(), USER_IDS),
                        raised_by=USER_IDS,
                        raised_at=MOMENTS,
                    ),
                    max_size=120,
                )
            ),
        ),
    )


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(agenda=agendas(), lang=st.sampled_from(LANGS))
def test_any_agenda_fits_every_limit(agenda: WeeklyAgenda, lang: Lang) -> None:
    for message in all_messages(agenda, lang):
        assert_within_limits(message)
        assert_inert(message, {"U0IS1", "W0FS2"})
    _, blocks = section(agenda, Section.ISSUES, lang)
    values = [b["value"] for b in close_buttons(blocks)]
    assert values == [str(issue.id) for issue in agenda.collaboration.open_issues[: len(values)]]
    text = agenda_as_text(agenda, lang=lang, tz=TOKYO)
    assert text.strip()


def test_the_memo_scores_are_shown_out_of_what_the_teams_weights_allow() -> None:
    agenda = small_agenda().model_copy(update={"memo_score_max": 80})  # score.weights.fs_rating: 20
    _, blocks = build_agenda_lead(agenda, lang=Lang.EN, tz=TOKYO)
    assert "Team average memo score: *48.3/80* (+1.8 from last week)" in texts(blocks)
    assert "/70" not in body(section(agenda, Section.ISSUES, Lang.EN)[1])
