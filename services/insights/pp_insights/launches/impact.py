"""The impact of a launch on one metric: the scope's and its control's series around the
launch, read from the daily rollups, and the estimators of ``estimators`` over them.

Windows are whole UTC days. The before window ends at the start of the launch's day; the
after window starts at the first midnight after the launch (the launch's own day mixes both
and is left out) plus the transition asked for, and is cut at the last whole day. Buckets
are days, or weeks counted from those two boundaries (so no week straddles the launch).
Decisions, appeals and QA reviews count in the day of their escalation, as in every answer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

import asyncpg

from pp_insights.buckets import ceil_to, floor_to
from pp_insights.launches import estimators as est
from pp_insights.launches import repository
from pp_insights.launches.impact_schemas import (
    BeforeAfter,
    Call,
    Comparison,
    ControlOut,
    DidOut,
    EstimateOut,
    ImpactAnswer,
    ItsOut,
    Period,
    SeriesRow,
    Window,
)
from pp_insights.launches.repository import Condition
from pp_insights.launches.schemas import LaunchView, overlaps
from pp_insights.metrics_def import METRICS, CountMetric, Metric, QuantileMetric, RateMetric
from pp_shared.contracts.events import UNCLASSIFIED
from pp_shared.problems import InvalidInput

DAY = timedelta(days=1)
CONTROL_ORDER = ("region", "language", "product_feature", "clause_id", "area")
"""The dimension a default control varies: the first the launch's scope restricts. A
regional launch is compared with the same clauses in other regions, a clause launch with
the other clauses of its area, an area launch with the other areas."""


@dataclass(frozen=True)
class ImpactQuery:
    metric: str
    before_days: int
    after_days: int
    transition_days: int
    interval: Literal["day", "week"]
    control: Mapping[str, Sequence[str]] = field(default_factory=dict)
    """Dimensions the caller named for the control; they replace the scope's."""


@dataclass(frozen=True)
class Windows:
    before_start: datetime
    launch_day: datetime
    first_after: datetime
    after_end: datetime
    cut: bool
    """True when the after window was cut at the last whole day."""


def windows(launched_at: datetime, query: ImpactQuery, now: datetime) -> Windows:
    try:
        return _windows(launched_at, query, now)
    except OverflowError as exc:
        raise InvalidInput(
            "the windows reach beyond the calendar",
            errors=[{"pointer": "/query/before", "detail": "the windows reach beyond year 1"}],
        ) from exc


