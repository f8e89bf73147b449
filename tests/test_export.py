"""CSV export: the days `/tossup export` reads, cells made safe, the CSV parsed back against seeded toss-ups
(SQLite and PostgreSQL), a manager's DM upload over the wire (once), a non-manager refused, and the CLI.

Seeded (November 2026, Tokyo):
#  company                      IS   FS   memo                         decided         feedback / outcome
A  株式会社サンプル              IS1  FS1  Japanese texts, segment      accepted +4h    sheet + IS rating, won
B  =HYPERLINK("http://x","y")   IS1  FS2  comma, quotes, line breaks   returned +2h    –
C  株式会社サンプル              IS2  FS1  same created_at as D          pending         –
D  株式会社サンプル              IS2  FS1  same created_at as C          pending         –
Outside: one in October, one in December.
"""

from __future__ import annotations

import asyncio
import csv
import io
import subprocess
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import AppConfig
from bot.domain.criteria import CriteriaEvaluation, CriteriaMode, CriterionResult
from bot.domain.export import FORMULA_STARTS, RangeProblem, guard_cell, parse_export_range
from bot.domain.handoff import EventKind, HandoffStatus, ReturnReason
from bot.domain.kpi import Period, PeriodKind
from bot.domain.outcome import Outcome
from bot.domain.score import ScoreBreakdown, ScoreItem, ScoreItemKey
from bot.export import write_export
from bot.export_csv import ExportSheet
from bot.i18n import Lang, t
from store.db import make_engine, make_sessionmaker
from store.export import ExportRecord, export_records
from store.feedback import save_feedback, save_is_rating, save_outcome
from store.handoffs import NewHandoff, create_handoff, decide_handoff
from store.models import OutboxMessage
from tests.cli_process import run_cli
from tests.conftest import FS_USER, MANAGER, Harness, team_config
from tests.db_fixtures import BACKENDS, drop_database, fresh_database
from tests.test_store import make_memo
from tests.test_tossup_flow import eventually

Factory = async_sessionmaker[AsyncSession]
TOKYO = ZoneInfo("Asia/Tokyo")
NOW = datetime(2026, 11, 18, 3, 0, tzinfo=UTC)  # 2026-11-18 12:00 in Tokyo
NOVEMBER = parse_export_range("2026-11-01 2026-11-30", now=NOW, tz=TOKYO)
assert isinstance(NOVEMBER, Period)
FORMULA_COMPANY = '=HYPERLINK("http://x","y")'
MESSY_NOTE = 'Two lines, a comma,\nand "quotes"\r\nthird'
SEGMENT = {
    "key": "segment",
    "label": {"ja": "セグメント", "en": "Segment"},
    "options": [
        {"value": "enterprise", "label": {"ja": "大企業", "en": "Enterprise"}},
        {"value": "smb", "label": {"ja": "中小企業", "en": "SMB"}},
    ],
}
SHEET = {
    "result": "progress",
    "bant_accuracy": 4,
    "issue_depth": 3,
    "memo_completeness": 5,
    "overall": 4,
    "good": "決裁プロセスが明確で助かった",
    "improve": "競合の比較軸も知りたい",
    "next_info": "利用人数",
}


def export_config(**overrides: object) -> AppConfig:
    return team_config(roles={"managers": [MANAGER]}, memo={"custom_selects": [SEGMENT]}, **overrides)


@pytest.fixture
def config() -> AppConfig:
    return export_config()


def score(**points: int) -> ScoreBreakdown:
    return ScoreBreakdown(items=tuple(ScoreItem(ScoreItemKey(k), v, 20) for k, v in points.items()))


