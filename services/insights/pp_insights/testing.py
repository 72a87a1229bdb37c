"""Test helpers for insights: records as the classifier publishes them, a migrated database,
the query app without its consumer, and a small data set with hand-computed metrics."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import orjson
from fastapi import FastAPI

from pp_insights import service
from pp_insights.main import create_app
from pp_insights.settings import InsightsSettings
from pp_shared.db import Pool, apply_migrations, create_pool
from pp_shared.events import UNCLASSIFIED, Tag, TaggedEvent, TagMethod, area_of, parse_event
from pp_shared.service import Runtime
from pp_shared.testing.apps import record
from pp_shared.testing.samples import appeal, decision, escalation, qa_review

Fold = Callable[[Sequence[dict[str, Any]]], Awaitable[int]]


def tagged_record(event: dict[str, Any], offset: int = 0) -> Any:
    """A record of the tagged topic: escalations carry the declared clause as their top tag,
    or ``unclassified``, as the classifier tags them."""
    tags: tuple[Tag, ...] = ()
    if event["event_type"] == "escalation.created":
        clause = event.get("suggested_clause_id") or UNCLASSIFIED
        tags = (
            Tag(
                clause_id=clause,
                area=area_of(clause),
                method=TagMethod.DECLARED if clause != UNCLASSIFIED else TagMethod.NONE,
                confidence=1.0 if clause != UNCLASSIFIED else 0.0,
                taxonomy_version="t1",
                model_version="m1",
            ),
        )
    body = TaggedEvent(event=parse_event(orjson.dumps(event)), tags=tags)
    return record(
        "tagged",
        orjson.dumps(body.model_dump(mode="json", exclude_none=True)),
        key=event["escalation_id"].encode(),
        offset=offset,
    )


@contextlib.asynccontextmanager
async def migrated_pool(database_url: str) -> AsyncIterator[Pool]:
    """A pool on a database with the insights schema, as the service starts it."""
    pool = await create_pool(database_url)
    try:
        await apply_migrations(
            pool, schema="insights", package="pp_insights", shared=["dead_letters"]
        )
        await service.finish_pending_rebuilds(pool)
        yield pool
    finally:
        await pool.close()


async def fold_events(pool: Pool, events: Sequence[dict[str, Any]]) -> int:
    """Fold events as one consumed batch; returns the number of new escalations."""
    records = [tagged_record(e, offset=i) for i, e in enumerate(events)]
    return await service.fold_batch(pool, records=records)


def query_app(pool: Pool, database_url: str) -> FastAPI:
    """The insights app answering queries from ``pool``, without starting its consumer."""
    settings = InsightsSettings(database_url=database_url)
    app = create_app(settings)
    runtime = Runtime("insights", settings)
    runtime.pool = pool
    app.state.runtime = runtime
    return app


def sample_events() -> list[dict[str, Any]]:
    """Six escalations with decisions, appeals and QA reviews; the metrics they give are
    worked out by hand in the insights tests.

    esc-1 HATE.SLURS DE 20 Nov 10:05 policy_unclear: decided after 1800 s (HATE.SLURS), finally
      relabelled HATE.PROTECTED_ATTR.RELIGION (tag disagrees); 1 appeal overturned; QA 2, 1 no.
    esc-2 HATE.SLURS DE 10:20 policy_unclear: decided after 100 s (agrees); appeals upheld and
      partially overturned; QA 1 yes.
    esc-3 HATE.SLURS FR 10:40 high_severity, no queue: nothing else.
    esc-4 VBDA.THREATS DE 10:50 high_severity: no_violation after 3600 s (disagrees); 1 appeal
      overturned, then corrected to upheld; QA 1 no.
    esc-5 HATE.SLURS DE 21 Nov 09:00 policy_unclear: decided after 10 s (agrees).
    esc-6 unclassified DE 20 Nov 11:15 other: decided HATE.SLURS after 5 s (disagrees).
    """

    def esc(n: int, at: str, clause: str | None, region: str, **over: Any) -> dict[str, Any]:
        return escalation(
            event_id=f"e{n}",
            escalation_id=f"esc-{n}",
            occurred_at=at,
            suggested_clause_id=clause,
            region=region,
            language=region.lower(),
            **over,
        )

    def dec(eid: str, n: int, at: str, action: str, clause: str | None) -> dict[str, Any]:
        return decision(
            event_id=eid,
            escalation_id=f"esc-{n}",
            decision_id=f"dec-{eid}",
            occurred_at=at,
            action=action,
            clause_id=clause,
        )

    def app(eid: str, n: int, appeal_id: str, at: str, outcome: str) -> dict[str, Any]:
        return appeal(
            event_id=eid,
            escalation_id=f"esc-{n}",
            appeal_id=appeal_id,
            decision_id="dec-x",
            occurred_at=at,
            outcome=outcome,
        )

    def qa(eid: str, n: int, agrees: bool) -> dict[str, Any]:
        return qa_review(
            event_id=eid,
            escalation_id=f"esc-{n}",
            agrees=agrees,
            occurred_at="2026-11-22T08:30:00Z",
        )

    return [
        esc(1, "2026-11-20T10:05:00Z", "HATE.SLURS", "DE"),
        esc(2, "2026-11-20T10:20:00Z", "HATE.SLURS", "DE"),
        esc(
            3,
            "2026-11-20T10:40:00Z",
            "HATE.SLURS",
            "FR",
            queue=None,
            product_feature="video",
            escalation_reason="high_severity",
        ),
        esc(
            4,
            "2026-11-20T10:50:00Z",
            "VBDA.THREATS",
            "DE",
            queue="vbda-tier2",
            product_feature="live",
            escalation_reason="high_severity",
        ),
        esc(5, "2026-11-21T09:00:00Z", "HATE.SLURS", "DE"),
        esc(6, "2026-11-20T11:15:00Z", None, "DE", escalation_reason="other"),
        dec("d1a", 1, "2026-11-20T10:35:00Z", "remove", "HATE.SLURS"),
        dec("d1b", 1, "2026-11-20T12:00:00Z", "label", "HATE.PROTECTED_ATTR.RELIGION"),
        dec("d2", 2, "2026-11-20T10:21:40Z", "remove", "HATE.SLURS"),
        dec("d4", 4, "2026-11-20T11:50:00Z", "no_violation", None),
        dec("d5", 5, "2026-11-21T09:00:10Z", "remove", "HATE.SLURS"),
        dec("d6", 6, "2026-11-20T11:15:05Z", "remove", "HATE.SLURS"),
        app("a1", 1, "ap-1", "2026-11-22T09:00:00Z", "overturned"),
        app("a2", 2, "ap-2", "2026-11-22T09:00:00Z", "upheld"),
        app("a3", 2, "ap-3", "2026-11-22T10:00:00Z", "partially_overturned"),
        app("a4", 4, "ap-4", "2026-11-22T09:00:00Z", "overturned"),
        app("a4b", 4, "ap-4", "2026-11-23T09:00:00Z", "upheld"),
        qa("q1a", 1, False),
        qa("q1b", 1, True),
        qa("q2", 2, True),
        qa("q4", 4, False),
    ]
