"""Rule validation: a spec's shape (``rules.RuleSpec``) and what its shape cannot say, each
wrong field named with a JSON pointer; and the allowlist that webhook URLs must pass, at
validation and again at send time."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from pp_insights.alerts.rules.spec import (
    MAX_LOOKBACK,
    MAX_WINDOW,
    ChangeCondition,
    RuleSpec,
    StaticCondition,
    StatisticalCondition,
    format_duration,
    parse_duration,
)
from pp_insights.metrics_def import ALERT_METRICS, DIMENSIONS, Dimension, Kind
from pp_shared.problems import InvalidInput, field_errors


def validate_rule(
    body: object, *, allowed_hosts: list[str], allow_http: bool, pointer_prefix: str = "/body"
) -> RuleSpec:
    """A rule spec from what a client or the seed file sent, or InvalidInput naming every
    wrong field with a JSON pointer."""
    try:
        spec = RuleSpec.model_validate(body)
    except ValidationError as exc:
        errors = field_errors([_untagged(e) for e in exc.errors()])
        for e in errors:
            e["pointer"] = pointer_prefix + e["pointer"]
        raise InvalidInput(
            f"{len(errors)} field(s) of the rule are invalid", errors=errors
        ) from exc
    errors = [
        {"pointer": pointer_prefix + pointer, "detail": detail}
        for pointer, detail in _semantic_errors(spec, allowed_hosts, allow_http)
    ]
    if errors:
        raise InvalidInput(f"{len(errors)} field(s) of the rule are invalid", errors=errors)
    return spec


_CONDITION_KINDS = frozenset({"threshold", "change", "statistical"})


def _untagged(error: ErrorDetails) -> ErrorDetails:
    """The error without the condition's kind in its location: pydantic names the member of
    a tagged union it tried (``condition/change/factor``), the body has ``condition/factor``."""
    loc = error["loc"]
    if len(loc) > 1 and loc[0] == "condition" and loc[1] in _CONDITION_KINDS:
        return {**error, "loc": (loc[0], *loc[2:])}
    return error


def _semantic_errors(
    spec: RuleSpec, allowed_hosts: list[str], allow_http: bool
) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    metric = ALERT_METRICS.get(spec.metric)
    if metric is None:
        out.append(("/metric", f"unknown metric; one of {', '.join(sorted(ALERT_METRICS))}"))
    for dim, values in spec.scope.items():
        if dim not in DIMENSIONS:
            out.append((f"/scope/{dim}", f"unknown dimension; one of {', '.join(DIMENSIONS)}"))
        elif not values or (dim != Dimension.QUEUE and any(not v for v in values)):
            out.append((f"/scope/{dim}", "at least one non-empty value"))
    for i, dim in enumerate(spec.group_by):
        if dim not in DIMENSIONS:
            out.append((f"/group_by/{i}", f"unknown dimension; one of {', '.join(DIMENSIONS)}"))
        elif spec.group_by.index(dim) != i:
            out.append((f"/group_by/{i}", "named twice"))
    durations: dict[str, timedelta] = {}
    cond = spec.condition
    named = [
        ("/window", spec.window),
        ("/for", spec.for_),
        ("/keep_firing_for", spec.keep_firing_for),
    ]
    if isinstance(cond, ChangeCondition):
        named.append(("/condition/offset", cond.offset))
    if isinstance(cond, StatisticalCondition):
        named += [("/condition/baseline", cond.baseline), ("/condition/season", cond.season)]
    for pointer, text in named:
        try:
            durations[pointer] = parse_duration(text)
        except ValueError as exc:
            out.append((pointer, str(exc)))
    window = durations.get("/window")
    if window is not None:
        if window < timedelta(hours=1) or window % timedelta(hours=1):
            out.append(("/window", "a whole number of hours (rules read hourly rollups)"))
        elif window > MAX_WINDOW:
            out.append(("/window", f"at most {format_duration(MAX_WINDOW)}"))
    for pointer in ("/condition/offset", "/condition/baseline", "/condition/season"):
        delta = durations.get(pointer)
        if delta is None:
            continue
        if delta < timedelta(hours=1) or delta % timedelta(hours=1):
            out.append((pointer, "a whole number of hours (rules read hourly rollups)"))
        elif window is not None and pointer != "/condition/baseline" and delta < window:
            out.append((pointer, "at least the window, or the baseline overlaps the window"))
    if window is not None and isinstance(cond, ChangeCondition | StatisticalCondition):
        reach = window + _lookback(cond, durations)
        if reach > MAX_LOOKBACK:
            out.append(("/condition", f"reaches back {reach.days} days, more than 400"))
    if metric is not None and isinstance(cond, StatisticalCondition):
        if metric.kind in (Kind.QUANTILES, Kind.AGREEMENT):
            out.append(("/condition/kind", "statistical tests apply to rate and count metrics"))
        if metric.kind is Kind.COUNT and cond.baseline_rate is not None:
            out.append(("/condition/baseline_rate", "only rate metrics have a baseline rate"))
    rate_static = metric is not None and metric.kind is Kind.RATE
    if rate_static and isinstance(cond, StaticCondition) and not 0 <= cond.threshold <= 1:
        out.append(("/condition/threshold", "a rate threshold lies between 0 and 1"))
    agreement = metric is not None and metric.kind is Kind.AGREEMENT
    if agreement and isinstance(cond, StaticCondition) and not -1 <= cond.threshold <= 1:
        out.append(("/condition/threshold", "a kappa threshold lies between -1 and 1"))
    names = [c.name for c in spec.channels]
    for i, channel in enumerate(spec.channels):
        if names.index(channel.name) != i:
            out.append((f"/channels/{i}/name", "named twice"))
        if channel.url is not None:
            problem = url_problem(channel.url, allowed_hosts=allowed_hosts, allow_http=allow_http)
            if problem:
                out.append((f"/channels/{i}/url", problem))
    return out


def _lookback(
    cond: ChangeCondition | StatisticalCondition, durations: dict[str, timedelta]
) -> timedelta:
    if isinstance(cond, ChangeCondition):
        return durations.get("/condition/offset", timedelta())
    return max(
        durations.get("/condition/baseline", timedelta()),
        durations.get("/condition/season", timedelta()) * cond.seasons,
    )


def host_allowed(host: str, allowed_hosts: list[str]) -> bool:
    host = host.lower().rstrip(".")
    for pattern in allowed_hosts:
        pattern = pattern.lower()
        if pattern.startswith("*."):
            if host.endswith(pattern[1:]) and host != pattern[2:]:
                return True
        elif host == pattern:
            return True
    return False


def url_problem(url: str, *, allowed_hosts: list[str], allow_http: bool) -> str | None:
    """Why a webhook URL may not be called, or None. Only allowlisted hosts are reachable,
    so a rule author cannot point the service at internal addresses."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "not a valid URL"
    schemes = ("https", "http") if allow_http else ("https",)
    if parts.scheme not in schemes:
        return f"the scheme must be {' or '.join(schemes)}"
    if not parts.hostname:
        return "not a valid URL: no host"
    if parts.username or parts.password:
        return "credentials in the URL are not allowed"
    if port is not None and not 0 < port < 65536:
        return "not a valid URL: bad port"
    if not host_allowed(parts.hostname, allowed_hosts):
        return "the host is not in the webhook allowlist (PP_ALERT_WEBHOOK_ALLOWED_HOSTS)"
    return None
