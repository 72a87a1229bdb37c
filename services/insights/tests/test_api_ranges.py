"""``from``/``to`` mean the same on every endpoint that takes them: each bucket the range
touches is answered whole, and the answer states the range it covers (README, Ranges)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from pp_insights_testing.harness import fold_events
from pp_shared.db import Pool
from pp_shared.testing.samples import escalation

# One escalation in each of the hours 09, 10, 12 and 13 of 2026-11-20.
TIMES = ["09:50", "10:15", "12:45", "13:15"]
CUT = {"from": "2026-11-20T10:30:00Z", "to": "2026-11-20T12:30:00Z"}
"""Cuts hour 10 and hour 12: both are answered whole, so hours 10 to 12."""
HOURS = {"from": "2026-11-20T10:00:00Z", "to": "2026-11-20T13:00:00Z"}
PREVIOUS = {"previous_from": "2026-11-20T07:00:00Z", "previous_to": "2026-11-20T10:00:00Z"}


@pytest.fixture
async def folded(client: httpx.AsyncClient, pool: Pool) -> httpx.AsyncClient:
    events = [
        escalation(
            event_id=f"e-{t}",
            escalation_id=f"esc-{t}",
            occurred_at=f"2026-11-20T{t}:00Z",
            suggested_clause_id="HATE.SLURS",
            region="DE",
        )
        for t in TIMES
    ]
    await fold_events(pool, events)
    return client


def _metric(path: str) -> dict[str, str]:
    """Trends asks for a metric; volume is one and has no such parameter."""
    return {"metric": "volume"} if path.endswith("/trends") else {}


def _range(body: dict[str, Any]) -> dict[str, str]:
    return {"from": body["from"], "to": body["to"]}


class TestRanges:
    @pytest.mark.parametrize("path", ["/v1/insights/volume", "/v1/insights/trends"])
    async def test_bucketed_answers_take_cut_buckets_whole(
        self, folded: httpx.AsyncClient, path: str
    ) -> None:
        hourly = await folded.get(path, params={**_metric(path), "interval": "hour", **CUT})
        assert hourly.status_code == 200
        body = hourly.json()
        assert _range(body) == HOURS
        counts = [(r["bucket"], r.get("volume", r.get("value"))) for r in body["rows"]]
        assert counts == [("2026-11-20T10:00:00Z", 1), ("2026-11-20T12:00:00Z", 1)]
        daily = (await folded.get(path, params={**_metric(path), "interval": "day", **CUT})).json()
        assert _range(daily) == {"from": "2026-11-20T00:00:00Z", "to": "2026-11-21T00:00:00Z"}
        assert [(r["bucket"], r.get("volume", r.get("value"))) for r in daily["rows"]] == [
            ("2026-11-20T00:00:00Z", 4)
        ]

    @pytest.mark.parametrize(
        ("path", "params"),
        [
            ("/v1/insights/cards", {"clause_id": "HATE.SLURS"}),
            ("/v1/insights/movers", {"metric": "volume", "dimension": "region", "min_sample": 1}),
            ("/v1/insights/drilldown", {"metric": "volume", "dimension": "region"}),
        ],
    )
    async def test_comparisons_take_cut_hours_whole(
        self, folded: httpx.AsyncClient, path: str, params: dict[str, Any]
    ) -> None:
        r = await folded.get(path, params={**params, **CUT})
        assert r.status_code == 200
        body = r.json()
        assert {**_range(body), **{k: body[k] for k in PREVIOUS}} == {**HOURS, **PREVIOUS}
        row = body["rows"][0]
        # Hours 10 and 12 now (11 is empty), hour 09 in the three hours before.
        assert (row["current"], row["previous"]) == (2, 1)

    @pytest.mark.parametrize("path", ["/v1/insights/volume", "/v1/insights/trends"])
    async def test_group_by_and_order_checked_alike(
        self, client: httpx.AsyncClient, path: str
    ) -> None:
        three = ["region", "language", "queue"]
        ok = await client.get(path, params={**_metric(path), "group_by": three, **HOURS})
        assert ok.status_code == 200
        assert ok.json()["group_by"] == three
        four = await client.get(
            path, params={**_metric(path), "group_by": [*three, "area"], **HOURS}
        )
        assert four.status_code == 422
        assert [e["pointer"] for e in four.json()["errors"]] == ["/query/group_by"]
        backwards = {"from": HOURS["to"], "to": HOURS["from"]}
        bad = await client.get(path, params={**_metric(path), **backwards})
        assert bad.status_code == 422
        assert [e["pointer"] for e in bad.json()["errors"]] == ["/query/to"]
