from __future__ import annotations

from typing import Any

import asyncpg
import orjson
import pytest

from pp_classifier import consumer
from pp_classifier.main import create_app
from pp_classifier.settings import ClassifierSettings
from pp_classifier.training.model import ClauseModel
from pp_classifier.training.service import storable
from pp_shared.contracts.events import TaggedEvent, TagMethod
from pp_shared.contracts.topics import Topic, topic_name
from pp_shared.failures import PoisonRecord
from pp_shared.testing.apps import produce, read_topic, record, running_app
from pp_shared.testing.plugin import eventually
from pp_shared.testing.samples import decision, escalation
from pp_shared.testing.servers import Servers


class TestParseRecords:
    def test_an_invalid_record_is_poison_with_its_errors(self) -> None:
        good = orjson.dumps(escalation())
        surrogate = good.replace(b'"text_excerpt":"..."', b'"text_excerpt":"a\\ud800b"')
        assert surrogate != good
        poisons = []
        for value in (b"not json", surrogate):
            with pytest.raises(PoisonRecord) as caught:
                consumer.parse_records([record("t", good, offset=0), record("t", value, offset=1)])
            poisons.append((caught.value.reason, [e["pointer"] for e in caught.value.errors]))
        assert poisons == [("invalid", [""]), ("invalid", [""])]
        events = consumer.parse_records([record("t", good, offset=2)])
        assert [e.event_id for e in events] == [escalation()["event_id"]]

    def test_nul_characters_are_dropped_before_storing(self) -> None:
        assert storable("a\x00b") == "ab"


class TestPipeline:
    async def test_every_event_is_forwarded_and_escalations_tagged_once(
        self, servers: Servers, settings: ClassifierSettings, topic_prefix: str
    ) -> None:
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

    async def test_bad_input_never_stops_the_consumer(
        self, servers: Servers, database_url: str, settings: ClassifierSettings, topic_prefix: str
    ) -> None:
        validated = topic_name(Topic.EVENTS_VALIDATED, topic_prefix)

        def odd(n: int, text: str | None, **over: object) -> tuple[bytes, bytes]:
            body = escalation(
                event_id=f"e{n}",
                escalation_id=f"esc-{n}",
                suggested_clause_id=None,
                text_excerpt=text,
                **over,
            )
            return f"esc-{n}".encode(), orjson.dumps(body)

        messages = [
            (b"esc-0", b"\xff not json"),
            odd(1, None),
            odd(2, ""),
            odd(3, "ab\x00cd I will kill you"),
            odd(4, "\U0001f600" * 2_000 + " buy cheap followers"),
            odd(5, "x" * 10_000),
            odd(6, "\u3053\u3093\u306b\u3061\u306f", language="ja"),
            odd(7, "I will kill you"),
        ]
        async with running_app(create_app(settings)) as client:
            await produce(servers.kafka_bootstrap, validated, messages)
            out = await read_topic(
                servers.kafka_bootstrap, topic_name(Topic.EVENTS_TAGGED, topic_prefix), expect=7
            )
            models = (await client.get("/v1/models")).json()
            artifact = await client.get(f"/v1/models/{models[0]['version']}/artifact")
            missing = await client.get("/v1/models/seed-000000000000/artifact")
            # No decision labels yet: the candidate is the seed model itself.
            retrain = await client.post(
                "/v1/models/retrain", headers={"content-type": "application/json"}
            )
            assert retrain.status_code == 202

            async def job() -> dict[str, Any]:
                polled: dict[str, Any] = (await client.get(retrain.headers["location"])).json()
                return polled

            retrained = await eventually(job, lambda j: j["state"] != "running", timeout=120)
        tagged = {
            t.event.event_id: t.tags[0]
            for t in (TaggedEvent.model_validate_json(r.value or b"") for r in out)
        }
        assert sorted(tagged) == [f"e{n}" for n in range(1, 8)]
        assert (tagged["e3"].clause_id, tagged["e3"].method) == ("VBDA.THREATS", TagMethod.RULE)
        assert (tagged["e7"].clause_id, tagged["e7"].method) == ("VBDA.THREATS", TagMethod.RULE)
        assert {tagged[f"e{n}"].clause_id for n in (1, 2)} == {"unclassified"}
        (seed,) = models
        assert {t.model_version for t in tagged.values()} == {seed["version"]}
        assert ClauseModel.from_bytes(artifact.content).version == seed["version"]
        assert missing.status_code == 404
        assert (retrained["state"], retrained["outcome"]) == ("done", "unchanged")
        assert (retrained["model_version"], retrained["reason"]) == (
            seed["version"],
            "no new usable labels",
        )
        assert (seed["status"], seed["reason"], seed["decision_labels"]) == (
            "active",
            "seed model",
            0,
        )
        conn = await asyncpg.connect(database_url)
        try:
            texts = await conn.fetch("SELECT escalation_id, text FROM classifier.texts")
            dead = await conn.fetch(
                "SELECT reason, raw_value, kafka_offset FROM classifier.dead_letters"
            )
        finally:
            await conn.close()
        # The record that is not an event is kept as a dead letter, not dropped.
        assert [(r["reason"], bytes(r["raw_value"])) for r in dead] == [
            ("invalid", b"\xff not json")
        ]
        stored = {r["escalation_id"]: r["text"] for r in texts}
        assert stored["esc-3"] == "abcd I will kill you"
        assert "esc-1" not in stored
        assert "esc-2" not in stored
