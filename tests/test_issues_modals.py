"""Block Kit of the collaboration-issue log (modals/issues.py): pure builders and parsers, both languages."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot.domain.issues import (
    DECISION_MAX,
    ISSUE_ID_MAX,
    PROBLEM_MAX,
    CollabIssue,
    IssueDraft,
    IssueRefusal,
    Level,
)
from bot.i18n import Lang, t
from modals.ids import ActionId, BlockId, CallbackId
from modals.issues import (
    IssueCloseMeta,
    IssueModalMeta,
    build_already_closed,
    build_already_closed_view,
    build_close_modal,
    build_issue_closed,
    build_issue_confirmation,
    build_issue_modal,
    build_issue_refusal,
    build_owner_dm,
    close_button,
    close_errors,
    issue_errors,
    issue_form_error,
    parse_close_submission,
    parse_issue_submission,
)
from modals.limits import check_slack_limits
from modals.metadata import dump_meta, load_meta

TOKYO = ZoneInfo("Asia/Tokyo")
RAISED = datetime(2026, 12, 1, 0, 30, tzinfo=UTC)  # 09:30 JST
EVIL = "<!channel> & Co\n> not a quote"
LANGS = list(Lang)

OPEN = CollabIssue(
    id=12,
    problem="差し戻し理由が書かれず、ISが次のメモを直せない",
    impact=Level.HIGH,
    urgency=Level.HIGH,
    raised_by="U0IS",
    raised_at=RAISED,
    owner_id="U0OWNER",
)
CLOSED = CollabIssue(
    id=12,
    problem=OPEN.problem,
    impact=Level.HIGH,
    urgency=Level.LOW,
    raised_by="U0IS",
    raised_at=RAISED,
    closed_by="U0FS",
    closed_at=datetime(2026, 12, 5, 1, 0, tzinfo=UTC),
    decision="差し戻しは理由の選択を必須にする",
)


def as_dict(view_or_blocks: View | list[Block]) -> Any:
    if isinstance(view_or_blocks, View):
        return view_or_blocks.to_dict()
    return [block.to_dict() for block in view_or_blocks]


def texts(payload: Any) -> str:
    return json.dumps(payload, ensure_ascii=False)


def inputs(view: dict) -> dict[str, dict]:
    return {block["block_id"]: block for block in view["blocks"] if block["type"] == "input"}


def state(
    problem: str | None = "問題",
    impact: str | None = "high",
    urgency: str | None = "low",
    owner: str | None = None,
) -> dict:
    """`view.state.values` exactly as Slack sends the issue modal's."""

    def radio(value: str | None) -> dict:
        return {"type": "radio_buttons", "selected_option": {"value": value} if value else None}

    return {
        BlockId.ISSUE_PROBLEM: {ActionId.ISSUE_PROBLEM: {"type": "plain_text_input", "value": problem}},
        BlockId.ISSUE_IMPACT: {ActionId.ISSUE_IMPACT: radio(impact)},
        BlockId.ISSUE_URGENCY: {ActionId.ISSUE_URGENCY: radio(urgency)},
        BlockId.ISSUE_OWNER: {ActionId.ISSUE_OWNER: {"type": "users_select", "selected_user": owner}},
    }


# ---------------------------------------------------------------- the issue modal


@pytest.mark.parametrize("lang", LANGS)
def test_issue_modal_has_the_four_inputs_within_slacks_limits(lang: Lang) -> None:
    meta = IssueModalMeta(channel_id="C0GENERAL", lang=lang)
    view = as_dict(build_issue_modal(lang=lang, meta=meta, prefill=IssueDraft(problem=EVIL)))
    assert check_slack_limits(view) == []
    assert view["callback_id"] == CallbackId.COLLAB_ISSUE
    fields = inputs(view)
    assert list(fields) == [
        BlockId.ISSUE_PROBLEM,
        BlockId.ISSUE_IMPACT,
        BlockId.ISSUE_URGENCY,
        BlockId.ISSUE_OWNER,
    ]
    assert fields[BlockId.ISSUE_PROBLEM]["element"]["max_length"] == PROBLEM_MAX
    assert fields[BlockId.ISSUE_PROBLEM]["element"]["initial_value"] == EVIL  # plain text: shown as typed
    assert [o["value"] for o in fields[BlockId.ISSUE_IMPACT]["element"]["options"]] == ["high", "low"]
    assert fields[BlockId.ISSUE_OWNER]["element"]["type"] == "users_select"
    assert fields[BlockId.ISSUE_OWNER].get("optional") is True
    assert not any(fields[b].get("optional") for b in (BlockId.ISSUE_PROBLEM, BlockId.ISSUE_IMPACT))
    assert load_meta(IssueModalMeta, view["private_metadata"]) == meta


def test_issue_modal_speaks_the_seeds_words_in_japanese() -> None:
    view = texts(as_dict(build_issue_modal(lang=Lang.JA, meta=IssueModalMeta(lang=Lang.JA))))
    for words in ("影響度", "緊急度", "受注率・商談化率", "現在進行形"):
        assert words in view


