"""Cohen's kappa of moderator against QA reviewer, per bucket and group, beside the QA
disagreement rate of the same reviews; per clause (that clause or not); per moderator.

A review pairs the clause the moderator applied (``none`` for a decision without one) with
the reviewer's: the same when the reviewer agrees, else the ``correct_clause_id`` they named.
Reviews whose decision has not arrived, and disagreeing ones that name no clause, count in
the QA disagreement rate but pair nothing (``unpaired``). Reviews count in the bucket and
dimensions of their escalation, as every QA counter does.

``[from, to)`` is answered in whole buckets, as on every endpoint (``buckets.covering``): the
answer's ``interval``, hours without one; every answer states the range it covers.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from itertools import chain
from typing import Any

import asyncpg
import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from pp_insights.buckets import covering
from pp_insights.calibration import stats
from pp_insights.calibration.production import repository


class AgreementRow(BaseModel):
    bucket: datetime | None
    group: dict[str, str]
    qa_reviews: int
    qa_disagreements: int
    qa_disagreement_rate: float | None
    pairs: int
    unpaired: int
    observed_agreement: float | None
    kappa: float | None
    kappa_low: float | None
    kappa_high: float | None

    def flat(self) -> dict[str, Any]:
        return {**self.model_dump(exclude={"group"}), **self.group}


class AgreementAnswer(BaseModel):
    model_config = ConfigDict(validate_by_name=True, serialize_by_alias=True)

    metric: str = "production_kappa"
    start: datetime = Field(alias="from", description="The range answered, in whole buckets.")
    end: datetime = Field(alias="to")
    interval: str | None
    group_by: list[str]
    rows: list[AgreementRow]

    def columns(self) -> list[str]:
        fields = [f for f in AgreementRow.model_fields if f != "group"]
        return [fields[0], *self.group_by, *fields[1:]]


class ClauseAgreement(BaseModel):
    """One clause, each side of every pair read as "this clause or not"."""

    clause_id: str
    pairs: int
    moderator_chose: int
    reviewer_chose: int
    both_chose: int
    kappa: float | None
    kappa_low: float | None
    kappa_high: float | None


class ClauseAgreementAnswer(BaseModel):
    model_config = ConfigDict(validate_by_name=True, serialize_by_alias=True)

    start: datetime = Field(alias="from", description="The range answered, in whole hours.")
    end: datetime = Field(alias="to")
    rows: list[ClauseAgreement]


Key = tuple[Any, ...]


async def agreement(
    pool: asyncpg.Pool,
    *,
    start: datetime,
    end: datetime,
    interval: str | None,
    group_by: Sequence[str],
    filters: Mapping[str, Sequence[str]],
) -> AgreementAnswer:
    """Kappa and the QA disagreement rate per bucket and group, over the buckets of
    ``interval`` (hours without one) that ``[start, end)`` touches, whole."""
    start, end = covering(start, end, interval or "hour")
    async with pool.acquire() as conn:
        found = await repository.pair_counts(
            conn, start=start, end=end, interval=interval, group_by=group_by, filters=filters
        )
    rows = _rows(sorted(found, key=_order(group_by)), group_by)
    return AgreementAnswer(
        start=start, end=end, interval=interval, group_by=list(group_by), rows=rows
    )


def _key(record: asyncpg.Record, group_by: Sequence[str]) -> Key:
    return (record["bucket"], *(record[d] for d in group_by))


def _order(group_by: Sequence[str]) -> Callable[[asyncpg.Record], tuple[Any, ...]]:
    def order(record: asyncpg.Record) -> tuple[Any, ...]:
        bucket, *rest = _key(record, group_by)
        return (bucket is not None, bucket, *rest)

    return order


def _pairs(records: Iterable[Any]) -> dict[tuple[str, str], int]:
    """The (moderator's, reviewer's) clause counts of groups' rows, added up."""
    pairs: dict[tuple[str, str], int] = defaultdict(int)
    for r in records:
        for moderator, reviewer, n in zip(
            r["moderator_clauses"], r["reviewer_clauses"], r["counts"], strict=True
        ):
            pairs[(moderator, reviewer)] += n
    return pairs