async def seed(factory: Factory) -> dict[str, int]:
    """The table in the module docstring; the ids by letter."""
    ids: dict[str, int] = {}

    async def toss_up(letter: str, created: datetime, **fields: object) -> int:
        memo_fields = dict(fields.pop("memo", {}))  # type: ignore[call-overload]
        memo = make_memo(str(memo_fields.pop("company", "株式会社サンプル"))).model_copy(update=memo_fields)
        data = NewHandoff(
            submission_key=f"V-{letter}",
            team_id="T0001",
            is_user_id=str(fields.get("is_user", "UIS0001")),
            fs_user_id=str(fields.get("fs_user", "UFS0001")),
            channel_id="CFS0001",
            memo=memo,
            lang="ja",
            criteria=fields.get("criteria"),  # type: ignore[arg-type]
            override_reason=fields.get("override"),  # type: ignore[arg-type]
            score=fields.get("score"),  # type: ignore[arg-type]
        )
        async with factory() as session:
            ids[letter] = (await create_handoff(session=session, data=data, now=created)).handoff.id
        return ids[letter]

    await toss_up("OCT", datetime(2026, 10, 31, 14, 59, tzinfo=UTC))  # 23:59 on Oct 31 in Tokyo
    created_a = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)
    criteria_a = CriteriaEvaluation(
        results=(
            CriterionResult("budget", "budget_status", True),
            CriterionResult(
                "need", "need", False, "criteria.reason.too_short", {"length": 8, "min_length": 10}
            ),
        ),
        mode=CriteriaMode.WARN,
    )
    a = await toss_up(
        "A",
        created_a,
        memo={"custom": {"segment": "enterprise"}, "competitors": "A社と比較中、価格重視"},
        criteria=criteria_a,
        override="来週の決裁会議に間に合わせたい",
        score=score(bant=20, issue=10),
    )
    async with factory() as session:
        await decide_handoff(
            session=session,
            handoff_id=a,
            actor_id="UFS0001",
            decision=EventKind.ACCEPTED,
            now=created_a + timedelta(hours=4),
        )
    async with factory() as session:
        await save_feedback(
            session=session,
            handoff_id=a,
            rater_id="UFS0001",
            sheet=SHEET,
            score=score(bant=20, issue=10, fs_rating=24).to_json(),
            score_total=54,
            now=created_a + timedelta(days=3),
        )
    async with factory() as session:
        await save_is_rating(
            session=session,
            handoff_id=a,
            rater_id="UIS0001",
            rating={"follow_through": 5, "comment": "迅速な報告ありがとう"},
            now=created_a + timedelta(days=4),
        )
    async with factory() as session:
        await save_outcome(
            session=session,
            handoff_id=a,
            recorded_by="UFS0001",
            kind="won",
            outcome=Outcome.won(3_000_000, date(2026, 12, 15)).model_dump(mode="json"),
            now=created_a + timedelta(days=20),
        )

    created_b = datetime(2026, 11, 10, 1, 0, tzinfo=UTC)
    b = await toss_up(
        "B",
        created_b,
        fs_user="UFS0002",
        memo={"company": FORMULA_COMPANY, "other_notes": MESSY_NOTE, "contact_phone": "+81 3-1234-5678"},
    )
    async with factory() as session:
        await decide_handoff(
            session=session,
            handoff_id=b,
            actor_id="UFS0002",
            decision=EventKind.RETURNED,
            now=created_b + timedelta(hours=2),
            reason=ReturnReason.TOO_EARLY,
            note="@everyone 半年後に",
        )
    same_time = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)
    await toss_up("C", same_time, is_user="UIS0002")
    await toss_up("D", same_time, is_user="UIS0002")
    await toss_up("DEC", datetime(2026, 11, 30, 15, 0, tzinfo=UTC))  # Dec 1, 00:00 in Tokyo
    return ids


def parse(data: bytes) -> list[dict[str, str]]:
    """The CSV as a spreadsheet reads it: BOM first, UTF-8, RFC 4180."""
    assert data.startswith("\ufeff".encode())
    text = data.decode("utf-8-sig")
    assert "\r\n" in text
    return list(csv.DictReader(io.StringIO(text, newline="")))


def column(lang: Lang, key: str, **params: object) -> str:
    return t(lang, f"export.column.{key}", **params)


def zoned(lang: Lang, label: str) -> str:
    return t(lang, "export.column.with_zone", label=label, zone="Asia/Tokyo")


# ---------------------------------------------------------------- the days typed