def test_parse_reads_what_slack_sends() -> None:
    draft = parse_issue_submission(state(problem="  返却理由が曖昧  ", owner="U0OWNER"))
    assert draft == IssueDraft(
        problem="返却理由が曖昧", impact=Level.HIGH, urgency=Level.LOW, owner_id="U0OWNER"
    )
    assert (
        parse_issue_submission(state(problem="   ", impact=None, urgency="medium", owner="x")) == IssueDraft()
    )


# Anything a client could put in view.state.values: nested dicts/lists of JSON scalars.
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=15), inner, max_size=4),
    max_leaves=20,
)
BLOCK_IDS = st.sampled_from([b.value for b in BlockId if b.name.startswith("ISSUE_")] + ["other"])


@given(st.dictionaries(BLOCK_IDS, st.dictionaries(st.sampled_from([a.value for a in ActionId]), JSON)) | JSON)
def test_parse_never_raises_and_reads_odd_values_as_missing(values: Any) -> None:
    draft = parse_issue_submission(values)
    assert draft.impact in (None, Level.HIGH, Level.LOW) and draft.urgency in (None, Level.HIGH, Level.LOW)
    assert draft.problem is None or (draft.problem == draft.problem.strip() and draft.problem)
    assert draft.owner_id is None or draft.owner_id[:1] in "UW"
    for lang in LANGS:
        issue_errors(draft, lang)  # every draft gets an answer, never an exception
    parse_close_submission(values)


@given(
    problem=st.text(min_size=1, max_size=PROBLEM_MAX + 5),
    impact=st.sampled_from(["high", "low", None]),
    urgency=st.sampled_from(["high", "low", None]),
)
def test_a_wellformed_submission_round_trips_and_errors_match_the_domain(
    problem: str, impact: str | None, urgency: str | None
) -> None:
    draft = parse_issue_submission(state(problem=problem, impact=impact, urgency=urgency))
    assert draft.problem == (problem.strip() or None)
    assert draft.impact == (Level(impact) if impact else None)
    errors = issue_errors(draft, Lang.EN)
    assert (BlockId.ISSUE_IMPACT in errors) is (impact is None)
    assert (BlockId.ISSUE_URGENCY in errors) is (urgency is None)
    too_long = draft.problem is not None and len(draft.problem) > PROBLEM_MAX
    assert (BlockId.ISSUE_PROBLEM in errors) is (draft.problem is None or too_long)


@pytest.mark.parametrize("lang", LANGS)
def test_errors_come_on_the_field_in_the_modals_language(lang: Lang) -> None:
    errors = issue_errors(IssueDraft(problem="x" * (PROBLEM_MAX + 3)), lang)
    assert errors == {
        BlockId.ISSUE_PROBLEM: t(
            lang, "issues.error.problem_too_long", limit=PROBLEM_MAX, length=PROBLEM_MAX + 3
        ),
        BlockId.ISSUE_IMPACT: t(lang, "issues.error.choose_impact"),
        BlockId.ISSUE_URGENCY: t(lang, "issues.error.choose_urgency"),
    }
    ok = IssueDraft(problem="p", impact=Level.LOW, urgency=Level.LOW, owner_id="U0BOTUSER")
    assert issue_errors(ok, lang) == {}
    assert issue_errors(ok, lang, owner_is_person=False) == {
        BlockId.ISSUE_OWNER: t(lang, "issues.error.owner_not_a_person")
    }


# ---------------------------------------------------------------- messages about an issue


@pytest.mark.parametrize("lang", LANGS)
def test_confirmation_and_owner_dm_escape_the_problem(lang: Lang) -> None:
    evil = CollabIssue(id=3, problem=EVIL, impact=Level.LOW, urgency=Level.HIGH, raised_by="U0IS",
                       raised_at=RAISED, owner_id="U0OWNER")  # fmt: skip
    for text, blocks in (
        build_issue_confirmation(issue=evil, lang=lang),
        build_owner_dm(issue=evil, lang=lang),
    ):
        body = texts(as_dict(blocks))
        assert check_slack_limits(as_dict(blocks)) == []
        assert "<!channel>" not in body and "<!channel>" not in text
        assert "&lt;!channel&gt; &amp; Co" in body and "&gt; not a quote" in body
        assert "#3" in text and t(lang, "issues.quadrant.urgent") in text
    assert "<@U0OWNER>" in texts(as_dict(build_issue_confirmation(issue=evil, lang=lang)[1]))
    assert "<@U0IS>" in build_owner_dm(issue=evil, lang=lang)[0]


