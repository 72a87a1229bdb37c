"""``policypulse demo``: a few days of generated events, alert rules, a launch and a
calibration exercise, sent to a running PolicyPulse through its public API, so that every
page of the console has something to show.

Events come from :mod:`pp_shared.devstack.loadgen` (skewed areas, clauses and regions),
spread over the days before now; the command waits until insights has counted them, then
makes what the other pages show. Running it again adds another seed's events (``--seed``);
the rules, launch and exercise it makes are replaced or made again.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    # Imported when the command runs: ``policypulse --help`` loads no HTTP client.
    import httpx

BATCH = 1000
CLAUSE = "HATE.PROTECTED_ATTR.RACE"
"""The clause of the demo launch: the area's most frequent in generated events."""
DEMO_RULES: list[dict[str, Any]] = [
    {
        "id": "demo-hate-volume",
        "name": "HATE clause volume over 20 a day",
        "metric": "volume",
        "scope": {"area": ["HATE"]},
        "group_by": ["clause_id"],
        "window": "24h",
        "condition": {"kind": "threshold", "op": ">", "threshold": 20},
        "severity": "high",
        "channels": [],
    },
    {
        "id": "demo-unclear-share",
        "name": "Policy-unclear share over 10% per area",
        "metric": "policy_unclear_share",
        "group_by": ["area"],
        "window": "24h",
        "condition": {"kind": "threshold", "op": ">", "threshold": 0.1},
        "min_sample": 20,
        "severity": "medium",
        "channels": [],
    },
]
GOLDEN_CASES = [
    ("g1", "Never hire [group] people, they are all lazy.", "HATE.PROTECTED_ATTR.RACE"),
    ("g2", "They should all be driven out like vermin.", "HATE.DEHUMANISATION"),
    ("g3", "I will find where you live and hurt you.", "VBDA.THREATS"),
    ("g4", "Racial bias in hiring is still measurable.", "none"),
]
# What each demo moderator answered, case by case: two agree with the golden answers, one
# confuses dehumanisation with race.
ANSWERS = {
    "m-demo-1": ["HATE.PROTECTED_ATTR.RACE", "HATE.DEHUMANISATION", "VBDA.THREATS", "none"],
    "m-demo-2": ["HATE.PROTECTED_ATTR.RACE", "HATE.DEHUMANISATION", "VBDA.THREATS", "none"],
    "m-demo-3": ["HATE.PROTECTED_ATTR.RACE", "HATE.PROTECTED_ATTR.RACE", "VBDA.THREATS", "none"],
}


@dataclass(frozen=True)
class DemoPlan:
    days: int = 5
    escalations_per_day: int = 1000
    seed: int = 11


def demo_events(plan: DemoPlan, *, now: datetime) -> Iterator[dict[str, Any]]:
    """The plan's events, over the ``days`` before ``now``; none after ``now``."""
    from pp_shared.devstack.loadgen import Generator, Profile

    start = (now - timedelta(days=plan.days)).replace(minute=0, second=0, microsecond=0)
    profile = Profile(seed=plan.seed, start=start, span=now - start - timedelta(hours=1))
    cutoff = now.isoformat().replace("+00:00", "Z")
    generator = Generator(profile)
    for event in generator.events(plan.days * plan.escalations_per_day):
        if event["occurred_at"] < cutoff:
            yield event


