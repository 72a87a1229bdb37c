"""API keys and the audit log, on a real database: what a key lets through, what it never
leaves behind, and what is written down."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from pp_gateway.keys.service import KeyRequest, create_key
from pp_gateway.main import create_app
from pp_shared.db import apply_migrations, create_pool
from pp_shared.devstack.embedded import free_port
from pp_shared.records import Records
from pp_shared.testing.apps import running_app

from .support import bearer, gateway_settings, make_key

UNAUTHORIZED = {
    "type": "https://policypulse.dev/problems/unauthorized",
    "title": "Authentication required",
    "status": 401,
    "detail": "send a valid API key as 'Authorization: Bearer <key>'",
    "instance": "/v1/rules",
}


async def expired_key(database_url: str) -> str:
    pool = await create_pool(database_url, max_size=1)
    records = Records(database_url, max_size=1)
    try:
        await apply_migrations(pool, schema="gateway", package="pp_gateway")
        key, _ = await create_key(
            records,
            KeyRequest("admin", "old", "expired", None, timedelta(minutes=1)),
            created_by="tests",
            now=datetime.now(UTC) - timedelta(minutes=2),
        )
    finally:
        await records.close()
        await pool.close()
    return key


class TestAuthentication:
    async def test_every_bad_key_gets_the_same_answer(self, database_url: str) -> None:
        good = await make_key(database_url)
        revoked = await make_key(database_url)
        expired = await expired_key(database_url)
        unknown = good[:4] + "zzzzzzzz" + good[12:]
        async with running_app(create_app(gateway_settings(database_url))) as client:
            gone = await client.delete(f"/v1/keys/{revoked[:12]}", headers=bearer(good))
            assert gone.status_code == 204
            headers = [
                {},
                {"Authorization": "Basic dXNlcjpwYXNz"},
                {"Authorization": "Bearer"},
                bearer("not-a-key"),
                bearer(good[:-1]),
                bearer(unknown),
                bearer(revoked),
                bearer(expired),
            ]
            answers = [await client.get("/v1/rules", headers=h) for h in headers]
        for answer in answers:
            assert answer.status_code == 401
            assert answer.json() == UNAUTHORIZED
            assert answer.headers["www-authenticate"] == 'Bearer realm="policypulse"'

    async def test_probes_answer_without_a_key(self, database_url: str) -> None:
        async with running_app(create_app(gateway_settings(database_url))) as client:
            assert (await client.get("/healthz")).status_code == 200
            assert (await client.get("/openapi.json")).status_code == 200

    async def test_keys_are_stored_only_as_hashes(self, database_url: str) -> None:
        key = await make_key(database_url, "analyst", ["HATE"])
        async with running_app(create_app(gateway_settings(database_url))) as client:
            made = await client.post(
                "/v1/keys",
                json={"role": "ingest", "owner": "uploader", "name": "upstream tool"},
                headers=bearer(await make_key(database_url)),
            )
            await client.get("/v1/rules", headers=bearer(key))
        assert made.status_code == 201
        second = made.json()["key"]
        conn = await asyncpg.connect(database_url)
        try:
            keys = await conn.fetch("SELECT * FROM gateway.api_keys")
            audit = await conn.fetch("SELECT * FROM gateway.audit_log")
        finally:
            await conn.close()
        stored = repr([dict(r) for r in keys]) + repr([dict(r) for r in audit])
        for secret in (key, second):
            assert secret not in stored
            assert secret[13:] not in stored
            assert secret[:12] in stored


class TestLimits:
    async def test_a_spent_rate_limit_is_429_with_retry_after(self, database_url: str) -> None:
        key = await make_key(database_url, "analyst")
        # analyst: 20 requests/s, a burst of 60; scaled to 0.05: 1/s, a burst of 3.
        settings = gateway_settings(database_url, rate_limit_scale=0.05)
        async with running_app(create_app(settings)) as client:
            answers = [await client.get("/v1/whoami", headers=bearer(key)) for _ in range(4)]
        assert [a.status_code for a in answers] == [200, 200, 200, 429]
        assert answers[3].headers["retry-after"] == "1"
        assert answers[3].json()["type"] == "https://policypulse.dev/problems/rate-limited"


class TestKeysApi:
    async def test_create_list_whoami_revoke(self, database_url: str) -> None:
        admin = await make_key(database_url, owner="root")
        async with running_app(create_app(gateway_settings(database_url))) as client:
            made = await client.post(
                "/v1/keys",
                json={
                    "role": "analyst",
                    "owner": "dana",
                    "name": "hate desk",
                    "areas": ["HATE"],
                    "expires_in": "90d",
                },
                headers=bearer(admin),
            )
            key = made.json()["key"]
            me = await client.get("/v1/whoami", headers=bearer(key))
            listed = await client.get("/v1/keys", headers=bearer(admin))
            revoked = await client.delete(f"/v1/keys/{key[:12]}", headers=bearer(admin))
            after = await client.get("/v1/whoami", headers=bearer(key))
            again = await client.delete(f"/v1/keys/{key[:12]}", headers=bearer(admin))
            nothing = await client.delete("/v1/keys/ppk_aaaaaaaa", headers=bearer(admin))
            bad = await client.post(
                "/v1/keys", json={"role": "boss", "owner": "x y", "name": ""}, headers=bearer(admin)
            )
        assert made.status_code == 201
        body = made.json()
        assert body["prefix"] == key[:12]
        assert (body["role"], body["owner"], body["areas"], body["created_by"]) == (
            "analyst",
            "dana",
            ["HATE"],
            "root",
        )
        expires = datetime.fromisoformat(body["expires_at"]) - datetime.fromisoformat(
            body["created_at"]
        )
        assert expires == timedelta(days=90)
        assert me.json() == {
            "actor": "dana",
            "role": "analyst",
            "key_prefix": key[:12],
            "areas": ["HATE"],
        }
        assert [k["prefix"] for k in listed.json()["keys"]] == [admin[:12], key[:12]]
        assert all("key" not in k for k in listed.json()["keys"])
        assert revoked.status_code == 204
        assert after.status_code == 401
        assert again.status_code == 204
        assert nothing.status_code == 404
        assert bad.status_code == 422
        pointers = sorted(e["pointer"] for e in bad.json()["errors"])
        assert pointers == ["/body/name", "/body/owner", "/body/role"]


class TestAudit:
    async def test_mutations_and_refusals_are_written_and_listed(self, database_url: str) -> None:
        admin = await make_key(database_url, owner="root")
        analyst = await make_key(database_url, "analyst", owner="dana")
        app = create_app(gateway_settings(database_url))
        async with running_app(app) as client:
            await client.post(
                "/v1/keys",
                json={"role": "ingest", "owner": "tool", "name": "t"},
                headers=bearer(admin),
            )
            await client.get("/v1/keys", headers=bearer(admin))  # a read: not audited
            await client.get("/v1/keys", headers=bearer(analyst))  # refused: audited
            await client.get("/v1/rules")  # no key: audited
            await app.state.gate.audit.flush()
            page = await client.get("/v1/audit", headers=bearer(admin))
            denied = await client.get("/v1/audit?outcome=denied", headers=bearer(admin))
            csv = await client.get(
                "/v1/audit?actor=dana", headers={**bearer(admin), "Accept": "text/csv"}
            )
        rows = [
            (e["actor"], e["method"], e["path"], e["status"], e["outcome"], e["reason"])
            for e in page.json()["entries"]
        ]
        assert rows == [
            (None, "GET", "/v1/rules", 401, "denied", "missing key"),
            ("dana", "GET", "/v1/keys", 403, "denied", "role"),
            ("root", "POST", "/v1/keys", 201, "allowed", None),
        ]
        assert [e["status"] for e in denied.json()["entries"]] == [401, 403]
        lines = csv.text.strip().splitlines()
        assert lines[0].startswith("entry_id,at,actor,key_prefix,role,method,path")
        assert len(lines) == 2
        assert ",dana," in lines[1]

    async def test_event_submissions_are_counted_per_key_and_minute(
        self, database_url: str
    ) -> None:
        admin = await make_key(database_url, owner="root")
        tool = await make_key(database_url, "ingest", owner="uploader")
        closed = f"http://127.0.0.1:{free_port()}"
        app = create_app(gateway_settings(database_url, closed, breaker_failures=100))
        async with running_app(app) as client:
            for _ in range(3):
                answer = await client.post("/v1/events", json={}, headers=bearer(tool))
                assert answer.status_code == 503
            refused = await client.post("/v1/rules", json={}, headers=bearer(tool))
            assert refused.status_code == 403
            await app.state.gate.audit.flush()
            page = await client.get("/v1/audit", headers=bearer(admin))
        rows = [
            (e["actor"], e["method"], e["path"], e["status"], e["outcome"], e["requests"])
            for e in page.json()["entries"]
        ]
        assert sorted(rows) == [
            ("uploader", "POST", "/v1/events", 503, "failed", 3),
            ("uploader", "POST", "/v1/rules", 403, "denied", 1),
        ]

    async def test_the_audit_log_is_append_only(self, database_url: str) -> None:
        await make_key(database_url)
        conn = await asyncpg.connect(database_url)
        try:
            await conn.execute(
                "INSERT INTO gateway.audit_log (at, method, path, status, outcome) "
                "VALUES (now(), 'GET', '/v1/x', 401, 'denied')"
            )
            for statement in (
                "UPDATE gateway.audit_log SET status = 200",
                "DELETE FROM gateway.audit_log",
                "TRUNCATE gateway.audit_log",
            ):
                with pytest.raises(asyncpg.RaiseError, match="append-only"):
                    await conn.execute(statement)
            assert await conn.fetchval("SELECT count(*) FROM gateway.audit_log") == 1
        finally:
            await conn.close()


class TestCommandLine:
    def test_create_list_revoke(self, database_url: str) -> None:
        env = {**os.environ, "PP_DATABASE_URL": database_url, "PP_ACTOR": "ops"}

        def keys(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [sys.executable, "-m", "pp_gateway.keys", *args],
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )

        made = keys(
            "create",
            "--role",
            "analyst",
            "--areas",
            "HATE,VBDA",
            "--name",
            "desk",
            "--owner",
            "dana",
            "--expires",
            "90d",
        )
        assert made.returncode == 0, made.stderr
        key = made.stdout.strip().splitlines()[-1]
        assert key.startswith("ppk_")
        assert len(key) == 56
        listed = keys("list")
        assert key[:12] in listed.stdout
        assert "HATE,VBDA" in listed.stdout
        assert key not in listed.stdout
        revoked = keys("revoke", key[:12])
        assert revoked.returncode == 0
        assert keys("list").stdout.count("ppk_") == 0
        assert "(revoked)" in keys("list", "--all").stdout
        assert keys("revoke", "ppk_aaaaaaaa").returncode == 1
        bad = keys("create", "--role", "analyst", "--areas", "hate")
        assert bad.returncode == 2
        assert "areas" in bad.stderr