def test_the_days_typed() -> None:
    def days(text: str) -> tuple[date, date] | RangeProblem:
        period = parse_export_range(text, now=NOW, tz=TOKYO)
        return period if isinstance(period, RangeProblem) else (period.first_day, period.last_day)

    assert days("") == (date(2026, 11, 1), date(2026, 11, 30))
    assert days("2026-11-03 2026-11-05") == (date(2026, 11, 3), date(2026, 11, 5))
    assert days("２０２６/１１/０３　〜　２０２６/１１/０５") == (date(2026, 11, 3), date(2026, 11, 5))
    assert days("2026-11-03..2026-11-05") == (date(2026, 11, 3), date(2026, 11, 5))
    assert days("2026-11-03") == (date(2026, 11, 3), date(2026, 11, 18))  # to today
    assert days("先月") == (date(2026, 10, 1), date(2026, 10, 31))
    assert days("2026-09") == (date(2026, 9, 1), date(2026, 9, 30))
    assert days("2026-11-05 2026-11-03") is RangeProblem.REVERSED
    assert days("2026-11-19") is RangeProblem.REVERSED  # from tomorrow to today
    for nonsense in ("yesterday-ish", "2026-02-30", "2026-11-01 2026-11-02 2026-11-03", "1999-01-01"):
        assert days(nonsense) is RangeProblem.UNREADABLE, nonsense
    period = parse_export_range("2026-11-03", now=NOW, tz=TOKYO)
    assert isinstance(period, Period)
    assert period.start == datetime(2026, 11, 2, 15, 0, tzinfo=UTC)  # Tokyo midnight
    assert period.end == datetime(2026, 11, 18, 15, 0, tzinfo=UTC)


@given(st.text(max_size=60))
def test_any_text_is_days_or_a_reason(text: str) -> None:
    period = parse_export_range(text, now=NOW, tz=TOKYO)
    if isinstance(period, Period):
        assert period.start < period.end and period.first_day <= period.last_day
    else:
        assert period in (RangeProblem.UNREADABLE, RangeProblem.REVERSED)


@given(
    st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31)),
    st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31)),
    st.sampled_from([" ", "  ", "..", " ~ ", "〜", "\u3000"]),
)
def test_two_days_are_those_days_in_order_or_reversed(first: date, last: date, between: str) -> None:
    period = parse_export_range(f"{first.isoformat()}{between}{last.isoformat()}", now=NOW, tz=TOKYO)
    if first > last:
        assert period is RangeProblem.REVERSED
        return
    assert isinstance(period, Period) and period.kind is PeriodKind.RANGE
    assert (period.first_day, period.last_day) == (first, last)
    assert period.start.astimezone(TOKYO).date() == first
    assert period.end.astimezone(TOKYO).date() == last + timedelta(days=1)


@given(st.text(max_size=30))
def test_a_guarded_cell_never_starts_a_formula(text: str) -> None:
    guarded = guard_cell(text)
    assert guarded in (text, f"'{text}")
    assert not guarded.startswith(FORMULA_STARTS)


# ---------------------------------------------------------------- the CSV, parsed back


