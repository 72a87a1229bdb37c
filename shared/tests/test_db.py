from __future__ import annotations

from pathlib import Path

import asyncpg

from pp_shared.db import apply_migrations, create_pool
from pp_shared.devstack.embedded import POSTGRES_SETTINGS, EmbeddedPostgres


class TestMigrations:
    async def test_each_migration_applies_once(self, database_url: str) -> None:
        pool = await create_pool(database_url)
        try:
            first = await apply_migrations(pool, schema="ingest", package="pp_ingest")
            second = await apply_migrations(pool, schema="ingest", package="pp_ingest")
            tables = await pool.fetchval(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'ingest'"
            )
        finally:
            await pool.close()
        assert first == ["001_event_log.sql", "002_dead_letter_replay.sql"]
        assert second == []
        assert tables == 4  # events, conflicts, dead_letters, schema_migrations

    async def test_json_round_trips_through_jsonb(self, database_url: str) -> None:
        pool = await create_pool(database_url)
        try:
            value = await pool.fetchval("SELECT $1::jsonb", {"a": [1, {"b": None}]})
        finally:
            await pool.close()
        assert value == {"a": [1, {"b": None}]}

    async def test_a_transaction_left_open_is_rolled_back_on_release(
        self, database_url: str
    ) -> None:
        pool = await create_pool(database_url, max_size=1)
        try:
            await pool.execute("CREATE TABLE t (x int)")
            conn = await pool.acquire()
            await conn.execute("BEGIN")
            await conn.execute("INSERT INTO t VALUES (1)")
            await pool.release(conn)
            async with pool.acquire() as again:
                assert again.is_in_transaction() is False
                assert await again.fetchval("SELECT count(*) FROM t") == 0
        finally:
            await pool.close()


class TestEmbeddedPostgres:
    async def test_a_new_data_directory_gets_the_single_node_settings(self, tmp_path: Path) -> None:
        pg = EmbeddedPostgres(tmp_path / "pg", database="policypulse")
        url = pg.start()
        try:
            conn = await asyncpg.connect(url)
            try:
                got = {n: await conn.fetchval(f"SHOW {n}") for n in POSTGRES_SETTINGS}
            finally:
                await conn.close()
        finally:
            pg.stop()
        want = {"shared_buffers": "1GB", "max_wal_size": "4GB", "checkpoint_timeout": "15min"}
        assert got == want
        kept = (tmp_path / "pg" / "postgresql.auto.conf").read_text(encoding="utf-8")
        assert "shared_buffers = '1GB'" in kept.splitlines()
