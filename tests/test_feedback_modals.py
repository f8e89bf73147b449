"""Block Kit of the feedback loop (modals/feedback.py): pure builders and parsers, both languages."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot.domain.feedback import FEEDBACK_TEXT_MAX, FeedbackSheet, IsRating, MeetingResult
from bot.domain.handoff import HandoffSnapshot, HandoffStatus
from bot.domain.memo import AuthorityLevel, BudgetStatus, HandoffMemo, Timeline
from bot.domain.outcome import LOST_REASON_MAX, Outcome, OutcomeKind
from bot.i18n import Lang, t
from modals.feedback import (
    IS_COMMENT_MAX,
    LEARNING_ITEMS_MAX,
    FeedbackDraft,
    OutcomeDraft,
    build_feedback_modal,
    build_feedback_reminder,
    build_feedback_request,
    build_feedback_to_is,
    build_is_rating_modal,
    build_is_rating_to_fs,
    build_outcome_modal,
    feedback_errors,
    is_rating_errors,
    learning_loop_block,
    outcome_errors,
    parse_feedback_submission,
    parse_is_rating,
    parse_outcome_submission,
    stars_text,
    to_is_rating,
    to_outcome,
    to_sheet,
)
from modals.ids import ActionId, CallbackId
from modals.limits import check_slack_limits
from modals.metadata import HandoffActionMeta, load_meta
from modals.notice import feedback_button_elements

TOKYO = ZoneInfo("Asia/Tokyo")
NOW = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)
EVIL = "<!channel> & Co"
EVIL_ESCAPED = "&lt;!channel&gt; &amp; Co"
LANGS = list(Lang)

SHEET = FeedbackSheet(
    result=MeetingResult.PROGRESS,
    bant_accuracy=4,
    issue_depth=3,
    memo_completeness=5,
    overall=4,
    good="意思決定プロセスが明確で、次のステップを提案できた",
    improve="比較中の競合が分かっていれば、デモの準備がしやすかった",
    next_info="利用予定人数\n現行契約の更新時期",
)


def sample_handoff(*, meeting: bool = True, **memo_changes: Any) -> HandoffSnapshot:
    memo = HandoffMemo(
        company="株式会社サンプル商事",
        contact_name="山田 太郎",
        contact_title="経理部 部長",
        meeting_at=datetime(2026, 12, 1, 5, 0, tzinfo=UTC) if meeting else None,  # 14:00 JST
        fs_user_id="U0FSREP01",
        budget_status=BudgetStatus.PLANNED,
        budget_note="年間300万円程度",
        authority=AuthorityLevel.INFLUENCER,
        decision_maker="佐藤 専務取締役",
        need="月末の請求書発行に3人×3日かかっており、1日に短縮したい",
        timeline=Timeline.MONTHS_3_TO_6,
        current_issue="請求データを手作業で転記している",
    ).model_copy(update=memo_changes)
    return HandoffSnapshot(
        id=42,
        team_id="T0TEAM001",
        is_user_id="U0ISREP01",
        fs_user_id="U0FSREP01",
        channel_id="C0FSCHANNEL",
        status=HandoffStatus.ACCEPTED,
        memo=memo,
        created_at=NOW,
        decided_by="U0FSREP01",
        decided_at=NOW,
    )


def meta(lang: Lang) -> HandoffActionMeta:
    return HandoffActionMeta(handoff_id=42, channel_id="D0FSDM", message_ts="1700000000.000100", lang=lang)


# ---------------------------------------------------------------- Slack-shaped state helpers


def _option(value: str) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": value, "emoji": True}, "value": value}


def select(value: str | None) -> dict[str, Any]:
    return {"type": "static_select", "selected_option": _option(value) if value is not None else None}


def radio(value: str | None) -> dict[str, Any]:
    return {"type": "radio_buttons", "selected_option": _option(value) if value is not None else None}


def text(value: str | None) -> dict[str, Any]:
    return {"type": "plain_text_input", "value": value}


def number(value: str | None) -> dict[str, Any]:
    return {"type": "number_input", "value": value}


def datepicker(value: str | None) -> dict[str, Any]:
    return {"type": "datepicker", "selected_date": value}


def state(**inputs: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """`view.state.values` where each block_id (kwarg name) holds one input of the same action_id."""
    return {name: {name: value} for name, value in inputs.items()}


def state_from_view(view: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """What Slack would send back if the user submitted the modal untouched (its initial values)."""
    values: dict[str, dict[str, Any]] = {}
    for block in view["blocks"]:
        if block["type"] != "input":
            continue
        element = block["element"]
        kind = element["type"]
        if kind in ("static_select", "radio_buttons"):
            current: dict[str, Any] = {"type": kind, "selected_option": element.get("initial_option")}
        elif kind == "datepicker":
            current = {"type": kind, "selected_date": element.get("initial_date")}
        else:
            current = {"type": kind, "value": element.get("initial_value")}
        values[block["block_id"]] = {element["action_id"]: current}
    return values


def full_sheet_state(**changes: dict[str, Any]) -> dict[str, dict[str, Any]]:
    values = state(
        feedback_result=radio("on_hold"),
        feedback_bant_accuracy=select("2"),
        feedback_issue_depth=select("3"),
        feedback_memo_completeness=select("4"),
        feedback_overall=select("5"),
        feedback_good=text("  決裁者が明確だった "),
        feedback_improve=text(""),
        feedback_next_info=text("利用人数"),
    )
    values.update(state(**changes))
    return values


# ---------------------------------------------------------------- payload checks


def assert_view_ok(view: View) -> dict[str, Any]:
    payload = view.to_dict()
    assert check_slack_limits(payload) == []
    assert View(**payload).to_dict() == payload  # what Slack sends back parses into the same view
    return payload


def assert_message_ok(message: tuple[str, list[Block]]) -> str:
    fallback, blocks = message
    assert fallback.strip()
    payload = [b.to_dict() for b in blocks]
    assert check_slack_limits(payload) == []
    assert check_slack_limits({"blocks": payload}) == []
    return json.dumps(payload, ensure_ascii=False) + fallback


def all_views(lang: Lang) -> list[View]:
    handoff = sample_handoff()
    return [
        build_feedback_modal(handoff=handoff, lang=lang, tz=TOKYO, meta=meta(lang)),
        build_feedback_modal(handoff=handoff, lang=lang, tz=TOKYO, meta=meta(lang), existing=SHEET),
        build_feedback_modal(handoff=sample_handoff(meeting=False), lang=lang, tz=TOKYO, meta=meta(lang)),
        build_is_rating_modal(handoff=handoff, lang=lang, meta=meta(lang), anonymous=False),
        build_is_rating_modal(
            handoff=handoff,
            lang=lang,
            meta=meta(lang),
            anonymous=False,
            existing=IsRating(follow_through=3, comment="ok"),
        ),
        build_outcome_modal(handoff=handoff, lang=lang, meta=meta(lang)),
        build_outcome_modal(
            handoff=handoff, lang=lang, meta=meta(lang), existing=Outcome.won(3_000_000, date(2027, 1, 15))
        ),
        build_outcome_modal(handoff=handoff, lang=lang, meta=meta(lang), existing=Outcome.lost("価格")),
        build_outcome_modal(handoff=handoff, lang=lang, meta=meta(lang), existing=Outcome.still_open()),
        build_is_rating_modal(handoff=handoff, lang=lang, meta=meta(lang), anonymous=True),
    ]


@pytest.mark.parametrize("lang", LANGS)
def test_every_view_is_within_slack_limits_and_round_trips(lang: Lang) -> None:
    for view in all_views(lang):
        payload = assert_view_ok(view)
        assert load_meta(HandoffActionMeta, payload["private_metadata"]).handoff_id == 42


@pytest.mark.parametrize("lang", LANGS)
def test_callback_ids(lang: Lang) -> None:
    views = all_views(lang)
    assert views[0].callback_id == CallbackId.FEEDBACK_SHEET == "feedback_sheet"
    assert views[3].callback_id == CallbackId.IS_RATING == "is_rating"
    assert views[5].callback_id == CallbackId.OUTCOME == "outcome_record"


@pytest.mark.parametrize("lang", LANGS)
def test_huge_texts_stay_within_limits(lang: Lang) -> None:
    """2000 characters that each escape to 4 still fit: the builders cut after escaping."""
    handoff = sample_handoff(company="<" * 500, need="&" * 2000, contact_name=">" * 200)
    big = "<" * FEEDBACK_TEXT_MAX
    sheet = SHEET.model_copy(update={"good": big, "improve": big, "next_info": big})
    assert_view_ok(
        build_feedback_modal(handoff=handoff, lang=lang, tz=TOKYO, meta=meta(lang), existing=sheet)
    )
    assert_message_ok(
        build_feedback_to_is(
            handoff=handoff, sheet=sheet, lang=lang, tz=TOKYO, rater_id="U0FSREP01", score_text="*100*"
        )
    )
    rating = IsRating(follow_through=1, comment="&" * IS_COMMENT_MAX)
    assert_message_ok(build_is_rating_to_fs(handoff=handoff, rating=rating, lang=lang, rater_id=None))
    assert_view_ok(
        build_outcome_modal(handoff=handoff, lang=lang, meta=meta(lang), existing=Outcome.lost("<" * 1000))
    )
    block = learning_loop_block(["<" * 5000] * 3 + [f"item {i}" for i in range(30)], lang)
    assert block is not None
    assert check_slack_limits([block.to_dict()]) == []


# ---------------------------------------------------------------- DMs to FS and the notice buttons


@pytest.mark.parametrize("lang", LANGS)
def test_feedback_request_and_reminder(lang: Lang) -> None:
    handoff = sample_handoff()
    for message in (
        build_feedback_request(handoff=handoff, lang=lang, tz=TOKYO),
        build_feedback_reminder(handoff=handoff, lang=lang, tz=TOKYO, number=2),
    ):
        dumped = assert_message_ok(message)
        assert "株式会社サンプル商事" in dumped
        assert "<@U0ISREP01>" in dumped
        assert "14:00 JST" in dumped
        actions = message[1][-1].to_dict()
        assert actions["type"] == "actions"
        button, outcome = actions["elements"]  # FS can record the outcome from the DM too
        assert outcome["action_id"] == ActionId.OUTCOME_OPEN
        assert button["action_id"] == ActionId.FEEDBACK_OPEN == "feedback_open"
        assert button["value"] == "42"
        assert button["style"] == "primary"
        assert button["text"]["text"] == t(lang, "feedback.button.rate")
    reminder = build_feedback_reminder(handoff=handoff, lang=lang, tz=TOKYO, number=2)[0]
    assert "2" in reminder


def test_request_wording_in_english() -> None:
    fallback, _ = build_feedback_request(handoff=sample_handoff(), lang=Lang.EN, tz=TOKYO)
    assert fallback.startswith(
        "How was the meeting on Tue, Dec 1, 2026 14:00 JST with *株式会社サンプル商事*?"
    )
    assert "2 minutes" in fallback
    fallback, _ = build_feedback_reminder(handoff=sample_handoff(), lang=Lang.EN, tz=TOKYO, number=1)
    assert "2 minutes" in fallback and "helps <@U0ISREP01>" in fallback


@pytest.mark.parametrize("lang", LANGS)
def test_request_without_a_meeting_time(lang: Lang) -> None:
    fallback, _ = build_feedback_request(handoff=sample_handoff(meeting=False), lang=lang, tz=TOKYO)
    assert t(lang, "feedback.meeting_no_time") in fallback
    assert "—" not in fallback


@pytest.mark.parametrize("lang", LANGS)
def test_feedback_buttons(lang: Lang) -> None:
    elements = [e.to_dict() for e in feedback_button_elements(sample_handoff(), lang)]
    assert check_slack_limits([{"type": "actions", "elements": elements}]) == []
    assert [e["action_id"] for e in elements] == ["feedback_open", "outcome_open"]
    assert {e["value"] for e in elements} == {"42"}
    assert elements[0]["text"]["text"] == t(lang, "feedback.button.rate")
    edited = feedback_button_elements(sample_handoff(), lang, rated=True)[0].to_dict()
    assert edited["text"]["text"] == t(lang, "feedback.button.edit_rating")


# ---------------------------------------------------------------- the feedback sheet modal


@pytest.mark.parametrize("lang", LANGS)
def test_feedback_modal_shows_the_memo_summary_and_every_input(lang: Lang) -> None:
    payload = assert_view_ok(
        build_feedback_modal(handoff=sample_handoff(), lang=lang, tz=TOKYO, meta=meta(lang))
    )
    dumped = json.dumps(payload, ensure_ascii=False)
    for expected in (
        "株式会社サンプル商事",
        "山田 太郎 — 経理部 部長",
        "14:00 JST",
        "年間300万円程度",
        "佐藤 専務取締役",
    ):
        assert expected in dumped
    inputs = {b["block_id"]: b for b in payload["blocks"] if b["type"] == "input"}
    assert list(inputs) == [
        "feedback_result",
        "feedback_bant_accuracy",
        "feedback_issue_depth",
        "feedback_memo_completeness",
        "feedback_overall",
        "feedback_good",
        "feedback_improve",
        "feedback_next_info",
    ]
    result_options = [o["value"] for o in inputs["feedback_result"]["element"]["options"]]
    assert result_options == ["progress", "on_hold", "lost"]
    stars = inputs["feedback_overall"]["element"]
    assert [o["value"] for o in stars["options"]] == ["5", "4", "3", "2", "1"]
    assert stars["options"][1]["text"]["text"].startswith("★★★★☆")
    for key in ("feedback_good", "feedback_improve", "feedback_next_info"):
        assert inputs[key]["optional"] is True
        assert inputs[key]["element"]["multiline"] is True
        assert inputs[key]["element"]["max_length"] == 2000
    assert not any(inputs[k].get("optional") for k in list(inputs)[:5])
    assert t(lang, "feedback.modal.editing") not in dumped


def test_feedback_modal_teaches_the_seed_rules() -> None:
    ja = json.dumps(
        build_feedback_modal(handoff=sample_handoff(), lang=Lang.JA, tz=TOKYO, meta=meta(Lang.JA)).to_dict(),
        ensure_ascii=False,
    )
    assert "具体的に" in ja and "建設的に" in ja and "〇〇の情報があると商談が進めやすい" in ja
    en = json.dumps(
        build_feedback_modal(handoff=sample_handoff(), lang=Lang.EN, tz=TOKYO, meta=meta(Lang.EN)).to_dict()
    )
    assert "knowing X would make the meeting easier" in en


def test_parse_a_full_submission() -> None:
    draft = parse_feedback_submission(full_sheet_state())
    assert draft == FeedbackDraft(
        result=MeetingResult.ON_HOLD,
        bant_accuracy=2,
        issue_depth=3,
        memo_completeness=4,
        overall=5,
        good="決裁者が明確だった",
        improve=None,
        next_info="利用人数",
    )
    assert feedback_errors(draft, Lang.JA) == {}
    sheet = to_sheet(draft)
    assert sheet.result is MeetingResult.ON_HOLD and sheet.stars["overall"] == 5 and sheet.improve is None


@pytest.mark.parametrize("lang", LANGS)
def test_missing_result_and_stars_are_errors_on_their_blocks(lang: Lang) -> None:
    for values in ({}, None, {"feedback_result": "junk"}):
        errors = feedback_errors(parse_feedback_submission(values), lang)
        assert errors == {
            "feedback_result": t(lang, "feedback.error.choose_result"),
            "feedback_bant_accuracy": t(lang, "feedback.error.choose_stars"),
            "feedback_issue_depth": t(lang, "feedback.error.choose_stars"),
            "feedback_memo_completeness": t(lang, "feedback.error.choose_stars"),
            "feedback_overall": t(lang, "feedback.error.choose_stars"),
        }
    odd = full_sheet_state(feedback_overall=select("9"), feedback_result=radio("won"))
    assert set(feedback_errors(parse_feedback_submission(odd), lang)) == {
        "feedback_result",
        "feedback_overall",
    }
    with pytest.raises(ValueError):
        to_sheet(parse_feedback_submission({}))


@pytest.mark.parametrize("lang", LANGS)
def test_too_long_text_is_an_error(lang: Lang) -> None:
    draft = parse_feedback_submission(full_sheet_state(feedback_improve=text("x" * 2001)))
    assert feedback_errors(draft, lang) == {
        "feedback_improve": t(lang, "feedback.error.too_long", limit=2000, length=2001)
    }


@pytest.mark.parametrize("lang", LANGS)
def test_prefill_round_trip(lang: Lang) -> None:
    """Open the sheet again with the saved one, submit untouched: the same sheet comes back."""
    view = build_feedback_modal(
        handoff=sample_handoff(), lang=lang, tz=TOKYO, meta=meta(lang), existing=SHEET
    )
    payload = assert_view_ok(view)
    assert t(lang, "feedback.modal.editing") in json.dumps(payload, ensure_ascii=False)
    draft = parse_feedback_submission(state_from_view(payload))
    assert feedback_errors(draft, lang) == {}
    assert to_sheet(draft) == SHEET
    sparse = FeedbackSheet(
        result=MeetingResult.LOST, bant_accuracy=1, issue_depth=1, memo_completeness=1, overall=1
    )
    view = build_feedback_modal(
        handoff=sample_handoff(), lang=lang, tz=TOKYO, meta=meta(lang), existing=sparse
    )
    assert to_sheet(parse_feedback_submission(state_from_view(view.to_dict()))) == sparse


# ---------------------------------------------------------------- the feedback, to IS


@pytest.mark.parametrize("lang", LANGS)
def test_feedback_to_is_is_framed_constructively(lang: Lang) -> None:
    message = build_feedback_to_is(
        handoff=sample_handoff(),
        sheet=SHEET,
        lang=lang,
        tz=TOKYO,
        rater_id="U0FSREP01",
        score_text="*品質スコア 88 / 100*",
    )
    dumped = assert_message_ok(message)
    assert "<@U0FSREP01>" in dumped
    assert "*品質スコア 88 / 100*" in dumped
    assert stars_text(4) == "★★★★☆" and "★★★★☆ 4/5" in dumped and "★★★☆☆ 3/5" in dumped
    assert t(lang, "feedback.result.progress") in dumped
    good = dumped.index(t(lang, "feedback.to_is.good"))
    improve = dumped.index(t(lang, "feedback.to_is.improve"))
    next_info = dumped.index(t(lang, "feedback.to_is.next_info"))
    assert good < improve < next_info
    actions = message[1][-1].to_dict()
    assert actions["block_id"] == "is_rating_actions"
    assert actions["elements"][0]["action_id"] == ActionId.IS_RATING_OPEN == "is_rating_open"
    assert actions["elements"][0]["value"] == "42"


@pytest.mark.parametrize("lang", LANGS)
def test_anonymous_mode_hides_the_rater(lang: Lang) -> None:
    dumped = assert_message_ok(
        build_feedback_to_is(
            handoff=sample_handoff(), sheet=SHEET, lang=lang, tz=TOKYO, rater_id=None, score_text=None
        )
    )
    assert "U0FSREP01" not in dumped
    assert t(lang, "feedback.anonymous_fs") in dumped
    rating = IsRating(follow_through=4, comment="助かりました")
    dumped = assert_message_ok(
        build_is_rating_to_fs(handoff=sample_handoff(), rating=rating, lang=lang, rater_id=None)
    )
    assert "U0ISREP01" not in dumped and "★★★★☆ 4/5" in dumped and "助かりました" in dumped
    named = assert_message_ok(
        build_is_rating_to_fs(handoff=sample_handoff(), rating=rating, lang=lang, rater_id="U0ISREP01")
    )
    assert "<@U0ISREP01>" in named


@pytest.mark.parametrize("lang", LANGS)
def test_feedback_without_comments_says_so(lang: Lang) -> None:
    sheet = SHEET.model_copy(update={"good": None, "improve": None, "next_info": None})
    dumped = assert_message_ok(
        build_feedback_to_is(
            handoff=sample_handoff(), sheet=sheet, lang=lang, tz=TOKYO, rater_id="U0FSREP01", score_text=None
        )
    )
    assert t(lang, "feedback.to_is.no_comments") in dumped
    assert t(lang, "feedback.to_is.good") not in dumped


# ---------------------------------------------------------------- escaping


@pytest.mark.parametrize("lang", LANGS)
def test_user_text_is_escaped_everywhere(lang: Lang) -> None:
    handoff = sample_handoff(company=EVIL, contact_name=EVIL, need=EVIL, budget_note=EVIL)
    sheet = SHEET.model_copy(update={"good": EVIL, "improve": EVIL, "next_info": EVIL})
    dumps = [
        assert_message_ok(build_feedback_request(handoff=handoff, lang=lang, tz=TOKYO)),
        assert_message_ok(build_feedback_reminder(handoff=handoff, lang=lang, tz=TOKYO, number=1)),
        assert_message_ok(
            build_feedback_to_is(
                handoff=handoff, sheet=sheet, lang=lang, tz=TOKYO, rater_id="U0FSREP01", score_text=None
            )
        ),
        assert_message_ok(
            build_is_rating_to_fs(
                handoff=handoff, rating=IsRating(follow_through=2, comment=EVIL), lang=lang, rater_id=None
            )
        ),
        json.dumps(
            build_feedback_modal(handoff=handoff, lang=lang, tz=TOKYO, meta=meta(lang)).to_dict(),
            ensure_ascii=False,
        ),
        json.dumps(
            build_is_rating_modal(handoff=handoff, lang=lang, meta=meta(lang), anonymous=False).to_dict(),
            ensure_ascii=False,
        ),
        json.dumps(
            build_outcome_modal(handoff=handoff, lang=lang, meta=meta(lang)).to_dict(), ensure_ascii=False
        ),
    ]
    block = learning_loop_block([EVIL], lang)
    assert block is not None
    dumps.append(json.dumps(block.to_dict(), ensure_ascii=False))
    for dumped in dumps:
        assert "<!channel>" not in dumped
        assert EVIL_ESCAPED in dumped


def test_prefilled_plain_text_inputs_are_not_escaped() -> None:
    """Inputs hold plain text: the rep sees (and re-submits) exactly what they typed."""
    sheet = SHEET.model_copy(update={"good": EVIL})
    view = build_feedback_modal(
        handoff=sample_handoff(), lang=Lang.JA, tz=TOKYO, meta=meta(Lang.JA), existing=sheet
    )
    assert to_sheet(parse_feedback_submission(state_from_view(view.to_dict()))).good == EVIL


# ---------------------------------------------------------------- IS rates FS


@pytest.mark.parametrize("lang", LANGS)
def test_is_rating_parse_errors_and_round_trip(lang: Lang) -> None:
    values = state(is_rating_follow_through=select("3"), is_rating_comment=text(" 速い共有に感謝 "))
    assert parse_is_rating(values) == (3, "速い共有に感謝")
    assert is_rating_errors(3, "速い共有に感謝", lang) == {}
    assert to_is_rating(3, "速い共有に感謝") == IsRating(follow_through=3, comment="速い共有に感謝")
    assert parse_is_rating({}) == (None, None)
    assert is_rating_errors(None, None, lang) == {
        "is_rating_follow_through": t(lang, "feedback.error.choose_stars")
    }
    assert set(is_rating_errors(5, "x" * (IS_COMMENT_MAX + 1), lang)) == {"is_rating_comment"}
    existing = IsRating(follow_through=2, comment="次回は商談後すぐ共有を")
    view = build_is_rating_modal(
        handoff=sample_handoff(), lang=lang, meta=meta(lang), anonymous=False, existing=existing
    )
    stars, comment = parse_is_rating(state_from_view(assert_view_ok(view)))
    assert to_is_rating(stars, comment) == existing
    assert "<@U0FSREP01>" in json.dumps(view.to_dict())


# ---------------------------------------------------------------- the outcome


def outcome_state(
    kind: str | None, amount: str | None = None, closed_on: str | None = None, reason: str | None = None
) -> dict[str, dict[str, Any]]:
    return state(
        outcome_kind=radio(kind),
        outcome_amount=number(amount),
        outcome_closed_on=datepicker(closed_on),
        outcome_lost_reason=text(reason),
    )


@pytest.mark.parametrize("lang", LANGS)
def test_outcome_modal_inputs(lang: Lang) -> None:
    payload = assert_view_ok(build_outcome_modal(handoff=sample_handoff(), lang=lang, meta=meta(lang)))
    inputs = {b["block_id"]: b["element"] for b in payload["blocks"] if b["type"] == "input"}
    assert list(inputs) == ["outcome_kind", "outcome_amount", "outcome_closed_on", "outcome_lost_reason"]
    assert [o["value"] for o in inputs["outcome_kind"]["options"]] == ["won", "lost", "open"]
    labels = [o["text"]["text"] for o in inputs["outcome_kind"]["options"]]
    if lang is Lang.JA:
        assert labels == ["受注", "失注", "継続中"]
    assert inputs["outcome_amount"]["type"] == "number_input"
    assert inputs["outcome_amount"]["is_decimal_allowed"] is False
    assert inputs["outcome_closed_on"]["type"] == "datepicker"
    assert inputs["outcome_lost_reason"]["max_length"] == LOST_REASON_MAX


def test_parse_outcomes() -> None:
    won = parse_outcome_submission(outcome_state("won", "3000000", "2027-01-15"))
    assert won == OutcomeDraft(
        kind=OutcomeKind.WON, amount=3_000_000, amount_text="3000000", closed_on=date(2027, 1, 15)
    )
    assert to_outcome(won) == Outcome.won(3_000_000, date(2027, 1, 15))
    for typed in ("3,000,000円", "¥3000000", "３００００００", " 3000000 "):
        assert parse_outcome_submission(outcome_state("won", typed)).amount == 3_000_000
    for typed in ("-5", "1.5", "abc", "1" * 16):
        assert parse_outcome_submission(outcome_state("won", typed)).amount is None
    assert parse_outcome_submission(outcome_state("won", "0")).amount == 0
    assert parse_outcome_submission(outcome_state("won", closed_on="2027-02-30")).closed_on is None
    assert parse_outcome_submission({}) == OutcomeDraft()
    assert parse_outcome_submission(outcome_state("maybe")).kind is None


@pytest.mark.parametrize("lang", LANGS)
def test_outcome_errors(lang: Lang) -> None:
    def errors(*args: str | None) -> dict[str, str]:
        return outcome_errors(parse_outcome_submission(outcome_state(*args)), lang)

    assert errors(None) == {"outcome_kind": t(lang, "feedback.error.choose_kind")}
    assert errors("won") == {
        "outcome_amount": t(lang, "feedback.error.amount_required"),
        "outcome_closed_on": t(lang, "feedback.error.closed_on_required"),
    }
    assert errors("won", "abc", "2027-01-15") == {"outcome_amount": t(lang, "feedback.error.amount_digits")}
    assert errors("won", "-1", "2027-01-15") == {"outcome_amount": t(lang, "feedback.error.amount_digits")}
    assert errors("won", "100", None) == {"outcome_closed_on": t(lang, "feedback.error.closed_on_required")}
    assert errors("won", "100", "2099-12-31") == {}  # a future close date is fine
    assert errors("lost") == {"outcome_lost_reason": t(lang, "feedback.error.lost_reason_required")}
    assert errors("lost", None, None, "   ") == {
        "outcome_lost_reason": t(lang, "feedback.error.lost_reason_required")
    }
    assert errors("lost", None, None, "予算が来期に持ち越し") == {}
    assert errors("lost", None, None, "x" * (LOST_REASON_MAX + 1)) == {
        "outcome_lost_reason": t(
            lang, "feedback.error.too_long", limit=LOST_REASON_MAX, length=LOST_REASON_MAX + 1
        )
    }
    assert errors("open") == {}
    assert errors("open", "12x") == {"outcome_amount": t(lang, "feedback.error.amount_digits")}


def test_to_outcome_keeps_only_what_the_kind_carries() -> None:
    lost = parse_outcome_submission(outcome_state("lost", "500", "2027-01-10", "価格でA社に決定"))
    assert to_outcome(lost) == Outcome.lost("価格でA社に決定", date(2027, 1, 10))
    won = parse_outcome_submission(outcome_state("won", "500", "2027-01-10", "meant for lost"))
    assert to_outcome(won) == Outcome.won(500, date(2027, 1, 10))
    still_open = parse_outcome_submission(outcome_state("open", "500", "2027-01-10", "note"))
    assert to_outcome(still_open) == Outcome.still_open()
    with pytest.raises(ValueError):
        to_outcome(parse_outcome_submission(outcome_state("won")))
    with pytest.raises(ValueError):
        to_outcome(OutcomeDraft())


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize(
    "existing",
    [
        Outcome.won(3_000_000, date(2027, 1, 15)),
        Outcome.lost("価格でA社に決定", date(2027, 1, 10)),
        Outcome.still_open(),
    ],
)
def test_outcome_prefill_round_trip(lang: Lang, existing: Outcome) -> None:
    view = build_outcome_modal(handoff=sample_handoff(), lang=lang, meta=meta(lang), existing=existing)
    draft = parse_outcome_submission(state_from_view(assert_view_ok(view)))
    assert outcome_errors(draft, lang) == {}
    assert to_outcome(draft) == existing


# ---------------------------------------------------------------- the learning loop


@pytest.mark.parametrize("lang", LANGS)
def test_learning_loop_block(lang: Lang) -> None:
    assert learning_loop_block([], lang) is None
    assert learning_loop_block(["", "  \n ・ "], lang) is None
    block = learning_loop_block(
        ["利用予定人数\n・現行契約の更新時期", "利用予定人数", "- 決裁者の名前"], lang
    )
    assert block is not None
    payload = block.to_dict()
    assert payload["type"] == "context"
    assert check_slack_limits([payload]) == []
    body = payload["elements"][0]["text"]
    assert body.startswith(t(lang, "feedback.learning.title"))
    assert body.splitlines()[1:] == ["• 利用予定人数", "• 現行契約の更新時期", "• 決裁者の名前"]
    many = learning_loop_block([f"item {i}" for i in range(20)], lang)
    assert many is not None
    assert len(many.to_dict()["elements"][0]["text"].splitlines()) == LEARNING_ITEMS_MAX + 1
    long = learning_loop_block(["x" * 1000], lang)
    assert long is not None and long.to_dict()["elements"][0]["text"].endswith("…")