@pytest.mark.parametrize("lang", [Lang.JA, Lang.EN])
async def test_the_csv_parsed_back_is_the_seeded_data(session_factory: Factory, lang: Lang) -> None:
    ids = await seed(session_factory)
    out = io.BytesIO()
    count = await write_export(session_factory, export_config(), period=NOVEMBER, lang=lang, out=out)
    rows = parse(out.getvalue())
    assert count == len(rows) == 4
    header = next(csv.reader(io.StringIO(out.getvalue().decode("utf-8-sig"))))
    assert len(set(header)) == len(header)  # every column findable by its name
    number = column(lang, "id")
    assert [int(r[number]) for r in rows] == [ids[k] for k in "ABCD"]  # oldest first; October/December out
    a, b, c, _ = rows

    # every memo field, under its catalog label, in the reader's language
    memo = make_memo()
    label = lambda field: t(lang, f"memo.field.{field}.label")  # noqa: E731
    assert a[label("company")] == "株式会社サンプル"
    assert a[label("contact_name")] == "山田 太郎" and a[label("contact_title")] == "情報システム部 部長"
    assert a[label("need")] == memo.need and a[label("current_issue")] == "Excel運用が限界"
    assert a[label("competitors")] == "A社と比較中、価格重視"
    assert a[label("budget_status")] == t(lang, "budget_status.planned")
    assert a[label("timeline")] == t(lang, "timeline.3_to_6m")
    assert a[zoned(lang, label("meeting_at"))] == "2025-12-01 14:30"
    assert a[label("first_contact_on")] == "2025-11-10"
    assert a[label("handoff_call_wanted")] == t(lang, "common.yes")
    assert a[label("contact_email")] == "yamada@example.co.jp"
    assert a["セグメント" if lang is Lang.JA else "Segment"] == (
        "大企業" if lang is Lang.JA else "Enterprise"
    )
    assert c["セグメント" if lang is Lang.JA else "Segment"] == ""

    # criteria, score, decision, feedback, IS rating, outcome
    assert a[column(lang, "criteria_passed")] == t(lang, "common.no")
    budget = column(lang, "criterion", name=t(lang, "criteria.name.budget"))
    need = column(lang, "criterion", name=t(lang, "criteria.name.need"))
    assert a[budget] == t(lang, "export.value.met")
    reason = t(lang, "criteria.reason.too_short", length=8, min_length=10)
    assert a[need] == t(lang, "export.value.not_met", reason=reason)
    assert c[budget] == ""  # not evaluated
    assert a[column(lang, "override_reason")] == "来週の決裁会議に間に合わせたい"
    assert a[column(lang, "score_total")] == "54"  # rated: of 100
    assert c[column(lang, "score_total")] == ""  # not rated yet: its memo score (of 70) has its own column
    item = lambda key: column(lang, "score_item", item=t(lang, f"score.item.{key}"))  # noqa: E731
    assert (a[item("bant")], a[item("issue")], a[item("fs_rating")], a[item("competitors")]) == (
        "20",
        "10",
        "24",
        "",
    )
    assert a[column(lang, "status")] == t(lang, "status.accepted")
    assert a[zoned(lang, column(lang, "created_at"))] == "2026-11-02 10:00"
    assert a[zoned(lang, column(lang, "decided_at"))] == "2026-11-02 14:00"
    assert a[column(lang, "hours_to_decide")] == "4.0"
    assert a[column(lang, "decided_by")] == "UFS0001"
    feedback = lambda name: column(lang, "feedback_item", item=t(lang, f"feedback.field.{name}.label"))  # noqa: E731
    assert a[feedback("result")] == t(lang, "feedback.result.progress")
    assert [a[feedback(n)] for n in ("bant_accuracy", "issue_depth", "memo_completeness", "overall")] == [
        "4",
        "3",
        "5",
        "4",
    ]
    assert (a[feedback("good")], a[feedback("improve")], a[feedback("next_info")]) == (
        SHEET["good"],
        SHEET["improve"],
        SHEET["next_info"],
    )
    assert a[column(lang, "feedback_by")] == "UFS0001"
    assert (a[column(lang, "is_rating")], a[column(lang, "is_comment")]) == ("5", "迅速な報告ありがとう")
    assert a[column(lang, "outcome")] == t(lang, "feedback.outcome.kind.won")
    yen = column(lang, "amount", currency=t(lang, "format.currency.jpy"))  # "受注金額（円）"
    assert (a[yen], a[column(lang, "closed_on")]) == ("3000000", "2026-12-15")
    assert (
        c[column(lang, "outcome")]
        == c[feedback("result")]
        == c[zoned(lang, column(lang, "decided_at"))]
        == ""
    )

    # what a spreadsheet would run is shown instead; commas, quotes and line breaks survive
    assert b[label("company")] == "'" + FORMULA_COMPANY
    assert b[label("contact_phone")] == "'+81 3-1234-5678"
    assert b[column(lang, "return_note")] == "'@everyone 半年後に"
    assert b[label("other_notes")] == MESSY_NOTE
    assert b[column(lang, "status")] == t(lang, "status.returned")
    assert b[column(lang, "return_reason")] == t(lang, "return_reason.too_early")
    assert b[column(lang, "fs_user")] == "UFS0002"


async def test_the_raw_bytes_quote_as_rfc_4180_says(session_factory: Factory) -> None:
    await seed(session_factory)
    out = io.BytesIO()
    await write_export(session_factory, export_config(), period=NOVEMBER, lang=Lang.EN, out=out)
    text = out.getvalue().decode("utf-8")
    assert text.startswith("\ufeffToss-up #,Status,")
    assert '"\'=HYPERLINK(""http://x"",""y"")"' in text  # quoted, its quotes doubled, and guarded
    assert '"Two lines, a comma,\nand ""quotes""\r\nthird"' in text


