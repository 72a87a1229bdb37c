"""Data sets of the comparison tests (cards, movers, drill-down), worked out by hand, and the
fixtures that fold them.

The tests import it relatively (``from .comparisons_support import ...``), as
``alerts_support``."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from pp_insights_testing.harness import fold_events
from pp_insights_testing.samples import sample_events
from pp_shared.db import Pool
from pp_shared.testing.samples import appeal, escalation

REGIONS = {"DE": ((10, 40), (30, 40)), "FR": ((1, 4), (4, 4)), "US": ((50, 100), (90, 200))}
PREVIOUS_DAY, CURRENT_DAY = "2026-11-19", "2026-11-20"


def region_events() -> list[dict[str, Any]]:
    """Escalations ``<region>-<day>-<i>`` created ``i`` minutes after midnight; the first
    ``unclear`` of each region and day are policy_unclear."""
    events = []
    for region, periods in REGIONS.items():
        for day, (unclear, total) in zip((PREVIOUS_DAY, CURRENT_DAY), periods, strict=True):
            for i in range(total):
                esc = f"{region}-{day}-{i:03d}"
                events.append(
                    escalation(
                        event_id=f"e-{esc}",
                        escalation_id=esc,
                        occurred_at=f"{day}T{i // 60:02d}:{i % 60:02d}:00Z",
                        suggested_clause_id="HATE.SLURS",
                        region=region,
                        language=region.lower(),
                        escalation_reason="policy_unclear" if i < unclear else "other",
                    )
                )
    return events


def overturn_events(
    regions: dict[str, tuple[tuple[int, int], tuple[int, int]]],
) -> list[dict[str, Any]]:
    """Per region and day (previous, current) as (overturned, resolved): that many
    escalations created that day, each with one appeal resolved, the first ``overturned`` of
    them overturned."""
    events = []
    for region, periods in regions.items():
        for day, (overturned, resolved) in zip((PREVIOUS_DAY, CURRENT_DAY), periods, strict=True):
            for i in range(resolved):
                esc = f"ap-{region}-{day}-{i:03d}"
                created = f"{day}T{i // 60:02d}:{i % 60:02d}:00Z"
                events.append(
                    escalation(
                        event_id=f"e-{esc}",
                        escalation_id=esc,
                        occurred_at=created,
                        suggested_clause_id="HATE.SLURS",
                        region=region,
                    )
                )
                events.append(
                    appeal(
                        event_id=f"a-{esc}",
                        escalation_id=esc,
                        appeal_id=f"appeal-{esc}",
                        occurred_at=f"{day}T23:00:00Z",
                        outcome="overturned" if i < overturned else "upheld",
                    )
                )
    return events


DAY = {"from": f"{CURRENT_DAY}T00:00:00Z", "to": "2026-11-21T00:00:00Z"}


@pytest.fixture
async def sample(client: httpx.AsyncClient, pool: Pool) -> httpx.AsyncClient:
    await fold_events(pool, sample_events())
    return client


@pytest.fixture
async def regions(client: httpx.AsyncClient, pool: Pool) -> httpx.AsyncClient:
    await fold_events(pool, region_events())
    return client
