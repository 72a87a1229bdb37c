"""Fuzz one service's HTTP API with schemathesis, in a process of its own.

``.venv/bin/python tests/fuzz_api.py --service ingest`` (``--base-url`` when the service is
not where ``make up`` serves it) reads the ``/openapi.json`` the service publishes and runs
schemathesis' engine on it as ``st run`` does: the examples, coverage, fuzzing and stateful
phases, with the checks of ``CHECKS``. It prints what it found (``--json``: as JSON, for
``tests/test_fuzz.py``) and exits 1 on any check failure, on any operation or part of one
left out of the fuzzing (a ``$ref`` that does not resolve leaves a request body out, for
instance), and when ingest's event operations got fewer than ``MIN_EVENT_BODIES`` generated
JSON bodies. Each failure comes with its simplest reproducing request, pointed at the port
``make up`` serves the service on, and the answer it got.

It runs apart from the services under test, and from pytest, so that a seed draws the same
cases wherever it runs: Hypothesis mixes constants from the project's modules loaded in its
process into what it draws, and inside pytest the cases changed with the test modules that
had run before (and with aiokafka's use of the ``random`` module on the services' loop).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
import warnings
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx
import schemathesis
from schemathesis.core import NOT_SET
from schemathesis.core.failures import Failure
from schemathesis.core.result import Ok
from schemathesis.engine import events, from_schema

MAX_EXAMPLES = 25
"""Hypothesis examples per operation in the fuzzing phase; the coverage phase adds its own
boundary values and the stateful phase its sequences. Small, to keep the fuzz step well under
three minutes on two cores also once the gateway publishes every service's paths."""
SEED = 20261205
MIN_EVENT_BODIES = 50
"""Generated JSON bodies each of ``EVENT_OPERATIONS`` must get; once their schemas resolve,
a run sends over 500 each."""
EVENT_OPERATIONS = ("POST /v1/events", "POST /v1/events:batch")
REQUEST_TIMEOUT = 30.0
"""Longer than any wait a service answers within (a batch's produce timeout is 10 s)."""

LOCAL_URLS = {
    "ingest": "http://127.0.0.1:8081",
    "classifier": "http://127.0.0.1:8082",
    "insights": "http://127.0.0.1:8083",
    "api-gateway": "http://127.0.0.1:8080",
}
"""Where ``make up`` serves each service: reproducers point there."""

CHECKS: dict[str, dict[str, Any]] = {
    # Every check schemathesis has, on. Two judgement calls:
    # - negative_data_rejection and positive_data_acceptance are sound where the schema states
    #   the whole contract. Where the API documents a rule no schema can state (`to` later
    #   than `from`, an opaque cursor, per-item outcomes of a batch), the failure is excused
    #   one answer at a time in `excused`, so the rest of the operation is still checked.
    # - not_a_server_error counts ingest's documented 503 (broker did not acknowledge in
    #   time) as a failure: with the broker up it can only mean something is wrong.
    "not_a_server_error": {"enabled": True},
    "status_code_conformance": {"enabled": True},
    "content_type_conformance": {"enabled": True},
    "response_schema_conformance": {"enabled": True},
    "response_headers_conformance": {"enabled": True},
    # A body over a documented maximum (maxItems of a batch) is refused with 413: a rejection
    # like the others schemathesis expects by default.
    "negative_data_rejection": {
        "enabled": True,
        "expected-statuses": [
            *("400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428"),
            *("429", "5xx"),
        ],
    },
    "positive_data_acceptance": {"enabled": True},
    "missing_required_header": {"enabled": True},
    "unsupported_method": {"enabled": True},
    "allow_header_conformance": {"enabled": True},
    "use_after_free": {"enabled": True},
    "ensure_resource_availability": {"enabled": True},
    # No service has authentication yet, so these two find nothing to test; on, they start
    # testing the day a spec declares a security scheme.
    "ignored_auth": {"enabled": True},
    "object_level_authorization": {"enabled": True},
    # Left off: max_response_time. A time limit on a shared two-core CI machine measures the
    # machine; `make bench` measures latency.
}


