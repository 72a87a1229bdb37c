"""Record-style tables through SQLModel: an async session over the service's Postgres.

Data layer rule. Tables of records that people and the API create, read and change one at a
time (alert rules and their versions, breaches and their timeline, outbox rows; API keys,
audit entries and the like) are SQLModel classes mapping the tables that the SQL migrations
create, used through the sessions below: the SQLAlchemy asyncio engine on the asyncpg driver,
from the service's ``database_url``. The schema stays in the migrations (never
``create_all``). The hot paths (intake, event logs, facts, rollups), and statements that are
set-based or whose exact SQL is the point (sums over rollups, claiming a queue row with
``FOR UPDATE SKIP LOCKED``), stay hand-written SQL: on the asyncpg pool when they stand
alone, as ``text()`` in the session when they belong to its transaction (:func:`entities`).
A statement through the session costs a few hundred microseconds of CPU more than the same
one on asyncpg (measured by ``tests/bench/bench_alerts.py``), nothing next to a person's
request but too much per event.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from typing import Any, TypeVar

import orjson
from sqlalchemy import Executable, Result, TextClause
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession as SqlAlchemySession
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from sqlmodel import SQLModel, select
from sqlmodel.ext.asyncio.session import AsyncSession

__all__ = ["AsyncSession", "Records", "entities", "execute", "sqlalchemy_url"]

Model = TypeVar("Model", bound=SQLModel)


def sqlalchemy_url(database_url: str) -> str:
    """The service's ``postgresql://`` URL (asyncpg form) for SQLAlchemy's asyncpg driver;
    query parameters (``?host=/socket/dir``) pass to asyncpg as they are."""
    url = make_url(database_url).set(drivername="postgresql+asyncpg")
    return url.render_as_string(hide_password=False)


def _json(value: object) -> str:
    return orjson.dumps(value).decode()


@contextlib.asynccontextmanager
async def _closing(session: AsyncSession) -> AsyncIterator[AsyncSession]:
    # Closed in place: the session's own ``async with`` closes it in a task of its own, safe
    # from cancellation, and that task costs more than a short read. Here closing does no I/O
    # (a transaction has ended in ``begin()``'s block, reads run outside any), so there is
    # nothing a cancellation could interrupt.
    try:
        yield session
    finally:
        await session.close()


class Records:
    """One engine per process: a pool of at most ``max_size`` connections, opened on first
    use. JSON columns are read and written with orjson, as the asyncpg pool does."""

    def __init__(self, database_url: str, *, max_size: int = 10, timeout: float = 5.0) -> None:
        self.engine = create_async_engine(
            sqlalchemy_url(database_url),
            pool_size=max_size,
            max_overflow=0,
            json_serializer=_json,
            json_deserializer=orjson.loads,
            connect_args={"timeout": timeout, "command_timeout": 60},
        )
        self._writing = async_sessionmaker(self.engine, class_=AsyncSession, expire_on_commit=False)
        # Reads need no transaction: each statement sees what was committed when it began,
        # as on the asyncpg pool, without a BEGIN and a ROLLBACK around them.
        self._reading = async_sessionmaker(
            self.engine.execution_options(isolation_level="AUTOCOMMIT"),
            class_=AsyncSession,
            expire_on_commit=False,
        )

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session in one transaction: committed when the block ends, rolled back when it
        raises. Objects keep their values after the commit."""
        async with _closing(self._writing()) as session, session.begin():
            yield session

    @contextlib.asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session for several transactions in turn, each ``async with session.begin()``:
        for a loop of short transactions, without a session each."""
        async with _closing(self._writing()) as session:
            yield session

    @contextlib.asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncSession]:
        """A session for reads, outside any transaction."""
        async with _closing(self._reading()) as session:
            yield session

    async def close(self) -> None:
        await self.engine.dispose()


async def execute(
    session: AsyncSession, statement: Executable, params: Mapping[str, object] | None = None
) -> Result[*tuple[Any, ...]]:
    """SQLAlchemy's own ``execute()``, for statements that SQLModel's ``exec()`` does not
    type (hand-written SQL mapped to models: ``select(Model).from_statement(text(...))``);
    SQLModel marks it as deprecated for the selects it does type."""
    return await SqlAlchemySession.execute(session, statement, dict(params or {}))


async def entities(
    session: AsyncSession,
    model: type[Model],
    sql: TextClause,
    params: Mapping[str, object] | None = None,
) -> list[Model]:
    """Rows of ``model`` selected by hand-written SQL (every column of its table), as objects
    of the session: what the caller changes on them is written by the session's next flush."""
    result = await execute(session, select(model).from_statement(sql), params)
    rows = list(result.scalars())
    if not all(isinstance(row, model) for row in rows):
        raise TypeError(f"the statement did not select {model.__name__} rows")
    return rows
