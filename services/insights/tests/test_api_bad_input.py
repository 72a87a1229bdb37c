"""Bad HTTP input is a clear 4xx problem document, never a 500 or a silently different answer:
integers outside bigint, unknown query parameters, control characters in free text, bodies
of the wrong media type or over the limit; and CSV answers never carry a live formula."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
import pytest

from pp_insights.alerts.tables import Breach
from pp_insights.queries.tabular import to_csv
from pp_insights_testing.harness import fold_events
from pp_shared.db import Pool
from pp_shared.records import Records
from pp_shared.testing.samples import escalation

JSON = {"content-type": "application/json"}
TOO_BIG = "9223372036854775808"  # 2**63, one past the largest bigint
LE_ID = "Input should be less than or equal to 9007199254740991"
LE_BIGINT = "Input should be less than or equal to 9223372036854775807"
FORMULAS = ['=HYPERLINK("http://evil","x")', "+1", "-2", "@SUM(A1)"]


def rule(**over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "hate-unclear",
        "name": "HATE policy-unclear share",
        "metric": "policy_unclear_share",
        "scope": {"area": "HATE"},
        "window": "24h",
        "condition": {"kind": "threshold", "op": ">", "threshold": 0.3},
    }
    body.update(over)
    return body


def pointers(r: httpx.Response) -> list[tuple[str, str]]:
    return [(e["pointer"], e["detail"]) for e in r.json()["errors"]]


async def open_breach(database_url: str) -> int:
    """An open breach, written as evaluation writes one (the client's app is migrated)."""
    at = datetime(2026, 11, 20, 10, tzinfo=UTC)
    records = Records(database_url)
    try:
        async with records.transaction() as session:
            breach = Breach(
                rule_id="hate-unclear",
                rule_version=1,
                fingerprint="f1",
                scope={"filters": {}, "group": {}},
                state="pending",
                severity="medium",
                opened_at=at,
                last_breaching_at=at,
                last_evaluated_at=at,
                evidence={"value": 0.5},
                peak_evidence={"value": 0.5},
            )
            session.add(breach)
            await session.flush()
            return breach.id
    finally:
        await records.close()


RANGE = {"from": "2026-11-01T00:00:00Z", "to": "2026-11-08T00:00:00Z"}


class TestCsvFormulas:
    async def test_text_cells_that_a_spreadsheet_would_run_are_quoted(
        self, client: httpx.AsyncClient, pool: Pool
    ) -> None:
        await fold_events(
            pool,
            [
                escalation(event_id=f"e{i}", escalation_id=f"esc-{i}", queue=queue)
                for i, queue in enumerate([*FORMULAS, "hate-tier2"])
            ],
        )
        r = await client.get(
            "/v1/insights/volume",
            params={"interval": "day", "group_by": "queue"},
            headers={"accept": "text/csv"},
        )
        assert r.status_code == 200
        assert r.text == (
            "bucket,queue,volume\r\n"
            "2026-11-20T00:00:00Z,'+1,1\r\n"
            "2026-11-20T00:00:00Z,'-2,1\r\n"
            '2026-11-20T00:00:00Z,"\'=HYPERLINK(""http://evil"",""x"")",1\r\n'
            "2026-11-20T00:00:00Z,'@SUM(A1),1\r\n"
            "2026-11-20T00:00:00Z,hate-tier2,1\r\n"
        )
        # The JSON answer is the data as it is.
        plain = await client.get(
            "/v1/insights/volume", params={"interval": "day", "group_by": "queue"}
        )
        assert [row["queue"] for row in plain.json()["rows"]] == [
            "+1", "-2", '=HYPERLINK("http://evil","x")', "@SUM(A1)", "hate-tier2",
        ]  # fmt: skip

    def test_every_formula_start_and_numbers_left_alone(self) -> None:
        rows: list[dict[str, Any]] = [
            {"text": "\tx", "number": -5, "ratio": -0.25},
            {"text": "\rx", "number": 3, "ratio": 1.5},
            {"text": ["=a", "b"], "number": None, "ratio": -1e-07},
            {"text": "a=b", "number": 0, "ratio": 0.0},
        ]
        assert to_csv(["text", "number", "ratio"], rows) == (
            "text,number,ratio\r\n'\tx,-5,-0.25\r\n\"'\rx\",3,1.5\r\n'=a b,,-1e-07\r\na=b,0,0.0\r\n"
        )


class TestUnknownQueryParameters:
    async def test_a_misspelt_or_unsupported_filter_never_widens_volume(
        self, client: httpx.AsyncClient
    ) -> None:
        r = await client.get(
            "/v1/insights/volume", params={"region": "DE", "queue": "q", "bogus": "1"}
        )
        expected = "interval, group_by, from, to, area"
        assert r.status_code == 422
        assert r.json() == {
            "type": "https://policypulse.dev/problems/validation-error",
            "title": "The request does not match the contract",
            "status": 422,
            "detail": "3 unknown query parameter(s)",
            "instance": "/v1/insights/volume",
            "errors": [
                {"pointer": f"/query/{name}", "detail": "unknown parameter", "expected": expected}
                for name in ("region", "queue", "bogus")
            ],
        }

    @pytest.mark.parametrize(
        ("path", "params", "expected"),
        [
            ("/v1/insights/trends", {"metric": "volume", "regoin": "DE"},
             "metric, interval, group_by, from, to, area, clause_id, region, language, "
             "product_feature, queue, escalation_reason"),
            ("/v1/insights/metrics", {"kind": "rate"}, "no query parameters"),
            ("/v1/rules", {"enabled": "true"}, "no query parameters"),
            ("/v1/breaches", {"rule": "x"}, "state, rule_id, before, limit"),
        ],
    )  # fmt: skip
    async def test_every_query_endpoint(
        self, client: httpx.AsyncClient, path: str, params: dict[str, str], expected: str
    ) -> None:
        r = await client.get(path, params=params)
        assert r.status_code == 422
        (unknown,) = [n for n in params if n not in expected.split(", ")]
        assert r.json()["errors"] == [
            {"pointer": f"/query/{unknown}", "detail": "unknown parameter", "expected": expected}
        ]

    @pytest.mark.parametrize(
        ("path", "params"),
        [
            ("/v1/insights/trends", {"metric": "volume"}),
            ("/v1/calibration/production/agreement/moderators", {}),
        ],
    )
    async def test_a_control_character_in_a_filter_is_a_field_error(
        self, client: httpx.AsyncClient, path: str, params: dict[str, str]
    ) -> None:
        # Postgres refuses a NUL in text: it must never get that far.
        r = await client.get(path, params={**params, "region": "D\x00E", **RANGE})
        assert r.status_code == 422, r.text
        assert [e["pointer"] for e in r.json()["errors"]] == ["/query/region/0"]

    async def test_declared_filters_still_pass(self, client: httpx.AsyncClient) -> None:
        r = await client.get(
            "/v1/insights/cards",
            params={"area": "HATE", "from": "2026-11-01T00:00:00Z", "to": "2026-11-08T00:00:00Z"},
        )
        assert r.status_code == 200


class TestIntegersOutsideBigint:
    @pytest.mark.parametrize(
        ("method", "path", "pointer"),
        [
            ("GET", f"/v1/breaches?before={TOO_BIG}", "/query/before"),
            ("GET", f"/v1/breaches/{TOO_BIG}", "/path/breach_id"),
            ("POST", f"/v1/breaches/{TOO_BIG}/ack", "/path/breach_id"),
            ("POST", f"/v1/breaches/{TOO_BIG}/silence", "/path/breach_id"),
            ("DELETE", f"/v1/breaches/{TOO_BIG}/silence", "/path/breach_id"),
        ],
    )
    async def test_breach_ids(
        self, client: httpx.AsyncClient, method: str, path: str, pointer: str
    ) -> None:
        body = {"for": "1h", "reason": "r"} if path.endswith("/silence") else None
        json_headers = JSON if method == "POST" else {}
        r = await client.request(method, path, json=body, headers=json_headers)
        assert r.status_code == 422
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["errors"] == [{"pointer": pointer, "detail": LE_ID, "found": TOO_BIG}]

    async def test_a_rule_sample_size(self, client: httpx.AsyncClient) -> None:
        r = await client.post("/v1/rules", json=rule(min_sample=2**63), headers=JSON)
        assert r.status_code == 422
        assert pointers(r) == [("/body/min_sample", LE_BIGINT)]


class TestRuleNumbers:
    async def test_nan_and_infinity_are_refused(self, client: httpx.AsyncClient) -> None:
        body = orjson.dumps(rule(condition={"kind": "threshold", "threshold": "@"}, quantile="@"))
        body = body.replace(b'"threshold":"@"', b'"threshold":NaN')
        body = body.replace(b'"quantile":"@"', b'"quantile":Infinity')
        r = await client.post("/v1/rules", content=body, headers=JSON)
        assert r.status_code == 422
        assert pointers(r) == [
            ("/body/quantile", "Input should be a finite number"),
            ("/body/condition/threshold", "Input should be a finite number"),
        ]
        assert (await client.get("/v1/rules")).json() == {"rules": []}


class TestControlCharacters:
    async def test_rule_name_description_and_scope(self, client: httpx.AsyncClient) -> None:
        r = await client.post(
            "/v1/rules",
            json=rule(
                name="HATE\n[resolved] all clear",
                description="Watch the share.\n\tThen \x1b[2Jclear the screen.",
                scope={"queue": ["hate\r"]},
            ),
            headers=JSON,
        )
        assert r.status_code == 422
        assert pointers(r) == [
            ("/body/name", "control character U+000A at position 4"),
            ("/body/description", "control character U+001B at position 23 "
                                  "(only line feed and tab are allowed here)"),
            ("/body/scope/queue/0", "control character U+000D at position 4"),
        ]  # fmt: skip

    async def test_a_multi_line_description_is_fine(self, client: httpx.AsyncClient) -> None:
        r = await client.post(
            "/v1/rules", json=rule(description="Line one.\n\tLine two."), headers=JSON
        )
        assert r.status_code == 201
        assert r.json()["spec"]["description"] == "Line one.\n\tLine two."

    async def test_acknowledgement_note_and_silence_reason(
        self, client: httpx.AsyncClient, database_url: str
    ) -> None:
        breach_id = await open_breach(database_url)
        ack = await client.post(
            f"/v1/breaches/{breach_id}/ack", json={"note": "ok\x07"}, headers=JSON
        )
        silence = await client.post(
            f"/v1/breaches/{breach_id}/silence",
            json={"for": "1h", "reason": "deploy\nping @channel"},
            headers=JSON,
        )
        assert pointers(ack) == [
            ("/body/note", "control character U+0007 at position 2 "
                           "(only line feed and tab are allowed here)")
        ]  # fmt: skip
        assert pointers(silence) == [("/body/reason", "control character U+000A at position 6")]
        fine = await client.post(
            f"/v1/breaches/{breach_id}/ack", json={"note": "seen.\nOn it."}, headers=JSON
        )
        assert fine.status_code == 200
        assert fine.json()["timeline"][-1]["detail"] == {"note": "seen.\nOn it."}


class TestWritesABrowserCouldForge:
    async def test_a_form_post_does_not_acknowledge_a_breach(
        self, client: httpx.AsyncClient, database_url: str
    ) -> None:
        breach_id = await open_breach(database_url)
        for content_type in ("application/x-www-form-urlencoded", "text/plain"):
            r = await client.post(
                f"/v1/breaches/{breach_id}/ack", headers={"content-type": content_type}
            )
            assert r.status_code == 415
            assert r.json() == {
                "type": "https://policypulse.dev/problems/unsupported-media-type",
                "title": "The body's media type is not one this endpoint reads",
                "status": 415,
                "detail": "the Content-Type must be one of: application/json, application/*+json",
                "instance": f"/v1/breaches/{breach_id}/ack",
                "errors": [
                    {
                        "pointer": "/headers/content-type",
                        "detail": "not a media type this endpoint reads",
                        "expected": "application/json, application/*+json",
                        "found": content_type,
                    }
                ],
            }
        bare = await client.post(f"/v1/breaches/{breach_id}/ack")
        assert bare.status_code == 415
        assert (await client.get(f"/v1/breaches/{breach_id}")).json()["acknowledged_at"] is None
        acked = await client.post(f"/v1/breaches/{breach_id}/ack", headers=JSON)
        assert (acked.status_code, acked.json()["acknowledged_by"]) == (200, "api")

    async def test_a_rule_sent_as_text_is_refused(self, client: httpx.AsyncClient) -> None:
        r = await client.post(
            "/v1/rules", content=orjson.dumps(rule()), headers={"content-type": "text/plain"}
        )
        assert r.status_code == 415
        assert (await client.get("/v1/rules")).json() == {"rules": []}

    async def test_a_delete_without_a_body_needs_no_type(self, client: httpx.AsyncClient) -> None:
        assert (await client.post("/v1/rules", json=rule())).status_code == 201
        assert (await client.delete("/v1/rules/hate-unclear")).status_code == 204


class TestBodyLimit:
    async def test_a_body_over_a_mebibyte_is_413(self, client: httpx.AsyncClient) -> None:
        big = orjson.dumps(rule(description="x" * (1024 * 1024)))
        r = await client.post("/v1/rules/preview", content=big, headers=JSON)
        assert r.status_code == 413
        assert r.json() == {
            "type": "https://policypulse.dev/problems/payload-too-large",
            "title": "Request body too large",
            "status": 413,
            "detail": "the body may be at most 1048576 bytes",
            "instance": "/v1/rules/preview",
        }
