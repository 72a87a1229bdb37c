"""Records: SQLModel sessions over the service's Postgres, beside its asyncpg pool."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import ClassVar

import pytest
from sqlalchemy import Column, DateTime, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel, col, select

from pp_shared.db import create_pool
from pp_shared.records import Records, entities, sqlalchemy_url

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