def fuzz_config(base_url: str, key: str | None = None) -> schemathesis.Config:
    """The same settings as a ``schemathesis.toml`` would hold; ``key``: the API key every
    request carries (the gateway's operations need one)."""
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "base-url": base_url,
            "headers": headers,
            # One worker: operations run one at a time in a fixed order, so each run sees the
            # same state (rules, breaches, dead letters) and sends the same cases.
            "workers": 1,
            "request-timeout": REQUEST_TIMEOUT,
            # Every example of every operation runs, instead of stopping an operation at its
            # first failure: the report counts them all.
            "continue-on-failure": True,
            "suppress-health-check": ["too_slow"],
            # No state between runs: no Hypothesis example database, no schemathesis cache.
            "cache": {"enabled": False},
            "generation": {
                "max-examples": MAX_EXAMPLES,
                # Hypothesis' derandomize: the seed above, not the clock, picks the examples.
                # (schemathesis turns Hypothesis' deadline off.)
                "deterministic": True,
                "database": "none",
            },
            "checks": CHECKS,
        }
    )


# --- what the schemas cannot state ----------------------------------------------------------

_FROM_TO = (
    # Relations between two parameters, which OpenAPI cannot state.
    ("/query/to", "must be later than from"),
    ("/query/to", "days after from"),
)
UNSTATED_RULES: dict[str, tuple[tuple[str, str], ...]] = {
    # A cursor is a token only the API mints (the previous page's next_cursor).
    "GET /v1/dead-letters": (("/query/cursor", ""),),
    "GET /v1/classifier/dead-letters": (("/query/cursor", ""),),
    "GET /v1/insights/dead-letters": (("/query/cursor", ""),),
    "GET /v1/conflicts": (("/query/cursor", ""),),
    # Ranges, as on every query (the shared validators).
    "GET /v1/calibration/production/agreement": _FROM_TO,
    "GET /v1/calibration/production/agreement/clauses": _FROM_TO,
    "GET /v1/calibration/production/agreement/moderators": _FROM_TO,
    # An exercise names a golden set that exists; a golden set's cases are unique, each with
    # a text or a content reference, and expect only clauses of its list.
    "POST /v1/calibration/exercises": (("/body/golden_set_id", "no golden set"),),
    # A launch's clauses are of its area.
    "POST /v1/launches": (("/body/scope", "clauses outside area"),),
    "POST /v1/calibration/golden-sets": (
        ("/body/", ""),
        ("/body", ""),
        ("/rows/", ""),
        ("/query/name", "missing"),
    ),
    # occurred_at lies within the server's clock's window: at most PP_MAX_FUTURE_SKEW_SECONDS
    # after now and PP_MAX_EVENT_AGE_DAYS before it.
    "POST /v1/events": (
        ("/occurred_at", "of clock skew is allowed"),
        ("/occurred_at", "days in the past"),
    ),
    # Exactly one of two fields that may each be given as null.
    # And a silence ends after the server's clock says now.
    "POST /v1/breaches/{breach_id}/silence": (
        ("/body/until", "exactly one of until and for"),
        ("/body/until", "must be later than now"),
    ),
    "GET /v1/insights/volume": _FROM_TO,
    "GET /v1/insights/trends": _FROM_TO,
    "GET /v1/insights/movers": _FROM_TO,
    "GET /v1/insights/drilldown": _FROM_TO,
    # One of two parameters is required, which OpenAPI cannot state either.
    "GET /v1/insights/cards": (*_FROM_TO, ("/query/clause_id", "needs clause_id or area")),
    "GET /v1/insights/confusion": _FROM_TO,
    "GET /v1/insights/enforceability": _FROM_TO,
    # The after window must hold a whole bucket by the server's clock and the launch's time;
    # weekly buckets need whole weeks of both windows; a named control must not overlap the
    # launch's scope.
    "GET /v1/launches/{launch_id}/impact": (
        ("/query/after", "no whole bucket after the launch"),
        ("/query/before", "the windows reach beyond year 1"),
        # Windows of days or weeks: up to 400 days, before and after at least a day.
        *((f"/query/{w}", "at most 400 days") for w in ("before", "after", "transition")),
        *((f"/query/{w}", "at least one day") for w in ("before", "after")),
        ("/query/interval", "whole weeks"),
        *(
            (f"/query/control_{d}", "overlaps the launch's scope")
            for d in ("area", "clause_id", "region", "language", "product_feature")
        ),
    ),
}
"""Operation -> (pointer, part of the detail) of the 422 errors of rules no schema can state.
A rule a schema can state (an enum, uniqueItems, a required field) is not excused: the
failure says the spec should state it."""

