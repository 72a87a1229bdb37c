"""Threshold rules as data: the spec a rule is written in, and its validation.

Windows are whole hours because evaluation reads the hourly rollups: a ``90m`` window would
have to pretend to know what happened inside an hour.
"""

from __future__ import annotations

import re
from datetime import timedelta
from enum import StrEnum
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import ErrorDetails

from pp_insights.metrics_def import DIMENSIONS, METRICS, Dimension, Kind
from pp_shared.problems import InvalidInput, field_errors
from pp_shared.types import INT64_MAX, SINGLE_LINE, MultiLineText, SingleLineText

RULE_ID = r"^[a-z0-9][a-z0-9._-]{0,79}$"
_DURATION = re.compile(r"^(\d+)([smhdw])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
MAX_WINDOW = timedelta(days=90)
MAX_LOOKBACK = timedelta(days=400)
"""Baselines may not reach further back than hourly rollups are kept (by default)."""


def parse_duration(text: str) -> timedelta:
    """``30s``, ``10m``, ``24h``, ``7d``, ``2w``; a ValueError otherwise."""
    match = _DURATION.fullmatch(text.strip())
    if not match:
        raise ValueError("a duration like 30s, 10m, 24h, 7d or 2w")
    return timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])


def format_duration(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    for unit in ("w", "d", "h", "m"):
        if seconds and seconds % _UNITS[unit] == 0:
            return f"{seconds // _UNITS[unit]}{unit}"
    return f"{seconds}s"


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class Op(StrEnum):
    ABOVE = ">"
    AT_LEAST = ">="
    BELOW = "<"
    AT_MOST = "<="

    @property
    def rising(self) -> bool:
        return self in (Op.ABOVE, Op.AT_LEAST)

    def holds(self, value: float, bound: float) -> bool:
        if self is Op.ABOVE:
            return value > bound
        if self is Op.AT_LEAST:
            return value >= bound
        if self is Op.BELOW:
            return value < bound
        return value <= bound


class _Strict(BaseModel):
    # No NaN or infinity: JSON bodies may spell them (Python's parser reads NaN), and a NaN
    # threshold would be stored as null and fail every evaluation of the rule.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class StaticCondition(_Strict):
    """``value <op> threshold`` over the window."""

    kind: Literal["threshold"]
    op: Op = Op.ABOVE
    threshold: float


class ChangeCondition(_Strict):
    """``value / baseline value <op> factor``; the baseline is the same window ``offset``
    earlier (``7d``: the same hours last week)."""

    kind: Literal["change"]
    op: Op = Op.ABOVE
    factor: float = Field(gt=0)
    offset: str = "7d"


class StatisticalCondition(_Strict):
    """A one-sided test at ``confidence``. Rates: binomial, against ``baseline_rate`` when
    given, else against the rate over ``baseline`` before the window. Counts: Poisson,
    against the mean of the same window one to ``seasons`` times ``season`` earlier."""

    kind: Literal["statistical"]
    op: Op = Op.ABOVE
    confidence: float = Field(default=0.99, gt=0.5, lt=1)
    baseline_rate: float | None = Field(default=None, gt=0, lt=1)
    baseline: str = "7d"
    season: str = "7d"
    seasons: int = Field(default=4, ge=1, le=12)
    correction: Literal["none", "bonferroni"] = "none"
    """``bonferroni``: divide ``1 - confidence`` by the number of groups tested in one
    evaluation, so a rule over many clauses x regions does not fire on chance alone."""


Condition = Annotated[
    StaticCondition | ChangeCondition | StatisticalCondition, Field(discriminator="kind")
]


class ChannelType(StrEnum):
    SLACK_WEBHOOK = "slack_webhook"
    SLACK_API = "slack_api"
    WEBHOOK = "webhook"


MASK = "***"


class Channel(_Strict):
    """Where a rule's notifications go. ``url`` and ``signing_secret`` are secrets: the API
    masks them."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")
    type: ChannelType
    url: SingleLineText | None = None
    slack_channel: Annotated[str, Field(min_length=1, max_length=80), SINGLE_LINE] | None = None
    signing_secret: Annotated[str, Field(min_length=16, max_length=200), SINGLE_LINE] | None = None
    """JSON webhooks only: this receiver's HMAC key instead of the service-wide one."""

    @model_validator(mode="after")
    def _target(self) -> Channel:
        if self.type is ChannelType.SLACK_API:
            if not self.slack_channel or self.url is not None:
                raise ValueError("a slack_api channel names slack_channel and no url")
        elif not self.url or self.slack_channel is not None:
            raise ValueError(f"a {self.type} channel names a url and no slack_channel")
        if self.signing_secret is not None and self.type is not ChannelType.WEBHOOK:
            raise ValueError("only a webhook channel has a signing_secret")
        return self


class RuleSpec(_Strict):
    """One threshold rule as written by a policy manager."""

    id: str = Field(pattern=RULE_ID)
    name: Annotated[str, Field(min_length=1, max_length=200), SINGLE_LINE] = Field(
        description="One line, no control characters: the title of every notification."
    )
    description: MultiLineText = Field(
        default="", description="Free text; line feeds and tabs allowed, no other control."
    )
    metric: str
    quantile: float = Field(default=0.9, gt=0, lt=1)
    """Which quantile a latency rule watches."""
    scope: dict[str, list[SingleLineText]] = Field(default_factory=dict)
    group_by: list[str] = Field(default_factory=list, max_length=3)
    window: str = "24h"
    condition: Condition
    min_sample: int = Field(default=30, ge=1, le=INT64_MAX)
    for_: str = Field(default="0s", alias="for")
    keep_firing_for: str = "0s"
    severity: Severity = Severity.MEDIUM
    channels: list[Channel] = Field(default_factory=list, max_length=10)
    enabled: bool = True

    model_config = ConfigDict(
        extra="forbid", frozen=True, populate_by_name=True, allow_inf_nan=False
    )

    @field_validator("scope", mode="before")
    @classmethod
    def _scalar_scope(cls, value: Any) -> Any:
        # ``region: DE`` reads better in a seed file than ``region: [DE]``.
        if isinstance(value, dict):
            return {k: [v] if isinstance(v, str) else v for k, v in value.items()}
        return value

    @property
    def window_delta(self) -> timedelta:
        return parse_duration(self.window)

    @property
    def for_delta(self) -> timedelta:
        return parse_duration(self.for_)

    @property
    def keep_firing_delta(self) -> timedelta:
        return parse_duration(self.keep_firing_for)

    def dump(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


def validate_rule(
    body: Any, *, allowed_hosts: list[str], allow_http: bool, pointer_prefix: str = "/body"
) -> RuleSpec:
    """A rule spec, or InvalidInput naming every wrong field with a JSON pointer."""
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
    metric = METRICS.get(spec.metric)
    if metric is None:
        out.append(("/metric", f"unknown metric; one of {', '.join(sorted(METRICS))}"))
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
        if metric.kind is Kind.QUANTILES:
            out.append(("/condition/kind", "statistical tests apply to rate and count metrics"))
        if metric.kind is Kind.COUNT and cond.baseline_rate is not None:
            out.append(("/condition/baseline_rate", "only rate metrics have a baseline rate"))
    rate_static = metric is not None and metric.kind is Kind.RATE
    if rate_static and isinstance(cond, StaticCondition) and not 0 <= cond.threshold <= 1:
        out.append(("/condition/threshold", "a rate threshold lies between 0 and 1"))
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


def mask_url(url: str) -> str:
    """Scheme and host only: the path of a Slack or webhook URL is its secret."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or "?"
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "***"
    return f"{parts.scheme}://{host}{port}/***"


def _mask_channel(channel: dict[str, Any]) -> dict[str, Any]:
    out = dict(channel)
    if out.get("url"):
        out["url"] = mask_url(out["url"])
    if out.get("signing_secret"):
        out["signing_secret"] = MASK
    return out


def masked_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """The spec as the API shows it: channel URLs and signing secrets masked."""
    return {**spec, "channels": [_mask_channel(c) for c in spec.get("channels", [])]}


def unmask(body: Any, previous: dict[str, Any] | None) -> Any:
    """Put back channel URLs that a client sent back masked, as GET showed them, so that a
    read-modify-write of a rule keeps its secrets."""
    if previous is None or not isinstance(body, dict) or not isinstance(body.get("channels"), list):
        return body
    old = {c.get("name"): c for c in previous.get("channels", [])}
    channels = []
    for c in body["channels"]:
        prior = old.get(c.get("name")) if isinstance(c, dict) else None
        if isinstance(c, dict) and prior is not None:
            url, secret = prior.get("url"), prior.get("signing_secret")
            if url and c.get("url") == mask_url(url):
                c = {**c, "url": url}
            if secret and c.get("signing_secret") == MASK:
                c = {**c, "signing_secret": secret}
        channels.append(c)
    return {**body, "channels": channels}
