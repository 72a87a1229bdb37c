"""The dead-letter routes, the same in every service: list, get, replay.

No ``from __future__ import annotations`` here: the routes' annotations use this function's
arguments (descriptions), so they must be evaluated where they are written."""

from collections.abc import Callable
from typing import Annotated

import asyncpg
from fastapi import APIRouter, Depends, Path, Query, Request

from pp_shared.contracts.topics import Topic, topic_name
from pp_shared.dead_letters.models import (
    DeadLetter,
    DeadLetterPage,
    ReplayRequest,
    ReplayResult,
)
from pp_shared.dead_letters.store import DeadLetterStore, Send, producer_sender
from pp_shared.types import AwareTimestamp, DbId


async def _pool(request: Request) -> asyncpg.Pool:  # async: no worker-thread hop
    pool: asyncpg.Pool = request.app.state.runtime.pool
    return pool


# At module level: routes' annotations are resolved in this module's namespace.
PoolDep = Annotated[asyncpg.Pool, Depends(_pool)]


def dead_letter_router(
    store: DeadLetterStore,
    *,
    prefix: str,
    what: str,
    reasons: str,
    sender: Callable[[Request], Send],
    operation_prefix: str,
) -> APIRouter:
    """``GET {prefix}``, ``GET {prefix}/{id}`` and ``POST {prefix}:replay`` over ``store``.
    ``what`` says what the dead letters are, ``reasons`` lists their reason codes, ``sender``
    gives the function that writes replayed records back to where they came from."""
    router = APIRouter(tags=["dead letters"])

    @router.get(
        prefix, operation_id=f"{operation_prefix}_list_dead_letters", summary=f"List {what}"
    )
    async def list_dead_letters(
        pool: PoolDep,
        reason: Annotated[str | None, Query(max_length=64, description=reasons)] = None,
        since: Annotated[AwareTimestamp | None, Query(description="received at or after")] = None,
        until: Annotated[AwareTimestamp | None, Query(description="received before")] = None,
        replayed: Annotated[bool | None, Query(description="replayed at least once")] = None,
        cursor: Annotated[
            str | None, Query(max_length=64, description="next_cursor of the last page")
        ] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> DeadLetterPage:
        """Dead letters in arrival order, filtered; follow next_cursor for the next page."""
        return await store.page(
            pool,
            reason=reason,
            since=since,
            until=until,
            replayed=replayed,
            cursor=cursor,
            limit=limit,
        )

    @router.get(
        f"{prefix}/{{dead_letter_id}}",
        operation_id=f"{operation_prefix}_get_dead_letter",
        summary=f"Get one of the {what}",
    )
    async def get_dead_letter(dead_letter_id: Annotated[DbId, Path()], pool: PoolDep) -> DeadLetter:
        """One dead letter with its raw key, value and headers."""
        return await store.get(pool, dead_letter_id)

    @router.post(
        f"{prefix}:replay",
        operation_id=f"{operation_prefix}_replay_dead_letters",
        summary=f"Replay {what}",
    )
    async def replay_dead_letters(
        body: ReplayRequest, pool: PoolDep, request: Request
    ) -> ReplayResult:
        """Write dead letters back to the topic they came from; replayed_at is set once the
        broker has them all. One that fails again becomes a new dead letter."""
        return await store.replay(pool, sender(request), ids=body.ids)

    return router


def runtime_sender(topic: Topic) -> Callable[[Request], Send]:
    """Replays through the service runtime's producer to ``topic`` (with its namespace)."""

    def sender(request: Request) -> Send:
        runtime = request.app.state.runtime
        return producer_sender(runtime.producer, topic_name(topic, runtime.settings.topic_prefix))

    return sender
