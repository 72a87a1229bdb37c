"""HTTP adapter of the classifier: taxonomy versions and clause models. Taxonomies are read
as the caller may see them (a key restricted to policy areas sees only their clauses), and a
version is published by the caller the gateway authenticated."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import asyncpg
import orjson
from fastapi import APIRouter, Body, Depends, Header, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field, ValidationInfo, field_validator

from pp_classifier.settings import ClassifierSettings
from pp_classifier.tagging import requests as tagging_requests
from pp_classifier.tagging.requests import TagResponse
from pp_classifier.taxonomy import service as taxonomy_service
from pp_classifier.taxonomy import simulation
from pp_classifier.taxonomy.document import Taxonomy, TaxonomyDiff
from pp_classifier.training import service as training_service
from pp_classifier.training.job_records import JobView
from pp_classifier.training.jobs import Retrainer
from pp_shared.contracts.topics import Topic
from pp_shared.dead_letters import DeadLetterStore
from pp_shared.dead_letters.api import dead_letter_router, runtime_sender
from pp_shared.identity import INTERNAL, CallerDep, Identity
from pp_shared.problems import Forbidden, InvalidInput, NotFound
from pp_shared.types import SINGLE_LINE, AwareTimestamp

log = logging.getLogger(__name__)
NDJSON = "application/x-ndjson"
router = APIRouter(prefix="/v1/taxonomy", tags=["taxonomy"])


def _pool(request: Request) -> asyncpg.Pool:
    pool: asyncpg.Pool = request.app.state.runtime.pool
    return pool


PoolDep = Annotated[asyncpg.Pool, Depends(_pool)]


def _replica(request: Request) -> training_service.Replica:
    replica: training_service.Replica = request.app.state.replica
    return replica


ReplicaDep = Annotated[training_service.Replica, Depends(_replica)]


@router.get("")
async def get_current(pool: PoolDep, caller: CallerDep) -> Taxonomy:
    """The latest published taxonomy: the version new tags are made with."""
    return await taxonomy_service.get(pool, caller=caller)


@router.get("/versions")
async def list_versions(pool: PoolDep) -> list[taxonomy_service.VersionSummary]:
    """Every published version, newest first."""
    return await taxonomy_service.versions(pool)


@router.get("/versions/{version}")
async def get_version(pool: PoolDep, version: str, caller: CallerDep) -> Taxonomy:
    """One published version, exactly as published."""
    return await taxonomy_service.get(pool, version, caller=caller)


@router.post(
    "/versions",
    status_code=201,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": Taxonomy.model_json_schema()}},
        }
    },
)
async def publish_version(
    pool: PoolDep,
    request: Request,
    response: Response,
    taxonomy: Annotated[dict[str, Any], Body(description="A taxonomy document (see GET).")],
    caller: CallerDep,
    published_by: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=128,
            description="Who publishes: one line, no controls. Only where the service is "
            "reached without the gateway (no gateway secret): through the gateway, the "
            "publisher is the API key's owner and this parameter is refused.",
        ),
        SINGLE_LINE,
    ] = None,
) -> taxonomy_service.PublishResult:
    """Publish a new immutable version; running classifiers switch to it within seconds."""
    result = await taxonomy_service.publish(
        pool, data=taxonomy, published_by=_publisher(caller, published_by)
    )
    if result.status == "unchanged":
        response.status_code = 200
    else:
        await _announce(request, pool)
    return result


def _publisher(caller: Identity, published_by: str | None) -> str:
    """Who publishes: the authenticated caller; ``published_by`` (default ``api``) only for
    the internal caller of a service without a gateway secret."""
    if caller is INTERNAL:
        return published_by or INTERNAL.actor
    if caller.scoped:
        raise Forbidden(
            "publishing a taxonomy changes every area: a key restricted to areas may not"
        )
    if published_by is not None:
        raise InvalidInput(
            "the publisher is the API key's owner",
            errors=[
                {
                    "pointer": "/query/published_by",
                    "detail": "leave it out: the version is recorded as published by "
                    f"{caller.actor}",
                }
            ],
        )
    return caller.actor


async def _announce(request: Request, pool: asyncpg.Pool) -> None:
    """Announce the new version now; when the broker cannot take it, the periodic announcer
    will (the version stays unannounced until then)."""
    try:
        await taxonomy_service.announce_pending(pool, send=request.app.state.announce)
    except Exception:
        log.exception("taxonomy announcement failed; the periodic announcer retries")


class SimulateParams(BaseModel):
    """The window of a simulation: ``from``/``to``, or the last ``days`` days."""

    days: int = Field(default=30, ge=1, le=400, description="The last N days (without from/to).")
    start: AwareTimestamp | None = Field(default=None, alias="from")
    end: AwareTimestamp | None = Field(default=None, alias="to")
    max_texts: int | None = Field(
        default=None, ge=100, le=1_000_000, description="Sample size (default: the setting)."
    )
    examples: int = Field(default=5, ge=0, le=20, description="Escalation ids per move.")

    @field_validator("end")
    @classmethod
    def _ordered(cls, end: datetime | None, info: ValidationInfo) -> datetime | None:
        start = info.data.get("start")
        if start is not None and end is not None and end <= start:
            raise ValueError("must be later than from")
        return end

    def window(self, now: datetime) -> tuple[datetime, datetime]:
        end = self.end or now
        return self.start or end - timedelta(days=self.days), end


@router.post(
    "/simulate",
    response_model=simulation.SimulationResult,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": Taxonomy.model_json_schema()}},
        }
    },
    responses={
        200: {
            "description": "JSON; with `Accept: application/x-ndjson`, progress lines"
            ' (`{"progress": {"examined": n, "total": N}}`) and then'
            ' `{"result": ...}`.',
            "content": {NDJSON: {"schema": {"type": "string"}}},
        }
    },
)
async def simulate_draft(
    pool: PoolDep,
    replica: ReplicaDep,
    request: Request,
    params: Annotated[SimulateParams, Query()],
    taxonomy: Annotated[dict[str, Any], Body(description="A draft taxonomy document.")],
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Response:
    """Re-tag a window's stored escalations with a draft's rules and the current model."""
    draft = taxonomy_service.validate(taxonomy)
    settings: ClassifierSettings = request.app.state.runtime.settings
    start, end = params.window(datetime.now(UTC))
    run = simulation.Run(
        draft=draft,
        current=replica.layers.tagger,
        start=start,
        end=end,
        max_texts=params.max_texts or settings.simulate_max_texts,
        examples=params.examples,
        restricted=replica.restricted,
    )
    if NDJSON in (accept or ""):
        return StreamingResponse(_progress_lines(pool, run), media_type=NDJSON)
    result = await simulation.simulate(pool, run)
    return Response(result.model_dump_json(by_alias=True), media_type="application/json")


async def _progress_lines(pool: asyncpg.Pool, run: simulation.Run) -> AsyncIterator[bytes]:
    lines: asyncio.Queue[bytes | None] = asyncio.Queue()

    async def progress(examined: int, total: int) -> None:
        lines.put_nowait(orjson.dumps({"progress": {"examined": examined, "total": total}}) + b"\n")

    async def work() -> simulation.SimulationResult:
        try:
            return await simulation.simulate(pool, run, progress=progress)
        finally:
            lines.put_nowait(None)

    task = asyncio.create_task(work())
    while (line := await lines.get()) is not None:
        yield line
    result = await task
    yield b'{"result": ' + result.model_dump_json(by_alias=True).encode() + b"}\n"


@router.get("/diff")
async def diff_versions(
    pool: PoolDep,
    old: Annotated[str, Query(alias="from")],
    new: Annotated[str, Query(alias="to")],
    caller: CallerDep,
) -> TaxonomyDiff:
    """Clauses added, removed and changed from one version to another."""
    return await taxonomy_service.compare(pool, old=old, new=new, caller=caller)


models_router = APIRouter(prefix="/v1/models", tags=["models"])


def _retrainer(request: Request) -> Retrainer:
    retrainer: Retrainer = request.app.state.retrainer
    return retrainer


RetrainerDep = Annotated[Retrainer, Depends(_retrainer)]


@models_router.post(
    "/retrain",
    status_code=202,
    responses={
        202: {
            "headers": {
                "Location": {"description": "Where to poll the job.", "schema": {"type": "string"}}
            }
        }
    },
)
async def retrain(retrainer: RetrainerDep, response: Response) -> JobView:
    """Start a training (or get the one running): 202 with the job to poll."""
    job = await retrainer.start("api")
    response.headers["Location"] = job.href
    return job


@models_router.get("/retrain/jobs")
async def list_retrain_jobs(
    retrainer: RetrainerDep, limit: Annotated[int, Query(ge=1, le=500)] = 20
) -> list[JobView]:
    """Retraining jobs, newest first."""
    return await retrainer.jobs(limit=limit)


@models_router.get("/retrain/jobs/{job_id}")
async def get_retrain_job(retrainer: RetrainerDep, job_id: str) -> JobView:
    """A retraining job: running, done (with its outcome), failed or interrupted."""
    return await retrainer.job(job_id)


@models_router.get("")
async def list_models(pool: PoolDep) -> list[training_service.ModelSummary]:
    """Every trained model, newest first, with its held-out evaluation and status."""
    return await training_service.list_models(pool)


@models_router.get("/active")
async def active_model(pool: PoolDep, replica: ReplicaDep) -> training_service.ModelSummary:
    """The model this replica tags with."""
    if replica.model is None:
        raise NotFound("no model is active (the model layer is disabled or not trained)")
    return await training_service.get_model(pool, replica.model.version)


@models_router.get("/{version}")
async def get_model(pool: PoolDep, version: str) -> training_service.ModelSummary:
    """One trained model and its evaluation."""
    return await training_service.get_model(pool, version)


@models_router.get("/{version}/artifact", response_class=Response)
async def get_artifact(pool: PoolDep, version: str) -> Response:
    """The serialised model (a numpy archive), for ``policypulse classifier eval --model``."""
    return Response(
        await training_service.get_artifact(pool, version), media_type="application/octet-stream"
    )


tag_router = APIRouter(prefix="/v1/tag", tags=["tagging"])


@tag_router.post("")
async def tag_texts(replica: ReplicaDep, body: tagging_requests.TagRequest) -> TagResponse:
    """Tag 1 to 100 texts now: each tag with its method, confidence and lexicon entry or model."""
    layers = replica.layers
    return await asyncio.to_thread(tagging_requests.tag_request, body, layers=layers)


DEAD_LETTERS = DeadLetterStore("classifier")
dead_letter_routes = dead_letter_router(
    DEAD_LETTERS,
    prefix="/v1/classifier/dead-letters",
    what="the classifier's dead letters (validated events it could not tag or store)",
    reasons="invalid or processing_failed",
    sender=runtime_sender(Topic.EVENTS_VALIDATED),
    operation_prefix="classifier",
)
