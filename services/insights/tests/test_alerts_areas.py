"""Rules and breaches as a key restricted to policy areas sees them (``alerts.areas``): rules
and breaches outside its areas are absent from lists and 404 by id, rules it writes must be
within them (403), and every change is recorded as the key's owner."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from pp_insights.alerts.breaches.evaluation import evaluate_all
from pp_shared.testing.identity import SECRET, SignedAs, analyst, policy_admin
from pp_shared.testing.servers import Servers

from .alerts_support import (
    AlertTestSettings,
    ManualClock,
    RunningApp,
    alerts_app,
    escalations,
    fold,
    hour_at,
)

HOUR = hour_at("2026-11-20T10:00:00Z")
ADMIN = SignedAs(policy_admin("pat"))
HATE_ADMIN = SignedAs(policy_admin("hana", "HATE"))
HATE = SignedAs(analyst("hugo", "HATE"))
FORBIDDEN = {
    "type": "https://policypulse.dev/problems/forbidden",
    "title": "Not allowed for this key",
    "status": 403,
    "detail": "this key is restricted to the policy areas HATE: a rule it writes must be "
    "scoped to them",
    "instance": "/v1/rules",
    "errors": [
        {"pointer": "/body/scope/area", "detail": "name one or more of HATE, and no other area"}
    ],
}


def not_found(what: str, path: str) -> dict[str, Any]:
    return {
        "type": "https://policypulse.dev/problems/not-found",
        "title": "Not found",
        "status": 404,
        "detail": f"no {what}",
        "instance": path,
    }


def rule(rule_id: str, **over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": rule_id,
        "name": rule_id,
        "metric": "policy_unclear_share",
        "group_by": ["clause_id"],
        "window": "1h",
        "condition": {"kind": "threshold", "op": ">", "threshold": 0.3},
        "min_sample": 5,
    }
    body.update(over)
    return body


RULES = {
    "hate": rule("hate", scope={"area": "HATE"}),
    "vbda": rule("vbda", scope={"area": "VBDA"}),
    "both": rule("both", scope={"area": ["HATE", "VBDA"]}),
    "every-area": rule("every-area", group_by=["area"]),
}


@pytest.fixture
async def running(
    servers: Servers, database_url: str, topic_prefix: str
) -> AsyncIterator[RunningApp]:
    settings = AlertTestSettings(
        database_url=database_url,
        kafka_bootstrap_servers=servers.kafka_bootstrap,
        topic_prefix=topic_prefix,
        alert_evaluation_interval_seconds=3600,
        alert_sender_interval_seconds=3600,
        gateway_secret=SECRET,
    )
    async with alerts_app(settings, ManualClock(HOUR)) as r:
        r.client.auth = ADMIN
        for body in RULES.values():
            assert (await r.client.post("/v1/rules", json=body)).status_code == 201
        yield r


class TestRules:
    async def test_a_scoped_key_lists_and_reads_only_rules_within_its_areas(
        self, running: RunningApp
    ) -> None:
        c = running.client
        everything = (await c.get("/v1/rules")).json()["rules"]
        assert [r["id"] for r in everything] == ["both", "every-area", "hate", "vbda"]
        mine = await c.get("/v1/rules", auth=HATE)
        assert mine.json() == {"rules": [r for r in everything if r["id"] == "hate"]}
        assert (await c.get("/v1/rules/hate", auth=HATE)).json() == everything[2]
        for other in ("vbda", "both", "every-area"):
            path = f"/v1/rules/{other}"
            r = await c.get(path, auth=HATE)
            assert (r.status_code, r.json()) == (404, not_found(f"rule {other!r}", path))
            r = await c.get(f"{path}/versions", auth=HATE)
            assert r.status_code == 404

    async def test_writes_outside_the_keys_areas_are_403_or_404(self, running: RunningApp) -> None:
        c = running.client
        for body in (rule("new", scope={"area": "VBDA"}), rule("new"), RULES["both"]):
            r = await c.post("/v1/rules", json=body, auth=HATE_ADMIN)
            assert (r.status_code, r.json()) == (403, FORBIDDEN)
        preview = await c.post("/v1/rules/preview", json=rule("new"), auth=HATE_ADMIN)
        assert (preview.status_code, preview.json()) == (
            403,
            {**FORBIDDEN, "instance": "/v1/rules/preview"},
        )
        moved = await c.put(
            "/v1/rules/hate", json={**RULES["hate"], "scope": {"area": "VBDA"}}, auth=HATE_ADMIN
        )
        assert (moved.status_code, moved.json()) == (
            403,
            {**FORBIDDEN, "instance": "/v1/rules/hate"},
        )
        for verb in ("put", "delete"):
            kwargs: dict[str, Any] = {"json": RULES["hate"]} if verb == "put" else {}
            r = await c.request(verb.upper(), "/v1/rules/vbda", auth=HATE_ADMIN, **kwargs)
            assert (r.status_code, r.json()) == (404, not_found("rule 'vbda'", "/v1/rules/vbda"))
        taken = await c.post(
            "/v1/rules", json=rule("vbda", scope={"area": "HATE"}), auth=HATE_ADMIN
        )
        assert taken.status_code == 409
        assert taken.json()["detail"] == "the rule id 'vbda' is taken; choose another"
        versions = (await c.get("/v1/rules/vbda/versions")).json()["versions"]
        assert [(v["version"], v["changed_by"]) for v in versions] == [(1, "pat")]

    async def test_writes_within_the_keys_areas_are_recorded_as_its_owner(
        self, running: RunningApp
    ) -> None:
        c = running.client
        created = await c.post(
            "/v1/rules", json=rule("mine", scope={"area": ["HATE"]}), auth=HATE_ADMIN
        )
        assert (created.status_code, created.json()["updated_by"]) == (201, "hana")
        changed = await c.put(
            "/v1/rules/hate", json={**RULES["hate"], "min_sample": 9}, auth=HATE_ADMIN
        )
        assert (changed.status_code, changed.json()["updated_by"]) == (200, "hana")
        preview = await c.post("/v1/rules/preview", json=RULES["hate"], auth=HATE_ADMIN)
        assert preview.json() == {
            "rule_id": "hate",
            "evaluated_at": "2026-11-20T10:00:00Z",
            "groups": [],
            "baseline_coverage": None,
        }
        assert (await c.delete("/v1/rules/mine", auth=HATE_ADMIN)).status_code == 204
        versions = (await c.get("/v1/rules/mine/versions")).json()["versions"]
        assert [(v["version"], v["changed_by"], v["deleted"]) for v in versions] == [
            (1, "hana", False),
            (2, "hana", True),
        ]

    async def test_versions_outside_the_keys_areas_are_left_out(self, running: RunningApp) -> None:
        c = running.client
        moved = await c.put("/v1/rules/vbda", json={**RULES["vbda"], "scope": {"area": "HATE"}})
        assert moved.status_code == 200
        r = await c.get("/v1/rules/vbda/versions", auth=HATE)
        assert r.status_code == 200
        assert [(v["version"], v["spec"]["scope"]) for v in r.json()["versions"]] == [
            (2, {"area": ["HATE"]})
        ]
        everything = (await c.get("/v1/rules/vbda/versions")).json()["versions"]
        assert [v["version"] for v in everything] == [1, 2]


async def breach_ids(running: RunningApp) -> dict[str, int]:
    """Breaches of every rule: HATE.SLURS and VBDA.THREATS both at 60% policy-unclear."""
    pool = running.runtime.pool
    assert pool is not None
    await fold(
        pool,
        escalations(HOUR, clause="HATE.SLURS", region="DE", total=10, unclear=6)
        + escalations(HOUR, clause="VBDA.THREATS", region="DE", total=10, unclear=6),
    )
    settings = running.runtime.settings
    assert isinstance(settings, AlertTestSettings)
    await evaluate_all(
        pool,
        now=hour_at("2026-11-20T11:30:00Z"),  # the hour of the data is complete
        settings=settings,
    )
    page = (await running.client.get("/v1/breaches")).json()["breaches"]
    return {f"{b['rule_id']}/{next(iter(b['scope']['group'].values()))}": b["id"] for b in page}


class TestBreaches:
    async def test_a_scoped_key_sees_only_breaches_of_its_rules_and_areas(
        self, running: RunningApp
    ) -> None:
        c = running.client
        ids = await breach_ids(running)
        assert sorted(ids) == [
            "both/HATE.SLURS",
            "both/VBDA.THREATS",
            "every-area/HATE",
            "every-area/VBDA",
            "hate/HATE.SLURS",
            "vbda/VBDA.THREATS",
        ]
        everything = (await c.get("/v1/breaches")).json()["breaches"]
        mine = await c.get("/v1/breaches", auth=HATE)
        assert mine.json() == {
            "breaches": [b for b in everything if b["id"] == ids["hate/HATE.SLURS"]],
            "next_before": None,
        }
        by_rule = await c.get("/v1/breaches", params={"rule_id": "vbda"}, auth=HATE)
        assert by_rule.json() == {"breaches": [], "next_before": None}
        one = await c.get(f"/v1/breaches/{ids['hate/HATE.SLURS']}", auth=HATE)
        assert one.status_code == 200
        assert one.json()["evidence"]["drilldown"].endswith("&area=HATE&clause_id=HATE.SLURS")
        assert "VBDA" not in one.text
        for key, breach_id in ids.items():
            if key == "hate/HATE.SLURS":
                continue
            path = f"/v1/breaches/{breach_id}"
            expected = (404, not_found(f"breach {breach_id}", path))
            r = await c.get(path, auth=HATE)
            assert (r.status_code, r.json()) == expected
            r = await c.post(f"{path}/ack", json={}, auth=HATE)
            assert (r.status_code, r.json()) == (
                404,
                not_found(f"breach {breach_id}", f"{path}/ack"),
            )
            silence = {"for": "1h", "reason": "looking"}
            r = await c.post(f"{path}/silence", json=silence, auth=HATE)
            assert r.status_code == 404
            assert (await c.delete(f"{path}/silence", auth=HATE)).status_code == 404
        timeline = (await c.get(f"/v1/breaches/{ids['vbda/VBDA.THREATS']}")).json()["timeline"]
        assert [t["kind"] for t in timeline] == ["pending", "firing"]

    async def test_acknowledgements_and_silences_are_by_the_keys_owner(
        self, running: RunningApp
    ) -> None:
        c = running.client
        path = f"/v1/breaches/{(await breach_ids(running))['hate/HATE.SLURS']}"
        acked = await c.post(f"{path}/ack", json={"note": "seen"}, auth=HATE)
        assert (acked.status_code, acked.json()["acknowledged_by"]) == (200, "hugo")
        silenced = await c.post(f"{path}/silence", json={"for": "1h", "reason": "x"}, auth=HATE)
        assert (silenced.status_code, silenced.json()["silenced_by"]) == (200, "hugo")
        lifted = await c.delete(f"{path}/silence", auth=HATE_ADMIN)
        timeline = [(t["kind"], t["actor"]) for t in lifted.json()["timeline"]]
        assert timeline[-3:] == [
            ("acknowledged", "hugo"),
            ("silenced", "hugo"),
            ("unsilenced", "hana"),
        ]

    async def test_a_rule_moved_into_the_keys_area_keeps_its_old_breaches_hidden(
        self, running: RunningApp
    ) -> None:
        c = running.client
        ids = await breach_ids(running)
        moved = await c.put("/v1/rules/vbda", json={**RULES["vbda"], "scope": {"area": "HATE"}})
        assert moved.status_code == 200
        assert (await c.get("/v1/rules/vbda", auth=HATE)).status_code == 200
        r = await c.get(f"/v1/breaches/{ids['vbda/VBDA.THREATS']}", auth=HATE)
        assert r.status_code == 404
        listed = (await c.get("/v1/breaches", params={"rule_id": "vbda"}, auth=HATE)).json()
        assert listed == {"breaches": [], "next_before": None}
