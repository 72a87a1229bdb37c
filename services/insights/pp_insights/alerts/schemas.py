"""What the rules and breaches routes read and answer: one model per request and answer, built
from the rows of ``tables``. Instants are UTC to the second; a rule's secrets are masked."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Annotated, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, GetCoreSchemaHandler
from pydantic_core import core_schema

from pp_insights.alerts.breaches.baselines import Coverage
from pp_insights.alerts.clock import Instant
from pp_insights.alerts.documents import BreachScope, Evidence, TimelineDetail
from pp_insights.alerts.rules.masking import masked
from pp_insights.alerts.rules.spec import RuleSpec
from pp_insights.alerts.tables import (
    AlertRule,
    AlertRuleVersion,
    ChannelStatus,
    RuleStatus,
)
from pp_shared.types import MULTI_LINE, SINGLE_LINE


class _Stored:
    """A JSON document of a row as an answer shows it: not validated, written as the JSON
    it is, documented as its type. (``SkipValidation`` writes it through a Python function
    per field, which doubles the cost of writing a page of breaches.)"""

    def __get_pydantic_core_schema__(
        self, source: object, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        stored = handler(source)
        return core_schema.json_or_python_schema(
            json_schema=stored,
            python_schema=core_schema.any_schema(),
            # Documented as SkipValidation documents it.
            metadata={"pydantic_js_annotation_functions": [lambda _, h: h(stored)]},
        )


# Answers are built from rows, whose JSON documents were checked when they were written:
# they are shown as they are stored (keys a later version adds included), not checked again.
EvidenceDoc = Annotated[Evidence, _Stored()]
ScopeDoc = Annotated[BreachScope, _Stored()]
DetailDoc = Annotated[TimelineDetail, _Stored()]

# --- requests ------------------------------------------------------------------------------


DURATION_PATTERN = "^[0-9]{1,4}[smhdw]$"
"""What ``parse_duration`` reads, for the OpenAPI document."""


class BreachState(StrEnum):
    PENDING = "pending"
    FIRING = "firing"
    RESOLVED = "resolved"


class AckIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: Annotated[str, Field(max_length=500), MULTI_LINE] | None = Field(
        default=None, description="Free text; line feeds and tabs allowed, no other control."
    )


class SilenceIn(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    until: AwareDatetime | None = None
    for_: str | None = Field(
        default=None,
        alias="for",
        description="e.g. 2h, 1d",
        json_schema_extra={"pattern": DURATION_PATTERN},
    )
    reason: Annotated[str, Field(min_length=1, max_length=500), SINGLE_LINE] = Field(
        description="Why, on one line (no control characters): it is shown in chat messages."
    )


class _OfRow(BaseModel):
    """An answer whose fields are attributes of a row (or an observation) of the same name."""

    model_config = ConfigDict(from_attributes=True)

    @classmethod
    def of(cls, row: object) -> Self:
        return cls.model_validate(row)


# --- rules ---------------------------------------------------------------------------------


class ChannelHealth(BaseModel):
    """A channel of the rule as the sender last saw it."""

    channel: str
    healthy: bool = Field(description="No failure since the last delivery.")
    failures: int = Field(description="Failed attempts in a row.")
    last_ok_at: Instant | None
    last_error_at: Instant | None
    last_error: str | None

    @classmethod
    def of(cls, status: ChannelStatus) -> ChannelHealth:
        return cls(
            channel=status.channel,
            healthy=status.failures == 0,
            failures=status.failures,
            last_ok_at=status.last_ok_at,
            last_error_at=status.last_error_at,
            last_error=status.last_error,
        )


class LastEvaluation(_OfRow):
    """The rule's last evaluation (``RuleStatus``), or the error that stopped it (the
    outcomes of the last good one stay)."""

    evaluated_at: Instant
    rule_version: int
    outcomes: dict[str, int] = Field(description="Groups judged, by outcome.")
    error: str | None = Field(description="The type of the error that stopped the last one.")
    error_at: Instant | None


class BaselineCoverage(BaseModel):
    """How much of a rule's baseline the stored data fills for the window judged now: hours
    before the first hour of data would count as hours without escalations."""

    hours: int = Field(description="Hours the baseline reads (all its windows).")
    hours_with_data: int = Field(
        description="Of those, the hours at or after the first hour of stored data."
    )
    coverage: float = Field(
        description="hours_with_data / hours (4 digits); below 1 every group of the rule is"
        " insufficient_baseline."
    )
    data_since: Instant | None = Field(description="The first hour of stored data; null: none.")

    @classmethod
    def of(cls, coverage: Coverage | None) -> BaselineCoverage | None:
        if coverage is None:
            return None
        return cls(
            hours=coverage.hours,
            hours_with_data=coverage.hours_with_data,
            coverage=coverage.fraction,
            data_since=coverage.data_since,
        )


_COVERAGE = (
    "How much of the baseline the stored data fills for the window judged now (null for a"
    " rule without a baseline from data: thresholds, fixed baseline rates)."
)


class RuleView(BaseModel):
    """A rule's current version, who wrote it and when, its channels' health and its last
    evaluation. Channel URLs and signing secrets are masked."""

    id: str
    version: int
    enabled: bool
    updated_at: Instant
    updated_by: str
    spec: RuleSpec
    channel_status: list[ChannelHealth]
    last_evaluation: LastEvaluation | None
    baseline_coverage: BaselineCoverage | None = Field(
        default=None, description=f"Answered by create and replace only. {_COVERAGE}"
    )

    @classmethod
    def of(
        cls, rule: AlertRule, channels: list[ChannelStatus], status: RuleStatus | None
    ) -> RuleView:
        return cls(
            id=rule.rule_id,
            version=rule.version,
            enabled=rule.enabled,
            updated_at=rule.updated_at,
            updated_by=rule.updated_by,
            spec=masked(rule.spec),
            channel_status=[ChannelHealth.of(c) for c in channels],
            last_evaluation=LastEvaluation.of(status) if status is not None else None,
        )


class RuleList(BaseModel):
    rules: list[RuleView]


class RuleVersionView(BaseModel):
    version: int
    deleted: bool
    changed_at: Instant
    changed_by: str
    spec: RuleSpec

    @classmethod
    def of(cls, version: AlertRuleVersion) -> RuleVersionView:
        return cls(
            version=version.version,
            deleted=version.deleted,
            changed_at=version.changed_at,
            changed_by=version.changed_by,
            spec=masked(version.spec),
        )


class RuleVersions(BaseModel):
    rule_id: str
    versions: list[RuleVersionView]


class PreviewGroup(_OfRow):
    """A group's ``Observation``."""

    group: dict[str, str]
    breaching: bool
    reason: str = Field(
        description="breaching, within, below_min_sample, no_sample, no_baseline or"
        " insufficient_baseline."
    )
    evidence: EvidenceDoc


