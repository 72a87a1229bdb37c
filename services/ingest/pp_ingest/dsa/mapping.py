"""How a statement of reasons becomes PolicyPulse events: an ``escalation.created`` and a
``decision.made`` whose ids derive from the statement's key, so importing the same statement
twice stores it once (docs/ingest-api.md has the table of fields)."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, date, datetime, time
from typing import Any

from pp_ingest.dsa.schema import Statement
from pp_shared.contracts.dsa import default_clause

SOURCE = "dsa-import"
# Event ids are UUIDv5 names under this namespace, so they are stable across imports.
EVENT_NAMESPACE = uuid.UUID("5b0c6f7e-2f4a-4d0e-9a51-7d1c3c0a9e21")
# Escalation and decision ids are Id strings of at most 128 characters; a puid may have 500.
_MAX_KEY_IN_ID = 100

_CONTENT_TYPES = {
    "CONTENT_TYPE_APP": "app",
    "CONTENT_TYPE_AUDIO": "audio",
    "CONTENT_TYPE_IMAGE": "image",
    "CONTENT_TYPE_PRODUCT": "product",
    "CONTENT_TYPE_SYNTHETIC_MEDIA": "synthetic_media",
    "CONTENT_TYPE_TEXT": "text",
    "CONTENT_TYPE_VIDEO": "video",
    "CONTENT_TYPE_OTHER": "other",
}
_REPORTERS = {
    "SOURCE_ARTICLE_16": "user_report",
    "SOURCE_TRUSTED_FLAGGER": "trusted_flagger",
    "SOURCE_TYPE_OTHER_NOTIFICATION": "user_report",
}


def action_of(st: Statement) -> str:
    """The most severe restriction the statement reports, as a PolicyPulse action."""
    visibility = set(st.decision_visibility or ())
    if "TERMINATED" in (st.decision_account or "") or st.decision_provision == (
        "DECISION_PROVISION_TOTAL_TERMINATION"
    ):
        return "account_ban"
    if st.decision_account or st.decision_provision == "DECISION_PROVISION_TOTAL_SUSPENSION":
        return "account_strike"
    if visibility & {"DECISION_VISIBILITY_CONTENT_REMOVED", "DECISION_VISIBILITY_CONTENT_DISABLED"}:
        return "remove"
    if "DECISION_VISIBILITY_CONTENT_AGE_RESTRICTED" in visibility:
        return "age_gate"
    if visibility == {"DECISION_VISIBILITY_CONTENT_LABELLED"}:
        return "label"
    return "restrict"


def region_of(st: Statement) -> str:
    """The one country the decision applies to, else ``EU`` (ISO 3166-1 reserves it)."""
    scope = set(st.territorial_scope or ())
    return scope.pop() if len(scope) == 1 else "EU"


def _id_part(key: str) -> str:
    if len(key) <= _MAX_KEY_IN_ID:
        return key
    return "sha256-" + hashlib.sha256(key.encode()).hexdigest()[:40]


def _midnight(day: date) -> str:
    return datetime.combine(day, time(), tzinfo=UTC).isoformat().replace("+00:00", "Z")


def to_events(st: Statement) -> tuple[dict[str, Any], dict[str, Any]]:
    """The escalation and the decision a statement stands for, as wire-format dicts."""
    target = default_clause(st.category, st.category_specification or ())
    part = _id_part(st.key)
    escalation_id = f"dsa:{part}"
    common = {"schema_version": 1, "source": SOURCE, "escalation_id": escalation_id}
    escalation = {
        **common,
        "event_id": str(uuid.uuid5(EVENT_NAMESPACE, f"{st.key}/escalation")),
        "event_type": "escalation.created",
        "occurred_at": _midnight(st.content_date),
        "content_id": escalation_id,
        "content_type": _CONTENT_TYPES[st.content_type[0]],
        "product_feature": "unspecified",
        "region": region_of(st),
        "language": (st.content_language or "und").lower(),
        "queue": "dsa-import",
        "escalation_reason": (
            "legal_request" if st.decision_ground == "DECISION_GROUND_ILLEGAL_CONTENT" else "other"
        ),
        "reporter_type": _REPORTERS.get(
            st.source_type,
            "automated_detection" if st.automated_detection == "Yes" else "moderator",
        ),
        "suggested_clause_id": target.clause_id,
    }
    decision = {
        **common,
        "event_id": str(uuid.uuid5(EVENT_NAMESPACE, f"{st.key}/decision")),
        "event_type": "decision.made",
        "occurred_at": _midnight(st.application_date),
        "decision_id": f"{escalation_id}:decision",
        "moderator_id": (
            "dsa:automated" if st.automated_decision == "AUTOMATED_DECISION_FULLY" else "dsa:human"
        ),
        "tier": "frontline",
        "action": action_of(st),
        "clause_id": target.clause_id,
    }
    return escalation, decision
