"""The quarterly criteria review as Slack messages and plain text: exact content in Japanese and English
on a small review worked out by hand, small samples marked and kept out of the ranking, where the "not
met" side comes from, team labels escaped, every limit held on a huge review, the empty quarter.

The small review (Q3 2026, warn mode, 30 toss-ups: 24 accepted, 4 returned, 12 won, 10 lost):
- budget (ranked 1): met 18 — 9 won / 3 lost (75.0 %), 15 accepted / 2 returned (88.2 %); not met 12 —
  3 / 7 (30.0 %), 9 / 2 (81.8 %): win-rate gap +45.0 points, acceptance +6.4.
- need (small): met 26 — 11 / 8 (57.9 %), 21 / 4 (84.0 %); not met 4 — 1 / 2 (33.3 %), 3 / 0 (100 %):
  +24.6 and −16.0.
- BANT (ranked 1, 16/20 to count as met): met 20 — 10 / 2 (83.3 %), 17 / 2 (89.5 %); below 10 — 2 / 8
  (20.0 %), 7 / 2 (77.8 %, only 9 decided: a small sample for the acceptance rate): +63.3 and +11.7.
- FS rating (small, 24/30): met 6 — 4 / 1 (80.0 %), 6 / 0; below 4 — 1 / 2 (33.3 %), 4 / 0: +46.7, ±0.0.
"""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.config import AppConfig
from bot.domain.criteria import CriteriaMode
from bot.domain.quarterly import (
    CriterionLine,
    Finding,
    Group,
    ItemLine,
    QuarterlyReview,
    QuarterlySection,
)
from bot.domain.score import ScoreItemKey
from bot.i18n import Lang
from modals.quarterly import (
    build_quarterly_empty,
    build_quarterly_lead,
    build_quarterly_section,
    quarter_label,
    quarterly_as_text,
)
from tests.conftest import team_config
from tests.test_agenda_blocks import assert_within_limits, dicts, texts

TOKYO = ZoneInfo("Asia/Tokyo")
CRITERIA, ITEMS = QuarterlySection.CRITERIA, QuarterlySection.SCORE_ITEMS


def g(toss_ups: int, accepted: int, returned: int, won: int, lost: int) -> Group:
    return Group(toss_ups=toss_ups, accepted=accepted, returned=returned, won=won, lost=lost)


def criterion(cid: str, met: Group, not_met: Group, **more: Any) -> CriterionLine:
    data: dict[str, Any] = {"field": None, "configured": True, "win_small": True, "acceptance_small": True}
    data.update(more)
    return CriterionLine(criterion_id=cid, met=met, not_met=not_met, **data)


def small_review(**changes: Any) -> QuarterlyReview:
    data: dict[str, Any] = {
        "quarter_start": date(2026, 7, 1),
        "quarter_end": date(2026, 9, 30),
        "mode": CriteriaMode.WARN,
        "min_sample": 10,
        "met_percent": 80,
        "toss_ups": 30,
        "accepted": 24,
        "returned": 4,
        "won": 12,
        "lost": 10,
        "evaluated": 30,
        "overrides": 12,
        "scored": 30,
        "criteria": [
            criterion(
                "budget",
                g(18, 15, 2, 9, 3),
                g(12, 9, 2, 3, 7),
                field="budget_status",
                win_small=False,
                acceptance_small=False,
                rank=1,
            ),
            criterion("need", g(26, 21, 4, 11, 8), g(4, 3, 0, 1, 2), field="need"),
        ],
        "items": [
            ItemLine(
                key=ScoreItemKey.BANT,
                max_points=20,
                threshold=16,
                met=g(20, 17, 2, 10, 2),
                not_met=g(10, 7, 2, 2, 8),
                win_small=False,
                acceptance_small=True,
                rank=1,
            ),
            ItemLine(
                key=ScoreItemKey.FS_RATING,
                max_points=30,
                threshold=24,
                met=g(6, 6, 0, 4, 1),
                not_met=g(4, 4, 0, 1, 2),
                win_small=True,
                acceptance_small=True,
            ),
        ],
        "findings": [
            Finding(section=ITEMS, key="bant", win_gap=10 / 12 - 2 / 10),
            Finding(section=CRITERIA, key="budget", win_gap=9 / 12 - 3 / 10),
        ],
    }
    data.update(changes)
    return QuarterlyReview(**data)