DOCUMENTS_WITH_RULES = frozenset(
    {
        "POST /v1/taxonomy/versions",
        "POST /v1/taxonomy/simulate",
        "POST /v1/rules",
        "POST /v1/rules/preview",
        "PUT /v1/rules/{rule_id}",
    }
)
"""Bodies that are whole documents with rules across their parts (a taxonomy: examples unique
ignoring case and trimmed, clause ids under their area, lexicon languages; a rule: the
metric's kind decides which conditions and scopes apply, its id matches the path). Their
schemas state the structure; a 422 problem for valid structure is excused for
positive_data_acceptance alone (every other check still runs on them), until the schemas
state those rules too."""

HISTORIES = frozenset({"GET /v1/rules/{rule_id}/versions"})
"""Operations that answer a resource's history, which outlives the resource by design (a
deleted rule's versions stay readable, the last one marked deleted): use_after_free does not
apply to them."""

PER_ITEM_OUTCOMES = frozenset(
    {
        "POST /v1/events:batch",
        "POST /v1/imports/dsa",
        "POST /v1/calibration/exercises/{exercise_id}/moderators",
        "POST /v1/calibration/exercises/{exercise_id}/responses",
    }
)
"""Operations that answer 200 with an outcome per item, rejected items included."""


def excused(
    spec: dict[str, Any],
    failure: Failure,
    case: schemathesis.Case[Any],
    response: schemathesis.Response,
) -> bool:
    """Whether a data check blamed the API for an answer its documented contract gives.

    - positive_data_acceptance: a 422 whose every error is one of ``UNSTATED_RULES`` for the
      operation; or a body of a media type the spec declares as a bare string (NDJSON, CSV):
      its grammar is prose in docs/ingest-api.md, so a random string is schema-valid.
    - negative_data_rejection: a 200 of a ``PER_ITEM_OUTCOMES`` operation that rejected at
      least one item, which is how those operations turn invalid data down.
    """
    label = case.operation.label
    if "use_after_free" in failure.checks and label in HISTORIES:
        return True
    if "positive_data_acceptance" in failure.checks:
        if case.media_type is not None and _declared_as_string(spec, case, case.media_type):
            return True
        errors = _problem_errors(response) if response.status_code == 422 else []
        if label in DOCUMENTS_WITH_RULES:
            return bool(errors)
        rules = UNSTATED_RULES.get(label, ())
        return bool(errors) and all(
            any(
                _matches(str(error.get("pointer")), pointer) and detail in str(error.get("detail"))
                for pointer, detail in rules
            )
            for error in errors
        )
    if "negative_data_rejection" in failure.checks and label in PER_ITEM_OUTCOMES:
        if response.status_code != 200:
            return False
        with contextlib.suppress(ValueError, KeyError, TypeError):
            return int(response.json()["counts"]["rejected"]) > 0
    return False


def _matches(pointer: str, rule: str) -> bool:
    if rule.endswith("/"):
        return pointer == rule[:-1] or pointer.startswith(rule)
    return pointer == rule


def _problem_errors(response: schemathesis.Response) -> list[dict[str, Any]]:
    with contextlib.suppress(ValueError, AttributeError):
        errors = response.json().get("errors")
        if isinstance(errors, list) and all(isinstance(error, dict) for error in errors):
            return errors
    return []


