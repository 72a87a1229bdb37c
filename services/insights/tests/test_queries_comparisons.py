"""Cards and drill-down on data sets worked out by hand."""

from __future__ import annotations

from typing import Any, ClassVar

import httpx
import pytest

from pp_insights_testing.harness import fold_events
from pp_shared.db import Pool
from pp_shared.testing.samples import appeal

from .comparisons_support import DAY, regions, sample

__all__ = ["regions", "sample"]  # fixtures

NOV_21 = {"from": "2026-11-21T00:00:00Z", "to": "2026-11-22T00:00:00Z"}


def _none(**over: Any) -> dict[str, Any]:
    return {"z": None, "p_value": None, "significant": None, **over}


class TestCard:
    # HATE.SLURS: on the 21st esc-5 alone (policy_unclear, decided after 10 s, tag agrees);
    # on the 20th esc-1..3 (2 of 3 policy_unclear, appeals 2 of 3 overturned, QA 1 of 3
    # disagrees, 2 decided after 1800 s and 100 s, 1 of the 2 tags agrees).
    # volume z = sqrt(2) (sqrt(1.375) - sqrt(3.375)) = -0.939764.
    # policy_unclear 1/1 vs 2/3: pooled 3/4, sd = sqrt(3/16 * 4/3) = 1/2, z = (1/3) / (1/2).
    # tagging 1/1 vs 1/2: pooled 2/3, sd = sqrt(2/9 * 3/2) = 0.57735, z = 0.5 / 0.57735.
    EXPECTED: ClassVar[list[dict[str, Any]]] = [
        {"metric": "volume", "statistic": "value", "kind": "count", "current": 1,
         "previous": 3, "change": -2, "current_sample": 1, "previous_sample": 3,
         "z": -0.939764, "p_value": 0.347339, "significant": False},
        {"metric": "policy_unclear_share", "statistic": "value", "kind": "rate",
         "current": 1.0, "previous": 0.666667, "change": 0.333333, "current_sample": 1,
         "previous_sample": 3, "current_numerator": 1, "previous_numerator": 2,
         "current_ci_low": 0.206549, "current_ci_high": 1.0, "previous_ci_low": 0.20766,
         "previous_ci_high": 0.938508, "z": 0.666667, "p_value": 0.504985,
         "significant": False},
        {"metric": "overturn_rate", "statistic": "value", "kind": "rate", "current": None,
         "previous": 0.666667, "change": None, "current_sample": 0, "previous_sample": 3,
         "current_numerator": 0, "previous_numerator": 2, "current_ci_low": None,
         "current_ci_high": None, "previous_ci_low": 0.20766, "previous_ci_high": 0.938508,
         **_none()},
        {"metric": "qa_disagreement_rate", "statistic": "value", "kind": "rate",
         "current": None, "previous": 0.333333, "change": None, "current_sample": 0,
         "previous_sample": 3, "current_numerator": 0, "previous_numerator": 1,
         "current_ci_low": None, "current_ci_high": None, "previous_ci_low": 0.061492,
         "previous_ci_high": 0.79234, **_none()},
        # The quantiles of test_facts_fold: 10 s answers 10.4 and 11.4 alone.
        {"metric": "decision_latency", "statistic": "p50", "kind": "quantiles",
         "current": 10.4, "previous": 108.4, "change": -98.0, "current_sample": 1,
         "previous_sample": 2, **_none()},
        {"metric": "decision_latency", "statistic": "p90", "kind": "quantiles",
         "current": 11.4, "previous": 1886.1, "change": -1874.7, "current_sample": 1,
         "previous_sample": 2, **_none()},
        {"metric": "tagging_agreement", "statistic": "value", "kind": "rate", "current": 1.0,
         "previous": 0.5, "change": 0.5, "current_sample": 1, "previous_sample": 2,
         "current_numerator": 1, "previous_numerator": 1, "current_ci_low": 0.206549,
         "current_ci_high": 1.0, "previous_ci_low": 0.094531, "previous_ci_high": 0.905469,
         "z": 0.866025, "p_value": 0.386476, "significant": False},
    ]  # fmt: skip

    async def test_clause_against_the_previous_day(self, sample: httpx.AsyncClient) -> None:
        r = await sample.get("/v1/insights/cards", params={"clause_id": "HATE.SLURS", **NOV_21})
        assert r.status_code == 200
        body = r.json()
        assert body["rows"] == self.EXPECTED
        assert {k: v for k, v in body.items() if k not in ("rows", "significance")} == {
            "scope": {"clause_id": ["HATE.SLURS"]},
            "from": "2026-11-21T00:00:00Z",
            "to": "2026-11-22T00:00:00Z",
            "previous_from": "2026-11-20T00:00:00Z",
            "previous_to": "2026-11-21T00:00:00Z",
        }

    async def test_area_with_one_clause_equals_the_clause(self, sample: httpx.AsyncClient) -> None:
        r = await sample.get("/v1/insights/cards", params={"area": "HATE", **NOV_21})
        assert r.json()["rows"] == self.EXPECTED

    async def test_hours_and_csv(self, sample: httpx.AsyncClient) -> None:
        # 10:00-11:00 on the 20th (esc-1, esc-2 of HATE.SLURS in DE) against 09:00-10:00
        # (nothing): the bounds are cut to whole hours.
        r = await sample.get(
            "/v1/insights/cards",
            params={
                "clause_id": "HATE.SLURS",
                "region": "DE",
                "from": "2026-11-20T10:30:00Z",
                "to": "2026-11-20T11:00:00Z",
            },
            headers={"accept": "text/csv"},
        )
        assert r.headers["content-type"] == "text/csv; charset=utf-8"
        lines = r.text.split("\r\n")
        assert lines[0] == (
            "metric,statistic,kind,current,previous,change,current_sample,previous_sample,"
            "current_numerator,previous_numerator,current_ci_low,current_ci_high,"
            "previous_ci_low,previous_ci_high,z,p_value,significant"
        )
        # sqrt(2) (sqrt(2.375) - sqrt(0.375)) = 1.313424
        assert lines[1] == "volume,value,count,2,0,2,2,0,,,,,,,1.313424,0.18904,false"
        # Both were policy_unclear; the previous hour has no sample, so nothing to compare.
        assert lines[2] == ("policy_unclear_share,value,rate,1.0,,,2,0,2,0,0.34238,1.0,,,,,")

    @pytest.mark.parametrize(
        ("params", "pointers"),
        [
            (NOV_21, ["/query/clause_id"]),
            ({"clause_id": "HATE.SLURS"}, ["/query/from", "/query/to"]),
            ({"clause_id": "HATE.SLURS", "regoin": "DE", **NOV_21}, ["/query/regoin"]),
            ({"area": "HATE", "from": "2026-11-21T00:00:00Z", "to": "2026-11-20T00:00:00Z"},
             ["/query/to"]),
            ({"area": "HATE", "from": "2025-01-01T00:00:00Z", "to": "2026-11-20T00:00:00Z"},
             ["/query/to"]),
            ({"area": "HATE", "from": "2026-11-21T00:00:00", "to": "2026-11-22T00:00:00Z"},
             ["/query/from"]),
        ],
    )  # fmt: skip
    async def test_bad_queries(
        self, client: httpx.AsyncClient, params: dict[str, Any], pointers: list[str]
    ) -> None:
        r = await client.get("/v1/insights/cards", params=params)
        assert r.status_code == 422
        assert r.headers["content-type"] == "application/problem+json"
        assert [e["pointer"] for e in r.json()["errors"]] == pointers


