"""A draft taxonomy simulated against stored escalations, and taxonomy versions announced
for insights, on a running classifier (real Postgres and broker; rules only, so no seed
model is trained: both sides of a simulation share whatever model there is)."""

from __future__ import annotations

from typing import Any

import asyncpg
import orjson

from pp_classifier.main import create_app
from pp_classifier.settings import ClassifierSettings
from pp_classifier.taxonomy.document import load_taxonomy
from pp_shared.contracts.events import TaxonomyPublished
from pp_shared.contracts.topics import Topic, topic_name
from pp_shared.testing.apps import produce, read_topic, running_app
from pp_shared.testing.plugin import eventually
from pp_shared.testing.samples import escalation, term_moved
from pp_shared.testing.servers import Servers

RELIGION, RACE = "HATE.PROTECTED_ATTR.RELIGION", "HATE.PROTECTED_ATTR.RACE"
TEXTS = {
    "moved": "the infidels were here today",  # only "infidels": RELIGION, under the draft RACE
    "kept": "heathens everywhere",  # RELIGION either way
    "both": "infidels of an inferior race",  # RACE wins either way (a two-word term)
    "none": "nice weather today",  # unclassified either way
}


def draft() -> dict[str, Any]:
    """The seed taxonomy with the English term "infidels" moved from RELIGION to RACE."""
    seed = load_taxonomy().model_dump(mode="json")
    return term_moved(seed, version="2026.12.0", term="infidels", language="en",
                      from_clause=RELIGION, to_clause=RACE)  # fmt: skip


def escalations() -> list[tuple[bytes, bytes]]:
    out = []
    for kind, text in TEXTS.items():
        for i in range(5):
            esc = f"esc-{kind}-{i}"
            out.append(
                (esc.encode(), orjson.dumps(escalation(
                    event_id=f"e-{esc}", escalation_id=esc, text_excerpt=text, language="en",
                    suggested_clause_id=None)))
            )  # fmt: skip
    for i in range(2):  # declared upstream: kept whatever the rules say
        esc = f"esc-declared-{i}"
        out.append(
            (esc.encode(), orjson.dumps(escalation(
                event_id=f"e-{esc}", escalation_id=esc, text_excerpt=TEXTS["moved"],
                language="en", suggested_clause_id=RELIGION)))
        )  # fmt: skip
    return out


class TestSimulation:
    async def test_a_moved_term_moves_exactly_the_escalations_that_contain_it(
        self, servers: Servers, settings: ClassifierSettings, topic_prefix: str, database_url: str
    ) -> None:
        rules_only = settings.model_copy(update={"model_enabled": False})
        async with running_app(create_app(rules_only)) as client:
            await produce(
                servers.kafka_bootstrap,
                topic_name(Topic.EVENTS_VALIDATED, topic_prefix),
                escalations(),
            )
            conn = await asyncpg.connect(database_url)
            try:
                await eventually(
                    lambda: conn.fetchval("SELECT count(*) FROM classifier.texts"),
                    lambda n: n == 22,
                )
                await eventually(
                    lambda: conn.fetchval("SELECT count(*) FROM classifier.tags"),
                    lambda n: n == 22,
                )
            finally:
                await conn.close()
            r = await client.post("/v1/taxonomy/simulate", json=draft())
            assert r.status_code == 200, r.text
            answer = r.json()
            streamed = await client.post(
                "/v1/taxonomy/simulate",
                params={"days": 1},
                json=draft(),
                headers={"Accept": "application/x-ndjson"},
            )
        moved = [f"esc-moved-{i}" for i in range(5)]
        assert {k: answer[k] for k in ("stored", "sampled", "declared", "examined", "changed")} == {
            "stored": 22, "sampled": False, "declared": 2, "examined": 20, "changed": 5
        }  # fmt: skip
        assert answer["moves"] == [
            {"from_clause": RELIGION, "to_clause": RACE, "count": 5, "examples": moved}
        ]
        assert answer["clauses"] == [
            {"clause_id": RACE, "area": "HATE", "current": 5, "draft": 10, "gained": 5,
             "lost": 0},
            {"clause_id": RELIGION, "area": "HATE", "current": 10, "draft": 5, "gained": 0,
             "lost": 5},
        ]  # fmt: skip
        assert (answer["unclassified_current"], answer["unclassified_draft"]) == (5, 5)
        assert answer["unclassified_share_draft"] == 0.25
        assert (answer["draft_version"], answer["current_version"]) == ("2026.12.0", "2026.11.0")
        lines = [orjson.loads(line) for line in streamed.text.splitlines()]
        assert lines[0] == {"progress": {"examined": 20, "total": 20}}
        assert lines[1]["result"]["moves"] == answer["moves"]
        assert len(lines) == 2

    async def test_an_invalid_draft_is_a_problem(self, settings: ClassifierSettings) -> None:
        async with running_app(
            create_app(settings.model_copy(update={"model_enabled": False}))
        ) as c:
            r = await c.post("/v1/taxonomy/simulate", params={"days": 0}, json={"version": "x"})
        assert r.status_code == 422
        assert "/query/days" in [e["pointer"] for e in r.json()["errors"]]


class TestAnnouncements:
    async def test_each_version_is_announced_with_its_reworded_clauses(
        self, servers: Servers, settings: ClassifierSettings, topic_prefix: str
    ) -> None:
        topic = topic_name(Topic.TAXONOMY_PUBLISHED, topic_prefix)
        async with running_app(
            create_app(settings.model_copy(update={"model_enabled": False}))
        ) as c:
            r = await c.post("/v1/taxonomy/versions", json=draft())
            assert r.status_code == 201, r.text
            out = await read_topic(servers.kafka_bootstrap, topic, expect=2)
        seed, new = (TaxonomyPublished.model_validate_json(m.value or b"") for m in out)
        assert (seed.version, seed.previous_version, len(seed.changed_clause_ids)) == (
            "2026.11.0", None, 48
        )  # fmt: skip
        assert (new.version, new.previous_version, new.changed_clause_ids) == (
            "2026.12.0", "2026.11.0", (RACE, RELIGION)
        )  # fmt: skip
        assert [m.key for m in out] == [b"2026.11.0", b"2026.12.0"]