async def test_records_stream_in_chunks_oldest_first_across_equal_times(session_factory: Factory) -> None:
    ids = await seed(session_factory)
    async with session_factory() as session:
        chunks = [
            [record.id for record in chunk]
            async for chunk in export_records(
                session=session, start=NOVEMBER.start, end=NOVEMBER.end, chunk=1
            )
        ]
    assert chunks == [[ids["A"]], [ids["B"]], [ids["C"]], [ids["D"]]]  # C and D share created_at


# ---------------------------------------------------------------- over the wire


async def seed_harness(h: Harness) -> dict[str, int]:
    return await seed(h.bot.services.sessions)


async def export_row_done(h: Harness) -> OutboxMessage:
    """The export's outbox row once it is marked sent (just after Slack took the file)."""
    for _ in range(100):
        async with h.bot.services.sessions() as session:
            query = select(OutboxMessage).where(OutboxMessage.kind == "export_dm")
            (row,) = (await session.scalars(query)).all()
        if row.done_at is not None:
            return row
        await asyncio.sleep(0.05)
    raise AssertionError("the export was never marked sent")


async def export_over_the_wire(h: Harness, text: str, *, user: str = MANAGER) -> dict:
    response = await h.driver.slash(text, user_id=user)
    assert response.status == 200
    acked = response.json()
    assert acked is not None and acked["response_type"] == "ephemeral", acked
    return acked


@pytest.mark.parametrize("backend", BACKENDS)
async def test_a_manager_gets_the_csv_by_dm_once(harness: Harness) -> None:
    h = harness
    ids = await seed_harness(h)
    acked = await export_over_the_wire(h, "エクスポート 2026-11-01 2026-11-30")
    assert acked["text"].startswith("📤") and "2026-11-01" in acked["text"]  # the manager reads Japanese

    (complete,) = await h.slack.wait_for("files.completeUploadExternal")
    assert complete.args["channel_id"] == f"D{MANAGER}"  # their DM, nowhere else
    days = {"first": "2026-11-01", "last": "2026-11-30"}
    assert complete.args["initial_comment"] == t(Lang.JA, "export.file_comment", count=4, **days)
    (record,) = h.slack.files.values()
    assert record["filename"].startswith("tossup-export-2026-11-01_2026-11-30-")
    rows = parse(record["data"])
    assert [int(r["トスアップ番号"]) for r in rows] == [ids[k] for k in "ABCD"]
    assert rows[1][t(Lang.JA, "memo.field.company.label")] == "'" + FORMULA_COMPANY

    row = await export_row_done(h)
    assert row.handoff_id is None
    assert await h.bot.delivery.drain() == 0  # nothing left to send
    await h.slack.assert_no_more("files.completeUploadExternal", count=1)


async def test_the_csv_from_slack_names_people_with_their_ids(harness: Harness) -> None:
    """Sent by Slack, the export shows each person as "Name (id)", one users.info per person however many
    rows name them; someone Slack does not know stays an id (the command line, without Slack, shows ids)."""
    h = harness
    h.slack.users.update({"UIS0001": {"real_name": "井上 花子"}, "UFS0001": {"real_name": "Fiona Field"}})
    await seed_harness(h)
    await export_over_the_wire(h, "export 2026-11-01 2026-11-30")
    await h.slack.wait_for("files.completeUploadExternal")
    (record,) = h.slack.files.values()
    rows = parse(record["data"])
    a = rows[0]
    assert a[column(Lang.JA, "is_user")] == "井上 花子 (UIS0001)"
    assert a[column(Lang.JA, "decided_by")] == "Fiona Field (UFS0001)"
    assert a[column(Lang.JA, "feedback_by")] == "Fiona Field (UFS0001)"
    assert rows[1][column(Lang.JA, "fs_user")] == "UFS0002"  # not a user the fake Slack knows
    looked_up = [c.args["user"] for c in h.slack.calls_to("users.info", ok_only=False)]
    assert all(looked_up.count(user) == 1 for user in ("UIS0001", "UFS0001", "UIS0002", "UFS0002")), looked_up


