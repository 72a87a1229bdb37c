"""Keys, roles and policy areas end to end: the four services as processes, reached through
the gateway with keys made as an operator makes them. A key restricted to HATE sees nothing
of VBDA in any answer (the bodies are read, not only the statuses); an ingest key reads
nothing; every refusal is in the audit log, and no key is."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from pp_shared.devstack.stack import ServiceGroup
from pp_shared.testing.apps import bearer, make_api_key
from pp_shared.testing.plugin import eventually
from pp_shared.testing.samples import decision, escalation

pytestmark = pytest.mark.e2e
DAY = {"from": "2026-11-20T00:00:00Z", "to": "2026-11-21T00:00:00Z"}


def events() -> list[dict[str, Any]]:
    """Two HATE and two VBDA escalations with their decisions, in two regions."""
    out: list[dict[str, Any]] = []
    for i, (clause, region) in enumerate(
        [
            ("HATE.SLURS", "DE"),
            ("HATE.PROTECTED_ATTR.RELIGION", "FR"),
            ("VBDA.THREATS", "DE"),
            ("VBDA.INCITEMENT", "FR"),
        ]
    ):
        esc = f"esc-{i}"
        out.append(
            escalation(
                event_id=f"e{i}",
                escalation_id=esc,
                suggested_clause_id=clause,
                region=region,
                escalation_reason="policy_unclear" if i % 2 else "high_severity",
            )
        )
        decided = decision(event_id=f"d{i}", escalation_id=esc, clause_id=clause)
        out.append({**decided, "decision_id": f"dec-{i}"})
    return out


def rule(area: str) -> dict[str, Any]:
    return {
        "id": f"{area.lower()}-volume",
        "name": f"{area} volume",
        "metric": "volume",
        "scope": {"area": [area]},
        "window": "24h",
        "condition": {"kind": "threshold", "op": ">", "threshold": 1000},
        "channels": [],
    }


class TestAccess:
    async def test_a_hate_analyst_sees_nothing_of_vbda(self, module_stack: ServiceGroup) -> None:
        gateway = module_stack.child("api-gateway").url
        analyst = make_api_key(module_stack.env, "analyst", ["HATE"])
        ingest = make_api_key(module_stack.env, "ingest")
        async with httpx.AsyncClient(
            base_url=gateway, timeout=20, headers=bearer(module_stack)
        ) as admin:
            for event in events():
                assert (await admin.post("/v1/events", json=event)).status_code == 202

            async def stored() -> int:
                r = await admin.get("/v1/insights/volume", params={"interval": "day"})
                return sum(row["volume"] for row in r.json()["rows"])

            await eventually(stored, lambda n: n == 4, timeout=60)
            for area in ("HATE", "VBDA"):
                made = await admin.post("/v1/rules", json=rule(area))
                assert made.status_code == 201, made.text
                assert made.json()["updated_by"] == "tests"  # the admin key's owner

        reads: list[tuple[str, dict[str, Any]]] = [
            ("/v1/insights/volume", {"interval": "day", "group_by": ["area", "region"]}),
            ("/v1/insights/trends", {"metric": "volume", "group_by": "clause_id", **DAY}),
            ("/v1/insights/cards", DAY),
            ("/v1/insights/movers", {"metric": "volume", "dimension": "clause_id", **DAY}),
            ("/v1/insights/drilldown", {"metric": "volume", "examples": 5, **DAY}),
            ("/v1/rules", {}),
            ("/v1/breaches", {}),
        ]
        async with httpx.AsyncClient(base_url=gateway, timeout=20) as client:
            key = {"Authorization": f"Bearer {analyst}"}
            for path, params in reads:
                answer = await client.get(path, params=params, headers=key)
                assert answer.status_code == 200, (path, answer.text)
                assert "VBDA" not in answer.text, path
                for vbda in ("esc-2", "esc-3"):
                    assert vbda not in answer.text, path
                if path != "/v1/breaches":
                    assert "HATE" in answer.text, path
                csv = await client.get(path, params=params, headers={**key, "Accept": "text/csv"})
                assert "VBDA" not in csv.text, path
            # The taxonomy's guidance may name other areas in words; its areas and clauses are
            # the key's only.
            taxonomy = (await client.get("/v1/taxonomy", headers=key)).json()
            assert [a["id"] for a in taxonomy["areas"]] == ["HATE"]
            clauses = [c["id"] for a in taxonomy["areas"] for c in a["clauses"]]
            assert clauses
            assert all(c.startswith("HATE.") for c in clauses)
            volume = await client.get(
                "/v1/insights/volume", params={"interval": "day", "group_by": "area"}, headers=key
            )
            assert [(r["area"], r["volume"]) for r in volume.json()["rows"]] == [("HATE", 2)]
            assert [
                r["id"] for r in (await client.get("/v1/rules", headers=key)).json()["rules"]
            ] == ["hate-volume"]
            refused = {
                "another area": await client.get(
                    "/v1/insights/volume", params={"area": "VBDA"}, headers=key
                ),
                "another area's rule": await client.get("/v1/rules/vbda-volume", headers=key),
                "raw payloads": await client.get("/v1/dead-letters", headers=key),
                "writing rules": await client.post("/v1/rules", json=rule("HATE"), headers=key),
                "keys": await client.get("/v1/keys", headers=key),
            }
            assert {k: v.status_code for k, v in refused.items()} == {
                "another area": 403,
                "another area's rule": 404,
                "raw payloads": 403,
                "writing rules": 403,
                "keys": 403,
            }
            tool = {"Authorization": f"Bearer {ingest}"}
            assert (await client.get("/v1/insights/volume", headers=tool)).status_code == 403
            sent = await client.post(
                "/v1/events", json=escalation(event_id="e9", escalation_id="esc-9"), headers=tool
            )
            assert sent.status_code == 202

        async with httpx.AsyncClient(
            base_url=gateway, timeout=20, headers=bearer(module_stack)
        ) as admin:

            async def denials() -> list[dict[str, Any]]:
                r = await admin.get("/v1/audit", params={"outcome": "denied", "limit": 100})
                entries: list[dict[str, Any]] = r.json()["entries"]
                return entries

            denied = await eventually(denials, lambda e: len(e) >= 5, timeout=10)
            assert {e["key_prefix"] for e in denied} == {analyst[:12], ingest[:12]}
            everything = (await admin.get("/v1/audit", params={"limit": 1000})).text
            for secret in (analyst, ingest, module_stack.api_key or ""):
                assert secret[12:] not in everything

    async def test_the_gateway_publishes_every_services_operations(
        self, module_stack: ServiceGroup
    ) -> None:
        gateway = module_stack.child("api-gateway").url
        async with httpx.AsyncClient(base_url=gateway, timeout=20) as client:

            async def spec() -> dict[str, Any]:
                document: dict[str, Any] = (await client.get("/openapi.json")).json()
                return document

            document = await eventually(spec, lambda d: "x-pp-missing" not in d["info"])
            paths = document["paths"]
        assert "/v1/dead-letters:replay" in paths
        assert "/v1/conflicts" in paths
        assert paths["/v1/rules"]["post"]["x-pp-roles"] == ["policy_admin", "admin"]