def _rows(records: Sequence[Any], group_by: Sequence[str]) -> list[AgreementRow]:
    """Each group's row, in the order of ``records``: every group's kappa in one pass over
    all their clause pairs (``stats.cohens_kappa_many``), not a table per group (840 groups
    of a 28-day page by day and region took 85 ms one at a time)."""
    moderator = list(chain.from_iterable(r["moderator_clauses"] for r in records))
    reviewer = list(chain.from_iterable(r["reviewer_clauses"] for r in records))
    code = {label: i for i, label in enumerate({*moderator, *reviewer})}
    size = len(moderator)
    cells = stats.KappaCells(
        np.repeat(np.arange(len(records)), [len(r["counts"]) for r in records]),
        np.fromiter(map(code.__getitem__, moderator), dtype=np.int64, count=size),
        np.fromiter(map(code.__getitem__, reviewer), dtype=np.int64, count=size),
        np.fromiter(chain.from_iterable(r["counts"] for r in records), np.float64, size),
        groups=len(records),
        labels=len(code),
    )
    kappa, low, high = stats.cohens_kappa_many(cells)
    same = cells.row == cells.col
    paired = np.bincount(cells.group, cells.counts, len(records))
    agreeing = np.bincount(cells.group[same], cells.counts[same], len(records))
    out = []
    for g, r in enumerate(records):
        reviews, disagreements, pairs = r["reviews"], r["disagreements"], int(paired[g])
        defined = not np.isnan(kappa[g])
        out.append(
            AgreementRow(
                bucket=r["bucket"],
                group={d: r[d] for d in group_by},
                qa_reviews=reviews,
                qa_disagreements=disagreements,
                qa_disagreement_rate=disagreements / reviews if reviews else None,
                pairs=pairs,
                unpaired=reviews - pairs,
                observed_agreement=float(agreeing[g]) / pairs if pairs else None,
                kappa=float(kappa[g]) if defined else None,
                kappa_low=float(low[g]) if defined else None,
                kappa_high=float(high[g]) if defined else None,
            )
        )
    return out


async def kappa_by_group(
    conn: asyncpg.Connection,
    *,
    start: datetime,
    end: datetime,
    group_by: Sequence[str],
    filters: Mapping[str, Sequence[str]],
) -> dict[tuple[str, ...], AgreementRow]:
    """Each group's agreement over the hours ``[start, end)`` (whole hours, as alert rules
    read them), keyed by its values of ``group_by``: what a rule on ``production_kappa``
    judges."""
    found = await repository.pair_counts(
        conn, start=start, end=end, interval=None, group_by=group_by, filters=filters
    )
    return {
        tuple(r[d] for d in group_by): row
        for r, row in zip(found, _rows(found, group_by), strict=True)
    }


async def clause_agreement(
    pool: asyncpg.Pool, *, start: datetime, end: datetime, filters: Mapping[str, Sequence[str]]
) -> ClauseAgreementAnswer:
    """Kappa of each clause either side chose, over every pair of the hours that
    ``[start, end)`` touches, whole."""
    start, end = covering(start, end, "hour")
    async with pool.acquire() as conn:
        found = await repository.pair_counts(
            conn, start=start, end=end, interval=None, group_by=(), filters=filters
        )
    pairs = _pairs(found)
    total = sum(pairs.values())
    rows = []
    for clause in sorted({label for pair in pairs for label in pair}):
        both = pairs.get((clause, clause), 0)
        moderator = sum(n for (m, _), n in pairs.items() if m == clause)
        reviewer = sum(n for (_, r), n in pairs.items() if r == clause)
        table = np.array(
            [[both, moderator - both], [reviewer - both, total - moderator - reviewer + both]],
            dtype=np.int64,
        )
        kappa = stats.cohens_kappa(table)
        rows.append(
            ClauseAgreement(
                clause_id=clause,
                pairs=total,
                moderator_chose=moderator,
                reviewer_chose=reviewer,
                both_chose=both,
                kappa=kappa.value if kappa else None,
                kappa_low=kappa.interval.low if kappa else None,
                kappa_high=kappa.interval.high if kappa else None,
            )
        )
    return ClauseAgreementAnswer(start=start, end=end, rows=rows)


async def moderator_agreement(
    pool: asyncpg.Pool, *, start: datetime, end: datetime, filters: Mapping[str, Sequence[str]]
) -> AgreementAnswer:
    """Kappa of each moderator's decisions against their reviews, over the range."""
    return await agreement(
        pool,
        start=start,
        end=end,
        interval=None,
        group_by=(repository.BY_MODERATOR,),
        filters=filters,
    )
