"""The guards every service puts before its routes, the shared input types, and the last-resort
error answer, on a small app of their own."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Annotated, Any

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response
from pydantic import BaseModel, Field, TypeAdapter, ValidationError
from starlette.types import Message

from pp_shared.http_guards import BodyLimit, install_http_guards, require_json
from pp_shared.problems import UnsupportedMediaType, field_errors, install_problem_handlers
from pp_shared.types import MULTI_LINE, SINGLE_LINE, AwareTimestamp, DbId, Int64

LIMIT = 1024
JSON = {"content-type": "application/json"}
JSON_EXPECTED = "application/json, application/*+json"


class Thing(BaseModel):
    name: Annotated[str, Field(min_length=1, max_length=20), SINGLE_LINE]
    note: Annotated[str, Field(max_length=50), MULTI_LINE] = ""


class Touch(BaseModel):
    note: str | None = None


async def paging(cursor: str | None = None) -> str | None:
    return cursor


def make_app() -> FastAPI:
    app = FastAPI()
    install_http_guards(app, max_body_bytes=LIMIT)
    install_problem_handlers(app)
    router = APIRouter(prefix="/v1")

    @router.get("/items")
    async def items(
        cursor: Annotated[str | None, Depends(paging)],
        limit: int = 10,
        start: Annotated[str | None, Query(alias="from")] = None,
    ) -> dict[str, Any]:
        return {"limit": limit, "from": start, "cursor": cursor}

    @router.get(
        "/filtered",
        openapi_extra={"parameters": [{"name": "region", "in": "query", "schema": {}}]},
    )
    async def filtered(request: Request) -> dict[str, Any]:
        return {"region": request.query_params.getlist("region")}

    @router.get("/items/{item_id}")
    async def item(item_id: DbId, before: Annotated[DbId | None, Query()] = None) -> dict[str, Any]:
        return {"id": item_id, "before": before}

    @router.post("/things", status_code=201)
    async def create(thing: Thing) -> Thing:
        return thing

    @router.post("/things/{item_id}/touch")
    async def touch(item_id: DbId, body: Touch | None = None) -> dict[str, Any]:
        return {"id": item_id, "note": body.note if body else None}

    @router.post(
        "/lines",
        openapi_extra={
            "requestBody": {
                "content": {"application/json": {}, "application/x-ndjson": {"schema": {}}}
            }
        },
    )
    async def lines(request: Request) -> dict[str, Any]:
        return {"bytes": len(await request.body())}

    @router.delete("/things/{item_id}", status_code=204)
    async def delete(item_id: DbId) -> Response:
        return Response(status_code=204)

    @router.get("/stamps")
    async def stamps(since: Annotated[AwareTimestamp, Query()]) -> dict[str, str]:
        return {"since": since.isoformat()}

    @router.get("/boom")
    async def boom() -> None:
        raise RuntimeError("boom")

    @router.post("/boom")
    async def boom_post(request: Request) -> None:
        await request.body()
        raise RuntimeError("boom")

    app.include_router(router)
    return app


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=make_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


def unsupported(found: str | None, expected: str = JSON_EXPECTED) -> dict[str, Any]:
    error: dict[str, Any] = {
        "pointer": "/headers/content-type",
        "detail": "missing" if found is None else "not a media type this endpoint reads",
        "expected": expected,
    }
    if found is not None:
        error["found"] = found
    return {
        "type": "https://policypulse.dev/problems/unsupported-media-type",
        "title": "The body's media type is not one this endpoint reads",
        "status": 415,
        "detail": f"the Content-Type must be one of: {expected}",
        "errors": [error],
    }


class TestUnknownQueryParameters:
    async def test_every_unknown_name_is_a_422_with_the_allowed_ones(
        self, client: httpx.AsyncClient
    ) -> None:
        r = await client.get("/v1/items", params=[("limt", "5"), ("bogus", "1"), ("bogus", "2")])
        assert r.status_code == 422
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json() == {
            "type": "https://policypulse.dev/problems/validation-error",
            "title": "The request does not match the contract",
            "status": 422,
            "detail": "2 unknown query parameter(s)",
            "instance": "/v1/items",
            "errors": [
                {"pointer": "/query/limt", "detail": "unknown parameter",
                 "expected": "limit, from, cursor"},
                {"pointer": "/query/bogus", "detail": "unknown parameter",
                 "expected": "limit, from, cursor"},
            ],
        }  # fmt: skip

    async def test_declared_names_aliases_and_dependencies_pass(
        self, client: httpx.AsyncClient
    ) -> None:
        r = await client.get("/v1/items", params={"limit": 5, "from": "x", "cursor": "c"})
        assert (r.status_code, r.json()) == (200, {"limit": 5, "from": "x", "cursor": "c"})

    async def test_parameters_documented_in_openapi_extra_pass(
        self, client: httpx.AsyncClient
    ) -> None:
        ok = await client.get("/v1/filtered", params=[("region", "DE"), ("region", "FR")])
        assert (ok.status_code, ok.json()) == (200, {"region": ["DE", "FR"]})
        bad = await client.get("/v1/filtered", params={"regoin": "DE"})
        assert bad.json()["errors"] == [
            {"pointer": "/query/regoin", "detail": "unknown parameter", "expected": "region"}
        ]

    async def test_a_route_without_parameters_says_so(self, client: httpx.AsyncClient) -> None:
        r = await client.get("/v1/boom", params={"a/b": "1"})
        assert r.status_code == 422
        assert r.json()["errors"] == [
            {"pointer": "/query/a~1b", "detail": "unknown parameter",
             "expected": "no query parameters"}
        ]  # fmt: skip


class TestInt64:
    @pytest.mark.parametrize(
        ("path", "pointer", "found"),
        [
            ("/v1/items/9223372036854775808", "/path/item_id", "9223372036854775808"),
            ("/v1/items/0", "/path/item_id", "0"),
            ("/v1/items/1?before=-9223372036854775809", "/query/before", "-9223372036854775809"),
        ],
    )
    async def test_ids_outside_bigint_are_422(
        self, client: httpx.AsyncClient, path: str, pointer: str, found: str
    ) -> None:
        r = await client.get(path)
        assert r.status_code == 422
        (error,) = r.json()["errors"]
        assert (error["pointer"], error["found"]) == (pointer, found)

    async def test_the_largest_json_safe_integer_is_an_id(self, client: httpx.AsyncClient) -> None:
        r = await client.get("/v1/items/9007199254740991")
        assert r.json() == {"id": 9007199254740991, "before": None}
        beyond = await client.get("/v1/items/9007199254740992")
        assert beyond.status_code == 422
        assert beyond.json()["errors"][0]["detail"] == (
            "Input should be less than or equal to 9007199254740991"
        )

    def test_bounds(self) -> None:
        int64: TypeAdapter[int] = TypeAdapter(Int64)
        db_id: TypeAdapter[int] = TypeAdapter(DbId)
        assert int64.validate_python(-(2**63)) == -(2**63)
        assert db_id.validate_python(2**53 - 1) == 2**53 - 1
        for adapter, value in ((int64, 2**63), (int64, -(2**63) - 1), (db_id, 0), (db_id, 2**53)):
            with pytest.raises(ValidationError):
                adapter.validate_python(value)


class TestMediaType:
    @pytest.mark.parametrize(
        "content_type",
        [
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
            "application/xml",
        ],
    )
    async def test_a_json_route_refuses_other_types(
        self, client: httpx.AsyncClient, content_type: str
    ) -> None:
        r = await client.post(
            "/v1/things", content=b'{"name": "a"}', headers={"content-type": content_type}
        )
        assert r.status_code == 415
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json() == {**unsupported(content_type), "instance": "/v1/things"}

    async def test_a_body_without_content_type_is_refused(self, client: httpx.AsyncClient) -> None:
        r = await client.post("/v1/things", content=b'{"name": "a"}')
        assert r.json() == {**unsupported(None), "instance": "/v1/things"}

    @pytest.mark.parametrize(
        "content_type",
        ["application/json", "Application/JSON; charset=utf-8", "application/merge-patch+json"],
    )
    async def test_json_and_structured_json_pass(
        self, client: httpx.AsyncClient, content_type: str
    ) -> None:
        r = await client.post(
            "/v1/things", content=b'{"name": "a"}', headers={"content-type": content_type}
        )
        assert (r.status_code, r.json()) == (201, {"name": "a", "note": ""})

    async def test_a_post_without_a_body_still_names_json(self, client: httpx.AsyncClient) -> None:
        form = await client.post(
            "/v1/things/1/touch", headers={"content-type": "application/x-www-form-urlencoded"}
        )
        bare = await client.post("/v1/things/1/touch")
        fine = await client.post("/v1/things/1/touch", headers=JSON)
        assert form.status_code == 415
        assert bare.json() == {**unsupported(None), "instance": "/v1/things/1/touch"}
        assert (fine.status_code, fine.json()) == (200, {"id": 1, "note": None})

    async def test_a_route_reads_the_types_its_openapi_declares(
        self, client: httpx.AsyncClient
    ) -> None:
        ndjson = await client.post(
            "/v1/lines", content=b"{}\n{}\n", headers={"content-type": "application/x-ndjson"}
        )
        text = await client.post(
            "/v1/lines", content=b"{}\n", headers={"content-type": "text/plain"}
        )
        assert (ndjson.status_code, ndjson.json()) == (200, {"bytes": 6})
        assert text.json() == {
            **unsupported("text/plain", "application/json, application/*+json, "
                                        "application/x-ndjson"),
            "instance": "/v1/lines",
        }  # fmt: skip

    async def test_a_delete_needs_a_type_only_with_a_body(self, client: httpx.AsyncClient) -> None:
        bare = await client.delete("/v1/things/1")
        with_text = await client.request(
            "DELETE", "/v1/things/1", content=b"x", headers={"content-type": "text/plain"}
        )
        assert bare.status_code == 204
        assert with_text.status_code == 415

    async def test_reads_need_no_type(self, client: httpx.AsyncClient) -> None:
        r = await client.get("/v1/items", headers={"content-type": "text/plain"})
        assert r.status_code == 200

    @pytest.mark.parametrize(
        ("headers", "found"),
        [
            ([], None),
            ([(b"content-type", b"text/plain")], "text/plain"),
            ([(b"content-length", b"2"), (b"content-type", b"application/xml")], "application/xml"),
        ],
    )
    def test_require_json_for_plain_asgi_handlers(
        self, headers: list[tuple[bytes, bytes]], found: str | None
    ) -> None:
        with pytest.raises(UnsupportedMediaType) as raised:
            require_json({"type": "http", "headers": headers})
        assert raised.value.to_problem() == unsupported(found)
        require_json({"type": "http", "headers": [(b"content-type", b"application/json")]})
        require_json({"type": "http", "headers": [(b"content-type", b"application/cloud+json")]})


class TestBodyLimit:
    async def test_a_declared_length_over_the_limit_is_413_before_any_read(self) -> None:
        sent: list[Message] = []
        reads = 0

        async def receive() -> Message:
            nonlocal reads
            reads += 1
            return {"type": "http.request", "body": b"x" * 2000, "more_body": False}

        async def send(message: Message) -> None:
            sent.append(message)

        async def app(scope: Any, receive: Any, send: Any) -> None:
            raise AssertionError("the app must not be called")

        scope = {
            "type": "http",
            "method": "POST",
            "path": "/v1/things",
            "headers": [(b"content-length", b"2000"), (b"content-type", b"application/json")],
        }
        await BodyLimit(app, max_bytes=LIMIT)(scope, receive, send)
        assert reads == 0
        assert sent[0]["status"] == 413
        assert sent[1]["body"] == (
            b'{"type":"https://policypulse.dev/problems/payload-too-large",'
            b'"title":"Request body too large","status":413,'
            b'"detail":"the body may be at most 1024 bytes","instance":"/v1/things"}'
        )

    async def test_streamed_chunks_stop_at_the_limit(self) -> None:
        chunks = [b"x" * 600, b"x" * 600, b"x" * 600]
        sent: list[Message] = []

        async def receive() -> Message:
            return {"type": "http.request", "body": chunks.pop(0), "more_body": bool(chunks)}

        async def send(message: Message) -> None:
            sent.append(message)

        async def app(scope: Any, receive: Any, send: Any) -> None:
            raise AssertionError("the app must not be called")

        scope = {
            "type": "http",
            "method": "POST",
            "path": "/v1/lines",
            "headers": [(b"transfer-encoding", b"chunked")],
        }
        await BodyLimit(app, max_bytes=LIMIT)(scope, receive, send)
        assert sent[0]["status"] == 413
        assert len(chunks) == 1  # the third chunk was never read

    async def test_over_http(self, client: httpx.AsyncClient) -> None:
        big = await client.post("/v1/lines", content=b"x" * (LIMIT + 1), headers=JSON)
        fits = await client.post("/v1/lines", content=b"x" * LIMIT, headers=JSON)
        assert big.status_code == 413
        assert big.json()["detail"] == "the body may be at most 1024 bytes"
        assert (fits.status_code, fits.json()) == (200, {"bytes": LIMIT})

    async def test_a_streamed_body_within_the_limit_arrives_whole(
        self, client: httpx.AsyncClient
    ) -> None:
        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(4):
                yield b"x" * 200

        r = await client.post("/v1/lines", content=chunks(), headers=JSON)
        assert (r.status_code, r.json()) == (200, {"bytes": 800})

    def test_guards_go_on_before_the_routes(self) -> None:
        app = FastAPI()
        app.include_router(APIRouter())

        @app.get("/x")
        async def x() -> None:
            return None

        with pytest.raises(RuntimeError, match="before any route"):
            install_http_guards(app, max_body_bytes=LIMIT)


class TestControlCharacters:
    async def test_single_and_multi_line_fields(self, client: httpx.AsyncClient) -> None:
        r = await client.post(
            "/v1/things", json={"name": "a\x1b[31mb", "note": "line\nnext\tcol\rover"}, headers=JSON
        )
        assert r.status_code == 422
        assert r.json()["errors"] == [
            {
                "pointer": "/body/name",
                "detail": "control character U+001B at position 1",
                "expected": "a string without control characters",
                "found": "a\x1b[31mb",
            },
            {
                "pointer": "/body/note",
                "detail": "control character U+000D at position 13 "
                "(only line feed and tab are allowed here)",
                "expected": "a string without control characters other than line feed and tab",
                "found": "line\nnext\tcol\rover",
            },
        ]

    async def test_line_feed_and_tab_pass_in_multi_line_text(
        self, client: httpx.AsyncClient
    ) -> None:
        r = await client.post("/v1/things", json={"name": "a b", "note": "x\n\ty"}, headers=JSON)
        assert (r.status_code, r.json()) == (201, {"name": "a b", "note": "x\n\ty"})

    def test_lengths_keep_their_own_wording(self) -> None:
        with pytest.raises(ValidationError) as raised:
            Thing(name="x" * 21)
        assert field_errors(raised.value.errors()) == [
            {
                "pointer": "/name",
                "detail": "String should have at most 20 characters",
                "found": "x" * 21,
            }
        ]

    @pytest.mark.parametrize("char", ["\x00", "\x7f", "\x85", "\u009f"])
    def test_every_cc_character_is_refused(self, char: str) -> None:
        with pytest.raises(ValidationError):
            Thing(name=f"a{char}")

    def test_other_unprintable_characters_are_text(self) -> None:
        # A no-break space and a line separator are not controls (categories Zs and Zl).
        assert Thing(name="a\u00a0b\u2028c").name == "a\u00a0b\u2028c"


class TestLastResort:
    async def test_an_unexpected_error_is_a_logged_500_problem(
        self, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
    ) -> None:
        with caplog.at_level(logging.ERROR, logger="pp_shared.problems"):
            r = await client.post("/v1/boom", content=b'{"text": "private words"}', headers=JSON)
        assert r.status_code == 500
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json() == {
            "type": "https://policypulse.dev/problems/internal-error",
            "title": "Internal error",
            "status": 500,
            "detail": "the request failed on an unexpected error; it was logged",
            "instance": "/v1/boom",
        }
        (record,) = [r for r in caplog.records if r.name == "pp_shared.problems"]
        assert record.getMessage() == "unhandled error"
        assert (record.__dict__["method"], record.__dict__["route"]) == ("POST", "/v1/boom")
        assert record.__dict__["error"] == "RuntimeError"
        assert record.exc_info is not None
        assert "private words" not in caplog.text


class TestFieldErrors:
    def test_a_non_finite_number_found_is_written_as_text(self) -> None:
        finite: TypeAdapter[float] = TypeAdapter(Annotated[float, Field(allow_inf_nan=False)])
        with pytest.raises(ValidationError) as raised:
            finite.validate_python(float("nan"))
        # JSON has no NaN: the problem document must still render.
        assert field_errors(raised.value.errors()) == [
            {"pointer": "", "detail": "Input should be a finite number", "found": "nan"}
        ]


class TestAllowOn405:
    async def test_allow_names_every_method_of_the_path(self, client: httpx.AsyncClient) -> None:
        # /v1/things/{id} has DELETE; /v1/things/{id}/touch is another path: not counted.
        r = await client.request("OPTIONS", "/v1/things/7")
        assert r.status_code == 405
        assert r.headers["allow"] == "DELETE"
        both = await client.request("PATCH", "/v1/boom")
        assert both.status_code == 405
        assert both.headers["allow"] == "GET, POST"


class TestTimestamps:
    async def test_unix_seconds_are_not_a_timestamp(self, client: httpx.AsyncClient) -> None:
        for value in ("0", "1700000000", "yesterday"):
            r = await client.get("/v1/stamps", params={"since": value})
            assert r.status_code == 422
            assert r.json()["errors"] == [
                {
                    "pointer": "/query/since",
                    "detail": "not an RFC 3339 timestamp",
                    "expected": "RFC 3339 with offset, e.g. 2026-11-20T00:00:00Z",
                    "found": value,
                }
            ]
        ok = await client.get("/v1/stamps", params={"since": "2026-11-20T00:00:00+01:00"})
        assert ok.json() == {"since": "2026-11-20T00:00:00+01:00"}
