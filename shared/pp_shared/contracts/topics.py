"""Kafka topic names: a public contract. A breaking change is a new version suffix."""

from enum import StrEnum


class Topic(StrEnum):
    """Every topic PolicyPulse reads or writes."""

    EVENTS_RAW = "pp.events.raw.v1"
    """All four event types as upstream tools send them (HTTP ingest and direct producers)."""
    EVENTS_VALIDATED = "pp.events.validated.v1"
    """Events that passed validation and were stored once in the canonical log."""
    EVENTS_TAGGED = "pp.events.tagged.v1"
    """Validated events with policy-clause tags attached to escalations."""
    EVENTS_DEAD_LETTER = "pp.events.deadletter.v1"
    """Raw messages that could not be decoded or validated, with the reason."""
    CLASSIFIER_DEAD_LETTER = "pp.classifier.deadletter.v1"
    """Validated events the classifier could not tag or store, with the reason."""
    INSIGHTS_DEAD_LETTER = "pp.insights.deadletter.v1"
    """Tagged events insights could not fold into its facts, with the reason."""
    BREACHES = "pp.breaches.v1"
    """Threshold breach state changes."""
    TAXONOMY_PUBLISHED = "pp.taxonomy.published.v1"
    """Taxonomy versions as the classifier publishes them (``events.TaxonomyPublished``),
    keyed by version: insights records each as a launch."""


def topic_name(topic: Topic, prefix: str = "") -> str:
    """The broker-side name of a topic, with an optional namespace prefix (tests, tenants)."""
    return f"{prefix}{topic.value}"
