"""Engine, sessions and migrations. SQLite (aiosqlite) by default; PostgreSQL (asyncpg) in production."""

from __future__ import annotations

import asyncio
import functools
import json
import os
import re
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import event, inspect, text
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from store.defaults import DEFAULT_DATABASE_URL

if TYPE_CHECKING:
    from alembic.config import Config

# Alembic (with Mako, and Pygments when installed) costs ~0.15 s to import: it is imported only when a
# migration runs, not by every start of a process whose schema is already at head.

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

SQLITE_BUSY_TIMEOUT_MS = 10_000

# Drivers the store is written for; a bare scheme gets the async driver.
_ASYNC_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
}


def normalize_url(url: str | URL) -> URL:
    """`sqlite:///x.db` → `sqlite+aiosqlite:///x.db`, `postgres://…` → `postgresql+asyncpg://…`."""
    parsed = make_url(url)
    driver = _ASYNC_DRIVERS.get(parsed.drivername)
    if driver is not None:
        parsed = parsed.set(drivername=driver)
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise ValueError(f"unsupported database {parsed.get_backend_name()!r}: use sqlite or postgresql")
    return parsed


def json_dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)  # Japanese stays readable in the database


def _sqlite_file(url: URL) -> Path | None:
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def missing_sqlite_file(url: str | URL) -> Path | None:
    """The SQLite file the URL names when it does not exist (connecting would create it), else None
    (it exists, it is in memory, or the database is not SQLite)."""
    parsed = normalize_url(url)
    file = _sqlite_file(parsed) if parsed.get_backend_name() == "sqlite" else None
    if file is None:
        return None
    file = file.absolute()
    return None if file.exists() else file


class DatabaseLocationError(OSError):
    """The SQLite file cannot be created or written where the URL puts it (`path`, and why)."""

    def __init__(
        self, path: Path, reason: str, fix: str = "make its directory writable for this user"
    ) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason
        self.fix = fix


def _check_sqlite_location(file: Path) -> None:
    """Create the file's directory and make sure it is writable, before any connection: SQLite's own
    "unable to open database file" names no path, and a failed aiosqlite connect can leave its worker
    thread printing a traceback at exit. WAL needs the directory writable too (-wal and -shm files)."""
    path = file.absolute()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        blocker = next((p for p in path.parents if p.exists()), None)
        if blocker is not None and not blocker.is_dir():
            raise DatabaseLocationError(
                path, f"{blocker} is a file, not a directory", fix=f"move {blocker} out of the way"
            ) from exc
        raise DatabaseLocationError(
            path,
            f"cannot create its directory ({exc.strerror or exc})",
            fix=f"create {path.parent} for this user",
        ) from exc
    if not os.access(path.parent, os.W_OK | os.X_OK):
        raise DatabaseLocationError(path, f"the directory {path.parent} is read-only for this user")
    if path.exists() and not os.access(path, os.R_OK | os.W_OK):
        raise DatabaseLocationError(
            path,
            "the file is read-only for this user",
            fix="make the file readable and writable for this user",
        )


# Connections kept open per process. SQLAlchemy's default of 5 is below what ten requests in flight on two
# replicas use at once: the overflow connections beyond it were opened and closed for each burst, and a
# PostgreSQL connection costs a server process (bench.load, /tossup at 10 in flight: ~8 % of the bot's time
# in connecting). As many again may open under a peak; a replica holds at most 20 of the server's 100.
POSTGRES_POOL_SIZE = 10


def make_engine(url: str | URL = DEFAULT_DATABASE_URL, *, read_only: bool = False) -> AsyncEngine:
    """An async engine for `url`, configured for the backend.

    SQLite: the database file's directory is created, and every connection gets foreign keys on, WAL
    journaling (readers don't block the writer) and a busy timeout (writers wait instead of failing).
    A SQLite file is written through ONE connection per process: sessions queue for it in order instead
    of several connections fighting over SQLite's single write lock, whose busy-wait sleeps made a
    submission wait up to seconds under load. `read_only`: the engine of `make_read_engine`.
    PostgreSQL: connections are checked before use, so a restarted server does not break the bot.
    """
    parsed = normalize_url(url)
    if parsed.get_backend_name() == "postgresql":
        return create_async_engine(
            parsed,
            pool_pre_ping=True,
            pool_size=POSTGRES_POOL_SIZE,
            max_overflow=POSTGRES_POOL_SIZE,
            json_serializer=json_dumps,
        )

    file = _sqlite_file(parsed)
    if file is not None:
        _check_sqlite_location(file)
    one_writer = {} if file is None or read_only else {"pool_size": 1, "max_overflow": 0, "pool_timeout": 60}
    engine = create_async_engine(parsed, json_serializer=json_dumps, pool_reset_on_return=None, **one_writer)

    @event.listens_for(engine.sync_engine, "reset")
    def _on_reset(dbapi_connection: Any, _record: Any, state: Any) -> None:
        # A connection back in the pool is rolled back only when it is inside a transaction: most come
        # back with theirs ended (a session's commit, store.one_trip), and the pool's unconditional
        # rollback was one more trip to aiosqlite's thread for each (two of a submission's four).
        # Not from the garbage collector (no event loop to await on: SQLAlchemy's own reset skips it
        # too), nor for a driver connection already closed.
        driver = dbapi_connection.driver_connection
        if not state.asyncio_safe or driver is None or driver._connection is None:
            return
        if driver.in_transaction:
            dbapi_connection.rollback()

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            if file is not None:
                cursor.execute("PRAGMA journal_mode=WAL")
            if read_only:
                cursor.execute("PRAGMA query_only=ON")
        finally:
            cursor.close()

    return engine


