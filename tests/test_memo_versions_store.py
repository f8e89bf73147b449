"""Migration 0008 and the duplicate lookup: company keys backfilled for toss-ups stored before it, on
SQLite and PostgreSQL, and the lookup read through the (company_key, created_at) index, not a scan."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, text

from bot.domain.handoff import HandoffStatus
from store.db import alembic_config, make_engine, make_sessionmaker, migrate
from store.handoffs import find_open_duplicate
from tests.db_fixtures import BACKENDS, drop_database, fresh_database

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def _upgrade_to(connection: Connection, config: Config, revision: str) -> None:
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


@pytest.mark.parametrize("kind", BACKENDS)
async def test_0008_backfills_the_company_key_of_earlier_toss_ups(kind: str, tmp_path: Path) -> None:
    url = await fresh_database(kind, tmp_path, migrated=False)
    engine = make_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_upgrade_to, alembic_config(), "0007")
        async with engine.begin() as connection:
            for number, company in enumerate(("株式会社Acme", "ＡＣＭＥ Inc.", "Globex Corp"), start=1):
                await connection.execute(
                    text(
                        "INSERT INTO handoffs (submission_key, team_id, is_user_id, channel_id, status,"
                        " company, memo, lang, created_at, version)"
                        " VALUES (:key, 'T1', 'U1', 'C1', 'pending', :company, :memo, 'ja', :at, 1)"
                    ),
                    {
                        "key": f"V{number}",
                        "company": company,
                        "memo": f'{{"company": "{company}"}}',
                        "at": (NOW - timedelta(days=number)).replace(tzinfo=None)
                        if kind == "sqlite"
                        else NOW - timedelta(days=number),
                    },
                )
        await migrate(engine)
        async with engine.connect() as connection:
            keys = (
                (await connection.execute(text("SELECT company_key FROM handoffs ORDER BY id")))
                .scalars()
                .all()
            )
            edits = (await connection.execute(text("SELECT edit_count FROM handoffs"))).scalars().all()
        assert keys == ["acme", "acme", "globex"]
        assert edits == [0, 0, 0]
        async with make_sessionmaker(engine)() as session:
            found = await find_open_duplicate(session=session, key="acme", since=NOW - timedelta(days=90))
        assert found is not None and found.id == 1 and found.status is HandoffStatus.PENDING
    finally:
        await engine.dispose()
        await drop_database(url)


async def test_the_duplicate_lookup_reads_the_company_key_index(tmp_path: Path) -> None:
    url = await fresh_database("sqlite", tmp_path)
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            plan = (
                await connection.execute(
                    text(
                        "EXPLAIN QUERY PLAN SELECT id FROM handoffs WHERE company_key = 'acme'"
                        " AND created_at >= '2026-09-01' AND status != 'returned'"
                        " ORDER BY created_at DESC LIMIT 1"
                    )
                )
            ).all()
        details = " ".join(str(row[-1]) for row in plan)
        assert "ix_handoffs_company_key_created_at" in details and "SCAN handoffs" not in details
    finally:
        await engine.dispose()
        await drop_database(url)
