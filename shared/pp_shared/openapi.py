"""OpenAPI documents that fuzzers and client generators can use.

FastAPI's document is completed once, when first asked for:

- every ``$ref`` resolves: JSON Schemas injected by hand (the event bodies of ingest carry
  their definitions in ``$defs``) have their definitions moved to ``components/schemas``;
- every error answer is a ``Problem`` (RFC 9457, ``application/problem+json``), documented
  on each operation that can give it: 422 where the operation takes parameters or a body and
  on every ``/v1`` operation (unknown query parameters are refused), 400, 413 and 415 where it
  takes a body, 404 where its path names something, 503 on every ``/v1`` operation (each
  depends on the database or the broker), and what a service adds per operation (409, say).
  FastAPI's own 422 (``HTTPValidationError``, which the services never answer) is replaced;
  answers an operation documents itself are kept, and get the Problem schema when they
  have no content of their own;
- operation ids are the handlers' names (``list_dead_letters``), which client generators
  turn into method names, where FastAPI's repeat the path and method.

405 (a method a path does not serve) is answered as a problem too, but belongs to no
operation, so OpenAPI has nowhere to document it.
"""

from __future__ import annotations

import copy
import re
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from fastapi import FastAPI

from pp_shared.problems import MAX_LISTED_ERRORS, PROBLEM_JSON

SCHEMAS = "#/components/schemas/"
METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
PROBLEM = "Problem"
FIELD_ERROR = "ProblemFieldError"

_PROBLEM_SCHEMAS: dict[str, dict[str, Any]] = {
    PROBLEM: {
        "title": "Problem",
        "description": "An RFC 9457 problem document. Members beyond these (a `reason`, say) "
        "may be added by the problem type.",
        "type": "object",
        "required": ["type", "title", "status"],
        "properties": {
            "type": {
                "type": "string",
                "description": "The problem type: https://policypulse.dev/problems/<name>, or "
                "about:blank for a plain HTTP error.",
            },
            "title": {"type": "string", "description": "A summary of the problem type."},
            "status": {"type": "integer", "minimum": 400, "maximum": 599},
            "detail": {"type": "string", "description": "What went wrong with this request."},
            "instance": {"type": "string", "description": "The path of the request."},
            "errors": {
                "type": "array",
                "maxItems": MAX_LISTED_ERRORS,
                "description": f"What is wrong, each with a JSON pointer: the first "
                f"{MAX_LISTED_ERRORS} found.",
                "items": {"$ref": SCHEMAS + FIELD_ERROR},
            },
            "errors_total": {
                "type": "integer",
                "minimum": 0,
                "description": "Every error found, listed or not; present when some were left out.",
            },
            "errors_truncated": {
                "type": "boolean",
                "description": f"True when more than {MAX_LISTED_ERRORS} errors were found "
                "and only the first are listed.",
            },
        },
    },
    FIELD_ERROR: {
        "title": "ProblemFieldError",
        "type": "object",
        "required": ["pointer", "detail"],
        "properties": {
            "pointer": {
                "type": "string",
                "description": "RFC 6901 JSON pointer to the offending value, relative to the "
                "body (`/region`), or naming the query (`/query/from`), a header "
                "(`/headers/content-type`) or a part of a CSV body (`/header`, "
                "`/rows/3/decision_facts`); empty for the whole body.",
            },
            "detail": {"type": "string"},
            "expected": {"type": "string"},
            "found": {
                "description": "The offending value (strings cut at 80 characters), or its "
                "type's name.",
                "type": ["string", "number", "boolean"],
            },
            "field": {
                "type": "string",
                "description": "The field's name, in formats with names of their own (DSA).",
            },
            "code": {"type": "string", "description": "A machine-readable kind, e.g. `conflict`."},
        },
    },
}

_STANDARD: dict[int, str] = {
    400: "Bad request: the body could not be read.",
    404: "Not found: nothing has the id the path names.",
    413: "Payload too large: the body is over the service's limit, or holds more items than "
    "one request may.",
    415: "Unsupported media type: the body's Content-Type is not one this operation reads.",
    422: "The request does not match the contract: each wrong parameter, field or item is "
    f"listed with a JSON pointer (the first {MAX_LISTED_ERRORS}, with errors_total when "
    "there are more). Unknown query parameters are refused too.",
    503: "Unavailable: the database or the event broker did not answer in time; retrying is "
    "safe (after Retry-After, when it is given).",
}
_RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before retrying.",
        "schema": {"type": "integer", "minimum": 0},
    }
}

Responses = Mapping[str, Mapping[int, str]]
"""Problem answers particular to some operations: ``{"POST /v1/rules": {409: "why"}}``."""


def install_openapi(app: FastAPI, *, responses: Responses | None = None) -> None:
    """Make ``app.openapi()`` (and ``/openapi.json``) answer the completed document, built
    once on first use. Call it in ``create_app``; routes may be added before or after."""
    generate: Callable[[], dict[str, Any]] = app.openapi
    built: list[dict[str, Any]] = []

    def openapi() -> dict[str, Any]:
        if not built:
            # A copy: FastAPI's document shares dicts with the routes' openapi_extra.
            spec = complete(copy.deepcopy(generate()), responses or {})
            app.openapi_schema = spec
            built.append(spec)
        return built[0]

    app.openapi = openapi  # type: ignore[method-assign]


