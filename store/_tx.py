"""Small helpers shared by the store modules."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, cast

from sqlalchemy import CursorResult, Result
from sqlalchemy.ext.asyncio import AsyncSession


@asynccontextmanager
async def own_transaction(session: AsyncSession) -> AsyncIterator[None]:
    """Commit what the block did, or roll it back on any error: the caller never holds a transaction."""
    try:
        yield
        await session.commit()
    except BaseException:
        await session.rollback()
        raise


def rowcount(result: Result[Any]) -> int:
    """Rows matched by an UPDATE/DELETE (the result of a DML `session.execute`)."""
    return int(cast(CursorResult[Any], result).rowcount)
