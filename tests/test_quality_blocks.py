"""Criteria and quality score in words: both languages, escaping, plain-text field errors, Slack limits."""

from __future__ import annotations

import pytest

from bot.domain.criteria import CriteriaConfig, CriteriaMode, Criterion, evaluate_criteria
from bot.domain.memo import AuthorityLevel, BudgetStatus, HandoffMemo, Timeline
from bot.domain.options import LocalizedLabel
from bot.domain.score import ScoreConfig, ScoreItemKey, score_memo
from bot.i18n import Lang
from modals.limits import SECTION_TEXT_MAX, check_slack_limits
from modals.quality import (
    block_id_for,
    build_criteria_definition,
    criteria_checklist_text,
    criteria_field_errors,
    score_losses_text,
    score_summary_text,
)

LANGS = list(Lang)
NASTY = "<!channel> & <b>"
NASTY_ESCAPED = "&lt;!channel&gt; &amp; &lt;b&gt;"

FAILING = HandoffMemo(
    budget_status=BudgetStatus.CONFIRMED,
    authority=AuthorityLevel.NONE,
    need="短い",
    timeline=Timeline.MONTHS_6_TO_12,
    competitors="TBD",
)


def blocks_dicts(blocks: list) -> list[dict]:
    return [block.to_dict() for block in blocks]


# --------------------------------------------------------------------------------------- checklist


def test_checklist_in_japanese() -> None:
    config = CriteriaConfig()
    text = criteria_checklist_text(evaluate_criteria(FAILING, config), config, Lang.JA)
    assert text.splitlines() == [
        "✅ 予算: 確認済み または 予算化予定",
        "❌ 決裁: 決裁者 または 決裁に影響力のある人物 — 現在「決裁への関与なし」",
        "❌ 必要性: 10文字以上で具体的に言語化されている — 現在2文字（10文字以上必要）",
        "❌ 導入時期: 6ヶ月以内 — 現在「6〜12ヶ月」",
        "❌ 競合検討状況: 把握できている（「なし」も可） — 「TBD」では内容が分かりません",
    ]


def test_checklist_in_english() -> None:
    config = CriteriaConfig()
    text = criteria_checklist_text(evaluate_criteria(FAILING, config), config, Lang.EN)
    lines = text.splitlines()
    assert lines[0] == "✅ Budget: Confirmed or Budget planned"
    assert lines[3] == '❌ Timeline: within 6 months — currently "6–12 months"'
    assert "not answered" in criteria_checklist_text(
        evaluate_criteria(HandoffMemo(), config), config, Lang.EN
    )


@pytest.mark.parametrize("lang", LANGS)
def test_checklist_escapes_team_labels_options_and_answers(lang: Lang) -> None:
    config = CriteriaConfig(
        rules=[
            Criterion(
                id="seg",
                kind="one_of",
                field="segment",
                values=["ent"],
                label=LocalizedLabel(ja=NASTY, en=NASTY),
            ),
            Criterion(id="region", kind="one_of", field="region", values=["east"]),
            Criterion(id="comp", kind="required", field="competitors"),
        ]
    )
    memo = HandoffMemo(custom={"segment": "smb", "region": "west"}, competitors="<@U123>?")
    evaluation = evaluate_criteria(memo, config)
    text = criteria_checklist_text(
        evaluation,
        config,
        lang,
        custom_labels={"region": LocalizedLabel(ja="地域<x>", en="Region<x>")},
        option_labels={"segment": {"smb": LocalizedLabel(ja="中小<&>", en="SMB<&>")}},
    )
    assert NASTY_ESCAPED in text
    assert "&lt;&amp;&gt;" in text  # the option label of the current answer
    assert "地域&lt;x&gt;" in text or "Region&lt;x&gt;" in text
    assert "<" not in text and ">" not in text
    # "west" has no label: the raw value is shown
    assert "west" in text


def test_checklist_skips_results_of_rules_no_longer_configured() -> None:
    evaluation = evaluate_criteria(FAILING, CriteriaConfig())
    config = CriteriaConfig(
        rules=[Criterion(id="budget", kind="one_of", field="budget_status", values=["confirmed"])]
    )
    assert len(criteria_checklist_text(evaluation, config, Lang.JA).splitlines()) == 1


