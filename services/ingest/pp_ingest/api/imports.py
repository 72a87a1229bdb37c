"""``POST /v1/imports/dsa``: EU DSA statements of reasons, as JSON or the CSV export."""

from __future__ import annotations

from typing import Any, Literal

import orjson
from fastapi import APIRouter, Request, Response

from pp_ingest.api.deps import BodyDep, PoolDep, ProducerDep, SettingsDep
from pp_ingest.api.problems import PROBLEMS
from pp_ingest.dsa.service import import_statements
from pp_shared.http_guards import media_type
from pp_shared.problems import UnsupportedMediaType

router = APIRouter(prefix="/v1")

_DSA_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "description": "One statement of reasons as the DSA Transparency Database "
                    "API takes it, or a list of them."
                }
            },
            **{
                csv: {
                    "schema": {
                        "type": "string",
                        "description": "A DSA CSV export: the 38-column layout or the earlier "
                        "37-column one (without content_id_ean), with its header row.",
                    }
                }
                for csv in ("text/csv", "application/csv")
            },
        },
    }
}


@router.post(
    "/imports/dsa",
    tags=["imports"],
    openapi_extra=_DSA_BODY,
    responses={415: {"description": "Neither JSON nor CSV."}, **PROBLEMS},
)
async def import_dsa(
    body: BodyDep, request: Request, pool: PoolDep, producer: ProducerDep, settings: SettingsDep
) -> Response:
    """Import DSA statements of reasons (JSON or CSV export); 200 with an outcome per statement."""
    kind = _dsa_media_type(request.headers.get("content-type", ""))
    if kind is None:
        raise UnsupportedMediaType(
            "send DSA statements as application/json or text/csv",
            errors=[
                {
                    "pointer": "/headers/content-type",
                    "detail": "expected application/json or text/csv",
                    "found": request.headers.get("content-type", ""),
                }
            ],
        )
    result = await import_statements(
        pool, producer, settings, body=body, media_type=kind, recent=request.app.state.recent
    )
    return Response(orjson.dumps(result), media_type="application/json")


def _dsa_media_type(content_type: str) -> Literal["json", "csv"] | None:
    kind = media_type(content_type)
    if kind in ("application/json", ""):
        return "json"
    if kind in ("text/csv", "application/csv"):
        return "csv"
    return None
