"""Database fixtures: every store test runs on SQLite and on PostgreSQL.

Import into a test module (or conftest.py) with `from tests.db_fixtures import *  # noqa: F403`.

- `session_factory` (params "sqlite", "postgresql"): an `async_sessionmaker` on a migrated, empty
  database. SQLite: a copy under tmp_path of one file migrated per test process. PostgreSQL: one
  database per test session (`tossup_test_<random>`, created on the server of `TOSSUP_TEST_POSTGRES_URL`,
  dropped at the end), migrated once and emptied (TRUNCATE … RESTART IDENTITY CASCADE) before each test.
- `database_url` (params "sqlite", "postgresql"): the URL of a fresh migrated database of its own,
  for end-to-end tests that build their own engine; dropped after the test.
- `fresh_database(kind, tmp_path)` / `drop_database(url)`: the same as plain functions.

PostgreSQL unreachable: the test is skipped, except when the environment variable CI is set, where it
fails, so CI never silently skips the PostgreSQL half.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import secrets
import shutil
import tempfile
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from store.db import make_engine, make_sessionmaker, migrate
from store.models import Base

__all__ = [
    "BACKENDS",
    "database_url",
    "drop_database",
    "fresh_database",
    "postgres_test_url",
    "session_factory",
    "truncate_all",
]

T = TypeVar("T")

BACKENDS = ("sqlite", "postgresql")
POSTGRES_URL_ENV = "TOSSUP_TEST_POSTGRES_URL"
DEFAULT_TEST_POSTGRES_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
DATABASE_PREFIX = "tossup_test_"
CONNECT_TIMEOUT_S = 5.0

# Databases created by fresh_database and not dropped yet; dropped at exit as a last resort.
_undropped: set[str] = set()
_undropped_lock = threading.Lock()


def postgres_server_url() -> URL:
    return make_url(os.environ.get(POSTGRES_URL_ENV) or DEFAULT_TEST_POSTGRES_URL).set(
        drivername="postgresql+asyncpg"
    )


POSTGRES_UNREACHABLE = "PostgreSQL not reachable"


def unreachable_postgres(url: URL, reason: BaseException) -> NoReturn:
    message = (
        f"{POSTGRES_UNREACHABLE} at {url.render_as_string(hide_password=True)}: "
        f"{type(reason).__name__}: {reason} (set {POSTGRES_URL_ENV} to point at a server)"
    )
    if os.environ.get("CI"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


async def _admin_connection(url: URL) -> asyncpg.Connection:
    try:
        return await asyncpg.connect(
            host=url.host or "127.0.0.1",
            port=url.port or 5432,
            user=url.username,
            password=url.password,
            database=url.database,
            timeout=CONNECT_TIMEOUT_S,
        )
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        unreachable_postgres(url, exc)


async def _create_postgres_database(template: str | None = None) -> str:
    server = postgres_server_url()
    name = f"{DATABASE_PREFIX}{secrets.token_hex(6)}"
    connection = await _admin_connection(server)
    try:
        copy_of = f' TEMPLATE "{template}"' if template else ""
        await connection.execute(f'CREATE DATABASE "{name}"{copy_of}')
    finally:
        await connection.close()
    url = server.set(database=name).render_as_string(hide_password=False)
    with _undropped_lock:
        _undropped.add(url)
    return url


async def drop_database(url: str) -> None:
    """Drop a PostgreSQL database made by `fresh_database` (SQLite files live in tmp_path: nothing).

    A migrated one goes back to this process's pool instead: the next test gets it emptied."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        return
    name = parsed.database or ""
    if not name.startswith(DATABASE_PREFIX):
        raise ValueError(f"refusing to drop {name!r}: not a test database")
    connection = await _admin_connection(postgres_server_url())
    try:
        # Whatever the test left connected (a killed bot process, a pool not disposed) lets go now.
        await connection.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = $1 AND pid <> pg_backend_pid()",
            name,
        )
        if url in _pooled:
            _free_postgres.append(url)
            return
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
    finally:
        await connection.close()
    with _undropped_lock:
        _undropped.discard(url)


# Migrated PostgreSQL databases of this test process: a test takes a free one, emptied of every row (ids
# restarted), and gives it back at drop_database. CREATE DATABASE … TEMPLATE costs the server ~0.3 s and
# DROP DATABASE ~0.1 s; TRUNCATE of every table a few ms.
_pooled: set[str] = set()
_free_postgres: list[str] = []


async def _pooled_postgres_database() -> str:
    if not _free_postgres:
        url = await _create_postgres_database(template=await _migrated_postgres_template())
        _pooled.add(url)
        return url
    url = _free_postgres.pop()
    connection = await _admin_connection(make_url(url))
    try:
        names = await connection.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
        )
        tables = ", ".join(f'"{row["tablename"]}"' for row in names)
        await connection.execute(f"TRUNCATE TABLE {tables} RESTART IDENTITY CASCADE")
    finally:
        await connection.close()
    return url


