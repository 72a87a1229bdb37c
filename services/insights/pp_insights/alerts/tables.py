"""The tables of alerting as SQLModel classes: rules and their versions, channel health and
each rule's last evaluation, breaches and their timeline, the outbox and its delivery attempts.

They map the tables that migrations ``010`` and ``011`` create (the migrations stay the
schema's source: nothing here creates a table). A rule's spec is stored as JSON and read back
as a :class:`RuleSpec`; the other ``jsonb`` columns hold the documents of ``documents``.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from pydantic import JsonValue
from sqlalchemy import BigInteger, Column, DateTime, Dialect, ForeignKey, Table, TypeDecorator
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from pp_insights.alerts.documents import (
    BreachScope,
    DeliveryProgress,
    Evidence,
    TimelineDetail,
)
from pp_insights.alerts.rules.spec import RuleSpec
from pp_shared.contracts.breaches import BreachMessage
from pp_shared.records import Record

SCHEMA = {"schema": "insights"}


def _bigserial() -> Column[int]:
    """A ``bigserial`` key: bound as ``bigint`` (SQLAlchemy's default integer is 32 bits, and
    an id past 2^31 in a query would fail in the driver)."""
    return Column(BigInteger, primary_key=True, autoincrement=True)


class SpecJson(TypeDecorator[RuleSpec]):
    """A rule spec in a ``jsonb`` column, as ``RuleSpec.dump`` writes it. Every spec stored
    passed validation; a change to ``RuleSpec`` that refuses stored specs needs a migration."""

    impl = JSONB
    cache_ok = True

    def process_bind_param(
        self, value: RuleSpec | None, dialect: Dialect
    ) -> dict[str, JsonValue] | None:
        return value.dump() if value is not None else None

    def process_result_value(self, value: object, dialect: Dialect) -> RuleSpec | None:
        return RuleSpec.model_validate(value) if value is not None else None


class MessageJson(TypeDecorator[BreachMessage]):
    """A breach message in a ``jsonb`` column, as the breaches topic carries it."""

    impl = JSONB
    cache_ok = True

    def process_bind_param(
        self, value: BreachMessage | None, dialect: Dialect
    ) -> dict[str, JsonValue] | None:
        return value.wire() if value is not None else None

    def process_result_value(self, value: object, dialect: Dialect) -> BreachMessage | None:
        return BreachMessage.model_validate(value) if value is not None else None


def _at(*, nullable: bool = False) -> Column[datetime]:
    return Column(DateTime(timezone=True), nullable=nullable)


def _spec() -> Column[RuleSpec]:
    return Column(SpecJson(), nullable=False)


def _json(*, default: str | None = None) -> Column[object]:
    return Column(JSONB(), nullable=False, server_default=default)


class AlertRule(Record, table=True):
    """The current version of each rule, deleted ones included."""

    __tablename__: ClassVar[str] = "alert_rules"
    __table_args__ = SCHEMA

    rule_id: str = Field(primary_key=True)
    version: int
    spec: RuleSpec = Field(sa_column=_spec())
    enabled: bool
    deleted: bool = False
    updated_at: datetime = Field(sa_column=_at())
    updated_by: str


class AlertRuleVersion(Record, table=True):
    """Every version of every rule."""

    __tablename__: ClassVar[str] = "alert_rule_versions"
    __table_args__ = SCHEMA

    rule_id: str = Field(primary_key=True)
    version: int = Field(primary_key=True)
    spec: RuleSpec = Field(sa_column=_spec())
    deleted: bool
    changed_at: datetime = Field(sa_column=_at())
    changed_by: str


class ChannelStatus(Record, table=True):
    """The health of a rule's channel as the sender last saw it."""

    __tablename__: ClassVar[str] = "alert_channel_status"
    __table_args__ = SCHEMA

    rule_id: str = Field(primary_key=True)
    channel: str = Field(primary_key=True)
    last_ok_at: datetime | None = Field(default=None, sa_column=_at(nullable=True))
    last_error_at: datetime | None = Field(default=None, sa_column=_at(nullable=True))
    last_error: str | None = None
    failures: int = 0


class RuleStatus(Record, table=True):
    """A rule's last evaluation: when, which version, how many groups per outcome; or the
    error that stopped the last one."""

    __tablename__: ClassVar[str] = "alert_rule_status"
    __table_args__ = SCHEMA

    rule_id: str = Field(primary_key=True)
    evaluated_at: datetime = Field(sa_column=_at())
    rule_version: int
    outcomes: dict[str, int] = Field(sa_column=_json())
    error: str | None = None
    error_at: datetime | None = Field(default=None, sa_column=_at(nullable=True))


