"""Clause confusion and enforceability cards.

**Confusion**: pairs of clauses that moderators, QA and the tagger tell apart badly, from
two sources. ``qa``: the clause a reviewed decision applied (``from_clause``) against the
clause QA says was right (``to_clause``), for reviews that disagree and name one; the rate
is the pair's share of every QA review of decisions applying ``from_clause``. ``tag``: the
automatic top tag against the final decision's clause, for decided escalations; the rate is
the pair's share of the decided escalations tagged ``from_clause``. Counts are per area of
the escalation (its tag's area, as in every answer), for escalations created in the window.

**Enforceability card**: per clause of an area, the policy-unclear share, QA disagreement
rate and overturn rate with their 95% Wilson intervals, each beside the area's median over
its clauses with at least ``min_sample`` in the denominator, the one-sided binomial test of
the clause's rate above that median (scipy), and the clauses QA confuses it with most.
Clauses whose wording fails come first: most rates significantly above the median.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg
from pydantic import BaseModel, ConfigDict, Field
from scipy.stats import binomtest

from pp_insights.enforceability import repository
from pp_insights.launches.estimators import ALPHA, wilson
from pp_insights.queries.stats import RATE_DIGITS, rounded

SOURCES = ("qa", "tag")
CARD_RATES: tuple[tuple[str, str, str], ...] = (
    ("policy_unclear_share", "policy_unclear", "volume"),
    ("qa_disagreement_rate", "qa_disagreements", "qa_reviews"),
    ("overturn_rate", "appeals_overturned", "appeals_resolved"),
)
CONFUSED_WITH = 3


class ConfusionAnswer(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    start: datetime = Field(alias="from")
    end: datetime = Field(alias="to")
    areas: list[str]
    examined: dict[str, int] = Field(description="QA reviews matched, decided escalations.")
    rows: list[dict[str, Any]]

    def columns(self) -> list[str]:
        return ["source", "area", "from_clause", "to_clause", "count", "from_total", "rate"]


def _pairs(rows: Sequence[asyncpg.Record], source: str) -> tuple[list[dict[str, Any]], int]:
    totals: dict[tuple[str, str], int] = defaultdict(int)
    for r in rows:
        totals[(r["area"], r["from_clause"])] += r["reviews"]
    out = [
        {
            "source": source,
            "area": r["area"],
            "from_clause": r["from_clause"],
            "to_clause": r["to_clause"],
            "count": r["reviews"],
            "from_total": totals[(r["area"], r["from_clause"])],
            "rate": round(r["reviews"] / totals[(r["area"], r["from_clause"])], RATE_DIGITS),
        }
        for r in rows
        if r["to_clause"] is not None and r["to_clause"] != r["from_clause"]
    ]
    out.sort(key=lambda p: (-p["count"], -p["rate"], p["area"], p["from_clause"], p["to_clause"]))
    return out, sum(totals.values())


async def confusion(
    pool: asyncpg.Pool,
    *,
    start: datetime,
    end: datetime,
    areas: Sequence[str],
    sources: Sequence[str],
    limit: int,
) -> ConfusionAnswer:
    """Clause pairs that blur, top pairs first, at most ``limit`` per source."""
    rows: list[dict[str, Any]] = []
    examined: dict[str, int] = {}
    async with pool.acquire() as conn:
        for source in SOURCES:
            if source not in sources:
                continue
            query = repository.qa_confusion if source == "qa" else repository.tag_confusion
            pairs, examined[source] = _pairs(
                await query(conn, start=start, end=end, areas=areas), source
            )
            rows += pairs[:limit]
    return ConfusionAnswer(start=start, end=end, areas=list(areas), examined=examined, rows=rows)


class EnforceabilityAnswer(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    area: str
    start: datetime = Field(alias="from")
    end: datetime = Field(alias="to")
    min_sample: int
    medians: dict[str, float | None] = Field(description="The area's median of each rate.")
    rows: list[dict[str, Any]]

    def columns(self) -> list[str]:
        cells = ("", "_numerator", "_denominator", "_ci_low", "_ci_high", "_area_median",
                 "_vs_median", "_p_above")  # fmt: skip
        rates = [f"{name}{c}" for name, _, _ in CARD_RATES for c in cells]
        return ["clause_id", "volume", *rates, "above_median", "confused_with"]


async def enforceability(
    pool: asyncpg.Pool, *, area: str, start: datetime, end: datetime, min_sample: int
) -> EnforceabilityAnswer:
    """The enforceability card of every clause of ``area`` with escalations in the window."""
    async with pool.acquire() as conn:
        counters = await repository.clause_counters(conn, area=area, start=start, end=end)
        qa = await repository.qa_confusion(conn, start=start, end=end, areas=[area])
    partners: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in qa:
        a, b = r["from_clause"], r["to_clause"]
        if b is not None and a != b:
            partners[a][b] += r["reviews"]
            partners[b][a] += r["reviews"]
    medians = {
        name: _median([r[num] / r[den] for r in counters if r[den] >= min_sample])
        for name, num, den in CARD_RATES
    }
    rows = [_card_row(r, medians, partners.get(r["clause_id"], {}), min_sample) for r in counters]
    rows.sort(key=lambda row: (-row["above_median"], -(row["policy_unclear_share"] or 0.0)))
    return EnforceabilityAnswer(
        area=area, start=start, end=end, min_sample=min_sample, medians=medians, rows=rows
    )


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), RATE_DIGITS) if values else None


def _card_row(
    r: asyncpg.Record,
    medians: dict[str, float | None],
    partners: dict[str, int],
    min_sample: int,
) -> dict[str, Any]:
    row: dict[str, Any] = {"clause_id": r["clause_id"], "volume": r["volume"]}
    above = 0
    for name, num, den in CARD_RATES:
        x, n, median = r[num], r[den], medians[name]
        value = x / n if n else None
        low, high = wilson(x, n) if n else (None, None)
        p_above = None
        if n >= min_sample and median is not None and 0.0 < median < 1.0:
            p_above = float(binomtest(x, n, median, alternative="greater").pvalue)
            above += int(p_above < ALPHA)
        row.update(
            {
                name: rounded(value),
                f"{name}_numerator": x,
                f"{name}_denominator": n,
                f"{name}_ci_low": rounded(low),
                f"{name}_ci_high": rounded(high),
                f"{name}_area_median": median,
                f"{name}_vs_median": rounded(value - median)
                if value is not None and median is not None
                else None,
                f"{name}_p_above": rounded(p_above),
            }
        )
    row["above_median"] = above
    ranked = sorted(partners.items(), key=lambda item: (-item[1], item[0]))[:CONFUSED_WITH]
    row["confused_with"] = [f"{clause}:{count}" for clause, count in ranked]
    return row