_sqlite_template: Path | None = None  # this process's migrated SQLite file, copied for each test


async def _migrated_sqlite_template() -> Path:
    """A SQLite file migrated to head once per test process (the start-up migration itself is tested
    from an empty database elsewhere: tests/test_store.py, tests/test_cli.py)."""
    global _sqlite_template
    if _sqlite_template is None:
        file = Path(tempfile.mkdtemp(prefix="tossup-template-")) / "template.db"
        engine = make_engine(f"sqlite+aiosqlite:///{file}")
        try:
            await migrate(engine)
            async with engine.connect() as connection:  # everything in the main file, nothing in the WAL
                await connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            await engine.dispose()
        atexit.register(shutil.rmtree, file.parent, True)
        _sqlite_template = file
    return _sqlite_template


_postgres_template: str | None = None  # this process's migrated PostgreSQL database, copied for each test


async def _migrated_postgres_template() -> str:
    """A PostgreSQL database migrated to head once per test process; nothing stays connected to it, so
    CREATE DATABASE … TEMPLATE can copy it (dropped at exit with the other test databases)."""
    global _postgres_template
    if _postgres_template is None:
        url = await _create_postgres_database()
        engine = make_engine(url)
        try:
            await migrate(engine)
        finally:
            await engine.dispose()
        _postgres_template = make_url(url).database
    return _postgres_template or ""


async def fresh_database(kind: str, tmp_path: Path | None, *, migrated: bool = True) -> str:
    """The URL of a new, empty database of `kind` ("sqlite" or "postgresql"), migrated by default.

    SQLite: a new file under `tmp_path`. PostgreSQL: a new database on the test server; drop it with
    `drop_database` (leftovers are dropped at interpreter exit).
    """
    if kind == "sqlite":
        if tmp_path is None:
            raise ValueError("sqlite needs tmp_path")
        file = tmp_path / f"tossup-{secrets.token_hex(4)}.db"
        if migrated:  # a copy of one migrated file: the same schema, without running every migration again
            shutil.copyfile(await _migrated_sqlite_template(), file)
            return f"sqlite+aiosqlite:///{file}"
        url = f"sqlite+aiosqlite:///{file}"
    elif kind == "postgresql":
        if migrated:  # one of this process's migrated databases, emptied (at first a copy of the template)
            return await _pooled_postgres_database()
        url = await _create_postgres_database()
    else:
        raise ValueError(f"unknown database kind {kind!r}; use one of {BACKENDS}")
    if migrated:
        engine = make_engine(url)
        try:
            await migrate(engine)
        finally:
            await engine.dispose()
    return url


async def truncate_all(engine: AsyncEngine) -> None:
    """Empty every store table (and restart ids) on PostgreSQL; delete all rows on SQLite."""
    tables = list(reversed(Base.metadata.sorted_tables))
    async with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            names = ", ".join(f'"{table.name}"' for table in tables)
            await connection.execute(text(f"TRUNCATE TABLE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                await connection.execute(table.delete())


def run_in_thread(factory: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine on a private event loop in its own thread.

    Works whether or not the calling thread runs a loop (session fixtures may be set up from inside an
    async fixture), and keeps asyncpg connections off the tests' loops.
    """
    outcome: dict[str, Any] = {}

    async def main() -> T:
        return await factory()

    def target() -> None:
        try:
            outcome["value"] = asyncio.run(main())
        except BaseException as exc:  # re-raised in the caller, including pytest's skip/fail
            outcome["error"] = exc

    thread = threading.Thread(target=target, name="db-fixture")
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


@atexit.register
def _drop_leftovers() -> None:
    with _undropped_lock:
        leftovers = list(_undropped)
    for url in leftovers:
        try:
            run_in_thread(lambda url=url: drop_database(url))
        except BaseException:  # best effort at exit
            pass


@pytest.fixture(scope="session")
def postgres_test_url() -> Iterator[str]:
    """One migrated PostgreSQL database for the whole test session."""
    url = run_in_thread(lambda: fresh_database("postgresql", None))
    try:
        yield url
    finally:
        run_in_thread(lambda: drop_database(url))


@pytest.fixture(params=BACKENDS)
async def session_factory(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions on a migrated, empty database; the engine is `session_factory.kw["bind"]`."""
    if request.param == "sqlite":
        engine = make_engine(await fresh_database("sqlite", tmp_path))
    else:
        engine = make_engine(request.getfixturevalue("postgres_test_url"))
        await truncate_all(engine)
    try:
        yield make_sessionmaker(engine)
    finally:
        await engine.dispose()


@pytest.fixture(params=BACKENDS)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """The URL of a migrated database of the test's own (not shared with other tests)."""
    url = await fresh_database(request.param, tmp_path)
    try:
        yield url
    finally:
        await drop_database(url)
