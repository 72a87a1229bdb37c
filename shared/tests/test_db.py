from __future__ import annotations

from pp_shared.db import apply_migrations, create_pool


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
        assert first == ["001_event_log.sql"]
        assert second == []
        assert tables == 4  # events, conflicts, dead_letters, schema_migrations

    async def test_json_round_trips_through_jsonb(self, database_url: str) -> None:
        pool = await create_pool(database_url)
        try:
            value = await pool.fetchval("SELECT $1::jsonb", {"a": [1, {"b": None}]})
        finally:
            await pool.close()
        assert value == {"a": [1, {"b": None}]}
