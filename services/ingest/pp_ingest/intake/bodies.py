"""Reading a request body into JSON values: one event, a JSON array of them or NDJSON lines;
a body that is not UTF-8 JSON, not an array, or over the batch limit is refused as a whole."""

from __future__ import annotations

from typing import Any

from pp_ingest.intake.validation import UndecodableJson, load_json
from pp_ingest.settings import IngestSettings
from pp_shared.problems import MAX_LISTED_ERRORS, InvalidInput, PayloadTooLarge


def split_json_array(body: bytes, settings: IngestSettings) -> list[Any]:
    """The items of a JSON array body; InvalidInput for anything else."""
    try:
        data = load_json(body)
    except UndecodableJson as exc:
        raise undecodable(exc) from None
    if not isinstance(data, list):
        raise InvalidInput(
            "the body must be a JSON array of events, or NDJSON sent as application/x-ndjson",
            errors=[
                {"pointer": "", "detail": "expected a JSON array", "found": type(data).__name__}
            ],
        )
    _check_count(len(data), settings)
    return data


def split_ndjson(body: bytes, settings: IngestSettings) -> list[Any]:
    """One item per non-blank line; InvalidInput naming every line that is not a JSON value."""
    lines = [(n, line) for n, line in enumerate(body.split(b"\n"), 1) if line.strip()]
    _check_count(len(lines), settings)
    items: list[Any] = []
    errors: list[dict[str, Any]] = []
    failed = 0
    for index, (number, line) in enumerate(lines):
        try:
            items.append(load_json(line))
        except UndecodableJson as exc:
            failed += 1
            # Lines past the listed ones are only counted.
            if len(errors) < MAX_LISTED_ERRORS:
                errors.append({"pointer": f"/{index}", "detail": f"line {number}: {exc}"})
    if failed:
        raise InvalidInput(
            f"{failed} line(s) of the NDJSON body are not JSON values; nothing was accepted",
            errors=errors,
            errors_total=failed,
        )
    return items


def undecodable(exc: UndecodableJson | str) -> InvalidInput:
    """The 422 for a body that is not UTF-8 JSON (or, given a reason, not UTF-8 text)."""
    return InvalidInput(f"the body is {exc}", errors=[{"pointer": "", "detail": str(exc)}])


def _check_count(count: int, settings: IngestSettings) -> None:
    if count > settings.batch_max_events:
        raise PayloadTooLarge(
            f"a batch may hold at most {settings.batch_max_events} events; this one has {count}"
        )
