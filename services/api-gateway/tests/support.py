"""The gateway in tests: its settings on a test database, and keys made straight in it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import SecretStr

from pp_gateway.keys.service import KeyRequest, create_key
from pp_gateway.settings import GatewaySettings
from pp_shared.db import apply_migrations, create_pool
from pp_shared.records import Records

SECRET = "test-gateway-secret"


def gateway_settings(
    database_url: str, upstream: str | None = None, **more: Any
) -> GatewaySettings:
    """The gateway on ``database_url``, every service at ``upstream`` when given."""
    urls: dict[str, Any] = (
        {}
        if upstream is None
        else {"ingest_url": upstream, "classifier_url": upstream, "insights_url": upstream}
    )
    return GatewaySettings(
        database_url=database_url, gateway_secret=SecretStr(SECRET), **urls, **more
    )


async def make_key(
    database_url: str,
    role: str = "admin",
    areas: Sequence[str] | None = None,
    owner: str = "tester",
) -> str:
    """A new key in the gateway's database (its schema made first, if it is not yet)."""
    pool = await create_pool(database_url, max_size=1)
    records = Records(database_url, max_size=1)
    try:
        await apply_migrations(pool, schema="gateway", package="pp_gateway")
        key, _ = await create_key(
            records, KeyRequest(role, owner, f"{role} for tests", areas), created_by="tests"
        )
    finally:
        await records.close()
        await pool.close()
    return key


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}