SAMPLE_EN = (
    "Win rate: won / (won + lost); acceptance: accepted / (accepted + returned). n: the closed deals "
    "(won + lost) or the decided toss-ups (accepted + returned) on each side; below 10 a sample is marked "
    "and not ranked."
)
SAMPLE_JA = (
    "受注率 = 受注 /（受注 + 失注）、受け入れ率 = 受け入れ /（受け入れ + 差し戻し）。n は各側の受注＋失注"
    "（受注率）または受け入れ＋差し戻し（受け入れ率）の件数で、10件未満は少数サンプルとして順位づけしません。"
)


# ------------------------------------------------------------------------------------------- lead


def test_quarter_labels() -> None:
    assert quarter_label(date(2026, 7, 1), date(2026, 9, 30), Lang.EN) == "Q3 2026 (Jul–Sep)"
    assert quarter_label(date(2026, 7, 1), date(2026, 9, 30), Lang.JA) == "2026年 第3四半期（7月〜9月）"
    assert quarter_label(date(2025, 10, 1), date(2025, 12, 31), Lang.EN) == "Q4 2025 (Oct–Dec)"


def test_lead_in_english() -> None:
    fallback, blocks = build_quarterly_lead(small_review(), lang=Lang.EN, tz=TOKYO)
    assert dicts(blocks)[0]["type"] == "header"
    assert texts(blocks) == [
        "Quarterly criteria review — Q3 2026 (Jul–Sep)",
        "Which toss-up criteria and score items go with won deals, and which only cost toss-ups: the "
        "quarter's toss-ups that met each one against those that did not. Revise the SQL definition on "
        "this evidence.",
        "Toss-ups of the quarter: 30 — won 12 · lost 10 · not closed yet 8 · accepted 24 · returned 4\n"
        "*1. Toss-up criteria (SQL definition)* — ranked: 1 of 2\n"
        "*2. Quality score items* — ranked: 1 of 2",
        "*Largest win-rate gaps (met − not met)*\n"
        "• Score item BANT completeness: +63.3 pts\n"
        "• Criterion Budget: +45.0 pts",
        "Each criterion and score item, with its counts, follows in this thread.",
    ]
    assert fallback == "Quarterly criteria review — Q3 2026 (Jul–Sep): 30 toss-ups, ranked findings: 2"


def test_lead_in_japanese() -> None:
    fallback, blocks = build_quarterly_lead(small_review(), lang=Lang.JA, tz=TOKYO)
    assert texts(blocks) == [
        "四半期 トスアップ基準の見直し — 2026年 第3四半期（7月〜9月）",
        "どのトスアップ基準・評価項目が受注につながり、どれがトスアップを減らすだけなのか。この四半期の"
        "トスアップを、満たしたものと満たさなかったもので比べます。SQL定義の見直しの根拠にしてください。",
        "この四半期のトスアップ 30件 — 受注 12・失注 10・結果未確定 8・受け入れ 24・差し戻し 4\n"
        "*1. トスアップ基準（SQL定義）* — 順位づけ 1 / 2基準\n"
        "*2. 品質スコアの評価項目* — 順位づけ 1 / 2項目",
        "*受注率の差が大きい順（満たす − 満たさない）*\n"
        "• 評価項目「BANT情報の完成度」: +63.3ポイント\n"
        "• 基準「予算」: +45.0ポイント",
        "基準・評価項目ごとの件数と比較は、このスレッドに続きます。",
    ]
    assert (
        fallback
        == "四半期 トスアップ基準の見直し — 2026年 第3四半期（7月〜9月）: トスアップ 30件、順位づけ 2件"
    )


def test_lead_without_findings_says_why() -> None:
    review = small_review(findings=[])
    _, blocks = build_quarterly_lead(review, lang=Lang.EN, tz=TOKYO)
    assert texts(blocks)[3] == (
        "*Largest win-rate gaps (met − not met)*\n"
        "Nothing ranked yet: every comparison has fewer than 10 closed deals on one side."
    )


# --------------------------------------------------------------------------------------- sections


