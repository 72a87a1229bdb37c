"""Queries filtered by area, as the gateway scopes them for a key restricted to policy areas
(it adds ``area`` to every query of such a key): answers and CSV exports hold nothing of other
areas, drill-down examples included. On the data set of ``sample_events``: HATE is esc-1, 2, 3
and 5; VBDA is esc-4; esc-6 is unclassified."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from pp_insights_testing.harness import fold_events
from pp_insights_testing.samples import sample_events
from pp_shared.db import Pool

CSV = {"accept": "text/csv"}
DAY = {"from": "2026-11-21T00:00:00Z", "to": "2026-11-22T00:00:00Z"}
TWO_DAYS = {"from": "2026-11-20T00:00:00Z", "to": "2026-11-22T00:00:00Z"}
OTHERS = ("VBDA", "esc-4", "esc-6", "unclassified")


@pytest.fixture
async def api(client: httpx.AsyncClient, pool: Pool) -> httpx.AsyncClient:
    await fold_events(pool, sample_events())
    return client


async def answers(api: httpx.AsyncClient, path: str, params: Any) -> tuple[Any, str]:
    """The JSON and the CSV answer of one query, each checked to hold no other area."""
    as_json = await api.get(path, params=params)
    as_csv = await api.get(path, params=params, headers=CSV)
    assert (as_json.status_code, as_csv.status_code) == (200, 200)
    for other in OTHERS:
        assert other not in as_json.text
        assert other not in as_csv.text
    return as_json.json(), as_csv.text


class TestVolume:
    async def test_area_filters_volume(self, api: httpx.AsyncClient) -> None:
        params = {"group_by": ["area", "region"], "area": "HATE"}
        body, csv = await answers(api, "/v1/insights/volume", params)
        assert body == {
            "metric": "volume",
            "interval": "hour",
            "group_by": ["area", "region"],
            "from": None,
            "to": None,
            "rows": [
                {"bucket": "2026-11-20T10:00:00Z", "area": "HATE", "region": "DE", "volume": 2},
                {"bucket": "2026-11-20T10:00:00Z", "area": "HATE", "region": "FR", "volume": 1},
                {"bucket": "2026-11-21T09:00:00Z", "area": "HATE", "region": "DE", "volume": 1},
            ],
        }
        assert csv == (
            "bucket,area,region,volume\r\n"
            "2026-11-20T10:00:00Z,HATE,DE,2\r\n"
            "2026-11-20T10:00:00Z,HATE,FR,1\r\n"
            "2026-11-21T09:00:00Z,HATE,DE,1\r\n"
        )

    async def test_several_areas_and_an_area_without_data(self, api: httpx.AsyncClient) -> None:
        params: list[tuple[str, str | int | float | bool | None]] = [
            ("interval", "day"),
            ("group_by", "area"),
            ("area", "VBDA"),
            ("area", "HEX"),
        ]
        r = await api.get("/v1/insights/volume", params=params, headers=CSV)
        assert r.text == "bucket,area,volume\r\n2026-11-20T00:00:00Z,VBDA,1\r\n"
        r = await api.get("/v1/insights/volume", params={"area": "HEX"})
        assert r.json()["rows"] == []

    async def test_area_is_validated_as_in_the_other_queries(self, api: httpx.AsyncClient) -> None:
        r = await api.get("/v1/insights/volume", params={"area": "A" * 129})
        assert r.status_code == 422
        assert [e["pointer"] for e in r.json()["errors"]] == ["/query/area/0"]
        r = await api.get("/v1/insights/volume", params=[("area", "HATE")] * 101)
        assert [e["pointer"] for e in r.json()["errors"]] == ["/query/area"]


class TestOtherQueries:
    async def test_trends(self, api: httpx.AsyncClient) -> None:
        params = {"area": "HATE", "metric": "volume", "group_by": "clause_id", "interval": "day"}
        body, csv = await answers(api, "/v1/insights/trends", params)
        assert body["filters"] == {"area": ["HATE"]}
        assert csv == (
            "bucket,clause_id,value\r\n"
            "2026-11-20T00:00:00Z,HATE.SLURS,3\r\n"
            "2026-11-21T00:00:00Z,HATE.SLURS,1\r\n"
        )

    async def test_cards(self, api: httpx.AsyncClient) -> None:
        body, csv = await answers(api, "/v1/insights/cards", {**TWO_DAYS, "area": "HATE"})
        assert body["scope"] == {"area": ["HATE"]}
        assert csv.splitlines()[1:] == [
            "volume,value,count,4,0,4,4,0,,,,,,,2.092014,0.036437,true",
            "policy_unclear_share,value,rate,0.75,,,4,0,3,0,0.300642,0.954413,,,,,",
            "overturn_rate,value,rate,0.666667,,,3,0,2,0,0.20766,0.938508,,,,,",
            "qa_disagreement_rate,value,rate,0.333333,,,3,0,1,0,0.061492,0.79234,,,,,",
            "decision_latency,p50,quantiles,97.0,,,3,0,,,,,,,,,",
            "decision_latency,p90,quantiles,1844.5,,,3,0,,,,,,,,,",
            "tagging_agreement,value,rate,0.666667,,,3,0,2,0,0.20766,0.938508,,,,,",
        ]

    async def test_movers(self, api: httpx.AsyncClient) -> None:
        params = {**DAY, "area": "HATE", "metric": "volume", "dimension": "area", "min_sample": 1}
        body, csv = await answers(api, "/v1/insights/movers", params)
        assert (body["scope"], body["candidates"], body["eligible"]) == ({"area": ["HATE"]}, 1, 1)
        assert csv == (
            "area,current,previous,change,score,p_value,q_value,significant\r\n"
            "HATE,1,3,-2,-0.939764,0.347339,0.347339,false\r\n"
        )

    async def test_drilldown_examples_are_of_the_area_only(self, api: httpx.AsyncClient) -> None:
        params: dict[str, Any] = {
            **DAY,
            "area": "HATE",
            "metric": "volume",
            "examples": 5,
            "dimension": ["region", "clause_id"],
        }
        body, csv = await answers(api, "/v1/insights/drilldown", params)
        assert body == {
            "scope": {"area": ["HATE"]},
            "from": "2026-11-21T00:00:00Z",
            "to": "2026-11-22T00:00:00Z",
            "previous_from": "2026-11-20T00:00:00Z",
            "previous_to": "2026-11-21T00:00:00Z",
            "metric": "volume",
            "kind": "count",
            "total": {"current": 1, "previous": 3, "change": -2},
            "rows": [
                {"dimension": "region", "value": "DE", "current": 1, "previous": 2,
                 "change": -1, "current_share": 1.0, "previous_share": 0.666667,
                 "contribution": -1.0, "share_of_change": 0.5, "examples": ["esc-2", "esc-1"]},
                {"dimension": "region", "value": "FR", "current": 0, "previous": 1,
                 "change": -1, "current_share": 0.0, "previous_share": 0.333333,
                 "contribution": -1.0, "share_of_change": 0.5, "examples": ["esc-3"]},
                {"dimension": "clause_id", "value": "HATE.SLURS", "current": 1, "previous": 3,
                 "change": -2, "current_share": 1.0, "previous_share": 1.0,
                 "contribution": -2.0, "share_of_change": 1.0,
                 "examples": ["esc-3", "esc-2", "esc-1"]},
            ],
        }  # fmt: skip
        assert csv.splitlines()[1:] == [
            "region,DE,1,2,-1,1.0,0.666667,-1.0,0.5,esc-2 esc-1",
            "region,FR,0,1,-1,0.0,0.333333,-1.0,0.5,esc-3",
            "clause_id,HATE.SLURS,1,3,-2,1.0,1.0,-2.0,1.0,esc-3 esc-2 esc-1",
        ]
        # The same drill-down without the filter names the other areas' escalations.
        unfiltered = await api.get("/v1/insights/drilldown", params={**params, "area": []})
        assert unfiltered.json()["rows"][0]["examples"] == ["esc-6", "esc-4", "esc-2", "esc-1"]
