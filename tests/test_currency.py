"""The team's currency (`currency` in app.yaml, ISO 4217, JPY by default): every won amount a person sees
is in it — the outcome form's label, the notice, IS's DM, /tossup kpi and App Home, the monthly review,
the scorecards and the CSV header. An English team in dollars saw "¥45,000" everywhere before."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from bot.config import AppConfig
from bot.domain.monthly import KpiKey, KpiLine, MonthlySection
from bot.domain.outcome import Outcome
from bot.domain.scorecard import build_scorecards
from bot.export_csv import ExportSheet
from bot.i18n import Lang
from modals.feedback import build_outcome_dm, build_outcome_modal
from modals.kpi import build_kpi_report
from modals.metadata import HandoffActionMeta
from modals.monthly import build_review_section
from modals.notice import build_notice
from modals.scorecard import build_scorecard
from modals.text import currency_name, format_money
from tests.conftest import team_config
from tests.test_kpi_blocks import NOVEMBER, TEAM, TOKYO, fields
from tests.test_modals import sample_handoff
from tests.test_monthly_review import november
from tests.test_scorecard_domain import FACTS, RULES

WON = Outcome.won(45_000, date(2026, 12, 10))


def shown(blocks: list) -> str:
    return str([block.to_dict() for block in blocks])


@pytest.mark.parametrize(
    ("amount", "lang", "currency", "text"),
    [
        (3_000_000, Lang.JA, "JPY", "3,000,000円"),
        (3_000_000, Lang.EN, "JPY", "¥3,000,000"),
        (45_000, Lang.EN, "USD", "$45,000"),
        (45_000, Lang.JA, "USD", "$45,000"),
        (45_000, Lang.EN, "EUR", "€45,000"),
        (45_000, Lang.EN, "CHF", "45,000 CHF"),
    ],
)
def test_amounts_are_written_in_the_teams_currency(amount: int, lang: Lang, currency: str, text: str) -> None:
    assert format_money(amount, lang, currency) == text


def test_the_currency_in_a_label() -> None:
    assert (currency_name(Lang.JA, "JPY"), currency_name(Lang.EN, "JPY")) == ("円", "yen")
    assert currency_name(Lang.EN, "USD") == currency_name(Lang.JA, "USD") == "USD"


def test_app_yaml_takes_an_iso_code_and_names_the_key_otherwise() -> None:
    assert team_config().currency == "JPY"
    assert team_config(currency="usd").currency == "USD"
    with pytest.raises(ValueError, match=r"currency[\s\S]*three-letter ISO 4217 code, like JPY, USD or EUR"):
        team_config(currency="dollars")


USD = team_config(locale="en", currency="USD")


def test_the_outcome_form_notice_and_dm_of_a_dollar_team() -> None:
    handoff = sample_handoff()
    meta = HandoffActionMeta(handoff_id=handoff.id, lang=Lang.EN)
    modal = build_outcome_modal(handoff=handoff, lang=Lang.EN, meta=meta, currency=USD.currency).to_dict()
    assert "Amount (USD)" in str(modal) and "yen" not in str(modal)
    _, notice = build_notice(handoff=handoff, lang=Lang.EN, tz=TOKYO, config=USD, outcome=WON)
    assert "$45,000" in shown(notice) and "¥" not in shown(notice)
    text, dm = build_outcome_dm(
        handoff=handoff, outcome=WON, lang=Lang.EN, recorded_by="U0FS", currency=USD.currency
    )
    assert "$45,000" in text + shown(dm) and "¥" not in text + shown(dm)


def test_kpis_monthly_review_and_scorecards_of_a_dollar_team() -> None:
    _, blocks = build_kpi_report(period=NOVEMBER, team=TEAM, lang=Lang.EN, tz=TOKYO, currency="USD")
    assert fields(blocks)["Won amount"] == "$3,000,000"
    review = november(kpis=[KpiLine(key=KpiKey.WON_AMOUNT, current=45_000, previous=30_000)], currency="USD")
    _, section = build_review_section(
        review, MonthlySection.KPIS, lang=Lang.EN, tz=TOKYO, workspace_url=None, config=USD
    )
    assert "$45,000" in shown(section) and "+$15,000" in shown(section) and "¥" not in shown(section)
    cards = build_scorecards(FACTS, replace(RULES, currency="USD"))
    card = next(card for card in cards.values() if card.as_fs is not None)
    _, dm = build_scorecard(card, lang=Lang.EN, tz=TOKYO)
    assert "$" in shown(dm) and "¥" not in shown(dm)


@pytest.mark.parametrize(("config", "header"), [(USD, "Amount won (USD)"), (team_config(), "受注金額（円）")])
def test_the_csv_header_names_the_currency(config: AppConfig, header: str) -> None:
    sheet = ExportSheet(config, config.locale)
    assert header in [column.header for column in sheet.columns]