class TestDrilldown:
    # Overall 61/144 -> 124/244; change 0.508197 - 0.423611 = 0.084586. Per region, with
    # w = share of the period's escalations and r = its rate, mean rate m = 0.465904:
    # DE w 40/144 -> 40/244, r 0.25 -> 0.75: rate (0.5)(0.277778 + 0.163934)/2 = 0.110428,
    #    mix (0.163934 - 0.277778)(0.5 - m) = -0.003882;
    # US w 100/144 -> 200/244, r 0.5 -> 0.45: rate -0.05 (1.514117)/2 = -0.037853,
    #    mix (0.125228)(0.475 - m) = 0.001139;
    # FR w 4/144 -> 4/244, r 0.25 -> 1: rate 0.75 (0.044171)/2 = 0.016564,
    #    mix (-0.011385)(0.625 - m) = -0.001811.
    ROWS: ClassVar[list[dict[str, Any]]] = [
        {"dimension": "region", "value": "DE", "current": 0.75, "previous": 0.25,
         "change": 0.5, "current_numerator": 30, "current_denominator": 40,
         "previous_numerator": 10, "previous_denominator": 40, "current_share": 0.163934,
         "previous_share": 0.277778, "rate_effect": 0.110428, "mix_effect": -0.003882,
         "contribution": 0.106546, "share_of_change": 1.259628,
         "examples": ["DE-2026-11-20-029", "DE-2026-11-20-028"]},
        # US lowered the rate: its examples are escalations that were not policy_unclear.
        {"dimension": "region", "value": "US", "current": 0.45, "previous": 0.5,
         "change": -0.05, "current_numerator": 90, "current_denominator": 200,
         "previous_numerator": 50, "previous_denominator": 100, "current_share": 0.819672,
         "previous_share": 0.694444, "rate_effect": -0.037853, "mix_effect": 0.001139,
         "contribution": -0.036714, "share_of_change": -0.434043,
         "examples": ["US-2026-11-20-199", "US-2026-11-20-198"]},
        {"dimension": "region", "value": "FR", "current": 1.0, "previous": 0.25,
         "change": 0.75, "current_numerator": 4, "current_denominator": 4,
         "previous_numerator": 1, "previous_denominator": 4, "current_share": 0.016393,
         "previous_share": 0.027778, "rate_effect": 0.016564, "mix_effect": -0.001811,
         "contribution": 0.014753, "share_of_change": 0.174415,
         "examples": ["FR-2026-11-20-003", "FR-2026-11-20-002"]},
    ]  # fmt: skip

    async def test_rate_change_by_region(self, regions: httpx.AsyncClient) -> None:
        params: dict[str, Any] = {
            "metric": "policy_unclear_share",
            "dimension": "region",
            "examples": 2,
        }
        r = await regions.get("/v1/insights/drilldown", params={**params, **DAY})
        assert r.status_code == 200
        body = r.json()
        assert body["rows"] == self.ROWS
        # 124/244 vs 61/144, pooled 185/388.
        assert body["total"] == {
            "current": 0.508197, "previous": 0.423611, "change": 0.084586,
            "current_numerator": 124, "current_denominator": 244,
            "previous_numerator": 61, "previous_denominator": 144,
            "z": 1.61159, "p_value": 0.107051, "significant": False,
        }  # fmt: skip
        assert round(sum(row["contribution"] for row in body["rows"]), 5) == 0.08459

    async def test_every_dimension_the_scope_leaves_open(self, regions: httpx.AsyncClient) -> None:
        r = await regions.get(
            "/v1/insights/drilldown",
            params={"metric": "volume", "clause_id": "HATE.SLURS", "limit": 1, "examples": 1,
                    **DAY},
        )  # fmt: skip
        rows = r.json()["rows"]
        # clause_id is pinned by the scope; US brought 100 of the 100 more escalations.
        assert [(row["dimension"], row["value"]) for row in rows] == [
            ("area", "HATE"),
            ("region", "US"),
            ("language", "us"),
            ("product_feature", "comments"),
            ("queue", "hate-tier2"),
            ("escalation_reason", "policy_unclear"),
        ]
        assert rows[1] == {
            "dimension": "region", "value": "US", "current": 200, "previous": 100,
            "change": 100, "current_share": 0.819672, "previous_share": 0.694444,
            "contribution": 100.0, "share_of_change": 1.0,
            "examples": ["US-2026-11-20-199"],
        }  # fmt: skip
        # policy_unclear 61 -> 124 (+63) explains more than other 83 -> 120 (+37).
        assert rows[5]["change"] == 63

    async def test_csv_joins_examples(self, regions: httpx.AsyncClient) -> None:
        r = await regions.get(
            "/v1/insights/drilldown",
            params={"metric": "policy_unclear_share", "dimension": "region", "examples": 2,
                    "limit": 1, **DAY},
            headers={"accept": "text/csv"},
        )  # fmt: skip
        assert r.text == (
            "dimension,value,current,previous,change,current_numerator,current_denominator,"
            "previous_numerator,previous_denominator,current_share,previous_share,"
            "rate_effect,mix_effect,contribution,share_of_change,examples\r\n"
            "region,DE,0.75,0.25,0.5,30,40,10,40,0.163934,0.277778,0.110428,-0.003882,"
            "0.106546,1.259628,DE-2026-11-20-029 DE-2026-11-20-028\r\n"
        )

    async def test_no_sample_in_a_period_has_no_decomposition(
        self, regions: httpx.AsyncClient
    ) -> None:
        r = await regions.get("/v1/insights/drilldown", params={"metric": "overturn_rate", **DAY})
        body = r.json()
        assert body["rows"] == []
        assert body["total"]["change"] is None

    async def test_values_missing_from_a_period(
        self, sample: httpx.AsyncClient, pool: Pool
    ) -> None:
        await fold_events(
            pool,
            [appeal(event_id="a5", escalation_id="esc-5", appeal_id="ap-5", outcome="overturned")],
        )
        r = await sample.get(
            "/v1/insights/drilldown",
            params={"metric": "overturn_rate", "dimension": "clause_id", **NOV_21},
        )
        # 1/1 overturned on the 21st (esc-5) against 2/4 on the 20th: change 0.5, mean 0.75.
        # HATE.SLURS w 3/4 -> 1, r 2/3 -> 1: rate (1/3)(1.75)/2, mix (1/4)(5/6 - 0.75).
        # VBDA.THREATS (0/1 on the 20th only) keeps its rate 0: mix (-1/4)(0 - 0.75) = 0.1875.
        # unclassified (esc-6) had no appeal in either period: no rate, no contribution.
        assert [
            (row["value"], row["rate_effect"], row["mix_effect"], row["contribution"],
             row["examples"])
            for row in r.json()["rows"]
        ] == [
            ("HATE.SLURS", 0.291667, 0.020833, 0.3125, ["esc-5"]),
            ("VBDA.THREATS", 0.0, 0.1875, 0.1875, []),
            ("unclassified", 0.0, 0.0, 0.0, []),
        ]  # fmt: skip

    @pytest.mark.parametrize(
        ("params", "pointers"),
        [
            ({"metric": "decision_latency"}, ["/query/metric"]),
            ({"metric": "volume", "dimension": ["region", "region"]}, ["/query/dimension"]),
            ({"metric": "volume", "examples": 21}, ["/query/examples"]),
            ({"metric": "volume", "group_by": "region"}, ["/query/group_by"]),
        ],
    )
    async def test_bad_queries(
        self, client: httpx.AsyncClient, params: dict[str, Any], pointers: list[str]
    ) -> None:
        r = await client.get("/v1/insights/drilldown", params={**params, **DAY})
        assert r.status_code == 422
        assert [e["pointer"] for e in r.json()["errors"]] == pointers
