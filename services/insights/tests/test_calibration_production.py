"""Agreement in production: Cohen's kappa of moderators against QA reviewers, from events
folded as the consumer folds them, held equal to statsmodels on the raw pairs."""

from __future__ import annotations

import random
from collections import defaultdict
from typing import Any

import httpx
import numpy as np
import pytest
from statsmodels.stats.inter_rater import cohens_kappa, to_table

from pp_insights_testing.harness import fold_events
from pp_shared.db import Pool
from pp_shared.testing.samples import decision, escalation, qa_review

AGREEMENT = "/v1/calibration/production/agreement"
CLAUSES = ["HATE.SLURS", "HATE.DEHUMANISATION", "VBDA.THREATS", "none"]
RANGE = {"from": "2026-11-20T00:00:00Z", "to": "2026-11-22T00:00:00Z"}


Review = tuple[int, int, str, tuple[str, str] | None]
"""A review's escalation day and hour, region, and (moderator, reviewer) clause pair (None
when the reviewer named no clause)."""


def generated(
    seed: int = 7, escalations: int = 240, log: list[Review] | None = None
) -> tuple[list[dict[str, Any]], dict[Any, list[tuple[str, str]]], dict[Any, tuple[int, int]]]:
    """Escalations over two days in DE and FR, each decided once and reviewed once; returns
    the events, the (moderator, reviewer) clause pairs per (day, region) and the QA reviews
    and disagreements per (day, region). Each review is also appended to ``log``."""
    rng = random.Random(seed)
    events: list[dict[str, Any]] = []
    pairs: dict[Any, list[tuple[str, str]]] = defaultdict(list)
    qa: dict[Any, tuple[int, int]] = defaultdict(lambda: (0, 0))
    for n in range(escalations):
        day, region = 20 + n % 2, ("DE", "FR")[n // 2 % 2]
        at = f"2026-11-{day}T{10 + n % 8:02d}:00:00Z"
        esc = f"esc-{n}"
        events.append(
            escalation(event_id=f"e{n}", escalation_id=esc, occurred_at=at, region=region,
                       language=region.lower(), suggested_clause_id="HATE.SLURS")
        )  # fmt: skip
        chosen = rng.choice(CLAUSES)
        action = "no_violation" if chosen == "none" else "remove"
        events.append(decision(event_id=f"d{n}", escalation_id=esc, decision_id=f"dec-{n}",
                               moderator_id=f"m{n % 7}", action=action,
                               clause_id=None if chosen == "none" else chosen,
                               occurred_at=at.replace(":00:00Z", ":10:00Z")))  # fmt: skip
        agrees = rng.random() < 0.7
        correct = chosen if agrees else rng.choice([c for c in CLAUSES if c != chosen])
        review = qa_review(event_id=f"q{n}", escalation_id=esc, decision_id=f"dec-{n}",
                           agrees=agrees, occurred_at=at.replace(":00:00Z", ":30:00Z"))  # fmt: skip
        if agrees:
            del review["correct_clause_id"]
        elif correct == "none" or n % 17 == 0:
            # A reviewer who disagrees without naming a clause: counted, not paired.
            del review["correct_clause_id"]
            correct = ""
        else:
            review["correct_clause_id"] = correct
        events.append(review)
        key = (f"2026-11-{day}T00:00:00Z", region)
        reviews, disagreements = qa[key]
        qa[key] = (reviews + 1, disagreements + (not agrees))
        if correct:
            pairs[key].append((chosen, correct))
        if log is not None:
            log.append((day, 10 + n % 8, region, (chosen, correct) if correct else None))
    return events, pairs, qa


def kappa_of(pairs: list[tuple[str, str]]) -> float:
    """Cohen's kappa on the raw pairs, with statsmodels' own table."""
    labels = sorted({label for pair in pairs for label in pair})
    coded = np.array([[labels.index(a), labels.index(b)] for a, b in pairs])
    table, _ = to_table(coded, bins=np.arange(len(labels) + 1))
    return float(cohens_kappa(table).kappa)


class TestProductionAgreement:
    async def test_kappa_per_day_and_region(self, pool: Pool, client: httpx.AsyncClient) -> None:
        events, pairs, qa = generated()
        await fold_events(pool, events)
        answer = await client.get(AGREEMENT, params={**RANGE, "group_by": "region"})
        assert answer.status_code == 200, answer.text
        rows = answer.json()["rows"]
        assert len(rows) == 4
        for row in rows:
            key = (row["bucket"].replace("+00:00", "Z"), row["group"]["region"])
            assert row["pairs"] == len(pairs[key])
            assert row["kappa"] == pytest.approx(kappa_of(pairs[key]), abs=1e-12)
            assert (row["qa_reviews"], row["qa_disagreements"]) == qa[key]
            assert row["unpaired"] == qa[key][0] - len(pairs[key])
            assert row["kappa_low"] < row["kappa"] < row["kappa_high"]

        # Beside the QA disagreement rate of the trends API: the same reviews.
        trend = await client.get("/v1/insights/trends", params={
            **RANGE, "metric": "qa_disagreement_rate", "interval": "day", "group_by": "region"
        })  # fmt: skip
        rates = {
            (r["bucket"], r["region"]): (r["numerator"], r["denominator"])
            for r in trend.json()["rows"]
        }
        assert {
            (r["bucket"], r["group"]["region"]): (r["qa_disagreements"], r["qa_reviews"])
            for r in rows
        } == rates

    async def test_a_range_that_cuts_a_day_counts_its_hours(
        self, pool: Pool, client: httpx.AsyncClient
    ) -> None:
        reviews: list[Review] = []
        events, _, _ = generated(seed=5, log=reviews)
        await fold_events(pool, events)
        # From 12:00 on the 20th, in whole hours: the 20th's reviews from noon, all the 21st's.
        params = {"from": "2026-11-20T12:00:00Z", "to": "2026-11-22T00:00:00Z"}
        answer = await client.get(
            AGREEMENT, params={**params, "interval": "all", "group_by": "region"}
        )
        assert answer.status_code == 200, answer.text
        rows = {r["group"]["region"]: r for r in answer.json()["rows"]}
        inside = [r for r in reviews if r[0] == 21 or r[1] >= 12]
        assert len(inside) < len(reviews)
        for region in ("DE", "FR"):
            mine = [r for r in inside if r[2] == region]
            paired = [r[3] for r in mine if r[3] is not None]
            assert (rows[region]["qa_reviews"], rows[region]["pairs"]) == (len(mine), len(paired))
            assert rows[region]["kappa"] == pytest.approx(kappa_of(paired), abs=1e-12)

    async def test_per_clause_and_per_moderator(
        self, pool: Pool, client: httpx.AsyncClient
    ) -> None:
        events, pairs, _ = generated(seed=11)
        await fold_events(pool, events)
        everything = [p for ps in pairs.values() for p in ps]
        clauses = (await client.get(f"{AGREEMENT}/clauses", params=RANGE)).json()
        assert (clauses["from"], clauses["to"]) == (RANGE["from"], RANGE["to"])
        assert clauses["rows"]
        for row in clauses["rows"]:
            binary = [(a == row["clause_id"], b == row["clause_id"]) for a, b in everything]
            coded = np.array(binary, dtype=int)
            table, _ = to_table(coded, bins=np.arange(3))
            assert row["kappa"] == pytest.approx(float(cohens_kappa(table).kappa), abs=1e-12)
            assert row["pairs"] == len(everything)
        whole = (await client.get(AGREEMENT, params={**RANGE, "interval": "all"})).json()
        assert whole["rows"][0]["kappa"] == pytest.approx(kappa_of(everything), abs=1e-12)
        moderators = (await client.get(f"{AGREEMENT}/moderators", params=RANGE)).json()["rows"]
        assert sorted(r["group"]["moderator_id"] for r in moderators) == [f"m{i}" for i in range(7)]
        assert sum(r["pairs"] for r in moderators) == len(everything)

    async def test_a_review_before_its_decision_pairs_once_the_decision_arrives(
        self, pool: Pool, client: httpx.AsyncClient
    ) -> None:
        esc = escalation(event_id="e1", escalation_id="esc-1", occurred_at="2026-11-20T10:00:00Z")
        dec = decision(event_id="d1", escalation_id="esc-1", decision_id="dec-1",
                       clause_id="HATE.SLURS", occurred_at="2026-11-20T10:05:00Z")  # fmt: skip
        review = qa_review(event_id="q1", escalation_id="esc-1", decision_id="dec-1",
                           agrees=False, correct_clause_id="HATE.DEHUMANISATION",
                           occurred_at="2026-11-20T10:10:00Z")  # fmt: skip
        await fold_events(pool, [esc, review])
        row = (await client.get(AGREEMENT, params=RANGE)).json()["rows"][0]
        assert (row["qa_reviews"], row["pairs"], row["unpaired"]) == (1, 0, 1)
        await fold_events(pool, [dec])
        stored = await pool.fetchrow(
            "SELECT moderator_id, moderator_clause, reviewer_clause FROM insights.qa_review_facts"
        )
        assert dict(stored) == {"moderator_id": "m-42", "moderator_clause": "HATE.SLURS",
                                "reviewer_clause": "HATE.DEHUMANISATION"}  # fmt: skip
        row = (await client.get(AGREEMENT, params=RANGE)).json()["rows"][0]
        assert (row["qa_reviews"], row["pairs"], row["unpaired"]) == (1, 1, 0)
        # One pair on two labels: chance agreement 0, observed 0, kappa 0.
        assert row["kappa"] == pytest.approx(0.0, abs=1e-12)
