"""Tagging. For now a declared clause wins and anything else is ``unclassified``; rule and
model layers slot in behind ``tag`` without changing its callers."""

from __future__ import annotations

from pp_shared.events import UNCLASSIFIED, EscalationCreated, Tag, TagMethod, area_of

TAXONOMY_VERSION = "bootstrap"
MODEL_VERSION = "none"


def tag(event: EscalationCreated) -> tuple[Tag, ...]:
    """The clause tags of one escalation, best first."""
    if event.suggested_clause_id:
        return (
            Tag(
                clause_id=event.suggested_clause_id,
                area=area_of(event.suggested_clause_id),
                method=TagMethod.DECLARED,
                confidence=1.0,
                taxonomy_version=TAXONOMY_VERSION,
                model_version=MODEL_VERSION,
            ),
        )
    return (
        Tag(
            clause_id=UNCLASSIFIED,
            area=UNCLASSIFIED,
            method=TagMethod.NONE,
            confidence=0.0,
            taxonomy_version=TAXONOMY_VERSION,
            model_version=MODEL_VERSION,
        ),
    )
