"""``from``/``to`` mean the same on every endpoint that takes them: each bucket the range
touches is answered whole, and the answer states the range it covers (README, Ranges):
volume, trends, the comparisons, confusion, enforceability and production agreement."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from pp_insights_testing.harness import fold_events
from pp_shared.db import Pool
from pp_shared.testing.samples import decision, escalation, qa_review

# One escalation in each of the hours 09, 10, 12 and 13 of 2026-11-20.
TIMES = ["09:50", "10:15", "12:45", "13:15"]
CUT = {"from": "2026-11-20T10:30:00Z", "to": "2026-11-20T12:30:00Z"}
"""Cuts hour 10 and hour 12: both are answered whole, so hours 10 to 12."""
HOURS = {"from": "2026-11-20T10:00:00Z", "to": "2026-11-20T13:00:00Z"}
PREVIOUS = {"previous_from": "2026-11-20T07:00:00Z", "previous_to": "2026-11-20T10:00:00Z"}
DAY = {"from": "2026-11-20T00:00:00Z", "to": "2026-11-21T00:00:00Z"}
AGREEMENT = "/v1/calibration/production/agreement"


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


@pytest.fixture
async def reviewed(client: httpx.AsyncClient, pool: Pool) -> httpx.AsyncClient:
    """The escalations of ``folded`` (tagged HATE.SLURS), each decided as HATE.DEHUMANISATION
    and reviewed by QA, who names HATE.SLURS: one QA correction and one tag against decision
    in each of the hours 09, 10, 12 and 13."""
    events = []
    for t in TIMES:
        esc = f"esc-{t}"
        events += [
            escalation(event_id=f"e-{t}", escalation_id=esc, occurred_at=f"2026-11-20T{t}:00Z",
                       suggested_clause_id="HATE.SLURS", region="DE"),
            decision(event_id=f"d-{t}", escalation_id=esc, decision_id=f"dec-{t}",
                     clause_id="HATE.DEHUMANISATION", occurred_at=f"2026-11-20T{t}:20Z"),
            qa_review(event_id=f"q-{t}", escalation_id=esc, decision_id=f"dec-{t}",
                      agrees=False, correct_clause_id="HATE.SLURS",
                      occurred_at=f"2026-11-20T{t}:40Z"),
        ]  # fmt: skip
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

    async def test_confusion_takes_cut_hours_whole(self, reviewed: httpx.AsyncClient) -> None:
        r = await reviewed.get("/v1/insights/confusion", params=CUT)
        assert r.status_code == 200, r.text
        body = r.json()
        assert _range(body) == HOURS
        # The escalations of hours 10 and 12, both whole; 09 and 13 are outside.
        assert body["examined"] == {"qa": 2, "tag": 2}
        pairs = [
            (row["source"], row["from_clause"], row["to_clause"], row["count"], row["from_total"])
            for row in body["rows"]
        ]
        assert pairs == [
            ("qa", "HATE.DEHUMANISATION", "HATE.SLURS", 2, 2),
            ("tag", "HATE.SLURS", "HATE.DEHUMANISATION", 2, 2),
        ]

    async def test_enforceability_takes_cut_days_whole(self, reviewed: httpx.AsyncClient) -> None:
        """Its counters are daily (the clause-by-region cube), so its buckets are UTC days."""
        r = await reviewed.get("/v1/insights/enforceability", params={"area": "HATE", **CUT})
        assert r.status_code == 200, r.text
        body = r.json()
        assert _range(body) == DAY
        slurs = next(row for row in body["rows"] if row["clause_id"] == "HATE.SLURS")
        assert slurs["volume"] == 4
        qa = (slurs["qa_disagreement_rate_numerator"], slurs["qa_disagreement_rate_denominator"])
        assert qa == (4, 4)
        assert slurs["confused_with"] == ["HATE.DEHUMANISATION:4"]

    @pytest.mark.parametrize(
        ("interval", "covered", "buckets"),
        [
            ("hour", HOURS, [("2026-11-20T10:00:00Z", 1), ("2026-11-20T12:00:00Z", 1)]),
            ("day", DAY, [("2026-11-20T00:00:00Z", 4)]),
            ("week", {"from": "2026-11-16T00:00:00Z", "to": "2026-11-23T00:00:00Z"},
             [("2026-11-16T00:00:00Z", 4)]),
            ("all", HOURS, [(None, 2)]),
        ],
    )  # fmt: skip
    async def test_agreement_takes_cut_buckets_whole(
        self,
        reviewed: httpx.AsyncClient,
        interval: str,
        covered: dict[str, str],
        buckets: list[tuple[str | None, int]],
    ) -> None:
        """Buckets of ``interval``; hours when the answer has none (``all``)."""
        r = await reviewed.get(AGREEMENT, params={"interval": interval, **CUT})
        assert r.status_code == 200, r.text
        body = r.json()
        assert _range(body) == covered
        got = [(row["bucket"], row["qa_reviews"]) for row in body["rows"]]
        assert [(b and b.replace("+00:00", "Z"), n) for b, n in got] == buckets

    async def test_agreement_of_clauses_and_moderators_takes_cut_hours_whole(
        self, reviewed: httpx.AsyncClient
    ) -> None:
        clauses = await reviewed.get(f"{AGREEMENT}/clauses", params=CUT)
        assert clauses.status_code == 200, clauses.text
        assert _range(clauses.json()) == HOURS
        chose = [
            (row["clause_id"], row["pairs"], row["moderator_chose"], row["reviewer_chose"])
            for row in clauses.json()["rows"]
        ]
        assert chose == [("HATE.DEHUMANISATION", 2, 2, 0), ("HATE.SLURS", 2, 0, 2)]
        moderators = await reviewed.get(f"{AGREEMENT}/moderators", params=CUT)
        assert moderators.status_code == 200, moderators.text
        assert _range(moderators.json()) == HOURS
        assert [(r["group"]["moderator_id"], r["pairs"]) for r in moderators.json()["rows"]] == [
            ("m-42", 2)
        ]

    @pytest.mark.parametrize(
        ("path", "params"),
        [
            ("/v1/insights/confusion", {}),
            ("/v1/insights/enforceability", {"area": "HATE"}),
            (AGREEMENT, {}),
            (f"{AGREEMENT}/clauses", {}),
            (f"{AGREEMENT}/moderators", {}),
        ],
    )
    async def test_order_and_length_checked_alike(
        self, client: httpx.AsyncClient, path: str, params: dict[str, str]
    ) -> None:
        """As on the comparisons: both bounds, ``to`` later than ``from``, 400 days at most."""
        too_long = {"from": "2025-01-01T00:00:00Z", "to": "2026-02-06T00:00:00Z"}
        cases = {
            "backwards": ({"from": HOURS["to"], "to": HOURS["from"]}, "/query/to"),
            "empty": ({"from": HOURS["from"], "to": HOURS["from"]}, "/query/to"),
            "too long": (too_long, "/query/to"),
            "no zone": ({"from": "2026-11-20T10:00:00", "to": HOURS["to"]}, "/query/from"),
            "no to": ({"from": HOURS["from"]}, "/query/to"),
        }  # fmt: skip
        for name, (bounds, pointer) in cases.items():
            r = await client.get(path, params={**params, **bounds})
            assert r.status_code == 422, name
            assert [e["pointer"] for e in r.json()["errors"]] == [pointer], name
        longest = {"from": "2025-01-01T00:00:00Z", "to": "2026-02-05T00:00:00Z"}
        assert (await client.get(path, params={**params, **longest})).status_code == 200
