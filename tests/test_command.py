"""`/tossup <word>` over the wire: sub-commands, mistyped ones, and a company typed after the command."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handlers.command import find_sub_command, nearest_sub_command, sub_command_words
from tests.conftest import FS_USER, IS_USER, Harness


@pytest.mark.parametrize(
    ("typed", "shown"),
    [("exprot", "`/tossup exprot`"), ("hepl", "`/tossup hepl`"), ("frobnicate", "`/tossup frobnicate`")],
)
async def test_an_unknown_sub_command_gets_the_help_not_a_memo(
    harness: Harness, typed: str, shown: str
) -> None:
    answer = await harness.ask(typed, user_id=FS_USER)  # FS reads English
    assert shown in answer["text"] and "/tossup help" in answer["text"]  # what was not understood + help
    assert "`/tossup memo " in answer["text"]  # and how to mean a company of that name
    await harness.slack.assert_no_more("views.open", count=0)


async def test_a_near_miss_is_answered_with_the_sub_command_meant(harness: Harness) -> None:
    answer = await harness.ask("critera", user_id=FS_USER)
    assert "Did you mean `/tossup criteria`?" in answer["text"]
    japanese = await harness.ask("kpii", user_id=IS_USER)  # the Japanese catalog for a ja-JP user
    assert "`/tossup kpi` のことですか？" in japanese["text"]


@pytest.mark.parametrize(
    ("typed", "company"),
    [
        ("Acme Corp", "Acme Corp"),
        ("株式会社エース", "株式会社エース"),
        ("memo acme", "acme"),
        ("メモ　ａｃｍｅ", "ａｃｍｅ"),
    ],
)
async def test_a_company_opens_the_memo_filled_in(harness: Harness, typed: str, company: str) -> None:
    assert (await harness.driver.slash(typed, user_id=IS_USER)).status == 200
    (call,) = await harness.slack.wait_for("views.open")
    inputs = {b["block_id"]: b for b in call.args["view"]["blocks"] if b["type"] == "input"}
    assert inputs["company"]["element"]["initial_value"] == company  # as typed: full-width kept


async def test_a_read_acks_at_once_with_a_note_the_answer_replaces(harness: Harness) -> None:
    acked = (await harness.driver.slash("kpi", user_id=FS_USER)).json()
    assert acked is not None and acked["text"].startswith("⏳")
    (answer,) = await harness.slack.wait_for("response_url")
    assert answer.args["replace_original"] is True and "KPI" in answer.args["text"]


def test_every_sub_command_word_finds_its_command_and_typos_find_none() -> None:
    for word in sub_command_words():
        assert find_sub_command(word) is not None
        assert find_sub_command(word.upper()) is not None
    assert find_sub_command("exprot") is None
    assert nearest_sub_command("scorcard") == "scorecard"
    assert nearest_sub_command("zzzzzz") is None


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(word=st.text(min_size=1, max_size=30))
def test_lookups_never_fail_on_any_text(word: str) -> None:
    found = find_sub_command(word)
    assert found is None or word.lower() in sub_command_words()
    nearest = nearest_sub_command(word)
    assert nearest is None or nearest in sub_command_words()
