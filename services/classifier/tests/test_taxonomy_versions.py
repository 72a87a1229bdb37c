from __future__ import annotations

import copy
import re
from typing import Any

import orjson
import pytest

from pp_classifier.main import create_app
from pp_classifier.settings import ClassifierSettings
from pp_classifier.taxonomy import service as taxonomy_service
from pp_classifier.taxonomy.document import load_taxonomy
from pp_shared.contracts.events import TaggedEvent
from pp_shared.contracts.topics import Topic, topic_name
from pp_shared.db import Pool, apply_migrations, create_pool
from pp_shared.problems import InvalidInput
from pp_shared.testing.apps import produce, read_topic, running_app
from pp_shared.testing.plugin import eventually
from pp_shared.testing.samples import escalation
from pp_shared.testing.servers import Servers

SEED_VERSION = "2026.11.0"


def next_version() -> dict[str, Any]:
    """The seed with one clause's title changed and one clause removed, as 2026.11.1."""
    data = copy.deepcopy(load_taxonomy().model_dump(mode="json"))
    data["version"] = "2026.11.1"
    hate = data["areas"][0]
    hate["clauses"][0]["title"] = "Attacks on race (revised)"
    removed = hate["clauses"].pop()
    data["removed_for_test"] = removed["id"]
    return data


@pytest.fixture
async def pool(database_url: str) -> Any:
    p = await create_pool(database_url)
    await apply_migrations(p, schema="classifier", package="pp_classifier")
    yield p
    await p.close()


class TestTaxonomyVersions:
    async def test_seed_is_published_once(self, pool: Pool) -> None:
        assert await taxonomy_service.publish_seed(pool) == SEED_VERSION
        assert await taxonomy_service.publish_seed(pool) is None
        versions = await taxonomy_service.versions(pool)
        assert [(v.version, v.published_by) for v in versions] == [(SEED_VERSION, "seed")]

    async def test_versions_are_immutable_and_ordered(self, pool: Pool) -> None:
        await taxonomy_service.publish_seed(pool)
        seed = load_taxonomy().model_dump(mode="json")
        again = await taxonomy_service.publish(pool, data=seed, published_by="t")
        assert again.status == "unchanged"
        changed = copy.deepcopy(seed)
        changed["description"] = changed["description"] + " Edited."
        with pytest.raises(taxonomy_service.VersionConflict, match="already published"):
            await taxonomy_service.publish(pool, data=changed, published_by="t")
        older = copy.deepcopy(seed)
        older["version"] = "2026.10.9"
        with pytest.raises(
            taxonomy_service.VersionConflict,
            match=re.escape("not newer than the latest, 2026.11.0"),
        ):
            await taxonomy_service.publish(pool, data=older, published_by="t")

    async def test_invalid_taxonomy_names_the_field(self, pool: Pool) -> None:
        data = next_version()
        del data["removed_for_test"]
        data["areas"][1]["clauses"][0]["id"] = "HATE.MISPLACED"
        with pytest.raises(InvalidInput) as info:
            await taxonomy_service.publish(pool, data=data, published_by="t")
        assert [e["pointer"] for e in info.value.errors] == ["/areas/1"]

    async def test_diff_between_published_versions(self, pool: Pool) -> None:
        await taxonomy_service.publish_seed(pool)
        data = next_version()
        removed = data.pop("removed_for_test")
        await taxonomy_service.publish(pool, data=data, published_by="t")
        d = await taxonomy_service.compare(pool, old=SEED_VERSION, new="2026.11.1")
        assert d.added == ()
        assert d.removed == (removed,)
        assert d.changed == {"HATE.PROTECTED_ATTR.RACE": ("title",)}


class TestLiveSwitch:
    async def test_new_version_tags_new_events_and_leaves_old_tags(
        self, servers: Servers, settings: ClassifierSettings, topic_prefix: str
    ) -> None:
        settings = settings.model_copy(update={"taxonomy_refresh_seconds": 0.1})
        validated = topic_name(Topic.EVENTS_VALIDATED, topic_prefix)
        tagged_topic = topic_name(Topic.EVENTS_TAGGED, topic_prefix)
        first = orjson.dumps(escalation(event_id="e1", escalation_id="esc-1"))
        second = orjson.dumps(escalation(event_id="e2", escalation_id="esc-2"))
        app = create_app(settings)
        async with running_app(app) as client:
            await produce(servers.kafka_bootstrap, validated, [(b"esc-1", first)])
            await read_topic(servers.kafka_bootstrap, tagged_topic, expect=1)

            data = next_version()
            del data["removed_for_test"]
            published = await client.post("/v1/taxonomy/versions", json=data)
            assert published.status_code == 201
            assert published.json() == {
                "version": "2026.11.1",
                "status": "published",
                "clauses": 47,
            }
            await eventually(
                lambda: client.get("/v1/taxonomy"),
                lambda r: r.json()["version"] == "2026.11.1",
            )
            await eventually(
                _async(lambda: app.state.replica.layers.taxonomy.version),
                lambda v: v == "2026.11.1",
            )
            # A new escalation, and a redelivery of the first one.
            await produce(
                servers.kafka_bootstrap, validated, [(b"esc-2", second), (b"esc-1", first)]
            )
            out = await read_topic(servers.kafka_bootstrap, tagged_topic, expect=3)
            listed = await client.get("/v1/taxonomy/versions")
        versions = {
            (t.event.event_id, t.tags[0].taxonomy_version)
            for t in (TaggedEvent.model_validate_json(r.value or b"") for r in out)
        }
        assert versions == {("e1", SEED_VERSION), ("e2", "2026.11.1")}
        assert [v["version"] for v in listed.json()] == ["2026.11.1", SEED_VERSION]


def _async(fn: Any) -> Any:
    async def call() -> Any:
        return fn()

    return call