class Breach(Record, table=True):
    """A rule's breach for one group: pending, firing, then resolved. At most one per rule and
    group is open (a partial unique index)."""

    __tablename__: ClassVar[str] = "breaches"
    __table_args__ = SCHEMA

    breach_id: int | None = Field(default=None, sa_column=_bigserial())
    rule_id: str
    rule_version: int
    fingerprint: str
    scope: BreachScope = Field(sa_column=_json())
    state: str
    severity: str
    opened_at: datetime = Field(sa_column=_at())
    firing_at: datetime | None = Field(default=None, sa_column=_at(nullable=True))
    resolved_at: datetime | None = Field(default=None, sa_column=_at(nullable=True))
    resolved_reason: str | None = None
    last_breaching_at: datetime = Field(sa_column=_at())
    last_evaluated_at: datetime = Field(sa_column=_at())
    evidence: Evidence = Field(sa_column=_json())
    peak_evidence: Evidence = Field(sa_column=_json())
    firing_notified: bool = False
    acknowledged_at: datetime | None = Field(default=None, sa_column=_at(nullable=True))
    acknowledged_by: str | None = None
    silenced_until: datetime | None = Field(default=None, sa_column=_at(nullable=True))
    silence_reason: str | None = None
    silenced_by: str | None = None

    @property
    def id(self) -> int:
        """The breach's id, once it is in the database (read from it, or flushed)."""
        if self.breach_id is None:
            raise RuntimeError("the breach has no id before it is flushed")
        return self.breach_id


class BreachEvent(Record, table=True):
    """One entry of a breach's timeline."""

    __tablename__: ClassVar[str] = "breach_events"
    __table_args__ = SCHEMA

    event_id: int | None = Field(default=None, sa_column=_bigserial())
    breach_id: int = Field(
        sa_column=Column(BigInteger, ForeignKey("insights.breaches.breach_id"), nullable=False)
    )
    at: datetime = Field(sa_column=_at())
    kind: str
    actor: str
    detail: TimelineDetail = Field(sa_column=_json())


class OutboxRow(Record, table=True):
    """One message to deliver: a breach change for one channel (``_topic`` for the topic),
    written in the transaction of the change."""

    __tablename__: ClassVar[str] = "alert_outbox"
    __table_args__ = SCHEMA

    outbox_id: int | None = Field(default=None, sa_column=_bigserial())
    breach_id: int = Field(
        sa_column=Column(BigInteger, ForeignKey("insights.breaches.breach_id"), nullable=False)
    )
    rule_id: str
    channel: str
    channel_type: str
    transition: str
    payload: BreachMessage = Field(sa_column=Column(MessageJson(), nullable=False))
    created_at: datetime = Field(sa_column=_at())
    state: str = "pending"
    attempts: int = 0
    next_attempt_at: datetime = Field(sa_column=_at())
    delivered_at: datetime | None = Field(default=None, sa_column=_at(nullable=True))
    last_error: str | None = None
    progress: DeliveryProgress = Field(default_factory=dict, sa_column=_json(default="{}"))

    @property
    def id(self) -> int:
        if self.outbox_id is None:
            raise RuntimeError("the outbox row has no id before it is flushed")
        return self.outbox_id


class DeliveryAttempt(Record, table=True):
    """One attempt to deliver an outbox row."""

    __tablename__: ClassVar[str] = "alert_delivery_attempts"
    __table_args__ = SCHEMA

    attempt_id: int | None = Field(default=None, sa_column=_bigserial())
    outbox_id: int = Field(
        sa_column=Column(BigInteger, ForeignKey("insights.alert_outbox.outbox_id"), nullable=False)
    )
    at: datetime = Field(sa_column=_at())
    outcome: str
    status_code: int | None = None
    error: str | None = None
    retry_after_s: float | None = None


def table_of(model: type[SQLModel]) -> Table:
    """The table of a model, for statements that need none of the ORM (upserts, and changes
    written for many rows at once): the session runs them as they are, without the ORM's
    bulk-write preparation."""
    return SQLModel.metadata.tables[f"{SCHEMA['schema']}.{model.__tablename__}"]
