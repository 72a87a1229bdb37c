"""Rule evaluation over the hourly rollups: what each group of a rule shows at ``now``.

Evaluation is a pure function of the rollups, the rule, the open breaches and ``now``: the
same data and clock give the same observations (and, in ``lifecycle``, the same breaches
and outbox rows). A window ends at the last complete hour, the start of the hour that holds
``now``, and starts ``window`` earlier: the hour under way is never judged, so a window never
holds part of an hour against baselines of full hours, and its end is never in the future.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from urllib.parse import urlencode

import asyncpg
import orjson

from pp_insights.alerts.breaches.baselines import baseline_windows, coverage_of
from pp_insights.alerts.breaches.rollups import (
    GroupKey,
    RollupWindow,
    first_hour,
    sum_window,
    sum_window_histogram,
)
from pp_insights.alerts.breaches.stats import binomial_p, poisson_p, seasonal_mean
from pp_insights.alerts.clock import floor_hour, iso
from pp_insights.alerts.documents import Evidence
from pp_insights.alerts.rules.spec import (
    ChangeCondition,
    RuleSpec,
    StaticCondition,
    StatisticalCondition,
)
from pp_insights.calibration.production.service import kappa_by_group
from pp_insights.metrics_def import (
    ALERT_METRICS,
    AgreementMetric,
    AlertMetric,
    CountMetric,
    QuantileMetric,
    RateMetric,
)


@dataclass(frozen=True)
class Sums:
    """One group's counters (and latency bins) over one window."""

    counters: dict[str, int]
    hist: list[int] = field(default_factory=list)
    agreement: tuple[float | None, float | None, float | None] | None = None
    """Agreement metrics: kappa and its 95% interval (``counters`` holds the pairs)."""


@dataclass(frozen=True)
class Observation:
    """What one evaluation found for one group of a rule."""

    group: dict[str, str]
    breaching: bool
    reason: str
    evidence: Evidence


PAIRS = "pairs"
"""The sample of an agreement metric: the reviews that pair two clauses."""


def _counters_of(metric: AlertMetric) -> list[str]:
    if isinstance(metric, AgreementMetric):
        return [PAIRS]
    if isinstance(metric, CountMetric):
        return [metric.counter.value]
    if isinstance(metric, RateMetric):
        return [metric.numerator.value, metric.denominator.value]
    return [metric.sample.value]


def _value(metric: AlertMetric, sums: Sums | None, quantile: float) -> tuple[float | None, int]:
    """The metric's value and sample size over a window (None without a sample)."""
    if isinstance(metric, AgreementMetric):
        if sums is None or sums.agreement is None:
            return None, 0
        return sums.agreement[0], sums.counters[PAIRS]
    if isinstance(metric, CountMetric):
        count = sums.counters[metric.counter.value] if sums else 0
        return float(count), count
    if sums is None:
        return None, 0
    if isinstance(metric, RateMetric):
        den = sums.counters[metric.denominator.value]
        num = sums.counters[metric.numerator.value]
        return (num / den if den else None), den
    sample = sums.counters[metric.sample.value]
    return metric.histogram.quantile(sums.hist, quantile), sample


async def _window(
    conn: asyncpg.Connection, spec: RuleSpec, metric: AlertMetric, start: datetime, end: datetime
) -> dict[GroupKey, Sums]:
    if isinstance(metric, AgreementMetric):
        rows = await kappa_by_group(
            conn, start=start, end=end, group_by=spec.group_by, filters=spec.scope
        )
        return {
            key: Sums({PAIRS: r.pairs}, agreement=(r.kappa, r.kappa_low, r.kappa_high))
            for key, r in rows.items()
        }
    window = RollupWindow(start, end, spec.scope, spec.group_by)
    counters = await sum_window(conn, window, counters=_counters_of(metric))
    hists: dict[GroupKey, list[int]] = {}
    if isinstance(metric, QuantileMetric):
        hists = await sum_window_histogram(
            conn, window, histogram=metric.source, size=metric.histogram.bins
        )
    return {key: Sums(sums, hists.get(key, [])) for key, sums in counters.items()}


def window_end(now: datetime) -> datetime:
    """The end of every window judged at ``now``: the end of the last complete hour."""
    return floor_hour(now)


