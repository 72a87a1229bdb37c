"""What ``policypulse up`` does for access on a new data directory: an identity secret for
the gateway and the services, and a development admin key printed once."""

from __future__ import annotations

import hashlib
import stat
from pathlib import Path

import asyncpg
import pytest

from pp_shared.devstack import launcher


def test_the_secret_is_made_once_and_kept_private(tmp_path: Path) -> None:
    first = launcher._gateway_secret(tmp_path)
    assert len(first) >= 43
    assert launcher._gateway_secret(tmp_path) == first
    mode = stat.S_IMODE((tmp_path / "gateway.secret").stat().st_mode)
    assert mode == 0o600


async def test_the_first_start_prints_an_admin_key_once(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    said: list[str] = []
    monkeypatch.setattr(launcher, "say", said.append)
    env = {"PP_DATABASE_URL": database_url}
    launcher._first_admin_key(tmp_path, env)
    launcher._first_admin_key(tmp_path, env)
    assert (
        said[0] == "a development admin key, shown this once (policypulse keys create makes more):"
    )
    assert said[1].startswith("  export PP_API_KEY=ppk_")
    assert len(said) == 2
    key = said[1].split("=", 1)[1]
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch("SELECT prefix, key_hash, role, owner FROM gateway.api_keys")
    finally:
        await conn.close()
    assert [(r["prefix"], r["role"], r["owner"]) for r in rows] == [
        (key[:12], "admin", "dev-admin")
    ]
    assert bytes(rows[0]["key_hash"]) == hashlib.sha256(key.encode()).digest()
