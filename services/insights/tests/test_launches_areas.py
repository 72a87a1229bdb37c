"""Launches and a key restricted to policy areas: it sees and records the launches that lie
within its areas only (their area, or the areas of all their clauses)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from pp_insights.launches.schemas import LaunchScope
from pp_insights.launches.service import sees_launch
from pp_insights_testing.harness import query_app
from pp_shared.db import Pool
from pp_shared.identity import INTERNAL
from pp_shared.testing.identity import SECRET, SignedAs, analyst, policy_admin

HATE_FAQ = {
    "title": "Reclaimed-slur FAQ",
    "launched_at": "2026-11-20T09:00:00Z",
    "scope": {"clause_ids": ["HATE.SLURS"], "regions": ["DE"]},
}
VBDA_TRAINING = {
    "title": "Threats training",
    "launched_at": "2026-11-21T09:00:00Z",
    "scope": {"area": "VBDA"},
}
EVERYWHERE = {"title": "All-hands walkthrough", "launched_at": "2026-11-22T09:00:00Z"}


@pytest.mark.parametrize(
    ("scope", "hate", "hate_and_vbda"),
    [
        ({"area": "HATE"}, True, True),
        ({"clause_ids": ["HATE.SLURS", "HATE.DEHUMANISATION"]}, True, True),
        ({"clause_ids": ["HATE.SLURS", "VBDA.THREATS"]}, False, True),
        ({"area": "VBDA", "regions": ["DE"]}, False, True),
        ({"regions": ["DE"]}, False, False),
        ({}, False, False),
    ],
)
def test_a_launch_is_seen_when_it_lies_within_the_areas(
    scope: dict[str, object], hate: bool, hate_and_vbda: bool
) -> None:
    launch = LaunchScope.model_validate(scope)
    assert sees_launch(INTERNAL, launch)
    assert sees_launch(analyst("a", "HATE"), launch) is hate
    assert sees_launch(analyst("a", "HATE", "VBDA"), launch) is hate_and_vbda


@pytest.fixture
async def gateway_app(pool: Pool, database_url: str) -> AsyncIterator[httpx.ASGITransport]:
    app = query_app(pool, database_url, gateway_secret=SECRET)
    yield httpx.ASGITransport(app=app)
    records = app.state.runtime.records
    if records is not None:
        await records.close()


async def test_a_scoped_key_sees_and_records_only_its_areas_launches(
    gateway_app: httpx.ASGITransport,
) -> None:
    admin = SignedAs(policy_admin("pat"))
    hate_admin = SignedAs(policy_admin("hana", "HATE"))
    async with httpx.AsyncClient(transport=gateway_app, base_url="http://test") as c:
        ids = []
        for body in (HATE_FAQ, VBDA_TRAINING, EVERYWHERE):
            made = await c.post("/v1/launches", json=body, auth=admin)
            assert made.status_code == 201, made.text
            ids.append(made.json()["id"])
        seen = await c.get(f"/v1/launches/{ids[0]}", auth=hate_admin)
        hidden = [(await c.get(f"/v1/launches/{i}", auth=hate_admin)).status_code for i in ids[1:]]
        mine = await c.post("/v1/launches", json={**HATE_FAQ, "title": "FAQ 2"}, auth=hate_admin)
        other = await c.post("/v1/launches", json=VBDA_TRAINING, auth=hate_admin)
        wide = await c.post("/v1/launches", json=EVERYWHERE, auth=hate_admin)
    assert (seen.status_code, seen.json()["recorded_by"]) == (200, "pat")
    assert hidden == [404, 404]
    assert (mine.status_code, other.status_code, wide.status_code) == (201, 403, 403)
    assert other.json()["errors"] == [{"pointer": "/body/scope/area", "detail": "name one of HATE"}]
