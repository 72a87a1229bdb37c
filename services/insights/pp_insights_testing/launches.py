"""Generated escalations with a known effect injected at a launch: per clause and region, a
number of escalations a day whose policy-unclear share is one value before the launch day
and another from it on."""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pp_shared.testing.samples import escalation


@dataclass(frozen=True)
class Cell:
    """Escalations a day of one clause and region, policy-unclear with ``before`` before
    the launch day and ``after`` from it on."""

    per_day: int
    before: float
    after: float


def unclear_share_events(
    *,
    seed: int,
    first_day: datetime,
    days: int,
    launch_day: int,
    cells: Mapping[tuple[str, str], Cell],
) -> list[dict[str, Any]]:
    """Escalations ``<clause>-<region>-<day>-<i>`` over ``days`` days from ``first_day``,
    the ``launch_day``-th day being the first with the after share; one stream of random
    numbers per seed."""
    rng = random.Random(seed)  # noqa: S311 - generated test data, not secrets
    events = []
    for day in range(days):
        start = first_day + timedelta(days=day)
        for (clause, region), cell in sorted(cells.items()):
            share = cell.after if day >= launch_day else cell.before
            for i in range(cell.per_day):
                esc = f"{clause}-{region}-{day:03d}-{i:03d}"
                unclear = rng.random() < share
                events.append(
                    escalation(
                        event_id=f"e-{esc}",
                        escalation_id=esc,
                        occurred_at=(start + timedelta(minutes=10 + i)).isoformat(),
                        suggested_clause_id=clause,
                        region=region,
                        language=region.lower(),
                        escalation_reason="policy_unclear" if unclear else "other",
                    )
                )
    return events