def make_read_engine(url: str | URL = DEFAULT_DATABASE_URL) -> AsyncEngine | None:
    """SQLite file: an engine of read-only connections for long reads (reports, App Home, digests), which
    WAL lets run beside the one writer instead of queueing in front of it. None where the main engine
    serves reads as well (PostgreSQL; an in-memory SQLite, which only its own connection sees)."""
    parsed = normalize_url(url)
    if parsed.get_backend_name() != "sqlite" or _sqlite_file(parsed) is None:
        return None
    return make_engine(parsed, read_only=True)


class Sessions(async_sessionmaker[AsyncSession]):
    """Sessions of the database, and `reads`: sessions for long reads that never write."""

    reads: async_sessionmaker[AsyncSession]


def make_sessionmaker(engine: AsyncEngine, read_engine: AsyncEngine | None = None) -> Sessions:
    sessions = Sessions(engine, expire_on_commit=False)
    sessions.reads = async_sessionmaker(read_engine, expire_on_commit=False) if read_engine else sessions
    return sessions


def for_reading(sessions: async_sessionmaker[AsyncSession]) -> async_sessionmaker[AsyncSession]:
    """The sessions a long read should use: `sessions.reads` when there are such, else `sessions`."""
    return getattr(sessions, "reads", sessions)


def alembic_config() -> Config:
    """Alembic's configuration built in code: works from an installed package and from any directory."""
    from alembic.config import Config

    config = Config()
    # configparser interpolation: a literal % in the path must be doubled.
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    return config


# Alembic keeps its running context in module globals: two upgrades interleaved in one process (same
# event loop or not) would trample each other, so they take turns. Across processes, env.py locks.
_process_migration_lock = threading.Lock()


def _upgrade(connection: Connection, config: Config) -> None:
    from alembic import command

    config.attributes["connection"] = connection
    command.upgrade(config, "head")


async def migrate(engine: AsyncEngine) -> None:
    """Bring the schema to the newest revision; a no-op when it is already there.

    Runs in one transaction. Concurrent callers (two replicas starting at once) are serialized by
    `migrations/env.py`: a transaction-scoped advisory lock on PostgreSQL, `BEGIN IMMEDIATE` on SQLite.
    A schema already at the newest revision is seen with one read, before any lock or Alembic run (most
    starts: no write lock on a database other replicas are using, and no migration scripts executed).
    """
    if await current_revision(engine) == head_revision():
        return
    # Poll rather than block: the other upgrade may run on this very event loop; and unlike a thread
    # waiting in lock.acquire(), a cancelled poll cannot leave the lock taken.
    while not _process_migration_lock.acquire(blocking=False):  # noqa: ASYNC110
        await asyncio.sleep(0.01)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_upgrade, alembic_config())
    finally:
        _process_migration_lock.release()


_REVISION_LINE = re.compile(r'^(revision|down_revision)\b[^=]*=\s*(?:"([^"]*)"|None)\s*$', re.MULTILINE)


@functools.cache
def head_revision() -> str | None:
    """The newest migration's revision, read once per process from the scripts' `revision` and
    `down_revision` lines (the one revision no other revises); Alembic reads them when that is not one.
    tests/test_store.py checks the answer against Alembic's."""
    revises: dict[str, str | None] = {}
    for script in (MIGRATIONS_DIR / "versions").glob("*.py"):
        lines = dict(
            (name, value or None) for name, value in _REVISION_LINE.findall(script.read_text("utf-8"))
        )
        if lines.get("revision"):
            revises[lines["revision"]] = lines.get("down_revision")
    heads = set(revises) - set(revises.values())
    if len(heads) == 1:
        return heads.pop()
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


VERSION_TABLE = "alembic_version"


def _schema_revision(connection: Connection) -> str | None:
    if not inspect(connection).has_table(VERSION_TABLE):
        return None
    return connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()


async def current_revision(engine: AsyncEngine) -> str | None:
    """The revision the database's schema is at (None: never migrated)."""
    async with engine.connect() as connection:
        return await connection.run_sync(_schema_revision)


async def dry_run_migrations(engine: AsyncEngine) -> tuple[str | None, str | None]:
    """Run the upgrade `migrate` would run, then roll it back: (the schema's revision, the newest one).

    For `tossup check`: proves the database is reachable and the migrations go through, changing nothing.
    """
    config = alembic_config()
    head = head_revision()
    async with engine.connect() as connection:
        transaction = await connection.begin()
        try:
            current = await connection.run_sync(_schema_revision)
            if current != head:  # up to date: take no write lock on a database the bot may be using
                await connection.run_sync(_upgrade, config)
        finally:
            await transaction.rollback()
    return current, head