def test_criteria_in_english() -> None:
    fallback, blocks = build_quarterly_section(small_review(), CRITERIA, lang=Lang.EN, tz=TOKYO)
    assert fallback == "1. Toss-up criteria (SQL definition)"
    assert [block["type"] for block in dicts(blocks)] == ["header", "section", "section", "context"]
    assert texts(blocks) == [
        "1. Toss-up criteria (SQL definition)",
        "*Ranked by the win-rate gap (met − not met)*\n"
        "1. *Budget* — win rate +45.0 pts · acceptance +6.4 pts: predicts wins\n"
        "   Met: 18 toss-ups · win rate 75.0% (9 won / 3 lost) · acceptance 88.2% "
        "(15 accepted / 2 returned)\n"
        "   Not met: 12 toss-ups · win rate 30.0% (3 won / 7 lost) · acceptance 81.8% "
        "(9 accepted / 2 returned)",
        "*Small samples (fewer than 10 on one side): shown, not ranked*\n"
        "• *Need* — win rate +24.6 pts · acceptance −16.0 pts ⚠️ small sample (n < 10)\n"
        "   Met: 26 toss-ups · win rate 57.9% (11 won / 8 lost) · acceptance 84.0% "
        "(21 accepted / 4 returned)\n"
        "   Not met: 4 toss-ups · win rate 33.3% (1 won / 2 lost) · acceptance 100.0% "
        "(3 accepted / 0 returned)",
        "12 toss-ups failed a criterion and were tossed up anyway (warn-mode overrides, with a reason): they "
        "are the “not met” side.",
        SAMPLE_EN,
    ]


def test_criteria_in_japanese() -> None:
    _, blocks = build_quarterly_section(small_review(), CRITERIA, lang=Lang.JA, tz=TOKYO)
    assert texts(blocks) == [
        "1. トスアップ基準（SQL定義）",
        "*受注率の差（満たす − 満たさない）の大きい順*\n"
        "1. *予算* — 受注率 +45.0ポイント・受け入れ率 +6.4ポイント: 受注を予測する基準\n"
        "   満たす: 18件・受注率 75.0%（受注9/失注3）・受け入れ率 88.2%（受け入れ15/差し戻し2）\n"
        "   満たさない: 12件・受注率 30.0%（受注3/失注7）・受け入れ率 81.8%（受け入れ9/差し戻し2）",
        "*少数サンプル（片側10件未満）: 参考表示のみ、順位づけしません*\n"
        "• *必要性* — 受注率 +24.6ポイント・受け入れ率 −16.0ポイント ⚠️ 少数サンプル（n<10）\n"
        "   満たす: 26件・受注率 57.9%（受注11/失注8）・受け入れ率 84.0%（受け入れ21/差し戻し4）\n"
        "   満たさない: 4件・受注率 33.3%（受注1/失注2）・受け入れ率 100.0%（受け入れ3/差し戻し0）",
        "基準を満たさないまま理由つきでトスアップされたもの（警告モードの例外）が12件あり、これが「満たさない」側です。",
        SAMPLE_JA,
    ]


def test_score_items_in_english() -> None:
    fallback, blocks = build_quarterly_section(small_review(), ITEMS, lang=Lang.EN, tz=TOKYO)
    assert fallback == "2. Quality score items"
    assert texts(blocks) == [
        "2. Quality score items",
        "*Ranked by the win-rate gap (met − not met)*\n"
        "1. *BANT completeness* — win rate +63.3 pts · acceptance +11.7 pts: goes with more wins "
        "⚠️ small sample for the acceptance rate (n < 10)\n"
        "   16/20 or more: 20 toss-ups · win rate 83.3% (10 won / 2 lost) · acceptance 89.5% "
        "(17 accepted / 2 returned)\n"
        "   Below 16/20: 10 toss-ups · win rate 20.0% (2 won / 8 lost) · acceptance 77.8% "
        "(7 accepted / 2 returned)",
        "*Small samples (fewer than 10 on one side): shown, not ranked*\n"
        "• *FS post-meeting rating* — win rate +46.7 pts · acceptance ±0.0 pts ⚠️ small sample (n < 10)\n"
        "   24/30 or more: 6 toss-ups · win rate 80.0% (4 won / 1 lost) · acceptance 100.0% "
        "(6 accepted / 0 returned)\n"
        "   Below 24/30: 4 toss-ups · win rate 33.3% (1 won / 2 lost) · acceptance 100.0% "
        "(4 accepted / 0 returned)",
        "An item is met when it kept at least 80% of its points. The FS rating counts rated toss-ups only.",
        SAMPLE_EN,
    ]


