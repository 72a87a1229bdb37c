"""The JSON documents of alerting: what a breach's ``jsonb`` columns hold (its scope, its
evidence, the details of its timeline), the body of a webhook delivery, and what a delivery
keeps of its progress. The message of a breach change is a contract:
``pp_shared.contracts.breaches.BreachMessage``.

They are ``TypedDict``s: stored and sent as they are built, keys that do not apply absent
(not null); read back as plain dicts. Documents written by an older version may lack keys, so
readers ``get`` optional keys. Keys that a later version adds pass through answers unchanged.
"""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, with_config
from typing_extensions import TypedDict

Window = TypedDict("Window", {"from": str, "to": str})
"""The hours an evaluation read: ``[from, to)``."""


@with_config(ConfigDict(extra="allow"))
class Evidence(TypedDict, total=False):
    """What an evaluation found for one group of a rule, and why it breaches or not."""

    metric: str
    value: float | None
    """The metric over the window; null without a sample."""
    sample: int
    min_sample: int
    window: Window
    evaluated_at: str
    drilldown: str
    """Link to the drill-down of the group's metric over the window."""
    numerator: int
    denominator: int
    interval: list[float]
    """The value's 95% interval, where the metric has one (``production_kappa``)."""
    op: str
    threshold: float | None
    baseline: float | None
    factor: float
    ratio: float | None
    """value / baseline, 4 digits; null when infinite (from nothing to something)."""
    confidence: float
    baseline_sample: int
    baseline_counts: list[int]
    p_value: float
    alpha: float
    """With a Bonferroni correction: the level each group is held to."""
    tested_groups: int
    baseline_coverage: float
    """The share of the baseline's hours that lie after the first hour of stored data (4
    digits); below 1 the group is not judged (``insufficient_baseline``)."""


class BreachScope(TypedDict):
    """The rule's filters and the group (one value per ``group_by`` dimension) a breach is of."""

    filters: dict[str, list[str]]
    group: dict[str, str]


@with_config(ConfigDict(extra="allow"))
class TimelineDetail(TypedDict, total=False):
    """What a timeline entry says besides its kind: the evidence of pending and firing, the
    reason of resolved, silenced and unsilenced, the note of acknowledged, a silence's end."""

    evidence: Evidence
    reason: str
    note: str
    until: str


@with_config(ConfigDict(extra="allow"))
class DeliveryProgress(TypedDict, total=False):
    """What a delivery keeps: where a Slack bot message was posted (its channel and ``ts``,
    for the update and the thread reply), the thread reply, or why nothing was sent."""

    channel: str
    ts: str
    thread_ts: str
    skipped: str


class WebhookBody(TypedDict):
    """The JSON body of a webhook delivery: the breach change as the breaches topic carries it
    (``pp_shared.contracts.breaches.BreachMessage``, written with ``wire()``)."""

    type: str
    delivery_id: str
    breach: dict[str, Any]
