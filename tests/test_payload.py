"""modals.payload renders every message the bot posts exactly as slack_sdk would (its validators aside):
the notice in each state, the DMs, the weekly agenda, the monthly review and the scorecards."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

import pytest
from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    Option,
    RichTextBlock,
    RichTextElementParts,
    RichTextSectionElement,
    StaticSelectElement,
)

from bot.domain.handoff import HandoffStatus, ReturnReason
from bot.domain.monthly import MonthlySection
from bot.domain.outcome import Outcome
from bot.i18n import Lang
from modals.feedback import build_feedback_request, build_outcome_dm
from modals.messages import Message, build_decision_dm, build_is_confirmation, build_question_message
from modals.monthly import build_review_section
from modals.notice import build_notice
from modals.payload import as_payload
from modals.scorecard import build_scorecard
from tests.conftest import team_config
from tests.test_agenda_blocks import TOKYO, all_messages, huge_agenda, small_agenda
from tests.test_modals import EVIL, sample_handoff
from tests.test_monthly_review import november
from tests.test_scorecard_blocks import CARDS

CONFIG = team_config(criteria={"mode": "warn"})
OUTCOMES = [None, Outcome.won(45_000, date(2026, 12, 10)), Outcome.lost("chose a rival", date(2026, 12, 10))]


def messages(lang: Lang) -> list[Message]:
    found: list[Message] = []
    for status in HandoffStatus:
        for company in ("Acme", EVIL):
            handoff = replace(
                sample_handoff(status, company=company),
                decided_by="U0FS",
                return_reason=ReturnReason.BANT_INCOMPLETE if status is HandoffStatus.RETURNED else None,
            )
            for outcome in OUTCOMES:
                found.append(
                    build_notice(handoff=handoff, lang=lang, tz=TOKYO, config=CONFIG, outcome=outcome)
                )
            found.append(build_is_confirmation(handoff=handoff, lang=lang, permalink="https://x.slack.com/a"))
            found.append(build_is_confirmation(handoff=handoff, lang=lang, permalink=None))
            found.append(build_decision_dm(handoff=handoff, lang=lang, tz=TOKYO))
            found.append(build_question_message(handoff=handoff, lang=lang, asker_id="U0FS", question=EVIL))
            found.append(build_feedback_request(handoff=handoff, lang=lang, tz=TOKYO))
            for outcome in OUTCOMES[1:]:
                found.append(
                    build_outcome_dm(
                        handoff=handoff, outcome=outcome, lang=lang, recorded_by="U0FS", currency="USD"
                    )
                )
    for agenda in (small_agenda(), huge_agenda(200)):
        found += all_messages(agenda, lang)
    for section in MonthlySection:
        found.append(
            build_review_section(november(), section, lang=lang, tz=TOKYO, workspace_url=None, config=CONFIG)
        )
    found += [build_scorecard(card, lang=lang, tz=TOKYO) for card in CARDS.values()]
    return found


@pytest.mark.parametrize("lang", list(Lang))
def test_every_message_renders_as_slack_sdk_renders_it(lang: Lang) -> None:
    for _, blocks in messages(lang):
        assert as_payload(blocks) == [block.to_dict() for block in blocks]


def test_objects_with_a_rendering_of_their_own_and_the_empty_lists_slack_allows() -> None:
    option = Option(value="a", label="A")
    blocks: list[Any] = [
        ActionsBlock(
            elements=[
                StaticSelectElement(action_id="pick", options=[option], initial_option=option),
                ButtonElement(
                    text="Go",
                    action_id="go",
                    confirm=ConfirmObject(title="Sure?", text="Really", confirm="Yes", deny="No"),
                ),
            ]
        ),
        RichTextBlock(elements=[RichTextSectionElement(elements=[])]),  # an empty section Slack accepts
        RichTextBlock(  # a style is no JsonObject but renders itself
            elements=[
                RichTextSectionElement(
                    elements=[
                        RichTextElementParts.Text(text="x", style=RichTextElementParts.TextStyle(bold=True))
                    ]
                )
            ]
        ),
        ContextBlock(elements=[], block_id="x"),  # an empty list that is left out
        {"type": "divider"},  # already JSON
    ]
    rendered = as_payload(blocks)
    assert rendered[:3] == [block.to_dict() for block in blocks[:3]]
    assert rendered[3:] == [{"type": "context", "block_id": "x"}, {"type": "divider"}]