def test_score_items_in_japanese() -> None:
    _, blocks = build_quarterly_section(small_review(), ITEMS, lang=Lang.JA, tz=TOKYO)
    assert texts(blocks) == [
        "2. 品質スコアの評価項目",
        "*受注率の差（満たす − 満たさない）の大きい順*\n"
        "1. *BANT情報の完成度* — 受注率 +63.3ポイント・受け入れ率 +11.7ポイント: 受注につながる項目 "
        "⚠️ 受け入れ率は少数サンプル（n<10）\n"
        "   16/20点以上: 20件・受注率 83.3%（受注10/失注2）・受け入れ率 89.5%（受け入れ17/差し戻し2）\n"
        "   16/20点未満: 10件・受注率 20.0%（受注2/失注8）・受け入れ率 77.8%（受け入れ7/差し戻し2）",
        "*少数サンプル（片側10件未満）: 参考表示のみ、順位づけしません*\n"
        "• *商談後のFS評価* — 受注率 +46.7ポイント・受け入れ率 ±0.0ポイント ⚠️ 少数サンプル（n<10）\n"
        "   24/30点以上: 6件・受注率 80.0%（受注4/失注1）・受け入れ率 100.0%（受け入れ6/差し戻し0）\n"
        "   24/30点未満: 4件・受注率 33.3%（受注1/失注2）・受け入れ率 100.0%（受け入れ4/差し戻し0）",
        "配点の80%以上を得た項目を「満たす」とします。商談後のFS評価は、評価済みのトスアップだけで数えます。",
        SAMPLE_JA,
    ]


def test_a_ranked_comparison_that_does_not_predict_wins_says_so() -> None:
    budget = (
        small_review()
        .criteria[0]
        .model_copy(update={"met": g(18, 15, 2, 3, 9), "not_met": g(12, 9, 2, 3, 7)})
    )
    review = small_review(criteria=[budget])
    _, blocks = build_quarterly_section(review, CRITERIA, lang=Lang.EN, tz=TOKYO)
    assert (
        "1. *Budget* — win rate −5.0 pts · acceptance +6.4 pts: no more wins than without it: it only costs "
        "toss-ups" in texts(blocks)[1]
    )


def test_small_samples_are_marked_and_never_in_the_ranked_list() -> None:
    for lang, marks in ((Lang.EN, "⚠️ small sample"), (Lang.JA, "少数サンプル（n<10）")):
        for section in QuarterlySection:
            _, blocks = build_quarterly_section(small_review(), section, lang=lang, tz=TOKYO)
            ranked, small = texts(blocks)[1], texts(blocks)[2]
            assert "\n1. *" in ranked and "\n• " not in ranked
            assert "\n• *" in small and "\n1. " not in small
            small_lines = [line for line in small.split("\n")[1:] if line.startswith("• ")]
            assert small_lines and all(marks in line for line in small_lines)


@pytest.mark.parametrize(
    ("changes", "en", "ja"),
    [
        (
            {"mode": CriteriaMode.GATE, "overrides": 0},
            "No toss-up of the quarter failed a criterion: in gate mode a memo that fails is refused, so "
            "there is no “not met” side to compare with. To test the criteria on evidence, switch to warn "
            "mode (`criteria.mode: warn`) for a while: a memo that fails is then tossed up with a reason "
            "and shows how such toss-ups go.",
            "この四半期、基準を満たさないトスアップはありません。ゲートモードでは基準を満たさないメモは"
            "トスアップできないため、「満たさない」側と比べられません。",
        ),
        (
            {"overrides": 0},
            "No toss-up of the quarter failed a criterion (no warn-mode overrides), so there is no “not met” "
            "side to compare with.",
            "この四半期、基準を満たさないままトスアップされたもの（警告モードの例外）はなく、",
        ),
        (
            {"evaluated": 0, "overrides": 0},
            "No toss-up of the quarter had criteria evaluated.",
            "この四半期、トスアップ基準を評価したトスアップはありません。",
        ),
    ],
)
def test_where_the_not_met_side_comes_from(changes: dict[str, Any], en: str, ja: str) -> None:
    review = small_review(**changes)
    _, blocks = build_quarterly_section(review, CRITERIA, lang=Lang.EN, tz=TOKYO)
    assert texts(blocks)[-2] == en
    _, blocks = build_quarterly_section(review, CRITERIA, lang=Lang.JA, tz=TOKYO)
    assert texts(blocks)[-2].startswith(ja)
    assert en in quarterly_as_text(review, lang=Lang.EN, tz=TOKYO)