def test_a_person_is_their_name_and_id_when_the_name_is_known() -> None:
    sheet = ExportSheet(team_config(), Lang.EN, names={"U0A": "Ann <Lee>"})
    assert sheet.person("U0A") == "Ann <Lee> (U0A)"
    assert sheet.person("U0B") == "U0B"
    assert sheet.person(None) is None
    # the memo's own "FS rep" field (who IS picked) is a person like every other person column
    at = datetime(2026, 11, 2, tzinfo=UTC)
    fields = {name: None for name in ExportRecord.__dataclass_fields__}
    memo = {"company": "Acme", "fs_user_id": "U0A"}
    known = {"id": 1, "created_at": at, "status": HandoffStatus.PENDING, "is_user_id": "U0B", "memo": memo}
    record = ExportRecord(**{**fields, **known})
    assert ExportSheet.people(record) == {"U0A", "U0B"}
    picked = sheet.header().index(t(Lang.EN, "memo.field.fs_user_id.label"))
    assert sheet.row(record)[picked] == "Ann <Lee> (U0A)"


async def test_an_upload_in_doubt_is_found_in_the_dm_not_sent_again(harness: Harness) -> None:
    h = harness
    await seed_harness(h)
    await export_over_the_wire(h, "export 2026-11")
    await h.slack.wait_for("files.completeUploadExternal")
    await export_row_done(h)
    # The worker died after Slack took the file, before it recorded so: the row is due again, in doubt.
    async with h.bot.services.sessions() as session:
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.kind == "export_dm")
            .values(done_at=None, in_doubt=True, lease_owner=None, lease_until=None)
        )
        await session.commit()
    assert await h.bot.delivery.deliver_exports() == 1
    await h.slack.assert_no_more("files.completeUploadExternal", count=1)
    assert len(h.slack.files) == 1


async def test_slack_refusing_for_a_while_delays_the_csv_but_sends_it_once(harness: Harness) -> None:
    h = harness
    await seed_harness(h)
    h.slack.fail_next("files.getUploadURLExternal", status=500)
    await export_over_the_wire(h, "export")

    async def refused() -> bool:
        return bool(h.slack.calls_to("files.getUploadURLExternal", ok_only=False))

    await eventually(refused)  # the attempt Slack refuses, made by the command's work after its ack …
    assert await h.bot.app.finish_running(10)
    await h.bot.delivery.wait_idle()  # … with its failure recorded (not a guessed quiet time)
    await h.slack.assert_no_more("files.completeUploadExternal", count=0, settle=0.1)
    h.clock.advance(minutes=10)
    assert await h.bot.delivery.deliver_exports() == 1
    await h.slack.assert_no_more("files.completeUploadExternal", count=1)


async def test_a_file_slack_refuses_for_good_is_reported_to_the_manager(harness: Harness) -> None:
    """Slack refusing the upload for good (not a passing outage): the export is given up, once, and the
    manager who asked is told by DM in their language, instead of waiting for a file that never comes."""
    h = harness
    await seed_harness(h)
    h.slack.error_next("files.getUploadURLExternal", "restricted_action")
    await export_over_the_wire(h, "export 2026-11-01 2026-11-30")
    (told,) = await h.slack.wait_for(
        "chat.postMessage", where=lambda c: c.args["channel"] == f"D{MANAGER}" and "⚠️" in c.args["text"]
    )
    days = {"first": "2026-11-01", "last": "2026-11-30"}
    assert told.args["text"] == t(Lang.JA, "export.failed", error="restricted_action", **days)
    async with h.bot.services.sessions() as session:
        (row,) = (await session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "export_dm"))).all()
    assert row.given_up_at is not None and "restricted_action" in (row.last_error or "")
    assert await h.bot.delivery.deliver_exports() == 0  # nothing retried
    await h.slack.assert_no_more("files.completeUploadExternal", count=0)


async def test_someone_not_a_manager_is_refused_privately(harness: Harness) -> None:
    h = harness
    await seed_harness(h)
    acked = await export_over_the_wire(h, "export 2026-11-01 2026-11-30", user=FS_USER)
    assert acked["text"] == t(Lang.EN, "export.refused")  # FS reads English
    await h.slack.assert_no_more("files.getUploadURLExternal", count=0)
    async with h.bot.services.sessions() as session:
        assert not (
            await session.scalars(select(OutboxMessage.id).where(OutboxMessage.kind == "export_dm"))
        ).all()


