"""The breach lifecycle: what a breach change does, and the outbox rows it writes.

| now | no open breach | pending | firing |
|---|---|---|---|
| breaching | open pending; firing at once if ``for`` is 0 | firing once ``for`` passed | stays |
| not breaching | nothing | resolved, nobody told | resolved once ``keep_firing_for`` passed |

Changes are made in memory on breaches read for change (locked, and apart from the session)
and collected in :class:`Changes`: the breaches changed, the timeline entries and outbox rows
added, in order. The caller writes them in the transaction that read the breaches
(``repository.write_changes``), so a change and its messages exist together or not at all.
JSON documents are replaced, never changed in place, so an outbox message keeps the snapshot
it was given.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime

from pp_insights.alerts import metrics as m
from pp_insights.alerts.breaches.evaluator import Observation
from pp_insights.alerts.clock import iso, iso_or_none
from pp_insights.alerts.documents import Evidence, TimelineDetail
from pp_insights.alerts.rules.spec import TOPIC_CHANNEL, TOPIC_CHANNEL_TYPE, ChannelType, RuleSpec
from pp_insights.alerts.tables import AlertRule, Breach, BreachEvent, OutboxRow
from pp_shared.contracts.breaches import BreachMessage

EVALUATOR = "evaluator"
"""The actor of the changes evaluation makes."""


@dataclass
class Changes:
    """What one transaction does to breaches, in the order it happens."""

    breaches: dict[int, Breach] = field(default_factory=dict)
    events: list[BreachEvent] = field(default_factory=list)
    outbox: list[OutboxRow] = field(default_factory=list)

    def changed(self, breach: Breach) -> None:
        self.breaches[breach.id] = breach

    def record(
        self, breach: Breach, *, kind: str, at: datetime, actor: str, detail: TimelineDetail
    ) -> None:
        """A timeline entry of the breach."""
        self.events.append(
            BreachEvent(breach_id=breach.id, at=at, kind=kind, actor=actor, detail=detail)
        )


def breach_message(spec: RuleSpec | None, breach: Breach, transition: str) -> BreachMessage:
    """What every channel is told about a breach change (rendered per channel when sent).
    ``spec`` is the rule's latest; None when the rule has no version left."""
    message = {
        "breach_id": breach.id,
        "transition": transition,
        "state": breach.state,
        "rule_id": breach.rule_id,
        "rule_version": breach.rule_version,
        "rule_name": spec.name if spec is not None else breach.rule_id,
        "metric": spec.metric if spec is not None else None,
        "severity": breach.severity,
        "scope": breach.scope,
        "fingerprint": breach.fingerprint,
        "evidence": breach.evidence,
        "peak_evidence": breach.peak_evidence,
        "opened_at": iso(breach.opened_at),
        "firing_at": iso_or_none(breach.firing_at),
        "resolved_at": iso_or_none(breach.resolved_at),
        "resolved_reason": breach.resolved_reason,
        "acknowledged_at": iso_or_none(breach.acknowledged_at),
        "acknowledged_by": breach.acknowledged_by,
        "breach_url": f"/v1/breaches/{breach.id}",
    }
    return BreachMessage.model_validate(message)


def _enqueue(
    changes: Changes,
    breach: Breach,
    message: BreachMessage,
    *,
    channel: str,
    channel_type: str,
    at: datetime,
) -> None:
    changes.outbox.append(
        OutboxRow(
            breach_id=breach.id,
            rule_id=breach.rule_id,
            channel=channel,
            channel_type=channel_type,
            transition=message.transition,
            payload=message,
            created_at=at,
            next_attempt_at=at,
        )
    )


def announce(
    changes: Changes,
    *,
    spec: RuleSpec | None,
    breach: Breach,
    transition: str,
    at: datetime,
    notify: bool,
    types: Collection[ChannelType] | None = None,
) -> None:
    """Queue a breach change: always for the breaches topic, and for the rule's channels (of
    ``types``, default all) when ``notify``; one message for all of them."""
    message = breach_message(spec, breach, transition)
    _enqueue(
        changes, breach, message, channel=TOPIC_CHANNEL, channel_type=TOPIC_CHANNEL_TYPE, at=at
    )
    if notify:
        _enqueue_channels(changes, spec, breach, message, at=at, types=types)


def announce_channels(
    changes: Changes,
    *,
    spec: RuleSpec | None,
    breach: Breach,
    transition: str,
    at: datetime,
    types: Collection[ChannelType] | None = None,
) -> None:
    """Queue a breach change for the rule's channels (of ``types``, default all)."""
    message = breach_message(spec, breach, transition)
    _enqueue_channels(changes, spec, breach, message, at=at, types=types)


