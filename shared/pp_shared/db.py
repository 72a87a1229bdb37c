"""PostgreSQL helpers: a pool with JSON codecs, and ordered SQL migrations per service schema."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from collections.abc import Sequence
from importlib import resources
from typing import TypeAlias

import asyncpg
import orjson

log = logging.getLogger(__name__)

Pool: TypeAlias = asyncpg.Pool
# Schema names are interpolated into DDL, so they must be plain identifiers.
_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*")


async def _init_connection(conn: asyncpg.Connection) -> None:
    for typ in ("json", "jsonb"):
        await conn.set_type_codec(
            typ,
            encoder=lambda v: orjson.dumps(v).decode(),
            decoder=orjson.loads,
            schema="pg_catalog",
        )


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Nothing to reset: the services change session state only inside transactions
    (``SET LOCAL``, transaction-level advisory locks), and asyncpg still rolls back a
    transaction left open. The default reset query (RESET ALL, UNLISTEN, CLOSE ALL, advisory
    unlock) would cost a round trip on every release."""


async def create_pool(url: str, *, max_size: int = 10, timeout: float = 5.0) -> Pool:
    """Open a pool; fails fast (``timeout`` seconds) when the server does not answer."""
    pool = await asyncpg.create_pool(
        url,
        min_size=1,
        max_size=max_size,
        init=_init_connection,
        reset=_keep_session,
        timeout=timeout,
        command_timeout=60,
    )
    assert pool is not None
    opened: Pool = pool
    return opened


async def database_reachable(pool: Pool, timeout: float = 2.0) -> bool:
    try:
        async with asyncio.timeout(timeout):
            await pool.fetchval("SELECT 1")
    except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
        return False
    return True


async def apply_migrations(
    pool: Pool, *, schema: str, package: str, shared: Sequence[str] = ()
) -> list[str]:
    """Apply ``<package>/migrations/*.sql`` in name order, then the ``shared`` migrations
    (``pp_shared/migrations/<name>.sql``, with ``{schema}`` standing for the schema), each
    once, in its own transaction.

    A transaction-level advisory lock keyed by the schema makes concurrent replicas safe.
    Returns the names applied now.
    """
    if not _IDENTIFIER.fullmatch(schema):
        raise ValueError(f"not a plain SQL identifier: {schema!r}")
    own = sorted(
        (
            f
            for f in resources.files(package).joinpath("migrations").iterdir()
            if f.name.endswith(".sql")
        ),
        key=lambda f: f.name,
    )
    common = resources.files("pp_shared").joinpath("migrations")
    files = [(f.name, f.read_text(encoding="utf-8")) for f in own] + [
        (
            f"shared:{name}.sql",
            common.joinpath(f"{name}.sql").read_text(encoding="utf-8").replace("{schema}", schema),
        )
        for name in shared
    ]
    lock_key = int.from_bytes(hashlib.sha256(schema.encode()).digest()[:8], "big", signed=True)
    applied_now: list[str] = []
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", lock_key)
        await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        await conn.execute(
            f'CREATE TABLE IF NOT EXISTS "{schema}".schema_migrations ('
            " name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {
            r["name"]
            for r in await conn.fetch(f'SELECT name FROM "{schema}".schema_migrations')  # noqa: S608
        }
        for name, sql in files:
            if name in done:
                continue
            await conn.execute(sql)
            await conn.execute(
                f'INSERT INTO "{schema}".schema_migrations (name) VALUES ($1)',  # noqa: S608
                name,
            )
            applied_now.append(name)
    if applied_now:
        log.info("migrations applied", extra={"schema": schema, "migrations": applied_now})
    return applied_now


def json_text(value: object) -> str:
    """JSON text for a ``text[]`` parameter cast to jsonb in SQL. (asyncpg would read a list
    inside a ``jsonb[]`` parameter as another array dimension.)"""
    return orjson.dumps(value).decode()


def conditions(filters: Sequence[tuple[str, object]], args: list[object]) -> list[str]:
    """The SQL conditions of the filters in use: for each ``(fragment, value)`` whose value is
    not None, the fragment with its ``${}`` numbered for the value, which is appended to
    ``args``. Only the filters in use go into a statement, so each shape gets a plan that can
    use its index; the fragments are fixed text and every value is a parameter."""
    where: list[str] = []
    for fragment, value in filters:
        if value is not None:
            args.append(value)
            where.append(fragment.format(len(args)))
    return where
