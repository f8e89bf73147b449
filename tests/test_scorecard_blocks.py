"""Rep scorecards as Slack messages (modals/scorecard.py): the DM and the managers' overview in both
languages with every figure, "—" where there is no data, the quarter label, Slack's limits with 200 reps,
user ids that are not Slack ids kept inert, and the plain-text previews. Pure: no Slack, no database.

The cards are the hand-worked ones of tests/test_scorecard_domain.py (see its docstring), with Slack-like
user ids: IS1 → U0IS1, IS2 → U0IS2 (IS on #4 #5, FS on #6), FS1 → U0FS1, FS2 → U0FS2.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

import pytest
from slack_sdk.models.blocks import Block

from bot.domain.kpi import quarter_of
from bot.domain.scorecard import Scorecard, ScorecardConfig, build_scorecard, build_scorecards
from bot.i18n import Lang
from modals.digest_text import MESSAGE_SIZE_BUDGET
from modals.limits import HEADER_TEXT_MAX, MESSAGE_BLOCKS_MAX, check_slack_limits
from modals.messages import Message
from modals.scorecard import (
    build_scorecard as render,
)
from modals.scorecard import (
    build_scorecard_overview,
    build_scorecard_usage,
    overview_as_text,
    scorecard_as_text,
    scorecard_period_label,
)
from modals.text import SLACK_USER_ID
from tests.test_scorecard_domain import FACTS, NOVEMBER, RULES, TOKYO

IDS = {"IS1": "U0IS1", "IS2": "U0IS2", "FS1": "U0FS1", "FS2": "U0FS2"}
FORGED_ID = "U1><!channel> & <@U2>"


def slack_cards(facts=FACTS, rules=RULES) -> dict[str, Scorecard]:
    return {
        IDS[user]: card.model_copy(update={"user_id": IDS[user]})
        for user, card in build_scorecards(facts, rules).items()
    }


CARDS = slack_cards()


def dicts(blocks: list[Block]) -> list[dict[str, Any]]:
    return [block.to_dict() for block in blocks]


def texts(blocks: list[Block]) -> list[str]:
    """Every text in the blocks, in order: block text, fields, context elements."""
    out: list[str] = []
    for block in dicts(blocks):
        if block.get("text"):
            out.append(block["text"]["text"])
        out.extend(field["text"] for field in block.get("fields") or [])
        out.extend(element["text"] for element in block.get("elements") or [])
    return out


def assert_within_limits(message: Message) -> None:
    fallback, blocks = message
    as_dicts = dicts(blocks)
    assert check_slack_limits(as_dicts) == []
    assert 0 < len(blocks) <= MESSAGE_BLOCKS_MAX
    assert 0 < len(fallback) <= 3000
    for block in as_dicts:
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= HEADER_TEXT_MAX
    assert len(json.dumps(as_dicts, ensure_ascii=False)) <= MESSAGE_SIZE_BUDGET


def assert_inert(message: Message, user_ids: set[str]) -> None:
    """Nothing pings, links or mentions but the reps the message is about."""
    fallback, blocks = message
    for text in [fallback, *texts(blocks)]:
        assert "<!" not in text and "<#" not in text and "<http" not in text
        for mentioned in re.findall(r"<@([^>]*)>", text):
            assert SLACK_USER_ID.fullmatch(mentioned) and mentioned in user_ids, mentioned
        assert re.search(r"&(?!amp;|lt;|gt;)", text) is None, text


# -------------------------------------------------------------------------------------------- DM

HOW_EN = (
    "How it is made: the individual figure is, as IS, the mean of your SQL rate, BANT acquisition rate and "
    "memo score (as a share of its maximum); as FS, the mean of your win rate and your share of feedback "
    "sheets sent on time (before the first reminder). The shared figure is the team's post-toss-up win "
    "rate. Shared KPIs weigh 35% of the combined figure. Counts and amounts are shown, not scored; the "
    "feedback you received goes into the qualitative evaluation."
)
SHARED_EN = [
    "*Shared KPIs (the team's)*",
    "*Post-toss-up win rate*\n75.0% (3/4)",
    "*Lead time (first contact → won)*\n43.0 days",
    "*Won amount*\n¥6,000,000",
    "*Acceptance rate*\n83.3% (5/6)",
]


def test_the_dm_of_a_rep_on_both_sides_in_english() -> None:
    fallback, blocks = render(CARDS["U0IS2"], lang=Lang.EN, tz=TOKYO)
    assert fallback == "Scorecard — November 2026: combined figure 78.3 / 100"
    assert [block["type"] for block in dicts(blocks)] == [
        "header",
        "context",
        "section",
        "section",
        "section",
        "section",
        "divider",
        "section",
        "context",
    ]
    assert dicts(blocks)[0]["text"]["text"] == "Scorecard — November 2026"
    assert texts(blocks) == [
        "Scorecard — November 2026",
        "<@U0IS2> · Sun, Nov 1, 2026 – Mon, Nov 30, 2026 (Asia/Tokyo)",
        "Toss-ups created in this period; their decisions, ratings and outcomes count whenever they "
        "happened.",
        "*Combined figure: 78.3 / 100*\nIndividual 80.0 × 65% + shared 75.0 × 35%\n"
        "You were IS on some toss-ups and FS on others: each side counts by its number of toss-ups.",
        "*As IS — your individual KPIs, beside the team's*",
        "*Toss-ups*\n2 · team 6",
        "*SQLs*\n2 (100.0%) · team 83.3%",
        "*BANT acquisition rate*\n50.0% · team 83.3%",
        "*Average memo score*\n42.0 / 70 · team 51.3 / 70",
        "*Accepted / returned*\n2 / 0 · team 5 / 1",
        "*IS figure*\n70.0 / 100",
        "*As FS — your individual KPIs, beside the team's*",
        "*Won amount*\n¥3,000,000 · team ¥6,000,000",
        "*Average deal size*\n¥3,000,000 · team ¥2,000,000",
        "*Post-toss-up win rate*\n100.0% (1/1) · team 75.0%",
        "*Time to accept (average)*\n1.0 h · team 4.2 h",
        "*Feedback sheets on time*\n100.0% (1/1) · team 50.0%",
        "*FS figure*\n100.0 / 100",
        *SHARED_EN,
        "*Feedback you received (collaboration contribution)*\n"
        "• From FS on your memos: no feedback sheets yet.\n"
        "• From IS on your follow-through (ratings: 1): 5.0 of 5",
        HOW_EN,
        "Only you and the managers see this scorecard.",
    ]
    assert_within_limits((fallback, blocks))


def test_the_dm_of_an_is_rep_in_japanese() -> None:
    fallback, blocks = render(CARDS["U0IS1"], lang=Lang.JA, tz=TOKYO)
    assert fallback == "スコアカード — 2026年11月: 総合評価 81.5 / 100"
    assert texts(blocks) == [
        "スコアカード — 2026年11月",
        "<@U0IS1>・2026年11月1日(日)〜2026年11月30日(月)（Asia/Tokyo）",
        "この期間にトスアップされた案件が対象です。受け入れ・FS評価・商談結果は、記録日を問わず含みます。",
        "*総合評価: 81.5 / 100*\n個別KPI 85.0 × 65% ＋ 共通KPI 75.0 × 35%",
        "*ISとしての個別KPI（チーム全体と比較）*",
        "*トスアップ数*\n4件 ／ チーム 6件",
        "*SQL数*\n3件（75.0%） ／ チーム 83.3%",
        "*BANT取得率*\n100.0% ／ チーム 83.3%",
        "*平均メモスコア*\n56.0 / 70点 ／ チーム 51.3 / 70点",
        "*受け入れ / 差し戻し*\n3件 / 1件 ／ チーム 5件 / 1件",
        "*IS評価*\n85.0 / 100",
        "*共通KPI（チーム全体）*",
        "*トスアップ後受注率*\n75.0%（3/4）",
        "*リードタイム（初回接触〜受注）*\n43.0日",
        "*受注金額*\n6,000,000円",
        "*受け入れ率*\n83.3%（5/6）",
        "*受け取ったフィードバック（連携貢献度）*\n"
        "• FSからのメモ評価（フィードバックシート 3件）: BANT情報の正確性 4.0・課題把握の深さ 3.0・"
        "引き継ぎメモの充実度 4.0・総合評価 4.0（5点満点）",
        "算出方法: 個別KPIは、ISとしてはSQL率・BANT取得率・メモスコア（満点に対する割合）の平均、FSとしては"
        "トスアップ後受注率とフィードバックシートの期限内提出率（最初のリマインド前に提出）の平均です。共通KPIは"
        "チーム全体のトスアップ後受注率です。総合評価のうち共通KPIの比重は35%です。件数や金額は表示のみで評価には"
        "含めず、受け取ったフィードバックは定性評価に反映します。",
        "このスコアカードは本人とマネージャーだけが見られます。",
    ]
    assert_within_limits((fallback, blocks))


def test_the_dm_of_an_fs_rep_in_japanese() -> None:
    _, blocks = render(CARDS["U0FS1"], lang=Lang.JA, tz=TOKYO)
    assert texts(blocks)[3:12] == [
        "*総合評価: 58.8 / 100*\n個別KPI 50.0 × 65% ＋ 共通KPI 75.0 × 35%",
        "*FSとしての個別KPI（チーム全体と比較）*",
        "*受注金額*\n3,000,000円 ／ チーム 6,000,000円",
        "*案件単価（平均）*\n1,500,000円 ／ チーム 2,000,000円",
        "*トスアップ後受注率*\n66.7%（2/3） ／ チーム 75.0%",
        "*受け入れまでの時間（平均）*\n4.0時間 ／ チーム 4.2時間",
        "*フィードバックシートの期限内提出*\n33.3%（1/3） ／ チーム 50.0%",
        "*FS評価*\n50.0 / 100",
        "*共通KPI（チーム全体）*",
    ]
    assert texts(blocks)[16] == (
        "*受け取ったフィードバック（連携貢献度）*\n• ISからの商談後対応の評価（2件）: 3.0（5点満点）"
    )


def test_no_data_reads_as_a_dash() -> None:
    _, blocks = render(CARDS["U0FS2"], lang=Lang.EN, tz=TOKYO)
    assert texts(blocks)[3:11] == [
        "*Combined figure: —*\nNot enough data for an individual figure yet (no toss-up made, closed or due "
        "for feedback).",
        "*As FS — your individual KPIs, beside the team's*",
        "*Won amount*\n¥0 · team ¥6,000,000",
        "*Average deal size*\n— · team ¥2,000,000",
        "*Post-toss-up win rate*\n— · team 75.0%",
        "*Time to accept (average)*\n8.0 h · team 4.2 h",
        "*Feedback sheets on time*\n— · team 50.0%",
        "*FS figure*\n—",
    ]
    assert "• From IS on your follow-through: no ratings yet." in texts(blocks)[-3]


def test_before_anything_closed_the_individual_figure_stands_alone() -> None:
    open_only = [replace(row, outcome=None) for row in FACTS.handoffs]
    card = slack_cards(replace(FACTS, handoffs=open_only))["U0IS1"]
    _, blocks = render(card, lang=Lang.EN, tz=TOKYO)
    assert texts(blocks)[3] == (
        "*Combined figure: 85.0 / 100*\nIndividual 85.0 alone: no toss-up of the period has closed yet, so "
        "the shared KPIs cannot count."
    )
    _, blocks = render(card, lang=Lang.JA, tz=TOKYO)
    assert texts(blocks)[3] == (
        "*総合評価: 85.0 / 100*\n個別KPI 85.0 のみ: "
        "この期間のトスアップはまだ受注・失注が確定していないため、共通KPIは反映されません。"
    )


@pytest.mark.parametrize(
    ("weight", "en", "ja"),
    [
        (0.3, "× 70% + shared 75.0 × 30%", "× 70% ＋ 共通KPI 75.0 × 30%"),
        (1 / 3, "× 66.7% + shared 75.0 × 33.3%", "× 66.7% ＋ 共通KPI 75.0 × 33.3%"),
    ],
)
def test_the_formula_shows_the_configured_weight(weight: float, en: str, ja: str) -> None:
    cards = slack_cards(rules=replace(RULES, scorecards=ScorecardConfig(shared_weight=weight)))
    assert en in texts(render(cards["U0IS1"], lang=Lang.EN, tz=TOKYO)[1])[3]
    assert ja in texts(render(cards["U0IS1"], lang=Lang.JA, tz=TOKYO)[1])[3]


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        (Lang.EN, "<@U0NOBODY> has no toss-up in this period, as IS or as FS: no scorecard."),
        (
            Lang.JA,
            "<@U0NOBODY>: この期間、ISとしてもFSとしても担当したトスアップがないため、"
            "スコアカードはありません。",
        ),
    ],
)
def test_a_rep_without_toss_ups_gets_one_line(lang: Lang, text: str) -> None:
    card = build_scorecard(FACTS, RULES, "U0NOBODY")
    fallback, blocks = render(card, lang=lang, tz=TOKYO)
    assert fallback == text
    assert [block["type"] for block in dicts(blocks)] == ["header", "section"]
    assert texts(blocks)[1] == text


def test_a_quarter_is_labelled_as_one() -> None:
    card = slack_cards(replace(FACTS, period=quarter_of(date(2026, 11, 1), TOKYO)))["U0IS1"]
    assert render(card, lang=Lang.EN, tz=TOKYO)[0].startswith("Scorecard — Q4 2026: ")
    assert render(card, lang=Lang.JA, tz=TOKYO)[0].startswith("スコアカード — 2026年 第4四半期: ")
    assert (
        scorecard_period_label(date(2026, 11, 1), date(2026, 11, 30), lang=Lang.JA, tz=TOKYO) == "2026年11月"
    )
    assert (
        scorecard_period_label(date(2026, 11, 2), date(2026, 11, 8), lang=Lang.EN, tz=TOKYO)
        == "Mon, Nov 2, 2026 – Sun, Nov 8, 2026"
    )


# -------------------------------------------------------------------------------------- overview


RULE_JA = (
    "総合評価 = 個別KPI × 65% ＋ 共通KPI × 35%（共通KPI: チーム全体のトスアップ後受注率 75.0%）"
    "・評価の高い順・4人"
)


def test_the_overview_in_english() -> None:
    fallback, blocks = build_scorecard_overview(CARDS.values(), lang=Lang.EN, tz=TOKYO)
    assert fallback == "Rep scorecards — November 2026: 4 reps"
    assert texts(blocks) == [
        "Rep scorecards — November 2026",
        "Combined = individual × 65% + shared × 35% (shared: the team's post-toss-up win rate, 75.0%) · best "
        "first · 4 reps",
        "*By rep*\n"
        "1. <@U0IS1> — *81.5 / 100* (IS 85.0: 4 toss-ups, BANT 100.0%, memo 56.0 / 70)\n"
        "2. <@U0IS2> — *78.3 / 100* (IS 70.0: 2 toss-ups, BANT 50.0%, memo 42.0 / 70 · FS 100.0: won "
        "¥3,000,000, win rate 100.0%, sheets on time 100.0% (1/1))\n"
        "3. <@U0FS1> — *58.8 / 100* (FS 50.0: won ¥3,000,000, win rate 66.7%, sheets on time 33.3% (1/3))\n"
        "4. <@U0FS2> — *—* (FS —: won ¥0, win rate —, sheets on time —)",
        "Each rep receives their own scorecard by DM, with the feedback they received. Only managers see "
        "this list.",
    ]
    assert_within_limits((fallback, blocks))


def test_the_overview_in_japanese() -> None:
    fallback, blocks = build_scorecard_overview(CARDS.values(), lang=Lang.JA, tz=TOKYO)
    assert fallback == "担当者別スコアカード — 2026年11月: 4人"
    assert texts(blocks)[1:3] == [
        RULE_JA,
        "*担当者別*\n"
        "1. <@U0IS1> — *81.5 / 100*（IS 85.0: トスアップ4件・BANT 100.0%・メモ 56.0 / 70点）\n"
        "2. <@U0IS2> — *78.3 / 100*（IS 70.0: トスアップ2件・BANT 50.0%・メモ 42.0 / 70点／FS 100.0: "
        "受注 3,000,000円・受注率 100.0%・期限内提出 100.0%（1/1））\n"
        "3. <@U0FS1> — *58.8 / 100*（FS 50.0: 受注 3,000,000円・受注率 66.7%・期限内提出 33.3%（1/3））\n"
        "4. <@U0FS2> — *—*（FS —: 受注 0円・受注率 —・期限内提出 —）",
    ]


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        (Lang.EN, "No toss-ups in this period: no scorecards."),
        (Lang.JA, "この期間のトスアップはないため、スコアカードはありません。"),
    ],
)
def test_an_empty_overview_is_one_line(lang: Lang, text: str) -> None:
    fallback, blocks = build_scorecard_overview([], lang=lang, tz=TOKYO)
    assert (fallback, texts(blocks)) == (text, [text])
    _, blocks = build_scorecard_overview([], lang=lang, tz=TOKYO, period=NOVEMBER)
    assert [block["type"] for block in dicts(blocks)] == ["header", "section"]
    assert overview_as_text([], lang=lang, tz=TOKYO) == text


def many_cards(count: int, user: str | None = None) -> list[Scorecard]:
    """`count` reps, each one both IS and FS, with figures that differ."""
    template = CARDS["U0IS2"]
    cards = []
    for i in range(count):
        combined = template.combined.model_copy(update={"value": float(i % 97)})
        cards.append(template.model_copy(update={"user_id": user or f"U{i:08d}", "combined": combined}))
    return cards


@pytest.mark.parametrize(
    ("lang", "more"), [(Lang.EN, r"…and ([\d,]+) more reps"), (Lang.JA, r"…ほか ([\d,]+) 人")]
)
def test_200_reps_fit_slacks_limits_with_and_n_more(lang: Lang, more: str) -> None:
    cards = many_cards(200)
    message = build_scorecard_overview(cards, lang=lang, tz=TOKYO)
    assert_within_limits(message)
    assert_inert(message, {card.user_id for card in cards})
    listed = [text for text in texts(message[1]) if re.search(r"^\d+\. <@", text, re.M)]
    assert 1 < len(listed) <= 3
    shown = [line for text in listed for line in text.splitlines() if re.match(r"\d+\. <@", line)]
    left = int(re.findall(more, listed[-1])[0].replace(",", ""))
    assert len(shown) + left == 200 and len(shown) > 30
    # best first: the ranks count up and the figures never rise
    assert [int(line.split(".", 1)[0]) for line in shown] == list(range(1, len(shown) + 1))
    figures = [float(re.findall(r"\*([\d.]+) / 100\*", line)[0]) for line in shown]
    assert figures == sorted(figures, reverse=True) and figures[0] == 96.0


def test_forged_user_ids_never_mention() -> None:
    for lang in Lang:
        dm = render(CARDS["U0IS1"].model_copy(update={"user_id": FORGED_ID}), lang=lang, tz=TOKYO)
        overview = build_scorecard_overview(many_cards(60, user=FORGED_ID), lang=lang, tz=TOKYO)
        for message in (dm, overview):
            assert_within_limits(message)
            assert_inert(message, set())
        assert "U1&gt;&lt;!channel&gt; &amp; &lt;@U2&gt;" in texts(dm[1])[1]
        empty = render(build_scorecard(FACTS, RULES, FORGED_ID), lang=lang, tz=TOKYO)
        assert_inert(empty, set())
        assert "<!channel>" not in scorecard_as_text(CARDS["U0IS1"], lang=lang, tz=TOKYO)


def test_a_very_long_user_id_is_cut() -> None:
    card = CARDS["U0IS1"].model_copy(update={"user_id": "U" + "X" * 5000})
    for lang in Lang:
        assert_within_limits(render(card, lang=lang, tz=TOKYO))
        assert_within_limits(build_scorecard_overview([card] * 200, lang=lang, tz=TOKYO))


# ------------------------------------------------------------------------------------------ text


def test_the_dm_as_text_in_english() -> None:
    assert scorecard_as_text(CARDS["U0FS1"], lang=Lang.EN, tz=TOKYO) == "\n".join(
        [
            "Scorecard — November 2026",
            "@U0FS1 · Sun, Nov 1, 2026 – Mon, Nov 30, 2026 (Asia/Tokyo)",
            "",
            "Combined figure: 58.8 / 100",
            "Individual 50.0 × 65% + shared 75.0 × 35%",
            "",
            "As FS — your individual KPIs, beside the team's",
            "• Won amount: ¥3,000,000 · team ¥6,000,000",
            "• Average deal size: ¥1,500,000 · team ¥2,000,000",
            "• Post-toss-up win rate: 66.7% (2/3) · team 75.0%",
            "• Time to accept (average): 4.0 h · team 4.2 h",
            "• Feedback sheets on time: 33.3% (1/3) · team 50.0%",
            "• FS figure: 50.0 / 100",
            "",
            "Shared KPIs (the team's)",
            "• Post-toss-up win rate: 75.0% (3/4)",
            "• Lead time (first contact → won): 43.0 days",
            "• Won amount: ¥6,000,000",
            "• Acceptance rate: 83.3% (5/6)",
            "",
            "Feedback you received (collaboration contribution)",
            "• From IS on your follow-through (ratings: 2): 3.0 of 5",
            "",
            HOW_EN,
        ]
    )


def test_the_overview_as_text_in_japanese() -> None:
    assert overview_as_text(CARDS.values(), lang=Lang.JA, tz=TOKYO) == "\n".join(
        [
            "担当者別スコアカード — 2026年11月",
            RULE_JA,
            "",
            "担当者別",
            "1. @U0IS1 — 81.5 / 100（IS 85.0: トスアップ4件・BANT 100.0%・メモ 56.0 / 70点）",
            "2. @U0IS2 — 78.3 / 100（IS 70.0: トスアップ2件・BANT 50.0%・メモ 42.0 / 70点／FS 100.0: "
            "受注 3,000,000円・受注率 100.0%・期限内提出 100.0%（1/1））",
            "3. @U0FS1 — 58.8 / 100（FS 50.0: 受注 3,000,000円・受注率 66.7%・期限内提出 33.3%（1/3））",
            "4. @U0FS2 — —（FS —: 受注 0円・受注率 —・期限内提出 —）",
        ]
    )
    text = overview_as_text(many_cards(250), lang=Lang.EN, tz=TOKYO)
    assert text.endswith("\n…and 50 more reps") and text.count("\n") == 4 + 200


def test_usage() -> None:
    text, blocks = build_scorecard_usage(lang=Lang.EN)
    assert "`/tossup scorecard 2026-Q3`" in text and texts(blocks) == [text]
    assert "`2026年第3四半期`" in build_scorecard_usage(lang=Lang.JA)[0]


def test_generated_cards_are_json_then_rendered_the_same() -> None:
    """What the lead freezes as JSON when a period is claimed renders exactly like the card itself."""
    for card in CARDS.values():
        again = Scorecard.model_validate(json.loads(card.model_dump_json()))
        for lang in Lang:
            assert dicts(render(again, lang=lang, tz=TOKYO)[1]) == dicts(render(card, lang=lang, tz=TOKYO)[1])
    assert CARDS["U0IS1"].generated_at == datetime(2026, 12, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("lang", "rule"),
    [
        (Lang.EN, "Combined = the individual figure alone: the team has closed no deal yet"),
        (Lang.JA, "総合評価 = 個別KPIのみ（チームにまだ受注・失注がなく"),
    ],
)
def test_with_no_deal_closed_the_overview_says_the_combined_figure_is_the_individual_one(
    lang: Lang, rule: str
) -> None:
    no_deal = [
        card.model_copy(update={"shared": card.shared.model_copy(update={"win_rate": None})})
        for card in CARDS.values()
    ]
    _, blocks = build_scorecard_overview(no_deal, lang=lang, tz=TOKYO)
    assert texts(blocks)[1].startswith(rule), texts(blocks)[1]
