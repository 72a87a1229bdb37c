"""What makes an event acceptable: the shared models, plus the rules ingest adds on top.

The same functions serve the HTTP endpoints, the DSA import and the raw-topic consumer, so an
event is judged the same way whichever way it arrives.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, get_args

import orjson
from pydantic import BaseModel, ValidationError

from pp_ingest.settings import IngestSettings
from pp_shared.contracts.events import EVENT_ADAPTER, Event
from pp_shared.problems import field_errors
from pp_shared.types import CONTROL_BUT_LINE_BREAKS_AND_TABS, CONTROL_CHARACTERS

# Free text that moderators paste keeps its line breaks and tabs.
MULTILINE_FIELDS = frozenset({"text_excerpt"})


@dataclass(frozen=True)
class Rules:
    """The checks that depend on configuration."""

    max_future_skew: timedelta
    max_age: timedelta = timedelta(days=1096)

    @classmethod
    def of(cls, settings: IngestSettings) -> Rules:
        return cls(
            max_future_skew=timedelta(seconds=settings.max_future_skew_seconds),
            max_age=timedelta(days=settings.max_event_age_days),
        )


class UndecodableJson(ValueError):
    """Bytes that are not UTF-8 JSON; the message says which of the two failed."""


def load_json(raw: bytes) -> Any:
    """Decode UTF-8 JSON; raises UndecodableJson with a message fit for the sender."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise UndecodableJson(json_failure(raw, exc)) from None


def json_failure(raw: bytes, exc: orjson.JSONDecodeError) -> str:
    """Why ``raw`` did not decode, naming bad UTF-8 as such (the JSON decoder does not)."""
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as bad:
        return utf8_failure(raw, bad)
    return f"not valid JSON: {exc}"


def utf8_failure(raw: bytes, bad: UnicodeDecodeError) -> str:
    """Where ``raw`` stops being UTF-8, for the sender."""
    return f"not valid UTF-8: byte 0x{raw[bad.start]:02x} at offset {bad.start}"


def validate_event(
    data: Any, *, now: datetime, rules: Rules
) -> tuple[Event | None, list[dict[str, Any]]]:
    """The event, or None and its errors as JSON pointers relative to the event."""
    try:
        event = EVENT_ADAPTER.validate_python(data)
    except ValidationError as exc:
        return None, field_errors(exc.errors())
    errors = check_event(event, now=now, rules=rules)
    return (None, errors) if errors else (event, errors)


def count_event_errors(data: Any, *, now: datetime, rules: Rules) -> tuple[Event | None, int]:
    """As :func:`validate_event`, with the number of errors instead of their descriptions, for
    items whose errors are not listed: describing them costs several times the validation."""
    try:
        event = EVENT_ADAPTER.validate_python(data)
    except ValidationError as exc:
        return None, exc.error_count()
    errors = check_event(event, now=now, rules=rules)
    return (None, len(errors)) if errors else (event, 0)


def check_event(event: Event, *, now: datetime, rules: Rules) -> list[dict[str, Any]]:
    """Errors the shared models let through: control characters in strings, and an
    ``occurred_at`` further in the future than clock skew explains or older than the past
    bound (every month an event falls in is a partition downstream: the bound keeps what one
    batch can make Postgres create small)."""
    errors: list[dict[str, Any]] = []
    values = event.__dict__
    names = _string_fields(type(event))
    # One isprintable() over all strings clears almost every event in a single C call; only
    # an event with a non-printable character anywhere is looked at field by field.
    if not "".join([values[n] or "" for n in names]).isprintable():
        errors.extend(_control_errors(values, names))
    if event.occurred_at > now + rules.max_future_skew:
        ahead = int((event.occurred_at - now).total_seconds())
        errors.append(
            {
                "pointer": "/occurred_at",
                "detail": f"occurred_at lies {ahead} s in the future; at most "
                f"{int(rules.max_future_skew.total_seconds())} s of clock skew is allowed",
                "found": event.occurred_at.isoformat(),
            }
        )
    elif event.occurred_at < now - rules.max_age:
        errors.append(
            {
                "pointer": "/occurred_at",
                "detail": f"occurred_at lies more than {rules.max_age.days} days in the past",
                "expected": f"at or after {(now - rules.max_age).isoformat()}",
                "found": event.occurred_at.isoformat(),
            }
        )
    return errors


def _control_errors(values: dict[str, Any], names: tuple[str, ...]) -> list[dict[str, Any]]:
    errors: list[dict[str, Any]] = []
    for name in names:
        value = values[name]
        if value is not None and not value.isprintable():
            control = (
                CONTROL_BUT_LINE_BREAKS_AND_TABS if name in MULTILINE_FIELDS else CONTROL_CHARACTERS
            ).search(value)
            if control is not None:
                errors.append(_control_error(name, control))
    return errors


@functools.cache
def _string_fields(model: type[BaseModel]) -> tuple[str, ...]:
    """Fields that hold free strings (enums and literals have fixed values)."""
    return tuple(name for name, info in model.model_fields.items() if _holds_str(info.annotation))


def _holds_str(annotation: Any) -> bool:
    return annotation is str or any(_holds_str(arg) for arg in get_args(annotation))


def _control_error(field: str, found: re.Match[str]) -> dict[str, Any]:
    allowed = " (only line feed, carriage return and tab are allowed here)"
    return {
        "pointer": f"/{field}",
        "detail": f"control character U+{ord(found.group()):04X} at position {found.start()}"
        + (allowed if field in MULTILINE_FIELDS else ""),
        "expected": "a string without control characters",
    }
