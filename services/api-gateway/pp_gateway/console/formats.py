"""How the console writes the API's numbers and times. A cell shows a rounded value; its
``data-value`` attribute keeps the API's number as it came."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from jinja2 import Undefined

AGREEMENT_METRIC = "production_kappa"
METRIC_LABELS = {
    "volume": "Volume",
    "policy_unclear_share": "Policy-unclear share",
    "overturn_rate": "Overturn rate",
    "qa_disagreement_rate": "QA disagreement",
    "decision_latency": "Decision latency",
    "tagging_agreement": "Tagging agreement",
    AGREEMENT_METRIC: "Production kappa",
}
"""Every metric an alert rule may watch, in the API's order, with its label."""
RULE_METRICS = tuple(METRIC_LABELS)
TREND_METRICS = tuple(m for m in RULE_METRICS if m != AGREEMENT_METRIC)
"""The metrics of trends and cards: every rule metric but production kappa, which is not
additive (rules and the agreement page only)."""
RATE_KINDS = frozenset({"rate"})
AGREEMENT_PAGE = "/calibration/agreement"
"""The console's page of agreement in production (alerts on production_kappa link to it)."""
NOTHING = "\u2013"
"""What a cell shows where the API has no value (an en dash)."""


def _known(value: Any) -> Any:
    """None for a field the API's answer does not have."""
    return None if isinstance(value, Undefined) else value


def iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def num(value: Any, digits: int = 2) -> str:
    """A number for reading: integers whole with thousands separators, others rounded."""
    value = _known(value)
    if value is None or value == "":
        return NOTHING
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value.is_integer() and abs(value) >= 1:
            return f"{int(value):,}"
        return f"{value:,.{digits}f}"
    return str(value)


def pct(value: Any, digits: int = 1) -> str:
    value = _known(value)
    if value is None:
        return NOTHING
    return f"{float(value) * 100:.{digits}f}%"


def signed(value: Any, kind: str = "count") -> str:
    """A change with its sign: percentage points for rates."""
    value = _known(value)
    if value is None:
        return NOTHING
    if kind in RATE_KINDS:
        return f"{float(value) * 100:+.1f} pp"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:+,.1f}"
    return f"{int(value):+,}"


def metric_value(value: Any, kind: str = "count") -> str:
    if kind in RATE_KINDS:
        return pct(value)
    if kind == "quantiles" and value is not None:
        return seconds(value)
    return num(value)


def seconds(value: Any) -> str:
    value = _known(value)
    if value is None:
        return NOTHING
    total = float(value)
    if total >= 3600:
        return f"{total / 3600:.1f} h"
    if total >= 60:
        return f"{total / 60:.0f} min"
    return f"{total:.0f} s"


def when(value: Any) -> str:
    """A timestamp of the API, shortened to the minute (UTC)."""
    if not value:
        return NOTHING
    at = parse_time(str(value)) if not isinstance(value, datetime) else value
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def label(metric: str) -> str:
    return METRIC_LABELS.get(metric, metric.replace("_", " "))


def raw(value: Any) -> str:
    """The API's value as a ``data-value`` attribute holds it."""
    value = _known(value)
    if value is None:
        return ""
    return str(value)


def querystring(pairs: Any) -> str:
    """``(name, value)`` pairs as more of a query string: ``&name=value`` each, encoded."""
    return "".join(f"&{urlencode([(str(k), str(v))])}" for k, v in pairs)


def drill_link(link: Any) -> str:
    """Where a breach's drill-down link opens in this console: the agreement page for
    production_kappa, the drill-down page for the other metrics (the link's query as given)."""
    path, _, query = str(link).partition("?")
    if path.endswith(AGREEMENT_PAGE):
        return f"{AGREEMENT_PAGE}?{query}"
    return f"/drilldown?{query}"


FILTERS = {
    "num": num,
    "pct": pct,
    "signed": signed,
    "metric_value": metric_value,
    "seconds": seconds,
    "when": when,
    "label": label,
    "raw": raw,
    "iso": iso,
    "querystring": querystring,
    "drill_link": drill_link,
}
