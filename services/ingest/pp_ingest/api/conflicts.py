"""``GET /v1/conflicts``: events refused because their id was taken by another body."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from pp_ingest.api.deps import PoolDep
from pp_ingest.event_log import conflicts
from pp_shared.types import AwareTimestamp

router = APIRouter(tags=["conflicts"])


@router.get("/v1/conflicts", operation_id="ingest_list_conflicts", summary="List conflicts")
async def list_conflicts(
    pool: PoolDep,
    event_id: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=128,
            pattern=r"^[^\x00-\x1f\x7f-\x9f]+$",
            description="only this event id",
        ),
    ] = None,
    since: Annotated[AwareTimestamp | None, Query(description="refused at or after")] = None,
    until: Annotated[AwareTimestamp | None, Query(description="refused before")] = None,
    cursor: Annotated[
        str | None, Query(max_length=64, description="next_cursor of the last page")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> conflicts.ConflictPage:
    """Events refused because the log holds their id with another body, in arrival order;
    follow next_cursor for the next page."""
    return await conflicts.page(
        pool, event_id=event_id, since=since, until=until, cursor=cursor, limit=limit
    )
