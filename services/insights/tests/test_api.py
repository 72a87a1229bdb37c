"""The query API: trends, the metric catalogue, volume, and CSV answers."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from pp_insights.metrics_def import METRICS
from pp_insights.queries.tabular import prefers_csv
from pp_insights_testing.harness import fold_events
from pp_insights_testing.samples import sample_events
from pp_shared.db import Pool


@pytest.fixture
async def api(client: httpx.AsyncClient, pool: Pool) -> httpx.AsyncClient:
    """A client on the data set of ``sample_events``."""
    await fold_events(pool, sample_events())
    return client


class TestTrends:
    async def test_rate_with_filters_and_two_groups(self, api: httpx.AsyncClient) -> None:
        r = await api.get(
            "/v1/insights/trends",
            params=[
                ("metric", "overturn_rate"),
                ("interval", "week"),
                ("group_by", "area"),
                ("group_by", "region"),
                ("region", "DE"),
                ("region", "FR"),
                ("from", "2026-11-18T12:00:00+01:00"),
                ("to", "2026-11-21T00:00:00Z"),
            ],
        )
        assert r.status_code == 200
        assert r.headers["content-type"] == "application/json"
        assert r.json() == {
            "metric": "overturn_rate",
            "kind": "rate",
            "unit": "ratio",
            "interval": "week",
            "group_by": ["area", "region"],
            "filters": {"region": ["DE", "FR"]},
            "from": "2026-11-16T00:00:00Z",
            "to": "2026-11-23T00:00:00Z",
            "rows": [
                {"bucket": "2026-11-16T00:00:00Z", "area": "HATE", "region": "DE",
                 "value": 0.666667, "numerator": 2, "denominator": 3,
                 "ci_low": 0.20766, "ci_high": 0.938508},
                {"bucket": "2026-11-16T00:00:00Z", "area": "VBDA", "region": "DE",
                 "value": 0.0, "numerator": 0, "denominator": 1,
                 "ci_low": 0.0, "ci_high": 0.793451},
            ],
            "launches": [],
        }  # fmt: skip

    async def test_latency_as_csv(self, api: httpx.AsyncClient) -> None:
        r = await api.get(
            "/v1/insights/trends",
            params={"metric": "decision_latency", "group_by": "clause_id"},
            headers={"accept": "text/csv"},
        )
        assert r.status_code == 200
        assert r.headers["content-type"] == "text/csv; charset=utf-8"
        assert r.text == (
            "bucket,clause_id,count,p50,p90\r\n"
            "2026-11-20T00:00:00Z,HATE.SLURS,2,108.4,1886.1\r\n"
            "2026-11-20T00:00:00Z,VBDA.THREATS,1,3445.2,3766.9\r\n"
            "2026-11-20T00:00:00Z,unclassified,1,5.3,5.8\r\n"
            "2026-11-21T00:00:00Z,HATE.SLURS,1,10.4,11.4\r\n"
        )

    async def test_rate_as_csv_groups_by_queue(self, api: httpx.AsyncClient) -> None:
        r = await api.get(
            "/v1/insights/trends",
            params={"metric": "policy_unclear_share", "group_by": "queue", "interval": "week"},
            headers={"accept": "application/json;q=0.5, text/csv"},
        )
        assert r.text == (
            "bucket,queue,value,numerator,denominator,ci_low,ci_high\r\n"
            "2026-11-16T00:00:00Z,,0.0,0,1,0.0,0.793451\r\n"
            "2026-11-16T00:00:00Z,hate-tier2,0.75,3,4,0.300642,0.954413\r\n"
            "2026-11-16T00:00:00Z,vbda-tier2,0.0,0,1,0.0,0.793451\r\n"
        )

    async def test_metric_catalogue(self, client: httpx.AsyncClient) -> None:
        r = await client.get("/v1/insights/metrics")
        assert r.status_code == 200
        catalogue = {m["name"]: m for m in r.json()}
        assert list(catalogue) == list(METRICS)
        assert catalogue["overturn_rate"] == {
            "name": "overturn_rate",
            "kind": "rate",
            "unit": "ratio",
            "description": "Appeals overturned (incl. partially) / appeals resolved.",
            "numerator": "appeals_overturned",
            "denominator": "appeals_resolved",
            "quantiles": None,
        }
        assert catalogue["decision_latency"]["quantiles"] == ["p50", "p90"]


class TestTrendProblems:
    @pytest.mark.parametrize(
        ("params", "pointers"),
        [
            ({}, ["/query/metric"]),
            ({"metric": "mean_latency"}, ["/query/metric"]),
            ({"metric": "volume", "interval": "month"}, ["/query/interval"]),
            ({"metric": "volume", "group_by": "moderator"}, ["/query/group_by/0"]),
            ({"metric": "volume", "group_by": ["region", "region"]}, ["/query/group_by"]),
            # An unknown parameter is refused before the others are looked at.
            ({"metric": "volume", "regoin": "DE", "from": "2026-11-20T00:00:00"},
             ["/query/regoin"]),
            ({"metric": "volume", "region": "DE", "from": "2026-11-20T00:00:00"},
             ["/query/from"]),
            ({"metric": "volume", "from": "2026-11-21T00:00:00Z", "to": "2026-11-20T00:00:00Z"},
             ["/query/to"]),
            ({"metric": "volume", "queue": "q" * 129}, ["/query/queue/0"]),
        ],
    )  # fmt: skip
    async def test_bad_queries_name_every_wrong_parameter(
        self, client: httpx.AsyncClient, params: dict[str, Any], pointers: list[str]
    ) -> None:
        r = await client.get("/v1/insights/trends", params=params)
        assert r.status_code == 422
        assert r.headers["content-type"] == "application/problem+json"
        body = r.json()
        assert body["type"] == "https://policypulse.dev/problems/validation-error"
        assert [e["pointer"] for e in body["errors"]] == pointers

    @pytest.mark.parametrize(
        ("params", "error"),
        [
            ({"from": "2026-11-20T00:00:00"},
             {"pointer": "/query/from", "detail": "timestamp without a time zone",
              "expected": "RFC 3339 with offset, e.g. 2026-11-20T00:00:00Z"}),
            ({"from": "2026-11-21T00:00:00Z", "to": "2026-11-21T00:00:00Z"},
             {"pointer": "/query/to", "detail": "must be later than from"}),
            ({"group_by": ["region", "region"]},
             {"pointer": "/query/group_by", "detail": "duplicate"}),
            ({"queue": "q" * 129},
             {"pointer": "/query/queue/0", "detail": "at most 128 characters"}),
            ({"region": [f"r{i}" for i in range(101)]},
             {"pointer": "/query/region", "detail": "at most 100 values"}),
        ],
    )  # fmt: skip
    async def test_each_rule_says_what_is_wrong(
        self, client: httpx.AsyncClient, params: dict[str, Any], error: dict[str, str]
    ) -> None:
        r = await client.get("/v1/insights/trends", params={"metric": "volume", **params})
        assert r.status_code == 422
        (found,) = r.json()["errors"]
        assert {k: found[k] for k in error} == error

    async def test_every_wrong_parameter_is_named_at_once(self, client: httpx.AsyncClient) -> None:
        r = await client.get(
            "/v1/insights/trends",
            params={"metric": "volume", "interval": "month", "from": "2026-11-20T00:00:00"},
        )
        assert [e["pointer"] for e in r.json()["errors"]] == ["/query/interval", "/query/from"]

    async def test_unknown_metric_lists_the_known_ones(self, client: httpx.AsyncClient) -> None:
        r = await client.get("/v1/insights/trends", params={"metric": "mean_latency"})
        assert r.json()["errors"] == [
            {
                "pointer": "/query/metric",
                "detail": "unknown metric",
                "expected": ", ".join(METRICS),
                "found": "mean_latency",
            }
        ]


class TestVolume:
    async def test_json_answer_keeps_its_fields(self, api: httpx.AsyncClient) -> None:
        # The first version's fields, and the range covered (none asked for: all of it).
        r = await api.get("/v1/insights/volume", params={"group_by": ["area", "region"]})
        assert r.json() == {
            "metric": "volume",
            "interval": "hour",
            "group_by": ["area", "region"],
            "from": None,
            "to": None,
            "rows": [
                {"bucket": "2026-11-20T10:00:00Z", "area": "HATE", "region": "DE", "volume": 2},
                {"bucket": "2026-11-20T10:00:00Z", "area": "HATE", "region": "FR", "volume": 1},
                {"bucket": "2026-11-20T10:00:00Z", "area": "VBDA", "region": "DE", "volume": 1},
                {"bucket": "2026-11-20T11:00:00Z", "area": "unclassified", "region": "DE",
                 "volume": 1},
                {"bucket": "2026-11-21T09:00:00Z", "area": "HATE", "region": "DE", "volume": 1},
            ],
        }  # fmt: skip

    async def test_csv(self, api: httpx.AsyncClient) -> None:
        r = await api.get(
            "/v1/insights/volume",
            params={"interval": "day", "group_by": "area", "from": "2026-11-21T00:00:00Z"},
            headers={"accept": "text/csv"},
        )
        assert r.headers["content-type"] == "text/csv; charset=utf-8"
        assert r.text == "bucket,area,volume\r\n2026-11-21T00:00:00Z,HATE,1\r\n"


class TestContentNegotiation:
    @pytest.mark.parametrize(
        ("accept", "csv"),
        [
            (None, False),
            ("*/*", False),
            ("application/json", False),
            ("text/csv", True),
            ("text/csv, */*", True),
            ("TEXT/CSV;charset=utf-8", True),
            ("text/csv, application/json", False),
            ("text/csv;q=0.4, application/json;q=0.5", False),
            ("text/csv;q=0.9, application/json;q=0.5", True),
            ("text/csv;q=0", False),
            ("text/csv;q=x", False),
        ],
    )
    def test_prefers_csv(self, accept: str | None, csv: bool) -> None:
        assert prefers_csv(accept) is csv
