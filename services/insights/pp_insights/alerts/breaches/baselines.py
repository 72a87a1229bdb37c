"""The baseline windows a rule compares its window with, and how much of them the stored data
can fill: a baseline that reaches back before the first hour of data would be judged as if
escalations had stopped, so evaluation says ``insufficient_baseline`` instead."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from pp_insights.alerts.breaches.rollups import first_hour
from pp_insights.alerts.clock import HOUR
from pp_insights.alerts.rules.spec import (
    ChangeCondition,
    RuleSpec,
    StatisticalCondition,
    parse_duration,
)
from pp_insights.metrics_def import ALERT_METRICS, CountMetric

Span = tuple[datetime, datetime]
"""Hours ``[start, end)``."""


def baseline_windows(spec: RuleSpec, start: datetime, end: datetime) -> list[Span]:
    """The windows the baseline of a rule whose window is ``[start, end)`` reads: the same
    window ``offset`` earlier (change), each of ``seasons`` seasons earlier (counts), the
    ``baseline`` period before the window (rates); none for a threshold or a fixed rate."""
    cond = spec.condition
    if isinstance(cond, ChangeCondition):
        offset = parse_duration(cond.offset)
        return [(start - offset, end - offset)]
    if not isinstance(cond, StatisticalCondition):
        return []
    if isinstance(ALERT_METRICS[spec.metric], CountMetric):
        season = parse_duration(cond.season)
        return [(start - k * season, end - k * season) for k in range(1, cond.seasons + 1)]
    if cond.baseline_rate is None:
        return [(start - parse_duration(cond.baseline), start)]
    return []


@dataclass(frozen=True)
class Coverage:
    """How many of a baseline's hours lie at or after the first hour of stored data."""

    hours: int
    hours_with_data: int
    data_since: datetime | None

    @property
    def fraction(self) -> float:
        return round(self.hours_with_data / self.hours, 4)

    @property
    def complete(self) -> bool:
        return self.hours_with_data == self.hours


def coverage_of(windows: list[Span], data_since: datetime | None) -> Coverage | None:
    """The coverage of ``windows`` by data stored from ``data_since`` on (None: no data);
    None when there is no baseline to cover."""
    if not windows:
        return None
    hours = sum((end - start) // HOUR for start, end in windows)
    covered = timedelta()
    if data_since is not None:
        for start, end in windows:
            covered += max(timedelta(), end - max(start, data_since))
    return Coverage(hours=hours, hours_with_data=covered // HOUR, data_since=data_since)


async def baseline_coverage(
    conn: asyncpg.Connection, spec: RuleSpec, start: datetime, end: datetime
) -> Coverage | None:
    """The coverage of the baseline of the rule's window ``[start, end)`` by the stored data."""
    windows = baseline_windows(spec, start, end)
    return coverage_of(windows, await first_hour(conn)) if windows else None
