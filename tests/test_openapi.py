"""Each service's OpenAPI document is one that fuzzers and client generators can use: valid,
every reference resolves, every error answer is a documented problem document, event bodies
are real schemas, and operation ids are unique, readable names. Building an app does not start
its lifespan, so nothing here needs a database or a broker."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from jsonschema_path.typing import Schema
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate

import pp_classifier.main
import pp_gateway.main
import pp_ingest.main
import pp_insights.main
from pp_shared.openapi import operations
from pp_shared.testing import samples

APPS: dict[str, Callable[[], FastAPI]] = {
    "ingest": pp_ingest.main.create_app,
    "classifier": pp_classifier.main.create_app,
    "insights": pp_insights.main.create_app,
    "api-gateway": pp_gateway.main.create_app,
}
PROBLEM = {"$ref": "#/components/schemas/Problem"}
EVENT_SCHEMAS = {"EscalationCreated", "DecisionMade", "AppealResolved", "QaReviewed"}


@functools.cache
def document(service: str) -> dict[str, Any]:
    spec: dict[str, Any] = APPS[service]().openapi()
    return spec


@pytest.fixture(params=list(APPS))
def spec(request: pytest.FixtureRequest) -> dict[str, Any]:
    return document(request.param)


def refs(node: Any) -> Iterator[str]:
    """Every reference in a document: ``$ref`` values and discriminator mappings."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            elif key == "discriminator":
                yield from value.get("mapping", {}).values()
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs(value)


def resolve(spec: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = spec
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict), ref
        assert part in node, f"{ref} does not resolve"
        node = node[part]
    return node


class TestEveryService:
    def test_the_document_is_valid_openapi(self, spec: dict[str, Any]) -> None:
        schema: Schema = spec
        validate(schema)

    def test_every_reference_resolves(self, spec: dict[str, Any]) -> None:
        found = set(refs(spec))
        for ref in sorted(found):
            resolve(spec, ref)
        assert "#/components/schemas/HTTPValidationError" not in found

    def test_every_operation_with_input_documents_a_problem_422(self, spec: dict[str, Any]) -> None:
        for path, method, operation in operations(spec):
            has_input = bool(operation.get("parameters")) or "requestBody" in operation
            if has_input or path.startswith("/v1/"):
                answer = operation["responses"]["422"]
                assert answer["content"] == {"application/problem+json": {"schema": PROBLEM}}, (
                    method,
                    path,
                )

    def test_bodies_paths_and_dependencies_document_their_problems(
        self, spec: dict[str, Any]
    ) -> None:
        for path, method, operation in operations(spec):
            codes = set(operation["responses"])
            if "requestBody" in operation:
                assert {"400", "413", "415"} <= codes, (method, path)
            if "{" in path:
                assert "404" in codes, (method, path)
            if path.startswith("/v1/"):
                assert "503" in codes, (method, path)
                retry = operation["responses"]["503"]["headers"]["Retry-After"]
                assert retry["schema"] == {"type": "integer", "minimum": 0}

    def test_every_error_answer_is_a_problem(self, spec: dict[str, Any]) -> None:
        for path, method, operation in operations(spec):
            for code, answer in operation["responses"].items():
                if code[0] in "45" and path != "/readyz":
                    assert answer["content"] == {"application/problem+json": {"schema": PROBLEM}}, (
                        method,
                        path,
                        code,
                    )

    def test_operation_ids_are_unique_readable_names(self, spec: dict[str, Any]) -> None:
        ids = [operation["operationId"] for _path, _method, operation in operations(spec)]
        assert len(ids) == len(set(ids))
        for operation_id in ids:
            assert re.fullmatch(r"[a-z][a-z0-9]*(_[a-z0-9]+)*", operation_id), operation_id
            assert len(operation_id) <= 30, operation_id


