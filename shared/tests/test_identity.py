"""The caller's identity as the gateway forwards it: the header's encoding, what a caller may
see, and the middleware that refuses every identity the gateway did not sign."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from pp_shared.identity import (
    INTERNAL,
    MAX_AGE_SECONDS,
    CallerDep,
    GatewayIdentity,
    Identity,
    identity_headers,
    signature,
)
from pp_shared.problems import install_problem_handlers
from pp_shared.testing.identity import SECRET, SignedAs, analyst, signed_headers

HATE = analyst("alice", "HATE")
EVERYWHERE = analyst("bob")


class TestEncoding:
    @pytest.mark.parametrize(
        ("identity", "value"),
        [
            (HATE, b"v1;alice;analyst;pp_test01;HATE;1700000000"),
            (EVERYWHERE, b"v1;bob;analyst;pp_test01;*;1700000000"),
            (
                Identity("ops@example.org", "admin", "", frozenset({"VBDA", "HATE"})),
                b"v1;ops@example.org;admin;;HATE,VBDA;1700000000",
            ),
            (Identity("x", "analyst", "p", frozenset()), b"v1;x;analyst;p;;1700000000"),
        ],
    )
    def test_round_trip(self, identity: Identity, value: bytes) -> None:
        assert identity.encode(1_700_000_000) == value
        assert Identity.decode(value) == (identity, 1_700_000_000)

    @pytest.mark.parametrize(
        "value",
        [
            b"",
            b"v1;alice;analyst;pp_1;HATE",  # five parts
            b"v1;alice;analyst;pp_1;HATE;17;x",  # seven parts
            b"v2;alice;analyst;pp_1;HATE;1700000000",  # another version
            b"v1;alice;analyst;pp_1;HATE;-5",  # not a time
            b"v1;alice;analyst;pp_1;HATE;soon",
            b"v1;;analyst;pp_1;HATE;1700000000",  # no actor
            b"v1;al ice;analyst;pp_1;HATE;1700000000",  # a space in the actor
            b"v1;alice;;pp_1;HATE;1700000000",  # no role
            b"v1;alice;analyst;pp 1;HATE;1700000000",  # a space in the prefix
            b"v1;alice;analyst;pp_1;hate;1700000000",  # areas are upper case
            b"v1;alice;analyst;pp_1;HATE,,VBDA;1700000000",  # an empty area
            b"v1;alice;analyst;pp_1;HATE VBDA;1700000000",
            "v1;alicé;analyst;pp_1;HATE;1700000000".encode(),  # not ASCII
            b"v1;\xff;analyst;pp_1;HATE;1700000000",
        ],
    )
    def test_malformed_values_decode_to_none(self, value: bytes) -> None:
        assert Identity.decode(value) is None


class TestAreas:
    def test_an_unrestricted_caller_sees_every_area_and_data_of_none(self) -> None:
        assert EVERYWHERE.scoped is False
        assert [EVERYWHERE.sees(a) for a in ("HATE", "VBDA", None)] == [True, True, True]

    def test_a_scoped_caller_sees_its_areas_only_and_nothing_of_no_area(self) -> None:
        assert HATE.scoped is True
        assert [HATE.sees(a) for a in ("HATE", "VBDA", None)] == [True, False, False]
        assert HATE.sees_all(["HATE", "HATE"]) is True
        assert HATE.sees_all(["HATE", "VBDA"]) is False
        assert HATE.sees_all([]) is True

    def test_the_internal_caller_is_api_with_every_area(self) -> None:
        assert (INTERNAL.actor, INTERNAL.role, INTERNAL.areas) == ("api", "admin", None)


def make_app(secret: SecretStr | None) -> FastAPI:
    app = FastAPI()
    app.add_middleware(GatewayIdentity, secret=secret)
    install_problem_handlers(app)

    @app.get("/v1/whoami")
    async def whoami(caller: CallerDep) -> dict[str, Any]:
        areas = None if caller.areas is None else sorted(caller.areas)
        return {"actor": caller.actor, "role": caller.role, "areas": areas}

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=make_app(SECRET))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


UNAUTHORIZED = {
    "type": "https://policypulse.dev/problems/unauthorized",
    "title": "Authentication required",
    "status": 401,
    "detail": "this service answers requests relayed by the gateway only; "
    "send them to the gateway with an API key",
    "instance": "/v1/whoami",
}


class TestMiddleware:
    async def test_a_signed_identity_is_the_caller(self, client: httpx.AsyncClient) -> None:
        r = await client.get("/v1/whoami", params={"area": "HATE"}, auth=SignedAs(HATE))
        assert r.status_code == 200
        assert r.json() == {"actor": "alice", "role": "analyst", "areas": ["HATE"]}

    async def test_an_identity_signed_at_the_edge_of_its_age_is_taken(
        self, client: httpx.AsyncClient
    ) -> None:
        now = time.time() - MAX_AGE_SECONDS + 30
        r = await client.get(
            "/v1/whoami", headers=signed_headers(HATE, "GET", "/v1/whoami", now=now)
        )
        assert r.status_code == 200

    @pytest.mark.parametrize(
        "headers",
        [
            {},
            # An identity without its signature, and a signature without its identity.
            {"x-pp-identity": HATE.encode(int(time.time()))},
            {"x-pp-identity-signature": "0" * 64},
        ],
        ids=["unsigned", "no-signature", "no-identity"],
    )
    async def test_missing_headers_are_401(
        self, client: httpx.AsyncClient, headers: dict[str, Any]
    ) -> None:
        headers = {k: v.decode() if isinstance(v, bytes) else v for k, v in headers.items()}
        r = await client.get("/v1/whoami", headers=headers)
        assert (r.status_code, r.json()) == (401, UNAUTHORIZED)
        assert r.headers["www-authenticate"] == 'Bearer realm="policypulse"'
        assert r.headers["content-type"] == "application/problem+json"

    async def test_a_signature_with_another_secret_is_401(self, client: httpx.AsyncClient) -> None:
        other = SecretStr("another-secret-0123456789abcdef")
        r = await client.get("/v1/whoami", auth=SignedAs(HATE, secret=other))
        assert (r.status_code, r.json()) == (401, UNAUTHORIZED)

    async def test_an_identity_changed_after_signing_is_401(
        self, client: httpx.AsyncClient
    ) -> None:
        headers = signed_headers(HATE, "GET", "/v1/whoami")
        headers["x-pp-identity"] = headers["x-pp-identity"].replace(";HATE;", ";*;")
        r = await client.get("/v1/whoami", headers=headers)
        assert (r.status_code, r.json()) == (401, UNAUTHORIZED)

    async def test_a_signature_for_another_path_or_method_is_401(
        self, client: httpx.AsyncClient
    ) -> None:
        for method, path in (("GET", "/v1/rules"), ("POST", "/v1/whoami")):
            r = await client.get("/v1/whoami", headers=signed_headers(HATE, method, path))
            assert (r.status_code, r.json()) == (401, UNAUTHORIZED)

    async def test_a_signature_for_another_query_is_401(self, client: httpx.AsyncClient) -> None:
        headers = signed_headers(HATE, "GET", "/v1/whoami?area=HATE")
        signed = await client.get("/v1/whoami?area=HATE", headers=headers)
        assert signed.status_code == 200
        for query in ("?area=VBDA", "?area=HATE&area=VBDA", ""):
            r = await client.get(f"/v1/whoami{query}", headers=headers)
            assert (r.status_code, r.json()) == (401, UNAUTHORIZED), query

    @pytest.mark.parametrize("age", [MAX_AGE_SECONDS + 5, -(MAX_AGE_SECONDS + 5)])
    async def test_a_stale_or_future_identity_is_401(
        self, client: httpx.AsyncClient, age: int
    ) -> None:
        headers = signed_headers(HATE, "GET", "/v1/whoami", now=time.time() - age)
        r = await client.get("/v1/whoami", headers=headers)
        assert (r.status_code, r.json()) == (401, UNAUTHORIZED)

    async def test_a_malformed_identity_correctly_signed_is_401(
        self, client: httpx.AsyncClient
    ) -> None:
        value = b"v1;al ice;analyst;p;HATE;" + str(int(time.time())).encode()
        secret = SECRET.get_secret_value().encode()
        given = signature(secret, value, b"GET", b"/v1/whoami")
        headers = {"x-pp-identity": value.decode(), "x-pp-identity-signature": given.decode()}
        r = await client.get("/v1/whoami", headers=headers)
        assert (r.status_code, r.json()) == (401, UNAUTHORIZED)

    async def test_probes_need_no_identity(self, client: httpx.AsyncClient) -> None:
        r = await client.get("/healthz")
        assert (r.status_code, r.json()) == (200, {"status": "ok"})

    async def test_without_a_secret_every_caller_is_internal_and_headers_are_ignored(
        self,
    ) -> None:
        transport = httpx.ASGITransport(app=make_app(None))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            r = await c.get("/v1/whoami", auth=SignedAs(HATE))
        assert r.json() == {"actor": "api", "role": "admin", "areas": None}

    def test_identity_headers_are_the_ones_the_middleware_reads(self) -> None:
        pairs = identity_headers(b"k", HATE, "GET", b"/v1/x", now=1_700_000_000)
        assert pairs == [
            (b"x-pp-identity", b"v1;alice;analyst;pp_test01;HATE;1700000000"),
            (b"x-pp-identity-signature", signature(b"k", pairs[0][1], b"GET", b"/v1/x")),
        ]