class Preview(BaseModel):
    """What a rule would find now, group by group."""

    rule_id: str
    evaluated_at: Instant
    groups: list[PreviewGroup]
    baseline_coverage: BaselineCoverage | None = Field(description=_COVERAGE)


# --- breaches ------------------------------------------------------------------------------


class BreachView(_OfRow):
    """A ``Breach`` as answers show it."""

    id: int = Field(validation_alias="breach_id")
    rule_id: str
    rule_version: int
    fingerprint: str
    scope: ScopeDoc
    state: str
    severity: str
    opened_at: Instant
    firing_at: Instant | None
    resolved_at: Instant | None
    resolved_reason: str | None
    last_breaching_at: Instant
    last_evaluated_at: Instant
    evidence: EvidenceDoc = Field(description="The latest evaluation's.")
    peak_evidence: EvidenceDoc = Field(description="The evaluation furthest past the threshold.")
    notified: bool = Field(
        validation_alias="firing_notified", description="The rule's channels were told it fired."
    )
    acknowledged_at: Instant | None
    acknowledged_by: str | None
    silenced_until: Instant | None
    silence_reason: str | None
    silenced_by: str | None


class BreachPage(BaseModel):
    breaches: list[BreachView] = Field(description="Newest first.")
    next_before: int | None = Field(description="The `before` of the next page, if it is full.")


class TimelineEntry(_OfRow):
    """A ``BreachEvent``."""

    at: Instant
    kind: str = Field(
        description="pending, firing, resolved, acknowledged, silenced or unsilenced."
    )
    actor: str
    detail: DetailDoc


class AttemptView(_OfRow):
    """A ``DeliveryAttempt``."""

    at: Instant
    outcome: str = Field(description="delivered, retry, failed or cancelled.")
    status_code: int | None
    error: str | None
    retry_after_s: float | None


class DeliveryView(BaseModel):
    """One message of the breach to one channel (``_topic``: the breaches topic)."""

    id: int
    channel: str
    channel_type: str
    transition: str
    state: str = Field(description="pending, delivered, failed or cancelled.")
    attempts: int
    created_at: Instant
    next_attempt_at: Instant | None = Field(description="While pending.")
    delivered_at: Instant | None
    last_error: str | None
    attempt_log: list[AttemptView]

    @classmethod
    def of(
        cls, row: Mapping[str, object], attempts: Sequence[Mapping[str, object]]
    ) -> DeliveryView:
        """From the values of an ``OutboxRow`` and of its ``DeliveryAttempt``s."""
        return cls.model_validate(
            {
                **row,
                "id": row["outbox_id"],
                "next_attempt_at": row["next_attempt_at"] if row["state"] == "pending" else None,
                "attempt_log": [AttemptView.model_validate(a) for a in attempts],
            }
        )


class BreachDetail(BreachView):
    """A breach with its timeline and the delivery of every notification."""

    timeline: list[TimelineEntry]
    deliveries: list[DeliveryView]

    @classmethod
    def of_breach(
        cls,
        breach: BreachView,
        events: Sequence[Mapping[str, object]],
        deliveries: Sequence[tuple[Mapping[str, object], Sequence[Mapping[str, object]]]],
    ) -> BreachDetail:
        """From the breach's view and the values of its ``BreachEvent``s, ``OutboxRow``s and
        ``DeliveryAttempt``s."""
        # The breach's fields, checked once by BreachView; the detail adds what it holds.
        return cls.model_construct(
            **dict(breach),
            timeline=[TimelineEntry.model_validate(e) for e in events],
            deliveries=[DeliveryView.of(row, attempts) for row, attempts in deliveries],
        )
