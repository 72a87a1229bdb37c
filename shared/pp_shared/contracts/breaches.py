"""The message of the breaches topic (``pp.breaches.v1``): a breach change of an alert rule,
as insights publishes it and tells every channel. A public contract like the events: field
names are fixed, consumers ignore unknown fields, a breaking change is a new topic version.

Evidence keys that do not apply to a rule's condition are absent (not null): the message is
written with ``wire()``."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Transition = Literal["pending", "firing", "resolved", "acknowledged", "silenced", "unsilenced"]
State = Literal["pending", "firing", "resolved"]


class EvidenceWindow(BaseModel):
    """The hours an evaluation read: ``[from, to)``, whole UTC hours."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    start: str = Field(alias="from", description="RFC 3339, UTC.")
    end: str = Field(alias="to", description="RFC 3339, UTC; never later than evaluated_at.")


class BreachEvidence(BaseModel):
    """What an evaluation found for the breach's group, and why it breached or not. Keys that
    do not apply to the rule's condition are absent."""

    model_config = ConfigDict(frozen=True, extra="allow")

    metric: str | None = None
    value: float | None = Field(
        default=None, description="The metric over the window; null without a sample."
    )
    sample: int | None = None
    min_sample: int | None = None
    window: EvidenceWindow | None = None
    evaluated_at: str | None = None
    drilldown: str | None = Field(
        default=None, description="Link to the drill-down of the group's metric over the window."
    )
    numerator: int | None = None
    denominator: int | None = None
    interval: list[float] | None = Field(
        default=None,
        description="The value's 95% interval, where the metric has one (production_kappa).",
    )
    op: str | None = None
    threshold: float | None = None
    baseline: float | None = None
    factor: float | None = None
    ratio: float | None = Field(
        default=None, description="value / baseline; null when infinite (from nothing)."
    )
    confidence: float | None = None
    baseline_sample: int | None = None
    baseline_counts: list[int] | None = None
    baseline_coverage: float | None = Field(
        default=None, description="Share of the baseline's hours that the stored data fills."
    )
    p_value: float | None = None
    alpha: float | None = Field(
        default=None, description="With a Bonferroni correction: the level each group is held to."
    )
    tested_groups: int | None = None


class BreachScope(BaseModel):
    """The rule's filters and the group (one value per ``group_by`` dimension) of the breach."""

    model_config = ConfigDict(frozen=True)

    filters: dict[str, list[str]]
    group: dict[str, str]


class BreachMessage(BaseModel):
    """A breach change: what the breaches topic carries (keyed by ``<rule_id>:<fingerprint>``,
    so one breach's changes stay in order) and what every channel is told."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    breach_id: int
    transition: Transition
    state: State
    rule_id: str
    rule_version: int
    rule_name: str
    metric: str | None = Field(description="null when the rule has no version left.")
    severity: str
    scope: BreachScope
    fingerprint: str = Field(description="sha256 of the rule id and the group, 16 hex digits.")
    evidence: BreachEvidence
    peak_evidence: BreachEvidence
    opened_at: str
    firing_at: str | None
    resolved_at: str | None
    resolved_reason: str | None
    acknowledged_at: str | None
    acknowledged_by: str | None
    breach_url: str = Field(description="The breach's path under the gateway, /v1/breaches/{id}.")

    def wire(self) -> dict[str, Any]:
        """The message as JSON values, evidence keys that do not apply left out."""
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)
