"""A taxonomy draft simulated from the taxonomy page: the draft pasted or uploaded (YAML or
JSON, the document a version is published from), a window, and ``POST
/v1/taxonomy/simulate`` through the relay (authors only); what would change, per clause and
per move, each table with its CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from email.message import Message
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from urllib.parse import parse_qsl, quote

import orjson
import yaml
from fastapi import APIRouter, Request
from starlette.responses import Response

from pp_gateway.access import Permission
from pp_gateway.console.web import PageDep, Refused, area_of, check_csrf, may

router = APIRouter()
DRAFT_LIMIT = 2 * 1024 * 1024
"""The largest draft form taken (the published taxonomy is about 75 KB of YAML)."""
WINDOWS = ("1", "7", "30", "90")
CLAUSE_COLUMNS = ("clause_id", "area", "current", "draft", "gained", "lost")
MOVE_COLUMNS = ("from_clause", "to_clause", "count", "examples")


async def draft_form(request: Request) -> dict[str, list[str]]:
    """The simulation form's fields (``multipart/form-data`` for an uploaded file, else
    urlencoded), each name to its values; an uploaded file's text under its field's name."""
    body = await request.body()
    if len(body) > DRAFT_LIMIT:
        raise Refused(413, f"the draft is larger than {DRAFT_LIMIT // 1024 // 1024} MB")
    kind = request.headers.get("content-type", "")
    out: dict[str, list[str]] = {}
    if not kind.startswith("multipart/form-data"):
        for name, value in parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True):
            out.setdefault(name, []).append(value)
        return out
    message = BytesParser(policy=HTTP).parsebytes(
        f"content-type: {kind}\r\n\r\n".encode("latin-1") + body
    )
    if not message.is_multipart():
        raise Refused(400, "the form could not be read")
    for part in message.iter_parts():
        assert isinstance(part, Message)
        field = part.get_param("name", header="content-disposition")
        if not isinstance(field, str):
            continue
        payload = part.get_payload(decode=True)
        text = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
        out.setdefault(field, []).append(text)
    return out


def parse_draft(text: str) -> dict[str, Any]:
    """A draft document from its text: JSON or YAML (JSON is YAML too, but its own parser
    says more precisely where it fails)."""
    stripped = text.strip()
    if not stripped:
        raise Refused(422, "paste a draft or choose its file")
    try:
        found = orjson.loads(stripped) if stripped.startswith("{") else yaml.safe_load(stripped)
    except (orjson.JSONDecodeError, yaml.YAMLError) as error:
        raise Refused(422, f"the draft is neither JSON nor YAML: {str(error)[:300]}") from None
    if not isinstance(found, dict):
        raise Refused(422, "a draft is a taxonomy document: a mapping with version and areas")
    return found


def csv_link(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> str:
    """A table as a ``data:`` URL of its CSV: the result of a POST has no address to fetch
    again, so the page carries it."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(
            [
                " ".join(str(v) for v in row[c]) if isinstance(row[c], list) else row[c]
                for c in columns
            ]
        )
    return "data:text/csv;charset=utf-8," + quote(out.getvalue(), safe="")


def visible(result: dict[str, Any], areas: Sequence[str]) -> dict[str, Any]:
    """The per-clause and per-move rows of the areas the session may see."""
    shown = set(areas)
    return {
        "clauses": [c for c in result.get("clauses", []) if c.get("area") in shown],
        "moves": [
            m
            for m in result.get("moves", [])
            if area_of(str(m["from_clause"])) in shown or area_of(str(m["to_clause"])) in shown
        ],
    }


@router.post("/taxonomy/simulate")
async def simulate(page: PageDep, request: Request) -> Response:
    """Simulate the form's draft over the chosen window of stored escalations."""
    form = await draft_form(request)
    check_csrf(request, page.session, form)
    if not may(page.session, Permission.AUTHOR):
        raise Refused(403, "simulating a draft needs a role that may author: policy_admin or admin")
    uploaded = (form.get("draft_file") or [""])[0]
    pasted = (form.get("draft") or [""])[0]
    text = uploaded if uploaded.strip() else pasted
    days = (form.get("days") or ["7"])[0]
    days = days if days in WINDOWS else "7"
    context: dict[str, Any] = {"draft_text": text, "days": days, "windows": WINDOWS}
    try:
        draft = parse_draft(text)
    except Refused as refused:
        return page.render("simulation.html", error=refused.detail, status=422, **context)
    answer = await page.api(
        "POST", "/v1/taxonomy/simulate", {"days": days}, body=orjson.dumps(draft)
    )
    if not answer.ok:
        return page.render("simulation.html", error=answer.detail, status=answer.status, **context)
    result = answer.json()
    # The API answers every area; a key restricted to some sees only theirs here.
    areas = page.session.areas
    rows = result if areas is None else visible(result, areas)
    return page.render(
        "simulation.html",
        result=result,
        clauses=rows["clauses"],
        moves=rows["moves"],
        clause_columns=CLAUSE_COLUMNS,
        clauses_csv=csv_link(rows["clauses"], CLAUSE_COLUMNS),
        moves_csv=csv_link(rows["moves"], MOVE_COLUMNS),
        **context,
    )
