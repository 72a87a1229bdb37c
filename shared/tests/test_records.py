"""Records: SQLModel sessions over the service's Postgres, beside its asyncpg pool; and
records on the pool, through statements compiled once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import ClassVar

import asyncpg
import pytest
from sqlalchemy import (
    ARRAY,
    BigInteger,
    Column,
    DateTime,
    Dialect,
    String,
    TypeDecorator,
    any_,
    bindparam,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel, col, select

from pp_shared.db import create_pool
from pp_shared.records import (
    Columns,
    Record,
    Records,
    Statement,
    entities,
    inserting,
    sqlalchemy_url,
)

AT = datetime(2026, 11, 20, 10, tzinfo=UTC)


class Note(SQLModel, table=True):
    __tablename__: ClassVar[str] = "records_test_notes"

    note_id: int | None = Field(default=None, primary_key=True)
    body: dict[str, int] = Field(sa_column=Column(JSONB(), nullable=False))
    at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


@pytest.fixture
async def records(database_url: str) -> Records:
    pool = await create_pool(database_url)
    try:
        # The schema is the migrations' (here, this statement), never create_all.
        await pool.execute(
            "CREATE TABLE records_test_notes"
            " (note_id bigserial PRIMARY KEY, body jsonb NOT NULL, at timestamptz NOT NULL)"
        )
    finally:
        await pool.close()
    return Records(database_url, max_size=2)


class TestUrl:
    def test_the_asyncpg_url_of_the_service_names_the_driver(self) -> None:
        assert sqlalchemy_url("postgresql://u:p%40ss@db:5432/x") == (
            "postgresql+asyncpg://u:p%40ss@db:5432/x"
        )
        assert sqlalchemy_url("postgresql://postgres:@/postgres?host=/tmp/pg") == (
            "postgresql+asyncpg://postgres:@/postgres?host=%2Ftmp%2Fpg"
        )


class TestSessions:
    async def add_then_fail(self, records: Records) -> None:
        async with records.transaction() as session:
            session.add(Note(body={"a": 2}, at=AT))
            await session.flush()
            raise RuntimeError("rolled back")

    async def test_a_transaction_commits_or_rolls_back_whole(self, records: Records) -> None:
        try:
            async with records.transaction() as session:
                session.add(Note(body={"a": 1}, at=AT))
            with pytest.raises(RuntimeError):
                await self.add_then_fail(records)
            async with records.reading() as session:
                notes = (await session.exec(select(Note).order_by(col(Note.note_id)))).all()
        finally:
            await records.close()
        assert [(n.body, n.at) for n in notes] == [({"a": 1}, AT)]

    async def test_hand_written_sql_answers_table_objects(self, records: Records) -> None:
        try:
            async with records.transaction() as session:
                session.add_all([Note(body={"n": n}, at=AT) for n in range(3)])
            async with records.transaction() as session:
                sql = text("SELECT * FROM records_test_notes WHERE body->>'n' = :n FOR UPDATE")
                (note,) = await entities(session, Note, sql, {"n": "1"})
                note.body = {"n": 10}  # a session object: its change is written at commit
            async with records.reading() as session:
                bodies = (await session.exec(select(col(Note.body)))).all()
        finally:
            await records.close()
        assert sorted(b["n"] for b in bodies) == [0, 2, 10]


class Stamp(TypeDecorator[str]):
    """A column conversion: stored with a prefix, read without it."""

    impl = String
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else f"stamp:{value}"

    def process_result_value(self, value: object, dialect: Dialect) -> str | None:
        return None if value is None else str(value).removeprefix("stamp:")


class Entry(Record, table=True):
    __tablename__: ClassVar[str] = "records_test_entries"

    entry_id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    label: str = Field(sa_column=Column(Stamp(), nullable=False))
    tags: list[str] = Field(default_factory=list, sa_column=Column(JSONB(), nullable=False))
    kind: str = "plain"


_ENTRIES = SQLModel.metadata.tables["records_test_entries"]
_ENTRY = Columns(Entry)
_INSERT = inserting(_ENTRIES, "entry_id")
_BY_KINDS = Statement(
    select(Entry)
    .where(col(Entry.kind) == any_(bindparam("kinds", type_=ARRAY(String))))
    .where(col(Entry.label) != "hidden")
    .order_by(col(Entry.entry_id))
)


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(database_url)
    await pool.execute(
        "CREATE TABLE records_test_entries (entry_id bigserial PRIMARY KEY,"
        " label text NOT NULL, tags jsonb NOT NULL, kind text NOT NULL)"
    )
    try:
        yield pool
    finally:
        await pool.close()


class TestRecordsOnThePool:
    def test_a_record_takes_its_defaults_without_sharing_them(self) -> None:
        a, b = Entry(label="a"), Entry(label="b")
        a.tags.append("x")
        assert (a.kind, a.tags, b.tags, a.entry_id) == ("plain", ["x"], [], None)
        b.kind = "special"
        assert b.model_dump() == {"entry_id": None, "label": "b", "tags": [], "kind": "special"}

    async def test_statements_convert_bind_and_read_as_their_columns_say(
        self, pool: asyncpg.Pool
    ) -> None:
        async with pool.acquire() as conn:
            entries = [Entry(label="one", tags=["a"]), Entry(label="two", kind="special")]
            ids = [await _INSERT.fetchval(conn, _ENTRY.params(e)) for e in entries]
            await _INSERT.execute(conn, _ENTRY.params(Entry(label="hidden")))
            stored = await conn.fetch("SELECT label FROM records_test_entries ORDER BY 1")
            rows = await _BY_KINDS.fetch(conn, {"kinds": ["plain", "special"]})
        assert [r["label"] for r in stored] == ["stamp:hidden", "stamp:one", "stamp:two"]
        # The literal "hidden" is bound through the column's conversion too.
        read = _ENTRY.load_all(rows)
        assert [(e.entry_id, e.label, e.tags, e.kind) for e in read] == [
            (ids[0], "one", ["a"], "plain"),
            (ids[1], "two", [], "special"),
        ]

    def test_an_expanding_list_is_refused(self) -> None:
        with pytest.raises(ValueError, match="expanding"):
            Statement(select(Entry).where(col(Entry.kind).in_(bindparam("k", expanding=True))))
