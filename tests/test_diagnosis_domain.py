"""The diagnosis's pure parts: the seed's checklist and levels, the evidence rules, the builders, and the
parser of what a client sends (property-based)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.diagnosis import (
    DATA_ITEMS,
    GROUPS,
    ITEM_ORDER,
    DiagnosisFacts,
    DiagnosisGroup,
    DiagnosisItem,
    DiagnosisLevel,
    DiagnosisPoint,
    DiagnosisRecord,
    DiagnosisTrend,
    diagnose,
    evidence_for,
    level_for,
    parse_items,
    prechecked,
)
from bot.i18n import Lang, t
from modals.diagnose import (
    GROUP_BLOCKS,
    DiagnosisModalMeta,
    build_diagnosis_modal,
    build_diagnosis_result,
    diagnosis_home_blocks,
    diagnosis_trend_lines,
    parse_diagnosis_submission,
)
from modals.digest_text import Fmt
from modals.ids import ActionId

NOW = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
TOKYO = ZoneInfo("Asia/Tokyo")

ALL_MET = DiagnosisFacts(
    now=NOW,
    criteria_rules=5,
    criteria_gate=True,
    recent_toss_ups=10,
    recent_templated=7,
    recent_scored=10,
    recent_average_score=61.25,
    memo_score_max=70,
    weekly_scheduled=True,
    weekly_posted_at=datetime(2026, 11, 13, 0, 0, tzinfo=UTC),
    meetings=10,
    meetings_rated=7,
    meetings_rated_back=7,
    issues_closed=2,
    last_issue_closed_at=datetime(2026, 11, 1, tzinfo=UTC),
)


def test_the_seeds_checklist_ten_items_in_five_groups() -> None:
    assert [group for group, _ in GROUPS] == list(DiagnosisGroup)
    assert all(len(items) == 2 for _, items in GROUPS)
    assert ITEM_ORDER == tuple(DiagnosisItem) and len(ITEM_ORDER) == 10
    assert t(Lang.JA, "diagnose.item.criteria_agreed") == "トスアップ基準(SQL定義)が両部門で合意されている"
    assert t(Lang.JA, "diagnose.group.communication") == "コミュニケーション"
    # Four items only the person can answer: roles written down, shared KPIs, evaluation, input rules.
    assert set(DiagnosisItem) - DATA_ITEMS == {
        DiagnosisItem.ROLES_DOCUMENTED,
        DiagnosisItem.SHARED_KPI,
        DiagnosisItem.COLLABORATIVE_EVALUATION,
        DiagnosisItem.INPUT_RULES,
    }


@pytest.mark.parametrize(
    ("count", "level", "ja", "action"),
    [
        (10, DiagnosisLevel.EXCELLENT, "優良", "継続的な改善と新たな施策への挑戦"),
        (8, DiagnosisLevel.EXCELLENT, "優良", "継続的な改善と新たな施策への挑戦"),
        (7, DiagnosisLevel.GOOD, "良好", "不足項目の強化、仕組みの定着"),
        (5, DiagnosisLevel.GOOD, "良好", "不足項目の強化、仕組みの定着"),
        (4, DiagnosisLevel.NEEDS_WORK, "要改善", "優先度の高い項目から着手"),
        (3, DiagnosisLevel.NEEDS_WORK, "要改善", "優先度の高い項目から着手"),
        (2, DiagnosisLevel.ALERT, "要注意", "抜本的な見直しが必要"),
        (0, DiagnosisLevel.ALERT, "要注意", "抜本的な見直しが必要"),
    ],
)
def test_levels_and_actions_follow_the_seeds_table(
    count: int, level: DiagnosisLevel, ja: str, action: str
) -> None:
    assert level_for(count) is level
    assert t(Lang.JA, f"diagnose.level.{level.value}") == ja
    assert t(Lang.JA, f"diagnose.action.{level.value}") == action
    result = diagnose(ITEM_ORDER[:count])
    assert (result.count, result.level) == (count, level)
    assert result.next_steps == ITEM_ORDER[count:]


@pytest.mark.parametrize("count", [-1, 11])
def test_a_count_outside_the_checklist_is_a_bug(count: int) -> None:
    with pytest.raises(ValueError, match="0 to 10"):
        level_for(count)


def test_every_data_item_met_at_the_thresholds() -> None:
    evidence = evidence_for(ALL_MET)
    assert list(evidence) == [item for item in ITEM_ORDER if item in DATA_ITEMS]
    assert prechecked(evidence) == DATA_ITEMS
    assert evidence[DiagnosisItem.MEMO_TEMPLATE].params == {"part": 7, "whole": 10, "percent": 70, "days": 90}
    assert evidence[DiagnosisItem.MUTUAL_FEEDBACK].params["percent"] == 70
    quality = {"days": 90, "count": 10, "average": "61.2", "max": 70}
    assert evidence[DiagnosisItem.QUALITY_MEASURED].params == quality


@pytest.mark.parametrize(
    ("change", "item", "key"),
    [
        ({"criteria_rules": 0}, DiagnosisItem.CRITERIA_AGREED, "criteria_none"),
        ({"criteria_gate": False}, DiagnosisItem.CRITERIA_AGREED, "criteria_warn"),
        ({"recent_templated": 6}, DiagnosisItem.MEMO_TEMPLATE, "template"),  # 60 % < 70 %
        ({"recent_toss_ups": 0, "recent_templated": 0}, DiagnosisItem.MEMO_TEMPLATE, "template_none"),
        ({"weekly_scheduled": False}, DiagnosisItem.REGULAR_MEETING, "meeting_unscheduled"),
        ({"weekly_posted_at": None}, DiagnosisItem.REGULAR_MEETING, "meeting_not_posted"),
        ({"meetings_rated": 6}, DiagnosisItem.MUTUAL_FEEDBACK, "feedback"),
        ({"meetings_rated_back": 6}, DiagnosisItem.MUTUAL_FEEDBACK, "feedback"),  # one way is not two-way
        ({"meetings": 0, "meetings_rated": 0}, DiagnosisItem.MUTUAL_FEEDBACK, "feedback_no_meetings"),
        (
            {"recent_scored": 0, "recent_average_score": None},
            DiagnosisItem.QUALITY_MEASURED,
            "quality_none",
        ),
        ({"issues_closed": 0, "last_issue_closed_at": None}, DiagnosisItem.IMPROVEMENT_PDCA, "pdca_none"),
    ],
)
def test_each_rule_unmet(change: dict[str, Any], item: DiagnosisItem, key: str) -> None:
    evidence = evidence_for(replace(ALL_MET, **change))
    assert (evidence[item].met, evidence[item].key) == (False, key)
    assert prechecked(evidence) == DATA_ITEMS - {item}


def test_parse_items_keeps_known_values_of_the_group() -> None:
    raw = ["criteria_agreed", "shared_kpi", "nope", 3, None, "roles_documented"]
    assert parse_items(raw) == {
        DiagnosisItem.CRITERIA_AGREED,
        DiagnosisItem.SHARED_KPI,
        DiagnosisItem.ROLES_DOCUMENTED,
    }
    assert parse_items(raw, group=DiagnosisGroup.ROLES) == {
        DiagnosisItem.CRITERIA_AGREED,
        DiagnosisItem.ROLES_DOCUMENTED,
    }


# ---------------------------------------------------------------- modal and messages


def _view(lang: Lang, facts: DiagnosisFacts = ALL_MET) -> dict[str, Any]:
    meta = DiagnosisModalMeta(channel_id="C0GENERAL", lang=lang)
    view = build_diagnosis_modal(lang=lang, tz=TOKYO, evidence=evidence_for(facts), as_of=NOW, meta=meta)
    return view.to_dict()


@pytest.mark.parametrize("lang", list(Lang))
def test_the_modal_groups_the_items_ticks_the_data_items_and_shows_evidence(lang: Lang) -> None:
    view = _view(lang, replace(ALL_MET, weekly_posted_at=None))
    inputs = [b for b in view["blocks"] if b["type"] == "input"]
    assert [b["block_id"] for b in inputs] == [GROUP_BLOCKS[g].value for g in DiagnosisGroup]
    assert [b["label"]["text"] for b in inputs] == [
        t(lang, f"diagnose.group.{g.value}") for g in DiagnosisGroup
    ]
    ticked = {o["value"] for b in inputs for o in b["element"].get("initial_options", [])}
    assert ticked == {i.value for i in DATA_ITEMS - {DiagnosisItem.REGULAR_MEETING}}
    assert all(b["optional"] and b["element"]["type"] == "checkboxes" for b in inputs)
    text = json.dumps(view, ensure_ascii=False)
    assert t(lang, "diagnose.evidence.criteria_gate", count=5) in text
    assert t(lang, "diagnose.evidence.meeting_not_posted", days=14) in text
    assert json.loads(view["private_metadata"]) == {"channel_id": "C0GENERAL", "lang": lang.value}
    assert len(view["title"]["text"]) <= 24
    for block in inputs:
        assert all(len(o["text"]["text"]) <= 75 for o in block["element"]["options"])


def test_evidence_times_are_shown_in_the_readers_zone() -> None:
    text = json.dumps(_view(Lang.EN), ensure_ascii=False)
    assert "Fri, Nov 13, 2026 09:00 JST" in text  # 00:00 UTC posted_at, read in Tokyo


def _record(items: tuple[DiagnosisItem, ...]) -> DiagnosisRecord:
    return DiagnosisRecord(id=1, diagnosed_by="U0MANAGER", diagnosed_at=NOW, checked=frozenset(items))


def test_the_result_message_lists_level_action_and_next_steps() -> None:
    text, blocks = build_diagnosis_result(record=_record(ITEM_ORDER[:6]), lang=Lang.JA, tz=TOKYO)
    assert text == "連携診断: 6/10 — 良好"
    body = json.dumps(blocks and [b.to_dict() for b in blocks], ensure_ascii=False)
    assert "チェック数 6/10 — 連携レベル: 良好" in body and "不足項目の強化、仕組みの定着" in body
    assert "【コミュニケーション】相互フィードバックの仕組みが機能している" in body
    assert "【役割定義】" not in body  # both ticked: not a next step
    assert "<@U0MANAGER>" in body
    _, done = build_diagnosis_result(record=_record(ITEM_ORDER), lang=Lang.EN, tz=TOKYO)
    assert "All ten items are checked" in json.dumps([b.to_dict() for b in done])


def test_home_blocks_and_monthly_trend_lines() -> None:
    home = json.dumps(
        [b.to_dict() for b in diagnosis_home_blocks(_record(ITEM_ORDER[:3]), lang=Lang.EN, tz=TOKYO)],
        ensure_ascii=False,
    )
    assert "3/10 — Needs work" in home and "Start with the highest-priority items" in home
    empty = json.dumps([b.to_dict() for b in diagnosis_home_blocks(None, lang=Lang.EN, tz=TOKYO)])
    assert "/tossup diagnose" in empty

    def point(count: int, day: int) -> DiagnosisPoint:
        return DiagnosisPoint.of(
            DiagnosisRecord(
                id=day,
                diagnosed_by="U0IS",
                diagnosed_at=datetime(2026, 11, day, tzinfo=UTC),
                checked=frozenset(ITEM_ORDER[:count]),
            )
        )

    fmt = Fmt(Lang.EN, TOKYO, mrkdwn=True)
    lines = diagnosis_trend_lines(DiagnosisTrend(current=point(8, 20), previous=point(4, 2)), fmt)
    assert lines[0].startswith("Latest this month: 8/10 — Excellent (<@U0IS>,")
    assert lines[1].startswith("Before: 4/10 — Needs work") and lines[1].endswith("+4 items since then")
    assert diagnosis_trend_lines(DiagnosisTrend(), fmt) == []
    only_before = diagnosis_trend_lines(DiagnosisTrend(previous=point(4, 2)), fmt)
    assert only_before[0] == "No diagnosis this month."
    # Frozen into a digest's JSON and read back.
    trend = DiagnosisTrend(current=point(8, 20), previous=point(8, 2))
    assert DiagnosisTrend.model_validate_json(trend.model_dump_json()) == trend and trend.change == 0


# ---------------------------------------------------------------- the parser, property-based

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)
_values = st.sampled_from([i.value for i in DiagnosisItem]) | st.text(max_size=20)
_state = st.fixed_dictionaries(
    {
        "type": st.just("checkboxes"),
        "selected_options": st.lists(st.fixed_dictionaries({"value": _values}), max_size=6),
    }
)


def _group_state(values: dict[str, Any], block: str) -> dict[str, Any]:
    outer = values.get(block)
    state = outer.get(ActionId.DIAGNOSIS_ITEMS.value) if isinstance(outer, dict) else None
    return state if isinstance(state, dict) else {}


@given(
    st.dictionaries(
        st.sampled_from([b.value for b in GROUP_BLOCKS.values()]),
        st.fixed_dictionaries({ActionId.DIAGNOSIS_ITEMS.value: _state | _json}),
    )
)
def test_parsing_keeps_each_groups_own_items_only(values: dict[str, Any]) -> None:
    checked = parse_diagnosis_submission(values)
    if checked is None:  # no group's checkboxes at all: unreadable, not "nothing ticked"
        assert not any(_group_state(values, block.value) for block in GROUP_BLOCKS.values())
        return
    for group, block in GROUP_BLOCKS.items():
        own = {item for g, items in GROUPS if g is group for item in items}
        state = values.get(block.value, {}).get(ActionId.DIAGNOSIS_ITEMS.value)
        sent = (
            {o.get("value") for o in state["selected_options"] if isinstance(o, dict)}
            if isinstance(state, dict) and isinstance(state.get("selected_options"), list)
            else set()
        )
        assert {i for i in checked if i in own} == {i for i in own if i.value in sent}


@given(_json)
def test_parsing_never_raises_on_any_shape(values: Any) -> None:
    checked = parse_diagnosis_submission(values)
    assert checked is None or checked <= set(DiagnosisItem)


def test_a_form_without_any_group_is_unreadable_not_nothing_ticked() -> None:
    assert parse_diagnosis_submission({}) is None
    assert parse_diagnosis_submission(None) is None
    some = {
        next(iter(GROUP_BLOCKS.values())).value: {ActionId.DIAGNOSIS_ITEMS.value: {"selected_options": []}}
    }
    assert parse_diagnosis_submission(some) == frozenset()
