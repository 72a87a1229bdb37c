"""Record-style tables through SQLModel: records on the asyncpg pool, or an async session.

Data layer rule (docs/architecture.md). Tables of records that people and the API create,
read and change one at a time (alert rules and their versions, breaches and their timeline,
outbox rows; API keys, audit entries, launches and the like) are SQLModel classes mapping the
tables that the SQL migrations create: the class is the one definition of its row, the schema
stays in the migrations (never ``create_all``). The hot paths (intake, event logs, facts,
rollups) and set-based statements (sums over rollups) stay hand-written SQL on the asyncpg
pool. Statements over record tables run one of two ways, one per wing:

- **Records on the pool**, for a wing whose record statements run on a measured path (a loop
  every minute, an API with a benchmark; alerting): the tables are :class:`Record` classes
  and every statement over them is a :class:`Statement`, built with SQLAlchemy over the
  tables once, at import, and compiled to the SQL that the service's asyncpg pool runs, with
  the columns' own conversions (``TypeDecorator``) applied to parameters and results. Rows
  are read with :class:`Columns` (as table objects where code changes them, as the values an
  answer model validates where they are only shown); each change is written by the statement
  that names it: no session, no identity map, no flush. Statements whose exact SQL is the
  point (claiming a queue row with ``FOR UPDATE SKIP LOCKED``) are ``text()`` in a
  :class:`Statement`. A compiled statement costs what the hand-written one does on asyncpg
  (``tests/bench/bench_alerts.py``).
- **Sessions** (:class:`Records`: the SQLAlchemy asyncio engine on the asyncpg driver, from the
  service's ``database_url``), for wings whose record statements a person's request makes a
  few at a time (launches, calibration, keys and audit, retraining jobs); hand-written SQL
  that belongs to a session's transaction is ``text()`` in it (:func:`entities`). A statement
  through the session costs a few hundred microseconds of CPU more than on asyncpg (the same
  benchmark): nothing next to a person's request, too much per event or per evaluation.

A wing is on one way or the other, never both.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from typing import Any, ClassVar, Generic, Protocol, TypeVar

import asyncpg
import orjson
from pydantic.fields import FieldInfo
from sqlalchemy import (
    ClauseElement,
    Executable,
    Result,
    Table,
    TextClause,
    TypeDecorator,
    bindparam,
    insert,
)
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession as SqlAlchemySession
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from sqlalchemy.sql.compiler import SQLCompiler
from sqlmodel import SQLModel, select
from sqlmodel.ext.asyncio.session import AsyncSession

__all__ = [
    "AsyncSession",
    "Columns",
    "Record",
    "Records",
    "Row",
    "Statement",
    "entities",
    "execute",
    "inserting",
    "scalar",
    "sqlalchemy_url",
]

Model = TypeVar("Model", bound=SQLModel)
RecordModel = TypeVar("RecordModel", bound="Record")


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


# --- Records on the pool -------------------------------------------------------------------

_DIALECT = make_url("postgresql+asyncpg://").get_dialect()()
_Convert = Callable[[object], object]


class Row(Protocol):
    """A row as asyncpg answers it: its columns by position (or by name)."""

    def __getitem__(self, key: int | str, /) -> object: ...

    def __len__(self) -> int: ...


def _bind_conversion(type_: object) -> _Convert | None:
    if isinstance(type_, TypeDecorator) and (
        type(type_).process_bind_param is not TypeDecorator.process_bind_param
    ):
        decorator: TypeDecorator[object] = type_
        return lambda value: decorator.process_bind_param(value, _DIALECT)
    return None


def _result_conversion(type_: object) -> _Convert | None:
    if isinstance(type_, TypeDecorator) and (
        type(type_).process_result_value is not TypeDecorator.process_result_value
    ):
        decorator: TypeDecorator[object] = type_
        return lambda value: decorator.process_result_value(value, _DIALECT)
    return None


class Statement:
    """A statement over record tables, compiled once to the SQL the service's asyncpg pool
    runs (``$1``-style parameters, in the order of its named bound parameters). Build it at
    import, with ``bindparam`` for what changes between calls; literal values in it are
    bound as they were compiled. A column type's own conversion (``TypeDecorator``) is applied
    to the parameters bound to it; JSON goes through the pool's codecs. A list parameter is
    an array (``= ANY(:names)``): expanding ``IN`` lists cannot be compiled once."""

    def __init__(self, statement: ClauseElement) -> None:
        compiled = statement.compile(dialect=_DIALECT)
        assert isinstance(compiled, SQLCompiler)
        self.sql = compiled.string
        self._params: list[tuple[str, _Convert | None, bool, object]] = []
        for name in compiled.positiontup or ():
            bind = compiled.binds[name]
            if bind.expanding:
                raise ValueError(f"{name}: an expanding parameter is compiled per call")
            self._params.append(
                (bind.key, _bind_conversion(bind.type), bind.required, bind.effective_value)
            )

    def args(self, params: Mapping[str, object]) -> list[object]:
        """The positional arguments of the SQL, from ``params`` by name."""
        out: list[object] = []
        for name, convert, required, literal in self._params:
            value = params[name] if required or name in params else literal
            out.append(convert(value) if convert is not None and value is not None else value)
        return out

    async def fetch(
        self, conn: asyncpg.Connection, params: Mapping[str, object] | None = None
    ) -> list[Row]:
        rows: list[Row] = await conn.fetch(self.sql, *self.args(params or {}))
        return rows

    async def fetchrow(
        self, conn: asyncpg.Connection, params: Mapping[str, object] | None = None
    ) -> Row | None:
        row: Row | None = await conn.fetchrow(self.sql, *self.args(params or {}))
        return row

    async def fetchval(
        self, conn: asyncpg.Connection, params: Mapping[str, object] | None = None
    ) -> object:
        value: object = await conn.fetchval(self.sql, *self.args(params or {}))
        return value

    async def execute(
        self, conn: asyncpg.Connection, params: Mapping[str, object] | None = None
    ) -> None:
        await conn.execute(self.sql, *self.args(params or {}))

    async def executemany(
        self, conn: asyncpg.Connection, rows: Iterable[Mapping[str, object]]
    ) -> None:
        """The statement once per row of parameters (one round trip for all)."""
        args = [self.args(row) for row in rows]
        if len(args) == 1:
            await conn.execute(self.sql, *args[0])  # cheaper than a batch of one
        else:
            await conn.executemany(self.sql, args)


class Record(SQLModel):
    """A record table whose rows are read and written by :class:`Statement` on the pool,
    never through a session. Its objects are the table's rows as plain values: built without
    SQLAlchemy's attribute events (the SQLModel constructor of a table sets each field
    through them, which costs more than the statement that writes the row), and, like every
    SQLModel table, not validated (what is written was validated by the code that built it;
    what is read was valid when written). Fields left out take their defaults."""

    _defaults: ClassVar[dict[type[SQLModel], tuple[dict[str, object], dict[str, FieldInfo]]]] = {}

    def __init__(self, **data: object) -> None:
        values, factories = self._defaults_of(type(self))
        given = {**values, **data}
        for name, field in factories.items():
            if name not in data:
                given[name] = field.get_default(call_default_factory=True)
        self.__dict__.update(given)
        object.__setattr__(self, "__pydantic_fields_set__", set(data))
        object.__setattr__(self, "__pydantic_extra__", None)
        object.__setattr__(self, "__pydantic_private__", None)

    @staticmethod
    def _defaults_of(cls: type[SQLModel]) -> tuple[dict[str, object], dict[str, FieldInfo]]:
        found = Record._defaults.get(cls)
        if found is None:
            values: dict[str, object] = {}
            factories: dict[str, FieldInfo] = {}
            for name, field in cls.model_fields.items():
                if field.default_factory is not None:
                    factories[name] = field
                elif not field.is_required():
                    values[name] = field.default
            found = Record._defaults[cls] = (values, factories)
        return found

    def __setattr__(self, name: str, value: object) -> None:
        # No attribute events: nothing tracks the object, its statements write it.
        self.__dict__[name] = value
        self.__pydantic_fields_set__.add(name)


class Columns(Generic[RecordModel]):
    """Where a record table's columns are in the rows of a statement that selects them
    (``select(Model)``, ``select(A, B)`` joined, or ``select(*Columns(...).columns)``): from
    ``start``, in the table's order; ``end`` is where the next table's begin. Columns that
    ``omit`` some (what an answer does not show) read values, not table objects."""

    def __init__(
        self, model: type[RecordModel], start: int = 0, *, omit: Iterable[str] = ()
    ) -> None:
        table = getattr(model, "__table__", None)
        assert isinstance(table, Table), f"{model.__name__} is not a table"
        left_out = set(omit)
        self.model = model
        self.columns = [c for c in table.columns if c.key not in left_out]
        self.names = [c.key for c in self.columns]
        self.whole = not left_out
        self.start = start
        self.end = start + len(self.names)
        self._conversions = [
            (name, convert)
            for name, c in zip(self.names, self.columns, strict=True)
            if (convert := _result_conversion(c.type)) is not None
        ]

    def values(self, row: Row) -> dict[str, object]:
        """The row's values of the table by column name, converted as the columns say."""
        values = {name: row[self.start + i] for i, name in enumerate(self.names)}
        for name, convert in self._conversions:
            if values[name] is not None:
                values[name] = convert(values[name])
        return values

    def load(self, row: Row) -> RecordModel:
        """The table object of the row."""
        assert self.whole, "a table object is read from all its columns"
        return self.model(**self.values(row))

    def values_optional(self, row: Row) -> dict[str, object] | None:
        """The values, or None where an outer join found no row (its key is null)."""
        return None if row[self.start] is None else self.values(row)

    def load_optional(self, row: Row) -> RecordModel | None:
        """The table object, or None where an outer join found no row (its key is null)."""
        return None if row[self.start] is None else self.load(row)

    def load_all(self, rows: Sequence[Row]) -> list[RecordModel]:
        return [self.load(row) for row in rows]

    def params(self, obj: RecordModel, *, prefix: str = "") -> dict[str, object]:
        """The object's column values as a statement's parameters (``prefix`` + name)."""
        values = obj.__dict__
        return {prefix + name: values[name] for name in self.names}


def inserting(table: Table, generated: str) -> Statement:
    """The insert of one row of ``table``: every column but its ``generated`` key, each bound
    by its name (``Columns.params`` of a table object), returning that key."""
    values = {c.name: bindparam(c.name, type_=c.type) for c in table.columns if c.name != generated}
    return Statement(insert(table).values(values).returning(table.c[generated]))


def scalar(type_: object) -> _Convert:
    """How a single column's value is read: the conversion of its type, if it has one."""
    convert = _result_conversion(type_)
    return (lambda value: value) if convert is None else convert
