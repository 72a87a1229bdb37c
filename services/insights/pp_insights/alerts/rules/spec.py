"""Threshold rules as data: the spec a rule is written in (its shape; ``validation`` adds
what the shape cannot say).

Windows are whole hours because evaluation reads the hourly rollups: a ``90m`` window would
have to pretend to know what happened inside an hour.
"""

from __future__ import annotations

import re
from datetime import timedelta
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, field_validator, model_validator

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


def _is_none(value: object) -> bool:
    # An optional field a spec leaves out is stored and shown without it, not as null.
    return value is None


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
    baseline_rate: float | None = Field(default=None, gt=0, lt=1, exclude_if=_is_none)
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


TOPIC_CHANNEL = "_topic"
"""The breaches topic, a channel of every rule: the outbox channel of the changes it hears."""
TOPIC_CHANNEL_TYPE = "topic"


class Channel(_Strict):
    """Where a rule's notifications go. ``url`` and ``signing_secret`` are secrets: the API
    masks them."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")
    type: ChannelType
    url: SingleLineText | None = Field(default=None, exclude_if=_is_none)
    slack_channel: Annotated[str, Field(min_length=1, max_length=80), SINGLE_LINE] | None = Field(
        default=None, exclude_if=_is_none
    )
    signing_secret: Annotated[str, Field(min_length=16, max_length=200), SINGLE_LINE] | None = (
        Field(default=None, exclude_if=_is_none)
    )
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
    def _scalar_scope(cls, value: object) -> object:
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

    def dump(self) -> dict[str, JsonValue]:
        """The spec as stored and shown: ``for`` by its name, optional fields left out."""
        return self.model_dump(mode="json", by_alias=True)