def test_the_problem_schema() -> None:
    schemas = document("ingest")["components"]["schemas"]
    problem = schemas["Problem"]
    assert problem["required"] == ["type", "title", "status"]
    assert set(problem["properties"]) == {
        "type",
        "title",
        "status",
        "detail",
        "instance",
        "errors",
        "errors_total",
        "errors_truncated",
    }
    assert problem["properties"]["errors"]["maxItems"] == 100
    field_error = schemas["ProblemFieldError"]
    assert field_error["required"] == ["pointer", "detail"]
    assert {"expected", "found"} <= set(field_error["properties"])


def test_operation_ids_of_ingest() -> None:
    assert [(m, p, o["operationId"]) for p, m, o in operations(document("ingest"))] == [
        ("get", "/healthz", "healthz"),
        ("get", "/readyz", "readyz"),
        ("post", "/v1/events", "submit_event"),
        ("post", "/v1/events:batch", "submit_events"),
        ("post", "/v1/imports/dsa", "import_dsa"),
        # Every service has dead letters: their ids name the service, unique in a merged spec.
        ("get", "/v1/dead-letters", "ingest_list_dead_letters"),
        ("get", "/v1/dead-letters/{dead_letter_id}", "ingest_get_dead_letter"),
        ("post", "/v1/dead-letters:replay", "ingest_replay_dead_letters"),
        ("get", "/v1/conflicts", "ingest_list_conflicts"),
    ]


def test_answers_a_service_adds_are_documented() -> None:
    insights = document("insights")["paths"]
    assert set(insights["/v1/breaches/{breach_id}/ack"]["post"]["responses"]) == {
        "200",
        "400",
        "404",
        "409",
        "413",
        "415",
        "422",
        "503",
    }
    classifier = document("classifier")["paths"]
    assert "409" in classifier["/v1/taxonomy/versions"]["post"]["responses"]
    assert "404" in classifier["/v1/models/active"]["get"]["responses"]
    # What a route declares itself keeps its description, and gets the Problem schema.
    conflict = document("ingest")["paths"]["/v1/events"]["post"]["responses"]["409"]
    assert conflict == {
        "description": "The event id was already accepted with a different body.",
        "content": {"application/problem+json": {"schema": PROBLEM}},
    }


class TestEventBodies:
    def body_schema(self, path: str) -> dict[str, Any]:
        operation = document("ingest")["paths"][path]["post"]
        schema: dict[str, Any] = operation["requestBody"]["content"]["application/json"]["schema"]
        return schema

    def validator(self, schema: dict[str, Any]) -> OAS31Validator:
        """A validator of ``schema`` whose references resolve in the ingest document."""
        return OAS31Validator({**schema, "components": document("ingest")["components"]})

    def test_single_and_batch_bodies_are_the_four_event_schemas(self) -> None:
        single = self.body_schema("/v1/events")
        batch = self.body_schema("/v1/events:batch")
        assert batch["items"] == single
        assert batch["maxItems"] == 10_000
        names = {ref.rsplit("/", 1)[1] for ref in refs(single)}
        assert names == EVENT_SCHEMAS
        spec = document("ingest")
        for name in EVENT_SCHEMAS:
            event = spec["components"]["schemas"][name]
            assert {"event_id", "event_type", "occurred_at"} <= set(event["required"])
        outcome = resolve(
            spec, spec["components"]["schemas"]["AppealResolved"]["properties"]["outcome"]["$ref"]
        )
        assert outcome["enum"] == ["upheld", "overturned", "partially_overturned"]

    def test_events_validate_against_the_documented_bodies(self) -> None:
        events = [samples.escalation(), samples.decision(), samples.appeal(), samples.qa_review()]
        single = self.validator(self.body_schema("/v1/events"))
        for event in events:
            single.validate(event)
        self.validator(self.body_schema("/v1/events:batch")).validate(events)
        wrong = samples.escalation(escalation_reason="because", severity=9)
        assert not single.is_valid(wrong)
        escalation = self.validator({"$ref": "#/components/schemas/EscalationCreated"})
        assert sorted(e.json_path for e in escalation.iter_errors(wrong)) == [
            "$.escalation_reason",
            "$.severity",
        ]
