"""Clause confusion against a brute-force count over the generated events, and the
enforceability card of an area worked out by hand."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

import httpx
import pytest
from scipy.stats import binomtest

from pp_insights_testing.harness import fold_events
from pp_shared.contracts.events import area_of
from pp_shared.db import Pool
from pp_shared.testing.samples import decision, escalation, qa_review

CLAUSES = ["HATE.SLURS", "HATE.DEHUMANISATION", "HATE.PROTECTED_ATTR.RELIGION", "VBDA.THREATS"]
WINDOW = {"from": "2026-11-01T00:00:00Z", "to": "2026-12-01T00:00:00Z"}


def generated(seed: int) -> list[dict[str, Any]]:
    """Escalations in and out of November, each with up to two decisions (a clause or
    no_violation) and up to three QA reviews of them, some of an unknown decision."""
    rng = random.Random(seed)
    events: list[dict[str, Any]] = []
    for n in range(300):
        esc = f"esc-{n}"
        day = rng.choice(["2026-10-30", "2026-11-05", "2026-11-20", "2026-12-02"])
        clause = rng.choice(CLAUSES)
        events.append(
            escalation(event_id=f"e-{n}", escalation_id=esc, occurred_at=f"{day}T10:00:00Z",
                       suggested_clause_id=clause)
        )  # fmt: skip
        decisions = [f"d-{n}-{k}" for k in range(rng.randint(0, 2))]
        for k, dec in enumerate(decisions):
            applied = rng.choice([*CLAUSES, None])
            events.append(
                decision(event_id=f"e-{dec}", escalation_id=esc, decision_id=dec,
                         occurred_at=f"{day}T1{k + 1}:00:00Z", clause_id=applied,
                         action="no_violation" if applied is None else "remove")
            )  # fmt: skip
        for k in range(rng.randint(0, 3)):
            agrees = rng.random() < 0.5
            events.append(
                qa_review(event_id=f"e-q-{n}-{k}", escalation_id=esc,
                          decision_id=rng.choice([*decisions, "unknown"]), agrees=agrees,
                          correct_clause_id=None if agrees else rng.choice([*CLAUSES, None]),
                          occurred_at=f"{day}T20:0{k}:00Z")
            )  # fmt: skip
    return events


def brute_force(events: list[dict[str, Any]]) -> tuple[list[tuple[Any, ...]], dict[str, int]]:
    created = {
        e["escalation_id"]: e
        for e in events
        if e["event_type"] == "escalation.created" and "2026-11-01" <= e["occurred_at"] < "2026-12"
    }
    decisions = {e["decision_id"]: e for e in events if e["event_type"] == "decision.made"}
    qa_pairs: Counter[tuple[str, str, str | None]] = Counter()
    for e in events:
        if e["event_type"] != "qa.reviewed" or e["escalation_id"] not in created:
            continue
        if e["decision_id"] not in decisions:
            continue
        area = area_of(created[e["escalation_id"]]["suggested_clause_id"])
        applied = decisions[e["decision_id"]]["clause_id"] or "none"
        qa_pairs[(area, applied, None if e["agrees"] else e["correct_clause_id"])] += 1
    tag_pairs: Counter[tuple[str, str, str | None]] = Counter()
    for esc, e in created.items():
        mine = sorted(
            (d for d in decisions.values() if d["escalation_id"] == esc),
            key=lambda d: (d["occurred_at"], d["event_id"]),
        )
        if mine:
            tag = e["suggested_clause_id"]
            tag_pairs[(area_of(tag), tag, mine[-1]["clause_id"] or "none")] += 1
    rows = []
    for source, pairs in (("qa", qa_pairs), ("tag", tag_pairs)):
        totals: Counter[tuple[str, str]] = Counter()
        for (area, a, _), count in pairs.items():
            totals[(area, a)] += count
        for (area, a, b), count in pairs.items():
            if b is not None and b != a:
                total = totals[(area, a)]
                rows.append((source, area, a, b, count, total, round(count / total, 6)))
    examined = {"qa": sum(qa_pairs.values()), "tag": sum(tag_pairs.values())}
    return rows, examined


class TestConfusion:
    async def test_equals_a_brute_force_count(self, client: httpx.AsyncClient, pool: Pool) -> None:
        events = generated(seed=11)
        await fold_events(pool, events)
        r = await client.get("/v1/insights/confusion", params={**WINDOW, "limit": 1000})
        assert r.status_code == 200, r.text
        answer = r.json()
        expected, examined = brute_force(events)
        got = [tuple(row[c] for c in (
            "source", "area", "from_clause", "to_clause", "count", "from_total", "rate"
        )) for row in answer["rows"]]  # fmt: skip
        assert sorted(got) == sorted(expected)
        assert answer["examined"] == examined
        assert len(expected) > 20
        for source in ("qa", "tag"):
            counts = [row[4] for row in got if row[0] == source]
            assert counts == sorted(counts, reverse=True)

    async def test_one_area_and_source_as_csv(self, client: httpx.AsyncClient, pool: Pool) -> None:
        events = generated(seed=12)
        await fold_events(pool, events)
        r = await client.get(
            "/v1/insights/confusion",
            params={**WINDOW, "area": "VBDA", "source": "qa", "limit": 2},
            headers={"Accept": "text/csv"},
        )
        expected = sorted(
            (row for row in brute_force(events)[0] if row[0] == "qa" and row[1] == "VBDA"),
            key=lambda row: (-row[4], -row[6], row[1], row[2], row[3]),
        )[:2]
        assert r.text.splitlines() == [
            "source,area,from_clause,to_clause,count,from_total,rate",
            *(",".join(str(c) for c in row) for row in expected),
        ]

    async def test_bad_query_names_each_parameter(self, client: httpx.AsyncClient) -> None:
        r = await client.get(
            "/v1/insights/confusion",
            params={"from": "2026-11-01T00:00:00Z", "to": "2026-10-01T00:00:00Z", "source": "x"},
        )
        assert r.status_code == 422
        assert sorted(e["pointer"] for e in r.json()["errors"]) == ["/query/source/0", "/query/to"]


class TestEnforceability:
    async def test_card_of_an_area(self, client: httpx.AsyncClient, pool: Pool) -> None:
        # Policy-unclear escalations of three HATE clauses: 30/100, 10/100, 12/100 on
        # 2026-11-10; the area's median is 0.12. A QA review moves SLURS to DEHUMANISATION.
        events = []
        for clause, unclear in (("HATE.SLURS", 30), ("HATE.DEHUMANISATION", 10),
                                ("HATE.PROTECTED_ATTR.RELIGION", 12)):  # fmt: skip
            for i in range(100):
                esc = f"{clause}-{i}"
                events.append(
                    escalation(event_id=f"e-{esc}", escalation_id=esc,
                               occurred_at="2026-11-10T08:00:00Z", suggested_clause_id=clause,
                               escalation_reason="policy_unclear" if i < unclear else "other")
                )  # fmt: skip
        events += [
            decision(event_id="d", escalation_id="HATE.SLURS-0", decision_id="dec-1",
                     clause_id="HATE.SLURS", occurred_at="2026-11-10T09:00:00Z"),
            qa_review(event_id="q", escalation_id="HATE.SLURS-0", decision_id="dec-1",
                      agrees=False, correct_clause_id="HATE.DEHUMANISATION",
                      occurred_at="2026-11-11T09:00:00Z"),
        ]  # fmt: skip
        await fold_events(pool, events)
        r = await client.get(
            "/v1/insights/enforceability",
            params={"area": "HATE", "from": "2026-11-10T12:00:00Z", "to": "2026-11-11T00:00:00Z"},
        )
        assert r.status_code == 200, r.text
        answer = r.json()
        assert (answer["from"], answer["to"]) == ("2026-11-10T00:00:00Z", "2026-11-11T00:00:00Z")
        assert answer["medians"] == {
            "policy_unclear_share": 0.12, "qa_disagreement_rate": None, "overturn_rate": None
        }  # fmt: skip
        rows = {row["clause_id"]: row for row in answer["rows"]}
        assert answer["rows"][0]["clause_id"] == "HATE.SLURS"
        slurs = rows["HATE.SLURS"]
        assert (slurs["policy_unclear_share"], slurs["policy_unclear_share_vs_median"]) == (
            0.3,
            0.18,
        )
        p = binomtest(30, 100, 0.12, alternative="greater").pvalue
        assert slurs["policy_unclear_share_p_above"] == pytest.approx(round(p, 6))
        assert slurs["above_median"] == 1
        assert slurs["confused_with"] == ["HATE.DEHUMANISATION:1"]
        assert rows["HATE.DEHUMANISATION"]["confused_with"] == ["HATE.SLURS:1"]
        assert rows["HATE.DEHUMANISATION"]["above_median"] == 0
        # Only the clause with QA reviews has a rate; too few for the median (min_sample 30).
        assert slurs["qa_disagreement_rate"] == 1.0
        assert slurs["qa_disagreement_rate_p_above"] is None
        csv = await client.get(
            "/v1/insights/enforceability",
            params={"area": "HATE", "from": "2026-11-10T00:00:00Z", "to": "2026-11-11T00:00:00Z"},
            headers={"Accept": "text/csv"},
        )
        header, first, *_ = csv.text.splitlines()
        assert header.startswith("clause_id,volume,policy_unclear_share,")
        assert first.startswith("HATE.SLURS,100,0.3,30,100,")
        assert first.endswith(",1,HATE.DEHUMANISATION:1")