def complete(spec: dict[str, Any], responses: Responses) -> dict[str, Any]:
    """``spec``, completed in place as the module docstring says."""
    schemas: dict[str, Any] = spec.setdefault("components", {}).setdefault("schemas", {})
    _hoist_defs(spec, schemas)
    for name, schema in _PROBLEM_SCHEMAS.items():
        _add_schema(schemas, name, copy.deepcopy(schema))
    _name_operations(spec)
    unused = set(responses)
    for path, method, operation in operations(spec):
        key = f"{method.upper()} {path}"
        extra = responses.get(key, {})
        unused.discard(key)
        _require_typed_body(method, operation)
        _document_problems(path, operation, extra)
    if unused:
        raise ValueError(f"problem answers for operations that do not exist: {sorted(unused)}")
    for name in ("HTTPValidationError", "ValidationError"):
        if name in schemas and not _refers_to(spec, SCHEMAS + name):
            del schemas[name]
    return spec


def operations(spec: Mapping[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """``(path, method, operation)`` for every operation of ``spec``."""
    for path, item in spec.get("paths", {}).items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


_MUTATING = frozenset({"post", "put", "patch"})
_NO_FIELDS: dict[str, Any] = {
    "required": True,
    "content": {"application/json": {"schema": {"description": "Not read: send {}."}}},
}


def _require_typed_body(method: str, operation: dict[str, Any]) -> None:
    """A write always names its media type (``pp_shared.http_guards`` refuses one that does
    not: 415), so its body is documented as required; a write that reads nothing takes
    ``{}``."""
    if method not in _MUTATING:
        return
    body = operation.get("requestBody")
    if body is None:
        operation["requestBody"] = copy.deepcopy(_NO_FIELDS)
    else:
        body["required"] = True


def _document_problems(path: str, operation: dict[str, Any], extra: Mapping[int, str]) -> None:
    parameters = operation.get("parameters", [])
    has_body = "requestBody" in operation
    v1 = path.startswith("/v1/")
    wanted: dict[int, str] = {}
    if has_body:
        wanted.update({s: _STANDARD[s] for s in (400, 413, 415)})
    if parameters or has_body or v1:
        wanted[422] = _STANDARD[422]
    if any(p.get("in") == "path" for p in parameters):
        wanted[404] = _STANDARD[404]
    if v1:
        wanted[503] = _STANDARD[503]
    wanted.update(extra)
    answers: dict[str, Any] = operation.setdefault("responses", {})
    for status, description in sorted(wanted.items()):
        answer = answers.get(str(status))
        if answer is None or _is_fastapi_422(status, answer):
            answers[str(status)] = {"description": description}
    for code, answer in answers.items():
        if code[0] in "45" and "content" not in answer:
            answer["content"] = {PROBLEM_JSON: {"schema": {"$ref": SCHEMAS + PROBLEM}}}
            if code == "503":
                answer.setdefault("headers", copy.deepcopy(_RETRY_AFTER))


def _is_fastapi_422(status: int, answer: Mapping[str, Any]) -> bool:
    """FastAPI's default 422, which the problem handlers replace with a Problem."""
    schema = answer.get("content", {}).get("application/json", {}).get("schema", {})
    return status == 422 and schema.get("$ref") == SCHEMAS + "HTTPValidationError"


def _hoist_defs(node: Any, schemas: dict[str, Any]) -> None:
    """Move every ``$defs`` below the root to ``schemas``, and point ``#/$defs/`` refs there."""
    if isinstance(node, dict):
        defs = node.pop("$defs", None)
        if defs is not None:
            _hoist_defs(defs, schemas)
            for name, schema in defs.items():
                _add_schema(schemas, name, schema)
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            node["$ref"] = SCHEMAS + ref.removeprefix("#/$defs/")
        mapping = node.get("discriminator", {}).get("mapping") if "discriminator" in node else None
        if isinstance(mapping, dict):
            for tag, target in mapping.items():
                if isinstance(target, str) and target.startswith("#/$defs/"):
                    mapping[tag] = SCHEMAS + target.removeprefix("#/$defs/")
        # A list: definitions found below are added to ``schemas``, which may be walked now.
        for value in list(node.values()):
            _hoist_defs(value, schemas)
    elif isinstance(node, list):
        for value in node:
            _hoist_defs(value, schemas)


def _add_schema(schemas: dict[str, Any], name: str, schema: Any) -> None:
    if name in schemas and schemas[name] != schema:
        raise ValueError(f"two different schemas are named {name}")
    schemas[name] = schema


def _refers_to(node: Any, ref: str) -> bool:
    if isinstance(node, dict):
        return node.get("$ref") == ref or any(_refers_to(v, ref) for v in node.values())
    if isinstance(node, list):
        return any(_refers_to(v, ref) for v in node)
    return False


def _name_operations(spec: dict[str, Any]) -> None:
    """Operation ids that FastAPI made of the handler's name, the path and the method
    (``get_rule_v1_rules__rule_id__get``) become the handler's name (``get_rule``), where no
    other operation has that name."""
    names: dict[tuple[str, str], str] = {}
    for path, method, operation in operations(spec):
        default = re.sub(r"\W", "_", path) + "_" + method
        given = operation.get("operationId", "")
        if given.endswith(default) and len(given) > len(default):
            names[path, method] = given.removesuffix(default)
    counts = Counter(names.values())
    for (path, method), name in names.items():
        if counts[name] == 1:
            spec["paths"][path][method]["operationId"] = name
