"""Launches as records through the API, taxonomy versions recorded as launches by the
consumer, and launch markers in trend answers."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

import httpx
import orjson

from pp_insights import consumer
from pp_insights_testing.harness import fold_events
from pp_shared.contracts.events import TaxonomyPublished
from pp_shared.db import Pool
from pp_shared.records import Records
from pp_shared.testing.apps import record
from pp_shared.testing.samples import escalation

FAQ = {
    "title": "FAQ on reclaimed slurs",
    "description": "Moderator FAQ, second round.",
    "launched_at": "2026-11-20T09:30:00+01:00",
    "scope": {"area": "HATE", "clause_ids": ["HATE.SLURS"], "regions": ["DE", "AT"]},
}


async def _post(client: httpx.AsyncClient, body: Mapping[str, object]) -> int:
    r = await client.post("/v1/launches", json=body)
    assert r.status_code == 201, r.text
    launch_id: int = r.json()["id"]
    return launch_id


class TestRecords:
    async def test_record_read_and_list(self, client: httpx.AsyncClient) -> None:
        first = await _post(client, FAQ)
        second = await _post(
            client,
            {"title": "Threats training", "launched_at": "2026-11-25T00:00:00Z",
             "scope": {"clause_ids": ["VBDA.THREATS"]}},
        )  # fmt: skip
        everywhere = await _post(
            client, {"title": "All-hands walkthrough", "launched_at": "2026-11-26T00:00:00Z"}
        )
        got = (await client.get(f"/v1/launches/{first}")).json()
        assert got.pop("recorded_at")
        assert got == {
            "id": first,
            "title": "FAQ on reclaimed slurs",
            "description": "Moderator FAQ, second round.",
            "launched_at": "2026-11-20T08:30:00Z",
            "scope": {"area": "HATE", "clause_ids": ["HATE.SLURS"], "regions": ["DE", "AT"],
                      "languages": [], "product_features": []},
            "taxonomy_version": None,
            "recorded_by": "api",  # the internal caller: the service has no gateway secret
        }  # fmt: skip
        listed = (await client.get("/v1/launches")).json()
        assert [launch["id"] for launch in listed["launches"]] == [everywhere, second, first]
        assert listed["next_before"] is None
        page = (await client.get("/v1/launches", params={"limit": 2})).json()
        assert ([x["id"] for x in page["launches"]], page["next_before"]) == (
            [everywhere, second],
            second,
        )
        hate = (await client.get("/v1/launches", params={"area": "HATE"})).json()
        assert [launch["id"] for launch in hate["launches"]] == [first]
        both = (await client.get("/v1/launches", params={"area": ["HATE", "VBDA"]})).json()
        assert [launch["id"] for launch in both["launches"]] == [second, first]

    async def test_bad_input_is_a_problem_with_pointers(self, client: httpx.AsyncClient) -> None:
        r = await client.post(
            "/v1/launches",
            json={"title": "", "launched_at": "2026-11-20T10:00:00",
                  "scope": {"area": "HATE", "clause_ids": ["VBDA.THREATS"], "regions": ["de"],
                            "teams": ["x"]}},
        )  # fmt: skip
        assert r.status_code == 422
        assert r.headers["content-type"] == "application/problem+json"
        assert sorted(e["pointer"] for e in r.json()["errors"]) == [
            "/body/launched_at", "/body/scope/regions/0", "/body/scope/teams", "/body/title"
        ]  # fmt: skip
        wrong_area = dict(FAQ, scope={"area": "VBDA", "clause_ids": ["HATE.SLURS"]})
        r = await client.post("/v1/launches", json=wrong_area)
        assert r.status_code == 422
        assert [e["pointer"] for e in r.json()["errors"]] == ["/body/scope"]
        assert (await client.get("/v1/launches/999")).status_code == 404
        impact = await client.get(
            "/v1/launches/1/impact", params={"metric": "nope", "before": "3x", "interval": "week"}
        )
        assert sorted(e["pointer"] for e in impact.json()["errors"]) == [
            "/query/before", "/query/metric"
        ]  # fmt: skip


def _announcement(version: str, previous: str | None, changed: tuple[str, ...]) -> bytes:
    return orjson.dumps(
        TaxonomyPublished(
            version=version,
            previous_version=previous,
            stored_at=datetime(2026, 11, 22, 12, tzinfo=UTC),
            published_by="policy-ops",
            description="Sharper slur guidance.",
            changed_clause_ids=changed,
        ).model_dump(mode="json")
    )


class TestTaxonomyLaunches:
    async def test_each_version_once_and_the_first_taxonomy_not_at_all(
        self, client: httpx.AsyncClient, pool: Pool, database_url: str
    ) -> None:
        records = Records(database_url)
        handle = consumer.taxonomy_handler(records)
        batch = [
            record("t", _announcement("2026.11.0", None, ("HATE.SLURS",)), offset=0),
            record("t", _announcement("2026.11.1", "2026.11.0", ("HATE.SLURS",)), offset=1),
            record("t", _announcement("2026.11.1", "2026.11.0", ("HATE.SLURS",)), offset=2),
            record("t", _announcement("2026.11.2", "2026.11.1", ()), offset=3),
        ]
        try:
            await handle(batch)
            await handle(batch)  # redelivered
        finally:
            await records.close()
        launches = (await client.get("/v1/launches")).json()["launches"]
        assert len(launches) == 1
        launch = launches[0]
        assert launch.pop("recorded_at")
        assert launch == {
            "id": launch["id"],
            "title": "Taxonomy 2026.11.1",
            "description": "Taxonomy 2026.11.1 (after 2026.11.0) changed 1 clause.\n\n"
            "Sharper slur guidance.",
            "launched_at": "2026-11-22T12:00:00Z",
            "scope": {"area": "HATE", "clause_ids": ["HATE.SLURS"], "regions": [],
                      "languages": [], "product_features": []},
            "taxonomy_version": "2026.11.1",
            "recorded_by": "policy-ops",
        }  # fmt: skip


class TestTrendMarkers:
    async def test_trends_list_launches_in_their_range_and_scope(
        self, client: httpx.AsyncClient, pool: Pool
    ) -> None:
        await fold_events(pool, [escalation(suggested_clause_id="HATE.SLURS", region="DE")])
        faq = await _post(client, FAQ)
        await _post(client, dict(FAQ, title="Later", launched_at="2026-12-20T00:00:00Z"))
        await _post(client, dict(FAQ, title="France", scope={"regions": ["FR"]}))
        await _post(client, dict(FAQ, title="Threats", scope={"clause_ids": ["VBDA.THREATS"]}))
        everywhere = await _post(client, dict(FAQ, title="Everywhere", scope={}))
        r = await client.get(
            "/v1/insights/trends",
            params={"metric": "volume", "region": "DE", "clause_id": "HATE.SLURS",
                    "from": "2026-11-01T00:00:00Z", "to": "2026-12-01T00:00:00Z"},
        )  # fmt: skip
        assert r.status_code == 200
        assert [m["id"] for m in r.json()["launches"]] == [faq, everywhere]
        assert r.json()["launches"][0] == {
            "id": faq,
            "title": "FAQ on reclaimed slurs",
            "launched_at": "2026-11-20T08:30:00Z",
            "taxonomy_version": None,
        }
