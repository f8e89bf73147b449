"""CSV export of the toss-ups (`/tossup export [from] [to]`, managers; `tossup export` on the CLI).

The slash command is answered at once (refused, how to name the days, or "on its way"); the request is
then queued in the outbox (`EXPORT_DM`, keyed by the command's trigger_id, so it is sent once) and the
delivery builds the file when it sends it: the toss-ups are read in chunks (`store.export`), each chunk
turned into CSV rows in a worker thread (`bot.export_csv`) and written to a temporary file, which is
uploaded into the manager's DM with files upload v2 (`Delivery.upload`, which looks for an earlier
attempt's file before uploading again). The CLI writes the same CSV to a file or standard output with
nothing but the database and app.yaml.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import AppConfig
from bot.domain.export import RangeProblem, export_period, parse_export_range
from bot.domain.kpi import Period, PeriodKind
from bot.export_csv import CsvWriter, ExportSheet
from bot.i18n import Lang
from modals.export import (
    build_export_failed,
    build_export_queued,
    build_export_refused,
    build_export_reversed,
    build_export_usage,
    export_file_comment,
    export_file_title,
)
from modals.messages import Message
from store.db import for_reading, make_engine, make_sessionmaker, migrate
from store.export import ExportRecord, export_records
from store.outbox import NewOutbox, OutboxItem, enqueue

if TYPE_CHECKING:
    from bot.delivery import Delivery
    from bot.services import Services

log = logging.getLogger(__name__)

EXPORT_DM = "export_dm"  # payload: ExportRequest.to_payload()
EXPORT_POST_KINDS = frozenset({EXPORT_DM})


@dataclass(frozen=True)
class ExportRequest:
    """Who asked for which days, in which language (the headers' and labels')."""

    user_id: str
    period: Period
    lang: Lang

    def to_payload(self) -> dict[str, str]:
        return {
            "user_id": self.user_id,
            "kind": self.period.kind.value,
            "start": self.period.start.isoformat(),
            "end": self.period.end.isoformat(),
            "first_day": self.period.first_day.isoformat(),
            "last_day": self.period.last_day.isoformat(),
            "lang": self.lang.value,
        }

    @classmethod
    def from_payload(cls, payload: dict) -> ExportRequest:
        period = Period(
            kind=PeriodKind(payload["kind"]),
            start=datetime.fromisoformat(payload["start"]),
            end=datetime.fromisoformat(payload["end"]),
            first_day=date.fromisoformat(payload["first_day"]),
            last_day=date.fromisoformat(payload["last_day"]),
        )
        return cls(user_id=str(payload["user_id"]), period=period, lang=Lang(payload["lang"]))


def plan_export(
    *, config: AppConfig, user_id: str, argument: str, now: datetime, lang: Lang
) -> Period | Message:
    """The days a manager's `/tossup export …` names, or the private answer instead (refused, or how to
    name days). Checked on the server: the role comes from app.yaml, never from the client."""
    if user_id not in config.roles.managers:
        return build_export_refused(lang=lang)
    period = parse_export_range(argument, now=now, tz=config.tz)
    if period is RangeProblem.REVERSED:
        return build_export_reversed(lang=lang)
    if isinstance(period, RangeProblem):
        return build_export_usage(lang=lang, typed=argument)
    return period


async def queue_export(
    sessions: async_sessionmaker[AsyncSession], *, request: ExportRequest, request_key: str, now: datetime
) -> None:
    """Queue the DM carrying the CSV; the same request (`request_key`: the command's trigger_id) twice
    is queued once."""
    post = NewOutbox(
        kind=EXPORT_DM,
        dedupe_key=f"{EXPORT_DM}:{request.user_id}:{request_key}",
        payload=request.to_payload(),
    )
    async with sessions() as session:
        await enqueue(session=session, messages=[post], handoff_id=None, now=now)


async def export_command(
    services: Services,
    *,
    answer: Callable[[Message], Awaitable[None]],
    user_id: str,
    argument: str,
    lang: Lang,
    request_key: str,
) -> None:
    """`/tossup export [from] [to]`: `answer` (the ack) at once — refused, how to name the days, or "on
    its way" — then, for a manager, the CSV queued and sent to their DM."""
    plan = plan_export(
        config=services.config, user_id=user_id, argument=argument, now=services.clock(), lang=lang
    )
    if not isinstance(plan, Period):
        await answer(plan)
        return
    await answer(build_export_queued(lang=lang, period=plan))
    request = ExportRequest(user_id=user_id, period=plan, lang=lang)
    await request_export(services.delivery, request=request, request_key=request_key, now=services.clock())


async def request_export(
    delivery: Delivery, *, request: ExportRequest, request_key: str, now: datetime
) -> None:
    """After the ack: queue the export and send it now (Slack refusing for a while: the delivery loop
    retries it)."""
    await queue_export(delivery.sessions, request=request, request_key=request_key, now=now)
    await delivery.deliver_exports()


def _write_chunk(writer: CsvWriter, sheet: ExportSheet, records: list[ExportRecord]) -> None:
    writer.write(sheet.row(record) for record in records)


async def write_export(
    sessions: async_sessionmaker[AsyncSession],
    config: AppConfig,
    *,
    period: Period,
    lang: Lang,
    out: BinaryIO,
    names: Callable[[set[str]], Awaitable[dict[str, str]]] | None = None,
) -> int:
    """Write the CSV of the toss-ups created in `period` to `out`; returns how many rows (toss-ups).

    The rows are read a chunk at a time and formatted in a worker thread, so neither memory nor the
    event loop carries the whole period at once. `names` looks up the full names of the people a chunk
    names that no earlier chunk did (people are shown by name and id; without it, by id).
    """
    sheet = ExportSheet(config, lang)
    writer = CsvWriter(out)
    await asyncio.to_thread(writer.write, [sheet.header()])
    count = 0
    asked: set[str] = set()
    async with for_reading(sessions)() as session:
        async for records in export_records(session=session, start=period.start, end=period.end):
            if names is not None:
                new = set().union(*(ExportSheet.people(record) for record in records)) - asked
                asked |= new
                sheet.names.update(await names(new) if new else {})
            await asyncio.to_thread(_write_chunk, writer, sheet, records)
            count += len(records)
    return count


def export_filename(period: Period, item_id: int) -> str:
    """Stable for one outbox row (the upload in doubt is found by it), distinct for each request."""
    return f"tossup-export-{period.first_day.isoformat()}_{period.last_day.isoformat()}-{item_id}.csv"


async def send_export_post(item: OutboxItem, *, delivery: Delivery) -> None:
    """Build the CSV the request names and upload it into the requester's DM."""
    request = ExportRequest.from_payload(item.payload)
    if request.user_id not in delivery.config.roles.managers:  # no longer a manager since asking
        log.warning("export for %s dropped: not a manager (any more)", request.user_id)
        return
    filename = export_filename(request.period, item.id)
    channel = await delivery.dm_channel(request.user_id)
    with tempfile.TemporaryDirectory(prefix="tossup-export-") as folder:
        path = Path(folder) / filename
        with path.open("wb") as out:
            count = await write_export(
                delivery.sessions,
                delivery.config,
                period=request.period,
                lang=request.lang,
                out=out,
                names=delivery.users.names,
            )
        log.info("export for %s: %d toss-ups, %d bytes", request.user_id, count, path.stat().st_size)
        await delivery.upload(
            channel=channel,
            thread_ts=None,
            filename=filename,
            content=path,
            title=export_file_title(lang=request.lang, period=request.period),
            initial_comment=export_file_comment(lang=request.lang, period=request.period, count=count),
        )


async def tell_export_failed(item: OutboxItem, *, delivery: Delivery, error: str) -> None:
    """The manager who asked must not wait for a file Slack refused for good: a DM says so."""
    try:
        request = ExportRequest.from_payload(item.payload)
        text, blocks = build_export_failed(lang=request.lang, period=request.period, error=error)
        await delivery.dm(request.user_id, text, blocks)
    except Exception as exc:  # best effort: the failure itself is logged by the delivery
        log.warning("could not tell the manager that export %s failed: %s", item.dedupe_key, exc)


async def export_from_cli(
    database_url: str,
    config: AppConfig,
    *,
    first: date | None,
    last: date | None,
    lang: Lang,
    out: BinaryIO,
    now: datetime,
) -> tuple[Period, int] | RangeProblem:
    """`tossup export --from D --to D`: the CSV of those days (this month without either, up to today
    without --to) written to `out`, with nothing but the database and app.yaml; the period and its
    number of toss-ups, or why the days name none."""
    period = export_period(first, last, now=now, tz=config.tz)
    if isinstance(period, RangeProblem):
        return period
    engine = make_engine(database_url)
    try:
        await migrate(engine)
        count = await write_export(make_sessionmaker(engine), config, period=period, lang=lang, out=out)
    finally:
        await engine.dispose()
    return period, count