def _batches(events: Iterator[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for event in events:
        batch.append(event)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _checked(response: httpx.Response, what: str) -> Any:
    if response.status_code >= 400:
        raise SystemExit(f"policypulse demo: {what}: {response.status_code} {response.text[:500]}")
    return response.json() if response.content else None


def load(client: httpx.Client, plan: DemoPlan, *, now: datetime, timeout: float = 600.0) -> int:
    """Send the plan's events, wait until insights counts every escalation; the number of
    escalations sent."""
    escalations = 0
    counted_before = _counted(client)
    for batch in _batches(demo_events(plan, now=now)):
        answer = _checked(client.post("/v1/events:batch", json=batch), "sending events")
        taken = {i["event_id"] for i in answer["items"] if i["status"] != "rejected"}
        escalations += sum(
            1 for e in batch if e["event_type"] == "escalation.created" and e["event_id"] in taken
        )
    deadline = time.monotonic() + timeout
    while _counted(client) < counted_before + escalations:
        if time.monotonic() > deadline:
            raise SystemExit(f"policypulse demo: insights did not count the events in {timeout} s")
        time.sleep(0.5)
    return escalations


def _counted(client: httpx.Client) -> int:
    answer = _checked(
        client.get("/v1/insights/volume", params={"interval": "day"}), "reading volume"
    )
    return sum(int(r["volume"]) for r in answer["rows"])


def make_rules(client: httpx.Client) -> None:
    for rule in DEMO_RULES:
        existing = client.get(f"/v1/rules/{rule['id']}")
        if existing.status_code == 200:
            _checked(client.put(f"/v1/rules/{rule['id']}", json=rule), "replacing a rule")
        else:
            _checked(client.post("/v1/rules", json=rule), "creating a rule")


def make_launch(client: httpx.Client, *, now: datetime, days: int) -> None:
    at = (now - timedelta(days=days - 2)).replace(minute=0, second=0, microsecond=0)
    body = {
        "title": "Race attacks FAQ, second round",
        "description": "Moderator FAQ on attacks on race (demo).",
        "launched_at": at.isoformat().replace("+00:00", "Z"),
        "scope": {"area": "HATE", "clause_ids": [CLAUSE]},
    }
    _checked(client.post("/v1/launches", json=body), "creating a launch")


def make_exercise(client: httpx.Client) -> None:
    golden = {
        "name": "Demo golden set",
        "clauses": sorted({c for _, _, c in GOLDEN_CASES if c != "none"}),
        "cases": [{"case_id": i, "text": t, "expected_clause_id": c} for i, t, c in GOLDEN_CASES],
    }
    made = _checked(client.post("/v1/calibration/golden-sets", json=golden), "a golden set")
    exercise = _checked(
        client.post(
            "/v1/calibration/exercises",
            json={
                "name": "Demo calibration round",
                "golden_set_id": made["id"],
                "moderators": [{"moderator_id": m} for m in ANSWERS],
            },
        ),
        "an exercise",
    )
    number = exercise["id"]
    responses = [
        {"moderator_id": m, "case_id": case[0], "clause_id": answer}
        for m, answers in ANSWERS.items()
        for case, answer in zip(GOLDEN_CASES, answers, strict=True)
    ]
    path = f"/v1/calibration/exercises/{number}"
    _checked(client.post(f"{path}/responses", json=responses), "answers")
    _checked(client.post(f"{path}/close", json={}), "closing the exercise")


def run(args: argparse.Namespace) -> int:
    key = args.key or os.environ.get("PP_API_KEY")
    if not key:
        print(
            "policypulse demo: set PP_API_KEY (the key 'make up' printed) or --key", file=sys.stderr
        )
        return 2
    plan = DemoPlan(days=args.days, escalations_per_day=args.per_day, seed=args.seed)
    now = datetime.now(UTC)
    headers = {"Authorization": f"Bearer {key}"}
    import httpx

    with httpx.Client(base_url=args.url, headers=headers, timeout=120) as client:
        sent = load(client, plan, now=now)
        print(f"{sent} escalations over {plan.days} days, counted by insights")
        make_rules(client)
        make_launch(client, now=now, days=plan.days)
        make_exercise(client)
    print(f"rules, a launch and a calibration exercise made; open {args.url}/ and sign in")
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``policypulse demo``."""
    demo = sub.add_parser("demo", help="load a few days of generated events for the console")
    demo.set_defaults(func=run)
    demo.add_argument("--url", default=os.environ.get("PP_API_URL", "http://127.0.0.1:8080"))
    demo.add_argument("--key", help="an admin key (default: PP_API_KEY)")
    demo.add_argument("--days", type=int, default=DemoPlan.days)
    demo.add_argument("--per-day", type=int, default=DemoPlan.escalations_per_day)
    demo.add_argument("--seed", type=int, default=DemoPlan.seed)
