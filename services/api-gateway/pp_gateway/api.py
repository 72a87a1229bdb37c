"""The gateway's own routes: API keys and the audit log (``admin``), and ``whoami``. The
relay has checked the caller (:mod:`pp_gateway.guard`) before any of these runs."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import col, select

from pp_gateway.access import Role
from pp_gateway.keys import service as keys
from pp_gateway.keys.tables import ApiKey, AuditEntry
from pp_shared.identity import ACTOR_PATTERN, AREA_PATTERN, CallerDep
from pp_shared.problems import InvalidInput, NotFound
from pp_shared.records import Records
from pp_shared.types import AwareTimestamp, DbId

router = APIRouter(prefix="/v1", tags=["access"])


class KeyIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "role": "analyst",
                    "owner": "dana@policy",
                    "name": "hate analyst",
                    "areas": ["HATE"],
                    "expires_in": "90d",
                }
            ]
        },
    )

    role: Role
    owner: Annotated[str, Field(pattern=ACTOR_PATTERN, description="Who the key is for.")]
    name: Annotated[str, Field(min_length=1, max_length=100)]
    areas: list[Annotated[str, Field(pattern=AREA_PATTERN)]] | None = Field(
        default=None, min_length=1, description="Policy areas the key may see; none: all."
    )
    expires_in: Annotated[str, Field(pattern=r"^\d{1,5}[dhm]$")] | None = Field(
        default=None, description="Lifetime, e.g. 90d, 12h, 30m; none: no expiry."
    )


class KeyOut(BaseModel):
    prefix: str
    name: str
    owner: str
    role: str
    areas: list[str] | None
    created_at: datetime
    created_by: str
    expires_at: datetime | None
    revoked_at: datetime | None
    revoked_by: str | None

    @classmethod
    def of(cls, row: ApiKey) -> KeyOut:
        return cls.model_validate(row, from_attributes=True)


class NewKey(KeyOut):
    key: str = Field(description="The key itself: shown this once, stored only as a hash.")


class KeyList(BaseModel):
    keys: list[KeyOut]


class Whoami(BaseModel):
    actor: str
    role: str
    key_prefix: str
    areas: list[str] | None


class AuditPage(BaseModel):
    entries: list[AuditEntry]
    next_before: int | None = Field(description="Pass as `before` for the next page.")


def _records(request: Request) -> Records:
    records: Records = request.app.state.records
    return records


@router.get("/whoami", response_model=Whoami, operation_id="whoami")
async def whoami(caller: CallerDep) -> Whoami:
    """The key this request was made with: its owner, role and areas."""
    areas = sorted(caller.areas) if caller.areas is not None else None
    return Whoami(actor=caller.actor, role=caller.role, key_prefix=caller.key_prefix, areas=areas)


@router.get("/keys", response_model=KeyList, operation_id="list_keys")
async def list_keys(request: Request, include_revoked: Annotated[bool, Query()] = False) -> KeyList:
    """Every key (never the key itself: its prefix identifies it)."""
    rows = await keys.list_keys(_records(request), include_revoked=include_revoked)
    return KeyList(keys=[KeyOut.of(r) for r in rows])


@router.post("/keys", response_model=NewKey, status_code=201, operation_id="create_key")
async def create_key(body: KeyIn, request: Request, caller: CallerDep) -> NewKey:
    """A new key. The answer holds the key once; only its hash is stored."""
    try:
        expires = keys.parse_duration(body.expires_in) if body.expires_in else None
        made = keys.KeyRequest(body.role.value, body.owner, body.name, body.areas, expires)
        key, row = await keys.create_key(_records(request), made, created_by=caller.actor)
    except keys.KeyError_ as exc:
        raise InvalidInput(
            str(exc), errors=[{"pointer": f"/{exc.field}", "detail": str(exc)}]
        ) from exc
    return NewKey(key=key, **KeyOut.of(row).model_dump())


@router.delete("/keys/{prefix}", status_code=204, operation_id="revoke_key")
async def revoke_key(
    prefix: Annotated[str, Path(pattern=keys.PREFIX_PATTERN)],
    request: Request,
    caller: CallerDep,
) -> Response:
    """Revoke a key at once, in this gateway (other replicas within 5 s)."""
    row = await keys.revoke_key(_records(request), prefix, revoked_by=caller.actor)
    if row is None:
        raise NotFound(f"no key with prefix {prefix}")
    request.app.state.gate.guard.forget(prefix)
    request.app.state.console.sessions.end_key(prefix)
    return Response(status_code=204)


@router.get(
    "/audit",
    response_model=AuditPage,
    operation_id="list_audit",
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
async def list_audit(
    request: Request,
    actor: Annotated[str | None, Query(pattern=ACTOR_PATTERN)] = None,
    key_prefix: Annotated[str | None, Query(pattern=keys.PREFIX_PATTERN)] = None,
    outcome: Literal["allowed", "denied", "failed"] | None = None,
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] | None = None,
    since: AwareTimestamp | None = None,
    until: AwareTimestamp | None = None,
    before: DbId | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> AuditPage | Response:
    """The audit log, newest first: every mutating request and every denied one. Filters
    combine; page with ``before``. ``Accept: text/csv`` answers the page as CSV."""
    statement = select(AuditEntry).order_by(col(AuditEntry.entry_id).desc()).limit(limit)
    conditions = {
        col(AuditEntry.actor): actor,
        col(AuditEntry.key_prefix): key_prefix,
        col(AuditEntry.outcome): outcome,
        col(AuditEntry.method): method,
    }
    for column, value in conditions.items():
        if value is not None:
            statement = statement.where(column == value)
    if since is not None:
        statement = statement.where(col(AuditEntry.at) >= since)
    if until is not None:
        statement = statement.where(col(AuditEntry.at) < until)
    if before is not None:
        statement = statement.where(col(AuditEntry.entry_id) < before)
    async with _records(request).reading() as session:
        rows = list((await session.exec(statement)).all())
    entries = rows
    if "text/csv" in request.headers.get("accept", ""):
        out = io.StringIO()
        writer = csv.writer(out)
        fields = list(AuditEntry.model_fields)
        writer.writerow(fields)
        for entry in entries:
            writer.writerow(
                ["" if getattr(entry, f) is None else getattr(entry, f) for f in fields]
            )
        return Response(out.getvalue(), media_type="text/csv; charset=utf-8")
    next_before = entries[-1].entry_id if len(entries) == limit else None
    return AuditPage(entries=entries, next_before=next_before)