def _windows(launched_at: datetime, query: ImpactQuery, now: datetime) -> Windows:
    step = 7 if query.interval == "week" else 1
    launch_day = floor_to(launched_at, "day")
    first_after = ceil_to(launched_at, "day") + query.transition_days * DAY
    asked_end = first_after + query.after_days * DAY
    last_whole_day = floor_to(now, "day")
    whole = max(0, (min(asked_end, last_whole_day) - first_after).days // step * step)
    if whole == 0:
        raise InvalidInput(
            "the after window holds no whole bucket yet",
            errors=[{"pointer": "/query/after", "detail": "no whole bucket after the launch"}],
        )
    end = first_after + whole * DAY
    return Windows(
        launch_day - query.before_days * DAY, launch_day, first_after, end, end < asked_end
    )


def control_condition(
    scope: Mapping[str, Sequence[str]], named: Mapping[str, Sequence[str]]
) -> Condition | None:
    """The control of a scope: the named dimensions replacing the scope's, or by default
    the scope with its first restricted dimension of ``CONTROL_ORDER`` negated. None for a
    scope that restricts nothing (a launch everywhere has nowhere to compare with)."""
    if named:
        control = {**scope, **named}
        if overlaps(scope, control):
            raise InvalidInput(
                "the control overlaps the launch's scope",
                errors=[
                    {"pointer": f"/query/control_{d}", "detail": "overlaps the launch's scope"}
                    for d in named
                ],
            )
        return {d: (tuple(v), False) for d, v in control.items()}
    varied = next((d for d in CONTROL_ORDER if d in scope), None)
    if varied is None:
        return None
    condition: dict[str, tuple[Sequence[str], bool]] = {
        d: (tuple(v), False) for d, v in scope.items() if d != varied
    }
    excluded = tuple(scope[varied])
    if varied == "clause_id" and "area" not in scope:
        # Other clauses of the same areas, not every other clause.
        condition["area"] = (tuple(sorted({c.split(".", 1)[0] for c in excluded})), False)
    if varied == "area":
        excluded = (*excluded, UNCLASSIFIED)
    condition[varied] = (excluded, True)
    return condition


@dataclass
class _Bucket:
    t: float
    start: datetime
    after: bool
    sums: dict[str, int] = field(default_factory=dict)
    hist: list[int] | None = None


def _bucket_of(day: datetime, w: Windows, step: int) -> tuple[float, datetime, bool]:
    if day < w.launch_day:
        index = -(((w.launch_day - day).days + step - 1) // step)
        return float(index), w.launch_day + index * step * DAY, False
    gap = (w.first_after - w.launch_day).days / step
    index = (day - w.first_after).days // step
    return gap + index, w.first_after + index * step * DAY, True


def _empty_buckets(w: Windows, step: int) -> dict[float, _Bucket]:
    out: dict[float, _Bucket] = {}
    day = w.before_start
    while day < w.after_end:
        if day < w.launch_day or day >= w.first_after:
            t, start, after = _bucket_of(day, w, step)
            out.setdefault(t, _Bucket(t, start, after))
        day += DAY
    return out


async def impact(
    pool: asyncpg.Pool,
    *,
    launch: LaunchView,
    query: ImpactQuery,
    now: datetime,
) -> tuple[ImpactAnswer, Windows]:
    """The impact of ``launch`` on ``query.metric``; the verdict is left for ``verdict``."""
    metric = METRICS[query.metric]
    step = 7 if query.interval == "week" else 1
    w = windows(launch.launched_at, query, now)
    scope = launch.scope.filters()
    treated: Condition = {d: (v, False) for d, v in scope.items()}
    control = control_condition(scope, query.control)
    counters, histogram = _inputs(metric)
    async with pool.acquire() as conn:
        rows = await repository.daily_sums(
            conn,
            start=w.before_start,
            end=w.after_end,
            treated=treated,
            control=control,
            counters=counters,
            histogram=histogram,
        )
    groups = {True: _empty_buckets(w, step), False: _empty_buckets(w, step)}
    for r in rows:
        day = r["bucket"]
        if w.launch_day <= day < w.first_after:
            continue
        b = groups[r["treated"]][_bucket_of(day, w, step)[0]]
        for c in counters:
            b.sums[c] = b.sums.get(c, 0) + r[c]
        if histogram is not None and r["hist"] is not None:
            hist = list(r["hist"])
            b.hist = hist if b.hist is None else [a + h for a, h in zip(b.hist, hist, strict=True)]
    first_after_t = (w.first_after - w.launch_day).days / step
    treated_buckets = list(groups[True].values())
    control_buckets = list(groups[False].values()) if control is not None else None
    answer = _answer(
        launch, metric, query, w, scope, control, treated_buckets, control_buckets, first_after_t
    )
    return answer, w


def _inputs(metric: Metric) -> tuple[list[str], str | None]:
    if isinstance(metric, CountMetric):
        return [metric.counter.value], None
    if isinstance(metric, RateMetric):
        return [metric.numerator.value, metric.denominator.value], None
    return [metric.sample.value], metric.source


def _value(metric: Metric, b: _Bucket) -> tuple[float | None, float]:
    """A bucket's value and weight; None when it has no sample (counts always have one)."""
    if isinstance(metric, CountMetric):
        return float(b.sums.get(metric.counter, 0)), 1.0
    if isinstance(metric, RateMetric):
        n = b.sums.get(metric.denominator, 0)
        return (b.sums.get(metric.numerator, 0) / n, float(n)) if n else (None, 0.0)
    n = b.sums.get(metric.sample, 0)
    if not n or b.hist is None:
        return None, 0.0
    return metric.histogram.quantile(b.hist, 0.5), float(n)


def series_of(metric: Metric, buckets: Sequence[_Bucket]) -> est.Series:
    kept = [(b, v, wt) for b in buckets for v, wt in [_value(metric, b)] if v is not None]
    return est.Series.of(
        [b.t for b, _, _ in kept],
        [v for _, v, _ in kept],
        [wt for _, _, wt in kept],
        [b.after for b, _, _ in kept],
    )


def _period(metric: Metric, buckets: Sequence[_Bucket]) -> Period:
    sums: dict[str, int] = {}
    for b in buckets:
        for c, v in b.sums.items():
            sums[c] = sums.get(c, 0) + v
    if isinstance(metric, CountMetric):
        total = sums.get(metric.counter, 0)
        low, high = est.poisson_rate_interval(total, len(buckets)) if buckets else (None, None)
        per = total / len(buckets) if buckets else None
        return Period(value=per, ci_low=low, ci_high=high, total=total, sample=total)
    if isinstance(metric, RateMetric):
        x, n = sums.get(metric.numerator, 0), sums.get(metric.denominator, 0)
        if not n:
            return Period(value=None, numerator=x, denominator=0, sample=0)
        low, high = est.wilson(x, n)
        return Period(value=x / n, ci_low=low, ci_high=high, numerator=x, denominator=n, sample=n)
    hists = [b.hist for b in buckets if b.hist is not None]
    total_hist = [sum(col) for col in zip(*hists, strict=True)] if hists else []
    n = sums.get(metric.sample, 0)
    return Period(
        value=metric.histogram.quantile(total_hist, 0.5) if total_hist else None,
        p90=metric.histogram.quantile(total_hist, 0.9) if total_hist else None,
        sample=n,
    )


def _before_after(metric: Metric, buckets: Sequence[_Bucket]) -> BeforeAfter:
    before = [b for b in buckets if not b.after]
    after = [b for b in buckets if b.after]
    p0, p1 = _period(metric, before), _period(metric, after)
    change = p1.value - p0.value if p0.value is not None and p1.value is not None else None
    p_value = None
    if isinstance(metric, RateMetric):
        p_value = est.proportion_change_p(
            p1.numerator or 0, p1.denominator or 0, p0.numerator or 0, p0.denominator or 0
        )
    elif isinstance(metric, CountMetric):
        p_value = est.count_change_p(p1.total or 0, len(after), p0.total or 0, len(before))
    return BeforeAfter(before=p0, after=p1, change=change, p_value=p_value)


def _out(e: est.Estimate | None) -> EstimateOut:
    if e is None:
        return EstimateOut(
            effect=None, ci_low=None, ci_high=None, p_value=None, significant=None, errors=None
        )
    return EstimateOut(
        effect=e.effect,
        ci_low=e.ci_low,
        ci_high=e.ci_high,
        p_value=e.p_value,
        significant=e.significant,
        errors=e.errors,
    )


def _answer(
    launch: LaunchView,
    metric: Metric,
    query: ImpactQuery,
    w: Windows,
    scope: Mapping[str, Sequence[str]],
    control: Condition | None,
    treated: list[_Bucket],
    controls: list[_Bucket] | None,
    first_after_t: float,
) -> ImpactAnswer:
    t_series = series_of(metric, treated)
    t_ba = _before_after(metric, treated)
    c_ba = _before_after(metric, controls) if controls is not None else None
    scale = None
    did_estimate = None
    did_buckets = 0
    if controls is not None:
        c_series = series_of(metric, controls)
        scale = _scale(metric, t_ba, c_ba)
        if scale is not None:
            did_estimate = est.difference_in_differences(t_series, c_series, scale=scale)
            did_buckets = len(set(t_series.t.tolist()) & set(c_series.t.tolist()))
    its_fit = est.interrupted_time_series(t_series, first_after=first_after_t)
    did = DidOut(
        **_out(did_estimate).model_dump(),
        treated_change=t_ba.change,
        control_change=c_ba.change if c_ba is not None else None,
        control_scale=scale if isinstance(metric, CountMetric) else None,
        buckets=did_buckets,
    )
    its = ItsOut(
        **_out(its_fit.level_change if its_fit else None).model_dump(),
        slope_change=_out(its_fit.slope_change if its_fit else None),
        buckets_before=its_fit.buckets_before if its_fit else t_series.sides()[0],
        buckets_after=its_fit.buckets_after if its_fit else t_series.sides()[1],
        maxlags=its_fit.maxlags if its_fit else None,
    )
    return ImpactAnswer(
        launch=launch,
        metric=metric.name,
        kind=metric.kind,
        unit=metric.unit,
        interval=query.interval,
        before=Window(
            start=w.before_start, end=w.launch_day, buckets=sum(not b.after for b in treated)
        ),
        after=Window(start=w.first_after, end=w.after_end, buckets=sum(b.after for b in treated)),
        transition_days=query.transition_days,
        scope={d: list(v) for d, v in scope.items()},
        control=_control_out(control, named=bool(query.control)),
        before_after=Comparison(treated=t_ba, control=c_ba),
        did=did,
        its=its,
        call=Call.of(did, its),
        verdict="",
        warnings=[],
        series=_series_rows(metric, treated, "treated") + _series_rows(metric, controls, "control"),
    )


def _scale(metric: Metric, t: BeforeAfter, c: BeforeAfter | None) -> float | None:
    """1 for rates and latency; for counts the scope's mean before over the control's."""
    if not isinstance(metric, CountMetric):
        return 1.0
    if c is None or not c.before.value or t.before.value is None:
        return None
    return t.before.value / c.before.value


def _control_out(control: Condition | None, *, named: bool) -> ControlOut | None:
    if control is None:
        return None
    return ControlOut(
        named=named,
        filters={d: list(v) for d, (v, neg) in sorted(control.items()) if not neg},
        excluded={d: list(v) for d, (v, neg) in sorted(control.items()) if neg},
    )


def _series_rows(metric: Metric, buckets: Sequence[_Bucket] | None, group: str) -> list[SeriesRow]:
    rows = []
    for b in sorted(buckets or (), key=lambda b: b.t):
        value, _ = _value(metric, b)
        row = SeriesRow(group=group, bucket=b.start, t=b.t, value=value)
        if isinstance(metric, RateMetric):
            row.numerator = b.sums.get(metric.numerator, 0)
            row.denominator = b.sums.get(metric.denominator, 0)
        elif isinstance(metric, QuantileMetric):
            row.denominator = b.sums.get(metric.sample, 0)
        rows.append(row)
    return rows
