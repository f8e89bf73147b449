"""Alembic environment of the toss-up store.

`store.db.migrate` passes an open connection (inside a transaction) in `config.attributes["connection"]`;
the `alembic` command line builds its own engine from `sqlalchemy.url`, `TOSSUP_DATABASE_URL` or
`DATABASE_URL`. Either way the whole upgrade runs in one transaction that first takes a lock, so two
processes migrating at once run one after the other and the second finds nothing left to do.
"""

from __future__ import annotations

import asyncio
import os
from logging.config import fileConfig

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection

import store.diagnosis_models  # registers the diagnoses table on Base.metadata
import store.issue_models  # registers the collaboration-issue table on Base.metadata
import store.routing_models  # noqa: F401  (registers the routing tables on Base.metadata)
from store.db import make_engine, normalize_url
from store.defaults import DEFAULT_DATABASE_URL
from store.models import Base

config = context.config
target_metadata = Base.metadata

if config.config_file_name is not None and "connection" not in config.attributes:
    fileConfig(config.config_file_name, disable_existing_loggers=False)  # the command line only

# Key of the PostgreSQL advisory lock serializing migrations ("tossup" in ASCII, fits a bigint).
MIGRATION_LOCK_KEY = 0x746F73737570


def _database_url() -> str:
    return (
        config.get_main_option("sqlalchemy.url")
        or os.environ.get("TOSSUP_DATABASE_URL")
        or os.environ.get("DATABASE_URL")
        or DEFAULT_DATABASE_URL
    )


def _serialize_migrations(connection: Connection) -> None:
    """Take a lock held until the migration transaction ends, before alembic reads the schema version."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
    elif connection.dialect.name == "sqlite":
        # pysqlite/aiosqlite open no transaction for DDL or reads; take the write lock now so the upgrade
        # is atomic and a concurrent migrator waits (busy_timeout) instead of racing.
        driver = connection.connection.driver_connection
        if not getattr(driver, "in_transaction", False):
            connection.exec_driver_sql("BEGIN IMMEDIATE")


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )


def do_run_migrations(connection: Connection) -> None:
    _serialize_migrations(connection)
    _configure(connection)
    with context.begin_transaction():
        context.run_migrations()


async def _run_with_own_engine() -> None:
    engine = make_engine(_database_url())
    try:
        async with engine.begin() as connection:
            await connection.run_sync(do_run_migrations)
    finally:
        await engine.dispose()


def run_migrations_offline() -> None:
    url = normalize_url(_database_url())
    context.configure(
        url=url,
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        render_as_batch=url.get_backend_name() == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        do_run_migrations(connection)
    else:
        asyncio.run(_run_with_own_engine())


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