@pytest.mark.parametrize(
    ("typed", "key"),
    [
        ("export 2026-13-01", "export.usage"),
        ("export next-year", "export.usage"),
        ("export 2026-11-30 2026-11-01", "export.reversed"),
    ],
)
async def test_bad_days_get_a_clear_private_answer(harness: Harness, typed: str, key: str) -> None:
    acked = await export_over_the_wire(harness, typed)
    assert acked["text"].splitlines()[0] == t(Lang.JA, key, typed=typed.split(" ", 1)[1]).splitlines()[0]
    await harness.slack.assert_no_more("files.getUploadURLExternal", count=0)


async def test_help_lists_export(harness: Harness) -> None:
    for user in (MANAGER, FS_USER):
        answer = (await harness.driver.slash("help", user_id=user)).json()
        assert answer is not None and "/tossup export" in answer["text"]


# ---------------------------------------------------------------- the CLI


def run_export(
    *args: str, database_url: str, config_path: Path, cwd: Path
) -> subprocess.CompletedProcess[bytes]:
    env = {"DATABASE_URL": database_url, "TOSSUP_CONFIG": str(config_path)}  # no Slack tokens
    return run_cli("export", *args, env=env, cwd=cwd, timeout=120, text=False)


@pytest.fixture
async def seeded_database(tmp_path: Path) -> tuple[str, Path]:
    url = await fresh_database("sqlite", tmp_path)
    engine = make_engine(url)
    try:
        await seed(make_sessionmaker(engine))
    finally:
        await engine.dispose()
    config_path = tmp_path / "app.yaml"
    config_path.write_text(
        "locale: ja\ntimezone: Asia/Tokyo\nchannels:\n  fs: C0FSCHAN\nmemo:\n  custom_selects:\n"
        "    - key: segment\n      label: {ja: セグメント, en: Segment}\n      options:\n"
        "        - {value: enterprise, label: {ja: 大企業, en: Enterprise}}\n",
        encoding="utf-8",
    )
    yield url, config_path
    await drop_database(url)


async def test_the_cli_writes_the_csv_to_standard_output(
    seeded_database: tuple[str, Path], tmp_path: Path
) -> None:
    url, config_path = seeded_database
    result = run_export(
        "--from", "2026-11-01", "--to", "2026-11-30", database_url=url, config_path=config_path, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr.decode()
    rows = parse(result.stdout)
    assert len(rows) == 4 and rows[0]["セグメント"] == "大企業"  # app.yaml's language
    assert rows[1][t(Lang.JA, "memo.field.company.label")] == "'" + FORMULA_COMPANY
    assert b"4" in result.stderr and b"Traceback" not in result.stderr


async def test_the_cli_writes_the_csv_to_a_file_in_english(
    seeded_database: tuple[str, Path], tmp_path: Path
) -> None:
    url, config_path = seeded_database
    out = tmp_path / "export.csv"
    result = run_export(
        "--from",
        "2026-11-10",
        "--to",
        "2026-11-30",
        "--out",
        str(out),
        "--lang",
        "en",
        database_url=url,
        config_path=config_path,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout == b""
    rows = parse(out.read_bytes())
    assert [r["Company"] for r in rows] == ["'" + FORMULA_COMPANY, "株式会社サンプル", "株式会社サンプル"]
    assert rows[0]["Other notes"] == MESSY_NOTE

    reversed_days = run_export(
        "--from", "2026-11-30", "--to", "2026-11-01", database_url=url, config_path=config_path, cwd=tmp_path
    )
    assert reversed_days.returncode == 2 and b"--from comes after --to" in reversed_days.stderr
    nowhere = tmp_path / "no-such-dir" / "export.csv"
    unwritable = run_export("--out", str(nowhere), database_url=url, config_path=config_path, cwd=tmp_path)
    assert unwritable.returncode == 2 and b"Traceback" not in unwritable.stderr
    (line,) = unwritable.stderr.decode().splitlines()
    assert line.startswith(f"tossup: --out {nowhere}: No such file or directory: name a file"), line
