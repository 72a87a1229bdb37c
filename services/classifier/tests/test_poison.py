"""A record that makes the classifier fail, whenever it is processed, is set aside as a dead
letter and the partition goes on: against the real broker and Postgres, with the failure made
by the database itself (a trigger that refuses one escalation's tags)."""

from __future__ import annotations

import asyncpg
import orjson

from pp_classifier.main import create_app
from pp_classifier.settings import ClassifierSettings
from pp_shared.contracts.events import TaggedEvent
from pp_shared.contracts.topics import Topic, topic_name
from pp_shared.testing.apps import produce, read_topic, running_app
from pp_shared.testing.plugin import eventually
from pp_shared.testing.samples import escalation
from pp_shared.testing.servers import Servers

REFUSE_ONE = """
CREATE FUNCTION classifier.refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.escalation_id = 'esc-poison' THEN
        RAISE EXCEPTION 'refused by the test trigger';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER refuse_poison BEFORE INSERT ON classifier.tags
    FOR EACH ROW EXECUTE FUNCTION classifier.refuse_poison();
"""


async def test_a_record_that_fails_the_classifier_is_set_aside_and_the_rest_flow(
    servers: Servers, database_url: str, settings: ClassifierSettings, topic_prefix: str
) -> None:
    events = [
        escalation(event_id=f"e{n}", escalation_id=f"esc-{n}", text_excerpt="I will kill you")
        for n in range(6)
    ]
    events.insert(3, escalation(event_id="poison", escalation_id="esc-poison"))
    async with running_app(create_app(settings)) as client:
        conn = await asyncpg.connect(database_url)
        try:
            await conn.execute(REFUSE_ONE)
            await produce(
                servers.kafka_bootstrap,
                topic_name(Topic.EVENTS_VALIDATED, topic_prefix),
                [(b"one-partition", orjson.dumps(e)) for e in events],
            )
            out = await read_topic(
                servers.kafka_bootstrap, topic_name(Topic.EVENTS_TAGGED, topic_prefix), expect=6
            )
            dead = await eventually(
                lambda: conn.fetch("SELECT reason, errors, raw_value FROM classifier.dead_letters"),
                lambda rows: len(rows) == 1,
            )
        finally:
            await conn.close()
        ready = await client.get("/readyz")
        listed = (await client.get("/v1/classifier/dead-letters")).json()["items"]
    forwarded = [TaggedEvent.model_validate_json(r.value or b"").event.event_id for r in out]
    assert sorted(forwarded) == [f"e{n}" for n in range(6)]
    assert ready.status_code == 200
    (row,) = dead
    assert row["reason"] == "processing_failed"
    assert orjson.loads(row["errors"])[0]["detail"] == "RaiseError: refused by the test trigger"
    assert orjson.loads(row["raw_value"])["event_id"] == "poison"
    assert [(item["reason"], item["offset"]) for item in listed] == [("processing_failed", 3)]
