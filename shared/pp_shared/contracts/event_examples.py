"""One example of each event, as in DOMAIN.md's wire-format section: the bodies that the
public API's documentation shows and that tests start from (``pp_shared.testing.samples``)."""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

ESCALATION: MappingProxyType[str, Any] = MappingProxyType(
    {
        "event_id": "6f1c2d3e-0000-4000-8000-000000000001",
        "event_type": "escalation.created",
        "schema_version": 1,
        "occurred_at": "2026-11-20T10:15:00Z",
        "source": "review-console",
        "escalation_id": "esc-000123",
        "content_id": "c-9f8e7d",
        "content_type": "video",
        "product_feature": "comments",
        "region": "DE",
        "language": "de",
        "queue": "hate-tier2",
        "escalation_reason": "policy_unclear",
        "reporter_type": "user_report",
        "severity": 3,
        "text_excerpt": "...",
        "suggested_clause_id": "HATE.PROTECTED_ATTR.RELIGION",
    }
)

DECISION: MappingProxyType[str, Any] = MappingProxyType(
    {
        "event_id": "6f1c2d3e-0000-4000-8000-000000000002",
        "event_type": "decision.made",
        "schema_version": 1,
        "occurred_at": "2026-11-20T11:02:00Z",
        "source": "review-console",
        "escalation_id": "esc-000123",
        "decision_id": "dec-555",
        "moderator_id": "m-42",
        "tier": "escalation",
        "action": "remove",
        "clause_id": "HATE.PROTECTED_ATTR.RELIGION",
    }
)

APPEAL: MappingProxyType[str, Any] = MappingProxyType(
    {
        "event_id": "6f1c2d3e-0000-4000-8000-000000000003",
        "event_type": "appeal.resolved",
        "schema_version": 1,
        "occurred_at": "2026-11-22T09:00:00Z",
        "source": "appeals",
        "escalation_id": "esc-000123",
        "appeal_id": "ap-77",
        "decision_id": "dec-555",
        "outcome": "overturned",
    }
)

QA_REVIEW: MappingProxyType[str, Any] = MappingProxyType(
    {
        "event_id": "6f1c2d3e-0000-4000-8000-000000000004",
        "event_type": "qa.reviewed",
        "schema_version": 1,
        "occurred_at": "2026-11-21T08:30:00Z",
        "source": "qa-tool",
        "escalation_id": "esc-000123",
        "decision_id": "dec-555",
        "reviewer_id": "qa-7",
        "agrees": False,
        "correct_clause_id": "HATE.SLURS",
    }
)