def test_nothing_ranked_says_so() -> None:
    need = small_review().criteria[1]
    _, blocks = build_quarterly_section(small_review(criteria=[need]), CRITERIA, lang=Lang.EN, tz=TOKYO)
    assert texts(blocks)[1] == (
        "*Ranked by the win-rate gap (met − not met)*\n"
        "Nothing to rank: no comparison has 10 or more closed deals on each side."
    )


# ------------------------------------------------------------------------------------------- names


def labelled_config() -> AppConfig:
    return team_config(
        memo={
            "custom_selects": [
                {
                    "key": "segment",
                    "label": {"ja": "セグメント <&>", "en": "Segment <&>"},
                    "options": [{"value": "smb", "label": {"ja": "中小企業", "en": "SMB"}}],
                }
            ]
        },
        criteria={
            "mode": "warn",
            "rules": [
                {
                    "id": "budget",
                    "kind": "one_of",
                    "field": "budget_status",
                    "values": ["confirmed"],
                    "label": {"ja": "予算 <!channel> & *確定*", "en": "Budget <!channel> & *set*"},
                },
                {"id": "fit", "kind": "one_of", "field": "segment", "values": ["smb"]},
                {"id": "pain", "kind": "min_length", "field": "current_issue", "min_length": 5},
            ],
        },
    )


def test_the_team_names_its_criteria_and_they_are_escaped() -> None:
    lines = [
        criterion("budget", g(1, 1, 0, 1, 0), g(0, 0, 0, 0, 0), field="budget_status"),
        criterion("fit", g(1, 1, 0, 1, 0), g(0, 0, 0, 0, 0), field="segment"),
        criterion("pain", g(1, 1, 0, 1, 0), g(0, 0, 0, 0, 0), field="current_issue"),
        criterion("timeline", g(1, 1, 0, 1, 0), g(0, 0, 0, 0, 0), field="timeline", configured=False),
        criterion("region_fit", g(1, 1, 0, 1, 0), g(0, 0, 0, 0, 0), field="region <b>", configured=False),
    ]
    review = small_review(criteria=lines, findings=[])
    config = labelled_config()
    _, blocks = build_quarterly_section(review, CRITERIA, lang=Lang.EN, tz=TOKYO, config=config)
    heads = [line for line in texts(blocks)[2].split("\n") if line.startswith("• ")]
    assert [head.split(" — ")[0] for head in heads] == [
        "• *Budget &lt;!channel&gt; &amp; *set**",  # the team's label, escaped
        "• *Segment &lt;&amp;&gt;*",  # a custom select: its label
        "• *Current issue*",  # a memo field
        "• *Timeline (no longer in the criteria)*",  # a built-in criterion, since removed
        "• *region &lt;b&gt; (no longer in the criteria)*",  # removed, its field unknown now
    ]
    _, blocks = build_quarterly_section(review, CRITERIA, lang=Lang.JA, tz=TOKYO, config=config)
    assert "• *導入時期（現在は基準にない）*" in texts(blocks)[2]
    text = quarterly_as_text(review, lang=Lang.EN, tz=TOKYO, config=config)
    assert "• Budget <!channel> & *set* — " in text  # plain text: as written
    # without the config: the built-in name
    _, blocks = build_quarterly_section(review, CRITERIA, lang=Lang.EN, tz=TOKYO)
    assert texts(blocks)[2].split("\n")[1].startswith("• *Budget* — ")


def test_findings_in_the_lead_use_the_team_names() -> None:
    review = small_review()
    _, blocks = build_quarterly_lead(review, lang=Lang.EN, tz=TOKYO, config=labelled_config())
    assert "• Criterion Budget &lt;!channel&gt; &amp; *set*: +45.0 pts" in texts(blocks)[3]


# ------------------------------------------------------------------------------------------ limits


