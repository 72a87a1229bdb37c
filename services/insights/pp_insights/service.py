"""Insights domain logic: fold tagged events into facts and rollups, answer metric queries."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pp_insights import repository
from pp_insights.metrics import (
    BATCH_EVENTS,
    EVENTS,
    PARTITIONS_DROPPED,
    REFRESH_SECONDS,
    ROWS_RECOMPUTED,
)
from pp_insights.metrics_def import (
    METRICS,
    OVERTURNED_OUTCOMES,
    CountMetric,
    Interval,
    QuantileMetric,
    RateMetric,
    wilson_interval,
)
from pp_insights.repository import Delta, Grain, LogRow
from pp_insights.repository.tables import (
    CUBE_TABLE,
    ROLLUP_COUNTERS,
    ROLLUP_TABLES,
    TABLE_DIMENSIONS,
)
from pp_shared.events import UNCLASSIFIED, TaggedEvent
from pp_shared.failures import PoisonRecord
from pp_shared.kafka import Record
from pp_shared.problems import field_errors

RATE_DIGITS = 6
_NOT_STORED: set[str] = {"text_excerpt"}
SECONDS_DIGITS = 1
_STEPS: dict[str, timedelta] = {
    Interval.HOUR: timedelta(hours=1),
    Interval.DAY: timedelta(days=1),
    Interval.WEEK: timedelta(weeks=1),
}


async def fold_batch(pool: asyncpg.Pool, *, records: Sequence[Record]) -> int:
    """Store a tagged batch and refresh the facts and rollups its new events change, in one
    transaction. Returns the number of escalations that got their first fact row."""
    log_rows: list[LogRow] = []
    for r in records:
        t = _parse(r)
        e = t.event
        log_rows.append(
            (
                e.event_id,
                e.event_type,
                e.escalation_id,
                e.occurred_at,
                # Insights counts, it never reads content: the text stays out of its log.
                e.model_dump(mode="json", exclude_none=True, exclude=_NOT_STORED),
                [tg.model_dump(mode="json") for tg in t.tags],
            )
        )
    # One insertion order for every batch, so concurrent batches sharing events cannot
    # deadlock on the event_log primary key (escalation_id, event_id, occurred_at).
    log_rows.sort(key=lambda row: (row[2], row[0]))
    received = len(log_rows)
    async with pool.acquire() as conn:
        horizon, missing = await repository.partition_state(conn, [r[3] for r in log_rows])
        if horizon is not None:
            # Their month is gone: storing them again would rebuild partial facts and
            # overwrite the kept daily rollups with partial sums.
            log_rows = [r for r in log_rows if r[3] >= horizon]
            missing = [m for m in missing if m >= horizon]
        if missing:
            await repository.create_partitions(conn, missing)
        async with conn.transaction():
            touched = await repository.insert_event_log(conn, log_rows)
            new = await _refresh(conn, escalation_ids=sorted(set(touched)))
    BATCH_EVENTS.labels("received").observe(received)
    BATCH_EVENTS.labels("new").observe(len(touched))
    EVENTS.labels("new").inc(len(touched))
    EVENTS.labels("duplicate").inc(len(log_rows) - len(touched))
    EVENTS.labels("beyond_retention").inc(received - len(log_rows))
    return new


def _parse(record: Record) -> TaggedEvent:
    """The tagged event of a record; PoisonRecord when it is not one (the consumer loop sets
    it aside as a dead letter)."""
    try:
        return TaggedEvent.model_validate_json(record.value or b"")
    except ValidationError as exc:
        raise PoisonRecord("invalid", field_errors(exc.errors(include_input=False))) from exc


async def apply_retention(pool: asyncpg.Pool, *, now: datetime, keep: timedelta) -> list[str]:
    """Drop the monthly partitions of the event log, facts and hourly rollups that end
    before ``now - keep``; daily rollups are kept. Returns the partitions dropped."""
    async with pool.acquire() as conn, conn.transaction():
        # No refresh may read facts of a month while it goes.
        await repository.lock_refresh(conn)
        dropped = await repository.drop_partitions_before(conn, now - keep)
    for name in dropped:
        PARTITIONS_DROPPED.labels(name.partition(":")[0]).inc()
    return dropped


async def finish_pending_rebuilds(pool: asyncpg.Pool) -> list[str]:
    """Rebuild facts and rollups from event_log when a migration asked for it; returns the
    rebuilds done. Runs before the consumer starts."""
    async with pool.acquire() as conn, conn.transaction():
        pending = await repository.claim_pending_rebuilds(conn)
        if pending:
            await repository.lock_refresh(conn)
            await repository.truncate_derived(conn)
            await _refresh(conn, escalation_ids=await repository.escalation_ids_in_log(conn))
            await repository.finish_rebuilds(conn, pending)
    return pending


async def _refresh(conn: asyncpg.Connection, *, escalation_ids: Sequence[str]) -> int:
    """Recompute these escalations' facts from all their events, then add to every rollup
    row what the facts now contribute and subtract what they contributed before.
    Recomputing the facts (rather than adding events to them) is what makes replays,
    duplicates and events in any order exact; the rollups follow the facts exactly."""
    if not escalation_ids:
        return 0
    await repository.lock_refresh(conn)
    with REFRESH_SECONDS.labels("facts").time():
        rows = await repository.refresh_facts(
            conn, escalation_ids, overturned=OVERTURNED_OUTCOMES, unclassified=UNCLASSIFIED
        )
    ROWS_RECOMPUTED.labels("escalation_facts").inc(sum(1 for r in rows if r["is_new"]))
    for table, grain in _ROLLUPS:
        dimensions = TABLE_DIMENSIONS[table]
        deltas = rollup_deltas(rows, grain, dimensions)
        with REFRESH_SECONDS.labels(table.removeprefix("insights.")).time():
            await repository.apply_deltas(conn, table, dimensions, deltas)
        ROWS_RECOMPUTED.labels(table.removeprefix("insights.")).inc(len(deltas))
    had_facts = {r["escalation_id"] for r in rows if not r["is_new"]}
    return sum(1 for r in rows if r["is_new"] and r["escalation_id"] not in had_facts)


_ROLLUPS: tuple[tuple[str, Grain], ...] = (
    (ROLLUP_TABLES["hour"], "hour"),
    (ROLLUP_TABLES["day"], "day"),
    (CUBE_TABLE, "day"),
)


def rollup_deltas(
    rows: Sequence[Mapping[str, Any]], grain: Grain, dimensions: Sequence[str]
) -> list[Delta]:
    """The change of every rollup row (bucket of ``grain`` by ``dimensions``) that the fact
    rows removed (``is_new`` false) and written (``is_new`` true) make, in key order; rows
    that do not change are left out."""
    counters: dict[tuple[Any, ...], list[int]] = {}
    bins: dict[tuple[Any, ...], dict[int, int]] = {}
    width = len(ROLLUP_COUNTERS)
    for r in rows:
        sign = 1 if r["is_new"] else -1
        key = (floor_to(r["created_at"], grain), *(r[d] for d in dimensions))
        sums = counters.get(key)
        if sums is None:
            sums = counters[key] = [0] * width
            bins[key] = {}
        for i, c in enumerate(ROLLUP_COUNTERS):
            sums[i] += sign * r[c]
        if r["latency_bin"] is not None:
            hist = bins[key]
            hist[r["latency_bin"]] = hist.get(r["latency_bin"], 0) + sign
    deltas = []
    for key in sorted(counters):
        hist = {b: n for b, n in sorted(bins[key].items()) if n}
        if any(counters[key]) or hist:
            deltas.append(Delta(key, tuple(counters[key]), tuple(hist), tuple(hist.values())))
    return deltas


def floor_to(ts: datetime, interval: str) -> datetime:
    """The start of the UTC hour, day or ISO week (Monday) that holds ``ts``."""
    ts = ts.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    if interval == "hour":
        return ts
    ts = ts.replace(hour=0)
    return ts if interval == "day" else ts - timedelta(days=ts.weekday())


def ceil_to(ts: datetime, interval: str) -> datetime:
    """The first bucket boundary at or after ``ts``."""
    floor = floor_to(ts, interval)
    return floor if floor == ts else floor + _STEPS[interval]


class VolumeAnswer(BaseModel):
    metric: str = "volume"
    interval: str
    group_by: list[str]
    rows: list[dict[str, Any]]

    def columns(self) -> list[str]:
        return ["bucket", *self.group_by, "volume"]


async def volume(
    pool: asyncpg.Pool,
    *,
    interval: Interval,
    group_by: Sequence[str],
    start: datetime | None,
    end: datetime | None,
) -> VolumeAnswer:
    """Escalations created per bucket and dimension values; ``start`` and ``end`` select
    hours."""
    async with pool.acquire() as conn:
        rows = await repository.sum_counters(
            conn,
            grain="hour",
            interval=interval,
            group_by=group_by,
            filters={},
            start=start,
            end=end,
            counters=["volume"],
            nonzero="volume",
        )
    return VolumeAnswer(
        interval=interval.value, group_by=list(group_by), rows=[dict(r) for r in rows]
    )


class TrendQuery(BaseModel):
    model_config = ConfigDict(frozen=True)

    metric: str
    interval: Interval
    group_by: tuple[str, ...] = ()
    filters: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    start: datetime | None = None
    end: datetime | None = None


class TrendAnswer(BaseModel):
    """One row per bucket and group that has a sample; rates carry their numerator,
    denominator and 95% Wilson interval, latency its sample size."""

    model_config = ConfigDict(populate_by_name=True)

    metric: str
    kind: str
    unit: str
    interval: str
    group_by: list[str]
    filters: dict[str, list[str]]
    start: datetime | None = Field(
        alias="from", description="Start of the first bucket asked for (buckets hold it whole)."
    )
    end: datetime | None = Field(alias="to", description="End of the last bucket asked for.")
    rows: list[dict[str, Any]]
    value_columns: list[str] = Field(exclude=True)

    def columns(self) -> list[str]:
        return ["bucket", *self.group_by, *self.value_columns]


async def trends(pool: asyncpg.Pool, *, query: TrendQuery) -> TrendAnswer:
    """A metric per time bucket and group. Buckets that ``from``/``to`` cut are answered
    whole, so no row ever stands for part of its bucket."""
    metric = METRICS[query.metric]
    start = floor_to(query.start, query.interval) if query.start else None
    end = ceil_to(query.end, query.interval) if query.end else None
    # Days and weeks start at day boundaries, so the daily rollup answers them exactly.
    grain: Grain = "hour" if query.interval == Interval.HOUR else "day"
    selection: dict[str, Any] = {
        "grain": grain,
        "interval": query.interval,
        "group_by": query.group_by,
        "filters": query.filters,
        "start": start,
        "end": end,
    }
    dims = ["bucket", *query.group_by]
    async with pool.acquire() as conn:
        if isinstance(metric, CountMetric):
            found = await repository.sum_counters(
                conn, **selection, counters=[metric.counter], nonzero=metric.counter
            )
            value_columns = ["value"]
            rows = [{**{d: r[d] for d in dims}, "value": r[metric.counter]} for r in found]
        elif isinstance(metric, RateMetric):
            found = await repository.sum_counters(
                conn,
                **selection,
                counters=[metric.numerator, metric.denominator],
                nonzero=metric.denominator,
            )
            value_columns = ["value", "numerator", "denominator", "ci_low", "ci_high"]
            rows = _rate_rows(found, [*dims, *value_columns])
        else:
            found = await repository.sum_histograms(
                conn, **selection, histogram=metric.source, nonzero=metric.sample
            )
            value_columns = ["count", *(_quantile_name(q) for q in metric.quantiles)]
            rows = [{**{d: r[d] for d in dims}, **_quantiles(metric, r["hist"])} for r in found]
    header = TrendAnswer(
        metric=metric.name,
        kind=metric.kind,
        unit=metric.unit,
        interval=query.interval,
        group_by=list(query.group_by),
        filters={k: list(v) for k, v in query.filters.items()},
        start=start,
        end=end,
        rows=[],
        value_columns=value_columns,
    )
    # The rows were built here from typed records; validating tens of thousands of them
    # again would cost more than building them.
    return header.model_copy(update={"rows": rows})


def _rate_rows(found: Sequence[asyncpg.Record], columns: list[str]) -> list[dict[str, Any]]:
    """Rows of ``columns`` from records of (bucket, *groups, numerator, denominator): the
    rate, its numerator and denominator, and its 95% Wilson interval. Built in one pass
    without intermediate dicts: answers run to tens of thousands of rows."""
    rows: list[dict[str, Any]] = []
    append = rows.append
    for r in found:
        row = tuple(r)
        append(dict(zip(columns, (*row[:-2], *_rate_cells(row[-2], row[-1])), strict=True)))
    return rows


@functools.lru_cache(maxsize=1 << 16)
def _rate_cells(numerator: int, denominator: int) -> tuple[Any, ...]:
    """A rate's cells: value, numerator, denominator and the Wilson interval, rounded. Most
    rows of a large answer share a few small (numerator, denominator) pairs."""
    low, high = wilson_interval(numerator, denominator)
    return (
        round(numerator / denominator, RATE_DIGITS),
        numerator,
        denominator,
        round(low, RATE_DIGITS),
        round(high, RATE_DIGITS),
    )


def _quantile_name(q: float) -> str:
    return f"p{round(q * 100)}"


def _quantiles(metric: QuantileMetric, hist: Sequence[int]) -> dict[str, Any]:
    out: dict[str, Any] = {"count": sum(hist)}
    for q in metric.quantiles:
        value = metric.histogram.quantile(hist, q)
        out[_quantile_name(q)] = None if value is None else round(value, SECONDS_DIGITS)
    return out


class MetricInfo(BaseModel):
    name: str
    kind: str
    unit: str
    description: str
    numerator: str | None = None
    denominator: str | None = None
    quantiles: list[str] | None = None


def metric_catalogue() -> list[MetricInfo]:
    """Every metric the trends API answers, as defined in ``metrics_def``."""
    out = []
    for m in METRICS.values():
        info = MetricInfo(name=m.name, kind=m.kind, unit=m.unit, description=m.description)
        if isinstance(m, CountMetric):
            info.numerator = m.counter
        elif isinstance(m, RateMetric):
            info.numerator, info.denominator = m.numerator, m.denominator
        else:
            info.quantiles = [_quantile_name(q) for q in m.quantiles]
        out.append(info)
    return out
