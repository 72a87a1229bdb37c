from __future__ import annotations

import asyncpg
import orjson

from pp_classifier.main import create_app
from pp_classifier.settings import ClassifierSettings
from pp_shared.contracts.topics import Topic, topic_name
from pp_shared.testing.apps import produce, read_topic, running_app
from pp_shared.testing.samples import decision, escalation
from pp_shared.testing.servers import Servers


class TestLabelsFromDecisions:
    async def test_latest_decision_labels_the_escalation_text(
        self, servers: Servers, database_url: str, settings: ClassifierSettings, topic_prefix: str
    ) -> None:
        first = decision(event_id="d1", occurred_at="2026-11-20T11:00:00Z", clause_id="HATE.SLURS")
        later = decision(
            event_id="d2",
            decision_id="dec-2",
            occurred_at="2026-11-20T12:00:00Z",
            action="no_violation",
            clause_id=None,
        )
        messages = [
            (b"esc-000123", orjson.dumps(first)),  # the decision before its escalation
            (b"esc-000123", orjson.dumps(escalation(text_excerpt="they are [group] vermin"))),
            (b"esc-000123", orjson.dumps(later)),
            (b"esc-000123", orjson.dumps(first)),  # a replay of the older decision
            (
                b"esc-9",
                orjson.dumps(escalation(event_id="e9", escalation_id="esc-9", text_excerpt=None)),
            ),
        ]
        async with running_app(create_app(settings)):
            await produce(
                servers.kafka_bootstrap, topic_name(Topic.EVENTS_VALIDATED, topic_prefix), messages
            )
            await read_topic(
                servers.kafka_bootstrap, topic_name(Topic.EVENTS_TAGGED, topic_prefix), expect=5
            )
        conn = await asyncpg.connect(database_url)
        try:
            rows = await conn.fetch(
                "SELECT t.escalation_id, t.text, l.clause_id, l.decision_id"
                " FROM classifier.texts t LEFT JOIN classifier.labels l USING (escalation_id)"
            )
        finally:
            await conn.close()
        assert [tuple(r) for r in rows] == [
            ("esc-000123", "they are [group] vermin", "none", "dec-2"),
        ]
