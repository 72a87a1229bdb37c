"""Tagging in layers. A clause declared by the upstream tool wins; otherwise the escalation is
``unclassified`` until the rule and model layers answer. Every tag records the taxonomy
version it was made with."""

from __future__ import annotations

from pp_classifier.taxonomy import Taxonomy
from pp_shared.events import UNCLASSIFIED, EscalationCreated, Tag, TagMethod, area_of

MODEL_VERSION = "none"


def tag(event: EscalationCreated, *, taxonomy: Taxonomy) -> tuple[Tag, ...]:
    """The clause tags of one escalation, best first."""
    if event.suggested_clause_id:
        return (
            Tag(
                clause_id=event.suggested_clause_id,
                area=area_of(event.suggested_clause_id),
                method=TagMethod.DECLARED,
                confidence=1.0,
                taxonomy_version=taxonomy.version,
                model_version=MODEL_VERSION,
            ),
        )
    return (
        Tag(
            clause_id=UNCLASSIFIED,
            area=UNCLASSIFIED,
            method=TagMethod.NONE,
            confidence=0.0,
            taxonomy_version=taxonomy.version,
            model_version=MODEL_VERSION,
        ),
    )
