"""Top movers on data sets worked out by hand: ranked by significance with a
Benjamini-Hochberg correction, values below the minimum sample listed apart."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from pp_insights_testing.harness import fold_events
from pp_shared.db import Pool

from .comparisons_support import DAY, overturn_events, regions

__all__ = ["regions"]  # a fixture


def _mover(region: str, x1: int, n1: int, x0: int, n0: int, z: float, p: float, q: float) -> Any:
    return {
        "region": region,
        "current": round(x1 / n1, 6),
        "previous": round(x0 / n0, 6),
        "change": round(x1 / n1 - x0 / n0, 6),
        "current_numerator": x1,
        "current_denominator": n1,
        "previous_numerator": x0,
        "previous_denominator": n0,
        "score": z,
        "p_value": p,
        "q_value": q,
        "significant": q < 0.05,
    }


# Two-proportion z, pooled: DE 30/40 vs 10/40: p = 1/2, sd = sqrt(1/4 * 2/40), z = 0.5 / sd;
# FR 4/4 vs 1/4: p = 5/8, sd = sqrt(15/64 * 1/2), z = 0.75 / sd; US 90/200 vs 50/100:
# p = 140/300, sd = sqrt(p (1 - p) * 3/200), z = -0.05 / sd.
# Benjamini-Hochberg over the m values tested: q of the k-th smallest p is the smallest
# p_j * m / j over j >= k. DE and US tested: q 7.74e-06 * 2 = 1.5e-05 and 0.413176; all three:
# DE 7.74e-06 * 3 = 2.3e-05, FR 0.02846 * 3/2 = 0.04269, US 0.413176.
DE = _mover("DE", 30, 40, 10, 40, 4.472136, 8e-06, 2.3e-05)
FR = _mover("FR", 4, 4, 1, 4, 2.19089, 0.02846, 0.04269)
US = _mover("US", 90, 200, 50, 100, -0.818317, 0.413176, 0.413176)


class TestMovers:
    async def test_rates_ranked_by_z_small_samples_left_out(
        self, regions: httpx.AsyncClient
    ) -> None:
        params: dict[str, Any] = {
            "metric": "policy_unclear_share",
            "dimension": "region",
            "min_sample": 5,
        }
        r = await regions.get("/v1/insights/movers", params={**params, **DAY})
        assert r.status_code == 200
        body = r.json()
        # FR's +300% on 4 escalations is listed apart, below min_sample; US's fall is not
        # significant.
        assert body["rows"] == [{**DE, "q_value": 1.5e-05}, US]
        assert (body["candidates"], body["eligible"], body["min_sample"]) == (3, 2, 5)
        fr = {k: v for k, v in FR.items() if k not in ("score", "p_value", "q_value")}
        assert body["below_sample"] == [{k: v for k, v in fr.items() if k != "significant"}]
        assert body["previous_from"] == "2026-11-19T00:00:00Z"

    async def test_small_sample_ranks_by_its_z(self, regions: httpx.AsyncClient) -> None:
        params: dict[str, Any] = {
            "metric": "policy_unclear_share",
            "dimension": "region",
            "min_sample": 1,
        }
        r = await regions.get("/v1/insights/movers", params={**params, **DAY})
        assert r.json()["rows"] == [DE, FR, US]
        down = await regions.get(
            "/v1/insights/movers", params={**params, **DAY, "direction": "down"}
        )
        assert down.json()["rows"] == [US]

    async def test_counts_as_csv(self, regions: httpx.AsyncClient) -> None:
        # sqrt(2) (sqrt(200.375) - sqrt(100.375)) = 5.850114; DE and FR did not change.
        r = await regions.get(
            "/v1/insights/movers",
            params={"metric": "volume", "dimension": "region", "min_sample": 1, **DAY},
            headers={"accept": "text/csv"},
        )
        assert r.text == (
            "region,current,previous,change,score,p_value,q_value,significant\r\n"
            "US,200,100,100,5.850114,0.0,0.0,true\r\n"
            "DE,40,40,0,0.0,1.0,1.0,false\r\n"
            "FR,4,4,0,0.0,1.0,1.0,false\r\n"
        )

    async def test_filters_narrow_the_candidates(self, regions: httpx.AsyncClient) -> None:
        params: dict[str, Any] = {
            "metric": "volume",
            "dimension": "region",
            "min_sample": 1,
            "region": "FR",
        }
        r = await regions.get("/v1/insights/movers", params={**params, **DAY})
        assert [row["region"] for row in r.json()["rows"]] == ["FR"]

    async def test_the_most_significant_change_ranks_first_by_default(
        self, client: httpx.AsyncClient, pool: Pool
    ) -> None:
        # Overturned of resolved appeals per region (previous day, current day): FR 4/29 to
        # 14/20 (z = 4.01) is the change that matters; DE 10/40 to 16/40 (z = 1.43) is
        # noise; IT 1/2 to 2/3 is too small to test.
        await fold_events(
            pool,
            overturn_events({"FR": ((4, 29), (14, 20)), "DE": ((10, 40), (16, 40)),
                             "IT": ((1, 2), (2, 3))}),
        )  # fmt: skip
        r = await client.get(
            "/v1/insights/movers",
            params={"metric": "overturn_rate", "dimension": "region", **DAY},
        )
        assert r.status_code == 200
        body = r.json()
        # p: FR 6.0e-05, DE 0.152078; q over the two tested: FR 6.0e-05 * 2, DE 0.152078.
        assert [
            (row["region"], row["score"], row["p_value"], row["q_value"], row["significant"])
            for row in body["rows"]
        ] == [("FR", 4.011294, 6e-05, 0.000121, True), ("DE", 1.43223, 0.152078, 0.152078, False)]
        assert (body["min_sample"], body["candidates"], body["eligible"]) == (10, 3, 2)
        assert body["below_sample"] == [
            {"region": "IT", "current": 0.666667, "previous": 0.5, "change": 0.166667,
             "current_numerator": 2, "current_denominator": 3,
             "previous_numerator": 1, "previous_denominator": 2},
        ]  # fmt: skip
        assert body["correction"].startswith("Benjamini-Hochberg")

    @pytest.mark.parametrize(
        ("params", "pointers"),
        [
            ({"metric": "decision_latency", "dimension": "region"}, ["/query/metric"]),
            ({"metric": "volume", "dimension": "moderator"}, ["/query/dimension"]),
            ({"metric": "volume", "dimension": "region", "min_sample": 0},
             ["/query/min_sample"]),
            ({"metric": "volume", "dimension": "region", "direction": "sideways"},
             ["/query/direction"]),
        ],
    )  # fmt: skip
    async def test_bad_queries(
        self, client: httpx.AsyncClient, params: dict[str, Any], pointers: list[str]
    ) -> None:
        r = await client.get("/v1/insights/movers", params={**params, **DAY})
        assert r.status_code == 422
        assert [e["pointer"] for e in r.json()["errors"]] == pointers
