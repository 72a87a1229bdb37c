from __future__ import annotations

import orjson

from pp_classifier import tagger
from pp_classifier.main import create_app
from pp_classifier.settings import ClassifierSettings
from pp_classifier.taxonomy import load_taxonomy
from pp_shared.events import EscalationCreated, TaggedEvent, parse_event
from pp_shared.testing.apps import produce, read_topic, running_app
from pp_shared.testing.samples import decision, escalation
from pp_shared.testing.servers import Servers
from pp_shared.topics import Topic, topic_name

SEED = load_taxonomy()


def esc(**over: object) -> EscalationCreated:
    event = parse_event(orjson.dumps(escalation(**over)))
    assert isinstance(event, EscalationCreated)
    return event


class TestTag:
    def test_declared_clause_wins(self) -> None:
        (tag,) = tagger.tag(esc(), taxonomy=SEED)
        assert (tag.clause_id, tag.area, tag.method.value, tag.confidence) == (
            "HATE.PROTECTED_ATTR.RELIGION",
            "HATE",
            "declared",
            1.0,
        )

    def test_no_declared_clause_is_unclassified(self) -> None:
        (tag,) = tagger.tag(esc(suggested_clause_id=None), taxonomy=SEED)
        assert (tag.clause_id, tag.area, tag.method.value, tag.confidence) == (
            "unclassified",
            "unclassified",
            "none",
            0.0,
        )


class TestPipeline:
    async def test_every_event_is_forwarded_and_escalations_tagged_once(
        self, servers: Servers, database_url: str, topic_prefix: str
    ) -> None:
        settings = ClassifierSettings(
            database_url=database_url,
            kafka_bootstrap_servers=servers.kafka_bootstrap,
            topic_prefix=topic_prefix,
            kafka_session_timeout_ms=servers.session_timeout_ms,
        )
        validated = topic_name(Topic.EVENTS_VALIDATED, topic_prefix)
        key = b"esc-000123"
        messages = [
            (key, orjson.dumps(escalation())),
            (key, orjson.dumps(decision())),
            (key, orjson.dumps(escalation())),
        ]  # a redelivery
        async with running_app(create_app(settings)):
            await produce(servers.kafka_bootstrap, validated, messages)
            out = await read_topic(
                servers.kafka_bootstrap, topic_name(Topic.EVENTS_TAGGED, topic_prefix), expect=3
            )
        tagged = [TaggedEvent.model_validate_json(r.value or b"") for r in out]
        assert [t.event.event_type for t in tagged] == [
            "escalation.created",
            "decision.made",
            "escalation.created",
        ]
        assert [len(t.tags) for t in tagged] == [1, 0, 1]
        assert tagged[0].tags == tagged[2].tags
        assert tagged[0].tags[0].clause_id == "HATE.PROTECTED_ATTR.RELIGION"