def test_a_long_problem_still_fits() -> None:
    long = CollabIssue(id=1, problem="<&>" * (PROBLEM_MAX // 3), impact=Level.HIGH, urgency=Level.HIGH,
                       raised_by="U0IS", raised_at=RAISED)  # fmt: skip
    for _, blocks in (
        build_issue_confirmation(issue=long, lang=Lang.JA),
        build_owner_dm(issue=long, lang=Lang.EN),
    ):
        assert check_slack_limits(as_dict(blocks)) == []


# ---------------------------------------------------------------- closing


@pytest.mark.parametrize("lang", LANGS)
def test_close_modal_shows_the_issue_and_asks_one_line(lang: Lang) -> None:
    meta = IssueCloseMeta(issue_id=12, channel_id="C0AGENDA", thread_ts="1700000000.000100", lang=lang)
    view = as_dict(build_close_modal(issue=OPEN, lang=lang, tz=TOKYO, meta=meta))
    assert check_slack_limits(view) == []
    assert view["callback_id"] == CallbackId.COLLAB_ISSUE_CLOSE
    (decision,) = inputs(view).values()
    assert decision["block_id"] == BlockId.ISSUE_DECISION
    assert decision["element"]["action_id"] == ActionId.ISSUE_DECISION
    assert decision["element"]["max_length"] == DECISION_MAX and not decision["element"].get("multiline")
    shown = texts(view)
    assert OPEN.problem in shown and "#12" in shown and t(lang, "issues.quadrant.top") in shown
    assert "<@U0IS>" in shown and "<@U0OWNER>" in shown and "09:30" in shown  # raised at, team time
    assert load_meta(IssueCloseMeta, view["private_metadata"]) == meta


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "not json",
        '{"issue_id": "12", "lang": "ja", "extra": 1}',
        '{"issue_id": 0, "lang": "ja"}',
        f'{{"issue_id": {ISSUE_ID_MAX + 1}, "lang": "ja"}}',
        '{"issue_id": 12, "lang": "fr"}',
        '{"issue_id": 12, "lang": "ja", "channel_id": "https://evil.example"}',
        '{"issue_id": 12, "lang": "ja", "channel_id": "C0AGENDA", "thread_ts": "1; DROP TABLE"}',
        '{"issue_id": 12, "lang": "ja", "thread_ts": "<!channel>"}',
    ],
)
def test_tampered_close_metadata_is_refused(raw: str) -> None:
    with pytest.raises(ValueError):
        load_meta(IssueCloseMeta, raw)


def test_close_metadata_round_trips() -> None:
    meta = IssueCloseMeta(
        issue_id=ISSUE_ID_MAX, channel_id="G0PRIVATE", thread_ts="1700000000.000100", lang=Lang.EN
    )
    assert load_meta(IssueCloseMeta, dump_meta(meta)) == meta


def test_the_decision_is_read_as_one_trimmed_line() -> None:
    def values(text: Any) -> dict:
        return {
            BlockId.ISSUE_DECISION: {ActionId.ISSUE_DECISION: {"type": "plain_text_input", "value": text}}
        }

    assert parse_close_submission(values("  返却理由は\n選択式に  ")) == "返却理由は 選択式に"
    assert parse_close_submission(values("   ")) is None
    assert parse_close_submission(values(3)) is None
    assert close_errors(None, Lang.EN) == {
        BlockId.ISSUE_DECISION: t(Lang.EN, "issues.error.decision_required")
    }
    assert close_errors("x" * DECISION_MAX, Lang.JA) == {}
    assert close_errors("x" * (DECISION_MAX + 1), Lang.JA) == {
        BlockId.ISSUE_DECISION: t(
            Lang.JA, "issues.error.decision_too_long", limit=DECISION_MAX, length=DECISION_MAX + 1
        )
    }


@pytest.mark.parametrize("lang", LANGS)
def test_closed_in_thread_says_who_and_what_was_decided(lang: Lang) -> None:
    evil = replace(CLOSED, problem=EVIL, decision=EVIL)
    text, blocks = build_issue_closed(issue=evil, lang=lang)
    body = texts(as_dict(blocks))
    assert "<@U0FS>" in text and "#12" in text and "&lt;!channel&gt;" in text
    assert "<!channel>" not in body and check_slack_limits(as_dict(blocks)) == []


@pytest.mark.parametrize("lang", LANGS)
def test_already_closed_names_who_when_and_the_decision(lang: Lang) -> None:
    text, blocks = build_already_closed(issue=CLOSED, lang=lang, tz=TOKYO)
    assert check_slack_limits(as_dict(blocks)) == []
    assert "<@U0FS>" in text and CLOSED.decision in text and "10:00" in text  # 01:00 UTC, in Tokyo
    view = as_dict(build_already_closed_view(issue=CLOSED, lang=lang, tz=TOKYO))
    assert check_slack_limits(view) == [] and "submit" not in view and CLOSED.decision in texts(view)


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("refusal", list(IssueRefusal))
def test_every_refusal_has_a_message_and_a_form_error(lang: Lang, refusal: IssueRefusal) -> None:
    text, blocks = build_issue_refusal(refusal, lang=lang)
    assert text and check_slack_limits(as_dict(blocks)) == []
    assert issue_form_error(refusal, lang)


@pytest.mark.parametrize("lang", LANGS)
def test_the_agenda_close_button_carries_the_issue_id(lang: Lang) -> None:
    button = close_button(12, lang).to_dict()
    assert (button["action_id"], button["value"]) == (ActionId.ISSUE_CLOSE, "12")
    assert button["text"]["text"] == t(lang, "issues.button.close")