def fingerprint(rule_id: str, group: dict[str, str]) -> str:
    text = orjson.dumps({"rule": rule_id, "group": group}, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(text).hexdigest()[:16]


def drilldown_links(
    base_url: str, spec: RuleSpec, start: datetime, end: datetime
) -> Callable[[dict[str, str]], str]:
    """The drill-down link of each group of a rule's window: the console's drill-down page
    (the API's parameters, shown as a page), with the metric and window, the scope's filters
    on the dimensions it does not group by, then the group's values. What all groups share is
    encoded once (evaluation makes a link for every group)."""
    path, params = "/drilldown", [("metric", spec.metric)]
    if isinstance(ALERT_METRICS[spec.metric], AgreementMetric):
        # Agreement has no drill-down of rollups: its answer over the window is the evidence.
        path, params = "/calibration/agreement", [("interval", "all")]
    params += [("from", iso(start)), ("to", iso(end))]
    for dim, values in sorted(spec.scope.items()):
        if dim not in spec.group_by:
            params += [(dim, v) for v in values]
    shared = f"{base_url.rstrip('/')}{path}?{urlencode(params)}"

    def link(group: dict[str, str]) -> str:
        return f"{shared}&{urlencode(sorted(group.items()))}" if group else shared

    return link


def _rounded(value: float | None, digits: int = 6) -> float | None:
    if value is None or math.isinf(value):
        return value
    return round(value, digits)


async def observe(
    conn: asyncpg.Connection,
    spec: RuleSpec,
    *,
    now: datetime,
    extra_groups: Sequence[dict[str, str]],
    link_base_url: str,
) -> list[Observation]:
    """Evaluate one rule at ``now`` for every group with data in its window, and for
    ``extra_groups`` (those with an open breach, which must be able to resolve)."""
    metric = ALERT_METRICS[spec.metric]
    end = window_end(now)
    start = end - spec.window_delta
    current = await _window(conn, spec, metric, start, end)
    cond = spec.condition
    windows = baseline_windows(spec, start, end)
    baselines = [await _window(conn, spec, metric, s, e) for s, e in windows]
    coverage = coverage_of(windows, await first_hour(conn)) if windows else None
    keys = set(current)
    if isinstance(metric, CountMetric) and not cond.op.rising:
        # A count that fell to nothing has no rows in the window: its baseline has.
        for b in baselines:
            keys |= set(b)
    for g in extra_groups:
        keys.add(tuple(g.get(d, "") for d in spec.group_by))
    out: list[Observation] = []
    link = drilldown_links(link_base_url, spec, start, end)
    window_from, window_to, evaluated_at = iso(start), iso(end), iso(now)
    for key in sorted(keys):
        group = dict(zip(spec.group_by, key, strict=True))
        value, sample = _value(metric, current.get(key), spec.quantile)
        evidence: Evidence = {
            "metric": spec.metric,
            "value": _rounded(value),
            "sample": sample,
            "min_sample": spec.min_sample,
            "window": {"from": window_from, "to": window_to},
            "evaluated_at": evaluated_at,
            "drilldown": link(group),
        }
        sums = current.get(key)
        if isinstance(metric, RateMetric) and sums is not None:
            evidence["numerator"] = sums.counters[metric.numerator.value]
            evidence["denominator"] = sums.counters[metric.denominator.value]
        if sums is not None and sums.agreement is not None:
            _, low, high = sums.agreement
            if low is not None and high is not None:
                evidence["interval"] = [round(low, 6), round(high, 6)]
        if coverage is not None:
            evidence["baseline_coverage"] = coverage.fraction
        complete = coverage is None or coverage.complete
        breaching, reason = _judge(
            spec, metric, value, sample, key, baselines, evidence, complete_baseline=complete
        )
        out.append(Observation(group, breaching, reason, evidence))
    if isinstance(cond, StatisticalCondition) and cond.correction == "bonferroni":
        return _bonferroni(out, 1 - cond.confidence)
    return out


def _bonferroni(observations: list[Observation], alpha: float) -> list[Observation]:
    """Hold every tested group to ``alpha / tested``: the chance that any of them fires on
    noise alone stays below ``alpha``."""
    tested = sum(1 for o in observations if "p_value" in o.evidence)
    if tested <= 1:
        return observations
    level = alpha / tested
    out = []
    for o in observations:
        if "p_value" not in o.evidence:
            out.append(o)
            continue
        evidence: Evidence = {
            **o.evidence,
            "alpha": float(f"{level:.6g}"),
            "tested_groups": tested,
        }
        breaching = o.breaching and o.evidence["p_value"] < level
        out.append(
            replace(
                o,
                breaching=breaching,
                reason="breaching" if breaching else "within",
                evidence=evidence,
            )
        )
    return out


def _judge(
    spec: RuleSpec,
    metric: AlertMetric,
    value: float | None,
    sample: int,
    key: GroupKey,
    baselines: list[dict[GroupKey, Sums]],
    evidence: Evidence,
    *,
    complete_baseline: bool,
) -> tuple[bool, str]:
    """Whether the group breaches, and why (or why not); fills in the evidence."""
    cond = spec.condition
    rising = cond.op.rising
    evidence["op"] = cond.op.value
    # Unrounded, for the tests; the evidence shows 6 digits.
    baseline: float | None = None
    if isinstance(cond, StaticCondition):
        evidence["threshold"] = cond.threshold
    elif isinstance(cond, ChangeCondition):
        base_value, _ = _value(metric, baselines[0].get(key), spec.quantile)
        baseline = base_value
        evidence["baseline"] = _rounded(base_value)
        evidence["factor"] = cond.factor
        if base_value is not None:
            evidence["threshold"] = _rounded(base_value * cond.factor)
    elif isinstance(metric, RateMetric):
        assert isinstance(cond, StatisticalCondition)
        evidence["confidence"] = cond.confidence
        if cond.baseline_rate is not None:
            p0: float | None = cond.baseline_rate
        else:
            base = baselines[0].get(key)
            x0 = base.counters[metric.numerator.value] if base else 0
            n0 = base.counters[metric.denominator.value] if base else 0
            evidence["baseline_sample"] = n0
            # Half a success of prior keeps a baseline of 0 of n from making every success
            # infinitely surprising (and 100% from making every failure so).
            p0 = (x0 + 0.5) / (n0 + 1) if n0 else None
        baseline = p0
        evidence["baseline"] = _rounded(p0)
    else:
        assert isinstance(cond, StatisticalCondition)
        evidence["confidence"] = cond.confidence
        past = [b[key].counters[_counters_of(metric)[0]] if key in b else 0 for b in baselines]
        baseline = seasonal_mean(past)
        evidence["baseline"] = _rounded(baseline)
        evidence["baseline_counts"] = past
    if value is None:
        return False, "no_sample"
    if not complete_baseline:
        # Hours before the first stored data would count as hours without escalations.
        return False, "insufficient_baseline"
    if isinstance(metric, CountMetric) and not rising and baseline is not None:
        # A drop is judged on what was expected: 0 of an expected 40 is a real sample.
        sample = round(baseline)
        evidence["sample"] = sample
    if sample < spec.min_sample:
        return False, "below_min_sample"
    if isinstance(cond, StaticCondition):
        return _verdict(cond.op.holds(value, cond.threshold))
    if isinstance(cond, ChangeCondition):
        base_value = baseline
        if base_value is None:
            return False, "no_baseline"
        # From nothing to something is an infinite rise; nothing to nothing is no change.
        ratio = (math.inf if value > 0 else 1.0) if base_value == 0 else value / base_value
        evidence["ratio"] = _rounded(ratio, 4) if not math.isinf(ratio) else None
        return _verdict(cond.op.holds(ratio, cond.factor))
    assert isinstance(cond, StatisticalCondition)
    if baseline is None:
        return False, "no_baseline"
    if isinstance(metric, RateMetric):
        x = evidence["numerator"]
        p = binomial_p(x, sample, baseline, rising=rising)
    else:
        p = poisson_p(int(value), baseline, rising=rising)
    evidence["p_value"] = float(f"{p:.6g}")
    direction = value > baseline if rising else value < baseline
    return _verdict(direction and p < 1 - cond.confidence)


def _verdict(holds: bool) -> tuple[bool, str]:
    return (True, "breaching") if holds else (False, "within")
