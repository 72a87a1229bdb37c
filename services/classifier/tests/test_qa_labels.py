"""A QA reviewer's correction is a label, and it wins over the decision it corrects."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from pp_classifier.main import create_app
from pp_classifier.settings import ClassifierSettings
from pp_classifier.training.service import Replica
from pp_shared.contracts.events import TaggedEvent, TagMethod
from pp_shared.contracts.topics import Topic, topic_name
from pp_shared.testing.apps import produce, read_topic, running_app
from pp_shared.testing.plugin import eventually
from pp_shared.testing.samples import decision, qa_review
from pp_shared.testing.servers import Servers

from .retraining_support import retraining_at_once, unclassified

# The moderator said scam; the QA reviewer corrected it to debt bondage.
DECIDED = "INA.SCAMS"
CORRECTED = "HEX.FORCED_LABOUR"


class TestQaCorrections:
    # Two trainings of about 40 CPU seconds each (the seed model at start, then the
    # retrained one): 530 s in one run on a two-core machine shared with other test suites,
    # over the suite's 300 s default.
    @pytest.mark.timeout(900)
    async def test_a_qa_correction_changes_the_next_models_answer(
        self, servers: Servers, settings: ClassifierSettings, topic_prefix: str
    ) -> None:
        settings = retraining_at_once(settings)
        validated = topic_name(Topic.EVENTS_VALIDATED, topic_prefix)
        tagged_topic = topic_name(Topic.EVENTS_TAGGED, topic_prefix)

        app = create_app(settings)
        async with running_app(app) as client:
            replica: Replica = app.state.replica
            # The decision and its correction arrive in one batch, before any retraining.
            label = decision(event_id="d1", escalation_id="esc-1", clause_id=DECIDED)
            review = qa_review(
                event_id="q1",
                escalation_id="esc-1",
                decision_id=label["decision_id"],
                agrees=False,
                correct_clause_id=CORRECTED,
            )
            await produce(
                servers.kafka_bootstrap,
                validated,
                [
                    unclassified(1),
                    (b"esc-1", orjson.dumps(label)),
                    (b"esc-1", orjson.dumps(review)),
                ],
            )
            (first, *_) = await read_topic(servers.kafka_bootstrap, tagged_topic, expect=3)
            before = TaggedEvent.model_validate_json(first.value or b"").tags[0]
            assert before.clause_id != CORRECTED

            async def models() -> list[dict[str, Any]]:
                listed: list[dict[str, Any]] = (await client.get("/v1/models")).json()
                return listed

            # The consumer may store the decision and the review in two batches, and a
            # retraining may come between them (a model of the decision alone): wait for the
            # model that learnt from both.
            def learnt_both(m: dict[str, Any]) -> bool:
                return bool(m["decision_labels"] == 1 and m["evaluation"]["qa_labels"] == 1)

            listed = await eventually(models, lambda ms: any(map(learnt_both, ms)), timeout=240)
            (retrained,) = [m for m in listed if learnt_both(m)]

            async def serving() -> str | None:
                return replica.model.version if replica.model else None

            await eventually(serving, lambda v: v == retrained["version"])
            await produce(servers.kafka_bootstrap, validated, [unclassified(2)])
            out = await read_topic(servers.kafka_bootstrap, tagged_topic, expect=4)

        after = {
            t.event.event_id: t.tags
            for t in (TaggedEvent.model_validate_json(r.value or b"") for r in out)
            if t.tags
        }["e2"][0]
        assert retrained["status"] == "active"
        assert (after.clause_id, after.method) == (CORRECTED, TagMethod.MODEL)
        assert after.model_version == retrained["version"]
        assert retrained["evaluation"]["qa_labels"] == 1
        assert retrained["evaluation"]["decision_labels"] == 1
