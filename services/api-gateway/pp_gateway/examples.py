"""An example of every request body the public API takes, shown in the merged OpenAPI
document (``/docs`` offers it as the body to try). A test validates each against the
operation's own schema, so an example that no longer fits its service fails the build."""

from __future__ import annotations

from typing import Any

from pp_shared.contracts.event_examples import DECISION, ESCALATION

_ESCALATION = {
    **ESCALATION,
    "text_excerpt": "Never hire [group] people, they are all lazy and dishonest.",
}
_DECISION = dict(DECISION)
_RULE: dict[str, Any] = {
    "id": "hate-unclear-spike",
    "name": "HATE policy-unclear spike",
    "metric": "policy_unclear_share",
    "scope": {"area": ["HATE"]},
    "group_by": ["clause_id", "region"],
    "window": "6h",
    "condition": {"kind": "statistical", "op": ">", "confidence": 0.99, "baseline": "7d"},
    "min_sample": 20,
    "severity": "high",
    "channels": [
        {"name": "ops", "type": "webhook", "url": "https://alerts.example.org/policypulse"}
    ],
}
_TAXONOMY: dict[str, Any] = {
    "version": "2026.12.1",
    "published_at": "2026-12-01T09:00:00Z",
    "description": "Hate speech guidance: a sharper line between attacks and discussion.",
    "areas": [
        {
            "id": "HATE",
            "title": "Hate speech and hateful behaviour",
            "description": "Attacks on people because of a protected attribute.",
            "clauses": [
                {
                    "id": "HATE.PROTECTED_ATTR.RACE",
                    "title": "Attacks on race",
                    "description": "Claims of inferiority, contempt or harmful stereotypes "
                    "stated as fact about people because of their race.",
                    "positive_examples": [
                        "[group] people are just less intelligent.",
                        "Never hire [group] people, they are all lazy.",
                    ],
                    "negative_examples": [
                        "Racial bias in hiring is still measurable.",
                        "My grandmother told me what segregation was like.",
                    ],
                    "dsa_category": "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH",
                    "dsa_keyword": "KEYWORD_HATE_SPEECH",
                    "lexicon": {"en": ["inferior race"], "de": ["minderwertige Rasse"]},
                }
            ],
        }
    ],
}
_DSA_CSV = (
    "uuid,decision_visibility,decision_visibility_other,end_date_visibility_restriction,"
    "decision_monetary,decision_monetary_other,end_date_monetary_restriction,"
    "decision_provision,end_date_service_restriction,decision_account,"
    "end_date_account_restriction,account_type,decision_ground,decision_ground_reference_url,"
    "illegal_content_legal_ground,illegal_content_explanation,incompatible_content_ground,"
    "incompatible_content_explanation,incompatible_content_illegal,category,"
    "category_addition,category_specification,category_specification_other,content_type,"
    "content_type_other,content_language,content_date,territorial_scope,application_date,"
    "decision_facts,source_type,source_identity,automated_detection,automated_decision,"
    "platform_name,platform_uid,created_at\n"
)

_GOLDEN_CSV = (
    "case_id,text,expected_clause_id\n"
    "c1,Never hire [group] people; they are all lazy.,HATE.PROTECTED_ATTR.RACE\n"
    "c2,Racial bias in hiring is still measurable.,none\n"
)
_GOLDEN = {
    "taxonomy_version": "2026.11.0",
    "clauses": ["HATE.PROTECTED_ATTR.RACE"],
    "cases": [
        {
            "case_id": "c1",
            "text": "Never hire [group] people; they are all lazy.",
            "expected_clause_id": "HATE.PROTECTED_ATTR.RACE",
        },
        {
            "case_id": "c2",
            "text": "Racial bias in hiring is still measurable.",
            "expected_clause_id": "none",
        },
    ],
}
_MODERATORS_CSV = "moderator_id,region,language\nm-17,DE,de\nm-18,FR,fr\n"
_RESPONSES_CSV = "moderator_id,case_id,clause_id\nm-17,c1,HATE.PROTECTED_ATTR.RACE\nm-17,c2,none\n"
_RESPONSES = [
    {"moderator_id": "m-17", "case_id": "c1", "clause_id": "HATE.PROTECTED_ATTR.RACE"},
    {"moderator_id": "m-17", "case_id": "c2", "clause_id": "none", "confidence": 0.8},
]