def huge_review() -> QuarterlyReview:
    long = "&<>*_~`" * 6
    lines = [
        criterion(
            f"c{index:02d}_{'x' * 30}",
            g(9_999, 9_000, 999, 5_000, 4_000),
            g(9_999, 9_000, 999, 4_000, 5_000),
            field=f"{long}{index}",
            configured=False,
            win_small=index % 2 == 0,
            acceptance_small=index % 3 == 0,
            rank=None if index % 2 == 0 else index // 2 + 1,
        )
        for index in range(120)
    ]
    return small_review(criteria=lines, toss_ups=999_999, won=999_999, lost=0, overrides=999_999)


def all_messages(review: QuarterlyReview, lang: Lang) -> list[tuple[str, list]]:
    return [
        build_quarterly_lead(review, lang=lang, tz=TOKYO),
        *(build_quarterly_section(review, section, lang=lang, tz=TOKYO) for section in QuarterlySection),
        build_quarterly_empty(review, lang=lang),
    ]


@pytest.mark.parametrize("lang", list(Lang))
def test_a_huge_review_fits_every_limit(lang: Lang) -> None:
    review = huge_review()
    for message in all_messages(review, lang):
        assert_within_limits(message)
    _, blocks = build_quarterly_section(review, CRITERIA, lang=lang, tz=TOKYO)
    ranked_first, ranked_second, small = texts(blocks)[1:4]  # the ranked list takes two sections
    more = "…and {} more" if lang is Lang.EN else "…ほか {} 件"
    shown = len(re.findall(r"^\d+\. ", ranked_first + "\n" + ranked_second, re.MULTILINE))
    assert ranked_second.endswith(more.format(60 - shown))
    assert small.endswith(more.format(60 - small.count("\n• ")))
    assert "&amp;&lt;&gt;*_~`" in small and "&<>" not in small  # the field names, escaped
    # the plain-text preview lists every line (up to its own cap of 200 per list)
    retired = "(no longer in the criteria)" if lang is Lang.EN else "（現在は基準にない）"
    assert quarterly_as_text(review, lang=lang, tz=TOKYO).count(retired) == 120


@pytest.mark.parametrize("lang", list(Lang))
def test_the_small_review_fits_every_limit(lang: Lang) -> None:
    for message in all_messages(small_review(), lang):
        assert_within_limits(message)


# ------------------------------------------------------------------------------------------- empty


def test_the_empty_quarter_is_one_short_message() -> None:
    empty = small_review(
        toss_ups=0, accepted=0, returned=0, won=0, lost=0, evaluated=0, overrides=0, scored=0, items=[]
    )
    assert empty.is_empty
    fallback, blocks = build_quarterly_empty(empty, lang=Lang.EN)
    line = "Quarterly criteria review — Q3 2026 (Jul–Sep): no toss-ups in the quarter, nothing to compare."
    assert fallback == line
    assert texts(blocks) == ["Quarterly criteria review — Q3 2026 (Jul–Sep)", line]
    assert quarterly_as_text(empty, lang=Lang.EN, tz=TOKYO) == line
    assert quarterly_as_text(empty, lang=Lang.JA, tz=TOKYO) == (
        "四半期 トスアップ基準の見直し — 2026年 第3四半期（7月〜9月）: "
        "この四半期のトスアップはなく、比較するものはありません。"
    )


# ------------------------------------------------------------------------------------- preview, json


def test_the_preview_is_the_whole_review_in_plain_text() -> None:
    text = quarterly_as_text(small_review(), lang=Lang.EN, tz=TOKYO)
    assert text.startswith("Quarterly criteria review — Q3 2026 (Jul–Sep)\n\n")
    assert "── 1. Toss-up criteria (SQL definition) ──\nRanked by the win-rate gap (met − not met)\n" in text
    assert "1. Budget — win rate +45.0 pts · acceptance +6.4 pts: predicts wins\n" in text
    assert "── 2. Quality score items ──" in text and text.endswith(SAMPLE_EN)
    assert "*" not in text.replace("*set*", "")  # no mrkdwn


def test_the_frozen_json_renders_the_same() -> None:
    review = small_review()
    frozen = QuarterlyReview.model_validate(json.loads(json.dumps(review.model_dump(mode="json"))))
    for lang in Lang:
        assert all_messages(frozen, lang)[0][0] == all_messages(review, lang)[0][0]
        for section in QuarterlySection:
            ours = build_quarterly_section(review, section, lang=lang, tz=TOKYO)
            again = build_quarterly_section(frozen, section, lang=lang, tz=TOKYO)
            assert texts(again[1]) == texts(ours[1])