def _enqueue_channels(
    changes: Changes,
    spec: RuleSpec | None,
    breach: Breach,
    message: BreachMessage,
    *,
    at: datetime,
    types: Collection[ChannelType] | None,
) -> None:
    for c in spec.channels if spec is not None else []:
        if types is None or c.type in types:
            _enqueue(changes, breach, message, channel=c.name, channel_type=c.type.value, at=at)


def _silenced(breach: Breach, now: datetime) -> bool:
    until = breach.silenced_until
    return until is not None and until > now


def _peak(breach: Breach, evidence: Evidence, rising: bool) -> Evidence:
    peak = breach.peak_evidence
    new, old = evidence.get("value"), peak.get("value")
    if new is None:
        return peak
    if old is None or (new > old if rising else new < old):
        return evidence
    return peak


def _transition(
    changes: Changes,
    breach: Breach,
    *,
    state: str,
    at: datetime,
    actor: str,
    detail: TimelineDetail,
) -> None:
    breach.state = state
    changes.changed(breach)
    changes.record(breach, kind=state, at=at, actor=actor, detail=detail)
    m.BREACH_TRANSITIONS.labels(state).inc()


def _fire_if_due(changes: Changes, spec: RuleSpec, breach: Breach, now: datetime) -> None:
    if breach.state == "pending" and now - breach.opened_at >= spec.for_delta:
        breach.firing_at = now
        _transition(
            changes, breach, state="firing", at=now, actor=EVALUATOR,
            detail={"evidence": breach.evidence},
        )  # fmt: skip
        announce(changes, spec=spec, breach=breach, transition="firing", at=now, notify=False)
    if breach.state == "firing" and not breach.firing_notified and not _silenced(breach, now):
        # A breach that fired while silenced is told once the silence ends, if still firing.
        breach.firing_notified = True
        changes.changed(breach)
        announce_channels(changes, spec=spec, breach=breach, transition="firing", at=now)


def resolve(
    changes: Changes,
    *,
    spec: RuleSpec | None,
    breach: Breach,
    now: datetime,
    reason: str,
    evidence: Evidence | None = None,
) -> None:
    """Resolve an open breach; its channels hear of it only if they heard it fire."""
    breach.resolved_at = now
    breach.resolved_reason = reason
    if evidence is not None:
        breach.evidence = evidence
        breach.last_evaluated_at = now
    _transition(
        changes, breach, state="resolved", at=now, actor=EVALUATOR, detail={"reason": reason}
    )
    announce(
        changes,
        spec=spec,
        breach=breach,
        transition="resolved",
        at=now,
        notify=breach.firing_notified,
    )


def new_breach(rule: AlertRule, obs: Observation, fingerprint: str, now: datetime) -> Breach:
    """The pending breach a breaching group opens (its id comes with its insertion)."""
    spec = rule.spec
    return Breach(
        rule_id=spec.id,
        rule_version=rule.version,
        fingerprint=fingerprint,
        scope={"filters": spec.scope, "group": obs.group},
        state="pending",
        severity=spec.severity.value,
        opened_at=now,
        last_breaching_at=now,
        last_evaluated_at=now,
        evidence=obs.evidence,
        peak_evidence=obs.evidence,
    )


def opened(changes: Changes, spec: RuleSpec, breach: Breach, now: datetime) -> None:
    """A breach just inserted: its first timeline entry and messages; firing at once when
    the rule's ``for`` is 0."""
    changes.record(
        breach, kind="pending", at=now, actor=EVALUATOR, detail={"evidence": breach.evidence}
    )
    m.BREACH_TRANSITIONS.labels("pending").inc()
    announce(changes, spec=spec, breach=breach, transition="pending", at=now, notify=False)
    _fire_if_due(changes, spec, breach, now)


def observed(
    changes: Changes, spec: RuleSpec, breach: Breach, obs: Observation, *, version: int,
    now: datetime,
) -> None:  # fmt: skip
    """What an evaluation's observation of its group does to an open breach."""
    if obs.breaching:
        breach.evidence = obs.evidence
        breach.peak_evidence = _peak(breach, obs.evidence, spec.condition.op.rising)
        breach.last_breaching_at = now
        breach.last_evaluated_at = now
        breach.rule_version = version
        breach.severity = spec.severity.value
        changes.changed(breach)
        _fire_if_due(changes, spec, breach, now)
    elif breach.state == "pending":
        resolve(
            changes, spec=spec, breach=breach, now=now, reason="cleared_before_firing",
            evidence=obs.evidence,
        )  # fmt: skip
    elif now - breach.last_breaching_at >= spec.keep_firing_delta:
        resolve(
            changes, spec=spec, breach=breach, now=now, reason=obs.reason, evidence=obs.evidence
        )
    else:
        # Within keep_firing_for: still firing, so a metric that dips under the threshold
        # and back stays one breach.
        breach.evidence = obs.evidence
        breach.last_evaluated_at = now
        changes.changed(breach)
        _fire_if_due(changes, spec, breach, now)
