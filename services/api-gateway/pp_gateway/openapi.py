"""One OpenAPI document for the whole public API, at the gateway's ``/openapi.json``.

The gateway reads each service's own document (``/openapi.json``, which
:mod:`pp_shared.openapi` completes: problems, operation ids, hoisted schemas) when it starts,
and again until every service has answered; it merges them with its own:

- every operation of the role table, and only those (a service's probes and anything not
  public stay out);
- schemas under their own names; two services' schemas of one name and different content
  get the service's name in front (``InsightsFoo``), with every reference rewritten;
- operation ids kept, or prefixed with the service where two would collide;
- the bearer security scheme on every ``/v1`` operation, none on the probes;
- the roles that may call each operation, and how it keeps to a key's areas, in its
  description and as ``x-pp-roles`` and ``x-pp-area-scoping``;
- the answers the gateway itself gives: 401, 403 and 429 as problem documents.

Until every service has answered, the document says which are missing (``x-pp-missing``).
"""

from __future__ import annotations

import asyncio
import copy
import logging
from collections.abc import Callable
from typing import Any

import aiohttp

from pp_gateway.access import ROUTES, SERVICES, Route, Scoping
from pp_gateway.examples import EXAMPLES
from pp_shared.openapi import SCHEMAS, operations

log = logging.getLogger(__name__)

SECURITY_SCHEME = "apiKey"
_PROBLEM = {"application/problem+json": {"schema": {"$ref": SCHEMAS + "Problem"}}}
_GATEWAY_ANSWERS: dict[str, dict[str, Any]] = {
    "401": {
        "description": "No API key, or one that is malformed, unknown, revoked or expired.",
        "content": _PROBLEM,
    },
    "403": {
        "description": "The key's role may not call this operation, or its areas do not "
        "cover what the request names.",
        "content": _PROBLEM,
    },
    "429": {
        "description": "The key's rate limit is spent; retry after the time given.",
        "headers": {"Retry-After": {"schema": {"type": "integer", "minimum": 0}}},
        "content": _PROBLEM,
    },
}
_SCOPING_WORDS = {
    Scoping.NONE: "the answer holds no policy area's data",
    Scoping.QUERY: "a key restricted to areas may name only its own in `area`; when the "
    "request names none, the key's areas are added",
    Scoping.SERVICE: "a key restricted to areas sees only what belongs to them",
    Scoping.UNRESTRICTED: "needs a key without an area restriction",
}


class MergedOpenApi:
    def __init__(self, own: Callable[[], dict[str, Any]], urls: dict[str, str]) -> None:
        self.own = own
        self.urls = urls
        self.specs: dict[str, dict[str, Any]] = {}
        self._merged: dict[str, Any] | None = None

    async def fetch(self, client: aiohttp.ClientSession) -> list[str]:
        """Read the documents not read yet; returns the services still missing."""
        for service in SERVICES:
            if service in self.specs:
                continue
            url = f"{self.urls[service].rstrip('/')}/openapi.json"
            try:
                async with client.get(url, timeout=aiohttp.ClientTimeout(total=5)) as answer:
                    if answer.status == 200:
                        self.specs[service] = await answer.json()
                        self._merged = None
            except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
                log.info(
                    "service's OpenAPI not read yet",
                    extra={"service": service, "error_type": type(exc).__name__},
                )
        return [s for s in SERVICES if s not in self.specs]

    async def keep_fetching(self, client: aiohttp.ClientSession) -> None:
        """Read every service's document, retrying the missing ones (0.5 s, doubling to 5 s;
        readiness checks read them too, as soon as the services answer)."""
        delay = 0.5
        while await self.fetch(client):
            await asyncio.sleep(delay)
            delay = min(5.0, delay * 2)

    def document(self) -> dict[str, Any]:
        if self._merged is not None:
            return self._merged
        merged = merge(self.own(), self.specs)
        missing = [s for s in SERVICES if s not in self.specs]
        if missing:
            merged["info"]["x-pp-missing"] = missing
            merged["info"]["description"] += (
                f"\n\nNot yet read from their services: {', '.join(missing)}."
            )
            return merged
        self._merged = merged
        return merged


def merge(own: dict[str, Any], specs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    spec = copy.deepcopy(own)
    paths: dict[str, Any] = spec.setdefault("paths", {})
    schemas: dict[str, Any] = spec.setdefault("components", {}).setdefault("schemas", {})
    taken = {op["operationId"] for _, _, op in operations(spec) if "operationId" in op}
    table = {(r.method, r.path): r for r in ROUTES}
    for service in SERVICES:
        if service not in specs:
            continue
        document = copy.deepcopy(specs[service])
        renames = _schema_names(schemas, document.get("components", {}).get("schemas", {}), service)
        _rewrite_refs(document, renames)
        for name, schema in document.get("components", {}).get("schemas", {}).items():
            schemas.setdefault(renames.get(name, name), schema)
        for path, method, operation in operations(document):
            if (method.upper(), path) not in table:
                continue
            name = operation.get("operationId")
            if name in taken:
                operation["operationId"] = f"{service}_{name}"
            taken.add(operation.get("operationId"))
            paths.setdefault(path, {})[method] = operation
    spec.setdefault("components", {})["securitySchemes"] = {
        SECURITY_SCHEME: {
            "type": "http",
            "scheme": "bearer",
            "description": "An API key: `Authorization: Bearer ppk_...`. Admins make keys with "
            "`policypulse keys create` or `POST /v1/keys`.",
        }
    }
    for path, method, operation in operations(spec):
        route = table.get((method.upper(), path))
        if route is None:
            operation["security"] = []
            continue
        _document_access(operation, route)
        _add_examples(operation, route)
    return spec


def _add_examples(operation: dict[str, Any], route: Route) -> None:
    body = operation.get("requestBody")
    if body is None:
        return
    given = EXAMPLES.get((route.method, route.path), {})
    for media, content in body.get("content", {}).items():
        if media in given and "example" not in content and "examples" not in content:
            content["example"] = given[media]


def _document_access(operation: dict[str, Any], route: Route) -> None:
    roles = [r.value for r in route.roles]
    operation["security"] = [{SECURITY_SCHEME: []}]
    operation["x-pp-roles"] = roles
    operation["x-pp-area-scoping"] = route.scoping.value
    access = f"**Roles:** {', '.join(roles)}. **Areas:** {_SCOPING_WORDS[route.scoping]}."
    described = operation.get("description", "")
    operation["description"] = f"{described}\n\n{access}" if described else access
    responses = operation.setdefault("responses", {})
    for code, answer in _GATEWAY_ANSWERS.items():
        responses.setdefault(code, copy.deepcopy(answer))


def _schema_names(
    schemas: dict[str, Any], incoming: dict[str, Any], service: str
) -> dict[str, str]:
    """The new names of ``incoming`` schemas whose names are taken by another content."""
    renames = {}
    for name, schema in incoming.items():
        if name in schemas and schemas[name] != schema:
            renames[name] = service.capitalize() + name
    return renames


def _rewrite_refs(node: Any, renames: dict[str, str]) -> None:
    if not renames:
        return
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith(SCHEMAS):
                name = value[len(SCHEMAS) :]
                node[key] = SCHEMAS + renames.get(name, name)
            elif key == "mapping" and isinstance(value, dict):
                for tag, ref in value.items():
                    target = ref[len(SCHEMAS) :] if ref.startswith(SCHEMAS) else ""
                    if target in renames:
                        value[tag] = SCHEMAS + renames[target]
            else:
                _rewrite_refs(value, renames)
    elif isinstance(node, list):
        for value in node:
            _rewrite_refs(value, renames)