EXAMPLES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/v1/events"): {"application/json": _ESCALATION},
    ("POST", "/v1/events:batch"): {
        "application/json": [_ESCALATION, _DECISION],
        "application/x-ndjson": '{"event_id": "..."}\n{"event_id": "..."}\n',
        "application/ndjson": '{"event_id": "..."}\n{"event_id": "..."}\n',
    },
    ("POST", "/v1/imports/dsa"): {
        "application/json": {"uuid": "b3d4...", "decision_ground": "DECISION_GROUND_ILLEGAL"},
        "text/csv": _DSA_CSV,
        "application/csv": _DSA_CSV,
    },
    ("POST", "/v1/dead-letters:replay"): {"application/json": {"ids": [41, 42]}},
    ("POST", "/v1/classifier/dead-letters:replay"): {"application/json": {"ids": [7]}},
    ("POST", "/v1/insights/dead-letters:replay"): {"application/json": {"ids": [3]}},
    ("POST", "/v1/taxonomy/versions"): {"application/json": _TAXONOMY},
    ("POST", "/v1/models/retrain"): {"application/json": {}},
    ("POST", "/v1/taxonomy/simulate"): {"application/json": _TAXONOMY},
    ("POST", "/v1/tag"): {
        "application/json": {
            "texts": ["Landlords, don't rent to them, keep them out of our neighbourhood."],
            "language": "en",
        }
    },
    ("POST", "/v1/launches"): {
        "application/json": {
            "title": "Reclaimed-slur FAQ",
            "description": "Moderator FAQ on reclaimed slurs, second round.",
            "launched_at": "2026-11-02T09:00:00Z",
            "scope": {"area": "HATE", "clause_ids": ["HATE.SLURS"], "regions": ["DE"]},
        }
    },
    ("POST", "/v1/calibration/golden-sets"): {
        "application/json": _GOLDEN,
        "text/csv": _GOLDEN_CSV,
        "application/csv": _GOLDEN_CSV,
    },
    ("POST", "/v1/calibration/exercises"): {
        "application/json": {
            "name": "Q4 before walkthrough",
            "golden_set_id": 1,
            "moderators": [{"moderator_id": "m-17", "region": "DE", "language": "de"}],
        }
    },
    ("POST", "/v1/calibration/exercises/{exercise_id}/moderators"): {
        "application/json": [{"moderator_id": "m-18", "region": "FR", "language": "fr"}],
        "text/csv": _MODERATORS_CSV,
        "application/csv": _MODERATORS_CSV,
    },
    ("POST", "/v1/calibration/exercises/{exercise_id}/responses"): {
        "application/json": _RESPONSES,
        "text/csv": _RESPONSES_CSV,
        "application/csv": _RESPONSES_CSV,
    },
    ("POST", "/v1/calibration/exercises/{exercise_id}/close"): {"application/json": {}},
    ("POST", "/v1/rules"): {"application/json": _RULE},
    ("POST", "/v1/rules/preview"): {"application/json": _RULE},
    ("PUT", "/v1/rules/{rule_id}"): {"application/json": _RULE},
    ("POST", "/v1/breaches/{breach_id}/ack"): {
        "application/json": {"note": "Looking at the DE queue now."}
    },
    ("POST", "/v1/breaches/{breach_id}/silence"): {
        "application/json": {"for": "6h", "reason": "known outage in the review tool"}
    },
    ("POST", "/v1/keys"): {
        "application/json": {
            "role": "analyst",
            "owner": "dana@policy",
            "name": "hate desk",
            "areas": ["HATE"],
            "expires_in": "90d",
        }
    },
}
"""Per operation, per media type of its body: the example."""