def test_checklist_stays_within_a_section() -> None:
    long = LocalizedLabel(ja="長" * 75, en="L" * 75)
    rules = [
        Criterion(
            id=f"r{i}", kind="one_of", field=f"custom{i}", values=[f"v{j}" for j in range(100)], label=long
        )
        for i in range(30)
    ]
    config = CriteriaConfig(rules=rules)
    for lang in LANGS:
        text = criteria_checklist_text(evaluate_criteria(HandoffMemo(), config), config, lang)
        assert len(text) <= SECTION_TEXT_MAX
        assert text.splitlines()[-1].startswith("ほか" if lang is Lang.JA else "and ")
        _, blocks = build_criteria_definition(config, lang)
        assert check_slack_limits(blocks_dicts(blocks)) == []


# ------------------------------------------------------------------------------------- field errors


def test_block_id_for() -> None:
    assert block_id_for("need") == "need"
    assert block_id_for("budget_status") == "budget_status"
    assert block_id_for("segment") == "custom_segment"


def test_field_errors_in_japanese_are_plain_text_per_block() -> None:
    config = CriteriaConfig()
    errors = criteria_field_errors(evaluate_criteria(FAILING, config), config, Lang.JA)
    assert set(errors) == {"authority", "need", "timeline", "competitors"}
    assert errors["timeline"] == "トスアップ基準「導入時期: 6ヶ月以内」を満たしていません — 現在「6〜12ヶ月」"
    assert all("*" not in message for message in errors.values())


def test_field_errors_are_not_escaped_and_join_several_criteria_on_one_field() -> None:
    config = CriteriaConfig(
        rules=[
            Criterion(
                id="seg",
                kind="one_of",
                field="segment",
                values=["ent"],
                label=LocalizedLabel(ja=NASTY, en=NASTY),
            ),
            Criterion(id="seg2", kind="required", field="segment"),
            Criterion(id="need", kind="min_length", field="need", min_length=20),
        ]
    )
    memo = HandoffMemo(custom={"segment": "s&b"}, need="短い")
    errors = criteria_field_errors(
        evaluate_criteria(memo, config),
        config,
        Lang.EN,
        option_labels={"segment": {"s&b": LocalizedLabel(ja="中小", en="Small <&> mid")}},
    )
    assert set(errors) == {"custom_segment", "need"}
    assert NASTY in errors["custom_segment"]
    assert "Small <&> mid" in errors["custom_segment"]
    assert "&amp;" not in errors["custom_segment"]
    assert errors["need"].endswith("too short: length 2, minimum 20")


def test_no_field_errors_when_everything_passes() -> None:
    config = CriteriaConfig(mode=CriteriaMode.WARN, rules=[])
    assert criteria_field_errors(evaluate_criteria(HandoffMemo(), config), config, Lang.JA) == {}


# ------------------------------------------------------------------------------------------- score


def test_score_summary_in_both_languages() -> None:
    breakdown = score_memo(FAILING, ScoreConfig())
    ja = score_summary_text(breakdown, Lang.JA)
    assert ja.startswith(f"*品質スコア {breakdown.total} / 70*（FS評価30点は商談後）")
    assert "BANT情報の完成度 " in ja and "引き継ぎメモの完成度 " in ja
    en = score_summary_text(breakdown, Lang.EN)
    assert en.startswith(f"*Quality score {breakdown.total} / 70* (FS rating, 30 points, after the meeting)")
    assert "Memo completeness" in en


@pytest.mark.parametrize("lang", LANGS)
def test_losses_most_points_first_and_limited(lang: Lang) -> None:
    breakdown = score_memo(FAILING, ScoreConfig())
    text = score_losses_text(breakdown, lang)
    lines = text.splitlines()[1:]
    lost = sorted((i for i in breakdown.items if i.points < i.max_points), key=lambda i: -i.lost)
    assert len(lines) == len(lost)
    assert [int(line.split("−")[1].split(":")[0].rstrip("点")) for line in lines] == [i.lost for i in lost]
    limited = score_losses_text(breakdown, lang, limit=2).splitlines()
    assert len(limited) == 1 + 2 + 1  # title, two items, "and 3 more"
    assert len(text) <= SECTION_TEXT_MAX


