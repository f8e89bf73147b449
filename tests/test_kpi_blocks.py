"""The KPI report (modals/kpi.py): both languages, "—" for missing data, percentages, the rep list, Slack
limits and the fallback text. Pure: no Slack, no database."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from slack_sdk.models.blocks import Block

from bot.domain.kpi import Kpis, Period, parse_period
from bot.i18n import Lang, t
from modals.kpi import REPS_MAX, build_kpi_report, format_percent, period_label
from modals.limits import MESSAGE_BLOCKS_MAX, SECTION_TEXT_MAX, check_slack_limits

TOKYO = ZoneInfo("Asia/Tokyo")
NOW = datetime(2026, 11, 18, 3, 0, tzinfo=UTC)
LANGS = list(Lang)


def period(argument: str = "") -> Period:
    result = parse_period(argument, now=NOW, tz=TOKYO)
    assert result is not None
    return result


NOVEMBER = period()
TEAM = Kpis(
    toss_ups=12,
    sqls=10,
    accepted=6,
    returned=3,
    pending=3,
    acceptance_rate=6 / 9,
    bant_acquisition_rate=0.75,
    rated=5,
    won=3,
    lost=1,
    win_rate=0.75,
    won_amount=3_000_000,
    avg_lead_time_days=45.5,
    avg_hours_to_accept=13.6,
    avg_quality_score=71.5,
    avg_items={"bant": 15.0, "completeness": 12.0, "fs_rating": 22.25, "issue": 10.0},
)
EMPTY = Kpis(
    toss_ups=0,
    sqls=0,
    accepted=0,
    returned=0,
    pending=0,
    acceptance_rate=None,
    bant_acquisition_rate=None,
    rated=0,
    won=0,
    lost=0,
    win_rate=None,
    won_amount=0,
    avg_lead_time_days=None,
    avg_hours_to_accept=None,
    avg_quality_score=None,
    avg_items={},
)


def dicts(blocks: list[Block]) -> list[dict[str, Any]]:
    return [block.to_dict() for block in blocks]


def texts(blocks: list[Block]) -> list[str]:
    """Every text in the blocks, in order: block text, then fields, then context elements."""
    out: list[str] = []
    for block in dicts(blocks):
        if block.get("text"):
            out.append(block["text"]["text"])
        out.extend(field["text"] for field in block.get("fields") or [])
        out.extend(element["text"] for element in block.get("elements") or [])
    return out


def fields(blocks: list[Block]) -> dict[str, str]:
    """Section fields as label → value ("*label*\\nvalue"), of the first KPI group only."""
    out: dict[str, str] = {}
    for block in dicts(blocks):
        for field in block.get("fields") or []:
            label, value = field["text"].split("\n", 1)
            out.setdefault(label.strip("*"), value)
    return out


def report(lang: Lang, **kwargs: Any) -> tuple[str, list[Block]]:
    return build_kpi_report(
        period=kwargs.pop("period", NOVEMBER), team=kwargs.pop("team", TEAM), lang=lang, tz=TOKYO, **kwargs
    )


def rep(toss_ups: int, **changes: Any) -> Kpis:
    return replace(TEAM, toss_ups=toss_ups, **changes)


# ------------------------------------------------------------------------------------------ content


def test_team_report_in_japanese() -> None:
    text, blocks = report(Lang.JA)
    assert blocks[0].to_dict()["type"] == "header"
    assert blocks[0].to_dict()["text"]["text"] == "KPI — 2026年11月"
    assert fields(blocks) == {
        "トスアップ数": "12件（受け入れ 6・差し戻し 3・受け入れ待ち 3）",
        "SQL数": "10件",
        "受け入れ率": "66.7%（6/9）",
        "BANT取得率": "75.0%",
        "FS評価済み（フィードバックシート）": "5件",
        "受け入れまでの時間（平均）": "13.6時間",
        "受注 / 失注": "3件 / 1件",
        "トスアップ後受注率": "75.0%（3/4）",
        "受注金額": "3,000,000円",
        "リードタイム（初回接触〜受注、平均）": "45.5日",
        "平均品質スコア（FS評価済み）": "71.5 / 100点",
        "BANT情報の完成度": "15.0点",
        "課題・背景の明確さ": "10.0点",
        "引き継ぎメモの完成度": "12.0点",
        "商談後のFS評価": "22.3点",  # 22.25 rounded half up
    }
    all_text = "\n".join(texts(blocks))
    assert "この期間にトスアップされた案件が対象です" in all_text
    assert "期間: 2026年11月1日(日)〜2026年11月30日(月)（Asia/Tokyo）" in all_text
    assert "*チーム全体のKPI*" in all_text
    assert text == "KPI — 2026年11月: トスアップ 12件・受け入れ率 66.7%・受注率 75.0%"


def test_team_report_in_english() -> None:
    text, blocks = report(Lang.EN)
    assert blocks[0].to_dict()["text"]["text"] == "KPIs — November 2026"
    values = fields(blocks)
    assert values["Toss-ups"] == "12 (accepted 6 · returned 3 · waiting 3)"
    assert values["Acceptance rate"] == "66.7% (6/9)"
    assert values["Post-toss-up win rate"] == "75.0% (3/4)"
    assert values["Won amount"] == "¥3,000,000"
    assert values["Lead time (first contact → won, average)"] == "45.5 days"
    assert values["Time to accept (average)"] == "13.6 h"
    assert values["Average quality score (rated by FS)"] == "71.5 / 100"
    assert values["FS post-meeting rating"] == "22.3 pts"
    assert (
        "Toss-ups created in this period; their decisions, ratings and outcomes count whenever they happened."
        in texts(blocks)
    )
    assert text == "KPIs — November 2026: 12 toss-ups · acceptance rate 66.7% · win rate 75.0%"


def test_score_items_follow_the_score_table_order() -> None:
    _, blocks = report(Lang.EN)
    items = next(b for b in dicts(blocks) if b.get("text", {}).get("text") == "*Average per score item*")
    names = [field["text"].split("\n")[0] for field in items["fields"]]
    assert names == [
        "*BANT completeness*",
        "*Issue and background clarity*",
        "*Memo completeness*",
        "*FS post-meeting rating*",
    ]


def test_an_unknown_score_item_key_is_shown_escaped() -> None:
    team = replace(TEAM, avg_items={"bant": 10.0, "<odd>": 3.0})
    values = fields(report(Lang.EN, team=team)[1])
    assert values["&lt;odd&gt;"] == "3.0 pts"


@pytest.mark.parametrize(
    ("lang", "header"),
    [
        (Lang.EN, "KPIs — Mon, Nov 16, 2026 – Sun, Nov 22, 2026"),
        (Lang.JA, "KPI — 2026年11月16日(月)〜2026年11月22日(日)"),
    ],
)
def test_a_week_is_labelled_by_its_days(lang: Lang, header: str) -> None:
    text, blocks = report(lang, period=period("week"))
    assert blocks[0].to_dict()["text"]["text"] == header
    assert text.startswith(header)


def test_period_labels_for_every_month() -> None:
    labels = [period_label(period(f"2026-{month:02d}"), Lang.EN) for month in range(1, 13)]
    assert labels[0] == "January 2026" and labels[11] == "December 2026"
    assert period_label(period("2027-01"), Lang.JA) == "2027年1月"


def test_a_quarter_is_labelled_as_one_as_the_scorecards_and_the_quarterly_review_do() -> None:
    assert period_label(period("2027-Q1"), Lang.EN) == "Q1 2027"
    assert period_label(period("2026年第4四半期"), Lang.JA) == "2026年 第4四半期"
    assert report(Lang.EN, period=period("2027-Q1"))[1][0].to_dict()["text"]["text"] == "KPIs — Q1 2027"
    days = period("2026-10-01..2026-12-30")  # not a whole quarter: its days
    assert "Q4" not in period_label(days, Lang.EN)


@pytest.mark.parametrize("lang", LANGS)
def test_missing_data_reads_as_a_dash(lang: Lang) -> None:
    text, blocks = report(lang, team=EMPTY)
    none = t(lang, "kpi.none")
    assert none == "—"
    values = fields(blocks)
    for key in ("acceptance_rate", "bant_acquisition_rate", "win_rate", "lead_time", "hours_to_accept"):
        assert values[t(lang, f"kpi.label.{key}")] == none, key
    assert values[t(lang, "kpi.label.quality_score")] == none
    assert t(lang, "kpi.empty") in texts(blocks)
    assert t(lang, "kpi.label.items") not in texts(blocks)  # no scored toss-up: no item section
    label = period_label(NOVEMBER, lang)
    expected = t(
        lang, "kpi.fallback", period=label, toss_ups="0", count=0, acceptance_rate=none, win_rate=none
    )
    assert text == expected
    assert "0" in values[t(lang, "kpi.label.toss_ups")]


def test_no_empty_note_when_there_are_toss_ups() -> None:
    assert t(Lang.EN, "kpi.empty") not in texts(report(Lang.EN)[1])


@pytest.mark.parametrize(
    ("rate", "expected"),
    [
        (None, "—"),
        (0.0, "0.0%"),
        (1.0, "100.0%"),
        (2 / 3, "66.7%"),
        (1 / 3, "33.3%"),
        (0.5, "50.0%"),
        (0.0005, "0.1%"),  # half up
        (0.00049, "0.0%"),
        (0.9995, "100.0%"),
        (5 / 6, "83.3%"),
    ],
)
def test_percentages(rate: float | None, expected: str) -> None:
    assert format_percent(rate, Lang.EN) == expected
    assert format_percent(rate, Lang.JA) == expected


def test_large_numbers_get_thousands_separators() -> None:
    team = replace(TEAM, toss_ups=1234, won_amount=1_234_567_890, avg_hours_to_accept=1500.04)
    values = fields(report(Lang.EN, team=team)[1])
    assert values["Won amount"] == "¥1,234,567,890"
    assert values["Toss-ups"].startswith("1,234 ")
    assert values["Time to accept (average)"] == "1,500.0 h"
    assert fields(report(Lang.JA, team=team)[1])["受注金額"] == "1,234,567,890円"


# ----------------------------------------------------------------------------------------- mine / reps


@pytest.mark.parametrize("lang", LANGS)
def test_your_kpis_section_with_the_shared_credit_note(lang: Lang) -> None:
    mine = replace(TEAM, toss_ups=4, won=2, won_amount=1_500_000)
    _, blocks = report(lang, user_id="U0ME", mine=mine)
    all_texts = texts(blocks)
    title = t(lang, "kpi.mine.title_user", user="<@U0ME>")
    assert title in all_texts
    assert t(lang, "kpi.shared_credit") in all_texts
    mine_block = next(i for i, b in enumerate(dicts(blocks)) if b.get("text", {}).get("text") == title)
    assert dicts(blocks)[mine_block - 1]["type"] == "divider"
    won_amount = dicts(blocks)[mine_block + 1]["fields"][2]["text"]
    assert "1,500,000" in won_amount


def test_your_kpis_without_a_user_id() -> None:
    _, blocks = report(Lang.EN, mine=TEAM)
    assert "*Your KPIs*" in texts(blocks)


def test_team_only_report_has_no_rep_sections() -> None:
    _, blocks = report(Lang.EN, user_id="U0ME")  # a user id without `mine` adds nothing
    all_texts = "\n".join(texts(blocks))
    assert "Your KPIs" not in all_texts and "By rep" not in all_texts
    assert t(Lang.EN, "kpi.shared_credit") not in all_texts


def rep_lines(blocks: list[Block], lang: Lang) -> list[str]:
    title = t(lang, "kpi.rep.title")
    section = next(b for b in dicts(blocks) if b.get("text", {}).get("text", "").startswith(title))
    return section["text"]["text"].split("\n")[1:]


def test_rep_lines_sorted_by_toss_ups_then_user_id() -> None:
    by_rep = {
        "U0B": rep(3, accepted=2, won=1, win_rate=0.5, avg_quality_score=71.5),
        "U0A": rep(3, accepted=1, won=0, win_rate=None, avg_quality_score=None),
        "U0C": rep(5, accepted=5, won=4, win_rate=1.0, avg_quality_score=80.25),
    }
    _, blocks = report(Lang.EN, by_rep=by_rep)
    assert rep_lines(blocks, Lang.EN) == [
        "<@U0C> toss-ups 5 · accepted 5 · won 4 · win rate 100.0% · avg score (rated) 80.3",
        "<@U0A> toss-ups 3 · accepted 1 · won 0 · win rate — · avg score (rated) —",
        "<@U0B> toss-ups 3 · accepted 2 · won 1 · win rate 50.0% · avg score (rated) 71.5",
    ]
    _, blocks = report(Lang.JA, by_rep=by_rep)
    assert rep_lines(blocks, Lang.JA)[2] == (
        "<@U0B> トスアップ 3件・受け入れ 2件・受注 1件・受注率 50.0%・平均スコア（FS評価済み） 71.5"
    )
    assert t(Lang.JA, "kpi.shared_credit") in texts(blocks)


@pytest.mark.parametrize("lang", LANGS)
def test_at_most_twenty_reps_then_and_n_more(lang: Lang) -> None:
    by_rep = {f"U{i:04d}": rep(100 - i) for i in range(25)}
    _, blocks = report(lang, by_rep=by_rep)
    lines = rep_lines(blocks, lang)
    assert len(lines) == REPS_MAX + 1
    assert lines[0].startswith("<@U0000>") and lines[REPS_MAX - 1].startswith("<@U0019>")
    assert lines[-1] == t(lang, "kpi.rep.more", count=5)


def test_exactly_twenty_reps_need_no_more_line() -> None:
    by_rep = {f"U{i:04d}": rep(1) for i in range(REPS_MAX)}
    lines = rep_lines(report(Lang.EN, by_rep=by_rep)[1], Lang.EN)
    assert len(lines) == REPS_MAX and not lines[-1].startswith("and ")


def test_overlong_rep_lines_are_cut_and_counted() -> None:
    # Absurdly long user ids: the section must stay within 3000 characters and say how many are left out.
    by_rep = {f"U{i:02d}" + "X" * 400: rep(50 - i) for i in range(25)}
    _, blocks = report(Lang.EN, by_rep=by_rep)
    section = next(b for b in dicts(blocks) if b.get("text", {}).get("text", "").startswith("*By rep*"))
    assert len(section["text"]["text"]) <= SECTION_TEXT_MAX
    lines = section["text"]["text"].split("\n")[1:]
    shown = len(lines) - 1
    assert 0 < shown < REPS_MAX
    assert lines[-1] == f"and {25 - shown} more"


def test_no_reps() -> None:
    _, blocks = report(Lang.EN, team=EMPTY, by_rep={})
    assert rep_lines(blocks, Lang.EN) == [t(Lang.EN, "kpi.rep.empty")]


# ------------------------------------------------------------------------------------------ limits


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("team", [TEAM, EMPTY], ids=["team", "empty"])
def test_every_block_serialises_within_slack_limits(lang: Lang, team: Kpis) -> None:
    by_rep = {f"U{i:010d}": rep(i, avg_items={"bant": 1.0}) for i in range(60)}
    many_items = {**TEAM.avg_items, **{f"extra_{i}": float(i) for i in range(12)}}
    mine = replace(TEAM, avg_items=many_items)
    text, blocks = report(lang, team=team, user_id="U0ME", mine=mine, by_rep=by_rep)
    payload = dicts(blocks)  # every block serialises (slack_sdk validates on to_dict)
    json.dumps(payload, ensure_ascii=False)
    assert len(blocks) <= MESSAGE_BLOCKS_MAX
    assert check_slack_limits(payload) == []
    assert check_slack_limits({"blocks": payload}) == []
    assert "\n" not in text and 0 < len(text) <= 300


@pytest.mark.parametrize("lang", LANGS)
def test_fallback_is_one_line_with_toss_ups_acceptance_and_win_rate(lang: Lang) -> None:
    text, _ = report(lang, team=replace(TEAM, toss_ups=7, acceptance_rate=0.5, win_rate=None))
    assert "\n" not in text
    assert "7" in text and "50.0%" in text and "—" in text
    assert text.startswith(t(lang, "kpi.header", period=period_label(NOVEMBER, lang)))