def _declared_as_string(
    spec: dict[str, Any], case: schemathesis.Case[Any], media_type: str
) -> bool:
    operation = spec["paths"].get(case.operation.path, {}).get(case.operation.method.lower(), {})
    schema = operation.get("requestBody", {}).get("content", {}).get(media_type, {}).get("schema")
    return (
        isinstance(schema, dict)
        and schema.get("type") == "string"
        and not schema.keys() & {"pattern", "format", "contentSchema"}
    )


# Ingest declares its NDJSON batch body as a string, and schemathesis has no serializer for
# that media type: it would leave the operation out. A string goes as it is (a lone surrogate
# as the invalid UTF-8 it stands for); a list, should the spec declare the events one day,
# as one JSON value per line.
def ndjson_body(_context: schemathesis.SerializationContext, value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")
    if isinstance(value, list):
        return b"".join(json.dumps(item).encode() + b"\n" for item in value)
    return json.dumps(value).encode()


schemathesis.serializer("application/x-ndjson", "application/ndjson")(ndjson_body)
# DSA CSV under its second media type goes as it is, as text/csv does.
schemathesis.serializer("application/csv")(ndjson_body)


# --- running schemathesis and reading its events --------------------------------------------


@dataclass
class Finding:
    cases: int = 0
    reproducer: str = ""
    answer: str = ""

    def offer(self, reproducer: str, answer: str) -> None:
        """Keep the simplest reproducer: the fewest requests, then the shortest."""
        key = (reproducer.count("\n"), len(reproducer))
        if not self.reproducer or key < (self.reproducer.count("\n"), len(self.reproducer)):
            self.reproducer, self.answer = reproducer, answer


@dataclass
class Report:
    service: str
    operations: list[str] = field(default_factory=list)
    cases: Counter[str] = field(default_factory=Counter)
    json_bodies: Counter[str] = field(default_factory=Counter)
    failures: dict[tuple[str, str], Finding] = field(default_factory=dict)
    """(check, operation) -> the failing cases."""
    excused: Counter[str] = field(default_factory=Counter)
    """Operation -> check failures excused (rules no schema can state)."""
    not_fuzzed: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    def record(self, event: events.ScenarioFinished, base_url: str) -> None:
        recorder = event.recorder
        for case_id, node in recorder.cases.items():
            self.excused[node.value.operation.label] += recorder.filtered_failures.get(case_id, 0)
            interaction = recorder.interactions.get(case_id)
            if interaction is None:
                continue  # never sent
            case = node.value
            label = case.operation.label
            self.cases[label] += 1
            if case.media_type == "application/json" and case.body is not NOT_SET:
                self.json_bodies[label] += 1
            for check in recorder.checks.get(case_id, []):
                if check.failure_info is None:
                    continue
                finding = self.failures.setdefault((check.name, label), Finding())
                finding.cases += 1
                finding.offer(
                    check.failure_info.code_sample.replace(base_url, LOCAL_URLS[self.service]),
                    describe(interaction.response),
                )

    def shortfalls(self) -> list[str]:
        """What kept operations from being fuzzed in full, besides failures."""
        out = [f"{label}: not fuzzed: {why}" for label, why in sorted(self.not_fuzzed.items())]
        out += [f"{label}: {message}" for label, message in sorted(self.errors.items())]
        for label in EVENT_OPERATIONS:
            expected = self.service == "ingest" or label in self.operations
            if expected and self.json_bodies[label] < MIN_EVENT_BODIES:
                out.append(
                    f"{label}: {self.json_bodies[label]} generated JSON bodies,"
                    f" not at least {MIN_EVENT_BODIES}"
                )
        return out

    @property
    def passed(self) -> bool:
        return not self.failures and not self.shortfalls()

    def to_json(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "passed": self.passed,
            "operations": self.operations,
            "cases": dict(self.cases),
            "json_bodies": dict(self.json_bodies),
            "failures": [
                {"check": check, "operation": label, **asdict(finding)}
                for (check, label), finding in sorted(self.failures.items())
            ],
            "excused": dict(self.excused),
            "shortfalls": self.shortfalls(),
            "seconds": round(self.seconds, 1),
            "text": self.render(),
        }

    def render(self) -> str:
        failing = {label for _, label in self.failures}
        lines = [
            f"{self.service}: {len(self.operations)} operations, "
            f"{sum(self.cases.values())} test cases in {self.seconds:.1f} s; "
            f"{len(self.failures)} failures (check x operation) in {len(failing)} operations; "
            f"{self.excused.total()} check failures excused (rules no schema can state)",
        ]
        for label in self.operations:
            bodies, excused = self.json_bodies[label], self.excused[label]
            lines.append(
                f"  {label}: {self.cases[label]} cases"
                + (f", {bodies} with a JSON body" if bodies else "")
                + (f", {excused} failures excused" if excused else "")
            )
        lines += [f"  {shortfall}" for shortfall in self.shortfalls()]
        check = None
        for (name, label), finding in sorted(self.failures.items()):
            if name != check:
                check = name
                lines.append(f"{name}:")
            lines.append(f"  {label} ({finding.cases} cases):")
            lines += [f"    {line}" for line in finding.reproducer.splitlines()]
            lines.append(f"    -> {finding.answer}")
        return "\n".join(lines)


def describe(response: schemathesis.Response | None) -> str:
    """Status, media type and body of an answer; of a problem, its detail and errors."""
    if response is None:
        return "no answer"
    media_type = (response.headers.get("content-type") or [""])[0]
    body = response.content.decode("utf-8", "replace")
    if media_type.startswith("application/problem+json"):
        with contextlib.suppress(ValueError, AttributeError, TypeError):
            problem = json.loads(body)
            body = "; ".join(
                [str(problem.get("detail"))]
                + [f"{e.get('pointer')}: {e.get('detail')}" for e in problem.get("errors", [])]
            )
    return f"{response.status_code} {media_type} {body[:300]}".rstrip()


def fuzz(service: str, base_url: str, key: str | None = None) -> Report:
    """Fuzz the API the service at ``base_url`` publishes."""
    report = Report(service)
    answer = httpx.get(f"{base_url}/openapi.json", timeout=REQUEST_TIMEOUT)
    answer.raise_for_status()
    spec: dict[str, Any] = answer.json()
    schema = schemathesis.openapi.from_dict(spec, config=fuzz_config(base_url, key))

    def filter_failure(
        _context: schemathesis.HookContext,
        failure: Failure,
        case: schemathesis.Case[Any],
        response: schemathesis.Response,
    ) -> bool:
        return not excused(spec, failure, case, response)

    schema.hook(filter_failure)
    for result in schema.get_all_operations():
        if not isinstance(result, Ok):
            error = result.err()
            report.errors[error.label] = str(error)
            continue
        operation = result.ok()
        report.operations.append(operation.label)
        for part in operation.skipped_parameters:
            report.not_fuzzed[operation.label] = (
                f"{part.label} left out, unresolvable reference {part.reference}"
            )

    started = time.monotonic()
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            report.record(event, base_url)
        elif isinstance(event, events.NonFatalError):
            report.errors[event.label] = f"{event.info.title}: {event.info.message}"
        elif isinstance(event, events.Interrupted):
            report.errors["run"] = "interrupted"
        elif isinstance(event, events.FatalError):
            raise event.exception
    report.seconds = time.monotonic() - started
    for label in report.operations:
        if not report.cases[label]:
            report.not_fuzzed.setdefault(label, "no test case was sent")
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--service", required=True, choices=sorted(LOCAL_URLS))
    parser.add_argument("--base-url", help="where the service answers (default: as make up)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    # The key comes from PP_API_KEY: a command line is visible to every user of the machine.
    args = parser.parse_args(argv)
    # Raised now and then from inside schemathesis' own strategies, not from anything here.
    warnings.filterwarnings("ignore", "Do not use the `random` module inside strategies")
    base_url = (args.base_url or LOCAL_URLS[args.service]).rstrip("/")
    report = fuzz(args.service, base_url, os.environ.get("PP_API_KEY"))
    if args.json:
        print(json.dumps(report.to_json()))
    else:
        print(report.render())
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(main())