@pytest.mark.parametrize("lang", LANGS)
def test_losses_quote_the_reps_text_escaped(lang: Lang) -> None:
    memo = HandoffMemo(
        need="<!here>", current_issue="同じ内容の課題を書いた", background="同じ内容の課題を書いた"
    )
    text = score_losses_text(score_memo(memo, ScoreConfig()), lang)
    assert "<!here>" not in text  # a too-short need: counted, not quoted
    memo = HandoffMemo(competitors="<!here> TBD", need="TBD & <b>")
    text = score_losses_text(score_memo(memo, ScoreConfig(placeholders=["<!here> tbd", "tbd & <b>"])), lang)
    assert "&lt;!here&gt; TBD" in text
    assert "TBD &amp; &lt;b&gt;" in text
    assert "<!here>" not in text


def test_losses_name_the_copied_field() -> None:
    memo = HandoffMemo(current_issue="同じ内容の課題を書いた", background="同じ内容の課題を書いた")
    assert "課題の背景・原因が「現状の課題」と同じ内容" in score_losses_text(
        score_memo(memo, ScoreConfig()), Lang.JA
    )


def test_no_losses() -> None:
    from tests.test_score import GOOD

    breakdown = score_memo(GOOD, ScoreConfig())
    assert score_losses_text(breakdown, Lang.JA) == "減点はありません。"
    assert score_losses_text(breakdown, Lang.EN) == "No points lost."
    assert breakdown.item(ScoreItemKey.BANT) is not None


# ------------------------------------------------------------------------------------- definition


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("mode", list(CriteriaMode))
def test_definition(lang: Lang, mode: CriteriaMode) -> None:
    rules = [
        *CriteriaConfig().rules[:4],
        Criterion(id="competitors", kind="required", field="competitors", enabled=False),
        Criterion(id="seg", kind="one_of", field="segment", values=["ent", "mid"]),
    ]
    config = CriteriaConfig(mode=mode, rules=rules)
    fallback, blocks = build_criteria_definition(
        config,
        lang,
        {"segment": LocalizedLabel(ja="セグメント<>", en="Segment<>")},
        option_labels={"segment": {"ent": LocalizedLabel(ja="大企業&", en="Enterprise&")}},
    )
    payload = blocks_dicts(blocks)
    assert check_slack_limits(payload) == []
    text = "\n".join(str(b.get("text", {}).get("text", "")) for b in payload)
    text += "\n".join(str(e["text"]) for b in payload for e in b.get("elements", []))
    assert ("ゲート" if lang is Lang.JA else "gate") in text if mode is CriteriaMode.GATE else True
    assert ("警告" if lang is Lang.JA else "warn") in text if mode is CriteriaMode.WARN else True
    assert "&lt;&gt;" in text and "&amp;" in text and "<>" not in text
    assert (
        "無効にしている基準: 競合検討状況" if lang is Lang.JA else "Switched off: Competitors considered"
    ) in text
    assert ("有効5件" if lang is Lang.JA else "5 in force") in fallback


@pytest.mark.parametrize("lang", LANGS)
def test_definition_without_enabled_rules(lang: Lang) -> None:
    _, blocks = build_criteria_definition(CriteriaConfig(rules=[]), lang)
    payload = blocks_dicts(blocks)
    assert check_slack_limits(payload) == []
    assert len(payload) == 3


@pytest.mark.parametrize("lang", LANGS)
def test_every_dynamic_catalog_key_exists(lang: Lang) -> None:
    from bot.domain.criteria import BUILTIN_CRITERIA
    from bot.i18n import has

    keys = [f"score.item.{key.value}" for key in ScoreItemKey]
    keys += [f"criteria.name.{criterion_id}" for criterion_id in BUILTIN_CRITERIA]
    reasons = ["missing", "placeholder", "not_one_of", "too_short", "timeline_unknown", "timeline_too_late"]
    keys += [f"criteria.reason.{reason}" for reason in reasons]
    losses = ["missing", "placeholder", "too_short", "copy", "budget_unknown", "no_authority"]
    keys += [f"score.loss.{loss}" for loss in [*losses, "timeline_unknown", "unanswered"]]
    assert [key for key in keys if not has(lang, key)] == []
