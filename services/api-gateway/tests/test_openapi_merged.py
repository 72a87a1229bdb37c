"""The gateway's one OpenAPI document: every public operation of every service, with the
security scheme, the roles, the gateway's own answers and an example of every body, valid
as OpenAPI and as JSON Schema."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from typing import Any

from jsonschema_path.typing import Schema
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate

from pp_gateway.access import ROUTES
from pp_gateway.main import create_app
from pp_gateway.openapi import MergedOpenApi
from pp_shared.openapi import operations

PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}


@functools.cache
def merged() -> dict[str, Any]:
    from pp_classifier.main import create_app as classifier
    from pp_ingest.main import create_app as ingest
    from pp_insights.main import create_app as insights

    documents: MergedOpenApi = create_app().state.openapi_documents
    documents.specs = {
        "ingest": ingest().openapi(),
        "classifier": classifier().openapi(),
        "insights": insights().openapi(),
    }
    return documents.document()


def refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            elif key == "mapping" and isinstance(value, dict):
                yield from value.values()
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs(value)


def test_the_document_is_valid_openapi_and_every_reference_resolves() -> None:
    spec = merged()
    schema: Schema = spec
    validate(schema)
    names = set(spec["components"]["schemas"])
    for ref in set(refs(spec)):
        assert ref.startswith("#/components/schemas/"), ref
        assert ref.rsplit("/", 1)[1] in names, ref


def test_it_holds_exactly_the_role_tables_operations_and_the_probes() -> None:
    found = {(method.upper(), path) for path, method, _ in operations(merged())}
    expected = {(r.method, r.path) for r in ROUTES} | {("GET", "/healthz"), ("GET", "/readyz")}
    assert found == expected
    assert "x-pp-missing" not in merged()["info"]


def test_each_operation_says_who_may_call_it() -> None:
    table = {(r.method, r.path): r for r in ROUTES}
    spec = merged()
    assert spec["components"]["securitySchemes"]["apiKey"]["scheme"] == "bearer"
    for path, method, operation in operations(spec):
        route = table.get((method.upper(), path))
        if route is None:
            assert operation["security"] == []
            continue
        roles = [r.value for r in route.roles]
        assert operation["security"] == [{"apiKey": []}]
        assert operation["x-pp-roles"] == roles
        assert operation["x-pp-area-scoping"] == route.scoping.value
        assert f"**Roles:** {', '.join(roles)}." in operation["description"]
        for code in ("401", "403", "429"):
            assert operation["responses"][code]["content"] == PROBLEM, (method, path, code)


def test_every_request_body_has_an_example_its_schema_accepts() -> None:
    spec = merged()
    bodies = 0
    for path, method, operation in operations(spec):
        for media, content in operation.get("requestBody", {}).get("content", {}).items():
            bodies += 1
            assert "example" in content, (method, path, media)
            validator = OAS31Validator({**content["schema"], "components": spec["components"]})
            errors = [e.message for e in validator.iter_errors(content["example"])]
            assert errors == [], (method, path, media)
    assert bodies >= 18  # the loop above ran over every body (18 before launches)


def test_operation_ids_are_unique_readable_names() -> None:
    ids = [operation["operationId"] for _, _, operation in operations(merged())]
    assert len(ids) == len(set(ids))
    for operation_id in ids:
        assert re.fullmatch(r"[a-z][a-z0-9]*(_[a-z0-9]+)*", operation_id), operation_id
